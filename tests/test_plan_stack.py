"""Tests for virtsim.plan_stack: each technology's stack, and what one instance costs."""

from __future__ import annotations

import pytest

from virtsim.catalog import Catalog
from virtsim.plan_file import TECHNOLOGIES, parse_plan
from virtsim.plan_stack import plan_catalog, probe, stack_scenario
from virtsim.profiles import WorkloadProfile
from virtsim.scenario import parse_scenario

PLAN = {"hosts": ["m5d-metal"], "workloads": [
    {"name": "web", "workload": "nginx", "count": 3, "image": "nginx-alpine",
     "rate_per_s": 500, "requests": {"cpus": 0.5}, "vm": {"vcpus": 2, "memory_mib": 2048}}]}


@pytest.mark.parametrize("technology", TECHNOLOGIES)
def test_every_technology_builds_a_valid_scenario_of_its_own_kind(
        catalog: Catalog, technology: str) -> None:
    spec = parse_plan(PLAN, catalog)
    own = plan_catalog(spec, catalog)
    data = stack_scenario(spec, technology, "m5d-metal", {"web": 3}, own,  # type: ignore[arg-type]
                          hosts=2, node_vms=2, cached=True)
    scenario = parse_scenario(data, own)
    host = scenario.hosts[0]
    assert host.count == 2
    if technology in ("vm", "microvm"):
        assert host.vms[0].count == 3 and host.vms[0].vcpus == 2
        assert host.vms[0].vmm == ("firecracker" if technology == "microvm" else "qemu")
    elif technology == "container-in-vm":
        assert host.vms[0].count == 2 and host.vms[0].containers[0].count == 3
    else:
        runtime = {"container": "runc", "gvisor": "runsc", "kata": "kata"}[technology]
        assert host.containers[0].runtime == runtime and host.cached_images == ("nginx-alpine",)


def test_a_group_rate_becomes_its_own_workload_profile(catalog: Catalog) -> None:
    own = plan_catalog(parse_plan(PLAN, catalog), catalog)
    assert own.require(WorkloadProfile, "nginx@500").arrival_rate_per_s == 500
    assert own.require(WorkloadProfile, "nginx").arrival_rate_per_s == 1000


def test_probes_read_the_models(catalog: Catalog) -> None:
    spec = parse_plan(PLAN, catalog)
    own = plan_catalog(spec, catalog)
    container = probe(spec, "container", "m5d-metal", own)
    web = container.members[0]
    assert web.vcpus == 0.5 and web.resident_mib < 50  # reserves its request
    assert container.shared_memory_mib > 400  # host kernel, user space, dockerd
    assert container.reach == {"host": 1.0, "kernel": 1.0, "hypervisor": None}
    assert web.start.engine is not None and web.start.layers
    vm = probe(spec, "vm", "m5d-metal", own)
    assert vm.members[0].memory_mib > 2048 and vm.members[0].vcpus == 2  # commits its RAM
    assert vm.members[0].resident_mib < vm.members[0].memory_mib  # holds what it touched
    assert vm.reach["hypervisor"] == 1.0 and vm.members[0].start.engine is None
    nested = probe(spec, "container-in-vm", "m5d-metal", own)
    assert nested.node is not None and nested.node_base_mib > 100  # guest kernel and engine
    assert vm.members[0].demand[0] > web.demand[0] * 0.99  # a VM's layers cost CPU too
