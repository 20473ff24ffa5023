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
containers of that engine on that kernel (the daemon is their parent unless
live restore is on, modelled here as off, Docker's default).

Recovery reuses the lifecycle's start procedures, so it takes real start
time under contention: a machine or host-kernel fault reboots the machine
first; instances whose ``restart`` policy is not ``no`` then start again
(containers after the engine's restart back-off).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Literal

import simpy

from virtsim.compat import version_lt
from virtsim.errors import InputError
from virtsim.graph import ResourceGraph
from virtsim.lifecycle import Lifecycle
from virtsim.profiles import EngineProfile, ExploitProfile, KernelProfile
from virtsim.scenario import FaultSpec
from virtsim.simulation import Simulation

FaultKind = Literal[
    "machine-failure", "host-kernel-panic", "hypervisor-crash", "vmm-crash",
    "guest-kernel-panic", "engine-crash", "container-crash", "oom-kill",
    "container-escape", "vm-escape",
]
FAULT_KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]
REBOOTS_MACHINE = frozenset({"machine-failure", "host-kernel-panic", "hypervisor-crash"})


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


class FaultModel:
    """Injects the scenario's faults, records blast radius, downtime and recovery."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.down: dict[str, float] = {}
        self.downtime: dict[str, float] = {}
        self.compromised: set[str] = set()

    def attach(self, sim: Simulation) -> None:
        """Check every fault's target, then schedule it."""
        self.down.clear()
        self.downtime.clear()
        self.compromised.clear()
        for index, spec in enumerate(sim.scenario.faults):
            radius = self._resolve(sim, index, spec)
            sim.env.process(self.inject(sim, index, spec, radius))

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

    def inject(self, sim: Simulation, index: int, spec: FaultSpec,
               radius: BlastRadius) -> Generator[simpy.Event, Any, None]:
        """Wait for the fault's time, stop what it reaches, then recover."""
        yield sim.env.timeout(spec.at_s)
        graph = sim.graph
        fleet = sum(1 for _ in graph.instances())
        compromise = spec.kind.endswith("escape")
        succeeded, why = True, "injected"
        if spec.exploit is not None:
            exploit = sim.catalog.require(ExploitProfile, spec.exploit)
            succeeded, why = exploit_succeeds(graph, exploit, spec.kind, spec.target)
            if not succeeded:  # contained: the attacker keeps only the target itself
                radius = BlastRadius(spec.target, frozenset({spec.target}), (spec.target,))
        sim.result.add("faults", fault=index, kind=spec.kind, target=spec.target,
                       at_s=sim.now, origin=radius.origin, instances=len(radius.instances),
                       fleet_share=len(radius.instances) / fleet if fleet else 0.0,
                       effect="compromise" if compromise else "crash",
                       exploit=spec.exploit or "", crossed=succeeded, why=why)
        if compromise:
            self.compromised.update(radius.instances)
        for node in radius.instances:
            sim.result.add("blast_radius", fault=index, kind=spec.kind, instance=node,
                           path=reach_path(graph, radius.origin, node))
        if compromise:
            return
        for node in radius.instances:
            self.down.setdefault(node, sim.now)
        machine = graph.machine(radius.origin)
        if spec.kind in REBOOTS_MACHINE or graph.kind(radius.origin) == "machine":
            self.lifecycle.ready[machine] = sim.env.event()
            sim.env.process(self.lifecycle.power_on(sim, machine))
        for node in radius.instances:
            if _restart_policy(graph, node) != "no":
                sim.env.process(self.restart(sim, node))

    def restart(self, sim: Simulation, node: str) -> Generator[simpy.Event, Any, None]:
        """Start an instance again after its back-off; record its downtime."""
        graph = sim.graph
        if graph.kind(node) == "container":
            runtime = next(a for a in graph.ancestors(node) if graph.kind(a) == "runtime")
            yield sim.env.timeout(graph.graph.nodes[runtime]["engine"].restart_delay_s)
        self.lifecycle.ready[node] = sim.env.event()
        yield sim.env.process(self.lifecycle.start(sim, node, restart=True))
        began = self.down.pop(node, sim.now)
        self.downtime[node] = self.downtime.get(node, 0.0) + sim.now - began

    def report(self, sim: Simulation) -> None:
        """Downtime per instance, availability over the run, recovery time per fault."""
        if not sim.scenario.faults:
            return
        end = sim.now
        instances = list(sim.graph.instances())
        total_down = 0.0
        for node in instances:
            down = self.downtime.get(node, 0.0)
            if node in self.down:  # never recovered within the run
                down += end - self.down[node]
            total_down += down
            sim.result.add("downtime", instance=node, downtime_s=down,
                           recovered=node not in self.down)
        sim.result.metrics["availability"] = (
            1 - total_down / (len(instances) * end) if instances and end > 0 else 1.0)
        sim.result.metrics["blast_radius"] = {
            f"{r['fault']}:{r['kind']}": r["instances"] for r in sim.result.table("faults")}
        sim.result.metrics["unrecovered_instances"] = len(self.down)
        sim.result.metrics["compromised_instances"] = len(self.compromised)


def _restart_policy(graph: ResourceGraph, node: str) -> str:
    spec = graph.graph.nodes[node].get("spec")
    return str(getattr(spec, "restart", "no"))
