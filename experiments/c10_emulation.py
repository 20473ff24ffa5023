"""C10: images for another CPU architecture run through QEMU user-mode emulation, much slower.

Scenario (built in code):

- *placements*: an arm64-only image (built on an Apple-silicon Mac and pushed
  as is) on an amd64 Linux laptop, an amd64-only image on an arm64 Linux
  host and on an Apple-silicon Mac with Docker Desktop, with QEMU and with
  Rosetta 2; the same images on their own architecture as the baseline.
  :func:`virtsim.compat.place` composes the layer costs on the way and gives
  the slowdown per demand type (CPU, memory bandwidth, random access, disk,
  network);
- *runs*: containers of the emulated and the native image, each running a
  benchmark of one demand type (Linpack, STREAM, RandomAccess, fio, nuttcp),
  simulated on the amd64 laptop; the ``workloads`` table gives each run's
  slowdown against native;
- *binfmt*: the same foreign image without a binfmt_misc handler, which the
  engine refuses with 'exec format error'.

Statements and their rules: "an image for another CPU runs through QEMU and
binfmt_misc" (with the handler it runs emulated, without it it does not:
per case), "emulated work runs much slower than native" (per demand type,
at least 2x native time under QEMU user mode). Each is supported when every
case holds, partly when some do, contradicted when none does. Rosetta 2 is
reported beside.

Run on its own: ``python experiments/c10_emulation.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Patch, Rectangle

import virtsim
from virtsim.compat import QEMU_USER, ROSETTA, Target, place, resolve
from virtsim.experiment import (
    Comparison,
    Figure,
    Finding,
    Size,
    Statement,
    Tables,
    over_cases,
)
from virtsim.layer_costs import DEMANDS
from virtsim.plotting import colour, label, slide_figure
from virtsim.profiles import ImageProfile, KernelProfile, LayerCostProfile
from virtsim.reproduce import main_for
from virtsim.result import Record

CLAIM = "C10"
TITLE = "Emulating another CPU architecture: how much slower, and for what"

MUCH_SLOWER = 2.0
"""The claim's 'much slower than native': at least this factor on CPU-bound work."""

CASES: tuple[tuple[str, str, Target], ...] = (
    ("arm64 image on arm64 Linux", "app-arm64-only",
     Target("laptop", label="arm64 Linux host", arch="arm64")),
    ("arm64 image on amd64 Linux (QEMU)", "app-arm64-only", Target("laptop")),
    ("amd64 image on amd64 Linux", "scratch-static", Target("laptop")),
    ("amd64 image on arm64 Linux (QEMU)", "scratch-static",
     Target("laptop", label="arm64 Linux host", arch="arm64")),
    ("amd64 image, Mac Docker Desktop (QEMU)", "scratch-static",
     Target("macbook-arm64", platform="docker-desktop-mac")),
    ("amd64 image, Mac Docker Desktop (Rosetta 2)", "scratch-static",
     Target("macbook-arm64", platform="docker-desktop-mac-rosetta")),
    ("arm64 image, Mac Docker Desktop", "app-arm64-only",
     Target("macbook-arm64", platform="docker-desktop-mac")),
)
"""(case, image, target); the arm64 Linux host is the laptop with its arch overridden."""

BENCHMARKS: dict[Size, tuple[str, ...]] = {
    "tiny": ("sysbench-cpu", "fio-seq-read"),
    "quick": ("linpack", "stream", "randomaccess", "fio-seq-read", "nuttcp"),
    "full": ("linpack", "stream", "randomaccess", "fio-seq-read", "fio-rand-read", "nuttcp"),
}
"""One benchmark per demand type, simulated native and emulated."""

DEMAND_LABELS: dict[str, str] = {"cpu": "CPU", "memory_bw": "memory\nbandwidth",
                                 "random_access": "random\naccess", "disk_seq": "disk\nsequential",
                                 "disk_random": "disk\nrandom", "net_stream": "network\nstream"}


def _technology(case: str) -> str:
    if "Docker Desktop" in case:
        return "emulated" if ("QEMU" in case or "Rosetta" in case) else "desktop"
    return "emulated" if "QEMU" in case else "native"


def placement_rows(catalog: virtsim.Catalog) -> list[Record]:
    """Each case's outcome, emulator and slowdown per demand type, from its layers."""
    rows: list[Record] = []
    for case, image, target in CASES:
        profile = catalog.require(ImageProfile, image)
        rows.append({"case": case, "technology": _technology(case),
                     **place(catalog, profile, target)})
    return rows


def _bench_scenario(image: str, workload: str, seed: int) -> dict[str, Any]:
    return {"name": f"c10-{image}-{workload}", "duration_s": 100_000, "seed": seed,
            "hosts": [{"name": "laptop", "profile": "laptop", "cached_images": [image],
                       "containers": [{"name": "bench", "image": image, "workload": workload,
                                       "network": "host"}]}]}


def benchmark_rows(catalog: virtsim.Catalog, size: Size, seed: int) -> list[Record]:
    """Each benchmark in a container of a native and an emulated image on the amd64 laptop."""
    rows: list[Record] = []
    cases = [(image, mode, workload)
             for image, mode in (("alpine", "native"), ("app-arm64-only", "emulated"))
             for workload in BENCHMARKS[size]]
    results = virtsim.run_scenarios([virtsim.ScenarioJob(virtsim.parse_scenario(
        _bench_scenario(image, workload, seed), catalog), seed) for image, _, workload in cases])
    for (image, mode, workload), result in zip(cases, results, strict=True):
        for row in result.table("workloads"):
            rows.append({"image": image, "mode": mode, "workload": workload,
                         "layers": row["layers"], "completion_s": row["completion_s"],
                         "native_s": row["native_s"],
                         "slowdown_vs_native": row["slowdown_vs_native"]})
    return rows


def binfmt_rows(catalog: virtsim.Catalog) -> list[Record]:
    """The foreign image with and without a binfmt_misc handler."""
    kernel = catalog.require(KernelProfile, "linux-6.8")
    image = catalog.require(ImageProfile, "app-arm64-only")
    return [{"image": image.name, "host_arch": "amd64", "binfmt": binfmt,
             "outcome": (fit := resolve(image, kernel, "amd64", binfmt=binfmt)).outcome,
             "emulator": fit.emulator, "message": fit.reason} for binfmt in (False, True)]


def run(size: Size, seed: int) -> Tables:
    """Placements with their slowdowns, simulated benchmarks and the binfmt check."""
    catalog = virtsim.load_catalog()
    return {"placements": placement_rows(catalog),
            "benchmarks": benchmark_rows(catalog, size, seed),
            "binfmt": binfmt_rows(catalog)}


# -- figures -----------------------------------------------------------------

def draw_slowdowns(tables: Mapping[str, list[Record]]) -> MplFigure:
    """A table of slowdowns: one row per case, one column per kind of work, numbers written.

    Shading grows with the slowdown (greys: a magnitude, not a technology); the
    row's technology is the coloured square beside its name.
    """
    rows = list(tables["placements"])
    fig, ax = slide_figure("Cost of running another CPU architecture, per kind of work",
                           "kind of work", "", size=(15.0, 7.0))
    ax.grid(False)
    values = np.array([[float(row[f"slowdown_{d}"] or 0) for d in DEMANDS] for row in rows])
    shade = np.clip(np.log(np.maximum(values, 1.0)) / np.log(5.0), 0.0, 1.0)
    ax.imshow(shade, cmap="Greys", vmin=0.0, vmax=1.6, aspect="auto")
    for (y, x), value in np.ndenumerate(values):
        ax.text(x, y, f"{value:.2f}x", ha="center", va="center", fontsize=13,
                fontweight="bold" if value >= MUCH_SLOWER else "normal")
    ax.set_xticks(range(len(DEMANDS)), [DEMAND_LABELS[d] for d in DEMANDS])
    ax.set_yticks(range(len(rows)), [str(row["case"]) for row in rows], fontsize=12)
    for y, row in enumerate(rows):
        tech = str(row["technology"])
        ax.add_patch(Rectangle((-0.47, y - 0.3), 0.1, 0.6, facecolor=colour(tech),
                               edgecolor="black"))
    techs = list(dict.fromkeys(str(r["technology"]) for r in rows))
    ax.legend(handles=[Patch(facecolor=colour(t), edgecolor="black", label=label(t))
                       for t in techs],
              loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=len(techs), frameon=False)
    ax.set_title("Cost of running another CPU architecture: time / native time per kind of work "
                 "(bold: at least 2x)", fontsize=15)
    return fig


def draw_benchmarks(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Simulated benchmark slowdown, native image against emulated image."""
    rows = list(tables["benchmarks"])
    workloads = list(dict.fromkeys(str(r["workload"]) for r in rows))
    fig, ax = slide_figure("Simulated benchmarks in containers on an amd64 laptop",
                           "benchmark", "time / native time")
    for offset, mode in ((-0.2, "native"), (0.2, "emulated")):
        values = [next(float(r["slowdown_vs_native"] or 0) for r in rows
                       if r["workload"] == w and r["mode"] == mode) for w in workloads]
        ax.bar(np.arange(len(workloads)) + offset, values, width=0.4,
               color=colour("container" if mode == "native" else "emulated"),
               label=f"{label('container')}, amd64 image" if mode == "native"
               else f"{label('emulated')}, arm64 image")
    ax.axhline(1.0, color="black", lw=1)
    ax.set_xticks(range(len(workloads)), workloads)
    ax.legend(loc="upper right")
    return fig


def figures() -> list[Figure]:
    """Slowdown per demand type and the simulated benchmarks."""
    return [
        Figure("c10-emulation-by-demand",
               "QEMU user mode translates every guest instruction, so CPU- and memory-bound "
               "work runs about 4x slower (Bellard 2005; 10x on floating point); the system "
               "calls it makes for disk and network are the host's own and keep their speed. "
               "Inside Docker Desktop the VM's cost multiplies in. Rosetta 2 translates ahead "
               "of time and runs amd64 code at about 80% of native.",
               draw_slowdowns),
        Figure("c10-emulated-benchmarks",
               "The same benchmarks simulated in a container of an amd64 image and of an "
               "arm64-only image on an amd64 laptop (binfmt_misc hands the latter to QEMU). "
               "Only the compute-bound ones slow down.",
               draw_benchmarks),
    ]


# -- verdict -----------------------------------------------------------------

def findings(tables: Tables) -> Finding:
    """Two statements: foreign images run through QEMU and binfmt_misc; much slower."""
    rows = {str(r["case"]): r for r in tables["placements"]}
    rosetta = [float(r["slowdown_cpu"] or 0) / _baseline(rows, r) for r in rows.values()
               if r["emulator"] == ROSETTA]
    bench = {(str(r["workload"]), str(r["mode"])): float(r["slowdown_vs_native"] or 0)
             for r in tables["benchmarks"]}
    cpu_bench = [bench[(w, "emulated")] / bench[(w, "native")] for w, m in bench
                 if m == "emulated" and w in ("linpack", "sysbench-cpu")]
    statements = (runs_through_binfmt(tables), emulation_much_slower(rows))
    qemu_cpu = min(float(r["slowdown_cpu"] or 0) / _baseline(rows, r) for r in rows.values()
                   if r["emulator"] == QEMU_USER)
    return Finding(CLAIM, statements, key_numbers=_key_numbers(tables),
                   comparisons=_comparisons(min(cpu_bench, default=qemu_cpu), rosetta))


def runs_through_binfmt(tables: Mapping[str, list[Record]]) -> Statement:
    """"Using QEMU and binfmt_misc": a foreign image runs with the handler, never without."""
    cases = {(f"{r['image']} on {r['host_arch']} "
              f"{'with' if r['binfmt'] else 'without'} binfmt_misc ({r['outcome']})"):
             (r["outcome"] == "emulated") == bool(r["binfmt"]) for r in tables["binfmt"]}
    return over_cases("An image for another CPU runs through QEMU and binfmt_misc", cases)


def emulation_much_slower(rows: Mapping[str, Record]) -> Statement:
    """"Not as efficient as running natively": QEMU user mode, per demand type.

    Each demand's slowdown is taken against the same layers without the
    emulator (Docker Desktop's VM stays in both), the least slowed placement
    deciding.
    """
    qemu = [r for r in rows.values() if r["emulator"] == QEMU_USER]
    cases = {}
    for demand, name in DEMAND_LABELS.items():
        factor = min(float(r[f"slowdown_{demand}"] or 0) / _baseline(rows, r, demand)
                     for r in qemu)
        cases[f"{name.replace(chr(10), ' ')} ({factor:.1f}x)"] = factor >= MUCH_SLOWER
    rosetta = [float(r["slowdown_cpu"] or 0) / _baseline(rows, r) for r in rows.values()
               if r["emulator"] == ROSETTA]
    aside = (f"Aside: Rosetta 2 on Apple silicon runs amd64 code at {min(rosetta):.2f}x "
             "native time." if rosetta else "")
    return over_cases("Emulated work runs much slower than native", cases,
                      f"(Much slower: at least {MUCH_SLOWER:.0f}x native time under QEMU user "
                      f"mode; system calls run on the host at native speed.) {aside}")


def _baseline(rows: Mapping[str, Record], row: Record, demand: str = "cpu") -> float:
    """The slowdown of the same layers without the emulator (the VM's, if any, else 1)."""
    without = str(row["layers"]).removesuffix(f"+{row['emulator']}")
    for other in rows.values():
        if other["layers"] == without and not other["emulator"]:
            return float(other[f"slowdown_{demand}"] or 1)
    return 1.0


def _key_numbers(tables: Tables) -> tuple[str, ...]:
    numbers = [f"{r['case']}: CPU {float(r['slowdown_cpu'] or 0):.2f}x, memory "
               f"{float(r['slowdown_memory_bw'] or 0):.2f}x, disk "
               f"{float(r['slowdown_disk_seq'] or 0):.2f}x native time"
               for r in tables["placements"]]
    no_binfmt = next(r for r in tables["binfmt"] if not r["binfmt"])
    numbers.append(f"without binfmt_misc: {no_binfmt['message']}")
    return tuple(numbers)


def _comparisons(cpu_qemu: float, rosetta_cpu: list[float]) -> tuple[Comparison, ...]:
    """QEMU's factor as the simulated CPU benchmark shows it; Rosetta's from its layers."""
    catalog = virtsim.load_catalog()
    qemu = catalog.require(LayerCostProfile, QEMU_USER)
    out = [Comparison("QEMU user-mode slowdown, CPU-bound benchmark", 4.0, cpu_qemu,
                      "x native time", qemu.sources["cpu"], "bellard2005:user-int")]
    if rosetta_cpu:
        out.append(Comparison("Rosetta 2 speed on Apple silicon", 0.8, 1 / min(rosetta_cpu),
                              "fraction of native",
                              catalog.require(LayerCostProfile, ROSETTA).sources["cpu"],
                              "rosetta2:speed"))
    return tuple(out)


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
