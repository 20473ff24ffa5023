"""Serialisation points: locks that concurrent starts queue on.

Some steps of a start cannot overlap with the same step of another start,
whatever the host's free CPU: the kernel takes a global lock for them
(``rtnl`` for links, the netns mutex for network namespaces,
``namespace_sem`` for mount-namespace copies, the xtables lock for an
iptables table rewrite, ``cgroup_mutex`` for cgroup creation), or a daemon
serialises them (dockerd's container create). A :class:`SerialLock` is one
such lock: one holder at a time, first come first served, handed over in
the instant it is released (no SimPy event per hand-over), keeping when
asked the log of who held it from when to when, so tests can check that
holds never overlap. :class:`LockTable` holds one kernel's (or one daemon's)
locks by name, made on first use.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import simpy


@dataclass(frozen=True)
class Hold:
    """One holder's time with a lock."""

    lock: str
    holder: str
    start_s: float
    end_s: float


_NO_QUEUE: deque[Ticket] = deque(maxlen=0)
"""The queue of a lock nobody has waited for (shared and always empty: a deque costs
600 bytes, and a host has a dozen locks most of which nobody ever waits for)."""


class Ticket:
    """One holder's place at a :class:`SerialLock`: queued, then holding it.

    Attributes:
        holder: Who asked (an instance id), for the log.
        granted: Whether it holds the lock (it queues until then).
        since: When it was granted the lock.
    """

    __slots__ = ("granted", "holder", "lock", "on_grant", "since")

    def __init__(self, lock: SerialLock, holder: str,
                 on_grant: Callable[[Ticket], None]) -> None:
        self.lock = lock
        self.holder = holder
        self.on_grant = on_grant
        self.granted = False
        self.since = 0.0

    def release(self) -> None:
        """Give the lock up, or leave its queue if it was not granted yet."""
        self.lock.give_back(self)


class SerialLock:
    """A lock one holder at a time, first come first served.

    :meth:`take` grants the lock at once when it is free (the caller's
    callback runs before ``take`` returns) and otherwise queues; releasing
    it grants it to the next in the queue in the same instant, without a
    SimPy event in between. :meth:`acquire` is the same as a SimPy event, for
    processes that ``yield`` it.

    Args:
        env: The simulation clock.
        name: The lock's name, as shown in logs.
        log: A list to append each :class:`Hold` to on release (None: keep no log).
    """

    __slots__ = ("_events", "_holder", "_queue", "before_take", "env", "log", "name")

    def __init__(self, env: simpy.Environment, name: str, log: list[Hold] | None = None) -> None:
        if not name:
            raise ValueError('"name" must be a non-empty lock name')
        self.env = env
        self.name = name
        self.log = log
        self._holder: Ticket | None = None
        self._queue: deque[Ticket] = _NO_QUEUE  # a deque of its own once someone waits
        self._events: dict[simpy.Event, Ticket] = {}
        self.before_take: Callable[[], None] | None = None
        """Hook called before every :meth:`take` (a kernel's planned hand-overs settle)."""

    def take(self, holder: str, on_grant: Callable[[Ticket], None]) -> Ticket:
        """Queue ``holder`` for the lock; ``on_grant(ticket)`` is called when it has it."""
        if self.before_take is not None:
            self.before_take()
        ticket = Ticket(self, holder, on_grant)
        if self._holder is None and not self._queue:
            self._grant(ticket)
        else:
            if self._queue is _NO_QUEUE:
                self._queue = deque()
            self._queue.append(ticket)
        return ticket

    def give_back(self, ticket: Ticket) -> None:
        """Release the lock ``ticket`` holds (the next in the queue has it now), or take
        ``ticket`` out of the queue."""
        if ticket is not self._holder:
            if ticket in self._queue:
                self._queue.remove(ticket)
            return
        self._holder = None
        if self.log is not None:
            self.log.append(Hold(self.name, ticket.holder, ticket.since, float(self.env.now)))
        if self._queue:
            self._grant(self._queue.popleft())

    def _grant(self, ticket: Ticket) -> None:
        self._holder = ticket
        ticket.granted = True
        ticket.since = float(self.env.now)
        ticket.on_grant(ticket)

    def acquire(self, holder: str) -> simpy.Event:
        """Queue for the lock; the returned event succeeds when ``holder`` has it."""
        event = self.env.event()

        def granted(_ticket: Ticket) -> None:
            event.succeed()

        self._events[event] = self.take(holder, granted)
        return event

    def release(self, request: simpy.Event) -> None:
        """Give up the lock :meth:`acquire` asked for (or leave its queue)."""
        self.give_back(self._events.pop(request))

    @property
    def waiting(self) -> int:
        """How many wait for the lock now."""
        return len(self._queue)

    @property
    def free(self) -> bool:
        """Whether nobody holds the lock or waits for it."""
        return self._holder is None and not self._queue


class LockTable:
    """The named locks of one kernel or daemon, each made the first time it is asked for.

    Args:
        env: The simulation clock.
        scope: What the locks belong to (a kernel node), prefixed to log names.
        log: Where every lock of the table logs its holds (None: no log).
    """

    def __init__(self, env: simpy.Environment, scope: str, log: list[Hold] | None = None) -> None:
        self.env = env
        self.scope = scope
        self.log = log
        self.locks: dict[str, SerialLock] = {}
        self._before_take: Callable[[], None] | None = None

    def __getitem__(self, name: str) -> SerialLock:
        lock = self.locks.get(name)
        if lock is None:
            lock = self.locks[name] = SerialLock(self.env, f"{self.scope}:{name}", self.log)
            lock.before_take = self._before_take
        return lock

    @property
    def before_take(self) -> Callable[[], None] | None:
        """Hook called before any of the table's locks is taken (see :class:`SerialLock`)."""
        return self._before_take

    @before_take.setter
    def before_take(self, hook: Callable[[], None] | None) -> None:
        self._before_take = hook
        for lock in self.locks.values():
            lock.before_take = hook


def overlaps(holds: list[Hold]) -> list[tuple[Hold, Hold]]:
    """Pairs of holds of the same lock that overlap in time (empty when serialised)."""
    by_lock: dict[str, list[Hold]] = {}
    for hold in holds:
        by_lock.setdefault(hold.lock, []).append(hold)
    clashes: list[tuple[Hold, Hold]] = []
    for same in by_lock.values():
        same.sort(key=lambda h: (h.start_s, h.end_s))
        for before, after in pairwise(same):
            if after.start_s < before.end_s - 1e-12:
                clashes.append((before, after))
    return clashes
