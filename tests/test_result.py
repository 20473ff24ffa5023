"""Result tables: tidy records, CSV output, atomic writes."""

from __future__ import annotations

import csv
from pathlib import Path

from virtsim.result import Result, write_outputs


def test_records_become_csv_with_union_header(tmp_path: Path) -> None:
    result = Result()
    result.add("t", a=1, b=0.1)
    result.add("t", a=2, c="x")
    write_outputs(tmp_path, result.tables, {"note.txt": "hi"})
    rows = list(csv.DictReader((tmp_path / "t.csv").open()))
    assert rows == [{"a": "1", "b": "0.1", "c": ""}, {"a": "2", "b": "", "c": "x"}]
    assert (tmp_path / "note.txt").read_text() == "hi"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_column_and_json() -> None:
    result = Result()
    result.add("t", a=1)
    result.metrics["x"] = 2.5
    assert result.column("t", "a") == [1]
    assert result.to_json() == '{"x": 2.5}'
