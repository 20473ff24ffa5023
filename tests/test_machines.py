"""Machines: one pool per machine, shared by start-up work and steady load."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import virtsim
from virtsim.catalog import Catalog
from virtsim.graph import HostCapacity
from virtsim.layer_costs import DEMANDS, NATIVE, compose
from virtsim.machines import CPU, DISK_SEQ, NET, MachinePool, capacity_vector
from virtsim.profiles import HostProfile


def test_one_capacity_definition_feeds_the_pool(catalog: Catalog) -> None:
    host = catalog.require(HostProfile, "felter-server")
    capacity = HostCapacity.of(host)
    assert capacity.hardware_threads == 32 and capacity.cpu_cores == 16
    native = compose(catalog, [NATIVE])
    pool = MachinePool(simpy.Environment(), capacity, native)
    assert pool.pool.resources == DEMANDS
    assert pool.pool.capacity.tolist() == capacity_vector(capacity, native.random_access_mups)
    assert capacity.disk_mib_s == pytest.approx(806.9e6 / 2**20)
    assert capacity.nic_mib_s == pytest.approx(10e9 / 8 / 2**20)


def test_groups_are_added_as_they_appear_and_stage_rows_fill_the_width(
        catalog: Catalog) -> None:
    env = simpy.Environment()
    pool = MachinePool(env, HostCapacity.of(catalog.require(HostProfile, "m5d-metal")),
                       compose(catalog, [NATIVE]))
    early = pool.pool.start(pool.row(cpu_s=1.0), cap=1.0)
    assert pool.add_group("h/vm", 2.0) == len(DEMANDS)
    assert pool.add_group("h/vm", 2.0) == len(DEMANDS)  # once
    assert len(early.row) == len(DEMANDS) + 1 and early.row[-1] == 0.0
    row = pool.row(cpu_s=2.0, read_mib=3.0, fetch_mib=4.0)
    assert (row[CPU], row[DISK_SEQ], row[NET], len(row)) == (2.0, 3.0, 4.0, len(DEMANDS) + 1)
    env.run()
    assert early.finished and env.now == pytest.approx(1.0)


@functools.cache
def _felter_pool() -> MachinePool:
    catalog = virtsim.load_catalog()
    return MachinePool(simpy.Environment(), HostCapacity.of(
        catalog.require(HostProfile, "felter-server")), compose(catalog, [NATIVE]),
        groups=[("h/vm", 2.0)])


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(st.sampled_from([0.0, 0.5, 2.0]), min_size=len(DEMANDS) + 1,
                              max_size=len(DEMANDS) + 1), max_size=12))
def test_the_interference_hook_on_lists_is_the_hook_on_arrays(rows: list[list[float]]) -> None:
    """The pool solves a few activities without numpy: the list form of the co-runner hook
    gives every factor of the array form, to the bit."""
    pool = _felter_pool()
    assert pool.pool.capacity_scale_rows is not None
    work = np.array(rows) if rows else np.zeros((0, len(DEMANDS) + 1))
    assert pool.interference_rows(rows) == pool.interference(work).tolist()


def service_level(catalog: Catalog, storm: int) -> dict[str, Any]:
    """A CPU-bound service on a small host while ``storm`` VMs boot at t=20."""
    host: dict[str, Any] = {
        "name": "h", "profile": "laptop", "cached_images": ["alpine"],
        "containers": [{"name": "web", "image": "alpine", "workload": "web-service"}]}
    if storm:
        host["vms"] = [{"name": "boot", "count": storm, "hypervisor": "kvm", "vmm": "firecracker",
                        "disk_image": "alpine-virt", "vcpus": 1, "memory_mib": 256,
                        "start_at_s": 20.0}]
    result = virtsim.run_scenario(virtsim.parse_scenario(
        {"hosts": [host], "duration_s": 60, "seed": 1}, catalog), catalog)
    return next(r for r in result.table("workloads") if r["owner"] == "h/web")


def test_a_boot_storm_slows_the_services_already_running(catalog: Catalog) -> None:
    calm, stormy = service_level(catalog, 0), service_level(catalog, 40)
    assert float(stormy["capacity_per_s"]) < float(calm["capacity_per_s"])  # type: ignore[arg-type]


def test_running_load_slows_a_start(catalog: Catalog) -> None:
    def ready(load: int) -> float:
        host = {"name": "h", "profile": "laptop", "cached_images": ["alpine"],
                "processes": [{"name": "busy", "count": load, "workload": "sysbench-cpu"}]
                if load else [],
                "containers": [{"name": "c", "image": "alpine", "start_at_s": 1.0}]}
        result = virtsim.run_scenario(virtsim.parse_scenario(
            {"hosts": [host], "duration_s": 30, "seed": 1}, catalog), catalog)
        row = next(r for r in result.table("instances") if r["instance"] == "h/c")
        return float(row["ready_s"]) - float(row["requested_s"])  # type: ignore[arg-type]

    assert ready(12) > ready(0) * 1.2  # twelve one-thread jobs on four cores
