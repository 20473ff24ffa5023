"""Measures of one run: groups and their members, per-group numbers, flattened metrics."""

from __future__ import annotations

from tests.paths import SCENARIOS
from virtsim.catalog import Catalog
from virtsim.measures import flatten_metrics, groups_of, measure_run
from virtsim.run import run_scenario
from virtsim.scenario import load_scenario, parse_scenario


def test_groups_name_their_place_technology_and_members(catalog: Catalog) -> None:
    scenario = load_scenario(SCENARIOS / "mixed-stack.toml", catalog)
    groups = {g.key: g for g in groups_of(scenario)}
    assert groups["node/web"].technology == "container"
    assert groups["node/sandboxed"].technology == "gvisor"
    assert groups["node/kata"].technology == "kata"
    assert groups["node/k8s-node"].technology == "vm"
    assert groups["node/native"].technology == "native"
    assert groups["node/k8s-node/api"].members[:2] == ("node/k8s-node-0/api-0",
                                                       "node/k8s-node-0/api-1")
    assert len(groups["node/k8s-node/api"].members) == 6
    assert sum(len(g.members) for g in groups.values()) == 18  # every instance, once


def test_group_measures_and_a_run_cut_short(catalog: Catalog) -> None:
    data = {"duration_s": 600, "hosts": [{
        "name": "h", "profile": "m5d-metal", "count": 2, "cached_images": ["alpine"],
        "containers": [{"name": "c", "image": "alpine", "count": 3,
                        "workload": "web-service"}]}]}
    scenario = parse_scenario(data, catalog)
    whole = measure_run(run_scenario(scenario, catalog, seed=1), scenario)
    group = whole.groups["h/c"]
    assert group["instances"] == group["ready"] == 6
    assert group["ready_p50_s"] <= group["ready_p99_s"] <= group["all_ready_s"]  # type: ignore[operator]
    assert isinstance(group["density"], int) and group["binding"]
    assert group["throughput_per_s"] > 0  # type: ignore[operator]
    assert not whole.warnings
    short = parse_scenario({**data, "duration_s": 0.3}, catalog)
    cut = measure_run(run_scenario(short, catalog, seed=1), short)
    assert cut.groups["h/c"]["all_ready_s"] is None
    assert cut.groups["h/c"]["ready"] < 6  # type: ignore[operator]
    assert any("not ready" in w for w in cut.warnings)


def test_flattened_metrics_keep_numbers_only() -> None:
    flat = flatten_metrics({"a": 1, "b": {"p50": 2.0, "name": "x", "inf": float("inf")},
                            "seed": 3, "failed_to_start": {"i": "why"}, "flag": True})
    assert flat == {"a": 1.0, "b.p50": 2.0, "failed_to_start": 1.0}
