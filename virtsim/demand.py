"""Steady demand: what one instance asks of its machine per second while it works.

A workload profile gives its demand per job or per request, and the layers
on its path turn that into work in native units
(:func:`~virtsim.performance.effective_work`). Per second:

- a **service** asks its offered rate (``arrival_rate_per_s``, or what its
  clients send in a closed loop) times that work: the load it puts on the
  machine when it keeps up;
- a **batch** job asks its work spread over its time alone through its
  layers (:func:`~virtsim.performance.run_alone`): what it uses running at
  full speed (a CPU-bound job: its threads, or its cap, in cores).

An instance's demand is the sum over the workloads that run in it (a VM's
workload and processes, its containers' workloads). Density
(:func:`virtsim.footprint.density`) and capacity planning
(:mod:`virtsim.planning`) count it beside memory, vCPUs and disk, so a host
is full when its CPU (or disk, or network) is, not only when its memory is.
The columns are those of :data:`~virtsim.layer_costs.DEMANDS`, in the
machine's capacity units (:func:`~virtsim.performance.capacities`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from virtsim.catalog import Catalog
from virtsim.graph import INSTANCE_KINDS, ResourceGraph
from virtsim.layer_costs import DEMANDS, NATIVE, LayerCost, compose
from virtsim.performance import (
    Placement,
    capacities,
    effective_work,
    offered_per_s,
    place,
    run_alone,
)
from virtsim.profiles import HostProfile

DEMAND_UNITS: tuple[str, ...] = ("cores", "GB/s", "M updates/s", "MiB/s", "IOPS", "MiB/s")
"""Unit of each demand column (per second), in :data:`DEMANDS` order."""
CACHE_COLUMNS: tuple[int, ...] = (0, 1, 2)
"""The columns (CPU, memory bandwidth, random access) that co-runners shrink by
interfering in shared caches (the ``native`` layer's interference term)."""


@dataclass(frozen=True)
class MachineCapacity:
    """What a machine offers steady load: capacity per column and cache interference.

    Attributes:
        per_s: Capacity of each :data:`DEMANDS` column, per second.
        interference_per_neighbour: Share of CPU and memory capacity lost per
            co-running workload (from the ``native`` layer).
        interference_max_neighbours: Neighbours beyond this add no loss.
    """

    per_s: tuple[float, ...]
    interference_per_neighbour: float = 0.0
    interference_max_neighbours: int = 0

    def factor(self, corunners: int) -> float:
        """The share of CPU and memory capacity left with ``corunners`` workloads running."""
        neighbours = min(max(corunners - 1, 0), self.interference_max_neighbours)
        return 1.0 / (1.0 + self.interference_per_neighbour * neighbours)


def machine_capacity(host: HostProfile, native: LayerCost) -> MachineCapacity:
    """The steady-load capacity of ``host`` as the performance model shares it."""
    return MachineCapacity(tuple(float(c) for c in capacities(host, native)),
                           native.cache_interference_per_neighbour,
                           native.cache_interference_max_neighbours)


def native_cost(catalog: Catalog) -> LayerCost:
    """The ``native`` layer: the machine's base rates and interference."""
    return compose(catalog, [NATIVE])


def placement_demand(placement: Placement, host: HostProfile) -> np.ndarray:
    """One placed workload's demand per second (see the module docs)."""
    workload = placement.workload
    work = effective_work(workload, placement.costs, host)
    if not work.any():
        return np.zeros(len(DEMANDS))
    if workload.mode == "service":
        return np.asarray(work * offered_per_s(placement, host))
    alone = run_alone(workload, placement.costs, host, placement.cpu_limit)
    return np.asarray(work / alone) if alone > 0 else np.zeros(len(DEMANDS))


def instance_demand(graph: ResourceGraph, catalog: Catalog, node: str) -> np.ndarray:
    """The demand per second of everything that runs in instance ``node``.

    A workload whose path has no layer-cost profile counts its demand as
    native: it still loads the machine.
    """
    host: HostProfile = graph.data[graph.machine(node)]["profile"]
    total = np.zeros(len(DEMANDS))
    inside = {node} | graph.descendants(node)
    data = graph.data
    # the instances a placement can name: those inside ``node`` and those it runs on
    instances = {n for n in (*inside, *graph.path_to_machine(node))
                 if data[n]["kind"] in INSTANCE_KINDS and data[n].get("instance", True)}
    for process in sorted(n for n in inside if graph.kind(n) == "process"):
        placed = place(graph, catalog, instances, process)
        if placed is None:
            continue
        if isinstance(placed, tuple):
            placed = Placement(process, node, graph.machine(node),
                               graph.data[process]["profile"], native_cost(catalog))
        total += placement_demand(placed, host)
    return total
