"""Input errors print as one line: escaped control characters, long values cut."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from virtsim.errors import MESSAGE_CHARS, VALUE_CHARS, InputError, printable


def test_control_characters_are_escaped() -> None:
    assert printable("a\nb\rc\td\x1b[2J\x7f\x9b") == "a\\nb\\rc\\td\\x1b[2J\\x7f\\x9b"
    assert printable("caf\u00e9 \u2028") == "caf\u00e9 \\u2028"


def test_long_values_are_cut_with_a_count() -> None:
    text = printable("x" * 1_000_000)
    assert text.startswith("x" * VALUE_CHARS) and text.endswith("(999,880 more characters)")


@given(st.text(), st.text(), st.text(), st.text())
def test_any_error_is_one_printable_line(file: str, key: str, expected: str, found: str) -> None:
    message = str(InputError(file, key, expected, found, 3))
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in message)
    assert len(message) <= MESSAGE_CHARS + 40
