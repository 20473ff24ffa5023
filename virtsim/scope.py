"""An orchestrator's scope cut across partitions: what one partition knows of the others.

A cluster orchestrator (:mod:`virtsim.orchestration`) places the instances of
a failed host on the other hosts of its scope. When a run is cut
(:mod:`virtsim.partition`) so that a scope spans partitions, a partition's
orchestrator needs only a narrow view of the machines it does not run:

- whether each of them is **up** at the instant of a decision: a timeline of
  up/down transitions per machine (:class:`Knowledge.transitions`);
- the **placements** decided elsewhere (:class:`Placement`): they change what
  a host has left, number the replicas placed on a machine, and, when they
  target one of its own machines, start a replica there.

Decisions are taken at the end of their instant (:data:`LATE`), after every
other event of that time, in the order of the placed instance's
:attr:`Placement.rank`; so what a decision sees never depends on how the
events of one instant interleave across machines, and a run cut anywhere
takes the same decisions as one process. :mod:`virtsim.exchange` advances
the partitions of a cut scope together and settles each such instant
across them; a partition keeps what it heard in its :class:`Knowledge` and
what the others must hear, or the merged tables must carry, in its
:class:`Notes`.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from heapq import heappush
from typing import Any

import simpy
from simpy.events import EventPriority

from virtsim.profiles import HostProfile, KernelProfile
from virtsim.scenario import ContainerSpec, VmSpec

LATE = EventPriority(2)
"""SimPy priority of an orchestrator's decisions: after every urgent (0) and normal (1)
event of the same instant."""

Rank = tuple[int, int]
"""A logical instance's place in the scenario: (its machine's index, its index on the
machine). Orders the decisions of one instant, and the rows listed per instance."""

RecordKey = tuple[str, str]
"""A ``recoveries`` row: (fault, instance)."""


@dataclass(frozen=True)
class Member:
    """One instance a placement moves (the placed one, then what runs inside it), with
    its fault bookkeeping, handed to the partition that runs it next.

    Attributes:
        suffix: Its id below the placed instance (``""`` for itself, ``"/web"`` inside).
        logical: The logical instance it is.
        rank: Its place in the scenario.
        manager: Its manager's name (``""``: none).
        down_s: When its outage began (None: not down).
        downtime_s: Its downtime before that outage.
        restarts: Consecutive restarts counted for its back-off (None: none yet).
        last_ready_s: When it was last ready (None: never).
        record: Its open ``recoveries`` row (None: none).
        up: Whether it counts as running.
    """

    suffix: str
    logical: str
    rank: Rank
    manager: str
    down_s: float | None
    downtime_s: float
    restarts: int | None
    last_ready_s: float | None
    record: RecordKey | None
    up: bool


@dataclass(frozen=True)
class Placement:
    """One rescheduling decision: a logical instance placed on another machine.

    Attributes:
        at_s: When it was decided (the replica starts then).
        rank: The placed instance's rank (orders the decisions of one instant).
        logical: The logical instance placed.
        from_node: The node it ran as.
        to_machine: Where it runs now.
        number: The replica's number on ``to_machine`` (its name ``<leaf>.r<n>``).
        spec: The replica's spec (its name, one instance).
        group: Its group (the instance group the orchestrator manages).
        cpus: Its CPU demand.
        memory_mib: Its resident memory.
        members: It and what runs inside it, in the order the replica's nodes are built.
    """

    at_s: float
    rank: Rank
    logical: str
    from_node: str
    to_machine: str
    number: int
    spec: VmSpec | ContainerSpec
    group: str
    cpus: float
    memory_mib: float
    members: tuple[Member, ...] = ()

    @property
    def from_machine(self) -> str:
        """The machine it ran on."""
        return machine_of(self.from_node)

    @property
    def to_node(self) -> str:
        """The replica's node id."""
        return f"{self.to_machine}/{self.spec.name}"

    @property
    def order(self) -> tuple[float, Rank]:
        """Its place among every decision of the run."""
        return self.at_s, self.rank


Timeline = tuple[tuple[float, bool], ...]
"""A machine's up/down transitions in time order: (time, up after it)."""


@dataclass(frozen=True)
class Knowledge:
    """What a partition has heard of the others' machines.

    Attributes:
        transitions: Per machine of another partition in a cut scope: its timeline so
            far (a machine that boots at the start is down until its first transition).
    """

    transitions: dict[str, Timeline] = field(default_factory=dict)

    def is_up(self, machine: str, at_s: float, boots: bool) -> bool:
        """Whether a machine of another partition is up after every event of ``at_s``."""
        timeline = self.transitions.get(machine, ())
        index = bisect_right(timeline, (at_s, True))
        return timeline[index - 1][1] if index else not boots


@dataclass
class Notes:
    """What a partition tells the others, and the merged run.

    Attributes:
        placements: The decisions it took.
        transitions: The timelines of its machines in rescheduling scopes.
        record_updates: Changes to ``recoveries`` rows another partition wrote (an
            instance it lost became ready here), applied once the run is merged.
        fallback: Why this cut cannot give the one-process result (the run is then
            simulated with every orchestrator's scope in one partition); None: it can.
    """

    placements: list[Placement] = field(default_factory=list)
    transitions: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)
    record_updates: list[tuple[RecordKey, dict[str, Any]]] = field(default_factory=list)
    fallback: str | None = None


@dataclass(frozen=True)
class HostTraits:
    """What a placement needs to know of a candidate machine's stack.

    Attributes:
        profile: Its hardware.
        kernel: Its host kernel.
        hypervisors: The hypervisor profiles on it or on its kernel.
        bare: Whether a hypervisor runs on the machine itself (type 1).
    """

    profile: HostProfile
    kernel: KernelProfile
    hypervisors: frozenset[str]
    bare: bool


class Settle(simpy.Event):
    """The end of one instant: an event at priority :data:`LATE` (a Timeout's own way of
    being scheduled, with another priority)."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, LATE, delay)


def machine_of(node: str) -> str:
    """The machine a node id lies on (``b-0/web-1.r1`` lies on ``b-0``)."""
    return node.partition("/")[0]


def at_instant(env: simpy.Environment, time: float) -> simpy.Event:
    """An event at exactly ``time`` (not ``now`` plus a rounded difference), after every
    urgent and normal event of that instant: where a lockstep window stops."""
    event = simpy.Event(env)
    event._ok = True
    event._value = None
    heappush(env._queue, (time, LATE, next(env._eid), event))
    return event
