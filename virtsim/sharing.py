"""Fluid sharing: max-min fair rates of concurrent activities over a host's resources.

An *activity* needs a fixed amount of work on each of a host's resources
(CPU core-seconds, MiB from disk, MiB over the network, ...) and progresses
on all of them in proportion, like a SimGrid parallel task: at progress rate
``r`` (fraction of its work per second) it uses ``r * work[j]`` of resource
``j`` per second. Rates are weighted max-min fair (progressive filling):
every activity's rate rises with its weight until a resource it uses is
saturated or it reaches its own cap (a single thread, a cgroup limit).

:class:`FluidPool` drives this inside SimPy. Rates are recomputed only when
the set of activities changes (never per unit of work), all changes at one
instant are coalesced into one recomputation, and one timeout is pending per
pool, for its next completion or arrival. While every activity fits at its
own pace nothing is solved at all (see :class:`FluidPool`); with many
activities in contention the rates are solved with numpy, with a few in plain
Python.

Two documented hooks extend it: ``capacity_scale`` shrinks capacity with
the *interfering* work in flight (shared caches and memory controllers serve
co-running workloads worse; an activity started with ``interferes=True`` is
such a workload), and ``listeners`` are called after every recomputation (to
record the rates a service had over an interval). A pool can grow a resource
while it runs (:meth:`FluidPool.add_resource`: a new capped group), and
:meth:`FluidPool.cancel` withdraws work that will never complete.
"""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL

_EPS = 1e-12
# Work rows are checked against the pool's resources when work starts (and rows of a
# matrix have its width), so the hot loops below zip them without strict=True, which
# costs a third of such a loop.


def max_min_rates(work: np.ndarray, capacity: np.ndarray, weights: np.ndarray,
                  caps: np.ndarray) -> np.ndarray:
    """Weighted max-min fair progress rates.

    Args:
        work: ``(n, m)`` work of each activity on each resource (>= 0).
        capacity: ``(m,)`` capacity of each resource per second (> 0).
        weights: ``(n,)`` share weights (> 0).
        caps: ``(n,)`` upper bound on each activity's rate (``inf`` for none).

    Returns:
        ``(n,)`` rates such that no resource is used beyond its capacity, no
        activity exceeds its cap, and every activity is either at its cap or
        uses a saturated resource.

    Fairness is on the *dominant share* (the largest fraction of any one
    resource an activity uses), so two jobs on one CPU each get half of it
    whatever their sizes, as a fair scheduler gives them.
    """
    n = work.shape[0]
    if n == 0:
        return np.zeros(0)
    if n == 1:  # alone: the tightest resource or its cap (no numpy overhead on the hot path)
        return np.array([_alone_rate(work[0].tolist(), capacity.tolist(), float(caps[0]))])
    if n <= SMALL:  # a few activities: plain Python beats numpy's per-call overhead
        return np.array(_small_max_min(work.tolist(), capacity.tolist(), weights.tolist(),
                                       caps.tolist()))
    return _numpy_max_min(work, capacity, weights, caps)


def _numpy_max_min(work: np.ndarray, capacity: np.ndarray, weights: np.ndarray,
                   caps: np.ndarray) -> np.ndarray:
    """:func:`max_min_rates` for many activities, vectorised."""
    # Work below 1e-12 or a billionth of an activity's largest is numerical dust.
    work = np.where((work > _EPS) & (work > 1e-9 * work.max(axis=1, keepdims=True)), work, 0.0)
    size = (work / capacity).max(axis=1)  # dominant resource-seconds per unit of progress
    scale = np.where(size > 0, size, 1.0)
    shares = _progressive_fill(work / scale[:, None], capacity, weights, caps * scale)
    return np.asarray(shares / scale)


SMALL = 8
"""Up to this many activities, rates are solved in plain Python (same algorithm)."""


def _small_max_min(work: list[list[float]], capacity: list[float], weights: list[float],
                   caps: list[float]) -> list[float]:
    """:func:`max_min_rates` for a few activities, without numpy."""
    scaled: list[list[float]] = []
    scales: list[float] = []
    for row in work:
        biggest = max(row)
        row = [w if w > _EPS and w > 1e-9 * biggest else 0.0 for w in row]
        size = max(w / c for w, c in zip(row, capacity, strict=False))
        scales.append(size if size > 0 else 1.0)
        scaled.append([w / scales[-1] for w in row])
    ceiling = [c * s for c, s in zip(caps, scales, strict=False)]
    rates = [0.0] * len(work)
    active: list[int] = []
    for i, row in enumerate(scaled):
        if sum(row) <= _EPS:  # no work anywhere: limited only by its cap
            rates[i] = ceiling[i] if ceiling[i] != np.inf else 0.0
        else:
            active.append(i)
    remaining = list(capacity)
    columns = range(len(capacity))
    while active:
        demand = [sum(weights[i] * scaled[i][j] for i in active) for j in columns]
        level_res = [remaining[j] / demand[j] if demand[j] > _EPS else np.inf for j in columns]
        level_cap = {i: (ceiling[i] - rates[i]) / weights[i] for i in active}
        step = min(min(level_res), min(level_cap.values()))
        if step == np.inf:
            break  # pragma: no cover - an active activity always has work or a cap
        step = max(step, 0.0)
        for i in active:
            rates[i] += weights[i] * step
        remaining = [max(r - d * step, 0.0) for r, d in zip(remaining, demand, strict=False)]
        saturated = [j for j in columns if level_res[j] <= step * (1 + 1e-9) + _EPS]
        frozen = {i for i in active if level_cap[i] <= step * (1 + 1e-9) + _EPS
                  or any(scaled[i][j] > 0 for j in saturated)}
        if not frozen:  # numerical dust: stop rather than spin
            break
        active = [i for i in active if i not in frozen]
    return [r / s for r, s in zip(rates, scales, strict=False)]


def _alone_rate(work: list[float], capacity: list[float], cap: float) -> float:
    """:func:`max_min_rates` for one activity: its tightest resource, or its cap."""
    biggest = max(work)
    rate = cap
    for amount, room in zip(work, capacity, strict=False):
        if amount > _EPS and amount > 1e-9 * biggest:
            rate = min(rate, room / amount)
    return rate if rate != np.inf else 0.0


def _sparse_alone_rate(nonzero: list[tuple[int, float]], capacity: list[float],
                       cap: float) -> float:
    """:func:`_alone_rate` over the (index, work) pairs where an activity has work."""
    biggest = max((w for _, w in nonzero), default=0.0)
    rate = cap
    for j, amount in nonzero:
        if amount > _EPS and amount > 1e-9 * biggest:
            rate = min(rate, capacity[j] / amount)
    return rate if rate != np.inf else 0.0


def _progressive_fill(work: np.ndarray, capacity: np.ndarray, weights: np.ndarray,
                      caps: np.ndarray) -> np.ndarray:
    n = work.shape[0]
    rates = np.zeros(n)
    active = np.ones(n, dtype=bool)
    # An activity with no work anywhere is limited only by its cap.
    idle = work.sum(axis=1) <= _EPS
    rates[idle] = np.where(np.isfinite(caps[idle]), caps[idle], 0.0)
    active &= ~idle
    remaining = capacity.astype(float).copy()
    while active.any():
        demand = weights[active] @ work[active]  # per resource, per unit of level
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            level_res = np.where(demand > _EPS, remaining / demand, np.inf)
        level_cap = (caps[active] - rates[active]) / weights[active]
        step = min(level_res.min(initial=np.inf), level_cap.min(initial=np.inf))
        if not np.isfinite(step):
            break  # pragma: no cover - an active activity always has work or a cap
        step = max(step, 0.0)
        rates[active] += weights[active] * step
        remaining -= demand * step
        saturated = level_res <= step * (1 + 1e-9) + _EPS
        frozen = (level_cap <= step * (1 + 1e-9) + _EPS)
        if saturated.any():
            frozen |= (work[active][:, saturated] > 0).any(axis=1)
        if not frozen.any():  # numerical dust: stop rather than spin
            break
        idx = np.flatnonzero(active)
        active[idx[frozen]] = False
        remaining = np.maximum(remaining, 0.0)
    return rates


class _WakeUp:
    """A pool's wake-up in SimPy's queue: what SimPy reads of an event, and no more.

    SimPy processes an entry of its queue by calling its ``callbacks`` with it
    and checking ``_ok``; a :class:`simpy.Timeout` would also keep its delay and
    environment and go through :meth:`simpy.Environment.schedule`, and the
    pool wakes once per completion.
    """

    __slots__ = ("_ok", "_value", "callbacks", "pool", "when")

    def __init__(self, pool: FluidPool, when: float) -> None:
        self._ok = True
        self._value: object = None
        self.callbacks: list[Callable[[_WakeUp], None]] | None = [_ring]
        self.pool = pool
        self.when = when


def _ring(wake: _WakeUp) -> None:
    wake.pool._wake(wake.when)


def _instant(now: float, slack: float = 1e-12) -> float:
    """The latest time that still counts as ``now``: ``slack`` seconds later, or more
    where the clock's own rounding is coarser (a clock at 3e9 s steps by ~5e-7 s)."""
    return now + max(slack, 1e-14 * abs(now))


FINISH_SLACK = 1e-9
"""Work due to finish within this many seconds of a moment finishes at it."""


class Activity:
    """Work in flight on one :class:`FluidPool`.

    Attributes:
        row: Work on each of the pool's resources, in the pool's order.
        weight: Share weight.
        cap: Maximum progress rate (fraction of the work per second) at full speed:
            its threads; it falls when a ``capacity_scale`` hook slows a resource it uses.
        limit: Maximum progress rate whatever the speed (work that has not arrived yet).
        progress: Fraction of the work completed by time ``since``.
        since: When ``progress`` was last brought up to date.
        rate: Current progress rate.
        begins: When it starts to progress (after its latency).
        ends: When it completes at its current rate (``inf`` if it is not progressing).
        finished: Whether the work is complete.
    """

    __slots__ = ("_done", "_env", "_on_done", "begins", "cancelled", "cap", "ends", "finished",
                 "interferes", "klass", "limit", "nonzero", "own", "owner", "progress", "rate",
                 "row", "since", "weight")

    def __init__(self, env: simpy.Environment, work: list[float], weight: float, cap: float,
                 limit: float, on_done: Callable[[], None] | None) -> None:
        self.row = work
        self.nonzero = [(j, w) for j, w in enumerate(work) if w > 0]
        """(resource index, work) where it has work: rows are wide (a column per capped
        group) and mostly zero, so the bookkeeping loops walk these only."""
        self.weight = weight
        self.cap = cap
        self.limit = limit
        self.progress = 0.0
        self.rate = 0.0
        self.begins = self.since = 0.0
        self.ends = np.inf
        self.own = 0.0
        """Its rate alone on the pool (its tightest resource, or its ceiling)."""
        self.finished = False
        self.cancelled = False
        """Withdrawn before it completed (:meth:`FluidPool.cancel`): it never will."""
        self.owner = ""
        """Whose work it is (an instance or machine id), for reports and checks."""
        self.interferes = False
        """Whether it counts as a co-running workload for the ``capacity_scale`` hook."""
        self._env = env
        self._done: simpy.Event | None = None
        self._on_done = on_done
        self.klass: tuple[object, float] | None = None
        """Its shape for max-min sharing and its scale (see :meth:`FluidPool._klass`)."""

    @property
    def work(self) -> np.ndarray:
        """Work on each of the pool's resources, in the pool's order."""
        return np.array(self.row)

    @property
    def done(self) -> simpy.Event:
        """SimPy event that succeeds when the work is complete (made on first use)."""
        if self._done is None:
            self._done = self._env.event()
            if self.finished:
                self._done.succeed()
        return self._done

    @property
    def idle(self) -> bool:
        """No work and no ceiling: complete the moment it joins."""
        return min(self.cap, self.limit) == np.inf and sum(self.row) <= _EPS

    def bring_to(self, now: float) -> None:
        """Bring ``progress`` up to ``now`` at the current rate."""
        since = self.begins if self.begins > self.since else self.since
        if now > since:
            self.progress = min(1.0, self.progress + self.rate * (now - since))
        self.since = now

    def _finish(self) -> None:
        self.finished = True
        self.progress = 1.0
        self.rate = 0.0
        if self._done is not None:
            self._done.succeed()
        if self._on_done is not None:
            self._on_done()


Piece = tuple[list[float], float, float]
"""One piece of a chain: its work row, its cap, its latency before the work (seconds)."""


class Chain(Activity):
    """Pieces of work one after another, planned as one activity (see :meth:`FluidPool.chain`).

    While it is in flight the pool counts its *envelope* (the most each
    resource is used by any one piece) as committed, and wakes only when its
    last piece completes. Whatever could make a piece run otherwise than
    planned (a newcomer that does not fit beside the envelope, a cancel, a
    recomputation, a moment of the pool within slack of one of its
    boundaries) first *splits* it: the pieces done by now complete as
    planned, the piece in flight becomes an ordinary activity in exactly the
    state it would have had, stage by stage, and ``on_split`` is told.

    Attributes:
        pieces: (row, cap, latency) of each piece.
        starts: When each piece starts (the moment the one before completed).
        begins: When each piece's work begins (after its latency); for a piece
            with no work, when it arrives.
        bounds: The moment each piece completes.
        owns: Each piece's rate alone (0 for a piece with no work).
    """

    __slots__ = ("begins_at", "bounds", "on_split", "owns", "pieces", "sparse", "split", "starts")

    def __init__(self, env: simpy.Environment, envelope: list[float],
                 pieces: Sequence[Piece], on_done: Callable[[], None] | None,
                 on_split: Callable[[int, Activity], None]) -> None:
        super().__init__(env, envelope, 1.0, np.inf, np.inf, on_done)
        self.pieces = pieces
        self.on_split = on_split
        self.starts: list[float] = []
        self.begins_at: list[float] = []
        self.bounds: list[float] = []
        self.owns: list[float] = []
        self.sparse: list[list[tuple[int, float]]] = []
        """Each piece's (resource index, work) where it has work."""
        self.split = False


class FluidPool:
    """A host's resources shared by concurrent activities at max-min fair rates.

    The pool keeps one pending SimPy timeout, for its next *moment*: the
    earliest completion or delayed arrival. At a moment it admits the
    arrivals due, completes what has finished (whose callbacks may start
    more work at once), and only then, if the set of activities changed,
    brings progress up to date and recomputes the rates. Completion times
    sit in a heap, so a moment that changes no rate costs a few heap
    operations, whatever the number of activities.

    While the pool is *uncontended* (every activity runs at its own maximum
    and all of them fit in the capacity together) no rate depends on any
    other, so an activity that also fits joins at once, even with a latency
    before it, and runs at its own pace: its arrival needs no moment and
    nothing is recomputed when it comes or goes. The first activity that does
    not fit ends that regime and rates are solved again. A chain of work (a
    start's stages) thus costs about one event per piece of work, not a SimPy
    process resuming several times for each.
    """

    def __init__(self, env: simpy.Environment, resources: Sequence[str],
                 capacity: Sequence[float]) -> None:
        if len(resources) != len(capacity):
            raise ValueError('"resources" and "capacity" must have the same length')
        if any(c <= 0 for c in capacity):
            raise ValueError(f'"capacity" must be > 0, got {list(capacity)}')
        self.env = env
        self.resources = tuple(resources)
        self.capacity = np.asarray(capacity, dtype=float)
        self._active: dict[Activity, None] = {}
        """Admitted activities, in order of admission."""
        self._arrivals: list[tuple[float, int, Activity]] = []
        self._ends: list[tuple[float, int, Activity]] = []
        """Completion times (entries whose activity has left or re-planned are stale)."""
        self._order = itertools.count()
        self._stepping = False
        self._changed = False
        self._wake_at = np.inf
        self._scheduled: set[float] = set()
        """Times for which a wake-up is pending in SimPy's queue (current or superseded)."""
        self.recomputations = 0
        self._capacity_list: list[float] = self.capacity.tolist()
        self._uncontended = True
        self._committed = [0.0] * len(self.resources)
        """In the uncontended regime: what every admitted activity uses at its own pace."""
        self._work_done = [0.0] * len(self.resources)
        """Work of the activities that completed or were withdrawn."""
        self.capacity_scale: Callable[[np.ndarray], np.ndarray] | None = None
        """Hook: work matrix of the interfering activities in flight -> factor (<= 1) on
        each resource's capacity (and on the cap of every activity using that resource).
        It is consulted only while two or more activities interfere: with fewer it must
        return ones (no co-runner, no loss)."""
        self.capacity_scale_rows: Callable[[list[list[float]]], list[float]] | None = None
        """The same hook on the work rows as lists, if given: with a few activities in
        flight the rates are solved without numpy, and so is the hook."""
        self._interfering = 0
        self._effective: np.ndarray | list[float] = self.capacity.copy()
        self.listeners: list[Callable[[FluidPool], None]] = []
        """Hooks called with the pool after every recomputation of rates."""
        self._shape: dict[object, int] | None = None
        """Contended: how many activities of each shape the last solve shared among."""
        self._share: dict[object, float] = {}
        """Contended: each shape's rate times its scale in the last solve."""
        self._gone: list[Activity] = []
        self._came: list[Activity] = []
        """What completed and what joined (contended) since the last solve."""
        self._irregular = False
        """Something else changed since the last solve (a cancel, a co-runner)."""
        self.swaps = True
        """Keep the rates on a swap of like for like (:meth:`_swap`); False solves again at
        every change (to check the shortcut against)."""
        self._chains: dict[Chain, None] = {}
        """Chains in flight (only ever while the pool is uncontended)."""
        self._marks: list[tuple[float, int, Chain]] = []
        """The inner boundaries of the chains in flight (entries of split chains are stale)."""

    @property
    def effective_capacity(self) -> np.ndarray:
        """Each resource's capacity now: ``capacity`` less what co-runners cost it (the
        ``capacity_scale`` hook)."""
        return np.asarray(self._effective, dtype=float)

    @property
    def activities(self) -> list[Activity]:
        """The activities admitted and not complete, in order of admission."""
        self.split_chains()
        return list(self._active)

    @property
    def pending(self) -> list[Activity]:
        """The activities started that wait out their latency before they join."""
        self.split_chains()
        return [a for _, _, a in self._arrivals]

    def index(self, resource: str) -> int:
        """Position of a named resource in the work vectors."""
        return self.resources.index(resource)

    def add_resource(self, name: str, capacity: float) -> int:
        """Add a resource (a capped group's CPU column) while the pool runs; its index.

        Work in flight uses none of it.
        """
        if capacity <= 0:
            raise ValueError(f'"capacity" must be > 0, got {capacity}')
        if name in self.resources:
            raise ValueError(f"resource {name!r} exists already")
        self.split_chains()
        self.resources = (*self.resources, name)
        self.capacity = np.append(self.capacity, float(capacity))
        self._effective = np.append(self.effective_capacity, float(capacity))
        self._capacity_list.append(float(capacity))
        self._committed.append(0.0)
        self._work_done.append(0.0)
        for activity in self._active:
            activity.row.append(0.0)
        for _, _, activity in self._arrivals:
            activity.row.append(0.0)
        return len(self.resources) - 1

    @property
    def _scaling(self) -> bool:
        """Whether the ``capacity_scale`` hook applies now (two or more interfere)."""
        return self.capacity_scale is not None and self._interfering >= 2

    def start(self, work: Sequence[float] | np.ndarray, weight: float = 1.0,
              cap: float = np.inf, limit: float = np.inf, delay: float = 0.0,
              on_done: Callable[[], None] | None = None, interferes: bool = False,
              owner: str = "") -> Activity:
        """Start an activity, after ``delay`` seconds that use nothing (latency).

        When all its work is complete its ``done`` event succeeds and
        ``on_done`` is called (at that moment, before rates are recomputed).
        Work that is all zero, with no cap, completes as it joins: a pure delay.
        ``interferes`` marks a co-running workload (see ``capacity_scale``);
        ``owner`` names whose work it is.
        """
        row = list(work)
        if len(row) != len(self.resources) or min(row) < 0:
            raise ValueError(f'"work" must be {len(self.resources)} values >= 0, got {work}')
        if weight <= 0:
            raise ValueError(f'"weight" must be > 0, got {weight}')
        activity = Activity(self.env, row, float(weight), float(cap), float(limit), on_done)
        activity.owner = owner
        activity.own = _sparse_alone_rate(activity.nonzero, self._capacity_list,
                                          min(activity.cap, activity.limit))
        now = float(self.env.now)
        if interferes:
            activity.interferes = True
            self._interfering += 1
            if self._scaling and self._uncontended:  # co-runners now slow each other
                self.split_chains()
                self._uncontended = False
                self._changed = self._irregular = True
                self._wake_by(now)
        if self._join_uncontended(activity, now, now + delay):
            when = activity.ends
        else:
            when = now + delay
            heapq.heappush(self._arrivals, (when, next(self._order), activity))
        if not self._stepping:  # else the moment in progress schedules the next one
            self._wake_by(when)
        return activity

    def cancel(self, activity: Activity) -> None:
        """Withdraw an unfinished activity: it never completes and uses nothing from now.

        Cancelling one that completed or was cancelled already does nothing.
        """
        if activity.finished or activity.cancelled:
            return
        if isinstance(activity, Chain):
            if activity.split:
                return
            activity = self._split(activity)
        activity.cancelled = True
        if activity in self._active:
            activity.bring_to(float(self.env.now))
            del self._active[activity]
            self._retire(activity, activity.progress)
            activity.rate = 0.0
            if not self._uncontended or self._stepping:
                self._changed = self._irregular = True
                self._wake_by(float(self.env.now))
        else:
            kept = [a for a in self._arrivals if a[2] is not activity]
            if len(kept) != len(self._arrivals):
                self._arrivals = kept
                heapq.heapify(self._arrivals)
                if activity.interferes:
                    self._interfering -= 1

    def usage(self) -> np.ndarray:
        """Current use of each resource (same units as capacity)."""
        self.split_chains()
        now = float(self.env.now)
        use = np.zeros(len(self.resources))
        for activity in self._active:
            if activity.begins <= now:
                use += np.array(activity.row) * activity.rate
        return use

    @property
    def busy_integral(self) -> np.ndarray:
        """Use of each resource integrated over time, up to the last :meth:`advance`."""
        self.split_chains()
        busy = np.array(self._work_done)
        for activity in self._active:
            busy += np.array(activity.row) * activity.progress
        return busy

    def advance(self) -> None:
        """Bring every activity's progress up to now."""
        self.split_chains()
        now = float(self.env.now)
        for activity in self._active:  # Activity.bring_to, inlined: it runs for every change
            since = activity.begins if activity.begins > activity.since else activity.since
            if now > since:
                activity.progress = min(1.0, activity.progress + activity.rate * (now - since))
            activity.since = now

    # -- the uncontended regime ----------------------------------------------
    def _join_uncontended(self, activity: Activity, now: float, begins: float) -> bool:
        """Admit ``activity`` to run from ``begins`` at its own pace, if that fits."""
        if (not self._uncontended or self.listeners
                or (self._interfering >= 2 and self.capacity_scale is not None)):
            return False
        rate = activity.own
        if rate <= _EPS:
            return False  # no work (it completes as it joins: a moment does that)
        committed, rooms = self._committed, self._capacity_list
        for j, w in activity.nonzero:
            if committed[j] + w * rate > rooms[j] * (1 + 1e-12):
                if not self._chains:
                    return False
                self.split_chains()  # chains count their envelope: count what they use now
                return self._join_uncontended(activity, now, begins)
        self._run_alone(activity, rate, begins)
        return True

    def _run_alone(self, activity: Activity, rate: float, begins: float) -> float:
        """Commit ``activity`` at its own ``rate`` from ``begins``; its end time."""
        committed = self._committed
        for j, w in activity.nonzero:
            committed[j] += w * rate
        activity.rate = rate
        activity.begins = activity.since = begins
        activity.ends = ends = begins + 1.0 / rate
        self._active[activity] = None
        heapq.heappush(self._ends, (ends, next(self._order), activity))
        return ends

    def _retire(self, activity: Activity, progress: float) -> None:
        done, committed = self._work_done, self._committed
        if isinstance(activity, Chain):  # completed: every piece's work is done
            del self._chains[activity]
            if not self._chains:  # every mark left is stale: let the chains go
                self._marks.clear()
            for j, w in activity.nonzero:
                committed[j] -= w
            for nonzero in activity.sparse:
                for j, amount in nonzero:
                    done[j] += amount
            return
        rate = activity.rate if self._uncontended else 0.0
        if activity.interferes:
            self._interfering -= 1
        for j, w in activity.nonzero:
            done[j] += w * progress
            committed[j] -= w * rate

    # -- chains: several pieces of work planned as one ------------------------
    @property
    def chains_allowed(self) -> bool:
        """Whether a chain could be planned now (the pool is uncontended, nothing listens)."""
        return (self._uncontended and not self.listeners
                and not (self._interfering >= 2 and self.capacity_scale is not None))

    def chain(self, pieces: Sequence[Piece], on_done: Callable[[], None],
              on_split: Callable[[int, Activity], None], owner: str = "") -> Chain | None:
        """Plan ``pieces`` one after another as one activity, if the pool is uncontended.

        The result is what :meth:`start` for each piece in turn (each started
        from the completion of the one before) would give, with one wake-up
        instead of one per piece: ``on_done`` is called when the last piece
        completes. Should anything make a piece run otherwise than planned, the
        chain is split first (see :class:`Chain`) and ``on_split(index,
        activity)`` hands over the piece in flight, whose ``on_done`` the
        caller sets. Returns ``None`` (nothing started) if the pool is
        contended, a piece has work but no rate, or the chain's envelope
        does not fit beside what is committed.
        """
        if not self.chains_allowed:
            return None
        rooms, committed = self._capacity_list, self._committed
        envelope = [0.0] * len(rooms)
        now = float(self.env.now)
        inside = self._stepping  # started from a moment: its zero-length pieces end in it
        chain = Chain(self.env, envelope, pieces, on_done, on_split)
        starts, begins_at, bounds, owns = chain.starts, chain.begins_at, chain.bounds, chain.owns
        sparse = chain.sparse
        t = now
        for row, cap, delay in pieces:
            if len(row) != len(rooms) or min(row) < 0:
                raise ValueError(f'"work" must be {len(rooms)} values >= 0, got {row}')
            nonzero = [(j, w) for j, w in enumerate(row) if w > 0]
            sparse.append(nonzero)
            own = _sparse_alone_rate(nonzero, rooms, cap)
            starts.append(t)
            if own > _EPS:
                begins = t + delay
                ends = begins + 1.0 / own
                for j, w in nonzero:
                    if w * own > envelope[j]:
                        envelope[j] = w * own
                t = t if inside and ends <= _instant(t, FINISH_SLACK) else ends
            elif cap == np.inf and sum(row) <= _EPS:  # no work: an arrival after its latency
                begins = t + delay
                own = 0.0
                t = t if inside and begins <= _instant(t) else begins
            else:
                return None
            begins_at.append(begins)
            owns.append(own)
            bounds.append(t)
            inside = True
        for j, w in enumerate(envelope):
            if w > 0 and committed[j] + w > rooms[j] * (1 + 1e-12):
                return None
        chain.nonzero = [(j, w) for j, w in enumerate(envelope) if w > 0]
        for j, w in chain.nonzero:
            committed[j] += w
        chain.owner = owner
        chain.own = chain.rate = 1.0
        chain.begins = chain.since = now
        chain.ends = t
        self._active[chain] = None
        self._chains[chain] = None
        heapq.heappush(self._ends, (t, next(self._order), chain))
        for bound in bounds[:-1]:
            heapq.heappush(self._marks, (bound, next(self._order), chain))
        if not self._stepping:
            self._wake_by(t)
        return chain

    def split(self, chain: Chain) -> None:
        """Split ``chain`` into its pieces now, if it is still in flight (see :class:`Chain`)."""
        if chain in self._chains:
            self._split(chain)

    def split_chains(self) -> None:
        """Split every chain in flight into its pieces (see :class:`Chain`)."""
        for chain in list(self._chains):
            self._split(chain)

    def _split_due(self, now: float, finished: float) -> None:
        """Split the chains with an inner boundary due at this moment."""
        marks = self._marks
        while marks and marks[0][0] <= finished:
            bound, _, chain = heapq.heappop(marks)
            if bound >= now and chain in self._chains:
                self._split(chain)

    def _split(self, chain: Chain) -> Activity:
        """The piece of ``chain`` in flight as an ordinary activity; the pieces before done."""
        now = float(self.env.now)
        committed, done = self._committed, self._work_done
        del self._chains[chain]
        del self._active[chain]
        chain.split = True
        if not self._chains:
            self._marks.clear()
        for j, w in chain.nonzero:
            committed[j] -= w
        current = min(bisect_left(chain.bounds, now), len(chain.pieces) - 1)
        for nonzero in chain.sparse[:current]:
            for j, amount in nonzero:
                done[j] += amount
        row, cap, _ = chain.pieces[current]
        activity = Activity(self.env, list(row), 1.0, cap, np.inf, None)
        activity.owner = chain.owner
        own = activity.own = chain.owns[current]
        begins = chain.begins_at[current]
        if own > 0:
            when = self._run_alone(activity, own, begins)
        else:
            when = begins
            heapq.heappush(self._arrivals, (when, next(self._order), activity))
        chain.on_split(current, activity)
        if not self._stepping:
            self._wake_by(when)
        return activity

    # -- the pool's moments ------------------------------------------------
    def _wake_by(self, when: float) -> None:
        """Make sure the pool wakes at ``when`` at the latest (one pending wake-up).

        The wake-up comes at ``when`` exactly (not ``now + (when - now)``, which
        can round to a neighbouring float), so a moment's time is the completion
        time worked out for it, whoever scheduled it and when. A wake-up still
        pending for that very time (superseded earlier by a sooner one) is reused.
        """
        if self._stepping or when >= self._wake_at:
            return  # a moment in progress schedules the next one when it ends
        self._wake_at = when
        if when in self._scheduled:
            return
        self._scheduled.add(when)
        env: Any = self.env  # its queue holds (time, priority, id, event): SimPy's own order
        now = float(env._now)
        at = when if when > now else now  # at ``when`` exactly, not now + (when - now)
        heapq.heappush(env._queue, (at, NORMAL, next(env._eid), _WakeUp(self, when)))

    def _wake(self, when: float) -> None:
        self._scheduled.discard(when)
        if when != self._wake_at:
            return  # superseded by an earlier wake-up
        self._wake_at = np.inf
        self._stepping = True
        try:
            self._settle()
        finally:
            self._stepping = False
        if self._changed:
            self._changed = False
            if not self._swap():
                self._recompute()
            self._gone.clear()
            self._came.clear()
            self._irregular = False
        self._wake_by(self._next_moment())

    def _settle(self) -> None:
        """Admit what is due and complete what has finished, until nothing more happens now."""
        now = float(self.env.now)
        due, finished = _instant(now), _instant(now, FINISH_SLACK)
        arrivals, ends = self._arrivals, self._ends
        if self._marks and self._marks[0][0] <= finished:
            self._split_due(now, finished)
        while True:
            if arrivals and arrivals[0][0] <= due:
                self._admit_due(now)
            if not (ends and ends[0][0] <= finished):
                return
            self._complete_finished(now)  # whose callbacks may start work at once

    def _admit_due(self, now: float) -> None:
        due = _instant(now)
        while self._arrivals and self._arrivals[0][0] <= due:
            activity = heapq.heappop(self._arrivals)[2]
            if self._join_uncontended(activity, now, now):
                continue
            activity.begins = activity.since = now
            self._active[activity] = None
            if activity.idle:  # no work: it completes now and changes no one's rate
                activity.ends = now
                heapq.heappush(self._ends, (now, next(self._order), activity))
            else:
                self._changed = True
                self._came.append(activity)

    def _complete_finished(self, now: float) -> None:
        due = _instant(now, FINISH_SLACK)
        ends = self._ends
        finished: list[Activity] = []
        while ends and ends[0][0] <= due:
            when, _, activity = heapq.heappop(ends)
            if activity.ends == when and activity in self._active:  # else a stale entry
                finished.append(activity)
        for activity in finished:
            del self._active[activity]
            self._retire(activity, 1.0)
        if finished and not self._uncontended:
            self._changed = True
            self._gone.extend(finished)
        for activity in finished:
            activity._finish()

    def _next_moment(self) -> float:
        ends = self._ends
        while ends and (ends[0][2].ends != ends[0][0] or ends[0][2] not in self._active):
            heapq.heappop(ends)  # stale
        soonest = ends[0][0] if ends else np.inf
        if self._arrivals and self._arrivals[0][0] < soonest:
            soonest = self._arrivals[0][0]
        return soonest

    def _recompute(self) -> None:
        if self._chains:
            self.split_chains()
        self.recomputations += 1
        self._effective = self.capacity
        now = float(self.env.now)
        self.advance()
        self._postpone_not_begun(now)
        activities = list(self._active)
        if self._scaling and self.capacity_scale is not None:
            if len(activities) > SMALL:
                self._recompute_numpy(activities)
            elif activities:
                self._recompute_scaled_small(activities, self.capacity_scale)
        elif not self._all_fit(activities):
            if len(activities) <= SMALL:
                self._recompute_small(activities)
            else:
                self._recompute_numpy(activities)
        order = self._order
        ends = []
        for a in activities:
            if a.rate > _EPS:
                a.ends = (a.begins if a.begins > now else now) + (1.0 - a.progress) / a.rate
                ends.append((a.ends, next(order), a))
            else:
                a.ends = np.inf
        heapq.heapify(ends)
        self._ends = ends
        self._shape = None
        if not self._uncontended and not self._scaling and not self.listeners:
            self._remember_shares(activities)
        self._notify()

    # -- contended: a swap of like for like re-solves nothing ------------------
    def _klass(self, activity: Activity) -> tuple[object, float]:
        """``activity``'s shape for max-min sharing, and its scale.

        The solve shares in units of each activity's dominant resource (its
        row divided by its *scale*, the most of any resource's capacity one
        unit of progress uses): activities whose scaled rows, scaled ceilings
        and weights agree (single-thread CPU stages of any length, say) get the
        same scaled rate, their rate that divided by their scale.
        """
        klass = activity.klass
        if klass is None:
            rooms = self._capacity_list
            scale = max((w / rooms[j] for j, w in activity.nonzero), default=0.0)
            if scale <= 0:
                klass = (None, 0.0)
            else:
                shape = (tuple((j, round(w / scale, 9)) for j, w in activity.nonzero),
                         round(min(activity.cap, activity.limit) * scale, 9), activity.weight)
                klass = (shape, scale)
            activity.klass = klass
        return klass

    def _remember_shares(self, activities: list[Activity]) -> None:
        shape: dict[object, int] = {}
        share: dict[object, float] = {}
        for activity in activities:
            key, scale = self._klass(activity)
            if key is None:
                return
            shape[key] = shape.get(key, 0) + 1
            share[key] = activity.rate * scale
        self._shape, self._share = shape, share

    def _swap(self) -> bool:
        """If since the last solve only activities of the shapes that completed joined,
        one for one, every rate stands: give the newcomers theirs, solve nothing.

        Max-min fair shares depend on the activities' shapes and weights, not
        on who they are (the hand-over of a kernel lock under contention: one
        object's CPU work ends, the next holder's starts).
        """
        if (not self.swaps or self._shape is None or self._irregular or not self._came
                or self.listeners or self._uncontended or self._scaling
                or len(self._gone) != len(self._came)):
            return False
        counts: dict[object, int] = {}
        for activity in self._gone:
            key = self._klass(activity)[0]
            counts[key] = counts.get(key, 0) + 1
        for activity in self._came:
            key = self._klass(activity)[0]
            left = counts.get(key, 0)
            if not left or self._share.get(key, 0.0) <= _EPS:
                return False
            counts[key] = left - 1
        now = float(self.env.now)
        order = self._order
        for activity in self._came:
            key, scale = self._klass(activity)
            activity.rate = rate = self._share[key] / scale
            activity.ends = ends = now + (1.0 - activity.progress) / rate
            heapq.heappush(self._ends, (ends, next(order), activity))
        return True

    def _postpone_not_begun(self, now: float) -> None:
        """Activities admitted early (uncontended) that have not begun wait as arrivals."""
        due = _instant(now)
        waiting = [a for a in self._active if a.begins > due]
        for activity in waiting:
            del self._active[activity]
            activity.rate = 0.0
            heapq.heappush(self._arrivals, (activity.begins, next(self._order), activity))

    def _all_fit(self, activities: list[Activity]) -> bool:
        """Whether everyone at its own pace fits; if so, that is the answer (uncontended)."""
        committed = [0.0] * len(self.resources)
        rooms = [room * (1 + 1e-12) for room in self._capacity_list]
        fits = True
        for activity in activities:
            rate = activity.own
            for j, w in activity.nonzero:
                committed[j] += w * rate
                if committed[j] > rooms[j]:  # sums of uses only grow: it cannot fit
                    fits = False
                    break
            if not fits:
                break
        self._uncontended = fits and not self.listeners
        if fits:
            self._committed = committed
            for activity in activities:
                activity.rate = activity.own
        return fits

    def _recompute_small(self, activities: list[Activity]) -> None:
        """A few activities on an unscaled pool, in plain Python."""
        rates = _small_max_min([a.row for a in activities], self._capacity_list,
                               [a.weight for a in activities],
                               [min(a.cap, a.limit) for a in activities])
        for activity, rate in zip(activities, rates, strict=False):
            activity.rate = rate

    def _recompute_scaled_small(self, activities: list[Activity],
                                scale: Callable[[np.ndarray], np.ndarray]) -> None:
        """:meth:`_recompute_numpy` for a few activities: numpy only for the hook."""
        self._uncontended = False
        rows = [a.row for a in activities]
        interfering = [a.row for a in activities if a.interferes]
        if self.capacity_scale_rows is not None:
            factor = [min(max(f, 1e-9), 1.0) for f in self.capacity_scale_rows(interfering)]
        else:
            factor = np.clip(scale(np.array(interfering)), 1e-9, 1.0).tolist()
        capacity = [c * f for c, f in zip(self._capacity_list, factor, strict=False)]
        self._effective = capacity
        caps = [min(a.cap * min((f for w, f in zip(a.row, factor, strict=False) if w > 0),
                                default=1.0), a.limit) for a in activities]
        rates = _small_max_min(rows, capacity, [a.weight for a in activities], caps)
        for activity, rate in zip(activities, rates, strict=False):
            activity.rate = rate

    def _recompute_numpy(self, activities: list[Activity]) -> None:
        self._uncontended = False
        rows, columns, amounts = [], [], []
        for i, activity in enumerate(activities):  # rows are wide and mostly zero
            for j, w in activity.nonzero:
                rows.append(i)
                columns.append(j)
                amounts.append(w)
        work = np.zeros((len(activities), len(self.resources)))
        work[rows, columns] = amounts
        weights = np.array([a.weight for a in activities])
        caps = np.array([a.cap for a in activities])
        if self._scaling and self.capacity_scale is not None:
            # Slower resources serve everyone slower: an activity's own ceiling
            # (its threads) falls with the slowest resource it uses.
            interfering = np.array([a.interferes for a in activities])
            factor = np.clip(self.capacity_scale(work[interfering]), 1e-9, 1.0)
            self._effective = self.capacity * factor
            caps = caps * np.where(work > 0, factor, 1.0).min(axis=1)
        caps = np.minimum(caps, [a.limit for a in activities])
        rates = max_min_rates(work, self.effective_capacity, weights, caps)
        for activity, rate in zip(activities, rates.tolist(), strict=False):
            activity.rate = rate

    def _notify(self) -> None:
        for listener in self.listeners:
            listener(self)
