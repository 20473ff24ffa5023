"""Closed loops: N clients that each send a request, wait for its response, and send again.

Benchmarks such as sysbench (``--threads``), redis-benchmark (``-c``) and wrk
(``-c``) keep a fixed number of requests in flight: throughput follows
latency (Little's law, ``X = N / (R + Z)``) instead of being set by an
arrival rate. :func:`solve` answers such a loop by exact Mean Value Analysis
(Reiser and Lavenberg, JACM 1980) over the request's stations: each
:class:`Station` is a resource the request queues for (host cores, the disk,
the NIC, a VMM's serial device thread) with its service demand per request,
or a pure delay (network round trips, think time). A station with ``c``
servers (a multi-core CPU) uses Seidmann's approximation: a single queue with
demand ``D / c`` plus a delay of ``D (c - 1) / c``.

MVA's throughput never falls as clients are added and its response time
never falls either; below saturation throughput grows almost linearly,
beyond it (the bottleneck's ``servers / D``) it stays flat and latency
grows linearly with the clients. Response-time percentiles come from the
distribution of the sum of each queue's residence time (a gamma of as many
service times as the request waits for) and the fixed delays
(:func:`response_quantile`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Station:
    """A place a request spends time: a queue with servers, or a pure delay.

    Attributes:
        name: Resource name (``"cpu"``, ``"disk"``).
        demand_s: Service seconds per request at this station (> 0 to matter).
        servers: Parallel servers (cores); 0 for a pure delay.
    """

    name: str
    demand_s: float
    servers: int = 1

    def __post_init__(self) -> None:
        if self.demand_s < 0 or not math.isfinite(self.demand_s):
            raise ValueError(f'"demand_s" must be finite and >= 0, got {self.demand_s}')
        if self.servers < 0:
            raise ValueError(f'"servers" must be >= 0, got {self.servers}')


@dataclass(frozen=True)
class LoopLevel:
    """What a closed loop achieves.

    Attributes:
        clients: Concurrent clients.
        throughput_per_s: Requests completed per second.
        mean_latency_s: Mean response time (think time excluded).
        p99_latency_s: 99th percentile of response time.
        residence_s: Mean seconds per request at each station, by name.
        bottleneck: The station whose demand limits throughput ('' if none).
    """

    clients: int
    throughput_per_s: float
    mean_latency_s: float
    p99_latency_s: float
    residence_s: dict[str, float]
    bottleneck: str

    @property
    def saturation_per_s(self) -> float:
        """Throughput the loop tends to with many clients (the bottleneck's capacity)."""
        return self.clients / self.mean_latency_s if self.mean_latency_s > 0 else math.inf


def _split(stations: Sequence[Station]) -> tuple[list[tuple[str, float, float, int]], float]:
    """Queues (name, queue demand, service demand, servers) after Seidmann's split, and
    the total delay: pure delays plus each multi-server station's ``D (c - 1) / c``."""
    queues: list[tuple[str, float, float, int]] = []
    delay = 0.0
    for station in stations:
        if station.demand_s <= 0:
            continue
        if station.servers == 0:
            delay += station.demand_s
            continue
        c = station.servers
        queues.append((station.name, station.demand_s / c, station.demand_s, c))
        delay += station.demand_s * (c - 1) / c
    return queues, delay


def solve(stations: Sequence[Station], clients: int, think_s: float = 0.0) -> LoopLevel:
    """Throughput and response time of ``clients`` clients cycling through ``stations``.

    Raises:
        ValueError: ``clients`` below 1, negative think time, or no demand at all.
    """
    if clients < 1:
        raise ValueError(f'"clients" must be >= 1, got {clients}')
    if think_s < 0:
        raise ValueError(f'"think_s" must be >= 0, got {think_s}')
    queues, delay = _split(stations)
    if not queues and delay <= 0:
        raise ValueError("a closed loop needs a station with demand")
    demands = [d for _, d, _, _ in queues]
    length = [0.0] * len(queues)
    residence = list(demands)
    throughput = 0.0
    for n in range(1, clients + 1):  # exact MVA recursion (a handful of stations: plain floats)
        residence = [d * (1.0 + q) for d, q in zip(demands, length, strict=True)]
        throughput = n / (math.fsum(residence) + delay + think_s)
        length = [throughput * r for r in residence]
    by_name: dict[str, float] = {}
    means: list[float] = []
    variances: list[float] = []
    for (name, queue_demand, service, servers), r in zip(queues, residence, strict=True):
        mean = r + service * (servers - 1) / servers
        by_name[name] = by_name.get(name, 0.0) + mean
        means.append(mean)
        # its own service (exponential) plus the services it waits for (a gamma)
        variances.append(service * service + max(r - queue_demand, 0.0) * queue_demand)
    pure = 0.0
    for station in stations:
        if station.servers == 0 and station.demand_s > 0:
            by_name[station.name] = by_name.get(station.name, 0.0) + station.demand_s
            pure += station.demand_s
    mean_response = math.fsum(residence) + delay
    bottleneck = max(queues, key=lambda q: q[1])[0] if queues else ""
    p99 = response_quantile(means, variances, pure, 0.99)
    return LoopLevel(clients, throughput, mean_response, p99, by_name, bottleneck)


def response_quantile(means_s: Sequence[float], variances_s2: Sequence[float],
                      delay_s: float, q: float) -> float:
    """The ``q`` quantile of response time: residences at queues plus a fixed delay.

    A request's residence at a queue is its own service (exponential) plus
    the services of those ahead of it (a gamma of as many service times), so
    its distribution runs from exponential when nobody waits to nearly
    constant when a saturated queue always holds many. The sum over queues is
    matched by one gamma on its mean and variance, whose quantile comes from
    the Wilson-Hilferty approximation (within about 1% at the tail for shapes
    of 1 and more).
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f'"q" must be in (0, 1), got {q}')
    mean = float(sum(m for m in means_s if m > 0))
    var = float(sum(v for m, v in zip(means_s, variances_s2, strict=True) if m > 0))
    if mean <= 0 or var <= 0:
        return delay_s + mean
    shape = mean * mean / var
    z = _normal_quantile(q)
    h = 1.0 / (9.0 * shape)
    return delay_s + mean * max(0.0, 1.0 - h + z * math.sqrt(h)) ** 3


def _normal_quantile(q: float) -> float:
    """The standard normal's ``q`` quantile (bisection on the error function)."""
    low, high = -10.0, 10.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if 0.5 * (1.0 + math.erf(mid / math.sqrt(2.0))) < q:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)
