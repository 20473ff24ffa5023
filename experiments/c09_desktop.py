"""C9: Docker Desktop runs containers in a hosted Linux VM, so they pay VM costs.

Scenario (built in code): the same containers (alpine, image cached) asked
for on each platform of the catalogue, which builds the nested stack for
them: the native Docker Engine on a Linux laptop (no VM), Docker Desktop for
Linux (KVM/QEMU), on an Apple-silicon Mac (Virtualization framework), on an
Intel Mac (HyperKit), and on a Windows laptop (WSL 2, and the Hyper-V
backend). For each platform and container count the experiment measures

- start: when the first and the last container are ready (from power on of
  the desktop VM, which boots first), and the start of a container once the
  VM is up;
- memory: everything the containers cost the host above its own OS (the
  VM's RAM reservation, VMM, guest kernel and user space, engine, runtime),
  reserved and resident (touched);
- performance: a CPU benchmark (Linpack) and a random-read benchmark (fio)
  in one container, slowdown against native from the ``workloads`` table,
  and the platform's bind-mount file sharing (VirtioFS, gRPC FUSE) from its
  layer cost.

Statements and their rules, judged per Desktop platform (supported when it
holds on every one, partly on some, contradicted on none): "Docker Desktop
runs containers inside a Linux VM" (a VM is up before the first container)
and "containers under Docker Desktop pay VM costs" (a later first start,
more memory reserved and slower CPU work than the native engine).

Run on its own: ``python experiments/c09_desktop.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Patch

import virtsim
from virtsim.experiment import (
    Comparison,
    Figure,
    Finding,
    Size,
    Statement,
    Tables,
    over_cases,
)
from virtsim.plotting import SLIDE_STYLE, colour, label, slide_figure
from virtsim.profiles import LayerCostProfile, PlatformProfile
from virtsim.reproduce import main_for
from virtsim.result import Record

CLAIM = "C9"
TITLE = "Docker Desktop: containers in a hosted Linux VM pay VM costs"

NATIVE = "docker-engine-linux"
PLATFORMS: tuple[tuple[str, str, str], ...] = (
    ("Linux: native Docker Engine", "laptop", NATIVE),
    ("Linux: Docker Desktop (KVM)", "laptop", "docker-desktop-linux"),
    ("Mac arm64: Desktop (Apple VZ)", "macbook-arm64", "docker-desktop-mac"),
    ("Mac Intel: Desktop (HyperKit)", "macbook-intel", "docker-desktop-mac-hyperkit"),
    ("Windows: Desktop (WSL 2)", "windows-laptop", "docker-desktop-windows-wsl2"),
    ("Windows: Desktop (Hyper-V)", "windows-laptop", "docker-desktop-windows-hyperv"),
)
"""(label, host profile, platform profile); the first is the baseline."""

COUNTS: dict[Size, tuple[int, ...]] = {"tiny": (1, 4), "quick": (1, 10), "full": (1, 10, 50)}
"""Containers per platform in the start and memory sweep."""

BENCHMARKS: dict[Size, tuple[str, ...]] = {"tiny": ("sysbench-cpu",),
                                           "quick": ("linpack", "fio-rand-read"),
                                           "full": ("linpack", "fio-rand-read", "stream")}
"""Benchmarks run in one container on each platform."""

ONCE = 1.5
"""A container start after the VM is up within this factor of native: the VM cost is paid once."""

HOST_OS_ITEMS = frozenset({"host kernel", "host user space"})
UNTOUCHED = "guest RAM untouched"


def _scenario(host: str, platform: str, count: int, workload: str | None,
              seed: int, bind_mount: bool = False) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "count": count, "image": "alpine"}
    if workload:
        container["workload"] = workload
    if bind_mount:
        container["bind_mount"] = True
    return {"name": f"c09-{platform}", "duration_s": 100_000 if workload else 600, "seed": seed,
            "hosts": [{"name": "host", "profile": host, "platform": platform,
                       "cached_images": ["alpine"], "containers": [container]}]}


def start_rows(catalog: virtsim.Catalog, size: Size, seed: int) -> list[Record]:
    """Start times and memory per platform and container count."""
    rows: list[Record] = []
    cases = [(name, host, platform, count) for name, host, platform in PLATFORMS
             for count in COUNTS[size]]
    results = virtsim.run_scenarios([virtsim.ScenarioJob(virtsim.parse_scenario(
        _scenario(host, platform, count, None, seed), catalog), seed)
        for _, host, platform, count in cases])
    for (name, host, platform, count), result in zip(cases, results, strict=True):
        instances = result.table("instances")
        vm = [float(r["ready_s"] or 0) for r in instances if r["kind"] == "vm"]
        ready = sorted(float(r["ready_s"] or 0) for r in instances
                       if r["kind"] == "container" and r["ready_s"] is not None)
        vm_ready = vm[0] if vm else 0.0
        above_os = [r for r in result.table("footprint") if r["item"] not in HOST_OS_ITEMS]
        reserved = sum(float(r["memory_mib"] or 0) for r in above_os)
        untouched = sum(float(r["memory_mib"] or 0) for r in above_os
                        if r["item"] == UNTOUCHED)
        rows.append({"platform": platform, "label": name, "host": host,
                     "containers": count, "started": len(ready),
                     "vm_ready_s": vm_ready if vm else None,
                     "first_ready_s": ready[0], "last_ready_s": ready[-1],
                     "start_after_vm_s": float(np.median([t - vm_ready for t in ready])),
                     "memory_reserved_mib": reserved,
                     "memory_resident_mib": reserved - untouched})
    return rows


def performance_rows(catalog: virtsim.Catalog, size: Size, seed: int) -> list[Record]:
    """Benchmark slowdown per platform, and bind-mount reads run through the file sharing."""
    rows: list[Record] = []
    cases = [(host, platform, workload) for _, host, platform in PLATFORMS
             for workload in BENCHMARKS[size]]
    results = dict(zip(cases, virtsim.run_scenarios([virtsim.ScenarioJob(
        virtsim.parse_scenario(_scenario(host, platform, 1, workload, seed), catalog), seed)
        for host, platform, workload in cases]), strict=True))
    for name, host, platform in PLATFORMS:
        for workload in BENCHMARKS[size]:
            for row in results[(host, platform, workload)].table("workloads"):
                rows.append({"platform": platform, "label": name, "measure": workload,
                             "layers": row["layers"], "slowdown": row["slowdown_vs_native"],
                             "source": "simulated run"})
        rows.append(_bind_mount(catalog, name, platform, host, seed))
    return rows


BIND_MOUNT_WORKLOAD = "fio-seq-read"
"""Sequential file reads: the workload run on a bind-mounted host folder."""


def _bind_mount(catalog: virtsim.Catalog, name: str, platform: str, host: str,
                seed: int) -> Record:
    """Sequential file reads on a host folder bind-mounted into the container, as run."""
    profile = catalog.require(PlatformProfile, platform)
    scenario = virtsim.parse_scenario(
        _scenario(host, platform, 1, BIND_MOUNT_WORKLOAD, seed, bind_mount=True), catalog)
    row = next(iter(virtsim.run_scenario(scenario, catalog, seed=seed).table("workloads")))
    sharing = profile.file_sharing or ("none modelled for this platform" if profile.hypervisor
                                       else "none: a plain directory of the same kernel")
    return {"platform": platform, "label": name, "measure": "bind-mount read",
            "layers": row["layers"], "slowdown": row["slowdown_vs_native"],
            "source": f"simulated run (file sharing: {sharing})"}


def run(size: Size, seed: int) -> Tables:
    """The start and memory sweep and the performance runs."""
    catalog = virtsim.load_catalog()
    return {"starts": start_rows(catalog, size, seed),
            "performance": performance_rows(catalog, size, seed)}


# -- figures -----------------------------------------------------------------

def _style(platform: str) -> dict[str, Any]:
    tech = "container" if platform == NATIVE else "desktop"
    return {"color": colour(tech), "edgecolor": "black", "lw": 0.6}


def draw_start(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Time until the first container is ready: VM boot, then the container's own start."""
    count = min(int(r["containers"] or 0) for r in tables["starts"])
    rows = [r for r in tables["starts"] if r["containers"] == count]
    fig, ax = slide_figure(f"Time to the first container ({count} started, image cached)",
                           "seconds from launch", "", size=(12.0, 6.0))
    for y, row in enumerate(rows):
        vm = float(row["vm_ready_s"] or 0)
        first = float(row["first_ready_s"] or 0)
        ax.barh(y, vm, color=colour("vm"), height=0.6, edgecolor="black", lw=0.6)
        ax.barh(y, first - vm, left=vm, height=0.6, **_style(str(row["platform"])))
        ax.text(first + 0.1, y, f"{first:.1f} s", va="center", fontsize=12)
    ax.set_yticks(range(len(rows)), [str(r["label"]) for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, max(float(r["first_ready_s"] or 0) for r in rows) * 1.15)
    ax.legend(handles=[Patch(facecolor=colour("vm"), edgecolor="black",
                             label="Desktop's Linux VM boots"),
                       Patch(facecolor=colour("desktop"), edgecolor="black",
                             label="container start in Desktop's VM"),
                       Patch(facecolor=colour("container"), edgecolor="black",
                             label="container start, native engine")],
              loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, frameon=False)
    return fig


def _platform_bars(ax: Any, labels: list[str], platforms: list[str],
                   values: list[float], unit: str, light: bool = False) -> None:
    """One labelled horizontal bar per platform, its value written at its end."""
    for y, (platform, value) in enumerate(zip(platforms, values, strict=True)):
        tech = "container" if platform == NATIVE else "desktop"
        ax.barh(y, value, color="white" if light else colour(tech), edgecolor=colour(tech),
                hatch="//" if light else "", lw=1.5, height=0.7)
        ax.text(value, y, f"  {value:,.3g} {unit}" if value < 100 else f"  {value:,.0f} {unit}",
                va="center", fontsize=12)
    ax.set_yticks(range(len(labels)), labels, fontsize=12)
    ax.grid(True, axis="x", alpha=0.3)


def draw_memory(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Memory above the host OS, reserved and resident, one bar per platform and kind."""
    count = max(int(r["containers"] or 0) for r in tables["starts"])
    rows = {str(r["platform"]): r for r in tables["starts"] if r["containers"] == count}
    platforms = [p for _, _, p in PLATFORMS if p in rows]
    labels = [str(rows[p]["label"]) for p in platforms]
    with plt.rc_context(cast(Any, SLIDE_STYLE)):
        fig, axes = plt.subplots(1, 2, figsize=(15.0, 6.5), sharey=True, sharex=True,
                                 layout="constrained")
    fig.suptitle(f"Memory {count} containers cost the host (above its own OS)",
                 fontsize=SLIDE_STYLE["axes.titlesize"])
    for ax, key, title, light in ((axes[0], "memory_reserved_mib", "reserved (the VM's RAM)",
                                   False),
                                  (axes[1], "memory_resident_mib", "resident (actually used)",
                                   True)):
        _platform_bars(ax, labels, platforms, [float(rows[p][key] or 0) for p in platforms],
                       "MiB", light)
        ax.set_title(title, fontsize=SLIDE_STYLE["axes.labelsize"])
        ax.set_xlabel("MiB (log scale)", fontsize=SLIDE_STYLE["axes.labelsize"])
    axes[0].set_xscale("log")
    axes[0].set_xlim(right=axes[0].get_xlim()[1] * 6)
    axes[0].invert_yaxis()  # shared: once for both panels
    return fig


def draw_performance(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Slowdown against native, one panel per measure, one bar per platform."""
    rows = list(tables["performance"])
    measures = list(dict.fromkeys(str(r["measure"]) for r in rows))
    platforms = [p for _, _, p in PLATFORMS]
    labels = [next(str(r["label"]) for r in rows if r["platform"] == p) for p in platforms]
    with plt.rc_context(cast(Any, SLIDE_STYLE)):
        fig, axes = plt.subplots(1, len(measures), figsize=(15.0, 6.5), sharey=True,
                                 sharex=True, layout="constrained", squeeze=False)
    fig.suptitle("Performance inside Docker Desktop's VM (time / native time, one scale)",
                 fontsize=SLIDE_STYLE["axes.titlesize"])
    for ax, measure in zip(axes[0], measures, strict=True):
        values = [next((float(r["slowdown"] or 0) for r in rows
                        if r["platform"] == p and r["measure"] == measure), 0.0)
                  for p in platforms]
        _platform_bars(ax, labels, platforms, values, "x")
        ax.axvline(1.0, color="black", lw=1)
        ax.set_title(measure, fontsize=SLIDE_STYLE["axes.labelsize"])
        ax.set_xlabel("time / native time", fontsize=SLIDE_STYLE["axes.labelsize"])
    axes[0][0].set_xlim(0, axes[0][0].get_xlim()[1] * 1.25)
    axes[0][0].invert_yaxis()  # shared: once for every panel
    return fig


def figures() -> list[Figure]:
    """Start, memory and performance through the Desktop VM."""
    return [
        Figure("c09-desktop-start",
               "Docker Desktop starts its Linux VM first (firmware, guest kernel, user space, "
               "engine) and only then the containers, so the first container waits for a whole "
               "VM boot; the container's own start inside the VM is about what it is natively.",
               draw_start),
        Figure("c09-desktop-memory",
               f"Memory above the host OS. Desktop reserves its VM's RAM ({label('desktop')}: "
               "half the Mac's or Windows' memory, 2 GB on the older backends, a quarter on "
               "Linux) however few containers run; the native engine's cost grows only with "
               "the containers. Resident memory (faded) is what the guest has touched.",
               draw_memory),
        Figure("c09-desktop-performance",
               "Every demand crosses the VM's layer: CPU-bound work loses what an untuned "
               "hardware-assisted VM loses, random I/O more; files bind-mounted from the host "
               "cross the VM boundary through VirtioFS (about 3x slower) or the older gRPC "
               "FUSE (5-6x). No published figure was found for Windows' file sharing into "
               "WSL 2 or Hyper-V, so those bars stay at the VM's own disk cost.",
               draw_performance),
    ]


# -- verdict -----------------------------------------------------------------

def findings(tables: Tables) -> Finding:
    """Two statements, per Desktop platform: a Linux VM runs the containers; they pay for it."""
    count = min(int(r["containers"] or 0) for r in tables["starts"])
    starts = {str(r["platform"]): r for r in tables["starts"] if r["containers"] == count}
    perf = {(str(r["platform"]), str(r["measure"])): float(r["slowdown"] or 0)
            for r in tables["performance"]}
    cpu = next(m for _, m in perf if m in ("linpack", "sysbench-cpu"))
    statements = (desktop_runs_a_vm(starts), desktop_pays_vm_costs(starts, perf, cpu))
    return Finding(CLAIM, statements, key_numbers=_key_numbers(starts, perf, cpu),
                   comparisons=_comparisons(tables))


def _desktops(starts: Mapping[str, Record]) -> list[str]:
    return [p for _, _, p in PLATFORMS if p != NATIVE and p in starts]


def _label(platform: str) -> str:
    return next(lab for lab, _, p in PLATFORMS if p == platform)


def desktop_runs_a_vm(starts: Mapping[str, Record]) -> Statement:
    """"Includes a lightweight Linux virtual machine": a VM is up before the first container."""
    cases = {(f"{_label(p)} (VM up at {float(starts[p]['vm_ready_s']):.1f} s)"  # type: ignore[arg-type]
              if starts[p]["vm_ready_s"] is not None else f"{_label(p)} (no VM)"):
             starts[p]["vm_ready_s"] is not None for p in _desktops(starts)}
    return over_cases("Docker Desktop runs containers inside a Linux VM", cases)


def desktop_pays_vm_costs(starts: Mapping[str, Record], perf: Mapping[tuple[str, str], float],
                          cpu: str) -> Statement:
    """"So those containers pay VM costs": later first start, more memory, slower CPU work."""
    native = starts[NATIVE]

    def value(p: str, key: str) -> float:
        return float(starts[p][key] or 0)  # type: ignore[arg-type]

    cases = {}
    for p in _desktops(starts):
        costs = (value(p, "first_ready_s") > value(NATIVE, "first_ready_s"),
                 value(p, "memory_reserved_mib") > value(NATIVE, "memory_reserved_mib"),
                 perf[(p, cpu)] > perf[(NATIVE, cpu)])
        cases[f"{_label(p)} (first container {value(p, 'first_ready_s'):.1f} s, "
              f"{value(p, 'memory_reserved_mib'):,.0f} MiB reserved, {cpu} "
              f"{perf[(p, cpu)]:.2f}x)"] = all(costs)
    once = [p for p in _desktops(starts)
            if value(p, "start_after_vm_s") <= ONCE * value(NATIVE, "start_after_vm_s")]
    mounts = [perf[(p, "bind-mount read")] for p in _desktops(starts)
              if (p, "bind-mount read") in perf]
    aside = (f"Against the native engine: first container "
             f"{float(native['first_ready_s'] or 0):.1f} s, "  # type: ignore[arg-type]
             f"{float(native['memory_reserved_mib'] or 0):,.0f} MiB. "  # type: ignore[arg-type]
             + (f"Aside: once the VM is up, a container starts within {ONCE}x of native on "
                f"{len(once)} of {len(_desktops(starts))} platforms. " if once else "")
             + (f"Files bind-mounted from the host are read up to {max(mounts):.1f}x slower."
                if mounts else ""))
    return over_cases("Containers under Docker Desktop pay VM costs", cases, aside)


def _key_numbers(starts: Mapping[str, Record], perf: Mapping[tuple[str, str], float],
                 cpu: str) -> tuple[str, ...]:
    return tuple(
        f"{r['label']}: first container {float(r['first_ready_s'] or 0):.2f} s, memory "
        f"{float(r['memory_reserved_mib'] or 0):.0f} MiB reserved "
        f"({float(r['memory_resident_mib'] or 0):.0f} resident), {cpu} "
        f"{perf[(p, cpu)]:.2f}x, bind mount {perf.get((p, 'bind-mount read'), 1.0):.2f}x"
        for p, r in starts.items())


def _comparisons(tables: Tables) -> tuple[Comparison, ...]:
    catalog = virtsim.load_catalog()
    virtiofs = catalog.require(LayerCostProfile, "virtiofs")
    mac = next(float(r["slowdown"] or 0) for r in tables["performance"]
               if r["platform"] == "docker-desktop-mac" and r["measure"] == "bind-mount read")
    return (Comparison("VirtioFS bind-mount slowdown on a Mac (with the VM's own disk cost)",
                       3.0, mac, "x native time", virtiofs.sources["disk_seq"],
                       "virtiofs-2025:bind-mount-3x"),)


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
