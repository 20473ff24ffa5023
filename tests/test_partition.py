"""Partitioned runs: independent units, and results byte-identical to one process."""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import virtsim
from virtsim.catalog import Catalog, load_catalog
from virtsim.errors import InputError
from virtsim.exchange import Lockstep
from virtsim.faults import settle_records
from virtsim.graph import member_name
from virtsim.merge import merge
from virtsim.partition import partitions, units
from virtsim.profiles import OrchestratorProfile
from virtsim.result import Result, write_table
from virtsim.run import (
    PROGRESS_SLICES,
    run_cut,
    run_scenario,
    simulate,
    summarise,
)
from virtsim.scenario import FaultSpec, Scenario
from virtsim.stack import build_graph, machine_names
from virtsim.sweep_executor import InProcess

CATALOG = load_catalog()


def _scenario(data: dict[str, Any]) -> Scenario:
    return virtsim.parse_scenario(data, CATALOG)


def _host(name: str, count: int, containers: int = 1) -> dict[str, Any]:
    return {"name": name, "profile": "m5d-metal", "count": count, "cached_images": ["alpine"],
            "containers": [{"name": f"{name}c", "count": containers, "image": "alpine",
                            "workload": "sysbench-cpu", "restart": "always"}]}


# -- independence analysis -------------------------------------------------------------

def test_unrelated_hosts_are_units_of_one_machine_each() -> None:
    scenario = _scenario({"name": "u", "hosts": [_host("a", 2), _host("b", 3)]})
    found = units(scenario)
    assert [u.machines for u in found] == [("a-0",), ("a-1",), ("b-0",), ("b-1",), ("b-2",)]
    assert all(u.instances == 1 for u in found)


def test_an_orchestrator_joins_every_machine_of_its_scope() -> None:
    scenario = _scenario({
        "name": "o", "hosts": [_host("a", 2), _host("b", 2), _host("c", 2)],
        "orchestrators": [{"profile": "kubernetes", "groups": ["ac"], "hosts": ["c"]}]})
    found = [u.machines for u in units(scenario)]
    # the hosts running its group (a) and the hosts it places on (c) are one unit; b is free
    assert found == [("a-0", "a-1", "c-0", "c-1"), ("b-0",), ("b-1",)]


def test_an_orchestrator_of_groups_joins_the_host_groups_that_run_them() -> None:
    scenario = _scenario({
        "name": "o", "hosts": [_host("a", 2), _host("b", 1), _host("c", 2)],
        "orchestrators": [{"profile": "docker-swarm", "groups": ["ac", "cc"]}]})
    assert [u.machines for u in units(scenario)] == [("a-0", "a-1", "c-0", "c-1"), ("b",)]


def test_partitions_are_whole_units_balanced_by_instances_in_scenario_order() -> None:
    scenario = _scenario({
        "name": "p", "hosts": [_host("a", 2, containers=4), _host("b", 4)],
        "orchestrators": [{"profile": "kubernetes", "groups": ["ac"]}]})
    cut = partitions(scenario, 2)
    assert cut == [("a-0", "a-1"), ("b-0", "b-1", "b-2", "b-3")]  # 8 instances against 4
    assert partitions(scenario, 2) == cut  # deterministic
    assert sorted(m for part in partitions(scenario, 5) for m in part) == sorted(
        machine_names(scenario))
    assert len(partitions(scenario, 5)) == 5  # 1 unit of a, 4 of b
    assert partitions(scenario, 1) == [tuple(machine_names(scenario))]
    with pytest.raises(ValueError, match='"count" must be >= 1'):
        partitions(scenario, 0)


def test_a_partition_builds_its_machines_with_their_names_and_stacks() -> None:
    scenario = _scenario({"name": "g", "hosts": [_host("a", 3, containers=2)]})
    whole = build_graph(scenario, CATALOG)
    part = build_graph(scenario, CATALOG, {"a-1", "a-2"})
    assert part.machines() == ["a-1", "a-2"]
    assert part.copies == {"a-2": "a-1"}  # the partition's first of the group is a-1
    for node in part.graph:
        assert node.split("/")[0] in ("a-1", "a-2")
        mine, theirs = part.graph.nodes[node], whole.graph.nodes[node]
        assert {k: v for k, v in mine.items()} == {k: v for k, v in theirs.items()}
    assert set(part.graph.edges) == {e for e in whole.graph.edges if e[0] in part.graph}


def test_a_partition_that_starts_mid_group_makes_the_same_rows_for_its_machines() -> None:
    """Template caches (footprint, density, member sizes) work a group out on the
    partition's first machine of it: the rows must not depend on which one that is."""
    host = {"name": "h", "profile": "m5d-metal", "count": 4, "cached_images": ["alpine"],
            "containers": [{"name": "c", "count": 3, "image": "alpine",
                            "workload": "web-service", "restart": "always"}],
            "vms": [{"name": "v", "count": 2, "hypervisor": "kvm",
                     "disk_image": "ubuntu-24.04-cloud", "vcpus": 2, "memory_mib": 2048,
                     "workload": "sysbench-cpu"}]}
    scenario = _scenario({"name": "mid", "duration_s": 60, "seed": 8, "hosts": [host],
                          "random_faults": {"kinds": ["container-crash"], "rate_scale": 3e5}})
    whole = simulate(scenario, CATALOG, scenario.seed)
    part = simulate(scenario, CATALOG, scenario.seed, machines=("h-2", "h-3"))
    mine = multiset(part, without=MERGED)
    for name, rows in multiset(whole, without=MERGED).items():
        kept = Counter({row: n for row, n in rows.items()
                        if any(isinstance(v, str) and v.split("/")[0] in ("h-2", "h-3")
                               for _, v in row)})
        assert kept == mine.get(name, Counter()), name
    assert mine["density"] and mine["footprint"] and mine["faults"]


# -- results the same on any cut -----------------------------------------------------------

def in_process(scenario: Scenario, count: int, went: Lockstep | None = None) -> Result:
    """A run cut into ``count`` partitions (scopes cut where they may be), each simulated
    here (in lockstep where a scope is cut, :mod:`virtsim.exchange`), every job, call and
    outcome sent through pickle."""
    cut = partitions(scenario, count, CATALOG)
    parts, updates = run_cut(scenario, CATALOG, scenario.seed, cut, PicklingInProcess(),
                             went or Lockstep(), pickled=True)
    parts = [pickle.loads(pickle.dumps(part)) for part in parts]
    merged = merge(parts)
    settle_records(merged, updates)
    return summarise(merged, scenario, CATALOG, scenario.seed)


class PicklingInProcess(InProcess):
    """Jobs run here, their job and outcome sent through pickle as to a worker."""

    def run(self, fn: Any, jobs: Any) -> Iterator[tuple[int, Any]]:
        for index, job in enumerate(jobs):
            yield index, pickle.loads(pickle.dumps(fn(pickle.loads(pickle.dumps(job)))))


def written(result: Result, folder: Path) -> dict[str, bytes]:
    """Every table as the CSV bytes ``--out`` writes, and the metrics as ``--json`` prints."""
    out = {"metrics.json": result.to_json().encode()}
    for name, rows in result.tables.items():
        write_table(folder / f"{name}.csv", rows)
        out[name] = (folder / f"{name}.csv").read_bytes()
    return out


MERGED = ("fleet_share", "time_to_recover_s")
"""Columns worked out from the merged tables (a share of the whole fleet; a fault's
recovery, which may end in another partition)."""


def multiset(result: Result, without: str | tuple[str, ...]
             ) -> dict[str, Counter[tuple[tuple[str, Any], ...]]]:
    skip = (without,) if isinstance(without, str) else without
    return {name: Counter(tuple(sorted((k, v) for k, v in row.items() if k not in skip))
                          for row in rows)
            for name, rows in result.tables.items()}


WORKLOADS = [None, "sysbench-cpu", "web-service", "idle"]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    hosts = []
    for h in range(draw(st.integers(1, 3))):
        count = draw(st.integers(1, 3))
        containers = [{"name": f"c{h}{k}", "count": draw(st.integers(1, 2)), "image": "alpine",
                       "workload": draw(st.sampled_from(WORKLOADS)),
                       "restart": draw(st.sampled_from(["no", "always"])),
                       "start_at_s": draw(st.sampled_from([0.0, 0.0, 2.0]))}
                      for k in range(draw(st.integers(0, 2)))]
        vms = [{"name": f"v{h}", "count": draw(st.integers(1, 2)), "hypervisor": "kvm",
                "vmm": draw(st.sampled_from(["qemu", "firecracker"])),
                "disk_image": "ubuntu-24.04-cloud", "vcpus": 2, "memory_mib": 1024,
                "workload": draw(st.sampled_from(["sysbench-cpu", None])),
                "restart": draw(st.sampled_from(["no", "always"]))}
               for _ in range(draw(st.integers(0, 1)))]
        processes = [{"name": f"p{h}", "count": 1, "workload": "sysbench-cpu"}
                     ] if draw(st.booleans()) else []
        if not (containers or vms or processes):
            processes = [{"name": f"p{h}", "count": 1, "workload": "idle"}]
        hosts.append({"name": f"h{h}", "profile": "m5d-metal", "count": count,
                      "cached_images": ["alpine"], "containers": containers, "vms": vms,
                      "processes": processes})
    data: dict[str, Any] = {"name": "cut", "duration_s": 60, "seed": draw(st.integers(0, 999)),
                            "hosts": hosts, "faults": draw(faults(hosts))}
    if draw(st.booleans()):
        kinds = draw(st.lists(st.sampled_from(["container-crash", "host-kernel-panic",
                                               "guest-kernel-panic", "machine-failure",
                                               "container-escape"]),
                              min_size=1, max_size=2, unique=True))
        data["random_faults"] = {"kinds": kinds, "rate_scale": 3e5}
    groups = [(c["name"], "docker-swarm") for h in hosts for c in h["containers"]] + [
        (v["name"], "vsphere-ha") for h in hosts for v in h["vms"]]  # they move within 20 s
    if groups and len(hosts) > 1 and draw(st.booleans()):
        group, profile = draw(st.sampled_from(groups))
        data["orchestrators"] = [{"profile": profile, "groups": [group]}]
    return data


@st.composite
def faults(draw: st.DrawFn, hosts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        host = draw(st.sampled_from(hosts))
        machine = member_name(host["name"], draw(st.integers(0, host["count"] - 1)),
                              host["count"])
        at = float(draw(st.integers(1, 30)))
        if host["containers"] and draw(st.booleans()):
            group = draw(st.sampled_from(host["containers"]))
            target = f"{machine}/{member_name(group['name'], 0, group['count'])}"
            kind = draw(st.sampled_from(["container-crash", "container-escape"]))
            out.append({"kind": kind, "target": target, "at_s": at})
        else:
            out.append({"kind": draw(st.sampled_from(["machine-failure", "host-kernel-panic"])),
                        "target": machine, "at_s": at,
                        "repair_s": draw(st.sampled_from([5.0, 100.0]))})
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenarios(), count=st.integers(2, 4))
def test_a_cut_run_equals_the_one_process_run_byte_for_byte(
        data: dict[str, Any], count: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    scenario = _scenario(data)
    one = run_scenario(scenario, CATALOG)
    cut = in_process(scenario, count)
    assert written(cut, tmp_path_factory.mktemp("cut")) == written(
        one, tmp_path_factory.mktemp("one"))
    # the whole graph simulated at once, before any merging: the same rows, in its own order
    whole = simulate(scenario, CATALOG, scenario.seed)
    merged_rows = multiset(one, without=MERGED)  # a share of the whole fleet: merged
    for name, rows in multiset(whole, without=MERGED).items():
        if name == "downtime" and not one.rows("faults"):  # nothing failed: no downtime table
            continue
        assert rows == merged_rows[name], name


def test_local_worker_processes_give_the_same_bytes(tmp_path: Path) -> None:
    scenario = _scenario({
        "name": "workers", "duration_s": 60, "seed": 4,
        "hosts": [_host("a", 3, containers=2), _host("b", 2)],
        "faults": [{"kind": "machine-failure", "target": "a-1", "at_s": 5, "repair_s": 5},
                   {"kind": "container-crash", "target": "b-1/bc", "at_s": 9}],
        "orchestrators": [{"profile": "kubernetes", "groups": ["bc"]}]})
    one = run_scenario(scenario, CATALOG)
    seen: list[float] = []
    two = run_scenario(scenario, CATALOG, workers=2, progress=seen.append)
    assert written(two, tmp_path) == written(one, tmp_path)
    assert seen and seen[-1] == scenario.duration_s  # one step per finished partition
    assert one.metrics["reschedules"] >= 0 and "availability" in one.metrics


def test_rescheduling_within_a_unit_is_the_same_on_any_cut(tmp_path: Path) -> None:
    scenario = _scenario({
        "name": "moves", "duration_s": 600, "seed": 2,
        "hosts": [_host("a", 3, containers=2), _host("b", 2), _host("c", 2, containers=3)],
        "faults": [{"kind": "machine-failure", "target": "a-0", "at_s": 5, "repair_s": 2000},
                   {"kind": "machine-failure", "target": "c-1", "at_s": 8, "repair_s": 2000},
                   {"kind": "container-crash", "target": "b-1/bc", "at_s": 6}],
        "orchestrators": [{"profile": "kubernetes", "groups": ["ac"]},
                          {"profile": "docker-swarm", "groups": ["cc"]}]})
    one = run_scenario(scenario, CATALOG)
    moved = {(r["from_machine"], r["to_machine"]) for r in one.rows("reschedules")}
    assert {f for f, _ in moved} == {"a-0", "c-1"}  # both orchestrators moved work
    assert {t for _, t in moved} <= {"a-1", "a-2", "c-0"}  # within their own scope
    replicas = sorted(str(r["to_node"]) for r in one.rows("reschedules"))
    assert all(".r" in node for node in replicas)
    expected = written(one, tmp_path)
    for count in (2, 3, 7):
        assert written(in_process(scenario, count), tmp_path) == expected, count


def test_a_bad_fault_target_fails_the_same_on_workers() -> None:
    scenario = _scenario({"name": "bad", "hosts": [_host("a", 2)]})  # the loader checks
    scenario = scenario.model_copy(update={"faults": (  # targets: build one past it
        FaultSpec(kind="machine-failure", target="nowhere", at_s=1.0),)})
    with pytest.raises(InputError) as one:
        run_scenario(scenario, CATALOG)
    with pytest.raises(InputError) as two:
        run_scenario(scenario, CATALOG, workers=2)
    assert str(two.value) == str(one.value)


def _no_lookahead() -> Catalog:
    """The catalogue with a cluster orchestrator that decides the instant a host fails."""
    swarm = CATALOG.require(OrchestratorProfile, "docker-swarm")
    instant = swarm.model_copy(update={"name": "instant", "node_failure_detection_s": 0.0,
                                       "eviction_delay_s": 0.0, "restart_delay_s": 0.0})
    profiles = {kind: dict(found) for kind, found in CATALOG.profiles.items()}
    profiles["orchestrators"]["instant"] = instant
    return Catalog(profiles, CATALOG.files)


def test_one_unit_runs_in_this_process_whatever_the_workers() -> None:
    catalog = _no_lookahead()
    scenario = virtsim.parse_scenario({
        "name": "one", "duration_s": 20, "hosts": [_host("a", 2), _host("b", 1)],
        "orchestrators": [{"profile": "instant", "groups": ["ac", "bc"]}]}, catalog)
    assert len(partitions(scenario, 4, catalog)) == 1  # no lookahead: its scope is one unit
    assert len(partitions(scenario, 4)) == 1  # no catalogue: every scope is one unit
    steps: list[float] = []
    four = run_scenario(scenario, catalog, workers=4, progress=steps.append)
    assert len(steps) == PROGRESS_SLICES  # the clock's own slices: it ran here
    assert four.to_json() == run_scenario(scenario, catalog).to_json()


def test_a_bad_scheduler_address_is_an_input_error() -> None:
    pytest.importorskip("distributed")
    scenario = _scenario({"name": "x", "hosts": [_host("a", 2)]})
    with pytest.raises(InputError, match="--scheduler"):
        run_scenario(scenario, CATALOG, scheduler="no such address")


def test_bad_arguments_are_refused() -> None:
    scenario = _scenario({"name": "x", "hosts": [_host("a", 1)]})
    with pytest.raises(ValueError, match='"workers" must be >= 1'):
        run_scenario(scenario, CATALOG, workers=0)
    with pytest.raises(ValueError, match='"observe"'):
        run_scenario(scenario, CATALOG, workers=2, observe=lambda sim: None)


def test_a_dask_cluster_gives_the_same_bytes(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    scenario = _scenario({
        "name": "dask", "duration_s": 30, "seed": 9, "hosts": [_host("a", 2), _host("b", 2)],
        "faults": [{"kind": "host-kernel-panic", "target": "b-0", "at_s": 3}]})
    one = run_scenario(scenario, CATALOG)
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=":0") as cluster:
        on_dask = run_scenario(scenario, CATALOG, scheduler=cluster.scheduler_address)
    (tmp_path / "one").mkdir()
    (tmp_path / "dask").mkdir()
    assert written(on_dask, tmp_path / "dask") == written(one, tmp_path / "one")


def test_machine_names_follow_the_build_order(catalog: Catalog) -> None:
    scenario = _scenario({"name": "n", "hosts": [_host("a", 2), _host("b", 1)]})
    assert machine_names(scenario) == ["a-0", "a-1", "b"]
    assert build_graph(scenario, catalog).machines() == machine_names(scenario)


# -- an orchestrator's scope cut across partitions ---------------------------------------

@st.composite
def scoped(draw: st.DrawFn) -> dict[str, Any]:
    """Small fleets under an orchestrator whose scope spans every host group, with host
    failures that make it reschedule (sometimes onto hosts that fail later)."""
    hosts = []
    for h in range(draw(st.integers(2, 3))):
        count = draw(st.integers(1, 3))
        containers = [{"name": f"c{h}", "count": draw(st.integers(1, 2)), "image": "alpine",
                       "workload": draw(st.sampled_from(["sysbench-cpu", "web-service", None])),
                       "restart": "always"}]
        vms = [{"name": f"v{h}", "count": 1, "hypervisor": "kvm", "vmm": "firecracker",
                "disk_image": "ubuntu-24.04-cloud", "vcpus": 2, "memory_mib": 1024,
                "workload": "sysbench-cpu", "restart": "always"}] if draw(st.booleans()) else []
        hosts.append({"name": f"h{h}", "profile": "m5d-metal", "count": count,
                      "cached_images": ["alpine"], "containers": containers, "vms": vms,
                      "processes": []})
    machines = [member_name(h["name"], i, h["count"]) for h in hosts for i in range(h["count"])]
    faults = []
    for _ in range(draw(st.integers(1, 3))):
        faults.append({"kind": draw(st.sampled_from(["machine-failure", "host-kernel-panic"])),
                       "target": draw(st.sampled_from(machines)),
                       # 5 + 15 + 5 = 25: a failure at the instant of a decision
                       "at_s": float(draw(st.sampled_from([2, 5, 11, 25, 30, 40]))),
                       "repair_s": draw(st.sampled_from([3.0, 500.0]))})
    if draw(st.booleans()):
        host = draw(st.sampled_from(hosts))
        machine = member_name(host["name"], 0, host["count"])
        group = host["containers"][0]
        faults.append({"kind": "container-crash", "at_s": float(draw(st.integers(1, 60))),
                       "target": f"{machine}/{member_name(group['name'], 0, group['count'])}"})
    swarm: dict[str, Any] = {"profile": "docker-swarm",
                             "groups": [h["containers"][0]["name"] for h in hosts],
                             "placement": draw(st.sampled_from(["spread", "bin-pack"]))}
    if draw(st.booleans()):
        swarm["detection_s"] = 3.0
    data: dict[str, Any] = {"name": "scoped", "duration_s": 90,
                            "seed": draw(st.integers(0, 999)), "hosts": hosts,
                            "faults": faults, "orchestrators": [swarm]}
    vm_groups = [v["name"] for h in hosts for v in h["vms"]]
    if vm_groups and draw(st.booleans()):
        data["orchestrators"].append({"profile": "vsphere-ha", "groups": vm_groups})
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scoped())
def test_a_cut_scope_gives_the_one_process_run_byte_for_byte(
        data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    scenario = _scenario(data)
    expected = written(run_scenario(scenario, CATALOG), tmp_path_factory.mktemp("one"))
    for count in (2, 3):
        went = Lockstep()
        cut = in_process(scenario, count, went)
        assert written(cut, tmp_path_factory.mktemp("cut")) == expected, (count, went)


MOVES = {"name": "moves", "duration_s": 120, "seed": 5,
         "hosts": [_host("a", 2, containers=2), _host("b", 2)],
         "faults": [{"kind": "machine-failure", "target": "a-0", "at_s": 5, "repair_s": 1000},
                    # a host that received work fails later: its replicas move again
                    {"kind": "machine-failure", "target": "b-0", "at_s": 40, "repair_s": 1000}],
         "orchestrators": [{"profile": "docker-swarm", "groups": ["ac", "bc"]}]}


def test_an_orchestrated_scope_is_split_and_its_moves_cross_partitions(tmp_path: Path) -> None:
    scenario = _scenario(MOVES)
    cut = partitions(scenario, 2, CATALOG)
    assert len(cut) == 2 and all(cut)  # today's co-location put the whole scope in one
    side = {machine: i for i, part in enumerate(cut) for machine in part}
    one = run_scenario(scenario, CATALOG)
    moves = [(r["from_machine"], r["to_machine"]) for r in one.rows("reschedules")]
    assert any(side[str(a)] != side[str(b)] for a, b in moves)  # work crosses partitions
    assert any(a == "b-0" for a, _ in moves)  # moved again after its new host failed
    went = Lockstep()
    assert written(in_process(scenario, 2, went), tmp_path) == written(one, tmp_path)
    assert went.windows and went.decided == 2 and not went.fallback  # settled together
    assert went.placements >= 2  # at 25 s and at 60 s, work placed across
    assert "2 partitions in lockstep" in went.describe()


def test_a_fault_on_an_instance_moved_to_another_partition_runs_the_scope_whole(
        tmp_path: Path) -> None:
    data = dict(MOVES, faults=[*MOVES["faults"], {"kind": "container-crash", "at_s": 50,
                                                  "target": "a-0/ac-1"}])  # now on b-1
    scenario = _scenario(data)
    one = run_scenario(scenario, CATALOG)
    went = Lockstep()
    assert written(in_process(scenario, 2, went), tmp_path) == written(one, tmp_path)
    assert "moved it to" in went.fallback


def test_local_workers_and_a_dask_cluster_cut_a_scope_the_same(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    scenario = _scenario(MOVES)
    for name in ("one", "local", "dask"):
        (tmp_path / name).mkdir()
    one = written(run_scenario(scenario, CATALOG), tmp_path / "one")
    went = Lockstep()
    local = run_scenario(scenario, CATALOG, workers=2, lockstep=went)
    assert went.partitions == 2 and went.placements and not went.fallback
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=":0") as cluster:
        on_dask = run_scenario(scenario, CATALOG, scheduler=cluster.scheduler_address)
    assert written(local, tmp_path / "local") == one
    assert written(on_dask, tmp_path / "dask") == one


def test_a_host_that_fails_at_the_instant_of_a_decision_is_no_candidate_on_any_cut(
        tmp_path: Path) -> None:
    # a-0 fails at 5 s: Swarm decides at 5 + 15 + 5 = 25 s, the instant b-1 (another
    # partition's machine on a 2-way cut) fails: every event of the instant comes first
    data = dict(MOVES, faults=[MOVES["faults"][0], {"kind": "machine-failure", "target": "b-1",
                                                    "at_s": 25, "repair_s": 1000}])
    scenario = _scenario(data)
    assert partitions(scenario, 2, CATALOG)[1] == ("a-1", "b-1")
    one = run_scenario(scenario, CATALOG)
    at_25 = [r["to_machine"] for r in one.rows("reschedules") if r["at_s"] == 25.0]
    assert at_25 and "b-1" not in at_25
    went = Lockstep()
    assert written(in_process(scenario, 2, went), tmp_path) == written(one, tmp_path)
    assert went.decided and not went.fallback


def test_batches_hold_whole_units_in_scenario_order_and_give_the_same_bytes(
        tmp_path: Path) -> None:
    """One process runs independent machines batch by batch (cache-sized): the tables and
    metrics are the bytes of one clock over every machine."""
    import virtsim.partition as partition_module
    from virtsim.partition import batches

    scenario = _scenario({"duration_s": 300, "seed": 3, "hosts": [
        {"name": "a", "profile": "felter-server", "count": 3, "containers": [
            {"name": "web", "count": 2, "image": "nginx-alpine", "restart": "always"}]},
        {"name": "b", "profile": "felter-server", "count": 2, "vms": [
            {"name": "vm", "hypervisor": "kvm", "vmm": "qemu",
             "disk_image": "ubuntu-24.04-cloud", "vcpus": 1, "memory_mib": 2048}]}],
        "faults": [{"kind": "machine-failure", "target": "a-1", "at_s": 30, "repair_s": 60}]})
    cut = batches(scenario, size=3)
    assert [m for batch in cut for m in batch] == ["a-0", "a-1", "a-2", "b-0", "b-1"]
    assert len(cut) == 4 and all(cut)
    whole = virtsim.run_scenario(scenario, CATALOG)
    saved = partition_module.BATCH_INSTANCES
    try:
        partition_module.BATCH_INSTANCES = 1
        batched = virtsim.run_scenario(scenario, CATALOG)
    finally:
        partition_module.BATCH_INSTANCES = saved
    (tmp_path / "batched").mkdir()
    (tmp_path / "whole").mkdir()
    assert written(batched, tmp_path / "batched") == written(whole, tmp_path / "whole")
