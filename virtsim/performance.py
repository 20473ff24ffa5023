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
from virtsim.graph import HostCapacity, ResourceGraph
from virtsim.instances import Transition
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
from virtsim.machines import (
    CPU,
    DISK_RANDOM,
    DISK_SEQ,
    NET,
    RANDOM,
    MachinePool,
    capacity_vector,
)
from virtsim.operations import has_mix, request_cost
from virtsim.profiles import HostProfile, WorkloadProfile
from virtsim.queueing import Queue, mixture_quantile
from virtsim.result import Result
from virtsim.sharing import Activity, FluidPool
from virtsim.simulation import Simulation
from virtsim.templates import Templates

__all__ = [
    "DEMANDS", "EMULATOR", "NATIVE", "Job", "LayerCost", "MachineLoad", "PerformanceModel",
    "Placement", "ServiceLevel", "WorkloadRun", "capacities", "compose", "demand",
    "layer_cost_names", "path_costs", "place", "placements", "run_alone", "serve_alone",
    "service_capacity", "share_host", "slowdown",
]

Steps = Generator[simpy.Event, Any, None]
"""A SimPy process body."""
UNITS: tuple[str, ...] = ("cores", "GB/s", "M updates/s", "MiB/s", "IOPS", "MiB/s")
"""Unit of each resource's capacity, in :data:`DEMANDS` order."""


def capacities(host: HostProfile, costs: LayerCost) -> np.ndarray:
    """Native capacity of each shared resource per second, in workload demand units.

    cpu in cores, memory in GB/s, random access in M updates/s (from the
    ``native`` layer), disks in MiB/s and operations/s, network in MiB/s.
    """
    return np.array(capacity_vector(HostCapacity.of(host), costs.random_access_mups))


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


def placements(graph: ResourceGraph, catalog: Catalog, instances: set[str],
               templates: Templates | None = None) -> Iterator[Placement | tuple[str, str, str]]:
    """Each workload process with demand, as a :class:`Placement`, machine by machine.

    A workload whose path has no layer-cost profile yields ``(node, workload,
    note)`` instead: it is reported, never silently given a cost. The placements
    of one machine are worked out for one machine; ``templates`` (the run's
    :class:`~virtsim.templates.Templates`) serves a host group's copies renamed.
    """
    templates = templates or Templates(graph)
    on: dict[str, list[str]] = {}
    for node in graph.nodes("process"):
        on.setdefault(graph.data[node]["machine"], []).append(node)

    def one_machine(machine: str) -> list[Placed]:
        return [place(graph, catalog, instances, node) for node in on[machine]]

    def renamed(items: list[Placed], to: Callable[[str], str]) -> list[Placed]:
        # the notes of unplaced ones name nodes: worked out again for the copy
        return [place(graph, catalog, instances, to(item[0])) if isinstance(item, tuple)
                else _moved(item, to) for item in items]

    for machine in on:
        for item in templates.per_machine("placements", machine, one_machine, renamed):
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


def _moved(item: Placement | None, to: Callable[[str], str]) -> Placement | None:
    """A placement on a host group's first machine, moved to a copy (ids through ``to``)."""
    if item is None:
        return None
    return Placement(to(item.node), to(item.owner), to(item.machine), item.workload,
                     item.costs, {to(group): cap for group, cap in item.cpu_caps.items()},
                     item.weight)


class MachineLoad:
    """One machine's steady load on its pool (:class:`~virtsim.machines.MachinePool`).

    In a run the pool is the machine's one pool, shared with start-up work;
    alone (:func:`share_host`, tests) it is a pool of its own.
    """

    def __init__(self, env: simpy.Environment, host: HostProfile, native: LayerCost,
                 groups: dict[str, float], machine: MachinePool | None = None) -> None:
        self.host = host
        self.machine = machine or MachinePool(env, HostCapacity.of(host), native)
        for group, cores in groups.items():
            self.machine.add_group(group, cores)
        self.pool = self.machine.pool

    def add_groups(self, placement: Placement) -> None:
        """Make sure the pool has a CPU column for each capped group of ``placement``."""
        for group, cores in placement.cpu_caps.items():
            self.machine.add_group(group, cores)

    def interference(self, work: np.ndarray) -> np.ndarray:
        """Capacity factor per resource: co-runners on CPU and memory slow each other."""
        return self.machine.interference(work)

    def vector(self, work: np.ndarray, placement: Placement) -> list[float]:
        """Work on the pool's columns: the demand, and its CPU again on each capped group."""
        self.add_groups(placement)
        return self.machine.vector(work, placement.cpu_groups)


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
              then: Callable[[], None], remaining: float = 1.0) -> BatchRun:
    """A batch job's phases on ``load``, one demand type after another, then its latency.

    Each phase starts from the pool's callback when the one before completes;
    ``then`` is called when the job is over. ``remaining`` is the share of the
    job still to do (a job resumed from a checkpoint).
    """
    work = effective_work(placement.workload, placement.costs, load.host) * remaining
    _check_random_access(work, load.pool.capacity)
    run = BatchRun(env, load, placement, work, then)
    run.phase(0)
    return run


class BatchRun:
    """One batch job's phases in flight (a plain object: no SimPy process, no cycle)."""

    __slots__ = ("activity", "cancelled", "env", "index", "load", "phases", "placement", "serial",
                 "then", "work")

    def __init__(self, env: simpy.Environment, load: MachineLoad, placement: Placement,
                 work: np.ndarray, then: Callable[[], None]) -> None:
        self.env, self.load, self.placement, self.work, self.then = (
            env, load, placement, work, then)
        self.phases: list[int] = np.flatnonzero(work > 0).tolist()
        self.activity: Activity | None = None
        self.index = 0
        self.cancelled = False
        self.serial = (np.zeros(len(DEMANDS)) if has_mix(placement.workload)
                       else thread_s(placement.workload, placement.costs))

    def phase(self, k: int) -> None:
        """Start phase ``k``; after the last, wait out the job's latency and call ``then``."""
        if self.cancelled:
            return
        self.index = k
        self.activity = None
        if k == len(self.phases):
            wait = latency_s(self.placement.workload, self.placement.costs, self.load.host)
            if wait > 0:
                self.env.timeout(wait).callbacks.append(lambda _event: self._over())
            else:
                self.then()
            return
        j = self.phases[k]
        demand = np.zeros(len(DEMANDS))
        demand[j] = self.work[j]
        cap = self.placement.workload.threads / self.work[j] if j == CPU else math.inf
        if self.serial[j] > 0:  # a serial device thread serves it no faster than this
            cap = min(cap, 1.0 / float(self.serial[j]))
        self.activity = self.load.pool.start(
            self.load.vector(demand, self.placement), self.placement.weight, cap,
            on_done=lambda: self.phase(k + 1), interferes=True, owner=self.placement.owner)

    def _over(self) -> None:
        if not self.cancelled:
            self.then()

    def cancel(self) -> None:
        """Withdraw the phase in flight from the pool; the job never completes."""
        if self.cancelled:
            return
        self.cancelled = True
        if self.activity is not None:
            self.load.pool.cancel(self.activity)

    def progress(self) -> float:
        """Share of this run's work done, each phase weighted by its time alone."""
        alone = []
        for j in self.phases:
            rate = float(self.load.pool.capacity[j])
            if j == CPU:
                rate = min(rate, float(self.placement.workload.threads))
            alone.append(self.work[j] / rate)
        total = sum(alone)
        if total <= 0:
            return 1.0
        done = sum(alone[:self.index])
        if self.activity is not None and self.index < len(alone):
            self.activity.bring_to(float(self.env.now))
            done += alone[self.index] * self.activity.progress
        return float(min(1.0, done / total))


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
    activity = load.pool.start(vector, placement.weight, thread_cap, limit=1.0 / life_s,
                               interferes=True, owner=placement.owner)
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


@dataclass(eq=False)
class WorkloadRun:
    """One run of one workload: from its instance's readiness until it ends.

    A workload runs again each time its instance (or a replica of it) is
    ready again; each run is one row of the ``workloads`` table.

    Attributes:
        placement: What runs where.
        attempt: Its instance's start attempt.
        replica_of: The scenario process it stands for, if its instance is a replica.
        start_s: When it began.
        remaining: Share of the job it had to do (below 1 after a checkpoint).
        end_s: When it ended (None: still running when the run ended).
        outcome: ``completed``, ``killed`` (OOM killer or a stop), ``lost`` (a crash),
            or ``running`` at the end of the run.
        fault: The fault that ended it, or ``""``.
        work_lost_s: Seconds of batch work it lost (since its start or last checkpoint).
    """

    placement: Placement
    attempt: int
    replica_of: str
    start_s: float
    remaining: float = 1.0
    end_s: float | None = None
    outcome: str = "running"
    fault: str = ""
    work_lost_s: float = 0.0
    batch: BatchRun | None = None
    track: ServiceTrack | None = None
    load: MachineLoad | None = None

    def cancel(self) -> None:
        """Its instance stopped or crashed: withdraw its load from the pool."""
        if self.batch is not None:
            self.batch.cancel()
        if self.track is not None and self.load is not None:
            self.load.pool.cancel(self.track.activity)


SKIPPED_FIELDS = ("instance", "workload", "note")
"""A ``workloads`` row of a workload that could not be placed (no layer-cost profile)."""

BASE_FIELDS = ("instance", "workload", "mode", "machine", "layers", "cpu_limit", "start_s",
               "owner", "attempt", "replica_of", "end_s", "outcome", "fault", "work_lost_s")
"""The first columns of every placed workload's ``workloads`` row."""

BATCH_FIELDS = (*BASE_FIELDS, "completion_s", "alone_s", "native_s", "slowdown_vs_native",
                "note")
"""A batch job's ``workloads`` row."""

SERVICE_FIELDS = (*BASE_FIELDS, "offered_per_s", "throughput_per_s", "capacity_per_s",
                  "mean_latency_ms", "p99_latency_ms", "alone_p99_latency_ms",
                  "native_p99_latency_ms", "latency_slowdown_vs_native", "note")
"""A service's ``workloads`` row."""

UTILISATION_FIELDS = ("machine", "resource", "unit", "capacity", "busy", "utilisation")
"""The ``load_utilisation`` columns: one row per machine with workloads and resource."""


class PerformanceModel:
    """Run hook: every workload runs while its instance is ready, sharing its machine.

    It subscribes to the registry: a ready instance starts its workloads (a
    restarted or rescheduled one gets them back), a stop or crash ends them
    with an outcome. Batch jobs report completion time and slowdown against
    native; services report throughput and mean and p99 latency, alone,
    natively and as run. A container or native process whose batch job
    completes has exited: it moves on to ``stopping``.
    """

    def __init__(self) -> None:
        self.loads: dict[str, MachineLoad] = {}
        self._loops: dict[tuple[int, int, int, float, float], ServiceLevel] = {}
        """Closed-loop levels per distinct setting and stretch (replicas share them)."""
        self.skipped: list[tuple[str, str, str]] = []
        self.jobs: list[Placement] = []
        self.by_owner: dict[str, list[Placement]] = {}
        self.runs: list[WorkloadRun] = []
        self.active: dict[str, list[WorkloadRun]] = {}
        """Instance -> its workload runs in flight."""
        self.saved: dict[str, float] = {}
        """Scenario process -> share of its batch job checkpointed by an earlier run."""
        self._by_activity: dict[int, ServiceTrack] = {}
        self._serving: set[str] = set()
        self._native: LayerCost = LayerCost()

    def attach(self, sim: Simulation) -> None:
        """Place every workload; subscribe to readiness and to stops and crashes."""
        collecting = gc.isenabled()
        gc.disable()  # placements, loads and processes live for the run: no cycles to find
        try:
            self._place(sim)
        finally:
            if collecting:
                gc.enable()
        sim.instances.subscribe(lambda change: self._ready(sim, change), "ready")
        sim.instances.subscribe(lambda change: self._ended(sim, change),
                                "stopped", "crashed")

    def _place(self, sim: Simulation) -> None:
        """A load per machine with workloads, and the placements of each instance."""
        graph = sim.graph
        self._native = compose(sim.catalog, [NATIVE])
        for collection in (self.loads, self.by_owner, self.active, self.saved,
                           self._by_activity, self._loops):
            collection.clear()
        self.skipped.clear()
        self.jobs.clear()
        self.runs.clear()
        self._serving.clear()
        for item in placements(graph, sim.catalog, set(graph.instances()), sim.templates):
            if not isinstance(item, Placement):
                self.skipped.append(item)
                continue
            self._add(sim, item)

    def _add(self, sim: Simulation, placement: Placement) -> None:
        self.jobs.append(placement)
        self.by_owner.setdefault(placement.owner, []).append(placement)
        load = self.loads.get(placement.machine)
        if load is None:
            load = self.loads[placement.machine] = MachineLoad(
                sim.env, sim.graph.data[placement.machine]["profile"], self._native, {},
                sim.pools.of(sim.graph, placement.machine))
        load.add_groups(placement)
        if placement.workload.mode == "service" and placement.machine not in self._serving:
            self._serving.add(placement.machine)  # only services need every interval's rates
            load.pool.listeners.append(self._record_rates)

    def _replica_placements(self, sim: Simulation, node: str) -> list[Placement]:
        """The workloads of a replica an orchestrator built, placed on first readiness."""
        graph = sim.instances[node].graph
        found: list[Placement] = []
        for process in [node, *sorted(graph.descendants(node))]:
            if graph.data[process]["kind"] != "process":
                continue
            item = place(graph, sim.catalog, {node} | (
                {process} if graph.data[process].get("instance", True) else set()), process)
            if isinstance(item, Placement) and item.owner == node:
                found.append(item)
                self._add(sim, item)
        self.by_owner[node] = found
        return found

    # -- transitions -------------------------------------------------------
    def _ready(self, sim: Simulation, change: Transition) -> None:
        """Its instance is ready: start each of its workloads (again, after a restart)."""
        node = change.instance
        instance = sim.instances[node]
        if instance.state != "ready":
            return  # a model that heard first (the OOM killer) already ended it
        owned = self.by_owner.get(node)
        if owned is None:
            owned = self._replica_placements(sim, node) if instance.logical != node else []
        for placement in owned:
            self._start(sim, placement, instance.attempt, instance.logical != node)

    def _start(self, sim: Simulation, placement: Placement, attempt: int,
               replica: bool) -> None:
        replica_of = sim.instances[placement.owner].logical + placement.node[
            len(placement.owner):] if replica else ""
        key = replica_of or placement.node
        remaining = 1.0 - self.saved.get(key, 0.0)
        load = self.loads[placement.machine]
        run = WorkloadRun(placement, attempt, replica_of, sim.now, remaining, load=load)
        if placement.workload.mode == "service":
            offered = (self._closed(placement, load.host, 1.0).throughput_per_s
                       if placement.workload.clients > 0 else None)
            run.track = start_service(load, placement, sim.scenario.duration_s - sim.now,
                                      offered)
            if run.track is not None:
                self._by_activity[id(run.track.activity)] = run.track
        else:
            run.batch = run_batch(sim.env, load, placement,
                                  lambda: self._completed(sim, run), remaining)
        self.runs.append(run)
        if run.end_s is None:  # a job with no work completes as it starts
            self.active.setdefault(placement.owner, []).append(run)
            sim.instances.hold(placement.owner, run)

    def _completed(self, sim: Simulation, run: WorkloadRun) -> None:
        run.end_s, run.outcome = sim.now, "completed"
        owner = run.placement.owner
        runs = self.active.get(owner)
        if runs is not None and run in runs:
            runs.remove(run)
            sim.instances.release(owner, run)
        self.saved.pop(run.replica_of or run.placement.node, None)
        instance = sim.instances.get(owner)
        if (instance is not None and instance.kind in ("container", "process")
                and instance.state == "ready" and not self.active.get(owner)
                and _main_process(instance.graph, owner, run.placement.node)):
            sim.instances.move(owner, "stopping", cause="exited")

    def _ended(self, sim: Simulation, change: Transition) -> None:
        """Its instance stopped or crashed: its workloads end, killed or lost."""
        runs = self.active.pop(change.instance, [])
        outcome = "lost" if change.after == "crashed" and change.cause != "oom-kill" else "killed"
        for run in runs:
            run.end_s, run.outcome, run.fault = sim.now, outcome, change.fault
            if run.batch is not None:
                self._lose(sim, run)
            elif run.track is not None:
                self._by_activity.pop(id(run.track.activity), None)

    def _lose(self, sim: Simulation, run: WorkloadRun) -> None:
        """Work a batch run loses: all since it began, or since its last checkpoint."""
        assert run.batch is not None and run.end_s is not None
        ran = run.end_s - run.start_s
        spec = sim.instances[run.placement.owner].graph.data[run.placement.owner].get("spec")
        interval = float(getattr(spec, "checkpoint_s", 0.0) or 0.0)
        run.work_lost_s = ran % interval if interval > 0 else ran
        if interval > 0 and ran > 0:  # assumption: progress is even over the run's time
            done = run.batch.progress() * run.remaining * (ran - run.work_lost_s) / ran
            key = run.replica_of or run.placement.node
            self.saved[key] = min(1.0, self.saved.get(key, 0.0) + done)

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

    # -- report ------------------------------------------------------------
    def report(self, sim: Simulation) -> None:
        """``workloads`` and ``load_utilisation`` tables (metrics: :func:`workload_metrics`)."""
        baselines = Baselines(self._native)
        for node, name, note in self.skipped:
            sim.result.append("workloads", SKIPPED_FIELDS, (node, name, note))
        ran = {id(run.placement) for run in self.runs}
        never = [p for p in self.jobs if id(p) not in ran]
        for run in [*self.runs, *(WorkloadRun(p, 0, "", math.nan) for p in never)]:
            if run.placement.workload.mode == "service":
                sim.result.append("workloads", SERVICE_FIELDS, (
                    *self._base_record(run), *self._service_record(sim, run, baselines)))
            else:
                sim.result.append("workloads", BATCH_FIELDS, (
                    *self._base_record(run), *self._batch_record(run, baselines)))
        self._report_utilisation(sim)

    def _base_record(self, run: WorkloadRun) -> tuple[Any, ...]:
        """The values of :data:`BASE_FIELDS`."""
        placement = run.placement
        started = not math.isnan(run.start_s)
        return (placement.node, placement.workload.name, placement.workload.mode,
                placement.machine, "+".join(placement.costs.layers),
                placement.cpu_limit if math.isfinite(placement.cpu_limit) else None,
                run.start_s if started else None, placement.owner,
                run.attempt if started else None, run.replica_of, run.end_s,
                run.outcome if started else "not started", run.fault, run.work_lost_s)

    def _batch_record(self, run: WorkloadRun, baselines: Baselines) -> tuple[Any, ...]:
        """The values of a batch job's fields after :data:`BASE_FIELDS`."""
        placement = run.placement
        alone, native_s = baselines.batch(placement, self.loads[placement.machine].host)
        completion = (run.end_s - run.start_s
                      if run.outcome == "completed" and run.end_s is not None else None)
        note = {"completed": "", "running": "unfinished when the run ended",
                "not started": "not started: its instance never became ready",
                "lost": "lost: its instance crashed",
                "killed": "killed: its instance was stopped or OOM-killed"}[
            run.outcome if not math.isnan(run.start_s) else "not started"]
        if run.remaining < 1.0 and completion is not None:
            note = f"resumed from a checkpoint with {run.remaining:.0%} of the job left"
        return (completion, alone, native_s,
                completion / native_s if completion is not None and run.remaining >= 1.0
                else None, note)

    def _service_record(self, sim: Simulation, run: WorkloadRun,
                        baselines: Baselines) -> tuple[Any, ...]:
        """The values of a service's fields after :data:`BASE_FIELDS`."""
        placement = run.placement
        track = run.track
        intervals: list[tuple[float, float, float]] = []
        end = run.end_s if run.end_s is not None else sim.scenario.duration_s
        if track is not None:
            marks = [*(m for m in track.intervals if m[0] < end), (end, 0.0, 0.0)]
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
        if track is not None and run.outcome in ("lost", "killed"):
            note = f"{run.outcome}: its instance ended at {end:g} s"
        if level.saturated:
            note = "saturated: requests arrive faster than its share can serve them"
        return (level.offered_per_s, level.throughput_per_s, level.capacity_per_s,
                _ms(level.mean_latency_s) if track else None,
                _ms(level.p99_latency_s) if track else None,
                _ms(alone.p99_latency_s), _ms(bare.p99_latency_s),
                level.mean_latency_s / bare.mean_latency_s
                if track and math.isfinite(level.mean_latency_s) else None,
                note)

    def _report_utilisation(self, sim: Simulation) -> None:
        window = sim.scenario.duration_s
        rows: list[tuple[Any, ...]] = []
        for machine, load in self.loads.items():
            load.pool.advance()
            busy = load.pool.busy_integral.tolist()
            capacity = load.pool.capacity.tolist()
            rows += [(machine, resource, UNITS[j], capacity[j], busy[j],
                      busy[j] / (capacity[j] * window)) for j, resource in enumerate(DEMANDS)]
        sim.result.append_rows("load_utilisation", UTILISATION_FIELDS, rows)


def workload_metrics(result: Result) -> None:
    """``slowdown_vs_native`` of batch jobs and ``service_p99_ms`` of services, from a
    finished run's ``workloads`` table."""
    slowdowns: list[float] = []
    p99s: list[float] = []
    columns = [result.column("workloads", name) for name in ("mode", "p99_latency_ms",
                                                               "slowdown_vs_native")]
    for mode, p99, slowdown in zip(*columns, strict=True):
        if mode is None:  # a workload that could not be placed
            continue
        if mode == "service":
            if p99 is not None:
                p99s.append(float(p99))
        elif slowdown is not None:
            slowdowns.append(float(slowdown))
    if slowdowns:
        result.metrics["slowdown_vs_native"] = {
            "mean": float(np.mean(slowdowns)), "max": float(np.max(slowdowns)),
            "count": len(slowdowns)}
    if p99s:
        result.metrics["service_p99_ms"] = {
            "mean": float(np.mean(p99s)), "max": float(np.max(p99s)), "count": len(p99s)}


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


def _main_process(graph: ResourceGraph, owner: str, process: str) -> bool:
    """Whether ``process`` is the main process of container or process ``owner``."""
    if process == owner:
        return True
    spec = graph.data[owner].get("spec")
    return process == f"{owner}/{getattr(spec, 'workload', None)}"
