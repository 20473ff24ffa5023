"""Queueing: request latency of a service from its arrival rate and its share of the machine.

A service with ``servers`` worker threads, requests arriving at rate ``λ``
(Poisson) and a total service capacity ``μ`` requests per second (what its
fluid share of the machine lets it process) is an M/M/c queue with
``c = servers`` and per-server rate ``μ / c``. Its response time is the
waiting time (zero with probability ``1 - C``, else exponential at
``cμ_s - λ``, where ``C`` is Erlang's C formula) plus an exponential service
time. :func:`latency` gives the mean and any quantile of that distribution;
:func:`mixture_quantile` combines several intervals (the share changes when
neighbours come and go), weighted by the requests served in each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Queue:
    """An M/M/c queue: arrival rate, total service capacity and servers.

    Attributes:
        arrival_per_s: Mean request arrival rate (>= 0).
        capacity_per_s: Requests per second all servers together complete when busy (> 0).
        servers: Number of servers (worker threads), >= 1.
    """

    arrival_per_s: float
    capacity_per_s: float
    servers: int

    def __post_init__(self) -> None:
        if self.arrival_per_s < 0:
            raise ValueError(f'"arrival_per_s" must be >= 0, got {self.arrival_per_s}')
        if self.capacity_per_s <= 0:
            raise ValueError(f'"capacity_per_s" must be > 0, got {self.capacity_per_s}')
        if self.servers < 1:
            raise ValueError(f'"servers" must be >= 1, got {self.servers}')

    @property
    def utilisation(self) -> float:
        """Offered load over capacity (>= 1 means the queue grows without bound)."""
        return self.arrival_per_s / self.capacity_per_s

    @property
    def stable(self) -> bool:
        """Whether the queue reaches a steady state."""
        return self.utilisation < 1.0

    @property
    def server_rate(self) -> float:
        """Requests per second one server completes."""
        return self.capacity_per_s / self.servers

    def wait_probability(self) -> float:
        """Erlang C: the chance an arriving request waits for a server."""
        c, rho = self.servers, self.utilisation
        if rho >= 1.0:
            return 1.0
        a = rho * c  # offered load in servers
        term, total = 1.0, 1.0  # a^k / k!, summed for k < c
        for k in range(1, c):
            term *= a / k
            total += term
        last = term * a / c / (1.0 - rho)  # a^c / c! / (1 - rho)
        return last / (total + last)

    def survival(self, t: float) -> float:
        """P(response time > t)."""
        if not self.stable:
            return 1.0
        mu = self.server_rate
        theta = self.capacity_per_s - self.arrival_per_s  # rate at which the wait drains
        wait = self.wait_probability()
        served_at_once = math.exp(-mu * t)
        if abs(theta - mu) < 1e-9 * mu:
            waited = (1.0 + mu * t) * math.exp(-mu * t)
        else:
            waited = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
        return (1.0 - wait) * served_at_once + wait * waited

    def mean_response_s(self) -> float:
        """Mean response time: mean wait plus mean service time (inf if unstable)."""
        if not self.stable:
            return math.inf
        theta = self.capacity_per_s - self.arrival_per_s
        return self.wait_probability() / theta + 1.0 / self.server_rate


def mixture_quantile(queues: Sequence[Queue], weights: Sequence[float], q: float) -> float:
    """The ``q`` quantile of response time over intervals with different queues.

    Each interval's distribution is weighted by ``weights`` (requests served in
    it). Returns inf if an unstable queue carries any weight.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f'"q" must be in (0, 1), got {q}')
    pairs = [(queue, w) for queue, w in zip(queues, weights, strict=True) if w > 0]
    total = sum(w for _, w in pairs)
    if not pairs or total <= 0:
        raise ValueError("no interval carries weight")
    if any(not queue.stable for queue, _ in pairs):
        return math.inf

    def tail(t: float) -> float:
        return sum(w * queue.survival(t) for queue, w in pairs) / total

    target = 1.0 - q
    high = max(queue.mean_response_s() for queue, _ in pairs)
    while tail(high) > target:
        high *= 2.0
    low = 0.0
    for _ in range(100):  # bisection to relative precision far below a nanosecond
        mid = 0.5 * (low + high)
        if tail(mid) > target:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * high:
            break
    return high
