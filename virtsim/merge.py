"""Merging partitions: one result whose rows cannot depend on how the run was cut.

A run's tables come out of one or several partitions (:mod:`virtsim.partition`),
each holding some of the scenario's machines. Every table then takes one
**canonical order**, in every run, one process or many:

1. rows are grouped by the machine they belong to, machines in scenario
   order (a row's machine is its ``machine`` column, else the machine part
   of its ``from_machine``, ``node``, ``instance`` or ``target`` id:
   ``rack-b-7/vm-1`` belongs to ``rack-b-7``);
2. within a machine, rows keep the order the simulation produced them in,
   except in the tables of :data:`ORDERED_BY`, which list a machine's rows
   by the values named there.

That order is the same however machines are packed: a machine's rows come
from the partition that runs it, produced by its own events, and SimPy runs
events at equal times in the order they were scheduled, which for one
machine does not depend on what else runs beside it (an orchestrator's
decisions, which do join machines, are taken at the end of their instant in
a fixed order: :mod:`virtsim.scope`). The one kind of row another machine
produces, an outage that ends when the instance is ready elsewhere, is in a
table ordered by value. A row that names no machine of the scenario (none
today) goes first, ordered by all its values (None, then numbers, then
strings).

Each partition puts its own tables in this order where it ran
(:func:`order_part`: one machine number per row, a stable numpy argsort) and
sends them back with the run of rows of each machine (its *unit* below), so
merging only splices runs (:func:`merge`), and merges by value a machine's
runs of an :data:`ORDERED_BY` table that come from several partitions.
Measured: hyperscale at a tenth (2.1 million rows) orders in 2.1 s of CPU
against 114 s to simulate it, on a loaded 2-core machine.

A table's key tuple is that of its first row in this order; tables are
listed by name. Metrics are then computed from these merged tables only
(:func:`virtsim.run.summarise`), so they cannot differ either.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from virtsim.result import Record, Result, Scalar

MACHINE_COLUMNS: tuple[str, ...] = ("machine", "from_machine", "node", "instance", "target")
"""The columns that place a row on a machine, in the order they are tried."""

Row = tuple[Scalar, ...] | Record

ORDERED_BY: dict[str, tuple[str, ...]] = {"outages": ("end_s", "instance", "start_s")}
"""Tables whose rows of one machine are listed by these columns (None last), not in the
order they were produced: an outage ends when its instance is ready, perhaps on another
machine of another partition."""


def row_order(table: str, record: Mapping[str, Scalar]) -> tuple[object, ...]:
    """Where a row of an :data:`ORDERED_BY` table goes among its machine's rows."""
    return tuple((record[c] is None, 0.0 if record[c] is None else record[c])
                 for c in ORDERED_BY[table])


Runs = list[tuple[int, int]]
"""A table's rows in canonical order as (unit, how many rows) runs."""


@dataclass
class OrderedPart:
    """One partition's result with every table in canonical order, and where each unit's
    rows lie (worked out where the partition ran, so merging only splices runs)."""

    result: Result
    runs: dict[str, Runs]
    plain: dict[str, bool]
    """Per table: whether every row is a tuple over the table's keys."""


def order_part(result: Result, unit_of: Mapping[str, int]) -> OrderedPart:
    """Put every table of one partition in canonical order (in place).

    Args:
        result: The partition's result, as its models reported it.
        unit_of: Each machine's unit, numbered in scenario order
            (:func:`virtsim.run.unit_index`).
    """
    runs: dict[str, Runs] = {}
    plain: dict[str, bool] = {}
    for name in list(result.tables):
        keys, rows = result.raw(name)
        plain[name] = _compact(keys, rows)
        units = np.fromiter(_units(keys, rows, unit_of), dtype=np.int64, count=len(rows))
        if len(units) > 1 and (units[1:] < units[:-1]).any():
            order = np.argsort(units, kind="stable")  # each unit keeps its rows' order
            units = units[order]
            rows = [rows[i] for i in order.tolist()]
        loose = int(np.searchsorted(units, 0))
        if loose:  # rows of no machine: ordered by their values, before every unit
            rows[:loose] = sorted(rows[:loose], key=lambda row: _value_key(keys, row))
        result.put(name, keys, rows)
        starts = np.flatnonzero(np.diff(units, prepend=-2))
        counts = np.diff(np.append(starts, len(units)))
        runs[name] = list(zip(units[starts].tolist(), counts.tolist(), strict=True))
    return OrderedPart(result, runs, plain)


def merge(parts: Sequence[OrderedPart]) -> Result:
    """The partitions' tables as one result, every table in canonical order (no metrics).

    Each unit's rows come whole from the one partition that ran it, so the
    merged table is the partitions' runs spliced in unit order; rows of no
    machine (unit -1, none today) from several partitions are ordered by value.
    """
    names = sorted({name for part in parts for name in part.result.tables})
    merged = Result()
    for name in names:
        keys, rows = _splice([(part.result.raw(name), part.runs.get(name, []),
                               part.plain.get(name, True)) for part in parts], name)
        merged.put(name, keys, rows)
    return merged


Piece = tuple[int, tuple[str, ...], list[Row], int, int]
"""One unit's rows in one partition: (unit, keys, the partition's rows, start, stop)."""


def _splice(tables: list[tuple[tuple[tuple[str, ...], list[Row]], Runs, bool]], name: str = ""
            ) -> tuple[tuple[str, ...], list[Row]]:
    tables = [table for table in tables if table[0][1]]
    if not tables:
        return (), []
    if len(tables) == 1 and tables[0][2]:  # one partition's table: already in order
        return tables[0][0]
    pieces: list[Piece] = []
    for (keys, rows), runs, _ in tables:
        at = 0
        for unit, count in runs:
            pieces.append((unit, keys, rows, at, at + count))
            at += count
    pieces.sort(key=lambda piece: piece[0])  # stable
    if name in ORDERED_BY:
        pieces = _by_value(pieces, name)
    loose = [(keys, row) for unit, keys, rows, start, stop in pieces if unit < 0
             for row in rows[start:stop]]
    loose.sort(key=lambda item: _value_key(*item))
    pieces = [(-1, keys, [row], 0, 1) for keys, row in loose] + [
        piece for piece in pieces if piece[0] >= 0]
    head = pieces[0][2][pieces[0][3]]
    keys = pieces[0][1] if isinstance(head, tuple) else tuple(head)
    out: list[Row] = []
    if all(plain and table_keys == keys for (table_keys, _), _, plain in tables):
        for _, _, rows, start, stop in pieces:
            out.extend(rows[start:stop])
        return keys, out
    for _, row_keys, rows, start, stop in pieces:
        for row in rows[start:stop]:
            if isinstance(row, tuple) and row_keys != keys:
                row = dict(zip(row_keys, row, strict=True))
            elif isinstance(row, dict) and tuple(row) == keys:
                row = tuple(row.values())
            out.append(row)
    return keys, out


def _by_value(pieces: list[Piece], name: str) -> list[Piece]:
    """One machine's rows that come from several partitions, merged by :func:`row_order`."""
    out: list[Piece] = []
    for piece in pieces:
        if out and out[-1][0] == piece[0] >= 0:
            unit, keys, rows, start, stop = out.pop()
            both = [_record(keys, row) for row in rows[start:stop]] + [
                _record(piece[1], row) for row in piece[2][piece[3]:piece[4]]]
            both.sort(key=lambda record: row_order(name, record))
            first = tuple(both[0])
            merged: list[Row] = [tuple(r.values()) if tuple(r) == first else r for r in both]
            out.append((unit, first, merged, 0, len(merged)))
        else:
            out.append(piece)
    return out


def _record(keys: tuple[str, ...], row: Row) -> Record:
    return row if isinstance(row, dict) else dict(zip(keys, row, strict=True))


def _compact(keys: tuple[str, ...], rows: list[Row]) -> bool:
    """Turn the dict rows that have ``keys`` into tuples, in place; whether all are tuples."""
    plain = True
    for i, row in enumerate(rows):
        if type(row) is dict:
            if tuple(row) == keys:
                rows[i] = tuple(row.values())
            else:
                plain = False
    return plain


def _units(keys: tuple[str, ...], rows: list[Row], unit_of: Mapping[str, int]) -> list[int]:
    """The unit of each row (-1: it names no machine of the scenario)."""
    column = next((keys.index(c) for c in MACHINE_COLUMNS if c in keys), None)
    find = unit_of.get
    if column is not None:
        try:
            if keys[column] == "machine":
                return [find(row[column], -1) for row in rows]  # type: ignore[arg-type,index]
            return [find(row[column].partition("/")[0], -1)  # type: ignore[index,union-attr]
                    for row in rows]
        except (KeyError, AttributeError, TypeError):  # dict rows, or a cell of no machine
            pass

    def unit(value: object) -> int:
        return find(value.partition("/")[0], -1) if isinstance(value, str) else -1

    out: list[int] = []
    for row in rows:
        if isinstance(row, dict):
            out.append(unit(next((row[c] for c in MACHINE_COLUMNS if c in row), None)))
        else:
            out.append(unit(row[column]) if column is not None else -1)
    return out


def _value_key(keys: tuple[str, ...], row: Row) -> tuple[object, ...]:
    """A total order on rows: columns by name, then None < numbers < NaN < strings."""
    record = row if isinstance(row, dict) else dict(zip(keys, row, strict=True))
    return tuple((name, _cell_key(record[name])) for name in sorted(record))


def _cell_key(value: Scalar) -> tuple[object, ...]:
    if value is None:
        return (0,)
    if isinstance(value, bool | int | float):
        if isinstance(value, float) and math.isnan(value):
            return (2,)
        rank = 0 if isinstance(value, bool) else 1 if isinstance(value, int) else 2
        return (1, value, rank)  # 1 and 1.0 and True are equal numbers, different cells
    return (3, str(value))
