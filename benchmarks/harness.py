"""Measuring a run: wall time per phase, peak memory and SimPy events processed.

The benchmarks share this: :func:`scenario_data` loads a scenario file and scales its
host counts, :func:`measure` runs it through the same steps as
:func:`virtsim.run_scenario` in one process (build the graph, attach the models,
advance the clock, report, put the tables in canonical order and compute the
metrics) and times each phase, in wall and in CPU time: on a machine shared
with other work CPU time is the steadier of the two. :func:`write_tables` times
writing the tables as CSV, as ``virtsim run --out`` does. Events processed are the events SimPy
scheduled minus those still queued when the clock stopped.
"""

from __future__ import annotations

import gc
import itertools
import resource
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import simpy

import virtsim
from virtsim.catalog import Catalog
from virtsim.merge import merge, order_part
from virtsim.partition import batches
from virtsim.result import write_table
from virtsim.run import long_lived_stack, models, summarise, unit_index
from virtsim.scenario import Scenario
from virtsim.simulation import Simulation
from virtsim.stack import build_graph

HERE = Path(__file__).resolve().parent
SCENARIO_DIRS = (HERE / "scenarios", HERE.parent / "experiments" / "scenarios")
"""Where :func:`scenario_data` looks for ``NAME.toml``: the benchmark scenarios (kept out
of ``experiments/scenarios``, whose every file the test suite runs at full size), then the
examples."""


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def events_processed(env: simpy.Environment) -> int:
    """Events SimPy has processed: ids handed out minus events still in the queue."""
    counter: itertools.count[int] = env._eid  # SimPy numbers every scheduled event
    scheduled = int(repr(counter)[6:-1])  # "count(N)": N ids handed out, none consumed
    return scheduled - len(env._queue)


def scenario_data(name: str, host_scale: float = 1.0,
                  per_host_scale: float = 1.0) -> dict[str, Any]:
    """A shipped scenario's table with host counts (and instance counts per host) scaled."""
    path = next((d / f"{name}.toml" for d in SCENARIO_DIRS if (d / f"{name}.toml").exists()),
                SCENARIO_DIRS[0] / f"{name}.toml")
    with path.open("rb") as file:
        data = tomllib.load(file)
    for host in data["hosts"]:
        host["count"] = max(1, round(host.get("count", 1) * host_scale))
        for group in (*host.get("vms", ()), *host.get("containers", ())):
            group["count"] = max(1, round(group.get("count", 1) * per_host_scale))
    hosts = {h["name"]: h for h in data["hosts"]}
    for fault in data.get("faults", ()):  # keep faults aimed at a machine that still exists
        group, _, index = fault["target"].partition("/")[0].rpartition("-")
        if group in hosts and int(index) >= hosts[group]["count"]:
            fault["target"] = fault["target"].replace(f"{group}-{index}", f"{group}-0", 1)
    return data


@dataclass
class Measurement:
    """What one run cost."""

    hosts: int
    instances: int
    nodes: int
    events: int
    load_s: float
    build_s: float
    attach_s: float
    run_s: float
    report_s: float
    peak_mib: float
    cpu_s: float
    cpu_phases: dict[str, float] = field(default_factory=dict)
    """CPU seconds of each phase (build, attach, run, report)."""

    @property
    def wall_s(self) -> float:
        """Build, attach, run and report (loading the file excluded)."""
        return self.build_s + self.attach_s + self.run_s + self.report_s

    def line(self, label: str) -> str:
        """One printed line of figures."""
        return (f"{label}: wall {self.wall_s:7.2f} s, cpu {self.cpu_s:7.2f} s (build "
                f"{self.build_s:.2f}, attach {self.attach_s:.2f}, run {self.run_s:.2f}, "
                f"report {self.report_s:.2f}; cpu "
                + ", ".join(f"{k} {v:.2f}" for k, v in self.cpu_phases.items()) + "), "
                f"peak RSS {self.peak_mib:7.1f} MiB, {self.events:,} events "
                f"({1e6 * self.run_s / max(self.events, 1):.1f} us/event in run), "
                f"{self.hosts:,} hosts, {self.instances:,} instances, {self.nodes:,} nodes")


def measure(data: dict[str, Any], catalog: Catalog | None = None,
            batched: bool = True) -> tuple[Measurement, virtsim.Result]:
    """Run a scenario table as :func:`virtsim.run_scenario` does in one process, timing
    each phase (summed over its batches, :func:`virtsim.partition.batches`; ``batched=False``:
    one clock over every machine)."""
    catalog = catalog or virtsim.load_catalog()
    began = time.perf_counter()
    scenario: Scenario = virtsim.parse_scenario(data, catalog)
    loaded = time.perf_counter()
    gc.collect()
    todo: list[tuple[str, ...] | None] = list(batches(scenario)) if batched else [None]
    if len(todo) == 1:
        todo = [None]  # one batch: every machine, as run_scenario runs it
    wall = dict.fromkeys(("build", "attach", "run", "report"), 0.0)
    phases = dict.fromkeys(wall, 0.0)
    parts, events, nodes = [], 0, 0
    cpu_began = time.process_time()
    for machines in todo:
        clocks = [(time.perf_counter(), time.process_time())]
        graph = build_graph(scenario, catalog, machines)
        clocks.append((time.perf_counter(), time.process_time()))
        sim = Simulation(scenario, graph, catalog, scenario.seed, partial=machines is not None)
        active = models()
        with long_lived_stack():
            for model in active:
                model.attach(sim)
            clocks.append((time.perf_counter(), time.process_time()))
            sim.env.run(until=scenario.duration_s)
            clocks.append((time.perf_counter(), time.process_time()))
            for model in active:
                model.report(sim)
            parts.append(order_part(sim.result, unit_index(scenario)))
        clocks.append((time.perf_counter(), time.process_time()))
        for name, (a, b) in zip(wall, itertools.pairwise(clocks), strict=True):
            wall[name] += b[0] - a[0]
            phases[name] += b[1] - a[1]
        events += events_processed(sim.env)
        nodes += len(graph)
    merged_at = (time.perf_counter(), time.process_time())
    with long_lived_stack():
        result = summarise(merge(parts), scenario, catalog, scenario.seed)
    wall["report"] += time.perf_counter() - merged_at[0]
    phases["report"] += time.process_time() - merged_at[1]
    hosts = sum(h.count for h in scenario.hosts)
    figures = Measurement(hosts, int(result.metrics.get("instances", 0)), nodes, events,
                          loaded - began, wall["build"], wall["attach"], wall["run"],
                          wall["report"], peak_rss_mib(), time.process_time() - cpu_began,
                          phases)
    return figures, result


def write_tables(result: virtsim.Result) -> tuple[float, float, int]:
    """Write every table of ``result`` as CSV into a temporary folder, as ``virtsim run
    --out`` does; returns the wall and CPU seconds it took and the bytes written."""
    with tempfile.TemporaryDirectory() as folder:
        began, cpu = time.perf_counter(), time.process_time()
        for name, rows in result.tables.items():
            write_table(Path(folder) / f"{name}.csv", rows)
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        return wall, cpu, sum(p.stat().st_size for p in Path(folder).iterdir())
