"""Performance: what the layers under a workload cost it, alone and beside neighbours.

Each layer on a node's path to its machine maps to a ``layer_costs`` profile
(:func:`layer_cost_names`). Their efficiencies multiply and their added
latencies add (:class:`LayerCost`). A batch workload runs its demand types one
after another (:func:`run_alone`): each takes ``demand / (capacity x
efficiency)``, and network round trips and system calls add their latency.
:func:`share_host` runs several such jobs on one host at once; their phases
share the host's resources at max-min fair rates (:func:`virtsim.sharing.max_min_rates`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from virtsim.catalog import Catalog
from virtsim.compat import resolve
from virtsim.graph import ResourceGraph
from virtsim.profiles import HostProfile, LayerCostProfile, RuntimeProfile, WorkloadProfile
from virtsim.sharing import max_min_rates
from virtsim.simulation import Simulation

DEMANDS: tuple[str, ...] = (
    "cpu", "memory_bw", "random_access", "disk_seq", "disk_random", "net_stream"
)
"""Shared-resource demand types, in the order of every vector here."""

_WORKLOAD_FIELD = {
    "cpu": "cpu_core_s",
    "memory_bw": "memory_gb",
    "random_access": "random_access_mupdates",
    "disk_seq": "disk_seq_mib",
    "disk_random": "disk_random_ops",
    "net_stream": "net_stream_mib",
}
_MB_PER_MIB = 1.048576
NATIVE = "native"
EMULATOR = "qemu-user"
"""Layer cost of an image run for another architecture through binfmt_misc."""


@dataclass(frozen=True)
class LayerCost:
    """The composed cost of a stack of layers.

    Attributes:
        layers: Names of the ``layer_costs`` profiles composed, top first.
        efficiency: Fraction of native capacity per demand type (product over layers).
        round_trip_us: Latency per network round trip (sum over layers).
        syscall_ns: Latency per system call (sum over layers).
        random_access_mups: The machine's random-update rate (from the ``native`` layer).
    """

    layers: tuple[str, ...] = ()
    efficiency: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(DEMANDS, 1.0))
    round_trip_us: float = 0.0
    syscall_ns: float = 0.0
    random_access_mups: float = 0.0

    @classmethod
    def of(cls, profile: LayerCostProfile) -> LayerCost:
        """One layer's cost."""
        return cls((profile.name,), {d: float(getattr(profile, d)) for d in DEMANDS},
                   profile.round_trip_us, profile.syscall_ns, profile.random_access_mups)

    def __add__(self, other: LayerCost) -> LayerCost:
        """Stack two costs: efficiencies multiply, latencies add."""
        return LayerCost(
            self.layers + other.layers,
            {d: self.efficiency[d] * other.efficiency[d] for d in DEMANDS},
            self.round_trip_us + other.round_trip_us,
            self.syscall_ns + other.syscall_ns,
            max(self.random_access_mups, other.random_access_mups),
        )


def compose(catalog: Catalog, names: Sequence[str]) -> LayerCost:
    """The composed cost of ``layer_costs`` profiles named ``names``."""
    total = LayerCost()
    for name in names:
        total = total + LayerCost.of(catalog.require(LayerCostProfile, name))
    return total


def layer_cost_names(graph: ResourceGraph, node: str, catalog: Catalog) -> list[str]:
    """The ``layer_costs`` profiles of the layers under ``node``, top first.

    A VM costs its VMM's profile if there is one (``firecracker``), else its
    hypervisor's (``kvm-tuned`` when pinned, ``kvm-untuned`` otherwise); a
    container costs its network (``docker-nat``, ``docker-host-net``); a runtime
    its own profile if any, ``runsc-ptrace`` for gVisor's runsc, ``runc`` for any
    other namespace runtime; the machine costs ``native``. Kernels, hypervisor and
    VMM nodes and processes cost nothing of their own.

    Raises:
        KeyError: A VM's hypervisor has no layer cost profile.
    """
    known = set(catalog.names(LayerCostProfile.kind))
    names: list[str] = []
    for layer in graph.path_to_machine(node):
        kind, attrs = graph.kind(layer), graph.attrs(layer)
        if kind == "machine":
            names.append(NATIVE)
        elif kind == "container":
            network = getattr(attrs.get("spec"), "network", "nat")
            names.extend({"nat": ["docker-nat"], "host": ["docker-host-net"]}.get(network, []))
            if _emulated(graph, layer):
                names.append(EMULATOR)
        elif kind == "runtime":
            runtime: RuntimeProfile = attrs["profile"]
            if runtime.name in known:
                names.append(runtime.name)
            elif runtime.isolation == "user-kernel":
                names.append("runsc-ptrace")
            elif runtime.isolation == "namespaces":
                names.append("runc")
        elif kind == "vm":
            names.append(_vm_cost_name(graph, layer, attrs, known))
    return names


def _emulated(graph: ResourceGraph, container: str) -> bool:
    """Whether the container's image runs under QEMU user-mode emulation on its host."""
    host_arch = graph.graph.nodes[graph.machine(container)]["profile"].arch
    kernel = graph.graph.nodes[graph.kernel_of(container)]["profile"]
    return resolve(graph.graph.nodes[container]["profile"], kernel, host_arch).emulator != ""


def _vm_cost_name(graph: ResourceGraph, vm: str, attrs: Mapping[str, object],
                  known: set[str]) -> str:
    vmm = graph.host(vm)
    if vmm is not None and graph.attrs(vmm)["name"] in known:
        return str(graph.attrs(vmm)["name"])
    hypervisor = "kvm"
    for below in graph.ancestors(vm):
        if graph.kind(below) == "hypervisor":
            hypervisor = str(graph.attrs(below)["name"])
            break
        if graph.kind(below) == "runtime":  # a Kata / Hyper-V sandbox
            hypervisor = graph.attrs(below)["profile"].sandbox_hypervisor or "kvm"
            break
    pinned = bool(getattr(attrs.get("spec"), "pinned", False))
    for name in (f"{hypervisor}-{'tuned' if pinned else 'untuned'}", hypervisor):
        if name in known:
            return name
    raise KeyError(f"no layer_costs profile for hypervisor {hypervisor!r} (VM {vm!r})")


def path_costs(graph: ResourceGraph, node: str, catalog: Catalog) -> LayerCost:
    """The composed cost of every layer under ``node`` down to its machine."""
    return compose(catalog, layer_cost_names(graph, node, catalog))


def capacities(host: HostProfile, costs: LayerCost) -> np.ndarray:
    """Native capacity of each shared resource per second, in workload demand units.

    cpu in cores, memory in GB/s, random access in M updates/s, disks in MiB/s and
    operations/s, network in MiB/s.
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
    """The workload's demand on each shared resource, in :data:`DEMANDS` order."""
    return np.array([float(getattr(workload, _WORKLOAD_FIELD[d])) for d in DEMANDS])


def latency_s(workload: WorkloadProfile, costs: LayerCost) -> float:
    """Serial latency: round trips and system calls, in seconds."""
    return (workload.net_round_trips * costs.round_trip_us * 1e-6
            + workload.syscalls * costs.syscall_ns * 1e-9)


def _effective_work(workload: WorkloadProfile, costs: LayerCost) -> np.ndarray:
    """Work in native resource units: demand / efficiency."""
    eff = np.array([costs.efficiency[d] for d in DEMANDS])
    return np.asarray(demand(workload) / eff)


def _phase_caps(workload: WorkloadProfile, capacity: np.ndarray) -> np.ndarray:
    """Most of each resource one job can use: its threads' worth of cores."""
    caps = capacity.copy()
    caps[0] = min(float(workload.threads), capacity[0])
    return caps


def run_alone(workload: WorkloadProfile, costs: LayerCost, host: HostProfile) -> float:
    """Completion time in seconds of one batch run alone on ``host`` through ``costs``.

    Raises:
        ValueError: The workload needs random access and no layer gives a rate.
    """
    work = _effective_work(workload, costs)
    capacity = capacities(host, costs)
    if work[2] > 0 and capacity[2] <= 0:
        raise ValueError("random access demand but no 'native' layer with random_access_mups")
    caps = _phase_caps(workload, capacity)
    used = work > 0
    return float((work[used] / caps[used]).sum()) + latency_s(workload, costs)


def slowdown(workload: WorkloadProfile, costs: LayerCost, host: HostProfile,
             native: LayerCost) -> float:
    """Completion time through ``costs`` over the time through ``native`` (>= 1 if slower)."""
    return run_alone(workload, costs, host) / run_alone(workload, native, host)


@dataclass(frozen=True)
class Job:
    """One batch run on a host: what it asks and the layers it goes through."""

    workload: WorkloadProfile
    costs: LayerCost
    weight: float = 1.0
    start_s: float = 0.0


def share_host(jobs: Sequence[Job], host: HostProfile) -> list[float]:
    """Completion times (seconds from 0) of batch jobs sharing one host.

    Each job runs its demand types one after another (as :func:`run_alone`),
    then its serial latency. At every moment the jobs' current shared phases get
    weighted max-min fair rates over the host's resources; a job's CPU phase is
    capped at its threads. Rates are recomputed whenever a phase ends or a job
    starts. A job alone takes exactly :func:`run_alone`.
    """
    n = len(jobs)
    if n == 0:
        return []
    capacity = capacities(host, jobs[0].costs)
    for job in jobs:
        capacity[2] = max(capacity[2], job.costs.random_access_mups)
    m = len(DEMANDS)
    # Phases per job: (resource index or -1 for private latency, amount).
    phases: list[list[tuple[int, float]]] = []
    for job in jobs:
        work = _effective_work(job.workload, job.costs)
        steps = [(j, float(work[j])) for j in range(m) if work[j] > 0]
        if (wait := latency_s(job.workload, job.costs)) > 0:
            steps.append((-1, wait))
        if any(j == 2 for j, _ in steps) and capacity[2] <= 0:
            raise ValueError("random access demand but no 'native' layer with random_access_mups")
        phases.append(steps)
    current = [0] * n
    left = [steps[0][1] if steps else 0.0 for steps in phases]
    finish = [float(job.start_s) if not phases[i] else np.inf for i, job in enumerate(jobs)]
    now = 0.0
    while True:
        active = [i for i in range(n)
                  if np.isinf(finish[i]) and jobs[i].start_s <= now + 1e-12]
        waiting = [jobs[i].start_s for i in range(n)
                   if np.isinf(finish[i]) and jobs[i].start_s > now + 1e-12]
        if not active and not waiting:
            break
        rates = np.zeros(n)  # amount of the current phase done per second
        shared = [i for i in active if phases[i][current[i]][0] >= 0]
        for i in active:
            if phases[i][current[i]][0] < 0:
                rates[i] = 1.0
        if shared:
            work = np.zeros((len(shared), m))
            caps = np.empty(len(shared))
            for row, i in enumerate(shared):
                j = phases[i][current[i]][0]
                work[row, j] = 1.0
                caps[row] = _phase_caps(jobs[i].workload, capacity)[j]
            weights = np.array([jobs[i].weight for i in shared])
            rates[shared] = _max_min_rates(work, capacity, weights, caps)
        etas = [left[i] / rates[i] for i in active if rates[i] > 0]
        step = min([*etas, *(s - now for s in waiting)], default=np.inf)
        if not np.isfinite(step):  # pragma: no cover - every active phase progresses
            raise RuntimeError("no job can progress")
        now += step
        for i in active:
            left[i] -= rates[i] * step
            if left[i] <= 1e-9 * max(phases[i][current[i]][1], 1.0):
                current[i] += 1
                if current[i] == len(phases[i]):
                    finish[i] = now
                else:
                    left[i] = phases[i][current[i]][1]
    return [float(t) for t in finish]


def _max_min_rates(work: np.ndarray, capacity: np.ndarray, weights: np.ndarray,
                       caps: np.ndarray) -> np.ndarray:
    """:func:`virtsim.sharing.max_min_rates` with unused resources given a nominal capacity."""
    cap = np.where(capacity > 0, capacity, 1.0)
    return max_min_rates(work, cap, weights, caps)


class PerformanceModel:
    """Run hook: completion time and slowdown of every batch workload in the scenario.

    Workloads on one machine share it (:func:`share_host`) from the moment
    their instance is ready; each is also timed alone and natively, so the
    report separates the cost of the layers from the cost of the neighbours.
    """

    def __init__(self, ready_at: Callable[[str], float | None]) -> None:
        self.ready_at = ready_at

    def attach(self, sim: Simulation) -> None:
        """Nothing to schedule: the fluid sharing is solved when the run is reported."""

    def report(self, sim: Simulation) -> None:
        """One ``workloads`` record per batch workload; mean slowdown in the metrics."""
        graph = sim.graph
        native = compose(sim.catalog, ["native"])
        by_machine: dict[str, list[tuple[str, Job]]] = {}
        for node in graph.nodes("process"):
            workload: WorkloadProfile = graph.graph.nodes[node]["profile"]
            if workload.mode != "batch" or not demand(workload).any():
                continue
            try:
                costs = path_costs(graph, node, sim.catalog)
            except KeyError as missing:
                sim.result.add("workloads", instance=node, workload=workload.name,
                               note=f"no layer-cost profile: {missing}")
                continue
            owner = next((a for a in graph.path_to_machine(node)
                          if graph.kind(a) in ("vm", "container") and
                          graph.graph.nodes[a].get("instance", True)), node)
            began = self.ready_at(owner)
            if began is None:
                continue
            by_machine.setdefault(graph.machine(node), []).append(
                (node, Job(workload, costs, start_s=began)))
        slowdowns: list[float] = []
        for machine, jobs in by_machine.items():
            host: HostProfile = graph.graph.nodes[machine]["profile"]
            finished = share_host([job for _, job in jobs], host)
            for (node, job), end in zip(jobs, finished, strict=True):
                alone = run_alone(job.workload, job.costs, host)
                native_s = run_alone(job.workload, native, host)
                slowdowns.append((end - job.start_s) / native_s)
                sim.result.add("workloads", instance=node, workload=job.workload.name,
                               machine=machine, layers="+".join(job.costs.layers),
                               start_s=job.start_s, completion_s=end - job.start_s,
                               alone_s=alone, native_s=native_s,
                               slowdown_vs_native=(end - job.start_s) / native_s,
                               note="")
        if slowdowns:
            sim.result.metrics["slowdown_vs_native"] = {
                "mean": float(np.mean(slowdowns)), "max": float(np.max(slowdowns)),
                "count": len(slowdowns)}
