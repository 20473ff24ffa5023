"""Data-file errors: TOML syntax lines, dotted keys, expected and found."""

from __future__ import annotations

from pathlib import Path

import pytest

from virtsim.datafile import dotted_key, find_line, read_toml
from virtsim.errors import InputError


def test_syntax_error_has_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("a = 1\nb = = 2\n")
    with pytest.raises(InputError) as info:
        read_toml(path)
    assert info.value.line == 2
    assert "valid TOML" in str(info.value)


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="a directory"):
        read_toml(tmp_path)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="UTF-8"):
        read_toml(path)


def test_dotted_key() -> None:
    assert dotted_key(["hosts", 0, "vms", 1, "memory_mib"]) == "hosts[0].vms[1].memory_mib"


def test_find_line_follows_array_tables() -> None:
    text = "[[hosts]]\nname='a'\n[[hosts]]\nname='b'\ncount=0\n"
    assert find_line(text, ["hosts", 1, "count"]) == 5
    assert find_line(text, ["hosts", 0, "name"]) == 2


def test_input_error_prints_one_line() -> None:
    error = InputError("s.toml", "hosts[0].count", "a positive count", "0", 4)
    assert str(error) == "s.toml:4: key 'hosts[0].count': expected a positive count, found 0"


def test_missing_key_gives_the_line_of_its_table() -> None:
    text = 'seed = 1\n\n[[hosts]]\nname = "a"\n\n[[hosts]]\nname = "b"\n'
    assert find_line(text, ["hosts", 1, "profile"]) == 6


def test_key_in_an_inline_table_is_found_on_its_line() -> None:
    text = '[[hosts]]\nname = "a"\noverrides = { nic_gbps = 1, memory_gib = -1 }\n'
    assert find_line(text, ["hosts", 0, "overrides", "memory_gib"]) == 3


def test_too_big_too_deep_and_not_regular_files_are_refused(tmp_path: Path) -> None:
    import os

    from virtsim.datafile import MAX_FILE_BYTES

    big = tmp_path / "big.toml"
    with big.open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(InputError, match="at most 16 MiB"):
        read_toml(big)
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 40 + "]" * 40 + "\n")
    with pytest.raises(InputError, match="nested at most 32 deep, found 40 levels"):
        read_toml(deep)
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="named pipe"):
        read_toml(fifo)
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)
    with pytest.raises(InputError, match="symbolic links"):
        read_toml(loop)

