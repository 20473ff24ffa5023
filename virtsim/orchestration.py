"""Orchestration: who notices a failure, when, and where the lost instances start again.

Every recoverable instance has a *manager*, an orchestrators profile:

- a host-level group named in the scenario's ``[[orchestrators]]`` is
  managed by that orchestrator (Kubernetes, Docker Swarm, vSphere HA,
  OpenStack evacuate);
- any other instance whose ``restart`` policy is not ``no`` is managed by
  its local restart manager (``docker-restart`` for containers,
  ``libvirt-restart`` for VMs), which restarts it in place;
- the rest stay down.

After an instance-level failure (a guest kernel panic, a VMM or container
crash, an OOM kill, an engine crash) the manager notices it after
``instance_detection_s``, waits its restart back-off and restarts it in
place. After a host failure (machine failure, host kernel panic, hypervisor
crash) the host first has to come back: a local manager waits for it; a
cluster orchestrator races it against its detection (``node_failure_detection_s``
plus ``eviction_delay_s``). If the host is back first, the instance restarts
in place; otherwise the orchestrator reschedules it onto another host it
manages with free CPU and memory, by its placement policy:

- ``spread``: the host with the fewest instances of the group, then the most
  free memory;
- ``bin-pack``: the host with the least free memory that still fits.

A failed host is never a candidate. Capacity is the host's hardware
threads times the profile's ``cpu_overcommit`` and its memory; demand is each
instance's vCPUs (or container CPU limit) and its resident memory from the
footprint model. A rescheduled instance is built as a new node of the
fleet's graph (``<host>/<instance>.r<n>``, the n-th replica placed on that
host) and started through the lifecycle's start procedures, so image pulls,
boots and contention are real. When nothing fits, it waits for its own host
to come back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import simpy

from virtsim.catalog import Catalog
from virtsim.footprint import machine_footprint, nodes_by_machine
from virtsim.graph import ResourceGraph
from virtsim.lifecycle import Lifecycle
from virtsim.profiles import HostProfile, OrchestratorProfile
from virtsim.scenario import ContainerSpec, HostSpec, Scenario, VmSpec
from virtsim.simulation import Simulation
from virtsim.stack import build_graph

Placement = Literal["spread", "bin-pack"]
LOCAL_MANAGERS: dict[str, str] = {"container": "docker-restart", "vm": "libvirt-restart"}
"""The restart manager of an instance with a ``restart`` policy and no orchestrator."""


@dataclass(frozen=True)
class Manager:
    """One orchestrator or restart manager as the scenario configures it.

    Attributes:
        name: ``orchestrators[i]:<profile>`` or the local manager's profile name.
        profile: Its catalogue profile.
        placement: Placement policy for rescheduled instances.
        detection_s: Time from a host failure until the host is declared failed.
        machines: Machines it may place rescheduled instances on.
    """

    name: str
    profile: OrchestratorProfile
    placement: Placement
    detection_s: float
    machines: tuple[str, ...] = ()

    @property
    def reschedules(self) -> bool:
        """Whether it moves instances off a failed host (a cluster orchestrator)."""
        return self.profile.scope == "cluster"

    def backoff_s(self, restarts: int) -> float:
        """The delay before the ``restarts``-th consecutive restart (0-based)."""
        first = self.profile.restart_delay_s
        cap = max(first, self.profile.restart_delay_max_s)
        return float(min(cap, first * 2.0**restarts))


def managers(scenario: Scenario, graph: ResourceGraph, catalog: Catalog) -> dict[str, Manager]:
    """The manager of every recoverable instance of the graph, by node id."""
    by_group: dict[str, Manager] = {}
    for index, spec in enumerate(scenario.orchestrators):
        profile = catalog.require(OrchestratorProfile, spec.profile)
        hosts = set(spec.hosts) or {h.name for h in scenario.hosts
                                    if _group_names(h) & set(spec.groups)}
        machines = tuple(m for m in graph.machines() if graph.graph.nodes[m]["name"] in hosts)
        manager = Manager(f"orchestrators[{index}]:{profile.name}", profile,
                          spec.placement or profile.placement,
                          profile.node_failure_detection_s if spec.detection_s is None
                          else spec.detection_s, machines)
        by_group.update(dict.fromkeys(spec.groups, manager))
    local = {kind: Manager(name, catalog.require(OrchestratorProfile, name), "spread", 0.0)
             for kind, name in LOCAL_MANAGERS.items()}
    out: dict[str, Manager] = {}
    for node in graph.instances():
        data = graph.graph.nodes[node]
        if top_level(graph, node) and data["name"] in by_group:
            out[node] = by_group[data["name"]]
        elif str(getattr(data.get("spec"), "restart", "no")) != "no" and data["kind"] in local:
            out[node] = local[data["kind"]]
    return out


def _group_names(host: HostSpec) -> set[str]:
    return {vm.name for vm in host.vms} | {c.name for c in host.containers}


def top_level(graph: ResourceGraph, node: str) -> bool:
    """An instance not inside another instance (a VM or container of a host group)."""
    below = graph.host(node)
    while below is not None:
        data = graph.graph.nodes[below]
        if data["kind"] in ("vm", "container") and data.get("instance", True):
            return False
        below = graph.host(below)
    return True


@dataclass(frozen=True)
class HostLoad:
    """One candidate host at the moment of a placement decision."""

    machine: str
    free_cpus: float
    free_memory_mib: float
    group_count: int


def choose_host(loads: Sequence[HostLoad], cpus: float, memory_mib: float,
                policy: Placement) -> str | None:
    """The host a placement policy picks for one instance, or None if none fits.

    Ties fall to the earlier host in ``loads``.
    """
    order = {load.machine: i for i, load in enumerate(loads)}
    fits = [load for load in loads
            if load.free_cpus + 1e-9 >= cpus and load.free_memory_mib + 1e-9 >= memory_mib]
    if not fits:
        return None
    if policy == "spread":
        best = min(fits, key=lambda h: (h.group_count, -h.free_memory_mib, order[h.machine]))
    else:
        best = min(fits, key=lambda h: (h.free_memory_mib, order[h.machine]))
    return best.machine


@dataclass
class Fleet:
    """Where each logical instance runs now, and what each host has left.

    A logical instance is the node the scenario built; after a reschedule it
    runs as a replica node on another machine. The fleet's graph is the
    scenario's graph plus every replica (copied on the first reschedule, so
    the scenario's own graph stays as declared for the other models).
    """

    view: Simulation
    current: dict[str, str] = field(default_factory=dict)
    logical: dict[str, str] = field(default_factory=dict)
    cpus: dict[str, float] = field(default_factory=dict)
    memory_mib: dict[str, float] = field(default_factory=dict)
    shared_mib: dict[str, float] = field(default_factory=dict)
    top: dict[str, list[str]] = field(default_factory=dict)
    """Machine -> the logical top-level instances placed on it now."""
    replicas: dict[str, int] = field(default_factory=dict)
    """Machine -> replicas placed on it so far (numbers replica names: ``web-1.r2`` is the
    second placed there; counted per machine, so another orchestrator's moves never shift
    them)."""
    copied: bool = False

    @classmethod
    def of(cls, sim: Simulation) -> Fleet:
        """The fleet as the scenario places it, with each instance's resource demand."""
        graph = sim.graph
        fleet = cls(sim)
        sizes = _member_footprints(sim)
        on_machine: dict[str, float] = {}
        for node in graph.instances():
            machine = graph.machine(node)
            fleet.current[node] = fleet.logical[node] = node
            fleet.memory_mib[node] = sizes[machine][0][node]
            fleet.cpus[node] = _cpus(graph, node)
            if top_level(graph, node):
                on_machine[machine] = on_machine.get(machine, 0.0) + fleet.memory_mib[node]
                fleet.top.setdefault(machine, []).append(node)
        for machine, (_, host_mib) in sizes.items():
            fleet.shared_mib[machine] = host_mib - on_machine.get(machine, 0.0)
        return fleet

    @property
    def graph(self) -> ResourceGraph:
        """The fleet's graph: the scenario's plus replicas."""
        return self.view.graph

    def placed_on(self, machine: str) -> list[str]:
        """Logical top-level instances whose current node is on ``machine``."""
        return self.top.get(machine, [])

    def load(self, machine: str, group: str, overcommit: float) -> HostLoad:
        """What ``machine`` has left for one more instance of ``group``."""
        host: HostProfile = self.graph.graph.nodes[machine]["profile"]
        placed = self.placed_on(machine)
        cpus = host.cores * host.threads_per_core * overcommit - sum(self.cpus[p] for p in placed)
        memory = (host.memory_gib * 1024.0 - self.shared_mib.get(machine, 0.0)
                  - sum(self.memory_mib[p] for p in placed))
        same = sum(1 for p in placed if self.graph.graph.nodes[p]["name"] == group)
        return HostLoad(machine, cpus, memory, same)

    def add_replica(self, catalog: Catalog, logical: str, machine: str) -> list[str]:
        """Build ``logical`` again on ``machine``; its new instance nodes, outermost first."""
        graph = self.graph
        if not self.copied:  # the scenario's own graph stays as declared
            graph = ResourceGraph(graph.graph.copy())
            self.copied = True
        node = self.current[logical]
        data = graph.graph.nodes[node]
        number = self.replicas[machine] = self.replicas.get(machine, 0) + 1
        leaf = logical.rsplit("/", 1)[-1]
        spec: VmSpec | ContainerSpec = data["spec"].model_copy(
            update={"name": f"{leaf}.r{number}", "count": 1, "start_at_s": 0.0})
        host: HostSpec = graph.graph.nodes[machine]["spec"]
        kinds = {"vms": (spec,) if isinstance(spec, VmSpec) else (),
                 "containers": (spec,) if isinstance(spec, ContainerSpec) else ()}
        small = build_graph(Scenario(hosts=(host.model_copy(update={
            "name": machine, "count": 1, "processes": (), **kinds}),)), catalog)
        fresh = [n for n in small.graph.nodes if n not in graph.graph]
        for n in fresh:
            graph.graph.add_node(n, **small.graph.nodes[n])
        graph.graph.add_edges_from(e for e in small.graph.edges if e[1] in fresh)
        root = f"{machine}/{spec.name}"
        graph.graph.nodes[root]["name"] = data["name"]
        out = [n for n in nx.topological_sort(graph.graph.subgraph(fresh))
               if n in (root, *small.descendants(root)) and small.graph.nodes[n]["kind"]
               in ("vm", "container", "process") and small.graph.nodes[n].get("instance", True)]
        for new in out:
            old = node + new[len(root):]
            lg = self.logical.get(old, old)
            self.current[lg] = new
            self.logical[new] = lg
            graph.graph.nodes[new]["replica_of"] = lg
        self.top[graph.machine(node)].remove(logical)
        self.top.setdefault(machine, []).append(logical)
        self.view = dataclasses.replace(self.view, graph=ResourceGraph(graph.graph))
        return out


def _member_footprints(sim: Simulation) -> dict[str, tuple[dict[str, float], float]]:
    """Per machine: the resident memory (MiB) of each of its instances and its host total,
    from the footprint model, worked out once per host group (:mod:`virtsim.templates`)."""
    graph = sim.graph
    on = nodes_by_machine(graph)

    def one_machine(machine: str) -> tuple[dict[str, float], float]:
        sizes = machine_footprint(graph, on[machine])
        return ({n: v["memory_mib"] for n, v in sizes.per_instance.items()},
                sizes.per_host[machine]["memory_mib"])

    def renamed(sizes: tuple[dict[str, float], float],
                to: Callable[[str], str]) -> tuple[dict[str, float], float]:
        return {to(n): mib for n, mib in sizes[0].items()}, sizes[1]

    return {machine: sim.templates.per_machine("instance-memory", machine, one_machine, renamed)
            for machine in graph.machines()}


def _cpus(graph: ResourceGraph, node: str) -> float:
    data = graph.graph.nodes[node]
    if data["kind"] == "vm":
        return float(data["vcpus"])
    return float(getattr(data.get("spec"), "cpus", None) or 0.0)


@dataclass
class Recovery:
    """Runs each manager's recovery of lost instances and records its decisions."""

    lifecycle: Lifecycle
    fleet: Fleet
    managed: dict[str, Manager]
    restarts: dict[str, int] = field(default_factory=dict)
    last_ready: dict[str, float] = field(default_factory=dict)
    engine_back: dict[str, simpy.Event] = field(default_factory=dict)
    awaiting: set[str] = field(default_factory=set)
    """Logical instances lost and not yet started again."""

    def recover(self, sim: Simulation, fault: str, logical: str, host_failed: bool,
                record: dict[str, Any]) -> Generator[simpy.Event, Any, None]:
        """Detect the loss of one instance, then restart it in place or reschedule it."""
        manager = self.managed[logical]
        node = self.fleet.current[logical]
        machine = self.fleet.graph.machine(node)
        record.update(manager=manager.name)
        if host_failed:
            back = self.lifecycle.ready[machine]
            if manager.reschedules:
                declared = sim.env.timeout(manager.detection_s + manager.profile.eviction_delay_s)
                yield back | declared
                if not back.triggered:
                    record.update(detected_s=sim.now)
                    yield from self.reschedule(sim, logical, manager, record)
                    return
            else:
                yield back
            record.update(detected_s=sim.now)
        else:
            yield sim.env.timeout(manager.profile.instance_detection_s)
            record.update(detected_s=sim.now)
            yield sim.env.timeout(self.backoff(sim, logical, manager))
        runtime = self.fleet.graph.nearest_below(node, "runtime")
        if runtime in self.engine_back:
            yield self.engine_back[runtime]
        if self.fleet.current[logical] != node:  # its VM was rescheduled and took it along
            record.update(action="moved with its VM")
            self.awaiting.discard(logical)
            return
        record.update(action="restart in place", to_machine=machine, restarted_s=sim.now)
        self.start(sim, [node])

    def backoff(self, sim: Simulation, logical: str, manager: Manager) -> float:
        """The manager's back-off, doubling over consecutive failures, reset after clean running."""
        ran = sim.now - self.last_ready.get(logical, 0.0)
        if manager.profile.backoff_reset_s and ran >= manager.profile.backoff_reset_s:
            self.restarts[logical] = 0
        count = self.restarts.get(logical, 0)
        self.restarts[logical] = count + 1
        return manager.backoff_s(count)

    def reschedule(self, sim: Simulation, logical: str, manager: Manager,
                   record: dict[str, Any]) -> Generator[simpy.Event, Any, None]:
        """Place the instance on another live host by policy, or wait for its own host."""
        fleet = self.fleet
        node = fleet.current[logical]
        home = fleet.graph.machine(node)
        yield sim.env.timeout(manager.profile.restart_delay_s)
        group = str(fleet.graph.graph.nodes[node]["name"])
        loads = [fleet.load(m, group, manager.profile.cpu_overcommit) for m in manager.machines
                 if m != home and self.lifecycle.is_up(m) and _can_host(fleet.graph, node, m)]
        target = choose_host(loads, fleet.cpus[logical], fleet.memory_mib[logical],
                             manager.placement)
        if target is None:
            record.update(action="no capacity: wait for host")
            yield self.lifecycle.ready[home]
            if fleet.current[logical] != node:
                self.awaiting.discard(logical)
                return
            record.update(to_machine=home, restarted_s=sim.now)
            self.start(sim, [node])
            return
        new = fleet.add_replica(sim.catalog, logical, target)
        for n in new:
            self.lifecycle.register(fleet.view, n, fleet.logical[n])
            old = node + n[len(new[0]):]
            if sim.instances.state(old) == "crashed":
                sim.instances.move(old, "moved", cause=f"rescheduled to {target}")
        sim.result.add("reschedules", at_s=sim.now, instance=logical, from_node=node,
                       to_node=new[0], from_machine=home, to_machine=target,
                       orchestrator=manager.name, placement=manager.placement)
        record.update(action="reschedule", to_machine=target, restarted_s=sim.now)
        self.start(sim, new)

    def start(self, sim: Simulation, nodes: list[str]) -> None:
        """Start nodes (and, for an in-place VM, nothing else) through the lifecycle."""
        for node in nodes:
            self.awaiting.discard(self.fleet.logical.get(node, node))
            sim.env.process(self.lifecycle.start(self.fleet.view, node, restart=True))


def _can_host(graph: ResourceGraph, node: str, machine: str) -> bool:
    """Whether ``machine``'s stack can run the instance (same hypervisor, or an engine's OS)."""
    data = graph.graph.nodes[node]
    kernel = graph.graph.nodes[f"{machine}/kernel"]["profile"]
    if data["kind"] == "container":
        engine = graph.data[graph.runtime_of(node)]["engine"]
        return bool(kernel.family in engine.os_families)
    hyper = graph.graph.nodes[graph.host(graph.host(node) or "") or ""]["profile"]
    present = {graph.graph.nodes[n]["profile"].name for n in graph.graph.successors(machine)
               if graph.kind(n) == "hypervisor"}
    present |= {graph.graph.nodes[n]["profile"].name
                for n in graph.graph.successors(f"{machine}/kernel")
                if graph.kind(n) == "hypervisor"}
    if hyper.name in present:
        return True
    bare = any(graph.kind(n) == "hypervisor" for n in graph.graph.successors(machine))
    return bool(hyper.placement != "bare-metal" and not bare
                and kernel.family in hyper.host_families)
