"""Benchmark: the datacenter on one process, on local workers and on a Dask cluster.

One run prints, for ``benchmarks/scenarios/datacenter.toml`` (CloudSim Plus's
20,000 hosts, 40,000 VMs, 50,000 jobs; ``--scale`` for a fraction of the
hosts):

- the bare SimPy skeleton of the same work (:mod:`engine_overhead`);
- virtsim in one process (``workers=1``);
- virtsim cut into partitions on 2 local worker processes (``--workers 2``);
- virtsim on a Dask ``LocalCluster`` of 2 worker processes (``--scheduler``).

Each virtsim configuration runs in a fresh subprocess, so its peak memory is
its own: the figures are wall and CPU time (this process and its workers),
peak RSS of the process that merges and of its largest worker, and the SimPy
events processed (summed over partitions). The partitioned runs go through
the same steps as :func:`virtsim.run_scenario` (partitions, the executor,
merge, summary), with each partition's events counted on the way; the
tables (as CSV) and metrics (as JSON) of every configuration are checked to
be the same bytes. A Dask cluster is started before the clock (its start-up
is printed apart): a cluster serves many runs.

With ``--orchestrated``, the datacenter gets a vSphere HA orchestrator over
every host and one machine failure (``rack-a-0`` at 100 s, repaired after
5,000 s): its two VMs are rescheduled after 15 s, onto hosts of the other
partition. It runs through :func:`virtsim.run_scenario` in one process and
on 2 local workers, where the orchestrator's scope is cut and the partitions
advance in lockstep (:mod:`virtsim.exchange`); it prints CPU time (this
process and its workers), wall time, the windows and placements told across,
and checks the bytes.

Run: python benchmarks/parallel.py [--scale F] [--orchestrated]   (F=1: 20,000 hosts)
Prints figures; asserts nothing but the identical results.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_overhead import job_plan, skeleton
from harness import events_processed, peak_rss_mib, scenario_data

import virtsim
from virtsim.catalog import Catalog
from virtsim.errors import InputError
from virtsim.exchange import Lockstep
from virtsim.merge import OrderedPart, merge, order_part
from virtsim.partition import partitions
from virtsim.profiles import HostProfile
from virtsim.result import Result, write_table
from virtsim.run import PartitionJob, long_lived_stack, simulate, summarise, unit_index
from virtsim.simulation import Simulation
from virtsim.sweep_executor import close_executor, make_executor

CONFIGS = ("1 worker", "2 local workers", "Dask LocalCluster, 2 workers")
ORCHESTRATED = ("orchestrated, 1 worker", "orchestrated, 2 local workers")


def orchestrated_data(scale: float) -> dict[str, Any]:
    """The datacenter under one vSphere HA orchestrator, with one machine failure."""
    data = scenario_data("datacenter", scale)
    data["orchestrators"] = [{"profile": "vsphere-ha", "groups": ["vm"]}]
    data["faults"] = [{"kind": "machine-failure", "target": "rack-a-0", "at_s": 100.0,
                       "repair_s": 5000.0}]
    return data


def run_orchestrated(config: str, scale: float) -> dict[str, Any]:
    """One orchestrated configuration through :func:`virtsim.run_scenario`."""
    catalog = virtsim.load_catalog()
    scenario = virtsim.parse_scenario(orchestrated_data(scale), catalog)
    workers = 1 if config == ORCHESTRATED[0] else 2
    went = Lockstep()
    gc.collect()
    began, cpu = time.perf_counter(), time.process_time()
    result = virtsim.run_scenario(scenario, catalog, workers=workers, lockstep=went)
    ended = time.perf_counter()
    cpu = time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    moved = [(r["from_machine"], r["to_machine"]) for r in result.rows("reschedules")]
    return {"config": config, "wall_s": ended - began,
            "cpu_s": cpu + children.ru_utime + children.ru_stime, "peak_mib": peak_rss_mib(),
            "worker_peak_mib": children.ru_maxrss / 1024, "lockstep": went.describe()
            if workers > 1 else "one process", "moved": moved, "digest": _digest(result)}


def counted_partition(job: PartitionJob) -> tuple[OrderedPart, int] | InputError:
    """:func:`virtsim.run.run_partition`, also returning the SimPy events it processed."""
    seen: list[Simulation] = []
    try:
        result = simulate(job.scenario, job.catalog, job.seed, job.machines,
                          observe=seen.append)
    except InputError as exc:
        return exc
    with long_lived_stack():
        return order_part(result, unit_index(job.scenario)), events_processed(seen[0].env)


def run_config(config: str, scale: float) -> dict[str, Any]:
    """One configuration in this process: its figures and the digest of what it wrote."""
    catalog = virtsim.load_catalog()
    scenario = virtsim.parse_scenario(scenario_data("datacenter", scale), catalog)
    cluster, startup = None, 0.0
    if config == CONFIGS[2]:  # started before the clock: a cluster outlives one run
        from distributed import LocalCluster

        started = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        startup = time.perf_counter() - started
    gc.collect()
    began, cpu = time.perf_counter(), time.process_time()
    if config == CONFIGS[0]:
        seen: list[Simulation] = []
        part = simulate(scenario, catalog, scenario.seed, observe=seen.append)
        merging = time.perf_counter()
        with long_lived_stack():
            parts, events = [order_part(part, unit_index(scenario))], events_processed(
                seen[0].env)
    else:
        parts, events = _partitioned(scenario, catalog, cluster)
        merging = time.perf_counter()
    with long_lived_stack():
        result = summarise(merge(parts), scenario, catalog, scenario.seed)
    ended = time.perf_counter()
    cpu = time.process_time() - cpu
    if cluster is not None:
        cluster.close()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"config": config, "wall_s": ended - began, "merge_s": ended - merging,
            "cpu_s": cpu + children.ru_utime + children.ru_stime, "startup_s": startup,
            "peak_mib": peak_rss_mib(), "worker_peak_mib": children.ru_maxrss / 1024,
            "events": events, "instances": result.metrics["instances"],
            "digest": _digest(result)}


def _digest(result: Result) -> str:
    """SHA-256 of the metrics as ``--json`` prints them and every table as ``--out`` writes it."""
    digest = hashlib.sha256(result.to_json().encode())
    with tempfile.TemporaryDirectory() as folder:
        for name, rows in result.tables.items():
            path = Path(folder) / f"{name}.csv"
            write_table(path, rows)
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _partitioned(scenario: virtsim.Scenario, catalog: Catalog,
                 cluster: Any) -> tuple[list[OrderedPart], int]:
    executor = (make_executor(workers=2) if cluster is None
                else make_executor(scheduler=cluster.scheduler_address))
    try:
        jobs = [PartitionJob(scenario, catalog, scenario.seed, machines)
                for machines in partitions(scenario, 2)]
        outcomes = dict(executor.run(counted_partition, jobs))
    finally:
        close_executor(executor)
    parts: list[OrderedPart] = []
    events = 0
    for index in range(len(jobs)):
        outcome = outcomes[index]
        if isinstance(outcome, InputError):
            raise outcome
        parts.append(outcome[0])
        events += outcome[1]
    return parts, events


def main() -> None:
    """The skeleton here, then each virtsim configuration in its own subprocess."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the 20,000 hosts (default 1)")
    parser.add_argument("--orchestrated", action="store_true",
                        help="the datacenter under one orchestrator with a machine failure, "
                             "on 1 and 2 workers")
    parser.add_argument("--config", choices=CONFIGS + ORCHESTRATED, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.config:
        run = run_orchestrated if args.config in ORCHESTRATED else run_config
        print(json.dumps(run(args.config, args.scale)))
        return
    if args.orchestrated:
        _orchestrated(args.scale)
        return
    print(f"machine: {os.cpu_count()} CPUs; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    data = scenario_data("datacenter", args.scale)
    catalog = virtsim.load_catalog()
    cores = catalog.require(HostProfile, data["hosts"][0]["profile"]).cores
    gc.collect()
    bare_wall, bare_cpu, bare_events, jobs = skeleton(job_plan(data), cores, seed=1)
    print(f"{'bare SimPy skeleton':<38}: wall {bare_wall:6.2f} s, cpu {bare_cpu:6.2f} s, "
          f"peak RSS {peak_rss_mib():7.1f} MiB, {bare_events:,} events, {jobs:,} jobs")
    digests = set()
    here = str(Path(__file__).resolve().parent)  # Dask's worker processes import from here too
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (here, os.environ.get("PYTHONPATH", "")) if p)}
    for config in CONFIGS:
        out = subprocess.run([sys.executable, __file__, "--scale", str(args.scale),
                              "--config", config], check=True, capture_output=True, text=True,
                             env=env)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        digests.add(figures["digest"])
        startup = (f" (cluster start {figures['startup_s']:.2f} s before the clock)"
                   if figures["startup_s"] else "")
        print(f"{'virtsim, ' + config:<38}: wall {figures['wall_s']:6.2f} s (merge and "
              f"summary {figures['merge_s']:.2f}){startup}, cpu {figures['cpu_s']:6.2f} s, "
              f"peak RSS {figures['peak_mib']:7.1f} MiB (largest worker "
              f"{figures['worker_peak_mib']:.1f} MiB), {figures['events']:,} events, "
              f"{figures['instances']:,} instances",
              flush=True)
    print(f"tables and metrics byte-identical across configurations: {len(digests) == 1}; "
          f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if len(digests) != 1:
        sys.exit(1)


def _orchestrated(scale: float) -> None:
    """Each orchestrated configuration in its own subprocess; the bytes compared."""
    print(f"machine: {os.cpu_count()} CPUs; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    digests = set()
    for config in ORCHESTRATED:
        out = subprocess.run([sys.executable, __file__, "--scale", str(scale), "--config",
                              config], check=True, capture_output=True, text=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        digests.add(figures["digest"])
        print(f"virtsim, {config:<30}: cpu {figures['cpu_s']:6.2f} s, wall "
              f"{figures['wall_s']:6.2f} s, peak RSS {figures['peak_mib']:7.1f} MiB (largest "
              f"worker {figures['worker_peak_mib']:.1f} MiB); {figures['lockstep']}; "
              f"moved {figures['moved']}", flush=True)
    print(f"tables and metrics byte-identical: {len(digests) == 1}; load average after: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if len(digests) != 1:
        sys.exit(1)


if __name__ == "__main__":
    main()
