"""Independence analysis: a scenario's machines split into units, and units into partitions.

A run can be cut into partitions that run in separate processes (or on a
Dask cluster) where what one partition does reaches another only in ways
the partitions can tell each other. Each machine has its own pool, locks, layer stores and
random streams (keyed by component name, :meth:`~virtsim.simulation.Simulation.stream`),
and a fault hits a node of one machine and reaches only what runs on it
(engine crashes spread to the other runtimes of the same engine on the same
kernel: still one machine). What does couple machines:

- an **orchestrator** (``[[orchestrators]]``): it places replicas of the
  instances it manages on the hosts in its scope (the host groups that run
  its ``groups`` and its ``hosts``). Its decisions come no sooner than its
  *lookahead* after a host fails (detection, eviction, restart delay), and
  what it needs of a machine is narrow: up or down, and what was placed
  there. So its scope may be cut: the partitions advance in lockstep and
  settle each instant at which a decision may come together
  (:mod:`virtsim.scope`, :mod:`virtsim.exchange`). An orchestrator with no
  lookahead (every delay zero) still joins its whole scope into one unit,
  as does every orchestrator when :func:`units` is given no catalogue;
- nothing else today: image pulls come from no shared registry or network
  bottleneck, random faults draw from one stream per (kind, component), and
  memory pressure is a machine's own. A model that comes to couple machines
  (a shared registry, a network between hosts) must join them in
  :func:`units` or tell the other partitions; ``tests/test_partition.py``
  compares cut and whole runs over random scenarios to catch one that does not.

A union-find over machines joins what must run together; each resulting
*unit* is simulated whole in one partition.

Units are then packed into partitions deterministically (the largest unit
first onto the partition with the fewest instances so far; ties to the
lower index), and each partition lists its machines in scenario order,
named as in the whole run (``rack-b-7`` stays ``rack-b-7``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from virtsim.catalog import Catalog
from virtsim.profiles import OrchestratorProfile
from virtsim.scenario import HostSpec, OrchestratorSpec, Scenario, VmSpec
from virtsim.stack import group_machines, machine_names


@dataclass(frozen=True)
class Unit:
    """Machines that interact, simulated together.

    Attributes:
        machines: Its machines, in scenario order.
        instances: How many instances they run (the weight partitions balance).
    """

    machines: tuple[str, ...]
    instances: int


class _UnionFind:
    """Disjoint sets of machine indexes; the root of a set is its smallest index."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        parent = self.parent
        root = item
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:  # path compression
            parent[item], item = root, parent[item]
        return root

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def units(scenario: Scenario, catalog: Catalog | None = None) -> list[Unit]:
    """The scenario's machines grouped into units simulated whole, in scenario order.

    A unit comes before another when its first machine does. Given the
    catalogue, an orchestrator whose scope may be cut (:func:`cuttable`) joins
    nothing; without it, every orchestrator joins its scope.
    """
    names = machine_names(scenario)
    index = {name: i for i, name in enumerate(names)}
    groups = {host.name: [index[m] for m in group_machines(host)] for host in scenario.hosts}
    sets = _UnionFind(len(names))
    for spec in scenario.orchestrators:
        if catalog is not None and cuttable(spec, catalog):
            continue
        scope = set(spec.hosts) | {h.name for h in scenario.hosts
                                   if _group_names(h) & set(spec.groups)}
        members = [i for host in scenario.hosts if host.name in scope for i in groups[host.name]]
        for i in members[1:]:
            sets.join(members[0], i)
    weight = {host.name: _instances(host) for host in scenario.hosts}
    per_machine = [weight[host.name] for host in scenario.hosts for _ in range(host.count)]
    members_of: dict[int, list[int]] = {}
    for i in range(len(names)):
        members_of.setdefault(sets.find(i), []).append(i)
    return [Unit(tuple(names[i] for i in members), sum(per_machine[i] for i in members))
            for members in members_of.values()]


def cuttable(spec: OrchestratorSpec, catalog: Catalog) -> bool:
    """Whether an orchestrator's scope may span partitions: it moves no work between
    machines, or it decides no sooner than a positive time after a host fails."""
    profile = catalog.require(OrchestratorProfile, spec.profile)
    detection = (profile.node_failure_detection_s if spec.detection_s is None
                 else spec.detection_s)
    lookahead = detection + profile.eviction_delay_s + profile.restart_delay_s
    return profile.scope != "cluster" or lookahead > 0


def _group_names(host: HostSpec) -> set[str]:
    """The instance groups (VMs, containers) an orchestrator may name on a host group."""
    return {vm.name for vm in host.vms} | {c.name for c in host.containers}


def _instances(host: HostSpec) -> int:
    """Instances on one machine of a host group: VMs, containers, processes, nested ones."""
    return (sum(_vm_instances(vm) for vm in host.vms)
            + sum(c.count for c in host.containers) + sum(p.count for p in host.processes))


def _vm_instances(vm: VmSpec) -> int:
    inside = sum(c.count for c in vm.containers) + sum(p.count for p in vm.processes)
    return vm.count * (1 + inside)


def partitions(scenario: Scenario, count: int,
               catalog: Catalog | None = None) -> list[tuple[str, ...]]:
    """The scenario's machines packed into at most ``count`` partitions of whole units
    (:func:`units`: given the catalogue, orchestrators' scopes may be cut).

    Largest unit first (by instances, then scenario order) onto the partition
    holding the fewest instances so far (ties: the lower index); empty
    partitions are dropped. Each partition lists its machines in scenario
    order. The same scenario and count always give the same partitions.

    Raises:
        ValueError: ``count`` is below 1.
    """
    if count < 1:
        raise ValueError(f'"count" must be >= 1, got {count}')
    found = units(scenario, catalog)
    order = {name: i for i, name in enumerate(machine_names(scenario))}
    load = [0] * count
    bins: list[list[str]] = [[] for _ in range(count)]
    for _, unit in sorted(enumerate(found), key=lambda u: (-u[1].instances, u[0])):
        target = min(range(count), key=lambda k: (load[k], k))
        load[target] += max(unit.instances, 1)  # a machine with no instances still costs
        bins[target].extend(unit.machines)
    return [tuple(sorted(machines, key=order.__getitem__)) for machines in bins if machines]


BATCH_INSTANCES = 5_000
"""Instances a batch holds at most (unless one unit is bigger): small enough that one
batch's simulation stays in the processor's caches (see :func:`batches`)."""


def batches(scenario: Scenario, machines: Collection[str] | None = None,
            size: int | None = None) -> list[tuple[str, ...]]:
    """``machines`` (all by default) as batches of whole units, run one after another.

    Independent machines need not share a clock: simulated in batches of a few
    thousand instances, each batch's pools, starts and records stay in the
    processor's caches, where one clock over 20,000 hosts reaches for a
    different host's objects at nearly every event (the cost per event of the
    datacenter grew 2.5x from 100 hosts to 20,000 in one clock). Batches are
    partitions like any other: the merged tables are the same bytes
    (:mod:`virtsim.merge`). Units are taken in scenario order; an orchestrator's
    scope is one unit, never cut here. ``size``: instances per batch (default
    :data:`BATCH_INSTANCES`).
    """
    size = BATCH_INSTANCES if size is None else size
    wanted = None if machines is None else set(machines)
    out: list[tuple[str, ...]] = []
    batch: list[str] = []
    held = 0
    for unit in units(scenario):
        if wanted is not None and unit.machines[0] not in wanted:
            continue
        if batch and held + unit.instances > size:
            out.append(tuple(batch))
            batch, held = [], 0
        batch.extend(unit.machines)
        held += max(unit.instances, 1)
    if batch:
        out.append(tuple(batch))
    return out
