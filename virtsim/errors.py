"""Input errors: the one kind of failure a user can fix by editing a file or a flag.

Every check at the edge (scenario files, catalogue profiles, command-line
flags) raises :class:`InputError`. It carries the file, the key (a dotted
path such as ``hosts[0].vms[1].memory_mib``), the line where one exists,
what was expected and what was found, and prints as one line.
The command line turns it into exit status 2 without a traceback.

Whatever an input holds reaches the terminal only through :func:`printable`:
control characters (a newline that would split the message, a carriage
return that would overwrite it, an ESC that would start a terminal escape
sequence) are shown escaped, and a long value is cut with a note of how
much was left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VALUE_CHARS = 120
"""Longest piece of an input (a value, a key, a file name) quoted in a message."""

MESSAGE_CHARS = 600
"""Longest whole message: one line a terminal shows without scrolling much."""


def printable(text: str, limit: int = VALUE_CHARS) -> str:
    """``text`` with control characters escaped and cut to ``limit`` characters.

    >>> printable("a\\nb\\x1b[2J")
    'a\\\\nb\\\\x1b[2J'
    """
    out: list[str] = []
    length = 0
    for index, char in enumerate(text):
        piece = _escape(char)
        if length + len(piece) > limit:
            return "".join(out) + f"... ({len(text) - index:,} more characters)"
        out.append(piece)
        length += len(piece)
    return "".join(out)


def _escape(char: str) -> str:
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or char in "\u2028\u2029\u200b\ufeff":
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    if 0xD800 <= code < 0xE000:  # a lone surrogate from a file name the OS could not decode
        return f"\\u{code:04x}"
    return char


@dataclass(eq=False)  # not frozen: Python sets __traceback__ on an exception as it propagates
class InputError(Exception):
    """A problem in user input, described well enough to fix it.

    Attributes:
        file: The file the problem is in, or a description such as ``"--seed"``.
        key: Dotted path of the offending key, empty when the whole file is wrong.
        expected: What a valid value would be.
        found: What was actually there.
        line: 1-based line number where one exists.
    """

    file: str
    key: str
    expected: str
    found: str
    line: int | None = None

    def __str__(self) -> str:
        file = printable(self.file, 2 * VALUE_CHARS)
        where = file if self.line is None else f"{file}:{self.line}"
        key = f" key '{printable(self.key)}':" if self.key else ""
        message = (f"{where}:{key} expected {printable(self.expected, 2 * VALUE_CHARS)}, "
                   f"found {printable(self.found, 2 * VALUE_CHARS)}")
        return printable(message, MESSAGE_CHARS)


def display_path(path: Path | str) -> str:
    """Return a path as the user typed it, or relative to the cwd when shorter."""
    text = str(path)
    try:
        relative = str(Path(path).resolve().relative_to(Path.cwd()))
    except (ValueError, OSError, RuntimeError):  # elsewhere, a symlink loop, a vanished cwd
        return text
    return relative if len(relative) < len(text) else text
