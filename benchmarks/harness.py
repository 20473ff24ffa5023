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


def measure(data: dict[str, Any], catalog: Catalog | None = None) -> tuple[Measurement,
                                                                          virtsim.Result]:
    """Run a scenario table as :func:`virtsim.run_scenario` does, timing each phase."""
    catalog = catalog or virtsim.load_catalog()
    began = time.perf_counter()
    scenario: Scenario = virtsim.parse_scenario(data, catalog)
    loaded = time.perf_counter()
    gc.collect()
    cpu = [time.process_time()]
    graph = build_graph(scenario, catalog)
    built = time.perf_counter()
    cpu.append(time.process_time())
    sim = Simulation(scenario, graph, catalog, scenario.seed)
    active = models()
    with long_lived_stack():
        for model in active:
            model.attach(sim)
        attached = time.perf_counter()
        cpu.append(time.process_time())
        sim.env.run(until=scenario.duration_s)
        ran = time.perf_counter()
        cpu.append(time.process_time())
        for model in active:
            model.report(sim)
    with long_lived_stack():
        result = summarise(merge([order_part(sim.result, unit_index(scenario))]), scenario,
                           catalog, scenario.seed)
    reported = time.perf_counter()
    cpu.append(time.process_time())
    hosts = sum(h.count for h in scenario.hosts)
    phases = dict(zip(("build", "attach", "run", "report"),
                      (b - a for a, b in itertools.pairwise(cpu)), strict=True))
    figures = Measurement(hosts, int(result.metrics.get("instances", 0)), len(graph),
                          events_processed(sim.env), loaded - began, built - loaded,
                          attached - built, ran - attached, reported - ran, peak_rss_mib(),
                          cpu[-1] - cpu[0], phases)
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
