"""Per-request mode: a service's requests one by one through a SimPy queue.

The fluid model (:mod:`virtsim.performance`) never creates an event per
request; it gives a service's latency from an M/M/c formula
(:mod:`virtsim.queueing`). For small latency studies, and to check that
formula, this module runs the same service request by request: Poisson
arrivals, ``c`` worker threads as a :class:`simpy.Resource`, exponential
service times at the per-thread rate its share allows, plus the layers'
serial latency (round trips, system calls) on every request.
:func:`simulate_closed_loop` does the same for a closed loop: N clients,
each sending its next request when the last one returns.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from virtsim.closed_loop import Station
from virtsim.layer_costs import LayerCost
from virtsim.performance import latency_s, servers, service_capacity
from virtsim.profiles import HostProfile, WorkloadProfile


@dataclass(frozen=True)
class RequestLog:
    """Response times of every request that completed, in arrival order."""

    latencies_s: np.ndarray

    @property
    def mean_s(self) -> float:
        """Mean response time."""
        return float(self.latencies_s.mean())

    def quantile_s(self, q: float) -> float:
        """The ``q`` quantile of response time."""
        return float(np.quantile(self.latencies_s, q))


def simulate_requests(workload: WorkloadProfile, costs: LayerCost, host: HostProfile,
                      requests: int, rng: np.random.Generator,
                      cpu_limit: float = math.inf) -> RequestLog:
    """Serve ``requests`` requests of a service alone on ``host`` through ``costs``.

    Raises:
        ValueError: ``requests`` is below 1 or the service has no arrival rate.
    """
    if requests < 1:
        raise ValueError(f'"requests" must be >= 1, got {requests}')
    rate = workload.arrival_rate_per_s
    if rate <= 0:
        raise ValueError(f"workload {workload.name!r} has no arrival_rate_per_s")
    threads = servers(workload, cpu_limit)
    per_thread = service_capacity(workload, costs, host, cpu_limit) / threads
    fixed = latency_s(workload, costs, host)
    env = simpy.Environment()
    workers = simpy.Resource(env, capacity=threads)
    latencies = np.empty(requests)
    gaps = rng.exponential(1.0 / rate, requests)
    work = rng.exponential(1.0 / per_thread, requests)

    def request(i: int) -> Generator[simpy.Event, Any, None]:
        arrived = env.now
        with workers.request() as slot:
            yield slot
            yield env.timeout(work[i])
        latencies[i] = env.now - arrived + fixed

    def arrivals() -> Generator[simpy.Event, Any, None]:
        for i in range(requests):
            yield env.timeout(gaps[i])
            env.process(request(i))

    env.process(arrivals())
    env.run()
    return RequestLog(latencies)


def simulate_closed_loop(stations: Sequence[Station], clients: int, think_s: float,
                         requests: int, rng: np.random.Generator) -> tuple[float, RequestLog]:
    """``clients`` clients cycling through ``stations`` request by request (SimPy).

    The reference for :func:`virtsim.closed_loop.solve`: each queue station is a
    :class:`simpy.Resource` with its servers and exponential service times of
    its demand; a delay station (0 servers) and the think time are fixed
    waits. Returns the throughput over the completed requests and their
    response times (think time excluded).

    Raises:
        ValueError: ``clients`` or ``requests`` below 1.
    """
    if clients < 1 or requests < 1:
        raise ValueError(f'"clients" and "requests" must be >= 1, got {clients}, {requests}')
    env = simpy.Environment()
    queues = [(simpy.Resource(env, capacity=s.servers), s.demand_s) for s in stations
              if s.servers > 0 and s.demand_s > 0]
    delay = sum(s.demand_s for s in stations if s.servers == 0)
    latencies: list[float] = []
    done = env.event()

    def client() -> Generator[simpy.Event, Any, None]:
        while len(latencies) < requests:
            start = env.now
            for resource, demand in queues:
                with resource.request() as slot:
                    yield slot
                    yield env.timeout(rng.exponential(demand))
            if delay > 0:
                yield env.timeout(delay)
            latencies.append(env.now - start)
            if len(latencies) == requests and not done.triggered:
                done.succeed()
            if think_s > 0:
                yield env.timeout(think_s)

    for _ in range(clients):
        env.process(client())
    env.run(until=done)
    return requests / float(env.now), RequestLog(np.array(latencies))
