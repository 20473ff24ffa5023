"""Orchestration: placement policies, back-off, detection before recovery, rescheduling."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import virtsim
from virtsim.catalog import Catalog
from virtsim.orchestration import HostLoad, Manager, choose_host
from virtsim.profiles import OrchestratorProfile

LOADS = [HostLoad("a", 8, 4096, 2), HostLoad("b", 8, 8192, 3), HostLoad("c", 8, 2048, 0)]


def test_spread_picks_the_host_with_fewest_of_the_group() -> None:
    assert choose_host(LOADS, 1, 1024, "spread") == "c"


def test_bin_pack_picks_the_tightest_host_that_fits() -> None:
    assert choose_host(LOADS, 1, 1024, "bin-pack") == "c"
    assert choose_host(LOADS, 1, 3000, "bin-pack") == "a"


def test_nothing_fits_is_none() -> None:
    assert choose_host(LOADS, 1, 10_000, "spread") is None
    assert choose_host(LOADS, 9, 10, "bin-pack") is None
    assert choose_host([], 0, 0, "spread") is None


@settings(max_examples=60)
@given(loads=st.lists(st.builds(HostLoad, st.sampled_from("abcdef"),
                                st.floats(-4, 64), st.floats(-1024, 65536),
                                st.integers(0, 9)), max_size=6, unique_by=lambda h: h.machine),
       cpus=st.floats(0, 16), memory=st.floats(0, 16384),
       policy=st.sampled_from(["spread", "bin-pack"]))
def test_a_chosen_host_always_fits(loads: list[HostLoad], cpus: float, memory: float,
                                   policy: Any) -> None:
    chosen = choose_host(loads, cpus, memory, policy)
    fitting = [h for h in loads if h.free_cpus + 1e-9 >= cpus
               and h.free_memory_mib + 1e-9 >= memory]
    assert (chosen is None) == (not fitting)
    if chosen is not None:
        assert chosen in {h.machine for h in fitting}


def test_backoff_doubles_up_to_its_cap(catalog: Catalog) -> None:
    k8s = Manager("k8s", catalog.require(OrchestratorProfile, "kubernetes"), "spread", 40.0)
    assert [k8s.backoff_s(n) for n in range(7)] == [10, 20, 40, 80, 160, 300, 300]
    swarm = Manager("swarm", catalog.require(OrchestratorProfile, "docker-swarm"), "spread", 15.0)
    assert [swarm.backoff_s(n) for n in range(3)] == [5, 5, 5]


def cluster(orchestrator: str, kind: str = "container", count: int = 3, per_host: int = 4,
            faults: tuple[dict[str, Any], ...] = (), memory_gib: float | None = None,
            placement: str | None = None, **extra: Any) -> dict[str, Any]:
    host: dict[str, Any] = {"name": "node", "count": count, "profile": "m5d-metal",
                            "cached_images": ["nginx-alpine"]}
    if memory_gib is not None:
        host["overrides"] = {"memory_gib": memory_gib}
    if kind == "container":
        host["containers"] = [{"name": "web", "count": per_host, "image": "nginx-alpine",
                               "cpus": 2.0, "memory_mib": 1024.0}]
    else:
        host["vms"] = [{"name": "web", "count": per_host, "hypervisor": "kvm",
                        "disk_image": "ubuntu-24.04-cloud", "vcpus": 2, "memory_mib": 2048}]
    orchestrators: list[dict[str, Any]] = [{"profile": orchestrator, "groups": ["web"]}]
    if placement:
        orchestrators[0]["placement"] = placement
    return {"name": "cluster", "duration_s": 1500, "seed": 2, "hosts": [host],
            "orchestrators": orchestrators, "faults": list(faults), **extra}


def run(catalog: Catalog, data: dict[str, Any]) -> virtsim.Result:
    return virtsim.run_scenario(virtsim.parse_scenario(data, catalog), catalog)


FAIL_NODE_0 = ({"kind": "machine-failure", "target": "node-0", "at_s": 100},)


def test_kubernetes_moves_a_dead_nodes_pods_after_grace_and_eviction(catalog: Catalog) -> None:
    result = run(catalog, cluster("kubernetes", faults=FAIL_NODE_0))
    moves = result.table("reschedules")
    assert len(moves) == 4
    assert {m["to_machine"] for m in moves} == {"node-1", "node-2"}  # spread over both
    for move in moves:
        assert float(move["at_s"]) >= 100 + 40 + 300  # type: ignore[arg-type]
    assert result.metrics["unrecovered_instances"] == 0
    assert result.metrics["time_to_full_recovery_s"] > 340
    ready = {str(r["instance"]) for r in result.table("instances") if r["restart"]}
    assert {str(m["to_node"]) for m in moves} <= ready  # started through the lifecycle


def test_bin_pack_fills_one_host_first(catalog: Catalog) -> None:
    result = run(catalog, cluster("docker-swarm", faults=FAIL_NODE_0, placement="bin-pack"))
    assert {m["to_machine"] for m in result.table("reschedules")} == {"node-1"}


def test_swarm_detects_faster_than_kubernetes(catalog: Catalog) -> None:
    swarm = run(catalog, cluster("docker-swarm", faults=FAIL_NODE_0))
    k8s = run(catalog, cluster("kubernetes", faults=FAIL_NODE_0))
    assert swarm.metrics["time_to_full_recovery_s"] < k8s.metrics["time_to_full_recovery_s"]
    assert swarm.metrics["availability"] > k8s.metrics["availability"]


def test_vm_ha_restarts_vms_elsewhere(catalog: Catalog) -> None:
    result = run(catalog, cluster("openstack-evacuate", kind="vm", faults=FAIL_NODE_0))
    assert len(result.table("reschedules")) == 4
    assert result.metrics["unrecovered_instances"] == 0


def test_a_host_back_before_detection_restarts_in_place(catalog: Catalog) -> None:
    panic = ({"kind": "host-kernel-panic", "target": "node-0", "at_s": 100},)
    result = run(catalog, cluster("kubernetes", faults=panic))
    assert not result.table("reschedules")
    actions = {r["action"] for r in result.table("recoveries")}
    assert actions == {"restart in place"}


def test_no_free_capacity_waits_for_the_host(catalog: Catalog) -> None:
    """Hosts of 8 cores hold 4 two-CPU containers each: nothing fits elsewhere."""
    data = cluster("docker-swarm", faults=({"kind": "machine-failure", "target": "node-0",
                                            "at_s": 100, "repair_s": 200},))
    data["hosts"][0]["overrides"] = {"cores": 8}
    result = run(catalog, data)
    assert not result.table("reschedules")
    assert {r["action"] for r in result.table("recoveries")} == {"no capacity: wait for host"}
    assert result.metrics["unrecovered_instances"] == 0


def test_without_an_orchestrator_a_machine_failure_waits_for_repair(catalog: Catalog) -> None:
    data = cluster("kubernetes", faults=({"kind": "machine-failure", "target": "node-0",
                                          "at_s": 100, "repair_s": 5000},))
    data["orchestrators"] = []
    data["hosts"][0]["containers"][0]["restart"] = "always"
    result = run(catalog, data)
    assert result.metrics["unrecovered_instances"] == 4


def failed_windows(result: virtsim.Result) -> dict[str, list[tuple[float, float]]]:
    """Per machine: (failed at, back at) from the faults and the machines' reboots."""
    boots = sorted((float(r["requested_s"]), float(r["ready_s"]), str(r["instance"]))  # type: ignore[arg-type]
                   for r in result.table("instances") if r["kind"] == "machine" and r["restart"])
    windows: dict[str, list[tuple[float, float]]] = {}
    for fault in result.table("faults"):
        if not fault["host_failed"]:
            continue
        machine = str(fault["origin"]).split("/")[0]
        at = float(fault["at_s"])  # type: ignore[arg-type]
        back = min((b[1] for b in boots if b[2] == machine and b[1] > at), default=float("inf"))
        windows.setdefault(machine, []).append((at, back))
    return windows


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000), orchestrator=st.sampled_from(["kubernetes", "docker-swarm"]))
def test_random_faults_never_reschedule_onto_a_failed_host_nor_recover_before_detection(
        seed: int, orchestrator: str, catalog: Catalog) -> None:
    data = cluster(orchestrator, count=4, per_host=3,
                   random_faults={"kinds": ["machine-failure", "host-kernel-panic",
                                            "container-crash"], "rate_scale": 1e6})
    data["seed"] = seed
    data["duration_s"] = 900
    result = run(catalog, data)
    windows = failed_windows(result)
    for move in result.table("reschedules"):
        at = float(move["at_s"])  # type: ignore[arg-type]
        for start, back in windows.get(str(move["to_machine"]), []):
            assert not start <= at < back, (move, start, back)
    profile = catalog.require(OrchestratorProfile, orchestrator)
    faults = {str(f["fault"]): f for f in result.table("faults")}
    for row in result.table("recoveries"):
        if row["restarted_s"] is None:
            continue
        fault = faults[str(row["fault"])]
        at = float(row["at_s"])  # type: ignore[arg-type]
        detect = (profile.instance_detection_s if not fault["host_failed"]
                  else 0.0 if row["action"] == "restart in place"
                  else profile.node_failure_detection_s + profile.eviction_delay_s)
        assert float(row["detected_s"]) >= at + detect - 1e-9  # type: ignore[arg-type]
        assert float(row["restarted_s"]) >= float(row["detected_s"])  # type: ignore[arg-type]
        if row["ready_s"] is not None:
            assert float(row["ready_s"]) > float(row["restarted_s"])  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [1, 2])
def test_same_seed_same_recovery(seed: int, catalog: Catalog) -> None:
    data = cluster("kubernetes", random_faults={"rate_scale": 2e5})
    data["seed"] = seed
    assert run(catalog, data).tables == run(catalog, data).tables


def test_configured_detection_and_placement_hosts_are_used(catalog: Catalog) -> None:
    data = cluster("kubernetes", faults=FAIL_NODE_0)
    data["hosts"].append({"name": "spare", "profile": "m5d-metal"})
    data["orchestrators"][0].update(detection_s=5.0, hosts=["spare"])
    result = run(catalog, data)
    moves = result.table("reschedules")
    profile = catalog.require(OrchestratorProfile, "kubernetes")
    expected = 100 + 5 + profile.eviction_delay_s + profile.restart_delay_s
    assert len(moves) == 4
    assert all(float(m["at_s"]) == pytest.approx(expected) for m in moves)  # type: ignore[arg-type]
    assert {m["to_machine"] for m in moves} == {"spare"}


def test_a_rescheduled_replica_gets_its_workload_back_and_the_tables_say_so(
        catalog: Catalog) -> None:
    data = cluster("docker-swarm", faults=({"kind": "machine-failure", "target": "node-0",
                                            "at_s": 30, "repair_s": 10_000},))
    data["hosts"][0]["containers"][0]["workload"] = "web-service"
    data["duration_s"] = 300
    result = run(catalog, data)
    moved = {str(m["instance"]): str(m["to_node"]) for m in result.table("reschedules")}
    assert set(moved) == {f"node-0/web-{k}" for k in range(4)}
    runs = result.table("workloads")
    for original, replica in moved.items():
        lost = [r for r in runs if r["owner"] == original]
        assert [r["outcome"] for r in lost] == ["lost"]
        assert lost[0]["end_s"] == 30 and lost[0]["fault"] == "0"
        back = [r for r in runs if r["owner"] == replica]
        assert len(back) == 1 and back[0]["replica_of"] == f"{original}/web-service"
        assert back[0]["outcome"] == "running" and back[0]["throughput_per_s"] > 0
        assert float(back[0]["start_s"]) > 30  # type: ignore[arg-type]
    states = {(str(r["instance"]), str(r["state"])) for r in result.table("instances")}
    assert {(o, "moved") for o in moved} <= states  # the original: crashed, then moved
    assert {(r, "ready") for r in moved.values()} <= states
