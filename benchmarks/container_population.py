"""Benchmark: creating 1, 10, 100, 1,000, 3,000 containers on one host, back to back and at once.

For each count and engine, two ways of creating the containers:

- *back to back*: one ``run`` after another, each a fixed gap after the
  previous one was asked for (longer than one start takes), so no two
  overlap and each start meets the host as the ones before left it: more
  mounts, more iptables rules, more cgroups;
- *at once*: all asked for at t = 0, so they also queue on the engine's
  lock and on the kernel's global locks (rtnl, net_mutex, namespace_sem,
  xtables, cgroup_mutex) and share the CPU.

Prints, per point, the simulated time per container (mean, p50, p99), the
mechanism that takes most of it and the wall time of the simulation, and
writes ``benchmarks/container_population.json`` and ``.png`` (per-container
time against count, and the share of each mechanism, at once and back to
back). Figures, not asserts:
run it by hand (``python benchmarks/container_population.py [--max N] [--counts N,...]
[--modes ...]``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

import virtsim
from virtsim.start_breakdown import dominant, start_breakdown

HERE = Path(__file__).resolve().parent
COUNTS = (1, 10, 100, 1000, 3000)
ENGINES = ("docker", "containerd")
GAP_S = 2.0
"""Back to back: seconds between two requests (one warm start takes under a second)."""


def scenario(engine: str, count: int, back_to_back: bool) -> dict[str, Any]:
    """``count`` cached alpine containers on one m5d.metal host, each running until stopped
    (``docker run -d``: an idle service), so each one's kernel objects stay."""
    if back_to_back:
        groups = [{"name": f"c{i}", "image": "alpine", "engine": engine, "workload": "idle",
                   "start_at_s": i * GAP_S} for i in range(count)]
    else:
        groups = [{"name": "c", "count": count, "image": "alpine", "engine": engine,
                   "workload": "idle"}]
    return {"name": f"population-{engine}-{count}", "duration_s": count * GAP_S + 3600,
            "seed": 1, "hosts": [{"name": "h", "profile": "m5d-metal",
                                  "cached_images": ["alpine"], "containers": groups}]}


def point(catalog: virtsim.Catalog, engine: str, count: int, back_to_back: bool) -> dict[str, Any]:
    """One run: time per container and where it goes."""
    spec = virtsim.parse_scenario(scenario(engine, count, back_to_back), catalog)
    began = time.perf_counter()
    result = virtsim.run_scenario(spec, catalog)
    wall = time.perf_counter() - began
    rows = result.table("instances")
    ready = np.array([float(r["ready_s"]) - float(r["requested_s"])  # type: ignore[arg-type]
                      for r in rows if r["ready_s"] is not None])
    breakdown = start_breakdown(result.table("stages"), rows)
    by_request = sorted(rows, key=lambda r: float(r["requested_s"]))  # type: ignore[arg-type]
    last = by_request[-1]
    objects: dict[str, float] = {}  # per instance: kernel objects, lock waits included
    for r in result.table("stages"):
        if r["owner"] == "kernel-objects":
            took = float(r["end_s"]) - float(r["start_s"]) + float(r["queued_s"])  # type: ignore[arg-type]
            objects[str(r["instance"])] = objects.get(str(r["instance"]), 0.0) + took
    return {"engine": engine, "count": count,
            "mode": "back to back" if back_to_back else "at once",
            "mean_s": float(ready.mean()), "p50_s": float(np.percentile(ready, 50)),
            "p99_s": float(np.percentile(ready, 99)),
            "last_s": float(last["ready_s"]) - float(last["requested_s"]),  # type: ignore[arg-type]
            "objects_first_s": objects.get(str(by_request[0]["instance"]), 0.0),
            "objects_last_s": objects.get(str(last["instance"]), 0.0),
            "dominant": dominant(breakdown), "breakdown": breakdown, "wall_s": wall}


def draw(points: list[dict[str, Any]], out: Path) -> None:
    """Per-container time against count, and the share of each mechanism at each count,
    started at once (top) and back to back (bottom)."""
    fig, axes = plt.subplots(2, 3, figsize=(19, 11), layout="constrained")
    ax = axes[0, 0]
    for engine in ENGINES:
        for mode, style in (("back to back", "--"), ("at once", "-")):
            rows = [p for p in points if p["engine"] == engine and p["mode"] == mode]
            ax.plot([p["count"] for p in rows], [p["mean_s"] for p in rows], style, marker="o",
                    label=f"{engine}, {mode}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("containers created on one host")
    ax.set_ylabel("mean seconds to ready per container")
    ax.set_title("Per-container start time as the host fills")
    ax.legend()
    keys = sorted({k for p in points for k in p["breakdown"]})
    colours = dict(zip(keys, plt.get_cmap("tab20").colors, strict=False))
    panels = [(axes[r, c], engine, mode) for r, mode in enumerate(("at once", "back to back"))
              for c, engine in enumerate(ENGINES, start=1)]
    for ax, engine, mode in panels:
        rows = [p for p in points if p["engine"] == engine and p["mode"] == mode]
        bottom = np.zeros(len(rows))
        xs = np.arange(len(rows))
        for key in keys:
            values = np.array([p["breakdown"].get(key, 0.0) for p in rows])
            if values.any():
                ax.bar(xs, values, bottom=bottom, color=colours[key], label=key)
                bottom += values
        ax.set_xticks(xs, [f"{p['count']:,}" for p in rows])
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_xlabel(f"containers started {mode}")
        ax.set_ylabel("mean seconds per container")
        ax.set_title(f"{engine}, {mode}: where the time goes")
    handles: list[Any] = []
    labels: list[str] = []
    for ax, _, _ in panels:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    axes[1, 0].axis("off")
    axes[1, 0].legend(handles, labels, loc="center", fontsize=10, title="mechanism")
    fig.savefig(out, dpi=110)


def main() -> None:
    """Run every point up to ``--max`` containers and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=max(COUNTS), help="largest count")
    parser.add_argument("--modes", choices=("both", "back-to-back", "at-once"), default="both",
                        help="run only one way (the other points are kept from the JSON)")
    parser.add_argument("--counts", type=lambda text: [int(c) for c in text.split(",")],
                        default=list(COUNTS), metavar="N,...",
                        help="run only these counts (the other points are kept from the JSON)")
    args = parser.parse_args()
    catalog = virtsim.load_catalog()
    out = HERE / "container_population.json"
    kept: list[dict[str, Any]] = json.loads(out.read_text()) if out.exists() else []
    modes = {"both": (True, False), "back-to-back": (True,), "at-once": (False,)}[args.modes]
    points: list[dict[str, Any]] = []
    for engine in ENGINES:
        for count in (c for c in args.counts if c <= args.max):
            for back_to_back in modes:
                p = point(catalog, engine, count, back_to_back)
                points.append(p)
                print(f"{engine:>10} {count:>5} {p['mode']:>12}: mean {p['mean_s']:8.3f} s, "
                      f"p99 {p['p99_s']:8.3f} s, last {p['last_s']:8.3f} s; kernel objects "
                      f"first {p['objects_first_s'] * 1000:.1f} ms, last "
                      f"{p['objects_last_s'] * 1000:.1f} ms; dominant: {p['dominant']} "
                      f"({p['breakdown'].get(p['dominant'], 0):.3f} s); wall {p['wall_s']:.1f} s",
                      flush=True)
    done = {(p["engine"], p["count"], p["mode"]) for p in points}
    points += [p for p in kept if (p["engine"], p["count"], p["mode"]) not in done]
    points.sort(key=lambda p: (ENGINES.index(p["engine"]), p["count"], p["mode"]))
    out.write_text(json.dumps(points, indent=1))
    draw(points, HERE / "container_population.png")


if __name__ == "__main__":
    main()
