"""Instances: the state machine, subscriptions, held work, and the run-wide invariants
that one lifecycle buys (nothing runs after its instance ends; two tables agree)."""

from __future__ import annotations

from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import virtsim
from virtsim.catalog import Catalog, load_catalog
from virtsim.instances import TRANSITIONS, InstanceRegistry, Transition
from virtsim.result import Result
from virtsim.simulation import Simulation
from virtsim.stack import build_graph


def registry(catalog: Catalog) -> InstanceRegistry:
    scenario = virtsim.parse_scenario({"hosts": [{"name": "h", "profile": "laptop", "containers": [
        {"name": "c", "count": 2, "image": "alpine"}]}]}, catalog)
    graph = build_graph(scenario, catalog)
    instances = InstanceRegistry(simpy.Environment())
    for node in graph.instances():
        instances.add(node, graph)
    return instances


class Work:
    def __init__(self) -> None:
        self.cancelled = 0

    def cancel(self) -> None:
        self.cancelled += 1


def test_transitions_follow_the_state_machine_and_reach_subscribers(catalog: Catalog) -> None:
    instances = registry(catalog)
    heard: list[tuple[str, str | None, str]] = []
    instances.subscribe(lambda c: heard.append((c.instance, c.before, c.after)))
    for state in ("requested", "pulling", "starting", "ready", "stopping", "stopped"):
        instances.move("h/c-0", state)  # type: ignore[arg-type]
    assert [after for _, _, after in heard] == [
        "requested", "pulling", "starting", "ready", "stopping", "stopped"]
    assert heard[0][1] is None and instances["h/c-0"].attempt == 1
    with pytest.raises(ValueError, match="cannot go from stopped to ready"):
        instances.move("h/c-0", "ready")
    instances.move("h/c-0", "requested")  # started again
    assert instances["h/c-0"].attempt == 2


def test_every_state_but_moved_can_be_left_and_moved_is_final() -> None:
    assert TRANSITIONS["moved"] == frozenset()
    for state, targets in TRANSITIONS.items():
        if state not in (None, "moved"):
            assert targets


def test_subscribing_to_some_states_hears_only_those(catalog: Catalog) -> None:
    instances = registry(catalog)
    crashes: list[Transition] = []
    instances.subscribe(crashes.append, "crashed")
    instances.move("h/c-1", "requested")
    instances.move("h/c-1", "crashed", cause="oom-kill", fault="oom-kill@h/c-1#0")
    assert [(c.after, c.cause, c.fault) for c in crashes] == [
        ("crashed", "oom-kill", "oom-kill@h/c-1#0")]
    with pytest.raises(ValueError, match="states"):
        instances.subscribe(crashes.append, "exploded")  # type: ignore[arg-type]


def test_ending_cancels_what_the_instance_holds_once(catalog: Catalog) -> None:
    instances = registry(catalog)
    done, running = Work(), Work()
    instances.move("h/c-0", "requested")
    instances.hold("h/c-0", done)
    instances.hold("h/c-0", running)
    instances.release("h/c-0", done)
    instances.move("h/c-0", "crashed")
    assert (done.cancelled, running.cancelled) == (0, 1)
    instances.move("h/c-0", "requested")
    instances.move("h/c-0", "crashed")
    assert running.cancelled == 1


# -- run-wide invariants ------------------------------------------------------

WORKLOADS = [None, "sysbench-cpu", "web-service", "fio-seq-read", "idle"]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    hosts = []
    for h in range(draw(st.integers(1, 3))):
        containers = [{"name": f"c{k}", "count": draw(st.integers(1, 4)), "image": "alpine",
                       "workload": draw(st.sampled_from(WORKLOADS)),
                       "restart": draw(st.sampled_from(["no", "always"])),
                       "checkpoint_s": draw(st.sampled_from([0.0, 5.0])),
                       "start_at_s": draw(st.sampled_from([0.0, 0.0, 3.0]))}
                      for k in range(draw(st.integers(1, 2)))]
        vms = [{"name": f"v{k}", "count": draw(st.integers(1, 2)), "hypervisor": "kvm",
                "vmm": draw(st.sampled_from(["qemu", "firecracker"])),
                "disk_image": "ubuntu-24.04-cloud", "vcpus": 2, "memory_mib": 1024,
                "workload": draw(st.sampled_from(["sysbench-cpu", "web-service", None])),
                "restart": draw(st.sampled_from(["no", "always"])),
                "containers": [{"name": "in", "image": "alpine",
                                "workload": draw(st.sampled_from(WORKLOADS))}]
                if draw(st.booleans()) else []}
               for k in range(draw(st.integers(0, 1)))]
        hosts.append({"name": f"h{h}", "profile": "m5d-metal", "cached_images": ["alpine"],
                      "containers": containers, "vms": vms})
    kinds = draw(st.lists(st.sampled_from(["container-crash", "host-kernel-panic",
                                           "guest-kernel-panic", "engine-crash", "vmm-crash",
                                           "machine-failure"]),
                          min_size=1, max_size=3, unique=True))
    data = {"name": "random", "duration_s": 120, "seed": draw(st.integers(0, 1000)),
            "hosts": hosts, "random_faults": {"kinds": kinds, "rate_scale": 2e5}}
    if len(hosts) > 1 and draw(st.booleans()):  # replicas rescheduled onto the other hosts
        data["orchestrators"] = [{"profile": "docker-swarm", "groups": ["c0"]}]
    return data


class Watch:
    """Checks, at every transition that ends an instance, that none of its work is left."""

    def __init__(self) -> None:
        self.sim: Simulation | None = None
        self.leftovers: list[tuple[str, float]] = []
        self.over_capacity: list[float] = []

    def __call__(self, sim: Simulation) -> None:
        self.sim = sim
        sim.instances.subscribe(self.ended, "stopped", "crashed", "moved")
        for machine in sim.graph.machines():
            sim.pools.of(sim.graph, machine).pool.listeners.append(self.capacity)

    def ended(self, change: Transition) -> None:
        assert self.sim is not None
        pool = self.sim.pools[self.sim.instances[change.instance].machine].pool
        for activity in (*pool.activities, *pool.pending):
            if activity.owner == change.instance:
                self.leftovers.append((change.instance, change.at_s))

    def capacity(self, pool: Any) -> None:
        if not ((pool.usage() <= pool.effective_capacity * (1 + 1e-9) + 1e-9).all()
                and (pool.effective_capacity <= pool.capacity * (1 + 1e-12)).all()):
            self.over_capacity.append(float(pool.env.now))

    def after(self) -> None:
        """At the end: no ended instance has work on any pool."""
        assert self.sim is not None
        for instance in self.sim.instances:
            if instance.state in ("stopped", "crashed", "moved"):
                self.ended(Transition(instance.node, instance.logical, None, instance.state,
                                      self.sim.now, instance.attempt))


def attempts(result: Result) -> dict[tuple[str, int], dict[str, Any]]:
    """(instance, attempt) -> its instances row."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for row in result.table("instances"):
        if row["kind"] == "machine":
            continue
        node = str(row["instance"])
        seen[node] = seen.get(node, 0) + 1
        out[node, seen[node]] = row
    return out


CATALOG = load_catalog()


@settings(max_examples=12, deadline=None)
@given(data=scenarios())
def test_random_faults_never_leave_work_behind_and_tables_agree(data: dict[str, Any]) -> None:
    catalog = CATALOG
    watch = Watch()
    result = virtsim.run_scenario(virtsim.parse_scenario(data, catalog), catalog, observe=watch)
    watch.after()
    assert watch.leftovers == []  # a killed instance uses no pool capacity afterwards
    assert watch.over_capacity == []  # start-up and steady work together fit, always
    rows = attempts(result)
    lost: dict[tuple[str, str], float] = {}
    for run in result.table("workloads"):
        if run.get("attempt") is None:
            continue
        attempt = rows[str(run["owner"]), int(run["attempt"])]  # type: ignore[arg-type]
        ended = attempt["ended_s"]
        if ended is not None:  # no workload row ends after its instance's crash or stop
            assert run["end_s"] is not None and float(run["end_s"]) <= ended + 1e-9
        if run["outcome"] in ("lost", "killed"):
            assert attempt["state"] in ("crashed", "moved", "stopped")
            assert float(run["end_s"]) == pytest.approx(ended)  # type: ignore[arg-type]
            assert 0 <= float(run["work_lost_s"]) <= float(run["end_s"]) - float(  # type: ignore[arg-type]
                run["start_s"]) + 1e-9  # type: ignore[arg-type]
        if run["fault"]:
            key = (str(run["fault"]), str(run["owner"]))
            lost[key] = lost.get(key, 0.0) + float(run["work_lost_s"])  # type: ignore[arg-type]
    shown = {(str(r["fault"]), str(r["node"])): float(r["work_lost_s"])  # type: ignore[arg-type]
             for r in result.table("blast_radius")}
    for key, seconds in lost.items():  # work lost in the faults tables = the workloads table's
        assert shown[key] == pytest.approx(seconds)
    assert sum(shown.values()) == pytest.approx(result.metrics.get("work_lost_s", 0.0))


def mentions(row: dict[str, Any], machine: str) -> bool:
    return any(isinstance(v, str) and (v == machine or v.startswith(machine + "/"))
               for v in row.values())


def original_rows(result: Result, machine: str) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name in result.tables:
        rows = [dict(r) for r in result.table(name) if mentions(r, machine)]
        for row in rows:
            row.pop("fleet_share", None)  # a share of the whole fleet: it must change
        out[name] = rows
    return out


HOST_A: dict[str, Any] = {
    "name": "a", "profile": "m5d-metal", "cached_images": ["alpine"],
    "containers": [{"name": "web", "count": 3, "image": "nginx-alpine", "restart": "always",
                    "workload": "web-service"},
                   {"name": "job", "count": 2, "image": "alpine", "workload": "sysbench-cpu",
                    "restart": "always"}],
    "vms": [{"name": "vm", "count": 2, "hypervisor": "kvm", "disk_image": "ubuntu-24.04-cloud",
             "vcpus": 2, "memory_mib": 2048, "workload": "sysbench-cpu"}]}
HOST_B: dict[str, Any] = {
    "name": "b", "profile": "laptop",
    "containers": [{"name": "other", "count": 5, "image": "python-debian",
                    "workload": "fio-seq-read", "restart": "always"}]}


def test_adding_an_unrelated_host_leaves_the_original_hosts_rows_byte_identical(
        catalog: Catalog) -> None:
    base = {"name": "identity", "duration_s": 200, "seed": 3,
            "faults": [{"kind": "container-crash", "target": "a/job-1", "at_s": 5}],
            "random_faults": {"kinds": ["container-crash", "guest-kernel-panic"],
                              "rate_scale": 3e5}}
    alone = virtsim.run_scenario(virtsim.parse_scenario({**base, "hosts": [HOST_A]}, catalog),
                                 catalog)
    both = virtsim.run_scenario(virtsim.parse_scenario(
        {**base, "hosts": [HOST_A, HOST_B],
         "faults": [*base["faults"], {"kind": "host-kernel-panic", "target": "b", "at_s": 7}]},
        catalog), catalog)
    before, after = original_rows(alone, "a"), original_rows(both, "a")
    assert before["instances"] and before["workloads"] and before["blast_radius"]
    for table, rows in before.items():
        assert after[table] == rows, table
    assert any(mentions(r, "b") for r in both.table("instances"))  # b did run and fail
