"""Data files: read TOML, validate it into a typed model, explain what is wrong.

Scenario files and catalogue profiles are data. This module parses them with
the standard library's ``tomllib`` (nothing is evaluated), validates them
with pydantic and turns the first validation problem into one
:class:`~virtsim.errors.InputError` that names the file, the dotted key, the
line where it can be found, what was expected and what was found.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from virtsim.errors import InputError, display_path

M = TypeVar("M", bound=BaseModel)

_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse a TOML file.

    Returns:
        The parsed table and the file's text (kept to locate keys later).

    Raises:
        InputError: The file is missing, unreadable or not valid TOML.
    """
    name = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(name, "", "an existing TOML file", "no such file") from None
    except IsADirectoryError:
        raise InputError(name, "", "a TOML file", "a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(name, "", "a readable UTF-8 TOML file", str(exc)) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        message = _TOML_LINE.sub("", str(exc)).strip()
        raise InputError(name, "", "valid TOML", f"a syntax error ({message})", line) from None


def validate(model: type[M], data: Any, file: str, text: str = "") -> M:
    """Validate ``data`` into ``model``, or raise an :class:`InputError` for the first problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, file, data, text) from None


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
        if isinstance(part, int) and isinstance(node, list):
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
    if kind.startswith("literal_error"):
        return msg.removeprefix("Input should be "), found
    if kind in {"value_error", "assertion_error"}:
        return msg.removeprefix("Value error, "), found
    return msg.removeprefix("Input should be ").removeprefix("input should be "), found


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"'{value}' (a string)"
    if isinstance(value, int | float):
        return f"{value} (a number)"
    return repr(value)


def find_line(text: str, loc: Sequence[str | int]) -> int | None:
    """Best-effort line of a key: follow table headers, then find ``key =``."""
    if not text or not loc:
        return None
    lines = text.splitlines()
    start = 0
    path: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            header = re.compile(r"^\s*\[\[\s*" + re.escape(".".join(path)) + r"\s*\]\]")
            seen = -1
            for n in range(start, len(lines)):
                if header.match(lines[n]):
                    seen += 1
                    if seen == part:
                        start = n
                        break
            continue
        path.append(part)
        if i == len(loc) - 1 or not isinstance(loc[i + 1], int):
            pattern = re.compile(r"^\s*(\[+\s*)?([\w.-]*\.)?" + re.escape(part) + r"\s*(=|\]|\.)")
            for n in range(start, len(lines)):
                if pattern.match(lines[n]):
                    if i == len(loc) - 1:
                        return n + 1
                    start = n
                    break
    return None
