"""Results: flat records in named tidy tables, plus headline metrics.

Models append one flat record (a dict of scalars) per observation to a named
table: one row per instance, per stage, per host and measure. At the end a
table loads straight into a data frame or is written as CSV. ``metrics``
holds the headline numbers a run prints (and ``--json`` emits).
"""

from __future__ import annotations

import csv
import gc
import itertools
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast, overload

Scalar = str | int | float | bool | None
Record = dict[str, Scalar]


class Rows(Sequence[Record]):
    """A read-only view of one table: its records as fresh dicts, in order."""

    __slots__ = ("_keys", "_rows")

    def __init__(self, keys: tuple[str, ...], rows: list[tuple[Scalar, ...] | Record]) -> None:
        self._keys = keys
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...
    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [self._record(row) for row in self._rows[index]]
        return self._record(self._rows[index])

    def __iter__(self) -> Iterator[Record]:
        keys = self._keys
        for row in self._rows:
            yield dict(zip(keys, row, strict=True)) if isinstance(row, tuple) else row

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def _record(self, row: tuple[Scalar, ...] | Record) -> Record:
        return dict(zip(self._keys, row, strict=True)) if isinstance(row, tuple) else row


@dataclass
class Result:
    """Tidy tables of records and a dict of headline metrics.

    A record added field by field (:meth:`add`) with the same fields, in the
    same order, as its table's first is kept as a tuple of values beside the
    table's one tuple of keys: a third of a dict's memory, which matters at a
    million containers. Records handed over whole (:meth:`extend`) stay the
    dicts they are, since their owner may still update them. :meth:`table`
    turns a table's tuples into dicts, once, so what it returns can be read
    and updated like any list of records; :attr:`tables` and :meth:`rows`
    read without doing so.
    """

    metrics: dict[str, Any] = field(default_factory=dict)
    _rows: dict[str, list[tuple[Scalar, ...] | Record]] = field(default_factory=dict)
    _keys: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def add(self, table: str, **record: Scalar) -> None:
        """Append one record to ``table``."""
        rows = self._rows.get(table)
        if rows is None:
            rows = self._rows[table] = []
            self._keys[table] = tuple(record)
        if tuple(record) == self._keys[table]:
            rows.append(tuple(record.values()))
        else:
            rows.append(record)

    def append(self, table: str, keys: tuple[str, ...], values: tuple[Scalar, ...]) -> None:
        """Append one record given as its keys and its values (for hot loops: no dict)."""
        rows = self._rows.get(table)
        if rows is None:
            rows = self._rows[table] = []
            self._keys[table] = keys
        if keys is self._keys[table] or keys == self._keys[table]:
            rows.append(values)
        else:
            rows.append(dict(zip(keys, values, strict=True)))

    def append_rows(self, table: str, keys: tuple[str, ...],
                    rows: list[tuple[Scalar, ...]]) -> None:
        """Append many records given as their keys and value tuples (nothing if none)."""
        if not rows:
            return
        stored = self._rows.get(table)
        if stored is None:
            stored = self._rows[table] = []
            self._keys[table] = keys
        if keys == self._keys[table]:
            stored.extend(rows)
        else:
            stored.extend(dict(zip(keys, row, strict=True)) for row in rows)

    def extend(self, table: str, records: list[Record]) -> None:
        """Append many records to ``table`` (kept as the very dicts given)."""
        if table not in self._rows:
            self._rows[table] = []
            self._keys[table] = tuple(records[0]) if records else ()
        self._rows[table].extend(records)

    def table(self, name: str) -> list[Record]:
        """The records of one table as a list of dicts (empty if nothing was recorded)."""
        rows = self._rows.get(name)
        if rows is None:
            return []
        keys = self._keys[name]
        for i, row in enumerate(rows):
            if isinstance(row, tuple):
                rows[i] = dict(zip(keys, row, strict=True))
        return rows  # type: ignore[return-value]  # every row is a dict now

    def rows(self, name: str) -> Rows:
        """The records of one table, read as dicts without converting the table."""
        return Rows(self._keys.get(name, ()), self._rows.get(name, []))

    @property
    def tables(self) -> dict[str, Rows]:
        """Every table, by name, as read-only views."""
        return {name: self.rows(name) for name in self._rows}

    def column(self, table: str, name: str) -> list[Scalar]:
        """One column of a table (None where a record lacks the field)."""
        rows = self._rows.get(table, [])
        keys = self._keys.get(table, ())
        if name not in keys:
            return [row.get(name) if isinstance(row, dict) else None for row in rows]
        at = keys.index(name)
        try:
            return [row[at] for row in rows]  # type: ignore[index]  # tuples: the fast path
        except KeyError:  # some rows are dicts
            return [row.get(name) if isinstance(row, dict) else row[at] for row in rows]

    def raw(self, name: str) -> tuple[tuple[str, ...], list[tuple[Scalar, ...] | Record]]:
        """One table as stored: its first record's keys and its rows (tuples over those
        keys, or dicts where a record had other keys). For merging, not for reading."""
        return self._keys.get(name, ()), self._rows.get(name, [])

    def put(self, name: str, keys: tuple[str, ...],
            rows: list[tuple[Scalar, ...] | Record]) -> None:
        """Replace one table by rows as :meth:`raw` returns them."""
        self._keys[name] = keys
        self._rows[name] = rows

    def drop(self, name: str) -> None:
        """Remove one table (nothing if it is absent)."""
        self._rows.pop(name, None)
        self._keys.pop(name, None)

    def compact(self) -> None:
        """Store every dict row that has its table's keys as a tuple of values (for sending
        a result between processes: a dict pickles its keys again for every row)."""
        for name, rows in self._rows.items():
            keys = self._keys[name]
            for i, row in enumerate(rows):
                if isinstance(row, dict) and tuple(row) == keys:
                    rows[i] = tuple(row.values())

    def to_json(self) -> str:
        """The metrics as one JSON object (stable key order, plain numbers).

        JSON has no infinity and no NaN: a metric that is one (a rate over an
        empty window, a ratio to nothing) is written as ``null``.
        """
        return json.dumps(finite(plain(self.metrics)), sort_keys=True, allow_nan=False)


SIGNIFICANT_DIGITS = 12
"""JSON numbers keep 12 significant digits: far beyond any model's precision, short of
the last bits of binary rounding (``216542.00000000003`` becomes ``216542.0``)."""


def plain_number(value: Any) -> Any:
    """A number as a plain Python int or float; floats without binary-rounding noise.

    numpy scalars become Python ones (``np.float64(1000.0)`` -> ``1000.0``);
    non-finite floats and anything else pass through unchanged.
    """
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return value


def plain(value: Any) -> Any:
    """Every number inside dicts, lists and tuples made plain (:func:`plain_number`)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return plain_number(value)


def finite(value: Any) -> Any:
    """``value`` with numpy scalars made Python ones and inf/NaN made None, recursively."""
    if isinstance(value, Mapping):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def write_table(path: Path, records: Iterable[Record]) -> None:
    """Write records as CSV with the union of their keys as the header (first-seen order).

    A table's view (:class:`Rows`, what :attr:`Result.tables` holds) is written
    from its stored tuples, in chunks, without a dict per row: a hyperscale run's
    stage table is millions of rows. The bytes are the same either way.
    """
    if isinstance(records, Rows) and records._rows:
        collecting = gc.isenabled()
        gc.disable()  # writing makes no cycles: no scans of a large result's rows meanwhile
        try:
            _write_rows(path, records._keys, records._rows)
        finally:
            if collecting:
                gc.enable()
        return
    header: dict[str, None] = {}
    for row in records:
        header.update(dict.fromkeys(row))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\n")
        writer.writeheader()
        writer.writerows(_format(row) for row in records)


CHUNK_ROWS = 1 << 15
"""Rows a table is written in at a time (bounds the copies made for writing)."""

_PLAIN_CELLS = frozenset({str, int, float, bool, type(None)})
"""Cell types the csv module writes as :func:`_cell` would (floats by their repr)."""

_TUPLE = frozenset({tuple})


def _write_rows(path: Path, keys: tuple[str, ...],
                rows: Sequence[tuple[Scalar, ...] | Record]) -> None:
    """Write stored rows (tuples over ``keys``, or dicts) as :func:`write_table` does."""
    plain = _TUPLE.issuperset(map(type, rows))  # every row a tuple over ``keys``
    header = list(keys)
    if not plain:  # some rows are dicts: the header is the union of every row's keys
        seen = dict.fromkeys(keys)
        for row in rows:
            if isinstance(row, dict):
                seen.update(dict.fromkeys(row))
        header = list(seen)
    as_is = tuple(header) == keys
    with path.open("w", newline="", encoding="utf-8", buffering=1 << 20) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = rows[start:start + CHUNK_ROWS]
            if not plain:
                chunk = [row if as_is and type(row) is tuple
                         else _ordered(header, keys, row) for row in chunk]
            line = _line_format(chunk) if len(header) > 1 else None
            if line is not None:  # the bytes the csv module would write, a row at a time
                out.write("".join([line % row for row in chunk]))
                continue
            if not _PLAIN_CELLS.issuperset(map(type, itertools.chain.from_iterable(chunk))):
                chunk = [tuple(map(_cell, row)) for row in chunk]
            writer.writerows(chunk)


_AS_TEXT = {float: "%r", int: "%d", bool: "%s", str: "%s"}
"""How a column whose cells are all of one type is written (floats by their repr, as the
csv module writes them)."""

_QUOTED = (",", '"', "\n", "\r")
"""Characters that make the csv module quote a text cell."""


def _line_format(chunk: Sequence[object]) -> str | None:
    """A ``%`` format that writes each row of ``chunk`` (tuples of two or more cells) as
    the csv module would, or None if there is none: a column of several types or of
    None, or text the csv module would quote. (It quotes a lone empty cell: rows of one
    cell are not for this.)"""
    formats = []
    for column in zip(*cast(Sequence[tuple[Scalar, ...]], chunk), strict=True):
        kinds = set(map(type, column))
        kind = kinds.pop() if len(kinds) == 1 else None
        if kind not in _AS_TEXT:
            return None
        if kind is str:
            text = "\x00".join(cast(tuple[str, ...], column))
            if any(c in text for c in _QUOTED):
                return None
        formats.append(_AS_TEXT[kind])
    return ",".join(formats) + "\n"


def _ordered(header: list[str], keys: tuple[str, ...],
             row: tuple[Scalar, ...] | Record) -> tuple[Scalar, ...]:
    """One stored row's cells in ``header`` order ("" where it lacks a field)."""
    record = dict(zip(keys, row, strict=True)) if type(row) is tuple else row
    return tuple(record.get(name, "") for name in header)  # type: ignore[union-attr]


def _format(row: Record) -> dict[str, Scalar]:
    """Cells as CSV text: floats in full (shortest repr), numpy scalars as plain numbers."""
    return {k: _cell(v) for k, v in row.items()}


def _cell(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # np.float64(1000.0) -> 1000.0, never its repr
    return repr(float(value)) if isinstance(value, float) else value


def write_outputs(out_dir: Path, tables: Mapping[str, Iterable[Record]],
                  extra_files: Mapping[str, str] = {}) -> None:
    """Write every table as ``<name>.csv`` plus extra text files, atomically.

    Everything is first written to a temporary folder in ``out_dir``
    (``.virtsim-PID-...``); each file then replaces its target with one
    rename, so a reader never sees a half-written file. Temporary folders
    that killed processes left behind are removed first. (A whole result
    folder is published at once by :mod:`virtsim.publish`.)
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".virtsim-{os.getpid()}-", dir=out_dir))
    try:
        for name, records in tables.items():
            write_table(staging / f"{name}.csv", records)
        for name, text in extra_files.items():
            (staging / name).write_text(text, encoding="utf-8")
        for item in sorted(staging.iterdir()):
            target = out_dir / item.name
            if target.is_symlink():  # replace the link itself, never write through it
                target.unlink()
            os.replace(item, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


_TEMPORARY = re.compile(r"^\.virtsim-(\d+)-")


def remove_stale_temporaries(folder: Path) -> None:
    """Remove ``.virtsim-PID-*`` folders in ``folder`` whose process is gone."""
    from virtsim.publish import owner_alive

    for entry in folder.iterdir():
        match = _TEMPORARY.match(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() and not owner_alive(
                int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
