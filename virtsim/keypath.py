"""Scenario key paths: name any value of a scenario, and set it.

A key path walks a scenario file's structure with dots. A list of named
groups is entered by a group's name (or its 0-based position), a list
without names (``faults``) by position::

    duration_s
    hosts.node.count
    hosts.node.profile
    hosts.node.overrides.memory_gib
    hosts.node.containers.web.count
    hosts.node.vms.k8s-node.containers.api.runtime
    faults.0.at_s                    (or faults[0].at_s)

A group whose name holds a dot is entered by its position.

``virtsim run SCENARIO --set KEY=VALUE`` and the factors of a sweep file
(:mod:`virtsim.sweep_design`) use the same paths. A path is checked
against the scenario's schema and the file's groups before anything is
set, so a typo fails with one line naming the key and what exists there;
the value itself is then checked by loading the scenario as usual.
"""

from __future__ import annotations

import copy
import re
import tomllib
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from virtsim.errors import InputError
from virtsim.profiles import HostProfile
from virtsim.scenario import Scenario

_SEGMENT = re.compile(r"[^.\[\]]+|\[\d+\]")
_OVERRIDES = "host profile overrides"
"""The schema marker of a host's ``overrides`` table: host profile fields, free-form."""


@dataclass(frozen=True)
class KeyPath:
    """A parsed key path: its text and its segments (strings, or ints for ``[n]``)."""

    text: str
    segments: tuple[str | int, ...]

    def __str__(self) -> str:
        return self.text


def parse_key_path(text: str, file: str = "--set", key: str = "") -> KeyPath:
    """Split ``hosts.node.containers[0].count`` into its segments.

    Raises:
        InputError: The text is empty or malformed (``a..b``, ``[x]``).
    """
    stripped = text.strip()
    parts = _SEGMENT.findall(stripped)
    rebuilt = ""
    for part in parts:
        rebuilt += part if part.startswith("[") or not rebuilt else f".{part}"
    if not stripped or rebuilt != stripped:
        raise InputError(file, key or stripped, "a key path such as "
                         "hosts.node.containers.web.count", f"'{text}'")
    segments = tuple(int(p[1:-1]) if p.startswith("[") else p for p in parts)
    return KeyPath(stripped, segments)


def parse_assignment(text: str) -> tuple[KeyPath, Any]:
    """``KEY=VALUE`` of ``--set``: the value is read as TOML (``10``, ``true``,
    ``[1, 2]``, ``"x"``), and as a plain string when it is not TOML (``crun``).

    Raises:
        InputError: No ``=``, or a malformed key.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InputError("--set", "", "KEY=VALUE, e.g. hosts.node.containers.web.count=10",
                         f"'{text}'")
    return parse_key_path(key), parse_value(raw)


def parse_value(raw: str) -> Any:
    """A command-line value as TOML, or the plain string when it is not TOML."""
    try:
        return tomllib.loads(f"value = {raw.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        return raw.strip()


def set_value(data: dict[str, Any], path: KeyPath, value: Any, file: str = "--set",
              key: str = "") -> dict[str, Any]:
    """A deep copy of scenario ``data`` with ``path`` set to ``value``.

    The path is checked against the scenario schema: each segment must be
    a field of what it enters, and a group it names must exist in ``data``.
    Intermediate tables that are absent (an optional ``random_faults``, a
    host's ``overrides``) are created.

    Args:
        data: A scenario as parsed from TOML (not validated).
        path: Where to set.
        value: What to set.
        file: What the error names as the file (``--set`` or the sweep file).
        key: What the error names as the key (default: the path).

    Raises:
        InputError: The path names no field, or a group that is not there.
    """
    updated = copy.deepcopy(data)
    node: Any = updated
    schema: Any = Scenario
    walked: list[str] = []
    for position, segment in enumerate(path.segments):
        last = position == len(path.segments) - 1
        where = ".".join(walked) or "the scenario"
        node, schema = _enter(node, schema, segment, last, value,
                              _Fail(file, key or path.text, where))
        walked.append(str(segment))
    return updated


@dataclass(frozen=True)
class _Fail:
    file: str
    key: str
    where: str

    def __call__(self, expected: str, found: str) -> InputError:
        return InputError(self.file, self.key, f"{expected} under {self.where}", found)


def _enter(node: Any, schema: Any, segment: str | int, last: bool, value: Any,
           fail: _Fail) -> tuple[Any, Any]:
    """Step into ``segment`` of ``node`` (described by ``schema``); set it when ``last``."""
    if schema == _OVERRIDES:
        return _enter_override(node, segment, last, value, fail)
    if _is_model(schema):
        return _enter_field(node, schema, segment, last, value, fail)
    if _is_sequence(schema):
        return _enter_item(node, _item_type(schema), segment, last, value, fail)
    raise fail("nothing below this key (it is a single value)", f"'{segment}'")


def _enter_override(node: dict[str, Any], segment: str | int, last: bool, value: Any,
                    fail: _Fail) -> tuple[Any, Any]:
    """A host's overrides: each key a host profile field, each a single value."""
    fields = sorted(set(HostProfile.model_fields) - {"name", "sources", "description"})
    if segment not in fields:
        raise fail(f"a host profile field ({', '.join(fields)})", f"'{segment}'")
    if not last:
        raise fail("nothing below a host profile field", f"'{segment}' followed by more")
    node[str(segment)] = value
    return None, None


def _enter_field(node: dict[str, Any], schema: type[BaseModel], segment: str | int,
                 last: bool, value: Any, fail: _Fail) -> tuple[Any, Any]:
    fields = list(schema.model_fields)
    if not isinstance(segment, str) or segment not in fields:
        raise fail(f"a key of {_describe_model(schema)} ({', '.join(fields)})", f"'{segment}'")
    if last:
        node[segment] = value
        return None, None
    annotation = _unwrap_optional(schema.model_fields[segment].annotation)
    if _is_model(annotation) or typing.get_origin(annotation) is dict:
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            raise fail(f"a table at '{segment}'", _describe(child))
        return child, _OVERRIDES if typing.get_origin(annotation) is dict else annotation
    if _is_sequence(annotation) and _is_model(_item_type(annotation)):
        return node.setdefault(segment, []), annotation
    raise fail("nothing below this key (it is a single value)",
               f"'{segment}' followed by more")


def _enter_item(node: list[Any], item: Any, segment: str | int, last: bool, value: Any,
                fail: _Fail) -> tuple[Any, Any]:
    if not isinstance(node, list):
        raise fail("a list of tables", _describe(node))
    names = [entry.get("name") for entry in node if isinstance(entry, dict)]
    index: int | None = None
    if isinstance(segment, str) and segment in names:
        index = names.index(segment)
    elif isinstance(segment, int) or segment.isdigit():
        index = int(segment)
        if index >= len(node):
            index = None
    if index is None:
        named = ", ".join(str(n) for n in names if n is not None)
        listing = f"one of {named}" if named else f"a position from 0 to {len(node) - 1}"
        raise fail(f"{listing}" if node else "an existing entry (there are none)",
                   f"'{segment}'")
    if last:
        node[index] = value
        return None, None
    return node[index], item


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_sequence(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (tuple, list)


def _item_type(annotation: Any) -> Any:
    return typing.get_args(annotation)[0]


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _describe_model(schema: type[BaseModel]) -> str:
    names = {"Scenario": "a scenario", "HostSpec": "a host group", "VmSpec": "a VM group",
             "ContainerSpec": "a container group", "ProcessSpec": "a process group",
             "FaultSpec": "a fault", "OrchestratorSpec": "an orchestrator",
             "RandomFaultsSpec": "random_faults"}
    return names.get(schema.__name__, schema.__name__)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return repr(value)


def apply_assignments(data: dict[str, Any], assignments: Sequence[tuple[KeyPath, Any]],
                      file: str = "--set") -> dict[str, Any]:
    """``data`` with every ``(path, value)`` set in turn (see :func:`set_value`)."""
    for path, value in assignments:
        data = set_value(data, path, value, file)
    return data
