"""Merging partitions: rows grouped by machine in scenario order, some tables by value."""

from __future__ import annotations

from virtsim.merge import merge, order_part, row_order
from virtsim.result import Result

MACHINES = {"a-0": 0, "a-1": 1, "b-0": 2}


def _part(rows: list[tuple[str, float, float | None]], events: list[str]) -> Result:
    result = Result()
    for instance, start, end in rows:
        result.add("outages", instance=instance, start_s=start, end_s=end)
    for machine in events:
        result.add("stages", instance=f"{machine}/web", stage="boot")
    return result


def test_rows_are_grouped_by_machine_in_scenario_order_keeping_their_order() -> None:
    one = order_part(_part([], ["b-0", "a-0", "b-0"]), MACHINES)
    two = order_part(_part([], ["a-1"]), MACHINES)
    merged = merge([two, one])
    assert [row["instance"] for row in merged.rows("stages")] == [
        "a-0/web", "a-1/web", "b-0/web", "b-0/web"]


def test_a_machines_outages_from_two_partitions_merge_by_end_then_instance() -> None:
    # a-0's instances: one recovered on a-0's partition, one recovered elsewhere, one open
    here = order_part(_part([("a-0/x", 5.0, 30.0), ("a-0/y", 5.0, None)], []), MACHINES)
    there = order_part(_part([("a-0/z", 5.0, 26.0), ("a-1/w", 1.0, 2.0)], []), MACHINES)
    rows = [(r["instance"], r["end_s"]) for r in merge([here, there]).rows("outages")]
    assert rows == [("a-0/z", 26.0), ("a-0/x", 30.0), ("a-0/y", None), ("a-1/w", 2.0)]
    assert row_order("outages", {"end_s": None, "instance": "a", "start_s": 0.0}) > row_order(
        "outages", {"end_s": 1e9, "instance": "b", "start_s": 0.0})
