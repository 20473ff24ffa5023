"""The instance lifecycle: one registry of every instance and its state machine.

Every VM, container and process a scenario asks for (and every replica an
orchestrator builds) is an :class:`Instance` in one :class:`InstanceRegistry`.
Its state moves only through :meth:`InstanceRegistry.move`, along the edges
of :data:`TRANSITIONS`::

    requested ─ pulling ─ starting ─ ready ─ stopping ─ stopped
        └──────────┴──────────┴────────┴─────────┴──── crashed ─ moved
                                                           └──── requested (restart in place)

- ``requested``: the scenario (or a restart) asked for it; it may wait for
  its machine, its VM or its ``start_at_s``;
- ``pulling``: its engine fetches image layers it lacks;
- ``starting``: its start stages run;
- ``ready``: it serves or computes;
- ``stopping``: its teardown stages run (its main process exited, or a stop
  was asked for);
- ``stopped``: it ended cleanly, or its runtime refused to start it;
- ``crashed``: a fault took it (its work is lost or killed);
- ``moved``: an orchestrator started a replica of it elsewhere; the replica
  is a new instance whose ``logical`` names this one.

Models do not reach into each other: each subscribes to the transitions it
cares about (:meth:`InstanceRegistry.subscribe`). Work an instance has in
flight (start stages on a pool, a batch job, a service's load) is *held*
for it (:meth:`InstanceRegistry.hold`); a transition to ``stopped``,
``crashed`` or ``moved`` cancels everything it holds, on every pool, before
any subscriber hears of it, so nothing a stopped instance started uses a
pool afterwards.

Example, from an experiment or a model's ``attach``::

    def on_ready(change: Transition) -> None:
        print(change.instance, "ready at", change.at_s)

    sim.instances.subscribe(on_ready, "ready")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

import simpy

from virtsim.graph import ResourceGraph

State = Literal["requested", "pulling", "starting", "ready", "stopping", "stopped", "crashed",
                "moved"]
STATES: tuple[State, ...] = ("requested", "pulling", "starting", "ready", "stopping", "stopped",
                             "crashed", "moved")
TRANSITIONS: dict[State | None, frozenset[State]] = {
    None: frozenset({"requested"}),
    "requested": frozenset({"pulling", "starting", "stopped", "crashed"}),
    "pulling": frozenset({"starting", "stopped", "crashed"}),
    "starting": frozenset({"ready", "stopped", "crashed"}),
    "ready": frozenset({"stopping", "crashed"}),
    "stopping": frozenset({"stopped", "crashed"}),
    "stopped": frozenset({"requested"}),
    "crashed": frozenset({"requested", "moved"}),
    "moved": frozenset(),
}
"""The state machine: from each state (``None``: not yet registered) the states it may enter."""
ENDED: frozenset[State] = frozenset({"stopped", "crashed", "moved"})
"""States in which an instance runs nothing: entering one cancels what it holds."""


class Cancellable(Protocol):
    """Work held for an instance: a start in flight, a batch job, a service's load."""

    def cancel(self) -> None:
        """Withdraw the work from every pool it uses; it never completes."""


@dataclass(frozen=True)
class Transition:
    """One change of one instance's state.

    Attributes:
        instance: The instance's node id.
        logical: The scenario instance it stands for (itself, or what a replica replaces).
        before: The state it left (``None`` when it was registered).
        after: The state it entered.
        at_s: Simulated time of the change.
        attempt: Its start attempt (1 for the first start, 2 after one restart, ...).
        cause: Why: ``start``, ``exited``, a fault kind (``container-crash``), ...
        fault: The id of the fault that caused it, or ``""``.
    """

    instance: str
    logical: str
    before: State | None
    after: State
    at_s: float
    attempt: int
    cause: str = ""
    fault: str = ""


@dataclass(eq=False, slots=True)
class Instance:
    """One instance: where it lives, its state, and the work it holds.

    Attributes:
        node: Its node id in ``graph``.
        logical: The scenario instance it stands for (a replica names the original).
        kind: ``vm``, ``container`` or ``process``.
        machine: The machine it runs on.
        group: Its group's name in the scenario.
        graph: The graph it lives in (an orchestrator's replicas live in a grown copy).
        state: Its current state (``None`` before it is first requested).
        attempt: Start attempts so far.
        since_s: When it entered its state.
        requested_s: When its current attempt was asked for.
        ready_s: When its current attempt became ready (``None``: not yet).
        reason: Why it ended, if it did (a refusal's message, a fault kind).
    """

    node: str
    logical: str
    kind: str
    machine: str
    group: str
    graph: ResourceGraph
    state: State | None = None
    attempt: int = 0
    since_s: float = 0.0
    requested_s: float = 0.0
    ready_s: float | None = None
    reason: str = ""
    held: list[Cancellable] | None = field(default=None, repr=False)
    """The work it holds (None: none; most instances hold nothing most of the time)."""

    @property
    def running(self) -> bool:
        """Whether it is up (ready, or tearing down)."""
        return self.state in ("ready", "stopping")


Subscriber = Callable[[Transition], None]


class InstanceRegistry:
    """Every instance of a run, its state machine, and who listens to its transitions."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._instances: dict[str, Instance] = {}
        self._subscribers: dict[State, list[Subscriber]] = {s: [] for s in STATES}

    # -- membership --------------------------------------------------------
    def add(self, node: str, graph: ResourceGraph, logical: str | None = None) -> Instance:
        """Register an instance of ``graph`` (a replica names the instance it replaces)."""
        if node in self._instances:
            raise ValueError(f"instance {node!r} is registered already")
        data = graph.data[node]
        instance = Instance(node, logical or node, str(data["kind"]), str(data["machine"]),
                            str(data["name"]), graph)
        self._instances[node] = instance
        return instance

    def __getitem__(self, node: str) -> Instance:
        return self._instances[node]

    def get(self, node: str) -> Instance | None:
        """The instance ``node``, or None if no such instance is registered."""
        return self._instances.get(node)

    def __contains__(self, node: object) -> bool:
        return node in self._instances

    def __iter__(self) -> Iterator[Instance]:
        """Instances in the order they were registered."""
        return iter(self._instances.values())

    def __len__(self) -> int:
        return len(self._instances)

    def state(self, node: str) -> State | None:
        """The instance's current state."""
        return self._instances[node].state

    # -- transitions -------------------------------------------------------
    def subscribe(self, subscriber: Subscriber, *states: State) -> None:
        """Call ``subscriber`` with every transition into one of ``states`` (all if none)."""
        for state in states or STATES:
            if state not in self._subscribers:
                raise ValueError(f'"states" must be among {", ".join(STATES)}, got {state!r}')
            self._subscribers[state].append(subscriber)

    def move(self, node: str, state: State, cause: str = "", fault: str = "") -> None:
        """Move an instance to ``state``; cancel its work if it ended; tell the subscribers.

        Raises:
            ValueError: The state machine has no such edge (a model's bug, not bad input).
        """
        instance = self._instances[node]
        before = instance.state
        if state not in TRANSITIONS[before]:
            raise ValueError(f"instance {node!r} cannot go from {before} to {state}")
        now = float(self.env.now)
        if state == "requested":
            instance.attempt += 1
            instance.requested_s = now
            instance.ready_s = None
            instance.reason = ""
        elif state == "ready":
            instance.ready_s = now
        if state in ENDED:
            instance.reason = instance.reason or cause
        instance.state = state
        instance.since_s = now
        if state in ENDED:
            self._cancel_held(instance)
        subscribers = self._subscribers[state]
        if subscribers:
            change = Transition(node, instance.logical, before, state, now, instance.attempt,
                                cause, fault)
            for subscriber in subscribers:
                subscriber(change)

    # -- work in flight ----------------------------------------------------
    def hold(self, node: str, work: Cancellable) -> None:
        """Hold ``work`` for ``node``: it is cancelled when the instance stops or crashes."""
        instance = self._instances[node]
        if instance.held is None:
            instance.held = [work]
        else:
            instance.held.append(work)

    def release(self, node: str, work: Cancellable) -> None:
        """``work`` completed: the instance no longer holds it."""
        instance = self._instances[node]
        held = instance.held
        if held is None:
            return
        for k in range(len(held) - 1, -1, -1):  # the newest is usually the one done
            if held[k] is work:
                del held[k]
                if not held:
                    instance.held = None
                return

    def _cancel_held(self, instance: Instance) -> None:
        held, instance.held = instance.held, None
        for work in held or ():
            work.cancel()
