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
instant are coalesced into one recomputation, and one timeout is scheduled
for the next completion. Work in flight is a numpy array per host.

Two documented hooks extend it: ``capacity_scale`` shrinks capacity with
the work in flight (shared caches and memory controllers serve co-runners
worse), and ``listeners`` are called after every recomputation (to record
the rates a service had over an interval).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import simpy

_EPS = 1e-12


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
        size = max(w / c for w, c in zip(row, capacity, strict=True))
        scales.append(size if size > 0 else 1.0)
        scaled.append([w / scales[-1] for w in row])
    ceiling = [c * s for c, s in zip(caps, scales, strict=True)]
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
        remaining = [max(r - d * step, 0.0) for r, d in zip(remaining, demand, strict=True)]
        saturated = [j for j in columns if level_res[j] <= step * (1 + 1e-9) + _EPS]
        frozen = {i for i in active if level_cap[i] <= step * (1 + 1e-9) + _EPS
                  or any(scaled[i][j] > 0 for j in saturated)}
        if not frozen:  # numerical dust: stop rather than spin
            break
        active = [i for i in active if i not in frozen]
    return [r / s for r, s in zip(rates, scales, strict=True)]


def _alone_rate(work: list[float], capacity: list[float], cap: float) -> float:
    """:func:`max_min_rates` for one activity: its tightest resource, or its cap."""
    biggest = max(work)
    rate = cap
    for amount, room in zip(work, capacity, strict=True):
        if amount > _EPS and amount > 1e-9 * biggest:
            rate = min(rate, room / amount)
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


@dataclass(eq=False)
class Activity:
    """Work in flight on one :class:`FluidPool`.

    Attributes:
        work: Work on each of the pool's resources, in the pool's order.
        weight: Share weight.
        cap: Maximum progress rate (fraction of the work per second) at full speed:
            its threads; it falls when a ``capacity_scale`` hook slows a resource it uses.
        limit: Maximum progress rate whatever the speed (work that has not arrived yet).
        done: SimPy event that succeeds when the work is complete.
        progress: Fraction of the work completed so far.
        rate: Current progress rate.
    """

    work: np.ndarray
    weight: float
    cap: float
    done: simpy.Event
    limit: float = np.inf
    progress: float = 0.0
    rate: float = 0.0


class FluidPool:
    """A host's resources shared by concurrent activities at max-min fair rates."""

    def __init__(self, env: simpy.Environment, resources: Sequence[str],
                 capacity: Sequence[float]) -> None:
        if len(resources) != len(capacity):
            raise ValueError('"resources" and "capacity" must have the same length')
        if any(c <= 0 for c in capacity):
            raise ValueError(f'"capacity" must be > 0, got {list(capacity)}')
        self.env = env
        self.resources = tuple(resources)
        self.capacity = np.asarray(capacity, dtype=float)
        self.activities: list[Activity] = []
        self._last = float(env.now)
        self._pending = False
        self._generation = 0
        self.recomputations = 0
        self._usage = np.zeros(len(self.resources))
        self._capacity_list: list[float] = self.capacity.tolist()
        self.busy_integral = np.zeros(len(self.resources))
        self.capacity_scale: Callable[[np.ndarray], np.ndarray] | None = None
        """Hook: work matrix in flight -> factor (<= 1) on each resource's capacity
        (and on the cap of every activity using that resource)."""
        self.effective_capacity = self.capacity.copy()
        self.listeners: list[Callable[[FluidPool], None]] = []
        """Hooks called with the pool after every recomputation of rates."""

    def index(self, resource: str) -> int:
        """Position of a named resource in the work vectors."""
        return self.resources.index(resource)

    def start(self, work: Sequence[float] | np.ndarray, weight: float = 1.0,
              cap: float = np.inf, limit: float = np.inf) -> Activity:
        """Start an activity; its ``done`` event fires when all its work is complete."""
        vector = np.asarray(work, dtype=float)
        if vector.shape != self.capacity.shape or (vector < 0).any():
            raise ValueError(f'"work" must be {len(self.resources)} values >= 0, got {work}')
        if weight <= 0:
            raise ValueError(f'"weight" must be > 0, got {weight}')
        self.advance()
        activity = Activity(vector, float(weight), float(cap), self.env.event(), float(limit))
        self.activities.append(activity)
        self._schedule_recompute()
        return activity

    def cancel(self, activity: Activity) -> None:
        """Withdraw an unfinished activity (its event never fires)."""
        if activity in self.activities:
            self.advance()
            self.activities.remove(activity)
            self._schedule_recompute()

    def usage(self) -> np.ndarray:
        """Current use of each resource (same units as capacity)."""
        return self._usage.copy()

    def advance(self) -> None:
        """Bring every activity's progress and the busy integrals up to now."""
        now = float(self.env.now)
        elapsed = now - self._last
        if elapsed > 0:
            self.busy_integral += self._usage * elapsed
            for activity in self.activities:
                activity.progress = min(1.0, activity.progress + activity.rate * elapsed)
        self._last = now

    def _schedule_recompute(self) -> None:
        # Coalesce every change made at this instant into one recomputation.
        if not self._pending:
            self._pending = True
            self.env.timeout(0).callbacks.append(self._recompute_now)

    def _recompute_now(self, _event: simpy.Event) -> None:
        self._pending = False
        self.advance()
        self._complete_finished()
        self._recompute()

    def _complete_finished(self) -> None:
        finished = [a for a in self.activities if a.progress >= 1.0 - 1e-9]
        if finished:
            self.activities = [a for a in self.activities if a.progress < 1.0 - 1e-9]
            for activity in finished:
                activity.rate = 0.0
                activity.done.succeed()

    def _recompute(self) -> None:
        self.recomputations += 1
        self._generation += 1
        self.effective_capacity = self.capacity.copy()
        if not self.activities:
            self._usage = np.zeros(len(self.resources))
            self._notify()
            return
        if len(self.activities) == 1 and self.capacity_scale is None:
            self._recompute_alone(self.activities[0])
            return
        work = np.stack([a.work for a in self.activities])
        weights = np.array([a.weight for a in self.activities])
        caps = np.array([a.cap for a in self.activities])
        if self.capacity_scale is not None:
            # Slower resources serve everyone slower: an activity's own ceiling
            # (its threads) falls with the slowest resource it uses.
            factor = np.clip(self.capacity_scale(work), 1e-9, 1.0)
            self.effective_capacity = self.capacity * factor
            caps = caps * np.where(work > 0, factor, 1.0).min(axis=1)
        caps = np.minimum(caps, [a.limit for a in self.activities])
        rates = max_min_rates(work, self.effective_capacity, weights, caps)
        self._usage = rates @ work
        soonest = np.inf
        for activity, rate in zip(self.activities, rates.tolist(), strict=True):
            activity.rate = rate
            if rate > _EPS:
                soonest = min(soonest, (1.0 - activity.progress) / rate)
        if soonest != np.inf:
            generation = self._generation
            self.env.timeout(soonest).callbacks.append(lambda _e: self._wake(generation))
        self._notify()

    def _recompute_alone(self, activity: Activity) -> None:
        """The common case of one activity on an unscaled pool, without numpy."""
        rate = _alone_rate(activity.work.tolist(), self._capacity_list,
                           min(activity.cap, activity.limit))
        activity.rate = rate
        self._usage = activity.work * rate
        if rate > _EPS:
            generation = self._generation
            self.env.timeout((1.0 - activity.progress) / rate).callbacks.append(
                lambda _e: self._wake(generation))
        self._notify()

    def _notify(self) -> None:
        for listener in self.listeners:
            listener(self)

    def _wake(self, generation: int) -> None:
        if generation == self._generation:  # else a later change already rescheduled
            self.advance()
            self._complete_finished()
            self._recompute()
