"""Faults: propagation on hand-built graphs, blast-radius properties, recovery timing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import virtsim
from tests.paths import SCENARIOS
from virtsim.catalog import Catalog
from virtsim.errors import InputError
from virtsim.faults import blast_radius
from virtsim.graph import ResourceGraph, build_graph


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
    assert down["vms/web-3"] > 10  # a VM reboot: tens of seconds
    assert down["vms/web-0"] == 0.0


def test_unknown_target_is_an_input_error(catalog: Catalog) -> None:
    scenario = virtsim.parse_scenario({"hosts": [{"name": "h", "profile": "laptop"}],
                                       "faults": [{"kind": "vmm-crash", "target": "h",
                                                   "at_s": 1}]}, catalog)
    with pytest.raises(InputError, match=r"faults\[0\].target"):
        virtsim.run_scenario(scenario, catalog)
    scenario = virtsim.parse_scenario({"hosts": [{"name": "h", "profile": "laptop"}],
                                       "faults": [{"kind": "meteor", "target": "h",
                                                   "at_s": 1}]}, catalog)
    with pytest.raises(InputError, match="meteor"):
        virtsim.run_scenario(scenario, catalog)


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
