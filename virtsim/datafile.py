"""Data files: read TOML, validate it into a typed model, explain what is wrong.

Scenario files and catalogue profiles are data. This module parses them with
the standard library's ``tomllib`` (nothing is evaluated), validates them
with pydantic and turns the first validation problem into one
:class:`~virtsim.errors.InputError` that names the file, the dotted key, the
line where it can be found, what was expected and what was found.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from virtsim.errors import InputError, display_path, printable

M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 16 * 1024 * 1024
"""Largest data file read: the biggest shipped scenario is a few KiB, a profile less."""

MAX_DEPTH = 32
"""Deepest nesting of tables and arrays a data file may have (a scenario needs five)."""

_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse a TOML file: a regular file, at most :data:`MAX_FILE_BYTES`, UTF-8.

    A FIFO, a device (``/dev/zero``), a socket or a symlink loop is refused
    before anything is read from it, so no input can block or fill memory.

    Returns:
        The parsed table and the file's text (kept to locate keys later).

    Raises:
        InputError: The file is missing, not a regular file, too big, unreadable,
            not valid TOML or nested deeper than :data:`MAX_DEPTH`.
    """
    name = display_path(path)
    text = _read_regular_file(path, name)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        message = _TOML_LINE.sub("", str(exc)).strip()
        raise InputError(name, "", "valid TOML", f"a syntax error ({message})", line) from None
    except RecursionError:
        raise InputError(name, "", f"tables and arrays nested at most {MAX_DEPTH} deep",
                         "nesting too deep to parse") from None
    depth = _depth(data)
    if depth > MAX_DEPTH:
        raise InputError(name, "", f"tables and arrays nested at most {MAX_DEPTH} deep",
                         f"{depth} levels")
    return data, text


def _read_regular_file(path: Path, name: str) -> str:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(name, "", "an existing TOML file", "no such file") from None
    except OSError as exc:  # ELOOP (a symlink loop), ENAMETOOLONG, EACCES on a folder
        raise InputError(name, "", "a readable TOML file", _os_reason(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(name, "", "a TOML file", "a directory")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(name, "", "a regular TOML file", _file_type(info.st_mode))
    if info.st_size > MAX_FILE_BYTES:
        raise InputError(name, "", f"a TOML file of at most {MAX_FILE_BYTES // 2**20} MiB",
                         f"{info.st_size:,} bytes")
    try:
        # O_NONBLOCK: should the file be swapped for a FIFO after the check, opening it
        # does not wait for a writer; reading is bounded by the size limit either way.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise InputError(name, "", "a regular TOML file",
                                 _file_type(os.fstat(handle.fileno()).st_mode))
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(name, "", "a readable TOML file", _os_reason(exc)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(name, "", f"a TOML file of at most {MAX_FILE_BYTES // 2**20} MiB",
                         "a file that grew past it while being read")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(name, "", "a UTF-8 TOML file",
                         f"a byte that is not UTF-8 at offset {exc.start}") from None


def _os_reason(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else type(exc).__name__


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _depth(value: Any) -> int:
    """Nesting depth of parsed data, iteratively (no recursion limit to hit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list | tuple):
            stack.extend((v, depth + 1) for v in node)
    return deepest


def validate(model: type[M], data: Any, file: str, text: str = "") -> M:
    """Validate ``data`` into ``model``, or raise an :class:`InputError` for the first problem."""
    if _depth(data) > MAX_DEPTH:
        raise InputError(file, "", f"tables and arrays nested at most {MAX_DEPTH} deep",
                         "deeper nesting")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, file, data, text) from None
    except RecursionError:
        raise InputError(file, "", f"tables and arrays nested at most {MAX_DEPTH} deep",
                         "nesting too deep to check") from None


def input_error(exc: ValidationError, file: str, data: Any, text: str = "") -> InputError:
    """Describe the first error of a pydantic validation as an :class:`InputError`."""
    error = exc.errors(include_url=False)[0]
    loc = _clean_location(error["loc"], data)
    key = dotted_key(loc)
    expected, found = _expected_found(error, loc, data)
    return InputError(file, key, expected, found, find_line(text, loc))


def dotted_key(loc: Sequence[str | int]) -> str:
    """Format a location as ``hosts[0].vms[1].memory_mib``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _clean_location(loc: Sequence[Any], data: Any) -> list[str | int]:
    """Drop pydantic's internal tags (union member names) from a location."""
    clean: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list | tuple):
            clean.append(part)
            node = node[part] if part < len(node) else None
        elif isinstance(node, dict) and part in node:
            clean.append(str(part))
            node = node[part]
        elif isinstance(node, dict) and not clean_is_tag(str(part)):
            clean.append(str(part))
            node = None
    return clean


def clean_is_tag(part: str) -> bool:
    """Pydantic names union members in locations (``lognormal``, ``function-after[...]``)."""
    return "[" in part or part in {"constant", "uniform", "triangular", "lognormal",
                                   "exponential", "weibull"}


def _lookup(data: Any, loc: Sequence[str | int]) -> tuple[bool, Any]:
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


def _expected_found(error: Any, loc: list[str | int], data: Any) -> tuple[str, str]:
    kind = error["type"]
    msg = str(error["msg"])
    present, value = _lookup(data, loc)
    found = _describe(value) if present else "nothing"
    if kind == "extra_forbidden":
        return "one of the documented keys (this key is unknown)", f"'{loc[-1]}'"
    if kind == "missing":
        return "this required key", "nothing"
    if kind == "union_tag_invalid":
        return msg.split("does not match any of the expected tags: ")[-1].join(
            ["one of ", ""]), found
    if kind == "union_tag_not_found":
        return "an inline table with a 'dist' key", found
    if kind == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern", ""))
        return PATTERN_WORDS.get(pattern, f"a string matching {pattern}"), found
    if kind.startswith("literal_error"):
        return msg.removeprefix("Input should be "), found
    if kind in {"value_error", "assertion_error"}:
        return msg.removeprefix("Value error, "), found
    return msg.removeprefix("Input should be ").removeprefix("input should be "), found


PATTERN_WORDS: dict[str, str] = {
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$": "a name of letters, digits, '.', '_' and '-' (at "
                                          "most 63, starting with a letter or digit)",
    r"^[^\x00-\x1f\x7f]*$": "one line of text without control characters",
    r"^\d+(\.\d+){0,2}$": "a version such as 6.8 or 5.15.0",
    r"^(\d+(\.\d+){0,2})?$": "a version such as 6.8 or 5.15.0, or nothing",
}
"""The patterns of typed models in words, for messages."""


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"'{printable(value)}' (a string)"
    if isinstance(value, int | float):
        return f"{value} (a number)"
    return printable(repr(value))


def find_line(text: str, loc: Sequence[str | int]) -> int | None:
    """Best-effort line of a key: follow table headers, then find ``key =``.

    A key written inside an inline table (``overrides = { memory_gib = 1 }``)
    is found where it stands on its line. A key that is not in the file (a
    missing required key) gives the line of the nearest table that is: the
    ``[[hosts]]`` header of the host that lacks it, say.
    """
    if not text or not loc:
        return None
    lines = text.splitlines()
    start = 0
    best: int | None = None
    path: list[str] = []
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(part, int):
            header = re.compile(r"^\s*\[\[\s*" + re.escape(".".join(path)) + r"\s*\]\]")
            seen = -1
            for n in range(start, len(lines)):
                if header.match(lines[n]):
                    seen += 1
                    if seen == part:
                        start, best = n, n + 1
                        break
            continue
        path.append(part)
        if last or not isinstance(loc[i + 1], int):
            found = _find_key(lines, start, part)
            if found is None:
                return best
            if last:
                return found + 1
            start, best = found, found + 1
    return best


def _find_key(lines: list[str], start: int, key: str) -> int | None:
    quoted = r"(" + re.escape(key) + r"|\"" + re.escape(key) + r"\"|'" + re.escape(key) + r"')"
    at_start = re.compile(r"^\s*(\[+\s*)?([\w.\"'-]*\.)?" + quoted + r"\s*(=|\]|\.)")
    inline = re.compile(r"[{,]\s*" + quoted + r"\s*=")
    for pattern in (at_start, inline):
        for n in range(start, len(lines)):
            if pattern.search(lines[n]):
                return n
    return None
