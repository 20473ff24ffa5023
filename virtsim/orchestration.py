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

A decision is taken at the end of its instant (:data:`~virtsim.scope.LATE`:
after every other event of that time, the decisions of one instant in the
order of their instances in the scenario), so it sees the same hosts up and
the same load however the run is cut. A scope may span partitions
(:mod:`virtsim.scope`): a partition then sees the machines it does not run
through the templates of their host groups, their up/down timelines and the
placements decided elsewhere, and starts the replicas placed on its own.
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
from virtsim.profiles import OrchestratorProfile
from virtsim.scenario import ContainerSpec, HostSpec, Scenario, VmSpec
from virtsim.scope import HostTraits, Knowledge, Member, Placement, Rank, Settle, machine_of
from virtsim.simulation import Simulation
from virtsim.stack import build_graph, group_machines, machine_names

PlacementPolicy = Literal["spread", "bin-pack"]
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
        machines: Machines it may place rescheduled instances on (scenario order).
    """

    name: str
    profile: OrchestratorProfile
    placement: PlacementPolicy
    detection_s: float
    machines: tuple[str, ...] = ()

    @property
    def reschedules(self) -> bool:
        """Whether it moves instances off a failed host (a cluster orchestrator)."""
        return self.profile.scope == "cluster"

    @property
    def lookahead_s(self) -> float:
        """The least time from a host failure to a placement decision: detection,
        eviction and the restart delay (nothing it decides can come sooner)."""
        return self.detection_s + self.profile.eviction_delay_s + self.profile.restart_delay_s

    def backoff_s(self, restarts: int) -> float:
        """The delay before the ``restarts``-th consecutive restart (0-based)."""
        first = self.profile.restart_delay_s
        cap = max(first, self.profile.restart_delay_max_s)
        return float(min(cap, first * 2.0**restarts))


def orchestrators(scenario: Scenario, catalog: Catalog) -> list[tuple[Manager, tuple[str, ...]]]:
    """Each ``[[orchestrators]]`` entry as a manager, with the groups it manages."""
    out = []
    for index, spec in enumerate(scenario.orchestrators):
        profile = catalog.require(OrchestratorProfile, spec.profile)
        hosts = set(spec.hosts) or {h.name for h in scenario.hosts
                                    if _group_names(h) & set(spec.groups)}
        machines = tuple(m for h in scenario.hosts if h.name in hosts for m in group_machines(h))
        out.append((Manager(f"orchestrators[{index}]:{profile.name}", profile,
                            spec.placement or profile.placement,
                            profile.node_failure_detection_s if spec.detection_s is None
                            else spec.detection_s, machines), tuple(spec.groups)))
    return out


def local_managers(catalog: Catalog) -> dict[str, Manager]:
    """The restart manager of each instance kind."""
    return {kind: Manager(name, catalog.require(OrchestratorProfile, name), "spread", 0.0)
            for kind, name in LOCAL_MANAGERS.items()}


def managers(scenario: Scenario, graph: ResourceGraph, catalog: Catalog) -> dict[str, Manager]:
    """The manager of every recoverable instance of the graph, by node id."""
    by_group: dict[str, Manager] = {}
    for manager, groups in orchestrators(scenario, catalog):
        by_group.update(dict.fromkeys(groups, manager))
    local = local_managers(catalog)
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
                policy: PlacementPolicy) -> str | None:
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


@dataclass(frozen=True)
class HostTemplate:
    """One machine of a host group as a placement sees it, ids below the machine only.

    Attributes:
        traits: Its stack.
        shared_mib: Memory its instances do not account for (kernel, daemons, caches).
        members: Its top-level instances in graph order: (id below the machine, CPUs,
            resident memory, group).
    """

    traits: HostTraits
    shared_mib: float
    members: tuple[tuple[str, float, float, str], ...]


class ForeignHosts:
    """The machines of a scope that another partition runs, seen through their host
    group's template (worked out once per group, on a one-machine graph)."""

    def __init__(self, scenario: Scenario, catalog: Catalog) -> None:
        self.scenario = scenario
        self.catalog = catalog
        self.group_of = {m: host for host in scenario.hosts for m in group_machines(host)}
        self.templates: dict[str, HostTemplate] = {}

    def template(self, machine: str) -> HostTemplate:
        """The template of ``machine``'s host group."""
        host = self.group_of[machine]
        found = self.templates.get(host.name)
        if found is None:
            found = self.templates[host.name] = _template(self.scenario, self.catalog, host)
        return found


def _template(scenario: Scenario, catalog: Catalog, host: HostSpec) -> HostTemplate:
    first = group_machines(host)[0]
    graph = build_graph(scenario, catalog, {first})
    sizes = machine_footprint(graph, nodes_by_machine(graph)[first])
    members = []
    placed = 0.0
    for node in graph.instances():
        if top_level(graph, node):
            memory = sizes.per_instance[node]["memory_mib"]
            placed += memory
            members.append((node[len(first):], _cpus(graph, node), memory,
                            str(graph.graph.nodes[node]["name"])))
    return HostTemplate(host_traits(graph, first),
                        sizes.per_host[first]["memory_mib"] - placed, tuple(members))


def host_traits(graph: ResourceGraph, machine: str) -> HostTraits:
    """What a placement needs to know of ``machine``'s stack."""
    on_machine = [n for n in graph.graph.successors(machine) if graph.kind(n) == "hypervisor"]
    on_kernel = [n for n in graph.graph.successors(f"{machine}/kernel")
                 if graph.kind(n) == "hypervisor"]
    return HostTraits(graph.graph.nodes[machine]["profile"],
                      graph.graph.nodes[f"{machine}/kernel"]["profile"],
                      frozenset(graph.graph.nodes[n]["profile"].name
                                for n in (*on_machine, *on_kernel)), bool(on_machine))


@dataclass
class Fleet:
    """Where each logical instance runs now, and what each host has left.

    A logical instance is the node the scenario built; after a reschedule it
    runs as a replica node on another machine. The fleet's graph is the
    scenario's graph plus every replica placed on this run's machines (copied
    on the first, so the scenario's own graph stays as declared for the other
    models). Machines another partition runs are seen through their host
    group's template (:class:`ForeignHosts`) and the placements made there.
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
    rank: dict[str, Rank] = field(default_factory=dict)
    """Logical instance -> its place in the scenario (orders one instant's decisions)."""
    group: dict[str, str] = field(default_factory=dict)
    """Logical top-level instance -> its group."""
    local: frozenset[str] = frozenset()
    """The machines this run simulates."""
    traits: dict[str, HostTraits] = field(default_factory=dict)
    foreign: ForeignHosts | None = None
    copied: bool = False

    @classmethod
    def of(cls, sim: Simulation) -> Fleet:
        """The fleet as the scenario places it, with each instance's resource demand."""
        graph = sim.graph
        fleet = cls(sim, local=frozenset(graph.machines()))
        if sim.partial:
            fleet.foreign = ForeignHosts(sim.scenario, sim.catalog)
        sizes = _member_footprints(sim)
        index = {m: i for i, m in enumerate(machine_names(sim.scenario))}
        on_machine: dict[str, float] = {}
        counted: dict[str, int] = {}
        for node in graph.instances():
            machine = graph.machine(node)
            fleet.current[node] = fleet.logical[node] = node
            fleet.memory_mib[node] = sizes[machine][0][node]
            fleet.cpus[node] = _cpus(graph, node)
            position = counted[machine] = counted.get(machine, -1) + 1
            fleet.rank[node] = (index[machine], position)
            if top_level(graph, node):
                on_machine[machine] = on_machine.get(machine, 0.0) + fleet.memory_mib[node]
                fleet.top.setdefault(machine, []).append(node)
                fleet.group[node] = str(graph.graph.nodes[node]["name"])
        for machine, (_, host_mib) in sizes.items():
            fleet.shared_mib[machine] = host_mib - on_machine.get(machine, 0.0)
        return fleet

    @property
    def graph(self) -> ResourceGraph:
        """The fleet's graph: the scenario's plus replicas."""
        return self.view.graph

    def placed_on(self, machine: str) -> list[str]:
        """Logical top-level instances whose current node is on ``machine``."""
        self._see(machine)
        return self.top.get(machine, [])

    def host(self, machine: str) -> HostTraits:
        """The stack of ``machine``, this run's or another partition's."""
        found = self.traits.get(machine)
        if found is None:
            if machine in self.local:
                found = self.traits[machine] = host_traits(self.graph, machine)
            else:
                self._see(machine)
                found = self.traits[machine]
        return found

    def _see(self, machine: str) -> None:
        """Set up a machine of another partition from its host group's template."""
        if machine in self.local or machine in self.traits or self.foreign is None:
            return
        template = self.foreign.template(machine)
        self.traits[machine] = template.traits
        self.shared_mib[machine] = template.shared_mib
        placed = self.top[machine] = []
        for suffix, cpus, memory, group in template.members:
            node = machine + suffix
            self.cpus[node], self.memory_mib[node], self.group[node] = cpus, memory, group
            placed.append(node)

    def load(self, machine: str, group: str, overcommit: float) -> HostLoad:
        """What ``machine`` has left for one more instance of ``group``."""
        host = self.host(machine).profile
        placed = self.placed_on(machine)
        cpus = host.cores * host.threads_per_core * overcommit - sum(self.cpus[p] for p in placed)
        memory = (host.memory_gib * 1024.0 - self.shared_mib.get(machine, 0.0)
                  - sum(self.memory_mib[p] for p in placed))
        same = sum(1 for p in placed if self.group[p] == group)
        return HostLoad(machine, cpus, memory, same)

    def can_host(self, node: str, machine: str) -> bool:
        """Whether ``machine``'s stack can run the instance ``node`` (of this run's graph)."""
        return _can_host(self.graph, node, self.host(machine))

    def plan(self, logical: str, machine: str, at_s: float,
             member: Callable[[str, str], Member]) -> Placement:
        """The placement of ``logical`` (running here) on ``machine`` now: its replica's
        name and spec, and it and what runs inside it with their bookkeeping."""
        node = self.current[logical]
        graph = self.graph
        data = graph.graph.nodes[node]
        number = self.replicas.get(machine, 0) + 1
        leaf = logical.rsplit("/", 1)[-1]
        spec: VmSpec | ContainerSpec = data["spec"].model_copy(
            update={"name": f"{leaf}.r{number}", "count": 1, "start_at_s": 0.0})
        inside = sorted(n for n in graph.descendants(node)
                        if graph.graph.nodes[n]["kind"] in ("vm", "container", "process")
                        and graph.graph.nodes[n].get("instance", True))
        members = tuple(member(n[len(node):], self.logical.get(n, n)) for n in [node, *inside])
        return Placement(at_s, self.rank[logical], logical, node, machine, number, spec,
                         self.group[logical], self.cpus[logical], self.memory_mib[logical],
                         members)

    def apply(self, placement: Placement) -> None:
        """Book a placement (made here or elsewhere): the load moves, the number is taken."""
        source, target = placement.from_machine, placement.to_machine
        self._see(source)
        self._see(target)
        logical = placement.logical
        self.replicas[target] = placement.number
        placed = self.top.get(source, [])
        if logical in placed:
            placed.remove(logical)
        self.top.setdefault(target, []).append(logical)
        self.cpus[logical], self.memory_mib[logical] = placement.cpus, placement.memory_mib
        self.group[logical], self.rank[logical] = placement.group, placement.rank
        for member in placement.members:
            if member.logical in self.current or target in self.local:
                self.current[member.logical] = placement.to_node + member.suffix

    def build(self, catalog: Catalog, placement: Placement) -> list[str]:
        """Build a placement's replica on this run's target machine; its new instance
        nodes, outermost first."""
        graph = self.graph
        if not self.copied:  # the scenario's own graph stays as declared
            graph = ResourceGraph(graph.graph.copy())
            self.copied = True
        machine, spec = placement.to_machine, placement.spec
        host: HostSpec = graph.graph.nodes[machine]["spec"]
        kinds = {"vms": (spec,) if isinstance(spec, VmSpec) else (),
                 "containers": (spec,) if isinstance(spec, ContainerSpec) else ()}
        small = build_graph(Scenario(hosts=(host.model_copy(update={
            "name": machine, "count": 1, "processes": (), **kinds}),)), catalog)
        fresh = [n for n in small.graph.nodes if n not in graph.graph]
        for n in fresh:
            graph.graph.add_node(n, **small.graph.nodes[n])
        graph.graph.add_edges_from(e for e in small.graph.edges if e[1] in fresh)
        root = placement.to_node
        graph.graph.nodes[root]["name"] = placement.group
        out = [n for n in nx.topological_sort(graph.graph.subgraph(fresh))
               if n in (root, *small.descendants(root)) and small.graph.nodes[n]["kind"]
               in ("vm", "container", "process") and small.graph.nodes[n].get("instance", True)]
        members = {member.suffix: member for member in placement.members}
        for new in out:
            logical = members[new[len(root):]].logical
            self.current[logical] = new
            self.logical[new] = logical
            graph.graph.nodes[new]["replica_of"] = logical
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


@dataclass(frozen=True)
class Request:
    """A lost instance waiting for its orchestrator's decision at the end of the instant."""

    logical: str
    manager: Manager
    record: dict[str, Any]


def _no_ledger(suffix: str, logical: str) -> Member:
    return Member(suffix, logical, (0, 0), "", None, 0.0, None, None, None, False)


def _keep_nothing(member: Member) -> None:
    """Adopt no bookkeeping (a recovery without a fault model)."""


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
    knowledge: Knowledge = field(default_factory=Knowledge)
    """What this partition has heard of the others' machines (nothing in a whole run)."""
    by_name: dict[str, Manager] = field(default_factory=dict)
    """Every manager of the run by name (for instances placed here from elsewhere)."""
    made: list[Placement] = field(default_factory=list)
    """The decisions taken here, in order."""
    member: Callable[[str, str], Member] = _no_ledger
    """An instance about to move, with its fault bookkeeping (set by the fault model)."""
    adopt_member: Callable[[Member], None] = field(default=_keep_nothing)
    """Take over the fault bookkeeping of an instance placed here from elsewhere."""
    requests: dict[float, list[Request]] = field(default_factory=dict)
    boots: dict[str, bool] = field(default_factory=dict)
    driven: bool = False
    """Whether the end of an instant is driven from outside (:mod:`virtsim.exchange`: the
    partitions of a cut scope settle each instant together) rather than by an event."""
    expected: list[float] = field(default_factory=list)
    """Instants at which a decision may come, known from the failure that would cause it."""

    def attach(self, sim: Simulation) -> None:
        """In a partition: note which machines boot at the start (down until told)."""
        if sim.partial:
            self.boots = {m: host.boot for host in sim.scenario.hosts
                          for m in group_machines(host)}

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
                wait = manager.detection_s + manager.profile.eviction_delay_s
                self.expected.append(sim.now + wait + manager.profile.restart_delay_s)
                declared = sim.env.timeout(wait)
                yield back | declared
                if not back.triggered:
                    record.update(detected_s=sim.now)
                    yield sim.env.timeout(manager.profile.restart_delay_s)
                    self.request(sim, Request(logical, manager, record))
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

    def request(self, sim: Simulation, request: Request) -> None:
        """Ask for a decision at the end of this instant."""
        at = sim.now
        if not self.driven and at not in self.requests:
            Settle(sim.env, 0.0).callbacks.append(self._settler(sim, at))
        self.requests.setdefault(at, []).append(request)

    def _settler(self, sim: Simulation, at: float) -> Callable[[simpy.Event], None]:
        return lambda _event: self.settle(sim, at)

    def settle(self, sim: Simulation, at: float) -> None:
        """The end of an instant: its decisions, by the rank of their instances."""
        for request in sorted(self.requests.pop(at, []),
                              key=lambda r: self.fleet.rank[r.logical]):
            self.decide(sim, request)

    def decide_rank(self, sim: Simulation, rank: Rank) -> Placement | None:
        """Take the decision of this instant's request of ``rank`` (a driven instant); the
        placement made, if any."""
        pending = self.requests.get(sim.now, [])
        request = next(r for r in pending if self.fleet.rank[r.logical] == rank)
        pending.remove(request)
        if not pending:
            del self.requests[sim.now]
        made = len(self.made)
        self.decide(sim, request)
        return self.made[-1] if len(self.made) > made else None

    def is_up(self, sim: Simulation, machine: str) -> bool:
        """Whether a machine (this run's or another partition's) is up now."""
        if machine in self.fleet.local:
            return self.lifecycle.is_up(machine)
        return self.knowledge.is_up(machine, sim.now, self.boots.get(machine, False))

    def decide(self, sim: Simulation, request: Request) -> None:
        """Place the instance on another live host by policy, or wait for its own host."""
        fleet, logical, manager, record = self.fleet, request.logical, request.manager, \
            request.record
        node = fleet.current[logical]
        home = machine_of(node)
        group = fleet.group[logical]
        loads = [fleet.load(m, group, manager.profile.cpu_overcommit) for m in manager.machines
                 if m != home and self.is_up(sim, m) and fleet.can_host(node, m)]
        target = choose_host(loads, fleet.cpus[logical], fleet.memory_mib[logical],
                             manager.placement)
        if target is None:
            record.update(action="no capacity: wait for host")
            sim.env.process(self.wait_for_home(sim, logical, node, record))
            return
        placement = fleet.plan(logical, target, sim.now, self.member)
        self.made.append(placement)
        fleet.apply(placement)
        new = fleet.build(sim.catalog, placement) if target in fleet.local else []
        for member in placement.members:
            old = node + member.suffix
            if sim.instances.state(old) == "crashed":
                sim.instances.move(old, "moved", cause=f"rescheduled to {target}")
            self.awaiting.discard(member.logical)
        sim.result.add("reschedules", at_s=sim.now, instance=logical, from_node=node,
                       to_node=placement.to_node, from_machine=home, to_machine=target,
                       orchestrator=manager.name, placement=manager.placement)
        record.update(action="reschedule", to_machine=target, restarted_s=sim.now)
        self.launch(sim, new)

    def adopt(self, sim: Simulation, placement: Placement) -> None:
        """Book a decision taken in another partition; start its replica if it is placed here."""
        fleet = self.fleet
        fleet.apply(placement)
        if placement.to_machine not in fleet.local:
            return
        new = fleet.build(sim.catalog, placement)
        for member in placement.members:
            self.adopt_member(member)
            if member.manager:
                self.managed[member.logical] = self.by_name[member.manager]
            if member.restarts is not None:
                self.restarts[member.logical] = member.restarts
            if member.last_ready_s is not None:
                self.last_ready[member.logical] = member.last_ready_s
        self.launch(sim, new)

    def launch(self, sim: Simulation, new: list[str]) -> None:
        """Register a replica's new nodes and start them through the lifecycle."""
        for n in new:
            self.lifecycle.register(self.fleet.view, n, self.fleet.logical[n])
        self.start(sim, new)

    def wait_for_home(self, sim: Simulation, logical: str, node: str,
                      record: dict[str, Any]) -> Generator[simpy.Event, Any, None]:
        """Nothing fits: the instance starts again when its own host is back."""
        yield self.lifecycle.ready[machine_of(node)]
        if self.fleet.current[logical] != node:
            self.awaiting.discard(logical)
            return
        record.update(to_machine=machine_of(node), restarted_s=sim.now)
        self.start(sim, [node])

    def start(self, sim: Simulation, nodes: list[str]) -> None:
        """Start nodes (and, for an in-place VM, nothing else) through the lifecycle."""
        for node in nodes:
            self.awaiting.discard(self.fleet.logical.get(node, node))
            sim.env.process(self.lifecycle.start(self.fleet.view, node, restart=True))


def _can_host(graph: ResourceGraph, node: str, host: HostTraits) -> bool:
    """Whether a machine's stack can run the instance (same hypervisor, or an engine's OS)."""
    data = graph.graph.nodes[node]
    if data["kind"] == "container":
        engine = graph.data[graph.runtime_of(node)]["engine"]
        return bool(host.kernel.family in engine.os_families)
    hyper = graph.graph.nodes[graph.host(graph.host(node) or "") or ""]["profile"]
    if hyper.name in host.hypervisors:
        return True
    return bool(hyper.placement != "bare-metal" and not host.bare
                and host.kernel.family in hyper.host_families)
