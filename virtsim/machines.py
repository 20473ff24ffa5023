"""A machine's resources as one pool, shared by start-up work and steady load.

Every machine has one :class:`MachinePool`: a :class:`~virtsim.sharing.FluidPool`
whose resources are the machine's (:data:`~virtsim.layer_costs.DEMANDS`: CPU
cores, memory bandwidth, random memory access, sequential and random disk,
network, sized by :class:`~virtsim.graph.HostCapacity`) plus one CPU column per
capped group (a VM's vCPUs, a container's cgroup ``cpus``), added as the
groups appear. The lifecycle's start stages (CPU, disk reads, image fetches)
and the performance model's batch jobs and services are activities on the
same pool, so a boot storm slows the services already running and a busy
machine starts its instances more slowly.

Co-running *workloads* (activities started with ``interferes=True``) also
shrink the CPU and memory capacity everyone gets: shared caches and memory
controllers serve co-runners worse (the ``native`` layer's interference
term, Anjali et al.). Start-up stages are short and not counted as
co-runners: they suffer the loss, they do not cause it (assumption).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import simpy

from virtsim.graph import HostCapacity, ResourceGraph
from virtsim.layer_costs import DEMANDS, LayerCost
from virtsim.sharing import FluidPool

CPU, MEMORY, RANDOM, DISK_SEQ, DISK_RANDOM, NET = range(len(DEMANDS))
"""Columns of :data:`~virtsim.layer_costs.DEMANDS` in every work vector."""


def capacity_vector(capacity: HostCapacity, random_access_mups: float) -> list[float]:
    """Capacity per second of each shared resource, in :data:`DEMANDS` order and units.

    CPU in cores, memory in GB/s, random access in M updates/s (a property of
    the memory system, from the ``native`` layer), disks in MiB/s and
    operations/s, network in MiB/s.
    """
    return [capacity.cpu_cores, capacity.memory_bandwidth_gbs, random_access_mups,
            capacity.disk_mib_s, capacity.disk_iops, capacity.nic_mib_s]


class MachinePool:
    """One machine's shared resources and capped groups, as one fluid pool."""

    def __init__(self, env: simpy.Environment, capacity: HostCapacity, native: LayerCost,
                 groups: Iterable[tuple[str, float]] = ()) -> None:
        self.capacity = capacity
        vector = capacity_vector(capacity, native.random_access_mups)
        vector[RANDOM] = vector[RANDOM] if vector[RANDOM] > 0 else 1.0
        self.pool = FluidPool(env, DEMANDS, vector)
        self.column: dict[str, int] = {}
        """Capped group -> its CPU column."""
        self.interference_per_neighbour = native.cache_interference_per_neighbour
        self.interference_max_neighbours = native.cache_interference_max_neighbours
        if self.interference_per_neighbour > 0:
            self.pool.capacity_scale = self.interference
            self.pool.capacity_scale_rows = self.interference_rows
        for group, cores in groups:
            self.add_group(group, cores)

    def add_group(self, group: str, cores: float) -> int:
        """The CPU column of a capped group, added the first time it is asked for."""
        column = self.column.get(group)
        if column is None:
            column = self.column[group] = self.pool.add_resource(group, cores)
        return column

    def row(self, cpu_s: float = 0.0, read_mib: float = 0.0, fetch_mib: float = 0.0) -> list[float]:
        """A start stage's work: CPU-seconds, MiB read from disk, MiB over the network."""
        row = [0.0] * len(self.pool.resources)
        row[CPU], row[DISK_SEQ], row[NET] = cpu_s, read_mib, fetch_mib
        return row

    def vector(self, work: np.ndarray, groups: Iterable[str]) -> list[float]:
        """Work on the pool's columns: the demand, and its CPU again on each capped group."""
        row = [*work.tolist(), *([0.0] * (len(self.pool.resources) - len(DEMANDS)))]
        for group in groups:
            row[self.column[group]] = row[CPU]
        return row

    def interference(self, work: np.ndarray) -> np.ndarray:
        """Capacity factor per resource: co-running workloads on CPU and memory slow each other.

        ``work`` holds the rows of the interfering activities only (the pool's hook).
        """
        return np.array(self.interference_rows(work.tolist()))

    def interference_rows(self, rows: list[list[float]]) -> list[float]:
        """:meth:`interference` on the work rows as lists (the pool solves a few activities
        without numpy, and so this hook)."""
        corunners = sum(1 for row in rows if row[CPU] > 0 or row[MEMORY] > 0 or row[RANDOM] > 0)
        neighbours = min(max(corunners - 1, 0), self.interference_max_neighbours)
        loss = 1.0 / (1.0 + self.interference_per_neighbour * neighbours)
        slowed = (CPU, MEMORY, RANDOM)  # and every capped group's column: they are CPU
        return [loss if column in slowed or column >= len(DEMANDS) else 1.0
                for column in range(len(self.pool.resources))]


class MachinePools:
    """The pool of every machine of a run, made when first asked for."""

    def __init__(self, env: simpy.Environment, native: LayerCost) -> None:
        self.env = env
        self.native = native
        self._pools: dict[str, MachinePool] = {}

    def __getitem__(self, machine: str) -> MachinePool:
        return self._pools[machine]

    def of(self, graph: ResourceGraph, machine: str) -> MachinePool:
        """The pool of ``machine`` (a machine of ``graph``), made on first use."""
        pool = self._pools.get(machine)
        if pool is None:
            pool = self._pools[machine] = MachinePool(self.env, graph.capacity(machine),
                                                      self.native)
        return pool

    def __contains__(self, machine: object) -> bool:
        return machine in self._pools

    def items(self) -> Iterator[tuple[str, MachinePool]]:
        """(machine, pool) for every pool made, in the order they were made."""
        return iter(self._pools.items())
