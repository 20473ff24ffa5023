"""Plan performance: steady-state slowdown and latency of each group on its fullest host.

The same fluid model a run uses (:mod:`virtsim.performance`), worked out
for the fullest host of a packing instead of simulated: every instance
there loads the machine with its steady demand (:mod:`virtsim.demand`), the
co-runners shrink CPU and memory capacity by the shared-cache interference,
and each workload goes through its own layers and caps.

- A **service** serves its offered rate with the capacity its share gives
  it: at most its threads (or its CPU cap) over its CPU work per request,
  and at most its rate plus what the host has to spare (the performance
  model's rule); its mean and p99 response time come from the same M/M/c
  queue (:mod:`virtsim.queueing`) plus its layers' serial latency. Slowdown
  is its mean response time over the same service alone and native.
- A **batch** job runs its phases at its ceilings (threads, caps), the
  CPU and memory phases slowed by interference; slowdown is its completion
  time over the same job alone and native.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from virtsim.demand import CACHE_COLUMNS, MachineCapacity
from virtsim.layer_costs import LayerCost
from virtsim.performance import (
    Placement,
    capacities,
    closed_level,
    effective_work,
    latency_s,
    offered_per_s,
    run_alone,
    serve_alone,
    servers,
    thread_ceiling_per_s,
)
from virtsim.profiles import HostProfile
from virtsim.queueing import Queue, mixture_quantile

_CACHE = list(CACHE_COLUMNS)


@dataclass(frozen=True)
class GroupPerformance:
    """How one group's workload runs on its fullest host.

    Attributes:
        slowdown: Against the same workload alone and native (>= 1 is slower).
        mean_ms: Mean response time of a service (None for a batch job or when saturated).
        p99_ms: 99th percentile response time of a service (same).
        capacity_per_s: Requests per second a service could serve there.
        offered_per_s: Requests per second it is offered.
        saturated: Whether requests arrive faster than it can serve them.
    """

    slowdown: float | None
    mean_ms: float | None = None
    p99_ms: float | None = None
    capacity_per_s: float | None = None
    offered_per_s: float | None = None
    saturated: bool = False


def group_performance(placement: Placement | None, host: HostProfile, load: np.ndarray,
                      corunners: int, machine: MachineCapacity,
                      native: LayerCost) -> GroupPerformance:
    """One group's figures on a host whose instances put ``load`` on it.

    Args:
        placement: The group's workload, layers and caps (None: no workload).
        host: The host profile.
        load: Steady demand of everything on the host, per second.
        corunners: Workloads on the host that use CPU or memory.
        machine: The host's steady-load capacity.
        native: The ``native`` layer (the baseline).
    """
    if placement is None:
        return GroupPerformance(None)
    factor = machine.factor(corunners)
    room = np.array(machine.per_s)
    room[_CACHE] *= factor
    if placement.workload.mode == "service":
        return _service(placement, host, np.maximum(room - load, 0.0), factor, native)
    return _batch(placement, host, factor, native)


def _service(placement: Placement, host: HostProfile, spare: np.ndarray, factor: float,
             native: LayerCost) -> GroupPerformance:
    workload = placement.workload
    offered = offered_per_s(placement, host)
    work = effective_work(workload, placement.costs, host)
    used = work > 0
    if offered <= 0 or not used.any():
        return GroupPerformance(1.0, offered_per_s=offered)
    bare = serve_alone(workload, native, host)
    if workload.clients > 0:  # a closed loop: its clients wait, it never saturates
        level = closed_level(workload, placement.costs, host, placement.cpu_limit, 1.0 / factor)
        return GroupPerformance(level.mean_latency_s / bare.mean_latency_s,
                                level.mean_latency_s * 1e3, level.p99_latency_s * 1e3,
                                level.capacity_per_s, level.throughput_per_s)
    ceiling = thread_ceiling_per_s(workload, placement.costs, host)
    if work[0] > 0:
        ceiling = min(ceiling, min(float(workload.threads), placement.cpu_limit)
                      / float(work[0]) * factor)
    capacity = min(ceiling, offered + float((spare[used] / work[used]).min()))
    if capacity <= offered * (1 + 1e-9):
        return GroupPerformance(None, capacity_per_s=capacity, offered_per_s=offered,
                                saturated=True)
    queue = Queue(offered, capacity, servers(workload, placement.cpu_limit))
    fixed = latency_s(workload, placement.costs, host)
    mean = queue.mean_response_s() + fixed
    p99 = mixture_quantile([queue], [1.0], 0.99) + fixed
    slowdown = mean / bare.mean_latency_s if bare.mean_latency_s > 0 else 1.0
    return GroupPerformance(slowdown, mean * 1e3, p99 * 1e3, capacity, offered)


def _batch(placement: Placement, host: HostProfile, factor: float,
           native: LayerCost) -> GroupPerformance:
    workload = placement.workload
    work = effective_work(workload, placement.costs, host)
    ceiling = capacities(host, placement.costs)
    ceiling[0] = min(float(workload.threads), placement.cpu_limit, float(ceiling[0]))
    used = work > 0
    times = np.zeros(len(work))
    times[used] = work[used] / ceiling[used]
    times[_CACHE] /= factor
    total = float(times.sum()) + latency_s(workload, placement.costs, host)
    bare = run_alone(workload, native, host)
    return GroupPerformance(total / bare if bare > 0 else 1.0)
