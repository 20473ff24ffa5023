"""Breakdown: per workload and stack, what each mechanism costs and how fast it runs.

The question C4 and C6 answer with stacked bars: for a database, a cache, a
web server or a build under each technology, how much of a request's time is
CPU work, system calls, I/O and network (:data:`~virtsim.operations.CATEGORIES`),
and what throughput and latency come out (alone on the machine: open or
closed loop as the workload says). :func:`breakdown_rows` gives tidy rows,
one per workload, stack and category, with each category's time as a share of
the native total so stacks compare on one scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from virtsim.catalog import Catalog
from virtsim.layer_costs import LayerCost, compose
from virtsim.operations import CATEGORIES, request_cost
from virtsim.performance import run_alone, serve_alone
from virtsim.profiles import HostProfile, WorkloadProfile
from virtsim.result import Record


@dataclass(frozen=True)
class Breakdown:
    """One workload through one stack: its speed and what each mechanism costs it.

    Attributes:
        seconds: Time per request (or per job) in each mechanism category, alone:
            host CPU-seconds, device-seconds and pure delay (:meth:`RequestCost.seconds`).
        throughput_per_s: Requests per second (services), or jobs per second alone (batch).
        mean_latency_s: Mean response time (services) or completion time (batch).
        p99_latency_s: 99th percentile response time (services; inf if saturated).
    """

    seconds: Mapping[str, float]
    throughput_per_s: float
    mean_latency_s: float
    p99_latency_s: float


def breakdown(workload: WorkloadProfile, costs: LayerCost, host: HostProfile) -> Breakdown:
    """Speed and per-mechanism cost of an operation mix through ``costs`` on ``host``, alone.

    A service is served at its arrival rate (open loop) or by its clients
    (closed loop); a batch job runs once.
    """
    seconds = request_cost(workload, costs, host).seconds()
    if workload.mode == "batch":
        done = run_alone(workload, costs, host)
        return Breakdown(seconds, 1.0 / done, done, done)
    level = serve_alone(workload, costs, host)
    return Breakdown(seconds, level.throughput_per_s, level.mean_latency_s, level.p99_latency_s)


def breakdown_rows(catalog: Catalog, host: HostProfile, workloads: Sequence[str],
                   stacks: Mapping[str, Sequence[str]]) -> list[Record]:
    """Tidy rows: per workload, stack and mechanism category, the time and its share.

    Args:
        catalog: Where the workloads and layer costs come from.
        host: The machine every stack runs on.
        workloads: Workload profiles given as operation mixes.
        stacks: Stack name -> its ``layer_costs`` profiles, top first, ``native`` last;
            the stack named ``native`` is the reference.

    Each row also carries the stack's throughput, mean and p99 latency and its
    throughput relative to native, so one table answers both questions.
    """
    rows: list[Record] = []
    for name in workloads:
        workload = catalog.require(WorkloadProfile, name)
        native = breakdown(workload, compose(catalog, ["native"]), host)
        native_total = sum(native.seconds.values())
        for stack, layers in stacks.items():
            result = breakdown(workload, compose(catalog, list(layers)), host)
            for category in CATEGORIES:
                seconds = float(result.seconds[category])
                rows.append({
                    "workload": name, "mode": workload.mode, "stack": stack,
                    "layers": "+".join(layers), "category": category,
                    "seconds": seconds, "share_of_native": seconds / native_total,
                    "throughput_per_s": result.throughput_per_s,
                    "relative_throughput": result.throughput_per_s / native.throughput_per_s,
                    "mean_latency_ms": _ms(result.mean_latency_s),
                    "p99_latency_ms": _ms(result.p99_latency_s)})
    return rows


def _ms(seconds: float) -> float | None:
    return seconds * 1e3 if seconds != float("inf") else None
