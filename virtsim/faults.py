"""Faults and blast radius: what one failure or compromise takes down, and recovery.

A fault hits one node of the resource graph at a scheduled time:

- a **crash** stops the crashed node and everything that runs on it
  (machine failure, host kernel panic, hypervisor crash, VMM crash, guest
  kernel panic, engine crash, container crash, out-of-memory kill);
- a **compromise** climbs from its target to the first isolation boundary
  the exploit crosses and then reaches everything below that boundary: a
  container escape reaches the kernel the container shares (the host kernel
  under runc, only the Sentry under gVisor, only the sandbox kernel under
  Kata); a VM escape reaches the VMM and, through it, the hypervisor.

Under a hosted or in-kernel hypervisor the VMs run on the host kernel, so a
host kernel panic takes them too; under a bare-metal hypervisor they sit
beside the management kernel and survive it. An engine crash stops the
containers of that engine on that kernel (the daemon is their parent)
unless their group sets ``live_restore`` (off by default, as in Docker).

A crash that takes the host (machine failure, host kernel panic, a
bare-metal hypervisor crash) makes the machine reboot after any repair time
(``repair_s`` from the fault or its ``failure_rates`` profile); an engine
crash keeps the daemon down for its restart time, and its containers die
unless their group sets ``live_restore`` (dockerd's ``live-restore``).
An out-of-memory kill is also driven by memory pressure: when an instance
becomes ready and the memory of what runs on its machine (the footprint
model's resident sizes, shared bytes included) exceeds the machine's, the
kernel's OOM killer kills the instance with the largest resident memory,
then the next, until it fits (Linux picks by ``oom_badness``, roughly RSS,
with equal ``oom_score_adj``); a container whose cgroup ``memory_mib`` is
below its process's memory is killed by its cgroup as soon as it runs.

Faults come from the scenario's ``[[faults]]`` and, with ``[random_faults]``,
are drawn over the run from each kind's rate in ``models/failure_rates/``
(one seeded stream per kind and component). Recovery (who notices, when,
and where the instance starts again) is :mod:`virtsim.orchestration`'s;
it reuses the lifecycle's start procedures, so it takes real start time
under contention.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal

import simpy

from virtsim.catalog import Catalog
from virtsim.errors import InputError
from virtsim.graph import ResourceGraph
from virtsim.lifecycle import Lifecycle
from virtsim.merge import row_order
from virtsim.orchestration import Fleet, Recovery, managers, orchestrators, top_level
from virtsim.profiles import (
    EngineProfile,
    ExploitProfile,
    FailureRateProfile,
    HostProfile,
    ImageProfile,
    KernelProfile,
    WorkloadProfile,
)
from virtsim.resolver import version_lt
from virtsim.result import Result, Scalar
from virtsim.scenario import FaultSpec, RandomFaultsSpec, Scenario, host_profile
from virtsim.scope import Knowledge, Member, Notes, RecordKey, machine_of
from virtsim.simulation import Simulation, component_rng
from virtsim.stack import group_machines as group_machines_of
from virtsim.stack import machine_names

FaultKind = Literal[
    "machine-failure", "host-kernel-panic", "hypervisor-crash", "vmm-crash",
    "guest-kernel-panic", "engine-crash", "container-crash", "oom-kill",
    "container-escape", "vm-escape",
]
FAULT_KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]
SECONDS_PER_YEAR = 365.25 * 86400
RUNNING: frozenset[str] = frozenset({"requested", "pulling", "starting", "ready", "stopping"})
"""Instance states a crash can end: one not yet asked for, stopped or already down loses
nothing."""
HOST_FAULTS: frozenset[str] = frozenset({"machine-failure", "host-kernel-panic",
                                         "hypervisor-crash"})
"""Fault kinds that may take a whole host down (and so make an orchestrator reschedule)."""
PRESSURE_SHARE = 0.9
"""Share of a host's RAM declared by its VMs and workloads above which memory pressure is checked
(a cheap screen; the check itself uses the footprint model's resident sizes)."""


@dataclass(frozen=True)
class BlastRadius:
    """Where a fault lands and what it reaches.

    Attributes:
        origin: The node that fails or is taken over.
        reached: Every node stopped or compromised, ``origin`` included.
        instances: The instances among them (VMs, containers, processes).
    """

    origin: str
    reached: frozenset[str]
    instances: tuple[str, ...]


def fault_origin(graph: ResourceGraph, kind: str, target: str) -> str:
    """The node a fault of ``kind`` aimed at ``target`` actually hits.

    Raises:
        ValueError: The target has no layer of the kind the fault needs.
    """
    path = graph.path_to_machine(target)
    kinds = [graph.kind(n) for n in path]

    def nearest(wanted: str) -> str:
        if wanted in kinds:
            return path[kinds.index(wanted)]
        above = [n for n in graph.descendants(target) if graph.kind(n) == wanted]
        if len(above) == 1 or (above and wanted == "kernel"):
            return sorted(above, key=lambda n: len(graph.ancestors(n)))[0]
        raise ValueError(f"a {kind} needs a {wanted} at or under '{target}'")

    if kind == "machine-failure":
        return graph.machine(target)
    if kind == "host-kernel-panic":
        return f"{graph.machine(target)}/kernel"
    if kind == "hypervisor-crash":
        return nearest("hypervisor")
    if kind in ("vmm-crash", "vm-escape"):
        return nearest("vmm")
    if kind == "guest-kernel-panic":
        return nearest("vm")  # the guest kernel is the VM's: the whole guest stops
    if kind == "engine-crash":
        return nearest("runtime")
    if kind == "oom-kill" and "container" not in kinds and graph.kind(target) == "vm":
        return nearest("vmm")  # the host's OOM killer ends the VM's VMM process
    if kind in ("container-crash", "oom-kill", "container-escape"):
        return nearest("container")
    raise ValueError(f"unknown fault kind '{kind}'")


def blast_radius(graph: ResourceGraph, kind: str, target: str) -> BlastRadius:
    """Everything a fault reaches, following the graph (see the module docs)."""
    origin = fault_origin(graph, kind, target)
    if kind == "container-escape":
        origin = graph.kernel_of(origin)  # first boundary: the kernel it shares
    elif kind == "vm-escape":
        origin = graph.host(origin) or origin  # through the VMM to its hypervisor
    reached = {origin} | graph.descendants(origin)
    if kind == "engine-crash":
        reached |= _same_engine(graph, origin)
    instances = tuple(n for n in graph.instances() if n in reached)
    return BlastRadius(origin, frozenset(reached), instances)


def _same_engine(graph: ResourceGraph, runtime: str) -> set[str]:
    """Other runtimes of the same engine on the same kernel share its daemon."""
    engine: EngineProfile = graph.graph.nodes[runtime]["engine"]
    kernel = graph.host(runtime)
    out: set[str] = set()
    for sibling in graph.graph.successors(kernel):
        data = graph.graph.nodes[sibling]
        if data["kind"] == "runtime" and data["engine"].name == engine.name:
            out |= {sibling} | graph.descendants(sibling)
    return out


def exploit_succeeds(graph: ResourceGraph, exploit: ExploitProfile, kind: str,
                     target: str) -> tuple[bool, str]:
    """Whether an exploit attempt of ``kind`` on ``target`` crosses its boundary, and why."""
    origin = fault_origin(graph, kind, target)
    if kind == "container-escape" and exploit.crosses == "container":
        runtime = next(a for a in graph.ancestors(origin) if graph.kind(a) == "runtime")
        if graph.graph.nodes[runtime]["profile"].name in exploit.runtimes:
            return True, f"runtime {graph.graph.nodes[runtime]['profile'].name} is affected"
        kernel: KernelProfile = graph.graph.nodes[graph.kernel_of(origin)]["profile"]
        if exploit.kernel_min and kernel.family == "linux":
            below = exploit.kernel_below or "999"
            if (not version_lt(kernel.version, exploit.kernel_min)
                    and version_lt(kernel.version, below)):
                return True, f"shared kernel {kernel.name} is in the affected range"
        return False, f"neither the runtime nor the shared kernel ({kernel.name}) is affected"
    if kind == "vm-escape" and exploit.crosses == "vm":
        vmm = graph.graph.nodes[origin]["profile"].name
        if vmm in exploit.vmms:
            return True, f"VMM {vmm} is affected"
        return False, f"VMM {vmm} is not affected"
    return False, f"a {exploit.crosses} exploit cannot serve a {kind}"


def reach_path(graph: ResourceGraph, origin: str, node: str) -> str:
    """The chain from the fault's origin up to a reached node, as ``a > b > c``."""
    path = graph.path_to_machine(node)
    if origin in path:
        return " > ".join(reversed(path[: path.index(origin) + 1]))
    return f"{origin} (shared engine) > {node}"


def draw_faults(graph: ResourceGraph, catalog: Catalog, spec: RandomFaultsSpec,
                duration_s: float, seed: int) -> list[FaultSpec]:
    """Faults drawn over ``[0, duration_s)`` from the catalogue's failure rates.

    Each (kind, component) pair has its own random stream, so adding a host
    does not shift the faults of the others. Arrivals are Poisson at the
    profile's ``per_year`` times ``rate_scale``; an escape attempt carries an
    exploit drawn from the catalogue's exploits of its boundary.
    """
    kinds = spec.kinds or tuple(k for k in catalog.names("failure_rates") if k in FAULT_KINDS)
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        raise InputError("random_faults", "kinds", f"fault kinds ({', '.join(FAULT_KINDS)})",
                         f"'{unknown[0]}'")
    exploits = [catalog.require(ExploitProfile, n) for n in catalog.names("exploits")]
    drawn: list[FaultSpec] = []
    for kind in kinds:
        rate = catalog.require(FailureRateProfile, kind)
        per_s = rate.per_year * spec.rate_scale / SECONDS_PER_YEAR
        if per_s <= 0:
            continue
        crosses = "vm" if kind == "vm-escape" else "container"
        usable = [e.name for e in exploits if e.crosses == crosses]
        for node in components(graph, rate.component):
            rng = component_rng(seed, f"random-faults/{kind}/{node}")
            at = float(rng.exponential(1 / per_s))
            while at < duration_s:
                exploit = (str(usable[int(rng.integers(len(usable)))])
                           if kind.endswith("escape") and usable else None)
                drawn.append(FaultSpec(kind=kind, target=node, at_s=at, exploit=exploit))
                at += float(rng.exponential(1 / per_s))
    return sorted(drawn, key=lambda f: (f.at_s, f.kind, f.target))


def components(graph: ResourceGraph, kind: str) -> list[str]:
    """The nodes a failure rate of a component kind applies to (not sandbox internals)."""
    out = []
    for node in graph.nodes(kind):
        data = graph.graph.nodes[node]
        if data.get("role") == "sandbox" or not data.get("instance", True):
            continue
        if kind == "kernel" and data.get("role") != "host":
            continue
        out.append(node)
    return out


def host_failed(graph: ResourceGraph, origin: str) -> bool:
    """Whether a crash at ``origin`` takes its whole host (the machine then reboots)."""
    machine = graph.machine(origin)  # the machine, or what sits on it (a kernel, a type-1)
    return origin == machine or graph.host(origin) == machine


@dataclass
class FaultModel:
    """Injects faults, records blast radius, downtime and work lost; hands recovery on."""

    lifecycle: Lifecycle
    down: dict[str, float] = field(default_factory=dict)
    downtime: dict[str, float] = field(default_factory=dict)
    compromised: set[str] = field(default_factory=set)
    up: set[str] = field(default_factory=set)
    pending: dict[str, dict[str, Any] | RecordKey] = field(default_factory=dict)
    """Logical instance -> its open ``recoveries`` row (another partition's: its key)."""
    repairing: set[str] = field(default_factory=set)
    count: int = 0
    oom_kills: dict[str, int] = field(default_factory=dict)
    fleet: Fleet | None = None
    recovery: Recovery | None = None
    knowledge: Knowledge = field(default_factory=Knowledge)
    """What this partition knows of the others (:mod:`virtsim.scope`; nothing in a whole run)."""
    notes: Notes = field(default_factory=Notes)
    """What it tells them once it ran."""
    closed: list[tuple[str, float, float]] = field(default_factory=list)
    """Outages ended during the run: (instance, start, end)."""
    machine_up: dict[str, bool] = field(default_factory=dict)
    """This run's machines in an orchestrator's scope -> up now (kept in a cut run only)."""
    driven: bool = False
    """Whether its orchestrators' instants are settled from outside (:mod:`virtsim.exchange`)."""

    def attach(self, sim: Simulation) -> None:
        """Check every scheduled fault's target, draw random faults, schedule them all."""
        self.down.clear()
        self.downtime.clear()
        self.compromised.clear()
        self.up.clear()
        self.pending.clear()
        self.repairing.clear()
        self.oom_kills.clear()
        self.closed.clear()
        self.machine_up.clear()
        self.notes = Notes()
        self.knowledge = Knowledge(transitions={})
        if not _models_faults(sim.scenario, sim.catalog):
            return  # nothing can fail: keep large fault-free fleets cheap
        self.fleet = Fleet.of(sim)
        found = orchestrators(sim.scenario, sim.catalog)
        self.recovery = Recovery(self.lifecycle, self.fleet,
                                 managers(sim.scenario, sim.graph, sim.catalog),
                                 knowledge=self.knowledge,
                                 by_name={m.name: m for m, _ in found}, driven=self.driven)
        self.recovery.member = self.member
        self.recovery.adopt_member = self.adopt_member
        self.recovery.attach(sim)
        if sim.partial:
            self._watch_scopes(sim, [m for m, _ in found if m.reschedules])
        sim.instances.subscribe(lambda change: self.instance_ready(sim, change.instance),
                                "ready")
        elsewhere = _other_partitions(sim)
        injected: list[FaultSpec] = []
        for index, spec in enumerate(sim.scenario.faults):
            if spec.target.partition("/")[0] in elsewhere:
                continue  # another partition's machine: that partition injects it
            self._resolve(sim, index, spec)
            sim.env.process(self.inject(sim, str(index), spec, "scheduled"))
            injected.append(spec)
        if sim.scenario.random_faults is not None:
            drawn = draw_faults(sim.graph, sim.catalog, sim.scenario.random_faults,
                                sim.scenario.duration_s, sim.seed)
            seen: dict[tuple[str, str], int] = {}
            for spec in drawn:  # ids that adding another component never shifts
                k = seen[spec.kind, spec.target] = seen.get((spec.kind, spec.target), -1) + 1
                sim.env.process(self.inject(sim, f"{spec.kind}@{spec.target}#{k}", spec,
                                            "random"))
            injected += drawn
        if self.driven:  # every instant a decision may come at, known before the clock starts
            self.recovery.expected += sorted({
                spec.at_s + (manager.detection_s + manager.profile.eviction_delay_s)
                + manager.profile.restart_delay_s for spec in injected
                if spec.kind in HOST_FAULTS for manager, _ in found if manager.reschedules})
        self.count = len(sim.scenario.faults) + (len(drawn) if sim.scenario.random_faults
                                                 is not None else 0)

    def _resolve(self, sim: Simulation, index: int, spec: FaultSpec) -> BlastRadius:
        where = f"scenario '{sim.scenario.name}'"
        if spec.kind not in FAULT_KINDS:
            raise InputError(where, f"faults[{index}].kind", f"one of {', '.join(FAULT_KINDS)}",
                             f"'{spec.kind}'")
        if spec.target not in sim.graph.graph:
            raise InputError(where, f"faults[{index}].target",
                             "a node id such as a machine ('node-0') or an instance "
                             "('node-0/web-1')", f"'{spec.target}'")
        if spec.exploit is not None and not spec.kind.endswith("escape"):
            raise InputError(where, f"faults[{index}].exploit",
                             "an exploit only on container-escape or vm-escape",
                             f"'{spec.exploit}' on {spec.kind}")
        try:
            return blast_radius(sim.graph, spec.kind, spec.target)
        except ValueError as exc:
            raise InputError(where, f"faults[{index}].target", str(exc),
                             f"'{spec.target}'") from None

    # -- injection ---------------------------------------------------------
    def inject(self, sim: Simulation, index: str, spec: FaultSpec,
               source: str) -> Generator[simpy.Event, Any, None]:
        """Wait for the fault's time, then apply it where the target runs now."""
        assert self.fleet is not None
        yield sim.env.timeout(spec.at_s)
        graph = self.fleet.graph
        target = self.fleet.current.get(spec.target, spec.target)
        if machine_of(target) not in self.fleet.local:  # it moved to another partition
            self.notes.fallback = self.notes.fallback or (
                f"fault {index} ({spec.kind} at {sim.now:g} s) reaches {spec.target} "
                f"after its orchestrator moved it to {machine_of(target)}, in another "
                "partition")
            return
        succeeded, why = True, "injected"
        try:
            radius = blast_radius(graph, spec.kind, target)
        except ValueError as exc:  # a drawn fault whose component lacks the layer it needs
            radius, succeeded, why = BlastRadius(target, frozenset(), ()), False, str(exc)
        if spec.exploit is not None:
            exploit = sim.catalog.require(ExploitProfile, spec.exploit)
            succeeded, why = exploit_succeeds(graph, exploit, spec.kind, target)
            if not succeeded:  # contained: the attacker keeps only the target itself
                radius = BlastRadius(target, frozenset({target}), (target,))
        record = dict(fault=index, kind=spec.kind, target=spec.target, source=source,
                      exploit=spec.exploit or "", crossed=succeeded, why=why)
        if not radius.reached:
            self._record(sim, radius, [], record, effect="none", survived=0)
        elif spec.kind.endswith("escape"):
            self.compromise(sim, radius, record)
        else:
            self.crash(sim, radius, record, spec.repair_s)

    def compromise(self, sim: Simulation, radius: BlastRadius, record: dict[str, Any]) -> None:
        """Record what an attacker now controls; nothing stops."""
        assert self.fleet is not None
        reached = self._current(radius.instances)
        self.compromised.update(self.fleet.logical[n] for n in reached)
        self._record(sim, radius, reached, record, effect="compromise", survived=0)

    def crash(self, sim: Simulation, radius: BlastRadius, record: dict[str, Any],
              repair_s: float | None = None) -> None:
        """Stop what the crash reaches, take the host or daemon out, start recovery."""
        assert self.fleet is not None and self.recovery is not None
        graph = self.fleet.graph
        kind = str(record["kind"])
        reached = [n for n in self._current(radius.instances)  # what runs or is starting
                   if self.fleet.logical[n] not in self.recovery.awaiting
                   and sim.instances.state(n) in RUNNING]
        survived = 0
        if kind == "engine-crash":
            alive = [n for n in reached if _live_restore(graph, n)]
            survived = len(alive)
            reached = [n for n in reached if n not in alive]
        self._record(sim, radius, reached, record, effect="crash", survived=survived)
        repair = self._repair_s(sim, kind, repair_s, radius.origin)
        whole_host = host_failed(graph, radius.origin)
        machine = graph.machine(radius.origin)
        if whole_host and machine not in self.repairing:  # one under repair is off already
            self.lifecycle.machine_down(sim, machine)
            self._went(sim, machine, up=False)
            sim.env.process(self._reboot(sim, machine, repair))
        if kind == "engine-crash":
            back = sim.env.timeout(repair)
            for node in radius.reached:
                if graph.kind(node) == "runtime":
                    self.recovery.engine_back[node] = back
        for node in reached:
            self.lose(sim, str(record["fault"]), node, whole_host, kind)

    def lose(self, sim: Simulation, fault: str, node: str, whole_host: bool,
             kind: str = "crash") -> None:
        """One instance crashes: downtime starts, its work ends (the registry cancels it
        on every pool and every model hears of it), recovery begins."""
        assert self.fleet is not None and self.recovery is not None
        logical = self.fleet.logical[node]
        self.up.discard(logical)
        self.down.setdefault(logical, sim.now)
        sim.instances.move(node, "crashed", cause=kind, fault=fault)
        record: dict[str, Any] = dict(
            fault=fault, instance=logical, node=node, machine=self.fleet.graph.machine(node),
            manager="", action="awaiting recovery" if logical in self.recovery.managed
            else "none (no restart policy or orchestrator)", at_s=sim.now,
            detected_s=None, restarted_s=None, to_machine="", ready_s=None, recovery_s=None)
        sim.result.extend("recoveries", [record])
        self.pending[logical] = record
        if logical in self.recovery.managed:
            self.recovery.awaiting.add(logical)
            sim.env.process(self.recovery.recover(sim, fault, logical, whole_host, record))

    def _reboot(self, sim: Simulation, machine: str,
                repair_s: float) -> Generator[simpy.Event, Any, None]:
        assert self.fleet is not None
        if repair_s > 0:
            self.repairing.add(machine)
            yield sim.env.timeout(repair_s)
            self.repairing.discard(machine)
        yield sim.env.process(self.lifecycle.power_on(self.fleet.view, machine))

    def _repair_s(self, sim: Simulation, kind: str, given: float | None, origin: str) -> float:
        if given is not None:
            return given
        profile = sim.catalog.get("failure_rates", kind)
        if isinstance(profile, FailureRateProfile) and profile.repair_s is not None:
            # the failed component's own stream: another host's repairs never shift it
            return max(0.0, profile.repair_s.sample(sim.stream(f"faults/repair/{origin}")))
        return 0.0

    def _current(self, nodes: tuple[str, ...]) -> list[str]:
        """The nodes that are where their logical instance runs now (not abandoned copies)."""
        assert self.fleet is not None
        fleet = self.fleet
        return [n for n in nodes if n in fleet.logical and fleet.current[fleet.logical[n]] == n]

    def _record(self, sim: Simulation, radius: BlastRadius, reached: list[str],
                record: dict[str, Any], effect: str, survived: int) -> None:
        assert self.fleet is not None
        graph = self.fleet.graph
        fleet_size = len(self.fleet.current)
        groups = {str(graph.graph.nodes[n]["name"]) for n in reached}
        sim.result.extend("faults", [dict(
            record, at_s=sim.now, origin=radius.origin, effect=effect, instances=len(reached),
            groups=len(groups), fleet_share=len(reached) / fleet_size if fleet_size else 0.0,
            survived=survived, host_failed=effect == "crash" and host_failed(graph, radius.origin),
            time_to_recover_s=None)])
        for node in reached:
            logical = self.fleet.logical[node]
            sim.result.add("blast_radius", fault=record["fault"], kind=record["kind"],
                           instance=logical, node=node, effect=effect,
                           path=reach_path(graph, radius.origin, node), work_lost_s=0.0)

    # -- readiness and memory pressure -------------------------------------
    def instance_ready(self, sim: Simulation, node: str) -> None:
        """A (re)started instance is up: close its outage, then check memory pressure."""
        assert self.fleet is not None and self.recovery is not None
        logical = self.fleet.logical.get(node)
        if logical is None or self.fleet.current[logical] != node:
            return
        self.up.add(logical)
        self.recovery.last_ready[logical] = sim.now
        if logical in self.down:
            began = self.down.pop(logical)
            self.downtime[logical] = self.downtime.get(logical, 0.0) + sim.now - began
            self.closed.append((logical, began, sim.now))
            record = self.pending.pop(logical, None)
            ready = (sim.now, machine_of(node), self.recovery.last_ready.get(logical))
            if isinstance(record, dict):
                settle_record(record, *ready)
            elif record is not None:  # another partition holds its row: settled once merged
                self.notes.record_updates.append((record, dict(zip(
                    ("ready_s", "to_machine", "last_ready_s"), ready, strict=True))))
        if top_level(self.fleet.graph, node):
            self.check_cgroup(sim, node)
            self.check_memory(sim, self.fleet.graph.machine(node))

    def check_cgroup(self, sim: Simulation, node: str) -> None:
        """A container whose process needs more than its cgroup limit is OOM-killed."""
        assert self.fleet is not None
        data = self.fleet.graph.graph.nodes[node]
        limit = getattr(data.get("spec"), "memory_mib", None)
        if data["kind"] != "container" or limit is None:
            return
        workload = getattr(data["spec"], "workload", None)
        need = (sim.catalog.require(WorkloadProfile, workload).memory_mib if workload else
                sim.catalog.require(ImageProfile, data["profile"].name).process_memory_mib)
        if need > float(limit):
            self.oom_kill(sim, node, "cgroup", f"needs {need:g} MiB, cgroup limit {limit:g} MiB")

    def check_memory(self, sim: Simulation, machine: str) -> None:
        """Kill the largest running instances while the machine's memory is overcommitted."""
        assert self.fleet is not None
        fleet = self.fleet
        host: HostProfile = fleet.graph.graph.nodes[machine]["profile"]
        capacity = host.memory_gib * 1024.0
        running = [lg for lg in fleet.placed_on(machine) if lg in self.up]
        total = fleet.shared_mib.get(machine, 0.0) + sum(fleet.memory_mib[r] for r in running)
        while total > capacity and running:
            victim = max(reversed(running), key=lambda lg: fleet.memory_mib[lg])  # ties: first
            running.remove(victim)
            why = (f"memory pressure: {total:.0f} MiB in use on {machine} > {capacity:.0f} MiB; "
                   "largest resident first")
            total -= fleet.memory_mib[victim]
            self.oom_kill(sim, fleet.current[victim], "memory pressure", why)

    def oom_kill(self, sim: Simulation, node: str, source: str, why: str) -> None:
        """The kernel's OOM killer ends one instance (a VM: its VMM process)."""
        assert self.fleet is not None
        graph = self.fleet.graph
        origin = graph.host(node) if graph.kind(node) == "vm" else node
        origin = origin or node
        reached = frozenset({origin} | graph.descendants(origin))
        radius = BlastRadius(origin, reached, tuple(n for n in self.fleet.logical if n in reached))
        self.count += 1
        self.oom_kills[node] = kills = self.oom_kills.get(node, -1) + 1
        index = f"oom-kill@{node}#{kills}"  # an id that another host's kills never shift
        self.crash(sim, radius, dict(fault=index, kind="oom-kill", target=node, source=source,
                                     exploit="", crossed=True, why=why))

    # -- report ------------------------------------------------------------
    def report(self, sim: Simulation) -> None:
        """Downtime of every instance, outages still open, recovery time per fault and work
        lost (metrics: :func:`fault_metrics`, which also drops ``downtime`` from a run in
        which nothing failed)."""
        if self.fleet is None:
            return
        end = sim.now
        fleet = self.fleet
        here = [lg for lg, node in fleet.current.items() if machine_of(node) in fleet.local]
        if fleet.foreign is not None:  # instances placed here from elsewhere: by scenario order
            here.sort(key=fleet.rank.__getitem__)
        outages: list[dict[str, Scalar]] = [dict(instance=lg, start_s=start, end_s=stop)
                                            for lg, start, stop in self.closed]
        for logical in here:
            down = self.downtime.get(logical, 0.0)
            if logical in self.down:  # never recovered within the run
                down += end - self.down[logical]
                outages.append(dict(instance=logical, start_s=self.down[logical], end_s=None))
            sim.result.add("downtime", instance=logical, downtime_s=down,
                           recovered=logical not in self.down, node=fleet.current[logical])
        outages.sort(key=lambda row: row_order("outages", row))
        for row in outages:
            sim.result.add("outages", **row)
        if sim.result.rows("faults"):
            self._work_lost(sim)
        self.notes.placements = list(self.recovery.made) if self.recovery else []

    # -- a scope cut across partitions ----------------------------------------
    def member(self, suffix: str, logical: str) -> Member:
        """An instance about to move, with its bookkeeping (for the partition it moves to)."""
        assert self.fleet is not None and self.recovery is not None
        record = self.pending.get(logical)
        manager = self.recovery.managed.get(logical)
        return Member(suffix, logical, self.fleet.rank[logical],
                      manager.name if manager is not None else "", self.down.get(logical),
                      self.downtime.get(logical, 0.0), self.recovery.restarts.get(logical),
                      self.recovery.last_ready.get(logical),
                      (str(record["fault"]), str(record["instance"])) if isinstance(record, dict)
                      else record, logical in self.up)

    def adopt_member(self, member: Member) -> None:
        """Take over the bookkeeping of an instance placed here from another partition."""
        assert self.fleet is not None
        logical = member.logical
        self.fleet.rank[logical] = member.rank
        if member.down_s is None:
            self.down.pop(logical, None)
        else:
            self.down[logical] = member.down_s
        self.downtime[logical] = member.downtime_s
        if member.record is None:
            self.pending.pop(logical, None)
        else:
            self.pending[logical] = member.record
        if member.up:
            self.up.add(logical)
        else:
            self.up.discard(logical)

    def _watch_scopes(self, sim: Simulation, scopes: list[Any]) -> None:
        """Keep the up/down timeline of this run's machines in a rescheduling scope."""
        assert self.fleet is not None
        boots = {m: host.boot for host in sim.scenario.hosts
                 for m in group_machines_of(host)}
        for machine in sorted({m for manager in scopes for m in manager.machines
                               if m in self.fleet.local}):
            self.machine_up[machine] = not boots[machine]
            self.notes.transitions[machine] = []
            if boots[machine]:
                sim.env.process(self._await_up(sim, machine))

    def _went(self, sim: Simulation, machine: str, up: bool) -> None:
        """A machine of a scope went up or down (kept only in a cut run)."""
        if machine not in self.machine_up or self.machine_up[machine] == up:
            return
        self.machine_up[machine] = up
        self.notes.transitions[machine].append((sim.now, up))
        if not up:
            sim.env.process(self._await_up(sim, machine))

    def _await_up(self, sim: Simulation, machine: str) -> Generator[simpy.Event, Any, None]:
        yield self.lifecycle.ready[machine]
        self._went(sim, machine, up=True)

    def _work_lost(self, sim: Simulation) -> None:
        """Each instance a crash reached lost what its workload runs say they lost.

        One number, two tables: the ``workloads`` rows that a fault ended carry the
        batch work they lost; the ``blast_radius`` row of that fault and instance
        shows their sum.
        """
        lost: dict[tuple[str, str], float] = {}
        for row in sim.result.rows("workloads"):
            if row.get("fault"):
                key = (str(row["fault"]), str(row["owner"]))
                lost[key] = lost.get(key, 0.0) + _num(row["work_lost_s"])
        if not lost:
            return
        for row in sim.result.table("blast_radius"):
            row["work_lost_s"] = lost.get((str(row["fault"]), str(row["node"])), 0.0)


def fault_metrics(result: Result, duration_s: float) -> None:
    """Availability, blast radius, recovery and loss metrics from a finished run's tables.

    Each fault's ``fleet_share`` (instances it reached over every instance of the
    fleet, one ``downtime`` row each) is set here, from the whole run's tables. A
    run in which nothing failed has no fault metrics and no ``downtime`` table.
    """
    faults = result.table("faults")
    if not faults:
        result.drop("downtime")
        return
    fleet_size = len(result.rows("downtime"))
    for row in faults:
        row["fleet_share"] = _num(row["instances"]) / fleet_size if fleet_size else 0.0
    _recovery_times(result)
    total_down = sum(_num(down) for down in result.column("downtime", "downtime_s"))
    metrics = result.metrics
    metrics["availability"] = (
        1 - total_down / (fleet_size * duration_s) if fleet_size and duration_s > 0 else 1.0)
    metrics["blast_radius"] = {f"{r['fault']}:{r['kind']}": r["instances"] for r in faults}
    metrics["unrecovered_instances"] = sum(
        1 for recovered in result.column("downtime", "recovered") if not recovered)
    radius = result.rows("blast_radius")
    metrics["compromised_instances"] = len({row["instance"] for row in radius
                                            if row["effect"] == "compromise"})
    metrics["work_lost_s"] = sum(_num(row["work_lost_s"]) for row in radius)
    reached = [r["time_to_recover_s"] for r in faults
               if r["instances"] and r["effect"] == "crash"]
    if reached:
        # Full recovery is the last fault's recovery; a fault whose instances were not
        # all back by the end of the run leaves it undefined (None), never understated.
        full = None not in reached
        metrics["time_to_full_recovery_s"] = max(_num(t) for t in reached) if full else None
    metrics["reschedules"] = len(result.rows("reschedules"))


def _recovery_times(result: Result) -> None:
    """Per fault: from the fault until the last instance it took is ready again."""
    latest: dict[str, float | None] = {}
    for row in result.rows("recoveries"):
        fault = str(row["fault"])
        ready = row["recovery_s"]
        if ready is None:
            latest[fault] = None
        elif fault not in latest or latest[fault] is not None:
            latest[fault] = max(_num(ready), latest.get(fault) or 0.0)
    for row in result.table("faults"):
        row["time_to_recover_s"] = (None if row["effect"] == "compromise"
                                    else latest.get(str(row["fault"]), 0.0))


def settle_record(record: dict[str, Any], ready_s: float, machine: str,
                  last_ready_s: float | None) -> None:
    """A lost instance is ready again: its ``recoveries`` row says when, and where a
    rescheduled VM took it along."""
    if record["restarted_s"] is None:  # started as part of its rescheduled VM
        record.update(action="moved with its VM", to_machine=machine, restarted_s=last_ready_s)
    record.update(ready_s=ready_s, recovery_s=ready_s - float(record["at_s"]))


def settle_records(result: Result, updates: list[tuple[RecordKey, dict[str, Any]]]) -> None:
    """Apply what partitions reported of ``recoveries`` rows other partitions wrote."""
    if not updates:
        return
    rows = {(str(row["fault"]), str(row["instance"])): row for row in result.table("recoveries")}
    for key, update in updates:
        settle_record(rows[key], float(update["ready_s"]), str(update["to_machine"]),
                      update["last_ready_s"])


def _other_partitions(sim: Simulation) -> set[str]:
    """The scenario's machines this run leaves to other partitions (none in a whole run)."""
    if not sim.partial or not sim.scenario.faults:
        return set()
    built = sim.graph.graph
    return {machine for machine in machine_names(sim.scenario) if machine not in built}


def _models_faults(scenario: Scenario, catalog: Catalog) -> bool:
    """Whether anything in the scenario can fail: faults, rates, orchestrators, memory.

    Memory can run out where containers have cgroup limits or where a host's
    declared memory (VM allocations, workloads) nears its RAM; elsewhere a
    large fault-free fleet pays nothing for the fault model.
    """
    if scenario.faults or scenario.random_faults or scenario.orchestrators:
        return True
    for host in scenario.hosts:
        containers = (*host.containers, *(c for v in host.vms for c in v.containers))
        if any(c.memory_mib is not None for c in containers):
            return True
        declared = sum(v.count * v.memory_mib for v in host.vms)
        declared += sum(c.count * _workload_mib(catalog, c.workload) for c in host.containers)
        declared += sum(p.count * _workload_mib(catalog, p.workload) for p in host.processes)
        if declared >= PRESSURE_SHARE * host_profile(host, catalog).memory_gib * 1024:
            return True
    return False


def _workload_mib(catalog: Catalog, workload: str | None) -> float:
    return catalog.require(WorkloadProfile, workload).memory_mib if workload else 0.0


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _live_restore(graph: ResourceGraph, node: str) -> bool:
    return bool(graph.kind(node) == "container"
                and getattr(graph.graph.nodes[node].get("spec"), "live_restore", False))
