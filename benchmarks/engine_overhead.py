"""Benchmark: virtsim's engine against a bare SimPy skeleton of the same datacenter.

The skeleton is the CloudSim Plus scale test written directly in SimPy: each
host is a ``simpy.Resource`` with one slot per core, each VM holds one core
of its host while it runs its jobs one after another, each job a timeout.
virtsim runs ``benchmarks/scenarios/datacenter.toml`` (the same hosts, VMs
and jobs, with the full model on: staged VM boots on fluid-shared host
resources, jobs sharing CPU, footprint). Both run in this process, one after
the other, and the ratios of wall time and of time per SimPy event are
printed. Per-event cost is the engine-overhead figure: the target is within
3x of bare SimPy for the same event count.

Run: python benchmarks/engine_overhead.py [--scale F]   (F=1: 20,000 hosts)
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Generator
from pathlib import Path

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import events_processed, measure, peak_rss_mib, scenario_data

import virtsim
from virtsim.profiles import HostProfile


def job_plan(data: dict[str, object]) -> list[tuple[int, int, int]]:
    """(hosts, VMs per host, jobs per VM) of each host group of a scenario table."""
    plan = []
    for host in data["hosts"]:  # type: ignore[attr-defined]
        for vm in host.get("vms", ()):
            jobs = sum(p.get("count", 1) for p in vm.get("processes", ()))
            plan.append((int(host["count"]), int(vm["count"]), jobs))
    return plan


def skeleton(plan: list[tuple[int, int, int]], cores: int,
             seed: int) -> tuple[float, float, int, int]:
    """Run the bare SimPy skeleton; wall and CPU seconds, events processed, jobs run."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    jobs_run = 0

    def vm(core_pool: simpy.Resource, lengths: list[float]) -> Generator[simpy.Event]:
        nonlocal jobs_run
        with core_pool.request() as core:
            yield core
            for length in lengths:
                yield env.timeout(length)
                jobs_run += 1

    began, cpu = time.perf_counter(), time.process_time()
    for hosts, vms, jobs in plan:
        for _ in range(hosts):
            pool = simpy.Resource(env, capacity=cores)
            for _ in range(vms):
                env.process(vm(pool, list(rng.uniform(100.0, 1000.0, jobs))))
    env.run()
    return (time.perf_counter() - began, time.process_time() - cpu, events_processed(env),
            jobs_run)


def main() -> None:
    """Run both, print each one's figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the 20,000 hosts (default 1)")
    args = parser.parse_args()
    data = scenario_data("datacenter", args.scale)
    plan = job_plan(data)
    catalog = virtsim.load_catalog()
    cores = catalog.require(HostProfile, data["hosts"][0]["profile"]).cores
    gc.collect()
    bare_wall, bare_cpu, bare_events, jobs = skeleton(plan, cores, seed=1)
    bare_peak = peak_rss_mib()
    print(f"bare SimPy skeleton : wall {bare_wall:7.2f} s, cpu {bare_cpu:7.2f} s, peak RSS "
          f"{bare_peak:7.1f} MiB, {bare_events:,} events ({1e6 * bare_cpu / bare_events:.1f} "
          f"us cpu/event), {sum(h * v for h, v, _ in plan):,} VMs, {jobs:,} jobs")
    figures, _ = measure(data, catalog)
    print(figures.line("virtsim datacenter  "))
    per_event = (figures.cpu_s / figures.events) / (bare_cpu / bare_events)
    print(f"ratio virtsim / bare SimPy (CPU time, steadier than wall on a shared machine): "
          f"total {figures.cpu_s / bare_cpu:.1f}x, events {figures.events / bare_events:.1f}x, "
          f"time per event {per_event:.1f}x (target <= 3x)")


if __name__ == "__main__":
    main()
