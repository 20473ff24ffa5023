"""Benchmark: the datacenter scenarios at full size (wall time, peak memory, events).

``datacenter`` is the CloudSim Plus scale test (20,000 hosts, 40,000 VMs,
50,000 jobs) with the full model on; ``datacenter-mixed`` adds 100,000
containers with image pulls and a fault; ``hyperscale`` is 100,000 hosts and
1,000,000 containers. Each scenario runs in its own process so its peak
memory is its own. Targets on the 2-core development machine: datacenter
under 10 s and 1 GiB, mixed under 30 s, hyperscale under 3 minutes and 8 GiB.

Run: python benchmarks/datacenter.py [NAME ...] [--scale F] [--repeat N] [--profile FILE]
     [--write] (default: datacenter; --scale 0.1 runs a tenth of the hosts; --write also
     times writing the tables as CSV, as ``virtsim run --out`` does)
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import measure, scenario_data, write_tables

from virtsim.compiled import HOT_MODULES, compiled_modules

TARGETS = {"datacenter": "< 10 s, < 1 GiB", "datacenter-mixed": "< 30 s",
           "hyperscale": "< 180 s, < 8 GiB"}


def run_one(name: str, scale: float, profile: str | None, write: bool = False) -> None:
    """Run one scenario in this process and print its figures (and profile)."""
    data = scenario_data(name, scale)
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    figures, result = measure(data)
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    ready = result.metrics.get("time_to_ready_s", {})
    label = f"{name} x{scale:g}" if scale != 1 else name
    print(figures.line(f"{label:<18}") + f"; target {TARGETS.get(name, '-')}; simulated "
          f"p50 ready {ready.get('p50', float('nan')):.1f} s; compiled modules "
          f"{len(compiled_modules())} of {len(HOT_MODULES)}", flush=True)
    if write:
        wall, cpu, size = write_tables(result)
        print(f"{'':<18}  writing the tables as CSV: wall {wall:.2f} s, cpu {cpu:.2f} s, "
              f"{size / 2**20:,.1f} MiB", flush=True)


def main() -> None:
    """Run each named scenario in a fresh subprocess (or this one, with --inline)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["datacenter"], help=", ".join(TARGETS))
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the hosts")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (report the best)")
    parser.add_argument("--profile", help="write a cProfile of the run to this file")
    parser.add_argument("--write", action="store_true", help="also time writing the CSVs")
    parser.add_argument("--inline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inline:
        run_one(args.names[0], args.scale, args.profile, args.write)
        return
    for name in args.names:
        for _ in range(args.repeat):
            command = [sys.executable, __file__, name, "--inline", "--scale", str(args.scale)]
            if args.profile:
                command += ["--profile", args.profile]
            if args.write:
                command.append("--write")
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
