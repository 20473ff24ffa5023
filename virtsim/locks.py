"""Serialisation points: locks that concurrent starts queue on.

Some steps of a start cannot overlap with the same step of another start,
whatever the host's free CPU: the kernel takes a global lock for them
(``rtnl`` for links, the netns mutex for network namespaces,
``namespace_sem`` for mount-namespace copies, the xtables lock for an
iptables table rewrite, ``cgroup_mutex`` for cgroup creation), or a daemon
serialises them (dockerd's container create). A :class:`SerialLock` is one
such lock: a SimPy resource of capacity one that also keeps, when asked,
the log of who held it from when to when, so tests can check that holds
never overlap. :class:`LockTable` holds one kernel's (or one daemon's)
locks by name, made on first use.
"""

from __future__ import annotations

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


class SerialLock:
    """A lock one holder at a time, first come first served.

    Args:
        env: The simulation clock.
        name: The lock's name, as shown in logs.
        log: A list to append each :class:`Hold` to on release (None: keep no log).
    """

    __slots__ = ("_held", "env", "log", "name", "resource")

    def __init__(self, env: simpy.Environment, name: str, log: list[Hold] | None = None) -> None:
        if not name:
            raise ValueError('"name" must be a non-empty lock name')
        self.env = env
        self.name = name
        self.resource = simpy.Resource(env, capacity=1)
        self.log = log
        self._held: dict[simpy.resources.resource.Request, tuple[str, float]] = {}

    def acquire(self, holder: str) -> simpy.resources.resource.Request:
        """Queue for the lock; the returned request succeeds when ``holder`` has it."""
        request = self.resource.request()
        if self.log is not None:
            request.callbacks.append(
                lambda _e: self._held.__setitem__(request, (holder, float(self.env.now))))
        return request

    def release(self, request: simpy.resources.resource.Request) -> None:
        """Give the lock up (or leave its queue if it was never granted)."""
        held = self._held.pop(request, None)
        if held is not None and self.log is not None:
            self.log.append(Hold(self.name, held[0], held[1], float(self.env.now)))
        self.resource.release(request)

    @property
    def waiting(self) -> int:
        """How many wait for the lock now."""
        return len(self.resource.queue)


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

    def __getitem__(self, name: str) -> SerialLock:
        lock = self.locks.get(name)
        if lock is None:
            lock = self.locks[name] = SerialLock(self.env, f"{self.scope}:{name}", self.log)
        return lock


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
