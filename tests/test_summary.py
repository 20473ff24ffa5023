"""The run summary: human units, one line per instance group, a clock that can be watched."""

from __future__ import annotations

import pytest

import virtsim
from tests.paths import SCENARIOS
from virtsim.catalog import Catalog
from virtsim.result import Result
from virtsim.summary import group_rows, mebibytes, number, run_summary, seconds, table


@pytest.mark.parametrize(("value", "text"), [
    (0.0153, "0.0153 s"), (1.377, "1.38 s"), (16.4, "16.4 s"), (120.0, "2 min"),
    (125.2, "2 min 5 s"), (3600.0, "1 h"), (10_980.0, "3 h 3 min"), (None, "-")])
def test_seconds_reads_like_a_stopwatch(value: float | None, text: str) -> None:
    assert seconds(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (4.9, "4.9 MiB"), (67.9, "67.9 MiB"), (1582.9, "1,583 MiB"), (19932.8, "19.5 GiB"),
    (216542.00000000003, "211 GiB"), (3.5 * 1024 * 1024, "3,584 GiB"),
    (35 * 1024 * 1024, "35 TiB")])
def test_mebibytes_picks_a_unit(value: float, text: str) -> None:
    assert mebibytes(value) == text


def test_number_has_separators_and_no_exponent() -> None:
    assert number(80096) == "80,096"
    assert number(1.59909245776) == "1.6"
    assert number(216542.00000000003) == "216,542"
    assert "e+" not in number(2.165e5)


def _result() -> Result:
    result = Result()
    for i, ready in enumerate((1.0, 2.0, 3.0, None)):
        result.add("instances", instance=f"h/web-{i}", kind="container", machine="h",
                   group="web", requested_s=0.5, ready_s=ready, restart=False, outcome="native")
        result.add("instance_footprint", instance=f"h/web-{i}", kind="container", machine="h",
                   group="web", memory_mib=67.9, disk_mib=0.0)
    result.add("instances", instance="h/vm-0", kind="vm", machine="h", group="vm",
               requested_s=0.0, ready_s=14.0, restart=False, outcome="native")
    result.add("instance_footprint", instance="h/vm-0", kind="vm", machine="h", group="vm",
               memory_mib=1156.9, disk_mib=583.0)
    return result


def test_group_rows_count_ready_and_time_from_request() -> None:
    rows = {r["group"]: r for r in group_rows(_result())}
    assert rows["web"] == {"group": "web", "kind": "container", "ready": "3 of 4",
                           "median": "1.5 s", "p99": "2.48 s", "all ready": "not all",
                           "memory each": "67.9 MiB"}
    assert rows["vm"]["all ready"] == "14 s" and rows["vm"]["memory each"] == "1,157 MiB"
    assert list(rows) == ["web", "vm"]  # in order of the first ready


def test_table_aligns_columns_under_a_header() -> None:
    lines = table([{"group": "a", "ready": "1 of 1"}, {"group": "long-name", "ready": "10 of 12"}])
    assert lines == ["  group         ready",
                     "  a            1 of 1",
                     "  long-name  10 of 12"]


def test_run_summary_has_no_dict_syntax_or_exponents(catalog: Catalog) -> None:
    scenario = virtsim.load_scenario(SCENARIOS / "mixed-stack.toml", catalog)
    text = run_summary(scenario.name, 7, scenario.duration_s,
                       virtsim.run_scenario(scenario, catalog))
    assert "{" not in text and "'count'" not in text and "e+0" not in text
    assert "2 min simulated" in text
    lines = text.splitlines()
    header = next(line for line in lines if line.split()[:2] == ["group", "kind"])
    assert header.split() == ["group", "kind", "ready", "median", "p99", "all", "ready",
                              "memory", "each"]
    assert any(line.split()[:2] == ["k8s-node", "vm"] and "2 of 2" in line for line in lines)


def test_watching_the_clock_changes_nothing(catalog: Catalog) -> None:
    scenario = virtsim.load_scenario(SCENARIOS / "mixed-stack.toml", catalog)
    seen: list[float] = []
    watched = virtsim.run_scenario(scenario, catalog, progress=seen.append)
    plain = virtsim.run_scenario(scenario, catalog)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(scenario.duration_s)
    assert len(seen) > 10
    assert watched.metrics == plain.metrics
    for name in plain.tables:
        assert list(watched.rows(name)) == list(plain.rows(name)), name


def test_identical_densities_are_one_entry_with_their_machine_count() -> None:
    result = Result()
    result.metrics.update(density={
        f"h-{i}/c": {"count": 72688, "binding": "memory"} for i in range(1000)}
        | {"big-0/c": {"count": 10, "binding": "cpu"}})
    line = next(x for x in run_summary("s", 0, 1.0, result).splitlines() if "fits one host" in x)
    assert line == ("  fits one host: c 72,688 (memory-bound) on each of 1,000 machines, "
                    "c 10 (cpu-bound)")
