"""Benchmark: wall time and peak memory against hosts and against instances per host.

Two curves, each point run in a fresh subprocess so its peak memory is its own:

- **hosts**: the datacenter scenario (two VMs per host booting through their
  stages, one or two batch jobs in each) from 1,000 to 100,000 hosts;
- **instances per host**: the hyperscale scenario's shape (cached alpine
  containers under Docker and runc) on 1,000 hosts, from 1 to 100 containers
  per host.

Cost should grow about linearly in lifecycle events, never in hosts squared.
The figure (``benchmarks/scaling.png``) has wall time, CPU time (the steadier
figure on a shared machine) and peak memory on log-log axes, with a line of
slope one through the first point for reference.

Run: python benchmarks/scaling.py [--max-hosts N] [--max-per-host N] [--out FILE] [--replot]
Prints one line per point; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import measure, scenario_data  # noqa: E402

HOSTS = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
PER_HOST = (1, 3, 10, 30, 100)
DATACENTER_HOSTS = 20_000
HYPERSCALE_HOSTS = 100_000
HYPERSCALE_PER_HOST = 10
CURVE_HOSTS = 1_000


def point(curve: str, size: int) -> dict[str, float]:
    """Run one point of a curve in this process; its figures as a dict."""
    if curve == "hosts":
        data = scenario_data("datacenter", size / DATACENTER_HOSTS)
    else:
        data = scenario_data("hyperscale", CURVE_HOSTS / HYPERSCALE_HOSTS,
                             size / HYPERSCALE_PER_HOST)
    figures, _ = measure(data)
    return {"size": size, "wall_s": figures.wall_s, "cpu_s": figures.cpu_s,
            "peak_mib": figures.peak_mib, "events": figures.events, "instances": figures.instances}


def run_curve(curve: str, sizes: list[int]) -> list[dict[str, float]]:
    """Every point of a curve, each in a fresh subprocess."""
    points = []
    for size in sizes:
        out = subprocess.run([sys.executable, __file__, "--point", curve, str(size)],
                             check=True, capture_output=True, text=True).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        print(f"{curve:>9} {size:>7,}: wall {figures['wall_s']:7.2f} s, cpu "
              f"{figures['cpu_s']:7.2f} s, peak RSS "
              f"{figures['peak_mib']:7.1f} MiB, {int(figures['events']):,} events, "
              f"{int(figures['instances']):,} instances", flush=True)
        points.append(figures)
    return points


def plot(curves: dict[str, list[dict[str, float]]], out: Path) -> None:
    """Wall time and peak memory against size, one panel per curve."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    labels = {"hosts": ("hosts (datacenter: 2 VMs and 2.5 jobs per host)", "o-"),
              "per-host": (f"containers per host ({CURVE_HOSTS:,} hosts)", "s-")}
    for ax, (curve, points) in zip(axes, curves.items(), strict=False):
        if not points:
            continue
        sizes = [p["size"] for p in points]
        label, style = labels[curve]
        ax.loglog(sizes, [p["wall_s"] for p in points], style, label="wall time (s)")
        if all("cpu_s" in p for p in points):
            ax.loglog(sizes, [p["cpu_s"] for p in points], style, alpha=0.5,
                      label="CPU time (s)")
        ax.loglog(sizes, [p["peak_mib"] / 1024 for p in points], style, mfc="none",
                  label="peak RSS (GiB)")
        first = points[0]
        ax.loglog(sizes, [first["wall_s"] * s / first["size"] for s in sizes], ":", color="grey",
                  label="linear (slope 1)")
        ax.set_xlabel(label)
        ax.set_ylabel("wall time (s) / peak memory (GiB)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0].set_title("Cost against hosts")
    axes[1].set_title("Cost against instances per host")
    fig.suptitle("virtsim scaling on the 2-core development machine (each point a fresh process)")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


def main() -> None:
    """Run both curves up to the given limits and plot them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-hosts", type=int, default=HOSTS[-1])
    parser.add_argument("--max-per-host", type=int, default=PER_HOST[-1])
    parser.add_argument("--out", type=Path, default=HERE / "scaling.png")
    parser.add_argument("--replot", action="store_true",
                        help="redraw the figure from the .json beside it, running nothing")
    parser.add_argument("--point", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.point:
        print(json.dumps(point(args.point[0], int(args.point[1]))))
        return
    if args.replot:
        plot(json.loads(args.out.with_suffix(".json").read_text()), args.out)
        return
    curves = {"hosts": run_curve("hosts", [h for h in HOSTS if h <= args.max_hosts]),
              "per-host": run_curve("per-host", [n for n in PER_HOST if n <= args.max_per_host])}
    (args.out.with_suffix(".json")).write_text(json.dumps(curves, indent=1) + "\n")
    plot(curves, args.out)


if __name__ == "__main__":
    main()
