"""Tests for virtsim.host_mechanisms: committed memory and how stages are shaped."""

from __future__ import annotations

from typing import Any

import pytest

import virtsim
from virtsim.catalog import Catalog
from virtsim.graph import build_graph
from virtsim.host_mechanisms import committed_mib, for_network, shape_vm_stages
from virtsim.lifecycle import Lifecycle
from virtsim.profiles import EngineProfile, RuntimeProfile, VmmProfile


def graph_of(catalog: Catalog, **host: Any) -> Any:
    spec = virtsim.parse_scenario({"hosts": [{"name": "h", "profile": "m5d-metal", **host}]},
                                  catalog)
    return build_graph(spec, catalog)


def test_committed_memory_of_each_kind(catalog: Catalog) -> None:
    g = graph_of(catalog, vms=[{"name": "v", "hypervisor": "kvm", "disk_image": "alpine-virt",
                                "memory_mib": 512, "vcpus": 2,
                                "containers": [{"name": "in", "image": "alpine"}]}],
                 containers=[{"name": "c", "image": "alpine", "memory_mib": 64},
                             {"name": "d", "image": "alpine"},
                             {"name": "k", "image": "alpine", "engine": "containerd",
                              "runtime": "kata"}])
    qemu = catalog.require(VmmProfile, "qemu")
    assert committed_mib(g, "h/v") == pytest.approx(512 + qemu.memory_mib
                                                    + 2 * qemu.memory_per_vcpu_mib)
    assert committed_mib(g, "h/v/in") == 0.0  # inside a VM: the VM committed it
    assert committed_mib(g, "h/c") == 64
    runc = catalog.require(RuntimeProfile, "runc")
    docker = catalog.require(EngineProfile, "docker")
    assert committed_mib(g, "h/d") == pytest.approx(
        runc.memory_mib + docker.shim_memory_mib + docker.state_memory_per_container_mib + 1.0)
    kata = catalog.require(RuntimeProfile, "kata")
    ch = catalog.require(VmmProfile, "cloud-hypervisor")
    assert committed_mib(g, "h/k") > kata.sandbox_memory_mib + ch.memory_mib


def test_network_none_drops_nat_only_stages(catalog: Catalog) -> None:
    docker = catalog.require(EngineProfile, "docker")
    api = [("engine", s) for s in docker.api]
    assert "network-attach" in [s.name for _, s in for_network(api, "nat")]
    assert "network-attach" not in [s.name for _, s in for_network(api, "none")]
    assert len(for_network(api, "none")) == len(api) - 1


def test_vm_stages_are_emulated_under_tcg_only(catalog: Catalog) -> None:
    vm = {"name": "v", "disk_image": "alpine-virt", "memory_mib": 512}
    kvm = graph_of(catalog, vms=[{**vm, "hypervisor": "kvm"}])
    tcg = graph_of(catalog, vms=[{**vm, "hypervisor": "qemu-tcg"}])
    lc = Lifecycle()
    plain = lc.vm_stages(kvm, "h/v")
    assert shape_vm_stages(plain, kvm, "h/v", catalog) == plain
    slow = shape_vm_stages(lc.vm_stages(tcg, "h/v"), tcg, "h/v", catalog)
    kernel = [s for owner, s in slow if owner == "kernel"]
    plain_kernel = [s for owner, s in plain if owner == "kernel"]
    assert sum(s.cpu_s for s in kernel) == pytest.approx(8 * sum(s.cpu_s for s in plain_kernel))
