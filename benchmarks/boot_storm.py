"""Benchmark: N containers started at once on one host (wall time, peak RSS).

Run: python benchmarks/boot_storm.py [N ...]   (default 10 100 1000)
Prints figures; asserts nothing (speed is measured here, never in the test suite).
"""

from __future__ import annotations

import resource
import sys
import time

import virtsim


def storm(count: int) -> None:
    """Start ``count`` cached alpine containers at t=0 and print the cost of simulating it."""
    catalog = virtsim.load_catalog()
    scenario = virtsim.parse_scenario({
        "name": f"storm-{count}", "duration_s": 36_000, "seed": 1,
        "hosts": [{"name": "metal", "profile": "m5d-metal", "cached_images": ["alpine"],
                   "containers": [{"name": "c", "count": count, "image": "alpine"}]}]},
        catalog)
    began = time.perf_counter()
    result = virtsim.run_scenario(scenario, catalog)
    wall = time.perf_counter() - began
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    ready = result.metrics["time_to_ready_s"]
    print(f"{count:>6} containers: wall {wall:6.2f} s, peak RSS {peak_mib:6.1f} MiB, "
          f"{len(result.table('stages')):>6} stage records, simulated p50 ready "
          f"{ready['p50']:.2f} s, max {ready['max']:.2f} s")


def main() -> None:
    """Run the storm at each size given on the command line."""
    for arg in sys.argv[1:] or ["10", "100", "1000"]:
        storm(int(arg))


if __name__ == "__main__":
    main()
