"""Results: flat records in named tidy tables, plus headline metrics.

Models append one flat record (a dict of scalars) per observation to a named
table: one row per instance, per stage, per host and measure. At the end a
table loads straight into a data frame or is written as CSV. ``metrics``
holds the headline numbers a run prints (and ``--json`` emits).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Scalar = str | int | float | bool | None
Record = dict[str, Scalar]


@dataclass
class Result:
    """Tidy tables of records and a dict of headline metrics."""

    tables: dict[str, list[Record]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def add(self, table: str, **record: Scalar) -> None:
        """Append one record to ``table``."""
        if (records := self.tables.get(table)) is None:
            records = self.tables[table] = []
        records.append(record)

    def extend(self, table: str, records: list[Record]) -> None:
        """Append many records to ``table``."""
        self.tables.setdefault(table, []).extend(records)

    def table(self, name: str) -> list[Record]:
        """The records of one table (empty if nothing was recorded)."""
        return self.tables.get(name, [])

    def column(self, table: str, name: str) -> list[Scalar]:
        """One column of a table."""
        return [row.get(name) for row in self.table(table)]

    def to_json(self) -> str:
        """The metrics as one JSON object (stable key order)."""
        return json.dumps(self.metrics, sort_keys=True, default=_jsonable)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def write_table(path: Path, records: list[Record]) -> None:
    """Write records as CSV with the union of their keys as the header (first-seen order)."""
    header: dict[str, None] = {}
    for row in records:
        header.update(dict.fromkeys(row))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\n")
        writer.writeheader()
        writer.writerows(_format(row) for row in records)


def _format(row: Record) -> dict[str, Scalar]:
    return {k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()}


def write_outputs(out_dir: Path, tables: Mapping[str, list[Record]],
                  extra_files: Mapping[str, str] = {}) -> None:
    """Write every table as ``<name>.csv`` plus extra text files, atomically.

    Everything is first written to a temporary folder beside ``out_dir``;
    each file then replaces its target with one rename, so a reader never
    sees a half-written result.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".virtsim-", dir=out_dir))
    try:
        for name, records in tables.items():
            write_table(staging / f"{name}.csv", records)
        for name, text in extra_files.items():
            (staging / name).write_text(text, encoding="utf-8")
        for item in staging.iterdir():
            os.replace(item, out_dir / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
