"""Performance: workloads running through their layers and sharing their machine.

A workload profile is a demand vector over the machine's shared resources
(:data:`~virtsim.layer_costs.DEMANDS`: CPU, memory bandwidth, random memory
access, sequential and random disk, network stream) plus serial latencies
(network round trips, system calls). The layers on its path divide its
throughput and add latency (:mod:`virtsim.layer_costs`).

- A **batch** job runs its demand types one after another, each a phase,
  then waits out its serial latency, and reports its completion time.
- A **service** receives requests at ``arrival_rate_per_s``; each request
  carries the demand vector. It reports throughput and response time, mean
  and p99, from an M/M/c queue (:mod:`virtsim.queueing`) whose capacity is
  what its fair share lets it process, plus the layers' serial latency.

On each machine, steady load is a fluid (:class:`MachineLoad`): every batch
phase and every service is one activity on a :class:`~virtsim.sharing.FluidPool`
whose resources are the machine's six plus one CPU column per capped group
(a VM's vCPUs, a container's cgroup ``cpus``), so caps nest, overcommitted
vCPUs share the cores, and cgroup weights weigh. Rates are recomputed only
when the set of activities changes; a co-running workload also shrinks the
CPU and memory capacity everyone gets (shared caches: the ``native`` layer's
interference term). Start-up work runs on the lifecycle's own pool: load and
starts do not contend (a simplification).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from virtsim.catalog import Catalog
from virtsim.closed_loop import Station, solve
from virtsim.graph import ResourceGraph
from virtsim.layer_costs import (
    DEMANDS,
    EMULATOR,
    NATIVE,
    WORKLOAD_FIELDS,
    LayerCost,
    compose,
    layer_cost_names,
    path_costs,
)
from virtsim.operations import has_mix, request_cost
from virtsim.profiles import HostProfile, WorkloadProfile
from virtsim.queueing import Queue, mixture_quantile
from virtsim.result import Record
from virtsim.sharing import Activity, FluidPool
from virtsim.simulation import Simulation

__all__ = [
    "DEMANDS", "EMULATOR", "NATIVE", "LayerCost", "MachineLoad", "PerformanceModel",
    "ServiceLevel", "capacities", "compose", "demand", "layer_cost_names", "path_costs",
    "run_alone", "serve_alone", "share_host", "slowdown",
]

_MB_PER_MIB = 1.048576
CPU, MEMORY, RANDOM, DISK_SEQ, DISK_RANDOM, NET = range(6)
"""Columns of the resources that shared caches and memory controllers slow down."""
Steps = Generator[simpy.Event, Any, None]
"""A SimPy process body."""
UNITS: tuple[str, ...] = ("cores", "GB/s", "M updates/s", "MiB/s", "IOPS", "MiB/s")
"""Unit of each resource's capacity, in :data:`DEMANDS` order."""


def capacities(host: HostProfile, costs: LayerCost) -> np.ndarray:
    """Native capacity of each shared resource per second, in workload demand units.

    cpu in cores, memory in GB/s, random access in M updates/s (from the
    ``native`` layer), disks in MiB/s and operations/s, network in MiB/s.
    """
    return np.array([
        float(host.cores),
        host.memory_bandwidth_gbs,
        costs.random_access_mups,
        host.disk_read_mbs / _MB_PER_MIB,
        host.disk_read_iops,
        host.nic_gbps * 125.0 / _MB_PER_MIB,
    ])


def demand(workload: WorkloadProfile) -> np.ndarray:
    """The workload's flat demand on each shared resource (per job or per request).

    A workload given as an operation mix has its demand composed through its
    layers instead (:func:`effective_work`); its flat fields are zero.
    """
    return np.array([float(getattr(workload, WORKLOAD_FIELDS[d])) for d in DEMANDS])


def has_demand(workload: WorkloadProfile) -> bool:
    """Whether the workload asks anything of the machine or the network at all."""
    return bool(demand(workload).any() or workload.net_round_trips or workload.syscalls
                or has_mix(workload))


def effective_work(workload: WorkloadProfile, costs: LayerCost,
                   host: HostProfile | None = None) -> np.ndarray:
    """Work in native resource units per job or request.

    A flat workload's demand divided by the layers' efficiencies, with its
    system calls as host CPU (``syscall_ns`` of every layer: the bare-metal
    kernel path plus what a sandbox adds, so a syscall-heavy workload loses
    throughput in gVisor, not only latency). An operation mix is composed
    through each layer's mechanisms (:func:`virtsim.operations.request_cost`),
    which needs the ``host`` (its read and write figures).

    Raises:
        ValueError: An operation mix without a host.
    """
    if has_mix(workload):
        if host is None:
            raise ValueError(f"workload {workload.name!r} is an operation mix: give its host")
        return request_cost(workload, costs, host).work
    eff = np.array([costs.efficiency[d] for d in DEMANDS])
    work = np.asarray(demand(workload) / eff)
    if workload.fp_share > 0:  # an emulator translates floating point worse than integers
        fp = workload.fp_share * workload.cpu_core_s
        work[CPU] += fp / costs.efficiency.get("cpu_fp", eff[CPU]) - fp / eff[CPU]
    work[CPU] += workload.syscalls * costs.syscall_ns * 1e-9
    return work


def latency_s(workload: WorkloadProfile, costs: LayerCost,
              host: HostProfile | None = None) -> float:
    """Serial latency of one job or request in seconds: what holds no shared resource.

    Network round trips through every layer; for an operation mix also each
    fsync's flush and the time on a VMM's serial device thread.
    """
    if has_mix(workload) and host is not None:
        cost = request_cost(workload, costs, host)
        return cost.delay_s + cost.thread_s
    return workload.net_round_trips * costs.round_trip_us * 1e-6


def thread_ceiling_per_s(workload: WorkloadProfile, costs: LayerCost,
                         host: HostProfile | None) -> float:
    """Requests per second a VMM's serial device thread lets through (inf if none).

    A single-queue device (Firecracker's virtio-mmio block and net) serves one
    operation at a time on one thread: its per-operation time, not the host's
    disk, bounds the instance's rate.
    """
    if has_mix(workload) and host is not None:
        thread = request_cost(workload, costs, host).thread_s
        return 1.0 / thread if thread > 0 else math.inf
    ops = workload.disk_random_ops * (costs.base["io_thread_us"] + costs.added["io_thread_us"])
    per_kib = costs.base["io_thread_ns_per_kib"] + costs.added["io_thread_ns_per_kib"]
    net_kib = costs.base["net_thread_ns_per_kib"] + costs.added["net_thread_ns_per_kib"]
    thread = (ops * 1e-6 + workload.disk_seq_mib * 1024 * per_kib * 1e-9
              + workload.net_stream_mib * 1024 * net_kib * 1e-9)
    return 1.0 / thread if thread > 0 else math.inf


def _check_random_access(work: np.ndarray, capacity: np.ndarray) -> None:
    if work[RANDOM] > 0 and capacity[RANDOM] <= 0:
        raise ValueError("random access demand but no 'native' layer with random_access_mups")


def _work_and_ceiling(workload: WorkloadProfile, costs: LayerCost, host: HostProfile,
                      cpu_limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Its work in native units, and the most of each resource it can use alone.

    The CPU ceiling is its threads, its caps or the machine, whichever is least.

    Raises:
        ValueError: The workload needs random access and no layer gives a rate.
    """
    work = effective_work(workload, costs, host)
    ceiling = capacities(host, costs)
    _check_random_access(work, ceiling)
    ceiling[CPU] = min(float(workload.threads), cpu_limit, float(ceiling[CPU]))
    return work, ceiling


def thread_s(workload: WorkloadProfile, costs: LayerCost) -> np.ndarray:
    """Seconds per job on a VMM's serial device thread, per demand type (flat workloads).

    A single-queue device (Firecracker's) serves one operation at a time: a
    random disk operation costs ``io_thread_us``, a KiB ``io_thread_ns_per_kib``
    or ``net_thread_ns_per_kib``, whatever the host's disk or NIC could do.
    """
    total = {m: costs.base[m] + costs.added[m] for m in costs.base}
    times = np.zeros(len(DEMANDS))
    times[DISK_RANDOM] = workload.disk_random_ops * total["io_thread_us"] * 1e-6
    times[DISK_SEQ] = workload.disk_seq_mib * 1024 * total["io_thread_ns_per_kib"] * 1e-9
    times[NET] = workload.net_stream_mib * 1024 * total["net_thread_ns_per_kib"] * 1e-9
    return times


def run_alone(workload: WorkloadProfile, costs: LayerCost, host: HostProfile,
              cpu_limit: float = math.inf) -> float:
    """Completion time in seconds of one batch job (or one request) alone on ``host``.

    Raises:
        ValueError: The workload needs random access and no layer gives a rate.
    """
    work, ceiling = _work_and_ceiling(workload, costs, host, cpu_limit)
    used = work > 0
    phases = np.maximum(work[used] / ceiling[used], thread_s(workload, costs)[used])
    return float(phases.sum()) + latency_s(workload, costs, host)


def slowdown(workload: WorkloadProfile, costs: LayerCost, host: HostProfile,
             native: LayerCost) -> float:
    """Completion time through ``costs`` over the time through ``native`` (>= 1 if slower)."""
    return run_alone(workload, costs, host) / run_alone(workload, native, host)


@dataclass(frozen=True)
class ServiceLevel:
    """What a service achieves: throughput and response time.

    Attributes:
        offered_per_s: Requests per second arriving.
        throughput_per_s: Requests per second served.
        capacity_per_s: Requests per second it could serve with its share.
        mean_latency_s: Mean response time (inf when saturated).
        p99_latency_s: 99th percentile response time (inf when saturated).
    """

    offered_per_s: float
    throughput_per_s: float
    capacity_per_s: float
    mean_latency_s: float
    p99_latency_s: float

    @property
    def saturated(self) -> bool:
        """Whether requests arrive faster than they can be served."""
        return not math.isfinite(self.mean_latency_s)


def service_capacity(workload: WorkloadProfile, costs: LayerCost, host: HostProfile,
                     cpu_limit: float = math.inf) -> float:
    """Requests per second a service processes alone when every thread is busy."""
    work, ceiling = _work_and_ceiling(workload, costs, host, cpu_limit)
    used = work > 0
    rate = float((ceiling[used] / work[used]).min()) if used.any() else math.inf
    return min(rate, thread_ceiling_per_s(workload, costs, host))


def serve_alone(workload: WorkloadProfile, costs: LayerCost, host: HostProfile,
                cpu_limit: float = math.inf) -> ServiceLevel:
    """A service's throughput and latency alone on ``host`` through ``costs``."""
    if workload.clients > 0:
        return closed_level(workload, costs, host, cpu_limit)
    mu = service_capacity(workload, costs, host, cpu_limit)
    offered = workload.arrival_rate_per_s
    if math.isinf(mu):  # no shared demand: only the layers' serial latency
        fixed = latency_s(workload, costs, host)
        return ServiceLevel(offered, offered, mu, fixed, fixed)
    return _level(workload, costs, [(min(offered, mu), mu, 1.0)], servers(workload, cpu_limit),
                  host)


def stations(workload: WorkloadProfile, costs: LayerCost, host: HostProfile,
             cpu_limit: float = math.inf, stretch: float = 1.0) -> list[Station]:
    """Where one request spends its time, for a closed loop (:mod:`virtsim.closed_loop`).

    Host cores (as many servers as it may use at once), each shared device at
    its native capacity, the VMM's serial device thread, and the pure delay of
    round trips and flushes. ``stretch`` (>= 1) slows every shared station when
    neighbours take part of the machine.
    """
    work, ceiling = _work_and_ceiling(workload, costs, host, cpu_limit)
    cores = max(1, min(servers(workload, cpu_limit), math.ceil(float(ceiling[CPU]) - 1e-9)))
    cost = request_cost(workload, costs, host) if has_mix(workload) else None
    offload = cost.offload_s if cost is not None else 0.0
    found = [Station("cpu", (float(work[CPU]) - offload) * stretch, cores)]
    if offload > 0:  # packets and device backends on other host threads
        found.append(Station("host-cpu", offload * stretch, host.cores))
    capacity = capacities(host, costs)
    for j, name in enumerate(DEMANDS):
        if j != CPU and work[j] > 0:
            found.append(Station(name, float(work[j] / capacity[j]) * stretch, 1))
    if cost is not None:
        found += [Station("device-thread", cost.thread_s, 1), Station("delay", cost.delay_s, 0)]
    else:
        found += [Station("device-thread", float(thread_s(workload, costs).sum()), 1),
                  Station("delay", latency_s(workload, costs, host), 0)]
    return found


def closed_level(workload: WorkloadProfile, costs: LayerCost, host: HostProfile,
                 cpu_limit: float = math.inf, stretch: float = 1.0) -> ServiceLevel:
    """A closed-loop service's level: ``clients`` clients, each waiting for its response.

    Throughput follows latency (:func:`virtsim.closed_loop.solve`); the
    capacity reported is what many more clients would reach (the bottleneck's).
    """
    found = stations(workload, costs, host, cpu_limit, float(stretch))
    loop = solve(found, max(1, workload.clients), workload.think_time_s)
    ceiling = min((st.servers / st.demand_s for st in found
                   if st.servers > 0 and st.demand_s > 0), default=math.inf)
    return ServiceLevel(float(loop.throughput_per_s), float(loop.throughput_per_s),
                        float(ceiling), float(loop.mean_latency_s), float(loop.p99_latency_s))


def servers(workload: WorkloadProfile, cpu_limit: float = math.inf) -> int:
    """Requests served at once: its threads, but no more than the cores it may use."""
    if not math.isfinite(cpu_limit):
        return workload.threads
    return max(1, min(workload.threads, math.ceil(cpu_limit - 1e-9)))


def _level(workload: WorkloadProfile, costs: LayerCost,
           intervals: list[tuple[float, float, float]], servers: int,
           host: HostProfile | None = None) -> ServiceLevel:
    """Service level over intervals of (served per s, capacity per s, duration s)."""
    offered = workload.arrival_rate_per_s
    fixed = latency_s(workload, costs, host)
    total = sum(d for _, _, d in intervals)
    served = sum(x * d for x, _, d in intervals)
    capacity = sum(mu * d for _, mu, d in intervals) / total if total else 0.0
    throughput = served / total if total else 0.0
    if not intervals or total <= 0 or served <= 0:
        return ServiceLevel(offered, throughput, capacity, fixed, fixed)
    if any(x < offered * (1 - 1e-9) and d > 0 for x, _, d in intervals):
        return ServiceLevel(offered, throughput, capacity, math.inf, math.inf)
    queues, weights = [], []
    for x, mu, d in intervals:
        if d > 0 and x > 0:
            queues.append(Queue(x, mu, servers))
            weights.append(x * d)
    mean = sum(q.mean_response_s() * w for q, w in zip(queues, weights, strict=True))
    mean /= sum(weights)
    p99 = mixture_quantile(queues, weights, 0.99)
    return ServiceLevel(offered, throughput, capacity, mean + fixed, p99 + fixed)


@dataclass(frozen=True)
class Placement:
    """One workload on one stack: what it asks, what its layers cost, which caps bind it.

    Attributes:
        node: The process node running the workload.
        owner: The instance whose readiness starts it.
        machine: Its machine.
        workload: Its profile.
        costs: The composed cost of its layers.
        cpu_caps: Cores allowed to each capped group (VM, cgroup) it runs in,
            innermost first (:func:`cpu_caps`).
        weight: Its CPU share weight (cgroup ``cpu_weight``).
    """

    node: str
    owner: str
    machine: str
    workload: WorkloadProfile
    costs: LayerCost
    cpu_caps: Mapping[str, float] = field(default_factory=dict)
    weight: float = 1.0

    @property
    def cpu_groups(self) -> tuple[str, ...]:
        """The capped groups it runs in, innermost first."""
        return tuple(self.cpu_caps)

    @property
    def cpu_limit(self) -> float:
        """The tightest of its caps, in cores (inf if none)."""
        return min(self.cpu_caps.values(), default=math.inf)


def cpu_caps(graph: ResourceGraph, node: str) -> dict[str, float]:
    """The CPU caps along ``node``'s path: a VM's vCPUs, a container's cgroup ``cpus``."""
    caps: dict[str, float] = {}
    for layer in graph.path_to_machine(node):
        spec = graph.attrs(layer).get("spec")
        kind = graph.kind(layer)
        if kind == "vm" and getattr(spec, "vcpus", None):
            caps[layer] = float(spec.vcpus)  # type: ignore[union-attr]
        elif kind == "container" and getattr(spec, "cpus", None):
            caps[layer] = float(spec.cpus)  # type: ignore[union-attr]
    return caps


def _weight(graph: ResourceGraph, node: str) -> float:
    for layer in graph.path_to_machine(node):
        if graph.kind(layer) == "container":
            return float(getattr(graph.attrs(layer).get("spec"), "cpu_weight", 1.0))
    return 1.0


Placed = Placement | tuple[str, str, str] | None
"""A process's placement, ``(node, workload, note)`` if it has no cost, None if no demand."""


def placements(graph: ResourceGraph, catalog: Catalog,
               instances: set[str]) -> Iterator[Placement | tuple[str, str, str]]:
    """Each workload process with demand, as a :class:`Placement`.

    A workload whose path has no layer-cost profile yields ``(node, workload,
    note)`` instead: it is reported, never silently given a cost. A process on
    a machine that copies another's stack (``ResourceGraph.copies``) is placed
    as the process it copies, renamed: same profile, layers and caps.
    """
    placed: dict[str, Placed] = {}  # process node -> its placement, worked out
    for node in graph.nodes("process"):
        item: Placed
        original = graph.original(node)
        if original != node and not isinstance(first := placed[original], tuple):
            item = _in_copy(graph, first, node)
        else:  # the notes of unplaced ones name nodes: worked out for each
            item = placed[node] = place(graph, catalog, instances, node)
        if item is not None:
            yield item


def place(graph: ResourceGraph, catalog: Catalog, instances: set[str],
          node: str) -> Placed:
    """One process's :class:`Placement` (see :func:`placements`)."""
    workload: WorkloadProfile = graph.data[node]["profile"]
    if not has_demand(workload):
        return None
    try:
        costs = path_costs(graph, node, catalog)
    except KeyError as missing:
        return node, workload.name, f"no layer-cost profile: {missing.args[0]}"
    owner = node if node in instances else next(
        (a for a in graph.path_to_machine(node) if a in instances), node)
    return Placement(node, owner, graph.machine(node), workload, costs,
                     cpu_caps(graph, node), _weight(graph, node))


def _in_copy(graph: ResourceGraph, item: Placement | None, node: str) -> Placement | None:
    """The placement ``item`` of a copied machine's process, moved to ``node`` in a copy."""
    if item is None:
        return None
    machine = graph.machine(node)
    return Placement(node, graph.in_copy(item.owner, machine), machine, item.workload,
                     item.costs, {graph.in_copy(group, machine): cap
                                  for group, cap in item.cpu_caps.items()}, item.weight)


class MachineLoad:
    """One machine's steady load: its resources and capped groups as one fluid pool."""

    def __init__(self, env: simpy.Environment, host: HostProfile, native: LayerCost,
                 groups: dict[str, float]) -> None:
        self.host = host
        self.groups = dict(groups)
        self._column = {group: len(DEMANDS) + k for k, group in enumerate(self.groups)}
        capacity = capacities(host, native)
        capacity[RANDOM] = capacity[RANDOM] if capacity[RANDOM] > 0 else 1.0
        self.pool = FluidPool(env, (*DEMANDS, *self.groups),
                              [*capacity, *self.groups.values()])
        self.interference_per_neighbour = native.cache_interference_per_neighbour
        self.interference_max_neighbours = native.cache_interference_max_neighbours
        self._cache_columns = np.array([CPU, MEMORY, RANDOM, *range(len(DEMANDS),
                                                                    len(self.pool.resources))])
        if self.interference_per_neighbour > 0:
            self.pool.capacity_scale = self.interference

    def interference(self, work: np.ndarray) -> np.ndarray:
        """Capacity factor per resource: co-runners on CPU and memory slow each other."""
        factor = np.ones(work.shape[1])
        corunners = int((work[:, [CPU, MEMORY, RANDOM]] > 0).any(axis=1).sum())
        neighbours = min(max(corunners - 1, 0), self.interference_max_neighbours)
        factor[self._cache_columns] = 1.0 / (1.0 + self.interference_per_neighbour * neighbours)
        return factor

    def vector(self, work: np.ndarray, placement: Placement) -> np.ndarray:
        """Work on the pool's columns: the demand, and its CPU again on each capped group."""
        vector = np.zeros(len(self.pool.resources))
        vector[:len(DEMANDS)] = work
        for group in placement.cpu_groups:
            vector[self._column[group]] = work[CPU]
        return vector


@dataclass
class ServiceTrack:
    """A running service's activity and the rates it had, interval by interval."""

    placement: Placement
    activity: Activity
    requests: float
    thread_cap: float
    intervals: list[tuple[float, float, float]] = field(default_factory=list)
    """(start time, served requests/s, capacity requests/s) from each recomputation."""


def run_batch(env: simpy.Environment, load: MachineLoad, placement: Placement,
              then: Callable[[], None]) -> None:
    """A batch job's phases on ``load``, one demand type after another, then its latency.

    Each phase starts from the pool's callback when the one before completes;
    ``then`` is called when the job is over.
    """
    work = effective_work(placement.workload, placement.costs, load.host)
    _check_random_access(work, load.pool.capacity)
    BatchRun(env, load, placement, work, then).phase(0)


class BatchRun:
    """One batch job's phases in flight (a plain object: no SimPy process, no cycle)."""

    __slots__ = ("env", "load", "phases", "placement", "serial", "then", "work")

    def __init__(self, env: simpy.Environment, load: MachineLoad, placement: Placement,
                 work: np.ndarray, then: Callable[[], None]) -> None:
        self.env, self.load, self.placement, self.work, self.then = (
            env, load, placement, work, then)
        self.phases: list[int] = np.flatnonzero(work > 0).tolist()
        self.serial = (np.zeros(len(DEMANDS)) if has_mix(placement.workload)
                       else thread_s(placement.workload, placement.costs))

    def phase(self, k: int) -> None:
        """Start phase ``k``; after the last, wait out the job's latency and call ``then``."""
        if k == len(self.phases):
            wait = latency_s(self.placement.workload, self.placement.costs, self.load.host)
            if wait > 0:
                self.env.timeout(wait).callbacks.append(lambda _event: self.then())
            else:
                self.then()
            return
        j = self.phases[k]
        demand = np.zeros(len(DEMANDS))
        demand[j] = self.work[j]
        cap = self.placement.workload.threads / self.work[j] if j == CPU else math.inf
        if self.serial[j] > 0:  # a serial device thread serves it no faster than this
            cap = min(cap, 1.0 / float(self.serial[j]))
        self.load.pool.start(self.load.vector(demand, self.placement), self.placement.weight,
                             cap, on_done=lambda: self.phase(k + 1))


def batch_job(env: simpy.Environment, load: MachineLoad,
              placement: Placement) -> Steps:
    """:func:`run_batch` as a SimPy process: it returns when the job is over."""
    over = env.event()

    def job_over() -> None:
        over.succeed()

    run_batch(env, load, placement, job_over)
    yield over


def start_service(load: MachineLoad, placement: Placement, life_s: float,
                  offered: float | None = None) -> ServiceTrack | None:
    """Start serving for ``life_s`` seconds: all its offered requests as one activity.

    The activity's work is every request it is offered over its life, and its
    cap is the offered rate (it cannot serve requests that have not arrived)
    and its threads; a share below that serves fewer (the rest queue and drop).
    """
    per_request = effective_work(placement.workload, placement.costs, load.host)
    if offered is None:
        offered = offered_per_s(placement, load.host)
    if life_s <= 0 or offered <= 0 or not per_request.any():
        return None
    _check_random_access(per_request, load.pool.capacity)
    requests = offered * life_s
    vector = load.vector(per_request * requests, placement)
    thread_cap = float(placement.workload.threads / vector[CPU]) if vector[CPU] > 0 else math.inf
    activity = load.pool.start(vector, placement.weight, thread_cap, limit=1.0 / life_s)
    return ServiceTrack(placement, activity, requests, thread_cap)


def offered_per_s(placement: Placement, host: HostProfile) -> float:
    """Requests per second a service is offered: its arrival rate (open loop), or
    what its clients send when it runs alone (closed loop: :func:`closed_level`)."""
    workload = placement.workload
    if workload.clients > 0:
        return closed_level(workload, placement.costs, host, placement.cpu_limit).throughput_per_s
    return workload.arrival_rate_per_s


@dataclass(frozen=True)
class Job:
    """A batch job for :func:`share_host`: a workload, its layers, weight and start time."""

    workload: WorkloadProfile
    costs: LayerCost
    weight: float = 1.0
    start_s: float = 0.0


def share_host(jobs: list[Job], host: HostProfile, native: LayerCost | None = None) -> list[float]:
    """Completion times (seconds from 0) of batch jobs sharing one machine, without a scenario.

    The same fluid model as a scenario run (:class:`MachineLoad`), with the
    interference term of ``native`` (default: none). A job alone takes exactly
    :func:`run_alone`.
    """
    env = simpy.Environment()
    base = native or LayerCost(random_access_mups=max(
        (job.costs.random_access_mups for job in jobs), default=0.0))
    load = MachineLoad(env, host, base, {})
    finish = [math.nan] * len(jobs)

    def run(i: int, job: Job) -> Steps:
        yield env.timeout(job.start_s)
        yield from batch_job(env, load, Placement(str(i), str(i), "", job.workload, job.costs,
                                                  weight=job.weight))
        finish[i] = float(env.now)

    for i, job in enumerate(jobs):
        env.process(run(i, job))
    env.run()
    return finish


class Baselines:
    """Each workload's figures alone and natively, worked out once per distinct setting.

    Thousands of placements share a workload, its layers and its host: their
    times alone (:func:`run_alone`, :func:`serve_alone`) are the same. Entries are
    keyed by the identity of those objects, so a :class:`Baselines` must not
    outlive the placements and hosts it was asked about (keep one per report).
    """

    def __init__(self, native: LayerCost) -> None:
        self.native = native
        self._batch: dict[tuple[int, int, int, float], tuple[float, float]] = {}
        self._service: dict[tuple[int, int, int, float], tuple[ServiceLevel, ServiceLevel]] = {}

    def batch(self, placement: Placement, host: HostProfile) -> tuple[float, float]:
        """Seconds for one job alone through its layers (capped), and alone natively."""
        key = _setting(placement, host)
        if (times := self._batch.get(key)) is None:
            workload = placement.workload
            times = self._batch[key] = (
                run_alone(workload, placement.costs, host, placement.cpu_limit),
                run_alone(workload, self.native, host))
        return times

    def service(self, placement: Placement,
                host: HostProfile) -> tuple[ServiceLevel, ServiceLevel]:
        """Service level alone through its layers (capped), and alone natively."""
        key = _setting(placement, host)
        if (levels := self._service.get(key)) is None:
            workload = placement.workload
            levels = self._service[key] = (
                serve_alone(workload, placement.costs, host, placement.cpu_limit),
                serve_alone(workload, self.native, host))
        return levels


def _setting(placement: Placement, host: HostProfile) -> tuple[int, int, int, float]:
    return id(placement.workload), id(placement.costs), id(host), placement.cpu_limit


class PerformanceModel:
    """Run hook: every workload runs from its instance's readiness, sharing its machine.

    Batch jobs report completion time and slowdown against native; services
    report throughput and mean and p99 latency, alone, natively and as run.
    """

    def __init__(self, ready: dict[str, simpy.Event]) -> None:
        self.ready = ready
        self.loads: dict[str, MachineLoad] = {}
        self.finished: dict[str, float] = {}
        self.began: dict[str, float] = {}
        self.services: dict[str, ServiceTrack] = {}
        """Running services by process node."""
        self._by_activity: dict[int, ServiceTrack] = {}
        self._loops: dict[tuple[int, int, int, float, float], ServiceLevel] = {}
        """Closed-loop levels per distinct setting and stretch (replicas share them)."""
        self.skipped: list[tuple[str, str, str]] = []
        self.jobs: list[Placement] = []

    def attach(self, sim: Simulation) -> None:
        """Place every workload and start it when its instance is ready."""
        collecting = gc.isenabled()
        gc.disable()  # placements, loads and processes live for the run: no cycles to find
        try:
            self._place(sim)
        finally:
            if collecting:
                gc.enable()

    def _place(self, sim: Simulation) -> None:
        """A load per machine with workloads, and a process per workload."""
        graph, native = sim.graph, compose(sim.catalog, [NATIVE])
        self.loads.clear()
        groups: dict[str, dict[str, float]] = {}
        serving: set[str] = set()
        found = list(placements(graph, sim.catalog, set(self.ready)))
        for item in found:
            if isinstance(item, Placement):
                groups.setdefault(item.machine, {}).update(item.cpu_caps)
                if item.workload.mode == "service":
                    serving.add(item.machine)
        for machine, caps in groups.items():
            load = MachineLoad(sim.env, graph.data[machine]["profile"], native, caps)
            if machine in serving:  # only services need the rates of every interval
                load.pool.listeners.append(self._record_rates)
            self.loads[machine] = load
        for item in found:
            if not isinstance(item, Placement):
                self.skipped.append(item)
                continue
            self.jobs.append(item)
            if item.workload.mode == "service":
                sim.env.process(self._serve(sim, item))
            else:
                self._start_batch(sim, item)

    def _start_batch(self, sim: Simulation, placement: Placement) -> None:
        """Run a batch job once its instance is up (no SimPy process: callbacks)."""
        def begin(_event: object = None) -> None:
            self.began[placement.node] = sim.now
            run_batch(sim.env, self.loads[placement.machine], placement, finish)

        def finish() -> None:
            self.finished[placement.node] = sim.now

        ready = self.ready.get(placement.owner)
        if ready is not None and ready.callbacks is not None:  # not processed yet
            ready.callbacks.append(begin)
        else:
            sim.env.timeout(0).callbacks.append(begin)  # at once, once the clock runs

    def _serve(self, sim: Simulation, placement: Placement) -> Steps:
        if placement.owner in self.ready:
            yield self.ready[placement.owner]
        self.began[placement.node] = sim.now
        load = self.loads[placement.machine]
        offered = (self._closed(placement, load.host, 1.0).throughput_per_s
                   if placement.workload.clients > 0 else None)
        track = start_service(load, placement, sim.scenario.duration_s - sim.now, offered)
        if track is not None:
            self.services[placement.node] = self._by_activity[id(track.activity)] = track

    def _closed(self, placement: Placement, host: HostProfile, stretch: float) -> ServiceLevel:
        """A closed loop's level (:func:`closed_level`), worked out once per setting."""
        key = (*_setting(placement, host), stretch)
        if (level := self._loops.get(key)) is None:
            level = self._loops[key] = closed_level(placement.workload, placement.costs, host,
                                                    placement.cpu_limit, stretch)
        return level

    def _record_rates(self, pool: FluidPool) -> None:
        """After each recomputation: each service's served rate and what it could serve."""
        tracks = [self._by_activity.get(id(a)) for a in pool.activities]
        if not any(tracks):
            return
        spare = np.maximum(pool.effective_capacity - pool.usage(), 0.0)
        factor = pool.effective_capacity / pool.capacity
        sharing = np.maximum((np.array([a.work for a in pool.activities]) > 0).sum(axis=0), 1)
        for track in tracks:
            if track is None:
                continue
            work = track.activity.work
            used = work > 0
            headroom = float((spare[used] / work[used]).min()) if used.any() else math.inf
            # Greedy neighbours (closed loops) leave no spare, yet would yield it an equal
            # share of each resource it uses: max-min fairness gives it at least that.
            equal = (float((pool.effective_capacity[used] / sharing[used] / work[used]).min())
                     if used.any() else math.inf)
            ceiling = track.thread_cap * float(factor[used].min()) if used.any() else math.inf
            most = min(max(track.activity.rate + headroom, equal), ceiling)
            track.intervals.append((float(pool.env.now),
                                    float(track.activity.rate * track.requests),
                                    float(most * track.requests)))

    def report(self, sim: Simulation) -> None:
        """``workloads`` and ``load_utilisation`` tables; slowdown and latency metrics."""
        baselines = Baselines(compose(sim.catalog, [NATIVE]))
        end = sim.scenario.duration_s
        slowdowns: list[float] = []
        p99s: list[float] = []
        records: list[Record] = [{"instance": node, "workload": name, "note": note}
                                 for node, name, note in self.skipped]
        for placement in self.jobs:
            record = self._base_record(placement)
            if placement.workload.mode == "service":
                record.update(self._service_record(placement, baselines, end))
                if record["p99_latency_ms"] is not None:
                    p99s.append(float(record["p99_latency_ms"]))
            else:
                record.update(self._batch_record(placement, baselines))
                if record["slowdown_vs_native"] is not None:
                    slowdowns.append(float(record["slowdown_vs_native"]))
            records.append(record)
        if records:
            sim.result.extend("workloads", records)
        self._report_utilisation(sim)
        if slowdowns:
            sim.result.metrics["slowdown_vs_native"] = {
                "mean": float(np.mean(slowdowns)), "max": float(np.max(slowdowns)),
                "count": len(slowdowns)}
        if p99s:
            sim.result.metrics["service_p99_ms"] = {
                "mean": float(np.mean(p99s)), "max": float(np.max(p99s)), "count": len(p99s)}

    def _base_record(self, placement: Placement) -> dict[str, Any]:
        return {"instance": placement.node, "workload": placement.workload.name,
                "mode": placement.workload.mode, "machine": placement.machine,
                "layers": "+".join(placement.costs.layers),
                "cpu_limit": placement.cpu_limit if math.isfinite(placement.cpu_limit) else None,
                "start_s": self.began.get(placement.node)}

    def _batch_record(self, placement: Placement, baselines: Baselines) -> dict[str, Any]:
        alone, native_s = baselines.batch(placement, self.loads[placement.machine].host)
        began, done = self.began.get(placement.node), self.finished.get(placement.node)
        completion = done - began if began is not None and done is not None else None
        note = "" if completion is not None else (
            "not started: its instance never became ready" if began is None
            else "unfinished when the run ended")
        return {"completion_s": completion, "alone_s": alone, "native_s": native_s,
                "slowdown_vs_native": completion / native_s if completion is not None else None,
                "note": note}

    def _service_record(self, placement: Placement, baselines: Baselines,
                        end: float) -> dict[str, Any]:
        track = self.services.get(placement.node)
        intervals: list[tuple[float, float, float]] = []
        if track is not None:
            marks = [*track.intervals, (end, 0.0, 0.0)]
            intervals = [(x, mu, max(marks[k + 1][0] - t, 0.0))
                         for k, (t, x, mu) in enumerate(marks[:-1])]
        host = self.loads[placement.machine].host
        if placement.workload.clients > 0:
            level = self._closed(placement, host, _stretch(placement, host, intervals))
        else:
            level = _level(placement.workload, placement.costs, intervals,
                           servers(placement.workload, placement.cpu_limit), host)
        alone, bare = baselines.service(placement, host)
        note = "" if track is not None else "not started: its instance never became ready"
        if level.saturated:
            note = "saturated: requests arrive faster than its share can serve them"
        return {"offered_per_s": level.offered_per_s,
                "throughput_per_s": level.throughput_per_s,
                "capacity_per_s": level.capacity_per_s,
                "mean_latency_ms": _ms(level.mean_latency_s) if track else None,
                "p99_latency_ms": _ms(level.p99_latency_s) if track else None,
                "alone_p99_latency_ms": _ms(alone.p99_latency_s),
                "native_p99_latency_ms": _ms(bare.p99_latency_s),
                "latency_slowdown_vs_native": (level.mean_latency_s / bare.mean_latency_s
                                               if track and math.isfinite(level.mean_latency_s)
                                               else None),
                "note": note}

    def _report_utilisation(self, sim: Simulation) -> None:
        window = sim.scenario.duration_s
        records: list[Record] = []
        for machine, load in self.loads.items():
            load.pool.advance()
            busy = load.pool.busy_integral.tolist()
            capacity = load.pool.capacity.tolist()
            for j, resource in enumerate(DEMANDS):
                records.append({"machine": machine, "resource": resource, "unit": UNITS[j],
                                "capacity": capacity[j], "busy": busy[j],
                                "utilisation": busy[j] / (capacity[j] * window)})
        if records:
            sim.result.extend("load_utilisation", records)


def _stretch(placement: Placement, host: HostProfile,
             intervals: list[tuple[float, float, float]]) -> float:
    """How much slower a closed loop's shared stations ran in a run (>= 1).

    Each interval's capacity (what its share let it serve) against its
    capacity alone, time-weighted: the loop is then solved with every shared
    station that much slower (:func:`closed_level`).
    """
    alone = service_capacity(placement.workload, placement.costs, host, placement.cpu_limit)
    total = sum(d for _, _, d in intervals)
    had = sum(mu * d for _, mu, d in intervals) / total if total > 0 else 0.0
    if had <= 0 or not math.isfinite(alone):
        return 1.0
    return max(1.0, round(alone / had, 3))  # to 0.1%: replicas with equal shares share a solve


def _ms(seconds: float) -> float | None:
    return seconds * 1e3 if math.isfinite(seconds) else None
