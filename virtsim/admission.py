"""Memory admission: a start that would exceed a host's memory waits or fails.

Every start asks its host for the memory it commits (a VM's configured RAM
and its VMM's overhead, a sandbox's microVM, a container's cgroup limit or,
without one, what it holds). The host admits it while the sum of what it
has admitted stays within its memory times ``overcommit`` (1.0: no
overcommit). A start that does not fit either fails at once with the
reason the real tools give (``policy = "fail"``), or waits, first come
first served, until enough memory is released (``policy = "wait"``); a
request larger than the whole host never fits and always fails. Nothing is
ever admitted silently beyond the limit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import simpy

Policy = Literal["wait", "fail"]


@dataclass
class MemoryAdmission:
    """One host's ledger of committed memory.

    Args:
        env: The simulation clock.
        capacity_mib: Memory the host can give to instances.
        overcommit: How many times ``capacity_mib`` may be committed (>= 1).
        policy: What a start that does not fit does: ``wait`` or ``fail``.
    """

    env: simpy.Environment
    capacity_mib: float
    overcommit: float = 1.0
    policy: Policy = "fail"
    committed_mib: float = 0.0
    held: dict[str, float] = field(default_factory=dict)
    waiting: deque[tuple[str, float, simpy.Event]] = field(default_factory=deque)
    peak_mib: float = 0.0

    def __post_init__(self) -> None:
        if self.capacity_mib <= 0:
            raise ValueError(f'"capacity_mib" must be > 0, got {self.capacity_mib}')
        if self.overcommit < 1:
            raise ValueError(f'"overcommit" must be >= 1, got {self.overcommit}')
        if self.policy not in ("wait", "fail"):
            raise ValueError(f'"policy" must be "wait" or "fail", got {self.policy!r}')

    @property
    def limit_mib(self) -> float:
        """The most that may be committed at once."""
        return self.capacity_mib * self.overcommit

    def request(self, holder: str, mib: float) -> simpy.Event | str | None:
        """Ask for ``mib`` on behalf of ``holder``.

        Returns:
            None when admitted now; an event that succeeds once admitted (the
            ``wait`` policy); or the reason it is refused.
        """
        if mib < 0:
            raise ValueError(f'"mib" must be >= 0, got {mib}')
        if holder in self.held:
            return None
        if mib > self.limit_mib:
            return (f"cannot allocate memory: {mib:,.0f} MiB asked, the host commits at most "
                    f"{self.limit_mib:,.0f} MiB")
        if not self.waiting and self._fits(mib):
            self._admit(holder, mib)
            return None
        if self.policy == "fail":
            return (f"cannot allocate memory: {mib:,.0f} MiB asked, "
                    f"{self.limit_mib - self.committed_mib:,.0f} MiB of "
                    f"{self.limit_mib:,.0f} MiB left uncommitted")
        event = self.env.event()
        self.waiting.append((holder, mib, event))
        return event

    def release(self, holder: str) -> None:
        """``holder`` stopped: give its memory back and admit who waits, in order."""
        mib = self.held.pop(holder, None)
        if mib is None:
            self.waiting = deque(w for w in self.waiting if w[0] != holder)
            return
        self.committed_mib = max(0.0, self.committed_mib - mib)
        while self.waiting and self._fits(self.waiting[0][1]):
            waiter, need, event = self.waiting.popleft()
            self._admit(waiter, need)
            event.succeed()

    def _fits(self, mib: float) -> bool:
        return self.committed_mib + mib <= self.limit_mib + 1e-9

    def _admit(self, holder: str, mib: float) -> None:
        self.held[holder] = mib
        self.committed_mib += mib
        self.peak_mib = max(self.peak_mib, self.committed_mib)
