"""Benchmark: `virtsim plan` for a 10,000-instance plan (the target is under 2 s).

Runs the shipped sandboxed-functions plan (10,000 functions, four technologies)
and a database, cache and web mix scaled to 10,000 instances (six
technologies, three groups), each ``--repeat`` times after one warm-up, and
prints the wall time of the analytic answer (catalogue loaded once, as the
command line does) and of the whole command in a fresh process.

    python benchmarks/plan.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from virtsim.catalog import load_catalog  # noqa: E402
from virtsim.plan_file import load_plan  # noqa: E402
from virtsim.planning import plan  # noqa: E402

PLANS = ROOT / "experiments" / "plans"


def mix_of_10000() -> dict[str, object]:
    """The database, cache and web mix with 10,000 instances in all."""
    return {"name": "mix of 10,000", "hosts": ["m5d-metal", "felter-server"],
            "workloads": [
                {"name": "web", "workload": "nginx", "count": 9000, "image": "nginx-alpine",
                 "requests": {"cpus": 0.05, "memory_mib": 64}},
                {"name": "cache", "workload": "redis", "count": 800, "image": "alpine",
                 "requests": {"cpus": 1, "memory_mib": 4096}},
                {"name": "db", "workload": "postgres-oltp", "count": 200, "image": "debian",
                 "requests": {"cpus": 4, "memory_mib": 16384}}],
            "constraints": {"cold_start_s": 300, "blast_radius": 0.05, "headroom": 0.1}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    catalog = load_catalog()
    cases = {"sandboxed-functions (10,000 x 1 group, 4 technologies)":
             load_plan(PLANS / "sandboxed-functions.toml", catalog),
             "mix (10,000 x 3 groups, 6 technologies, 2 hosts)": mix_of_10000()}
    for name, spec in cases.items():
        plan(spec, catalog)  # warm-up
        times, cpu = [], []
        for _ in range(args.repeat):
            began, began_cpu = time.perf_counter(), time.process_time()
            result = plan(spec, catalog)
            times.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
        instances = result.options[0].instances
        print(f"{name}: {instances} instances, {len(result.options)} options: wall median "
              f"{statistics.median(times):.3f} s (max {max(times):.3f} s), CPU median "
              f"{statistics.median(cpu):.3f} s; answer: {result.answer()}")
    began = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", _TIMED, str(PLANS / "sandboxed-functions.toml")],
                           check=True, cwd=ROOT, capture_output=True, text=True)
    print(f"whole command in a fresh process (imports, catalogue, plan, table; "
          f"sandboxed-functions): wall {time.perf_counter() - began:.2f} s, "
          f"CPU {child.stdout.strip()} s")


_TIMED = """
import contextlib, io, resource, sys
from virtsim.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["plan", sys.argv[1]])
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"{usage.ru_utime + usage.ru_stime:.2f}")
"""


if __name__ == "__main__":
    main()
