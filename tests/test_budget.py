"""The budget of a run: estimates from counts, and the refusal beyond the machine."""

from __future__ import annotations

import pytest

import virtsim
from tests.paths import ROOT
from virtsim.budget import Budget, check_budget, estimate, machine_nodes
from virtsim.catalog import Catalog
from virtsim.errors import InputError


def scenario(catalog: Catalog, **host: object) -> virtsim.Scenario:
    return virtsim.parse_scenario({"hosts": [{"name": "n", "profile": "m5d-metal", **host}]},
                                  catalog)


def test_node_count_matches_the_built_graph(catalog: Catalog) -> None:
    s = virtsim.load_scenario(ROOT / "experiments" / "scenarios" / "mixed-stack.toml", catalog)
    budget = estimate(s, catalog)
    graph = virtsim.build_graph(s, catalog)
    assert budget.nodes == len(graph)
    assert budget.instances == sum(1 for _ in graph.instances())
    assert machine_nodes(s.hosts[0], catalog) == len(graph)


def test_estimates_are_within_reach_of_the_benchmarks(catalog: Catalog) -> None:
    # benchmarks/README.md: hyperscale 286 s and 4,850 MiB; datacenter 21 s and 724 MiB.
    for name, seconds, mib in (("hyperscale", 286, 4850), ("datacenter", 21.1, 724)):
        s = virtsim.load_scenario(ROOT / "benchmarks" / "scenarios" / f"{name}.toml", catalog)
        budget = estimate(s, catalog)
        assert seconds / 1.5 < budget.seconds < seconds * 2, name
        assert mib / 1.5 < budget.memory_mib < mib * 1.5, name


def test_crowding_one_machine_costs_more_than_spreading(catalog: Catalog) -> None:
    crowded = estimate(scenario(catalog, containers=[{"name": "c", "image": "alpine",
                                                      "count": 4000}]), catalog)
    spread = estimate(scenario(catalog, count=400, containers=[
        {"name": "c", "image": "alpine", "count": 10}]), catalog)
    assert crowded.instances == spread.instances
    assert crowded.seconds > 5 * spread.seconds


def test_random_faults_scale_the_estimate(catalog: Catalog) -> None:
    base = {"hosts": [{"name": "n", "profile": "m5d-metal",
                       "containers": [{"name": "c", "image": "alpine"}]}]}
    calm = estimate(virtsim.parse_scenario(base, catalog), catalog)
    stormy = estimate(virtsim.parse_scenario({**base, "random_faults": {"rate_scale": 1e12}},
                                             catalog), catalog)
    assert calm.random_faults == 0 and stormy.random_faults > 1e6
    with pytest.raises(InputError, match="random faults"):
        check_budget(stormy, "s.toml")


def test_check_budget_refuses_memory_and_time_beyond_the_machine() -> None:
    budget = Budget(machines=1, nodes=10, instances=5, most_on_a_machine=5, random_faults=0,
                    events=100, memory_mib=2000, seconds=10)
    check_budget(budget, "s.toml", memory_mib=4000)
    with pytest.raises(InputError, match=r"s\.toml: expected a run that fits in the 1,000 MiB"):
        check_budget(budget, "s.toml", memory_mib=1000)
    with pytest.raises(InputError, match="--force"):
        check_budget(budget, "s.toml", memory_mib=4000, time_limit_s=5)


def test_many_small_hosts_cost_per_machine(catalog: Catalog) -> None:
    # Measured: 100,000 hosts of one container each, 60 s of CPU and 1,442 MiB at peak.
    budget = estimate(scenario(catalog, count=100_000, containers=[
        {"name": "c", "image": "alpine"}]), catalog)
    assert 60 / 1.5 < budget.seconds < 60 * 2
    assert 1442 / 1.5 < budget.memory_mib < 1442 * 1.5
