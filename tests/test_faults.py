"""Faults: propagation on hand-built graphs, blast-radius properties, recovery timing."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import virtsim
from tests.paths import SCENARIOS
from virtsim.catalog import Catalog
from virtsim.comparison import equal_density, side_by_side
from virtsim.errors import InputError
from virtsim.faults import FAULT_KINDS, blast_radius, draw_faults
from virtsim.graph import ResourceGraph
from virtsim.stack import build_graph


def graph_of(catalog: Catalog, hypervisor: str = "kvm", profile: str = "m5d-metal",
             disk_image: str = "ubuntu-24.04-cloud", vmm: str | None = None) -> ResourceGraph:
    vm: dict[str, Any] = {"name": "vm", "count": 3, "hypervisor": hypervisor,
                          "disk_image": disk_image,
                          "containers": [{"name": "inner", "image": "alpine"}]}
    if vmm:
        vm["vmm"] = vmm
    host = {"name": "h", "profile": profile, "vms": [vm],
            "containers": [{"name": "c", "count": 4, "image": "alpine"},
                           {"name": "g", "image": "alpine", "runtime": "runsc"}]}
    return build_graph(virtsim.parse_scenario({"hosts": [host]}, catalog), catalog)


def test_guest_kernel_panic_takes_one_vm(catalog: Catalog) -> None:
    radius = blast_radius(graph_of(catalog), "guest-kernel-panic", "h/vm-1")
    assert set(radius.instances) == {"h/vm-1", "h/vm-1/inner"}


def test_host_kernel_panic_under_kvm_takes_every_container_and_vm(catalog: Catalog) -> None:
    graph = graph_of(catalog)
    radius = blast_radius(graph, "host-kernel-panic", "h")
    assert set(radius.instances) == set(graph.instances())


def test_host_kernel_panic_under_hosted_hypervisor_takes_vms(catalog: Catalog) -> None:
    graph = graph_of(catalog, hypervisor="virtualbox")
    assert "h/vm-0" in blast_radius(graph, "host-kernel-panic", "h").instances


def test_bare_metal_vms_survive_a_management_kernel_panic(catalog: Catalog) -> None:
    graph = graph_of(catalog, hypervisor="xen", profile="m5d-metal")
    radius = blast_radius(graph, "host-kernel-panic", "h")
    assert "h/c-0" in radius.instances
    assert not any(i.startswith("h/vm") for i in radius.instances)
    assert {"h/vm-0", "h/vm-1", "h/vm-2"} <= set(
        blast_radius(graph, "hypervisor-crash", "h").instances)


def test_hypervisor_crash_takes_all_its_vms(catalog: Catalog) -> None:
    radius = blast_radius(graph_of(catalog), "hypervisor-crash", "h")
    assert {i for i in radius.instances if i.count("/") == 1} == {"h/vm-0", "h/vm-1", "h/vm-2"}


def test_escapes_stop_at_their_boundary(catalog: Catalog) -> None:
    graph = graph_of(catalog)
    runc = blast_radius(graph, "container-escape", "h/c-0")
    assert runc.origin == "h/kernel" and "h/c-3" in runc.instances
    gvisor = blast_radius(graph, "container-escape", "h/g")
    assert gvisor.instances == ("h/g",)
    inner = blast_radius(graph, "container-escape", "h/vm-0/inner")
    assert set(inner.instances) == {"h/vm-0/inner"}
    vm_escape = blast_radius(graph, "vm-escape", "h/vm-0")
    assert {"h/vm-0", "h/vm-1", "h/vm-2"} <= set(vm_escape.instances)


def test_engine_crash_takes_the_engines_containers(catalog: Catalog) -> None:
    radius = blast_radius(graph_of(catalog), "engine-crash", "h/c-0")
    assert {"h/c-0", "h/c-3", "h/g"} <= set(radius.instances)
    assert "h/vm-0" not in radius.instances


CRASHES = [("machine-failure", "h"), ("host-kernel-panic", "h"), ("hypervisor-crash", "h"),
           ("vmm-crash", "h/vm-0"), ("guest-kernel-panic", "h/vm-0"),
           ("engine-crash", "h/vm-0/inner"), ("container-crash", "h/vm-0/inner"),
           ("engine-crash", "h/c-1"), ("container-crash", "h/c-1"), ("oom-kill", "h/g")]


@settings(max_examples=40, deadline=None)
@given(first=st.sampled_from(CRASHES), second=st.sampled_from(CRASHES))
def test_radius_of_a_node_contains_the_radius_of_what_runs_on_it(
        first: tuple[str, str], second: tuple[str, str], catalog: Catalog) -> None:
    graph = graph_of(catalog)
    low, high = blast_radius(graph, *first), blast_radius(graph, *second)
    if high.origin in graph.descendants(low.origin):
        assert set(high.instances) <= set(low.instances)


def run_blast(catalog: Catalog) -> virtsim.Result:
    return virtsim.run_scenario(virtsim.load_scenario(SCENARIOS / "blast-radius.toml", catalog),
                                catalog)


def test_side_by_side_host_panic_takes_all_guest_panic_takes_one(catalog: Catalog) -> None:
    result = run_blast(catalog)
    faults = {r["kind"]: r for r in result.table("faults")}
    assert faults["host-kernel-panic"]["instances"] == 8
    assert faults["guest-kernel-panic"]["instances"] == 1
    assert result.metrics["unrecovered_instances"] == 0


def test_nothing_recovers_before_it_fails_and_recovery_takes_start_time(catalog: Catalog) -> None:
    result = run_blast(catalog)
    restarts = [r for r in result.table("instances") if r["restart"]]
    assert restarts
    for row in restarts:
        assert float(row["requested_s"]) >= 60.0  # type: ignore[arg-type]
        assert float(row["ready_s"]) > float(row["requested_s"])  # type: ignore[arg-type]
    down = {str(r["instance"]): float(r["downtime_s"])  # type: ignore[arg-type]
            for r in result.table("downtime")}
    assert down["vms/web-3"] > 5  # a VM reboot: seconds (its files warm in the page cache)
    assert down["vms/web-0"] == 0.0


def test_unknown_target_is_an_input_error_at_load(catalog: Catalog) -> None:
    with pytest.raises(InputError, match=r"faults\[0\].target.*vmm"):
        virtsim.parse_scenario({"hosts": [{"name": "h", "profile": "laptop"}],
                                "faults": [{"kind": "vmm-crash", "target": "h", "at_s": 1}]},
                               catalog)
    with pytest.raises(InputError, match=r"faults\[0\].target.*'h-9'"):
        virtsim.parse_scenario({"hosts": [{"name": "h", "profile": "laptop", "count": 2}],
                                "faults": [{"kind": "machine-failure", "target": "h-9",
                                            "at_s": 1}]}, catalog)
    with pytest.raises(InputError, match=r"faults\[0\].kind.*meteor"):
        virtsim.parse_scenario({"hosts": [{"name": "h", "profile": "laptop"}],
                                "faults": [{"kind": "meteor", "target": "h", "at_s": 1}]},
                               catalog)


def exploit_run(catalog: Catalog, runtime: str, exploit: str, kernel: str = "linux-5.15",
                kind: str = "container-escape", target: str = "h/c-0") -> virtsim.Result:
    host = {"name": "h", "profile": "m5d-metal", "kernel": kernel,
            "containers": [{"name": "c", "count": 3, "image": "alpine", "runtime": runtime}],
            "vms": [{"name": "v", "count": 2, "hypervisor": "kvm", "vmm": "firecracker",
                     "disk_image": "firecracker-rootfs"}]}
    scenario = virtsim.parse_scenario({"hosts": [host], "faults": [
        {"kind": kind, "target": target, "at_s": 30, "exploit": exploit}]}, catalog)
    return virtsim.run_scenario(scenario, catalog)


@pytest.mark.parametrize(("runtime", "exploit", "kernel", "crossed", "compromised"), [
    ("runc", "cve-2019-5736", "linux-5.15", True, 5),  # runtime bug: host kernel, KVM VMs too
    ("crun", "cve-2019-5736", "linux-5.15", False, 1),  # not runc: contained
    ("runc", "cve-2022-0847", "linux-5.15", True, 5),  # Dirty Pipe on an affected kernel
    ("runc", "cve-2022-0847", "linux-4.4", False, 1),   # kernel older than the bug
    ("runsc", "cve-2022-0847", "linux-5.15", False, 1),  # the Sentry answers the syscalls
])
def test_exploit_success_depends_on_runtime_and_kernel(
        runtime: str, exploit: str, kernel: str, crossed: bool, compromised: int,
        catalog: Catalog) -> None:
    result = exploit_run(catalog, runtime, exploit, kernel)
    assert result.table("faults")[0]["crossed"] is crossed
    assert result.metrics["compromised_instances"] == compromised


def test_venom_does_not_cross_firecracker(catalog: Catalog) -> None:
    result = exploit_run(catalog, "runc", "cve-2015-3456", kind="vm-escape", target="h/v-0")
    assert result.table("faults")[0]["crossed"] is False


def one_host(catalog: Catalog, containers: list[dict[str, Any]] | None = None,
             vms: list[dict[str, Any]] | None = None, faults: list[dict[str, Any]] | None = None,
             memory_gib: float | None = None, duration_s: float = 300,
             memory_overcommit: float = 1.0) -> virtsim.Result:
    host: dict[str, Any] = {"name": "h", "profile": "m5d-metal",
                            "cached_images": ["alpine", "nginx-alpine"],
                            "containers": containers or [], "vms": vms or [],
                            "memory_overcommit": memory_overcommit}
    if memory_gib is not None:
        host["overrides"] = {"memory_gib": memory_gib}
    data = {"duration_s": duration_s, "hosts": [host], "faults": faults or []}
    return virtsim.run_scenario(virtsim.parse_scenario(data, catalog), catalog)


@pytest.mark.parametrize(("live_restore", "lost", "survived"), [(False, 4, 0), (True, 0, 4)])
def test_engine_crash_with_and_without_live_restore(live_restore: bool, lost: int,
                                                    survived: int, catalog: Catalog) -> None:
    result = one_host(catalog, [{"name": "c", "count": 4, "image": "nginx-alpine",  # a server
                                 "restart": "always", "live_restore": live_restore}],
                      faults=[{"kind": "engine-crash", "target": "h/c-0", "at_s": 30}])
    fault = result.table("faults")[0]
    assert (fault["instances"], fault["survived"]) == (lost, survived)
    assert result.metrics["availability"] == (1.0 if live_restore else pytest.approx(
        result.metrics["availability"]))
    if not live_restore:  # they restart once the daemon is back (its catalogue restart time)
        assert all(float(r["restarted_s"]) > 30 for r in result.table("recoveries"))  # type: ignore[arg-type]


def test_memory_pressure_oom_kills_the_largest_first(catalog: Catalog) -> None:
    """16 GiB host with memory overcommitted, Windows VMs of 2 and 4 GiB (a Windows guest
    zeroes, so touches, all its RAM): the 4 GiB VMs go first until the rest fits."""
    result = one_host(catalog, vms=[
        {"name": "small", "count": 4, "hypervisor": "kvm",
         "disk_image": "windows-server-2022-core", "memory_mib": 2048},
        {"name": "big", "count": 2, "hypervisor": "kvm",
         "disk_image": "windows-server-2022-core", "memory_mib": 4096}], memory_gib=16,
        memory_overcommit=1.5)
    kills = [r for r in result.table("faults") if r["kind"] == "oom-kill"]
    assert kills and all(r["source"] == "memory pressure" for r in kills)
    assert {str(r["target"]).rsplit("-", 1)[0] for r in kills} == {"h/big"}
    footprint = {str(r["instance"]): float(r["memory_mib"])  # type: ignore[arg-type]
                 for r in result.table("instance_footprint")}
    host = next(float(r["memory_mib"]) for r in result.table("host_footprint"))  # type: ignore[arg-type]
    left = host - sum(footprint[str(r["target"])] for r in kills)
    assert left <= 16 * 1024


def test_no_pressure_no_kill(catalog: Catalog) -> None:
    result = one_host(catalog, [{"name": "c", "count": 3, "image": "alpine",
                                 "memory_mib": 256}])
    assert not result.table("faults")


def test_cgroup_limit_below_the_workload_is_a_crash_loop_with_backoff(catalog: Catalog) -> None:
    result = one_host(catalog, [{"name": "c", "image": "alpine", "workload": "stream",
                                 "memory_mib": 8, "restart": "always"}], duration_s=200)
    kills = [float(r["at_s"]) for r in result.table("faults")  # type: ignore[arg-type]
             if r["kind"] == "oom-kill" and r["source"] == "cgroup"]
    assert len(kills) >= 4
    gaps = [b - a for a, b in itertools.pairwise(kills)]
    assert gaps[-1] > gaps[0]  # docker's restart back-off doubles
    assert result.metrics["unrecovered_instances"] <= 1


@pytest.mark.parametrize(("checkpoint_s", "lost_below"), [(0.0, 1e9), (10.0, 10.0)])
def test_work_lost_since_start_or_since_checkpoint(checkpoint_s: float, lost_below: float,
                                                   catalog: Catalog) -> None:
    result = one_host(catalog, [{"name": "job", "image": "alpine", "workload": "linpack",
                                 "checkpoint_s": checkpoint_s}],
                      faults=[{"kind": "container-crash", "target": "h/job", "at_s": 100}])
    lost = float(result.table("blast_radius")[0]["work_lost_s"])  # type: ignore[arg-type]
    ready = float(next(r["ready_s"] for r in result.table("instances")  # type: ignore[arg-type]
                       if r["instance"] == "h/job"))
    assert lost < lost_below
    if not checkpoint_s:
        assert lost == pytest.approx(100 - ready)


def test_random_faults_come_from_the_seed_and_per_component_streams(catalog: Catalog) -> None:
    data: dict[str, Any] = {"duration_s": 3600, "hosts": [
        {"name": "h", "count": 2, "profile": "m5d-metal",
         "containers": [{"name": "c", "count": 3, "image": "alpine"}]}],
        "random_faults": {"kinds": ["container-crash"], "rate_scale": 2e4}}
    graph = virtsim.build_graph(virtsim.parse_scenario(data, catalog), catalog)
    spec = virtsim.parse_scenario(data, catalog).random_faults
    assert spec is not None
    first = draw_faults(graph, catalog, spec, 3600, seed=1)
    assert first == draw_faults(graph, catalog, spec, 3600, seed=1)
    assert first != draw_faults(graph, catalog, spec, 3600, seed=2)
    assert first and {f.kind for f in first} == {"container-crash"}
    data["hosts"][0]["count"] = 3  # another machine: the first two keep their faults
    bigger = virtsim.build_graph(virtsim.parse_scenario(data, catalog), catalog)
    more = draw_faults(bigger, catalog, spec, 3600, seed=1)
    assert [f for f in more if not f.target.startswith("h-2")] == first


def test_side_by_side_host_panic_takes_all_containers_guest_panic_one_vm(
        catalog: Catalog) -> None:
    rows = side_by_side(virtsim.parse_scenario(equal_density(4), catalog), catalog)
    by = {(r["technology"], r["kind"]): r for r in rows}
    panic = by[("containers", "host-kernel-panic")]
    guest = by[("vms", "guest-kernel-panic")]
    assert (panic["instances"], panic["of"]) == (4, 4)
    assert (guest["instances"], guest["of"]) == (1, 4)
    assert by[("vms", "host-kernel-panic")]["instances"] == 4  # KVM VMs run on the host kernel
    # recovery is a machine reboot plus restarts, and a VM reboot: start procedures, not zero
    assert float(panic["time_to_recover_s"]) > float(  # type: ignore[arg-type]
        by[("containers", "container-crash")]["time_to_recover_s"])  # type: ignore[arg-type]
    assert float(guest["time_to_recover_s"]) > 5  # type: ignore[arg-type]
    assert by[("containers", "container-escape")]["compromised"] == 4
    assert by[("vms", "vm-escape")]["crossed"] is True  # VENOM through QEMU


def test_bundled_side_by_side_scenario_recovers_everything(catalog: Catalog) -> None:
    result = virtsim.run_scenario(
        virtsim.load_scenario(SCENARIOS / "side-by-side.toml", catalog), catalog)
    kinds = {str(r["kind"]) for r in result.table("faults")}
    assert kinds == set(FAULT_KINDS)
    assert result.metrics["unrecovered_instances"] == 0


def test_full_recovery_is_undefined_while_a_crash_is_not_recovered(catalog: Catalog) -> None:
    # A machine that stays down for the rest of the run: its instances never come back,
    # so the run has no time to full recovery (an earlier, recovered fault must not stand in).
    data = {"name": "down", "duration_s": 60, "seed": 1, "hosts": [
        {"name": "node", "profile": "m5d-metal", "count": 2, "containers": [
            {"name": "web", "image": "alpine", "count": 2, "restart": "always",
             "workload": "web-service"}]}],
        "faults": [{"kind": "container-crash", "target": "node-0/web-0", "at_s": 5},
                   {"kind": "machine-failure", "target": "node-1", "at_s": 10,
                    "repair_s": 1000}]}
    result = virtsim.run_scenario(virtsim.parse_scenario(data, catalog), catalog)
    crashes = [r for r in result.table("faults") if r["effect"] == "crash"]
    assert any(r["time_to_recover_s"] is not None for r in crashes)
    assert any(r["time_to_recover_s"] is None for r in crashes)
    assert result.metrics["time_to_full_recovery_s"] is None
    assert result.metrics["unrecovered_instances"] == 2
