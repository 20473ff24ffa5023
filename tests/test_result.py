"""Result tables: tidy records, CSV output, atomic writes."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_records_added_field_by_field_read_back_as_dicts_in_order() -> None:
    result = Result()
    result.add("t", a=1, b=2.0)
    result.add("t", b=3.0, a=4)  # other order: kept as given
    result.add("t", a=5)
    expected = [{"a": 1, "b": 2.0}, {"b": 3.0, "a": 4}, {"a": 5}]
    assert list(result.rows("t")) == expected
    assert result.rows("t")[1] == {"b": 3.0, "a": 4} and len(result.rows("t")) == 3
    assert result.tables == {"t": expected}
    assert result.table("t") == expected


def test_a_table_read_as_a_list_can_be_updated() -> None:
    result = Result()
    result.add("t", a=1)
    for row in result.table("t"):
        row["a"] = 2
    assert result.table("t") == [{"a": 2}] and list(result.rows("t")) == [{"a": 2}]


def test_records_handed_over_whole_stay_the_owners_dicts() -> None:
    result = Result()
    record: dict[str, int | None] = {"a": 1, "b": None}
    result.extend("t", [record])
    result.add("t", a=2, b=3)
    record["b"] = 9  # its owner fills it in later
    assert result.table("t") == [{"a": 1, "b": 9}, {"a": 2, "b": 3}]
    assert result.table("missing") == [] and list(result.rows("missing")) == []


def test_numpy_scalars_are_written_as_plain_numbers(tmp_path: Path) -> None:
    from virtsim.result import write_table

    write_table(tmp_path / "t.csv", [{"offered_per_s": np.float64(1000.0), "n": np.int64(3),
                                      "ok": np.bool_(True), "x": 0.1 + 0.2}])
    assert (tmp_path / "t.csv").read_text() == (
        "offered_per_s,n,ok,x\n1000.0,3,True,0.30000000000000004\n")


def test_json_metrics_are_plain_and_free_of_rounding_noise() -> None:
    import json

    import numpy as np

    from virtsim.result import Result, plain_number

    result = Result(metrics={"memory": 216542.00000000003, "rate": np.float64(1000.0),
                             "n": np.int64(5), "nested": {"p99": [0.1 + 0.2]},
                             "inf": float("inf")})
    text = result.to_json()
    assert "216542.0," in text and "00000000003" not in text and "np." not in text
    assert json.loads(text.replace("Infinity", "1e999"))["nested"]["p99"] == [0.3]
    assert plain_number(np.float64(1.5)) == 1.5 and type(plain_number(np.int64(2))) is int


CELLS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
                  st.sampled_from(["a,b", 'say "hi"', "two\nlines", ""]),
                  st.floats(allow_nan=False).map(np.float64), st.integers(-9, 9).map(np.int64),
                  st.booleans().map(np.bool_), st.floats(width=32).map(np.float32))


COLUMNS = [st.floats(), st.integers(), st.booleans(), st.text(max_size=4),
           st.sampled_from(["a", "b\rc", "x,y", 'say "hi"', "", "two\nlines"]), CELLS]
"""Each column of a table draws its cells from one of these (mostly of one type: the
rows a model writes), or from any type."""


@st.composite
def stored_tables(draw: st.DrawFn) -> Result:
    """A table as models store it: tuples over the first record's keys, some dict rows
    with other keys (or the same keys in another order), numpy cells here and there."""
    names = draw(st.lists(st.sampled_from("abcde"), min_size=1, max_size=4, unique=True))
    cells = {name: draw(st.sampled_from(COLUMNS)) for name in "abcdef"}
    result = Result()
    for _ in range(draw(st.integers(1, 12))):
        keys = names if draw(st.integers(0, 3)) else draw(st.permutations(
            draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=5, unique=True))))
        result.add("t", **{key: draw(cells[key]) for key in keys})
    return result


@given(stored_tables(), st.integers(1, 4))
@settings(max_examples=400, deadline=None)
def test_a_stored_table_is_written_as_its_records_are(table: Result, chunk: int) -> None:
    # the fast path (stored tuples, in chunks) writes the bytes of the record-by-record one
    import tempfile

    from virtsim import result as module

    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "CHUNK_ROWS", chunk)
        fast, slow = Path(folder) / "fast.csv", Path(folder) / "slow.csv"
        module.write_table(fast, table.rows("t"))
        module.write_table(slow, list(table.rows("t")))
        assert fast.read_bytes() == slow.read_bytes()


def test_rows_appended_in_bulk_keep_their_table_keys() -> None:
    result = Result()
    result.append_rows("t", ("a", "b"), [])
    assert result.tables == {}
    result.append_rows("t", ("a", "b"), [(1, 2.0), (3, 4.0)])
    result.append_rows("t", ("b", "a"), [(5.0, 6)])  # other keys: kept as a dict
    assert list(result.rows("t")) == [{"a": 1, "b": 2.0}, {"a": 3, "b": 4.0},
                                      {"b": 5.0, "a": 6}]


def test_a_lone_empty_cell_is_quoted_as_the_csv_module_does(tmp_path: Path) -> None:
    from virtsim.result import write_table

    result = Result()
    for value in ("", "a", ""):
        result.add("t", note=value)
    result.add("u", a="", b=1.5)
    for name, text in (("t", 'note\n""\na\n""\n'), ("u", "a,b\n,1.5\n")):
        write_table(tmp_path / f"{name}.csv", result.rows(name))
        assert (tmp_path / f"{name}.csv").read_text() == text
