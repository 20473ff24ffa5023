"""Parallel efficiency of ``virtsim sweep``: one process, N local workers, a Dask LocalCluster.

The sweep is the issue's example: one host starting N alpine containers at
once, N from ``--start`` to ``--stop`` in steps of ``--step`` (101 points by
default), one replication each. It runs three times, on

- one process (``workers=1``: the runs one after another, no subprocess);
- ``--workers`` local worker processes;
- a Dask ``LocalCluster`` of ``--workers`` single-threaded worker processes;

and prints wall time, the CPU time of this process and its children, the
speed-up over one process and the parallel efficiency (speed-up divided by
workers), and checks that the three summary tables are byte-identical.
On a machine shared with other work, compare CPU time as well as wall time.

    python benchmarks/sweep_efficiency.py [--workers 2] [--start 10] [--stop 1010] [--step 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import virtsim


def sweep_table(start: int, stop: int, step: int) -> dict[str, Any]:
    """The benchmark's sweep: a boot storm of N warm alpine containers on one host."""
    return {"name": "boot storm", "seed": 1, "replications": 1,
            "factors": [{"name": "containers", "key": "hosts.metal.containers.c.count",
                         "range": {"start": start, "stop": stop, "step": step}}],
            "scenario": {"name": "storm", "duration_s": 3600, "hosts": [{
                "name": "metal", "profile": "m5d-metal", "cached_images": ["alpine"],
                "containers": [{"name": "c", "image": "alpine"}]}]}}


def cpu_s() -> float:
    """CPU seconds of this process and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label: str, run: Callable[[Path], Any], folder: Path) -> tuple[float, bytes]:
    """Run one sweep into ``folder``: wall seconds and the summary table's bytes."""
    cpu, wall = cpu_s(), time.perf_counter()
    run(folder)
    wall = time.perf_counter() - wall
    print(f"  {label:34s} wall {wall:7.1f} s   cpu (this process + reaped children) "
          f"{cpu_s() - cpu:7.1f} s   load average after {os.getloadavg()[0]:.1f}", flush=True)
    return wall, (folder / "summary.csv").read_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--start", type=int, default=10)
    parser.add_argument("--stop", type=int, default=1010)
    parser.add_argument("--step", type=int, default=10)
    args = parser.parse_args()
    table = sweep_table(args.start, args.stop, args.step)
    points = len(range(args.start, args.stop + 1, args.step))
    print(f"sweep of {points} points (containers {args.start}..{args.stop} step {args.step}), "
          f"{args.workers} workers, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        serial, reference = timed("one process", lambda out: virtsim.sweep(
            table, workers=1, out=out, figure=False), root / "serial")
        local, local_table = timed(f"{args.workers} local worker processes", lambda out:
                                   virtsim.sweep(table, workers=args.workers, out=out,
                                                 figure=False), root / "local")
        from distributed import LocalCluster

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            dask, dask_table = timed(f"Dask LocalCluster, {args.workers} workers", lambda out:
                                     virtsim.sweep(table, scheduler=cluster.scheduler_address,
                                                   out=out, figure=False), root / "dask")
    for label, wall in (("local processes", local), ("Dask LocalCluster", dask)):
        speedup = serial / wall
        print(f"{label:18s} speed-up {speedup:4.2f}x, parallel efficiency "
              f"{speedup / args.workers:4.0%}")
    same = reference == local_table == dask_table
    print(f"summary tables identical on all three: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
