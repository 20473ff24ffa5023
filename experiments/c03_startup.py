"""C3: VMs take tens of seconds to minutes to boot; containers start in seconds or milliseconds.

Scenarios (built in code), all on m5d.metal hosts:
- *single starts*, replicated on independent hosts (one instance per host,
  stage times drawn from the run's seed): an Ubuntu 24.04 cloud VM and a
  Windows Server Core VM on KVM/QEMU with UEFI, a small Alpine VM, a
  Firecracker microVM, ``docker run`` of alpine with the image cached (warm)
  and of a Debian-based Python image never pulled (cold), gVisor (runsc) and
  Kata containers;
- *boot storms*: 1, 10, 100, ... instances started at once on one host, as
  Docker containers (whose create step holds dockerd's lock), containerd
  containers (no daemon-wide lock), microVMs and Ubuntu VMs.

Tables: ``starts`` (time to ready of every replication, and for containers
the time until ``docker run ... true`` has exited and cleaned up),
``stages`` (the timeline of the first replication: a Gantt chart),
``storm`` (time-to-ready percentiles against concurrency).

Statements and their rules: "a VM takes minutes to boot" (the faster of the
Windows and Ubuntu VMs' median: a minute or more supports it, tens of
seconds partly, less contradicts); "a container starts in seconds or less"
(each docker run, warm and cold, at most 5 s); "a container starts much
faster than a VM" (Ubuntu VM over warm docker run, at least 10x). The
minimal VM, the microVM, gVisor, Kata and start storms are reported beside.

Run on its own: ``python experiments/c03_startup.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
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
    graded,
    over_cases,
)
from virtsim.layer_palette import STAGE_STYLES, neutral_styles
from virtsim.plotting import SLIDE_STYLE, colour, slide_figure
from virtsim.reproduce import main_for
from virtsim.result import Record
from virtsim.start_breakdown import dominant, start_breakdown

CLAIM = "C3"
TITLE = "Start time: VM boots against container starts, alone and in storms"

HOST = "m5d-metal"
TENS_OF_SECONDS = 10.0
"""The claim's own words: a boot of 'tens of seconds' is at least this long."""
A_FEW_SECONDS = 5.0
"""The claim's own words: a start 'in seconds' is at most this long."""

REPLICATIONS: dict[Size, int] = {"tiny": 3, "quick": 12, "full": 60}
STORM: dict[Size, tuple[int, ...]] = {
    "tiny": (1, 10),
    "quick": (1, 10, 100),
    "full": (1, 10, 100, 300, 1000),
}
STORM_CAP: dict[str, int] = {"docker-warm": 1000, "containerd-warm": 300, "microvm": 300,
                             "vm-ubuntu": 300, "kata": 300}
"""Largest storm simulated per variant (keeps the full run within its time budget;
``benchmarks/container_population.py`` takes containers to 3,000)."""
FIRECRACKER_BATCH = 50
"""MicroVMs launched at once in the Firecracker paper's 1,000-microVM test (Agache et al. 2020)."""


@dataclass(frozen=True)
class Variant:
    """One way to start an instance."""

    name: str
    technology: str
    label: str
    section: str  # "vms" or "containers"
    group: dict[str, Any]
    cached: tuple[str, ...] = ()


def _vm(image: str, vmm: str, vcpus: int, memory_mib: float) -> dict[str, Any]:
    return {"name": "i", "hypervisor": "kvm", "vmm": vmm, "disk_image": image, "vcpus": vcpus,
            "memory_mib": memory_mib}


def _container(image: str, engine: str = "docker", runtime: str = "runc") -> dict[str, Any]:
    return {"name": "i", "image": image, "engine": engine, "runtime": runtime}


VARIANTS: tuple[Variant, ...] = (
    Variant("vm-windows", "vm", "VM Windows Server Core", "vms",
            _vm("windows-server-2022-core", "qemu-uefi", 2, 2048)),
    Variant("vm-ubuntu", "vm", "VM Ubuntu 24.04 (cloud-init)", "vms",
            _vm("ubuntu-24.04-cloud", "qemu-uefi", 2, 2048)),
    Variant("vm-alpine", "vm", "VM Alpine (minimal)", "vms",
            _vm("alpine-virt", "qemu", 1, 512)),
    Variant("microvm", "microvm", "microVM (Firecracker)", "vms",
            _vm("firecracker-rootfs", "firecracker", 1, 128)),
    Variant("docker-cold", "container", "docker run, cold (pull python-debian)", "containers",
            _container("python-debian")),
    Variant("docker-warm", "container", "docker run, warm (alpine cached)", "containers",
            _container("alpine"), ("alpine",)),
    Variant("gvisor", "gvisor", "gVisor (docker, runsc), warm", "containers",
            _container("alpine", runtime="runsc"), ("alpine",)),
    Variant("kata", "kata", "Kata (containerd), warm", "containers",
            _container("alpine", engine="containerd", runtime="kata"), ("alpine",)),
    Variant("containerd-warm", "container", "containerd + runc, warm", "containers",
            _container("alpine", engine="containerd"), ("alpine",)),
)
BY_NAME: dict[str, Variant] = {v.name: v for v in VARIANTS}
SINGLES: tuple[str, ...] = ("vm-windows", "vm-ubuntu", "vm-alpine", "microvm", "docker-cold",
                            "docker-warm", "gvisor", "kata")
STORMS: tuple[str, ...] = ("vm-ubuntu", "microvm", "docker-warm", "containerd-warm", "kata")

PUBLISHED: dict[str, tuple[float, str, str]] = {
    "firecracker": (0.125, "Firecracker SPECIFICATION.md: InstanceStart to guest /sbin/init "
                    "within 125 ms", "firecracker-spec:instancestart-to-init"),
    "docker_run": (1.193, "gVisor Performance Guide: docker run alpine true, runc, 1,193 ms",
                   "gvisor-perf:docker-run-alpine-runc"),
    "docker_runsc": (1.144, "gVisor Performance Guide: docker run alpine true, runsc, "
                     "1,144 ms", "gvisor-perf:docker-run-alpine-runsc"),
    "firecracker_batch": (0.146, "Agache et al., Firecracker, NSDI 2020, Section 6.1: 1,000 "
                          "microVMs launched 50 at a time, p99 146 ms",
                          "agache2020:launch-p99-batch-50"),
    "azure_vm": (14.227, "systemd-analyze of an Azure AKS Ubuntu 22.04 node: firmware + loader "
                 "+ kernel + userspace = 14.227 s", "azure-aks:systemd-analyze-total"),
}
"""Published figures (value in seconds, source, figure id; see models/calibration.toml)."""


def scenario(variant: Variant, hosts: int, per_host: int, seed: int) -> dict[str, Any]:
    """``hosts`` independent hosts, each starting ``per_host`` instances at once."""
    host: dict[str, Any] = {"name": "h", "profile": HOST, "count": hosts,
                            "cached_images": list(variant.cached),
                            variant.section: [{**variant.group, "count": per_host}]}
    return {"name": f"c03-{variant.name}", "duration_s": 3600, "seed": seed, "hosts": [host]}


Runs = dict[tuple[str, int, int], virtsim.Result]
"""Each simulated ``(variant, hosts, instances per host)``."""


def _storm_points(size: Size) -> list[tuple[str, int]]:
    """Each storm variant and concurrency simulated at this size."""
    points = []
    for name in STORMS:
        counts = set(STORM[size]) | ({FIRECRACKER_BATCH} if name == "microvm" else set())
        points += [(name, count) for count in sorted(counts) if count <= STORM_CAP[name]]
    return points


def _simulate_all(size: Size, seed: int) -> Runs:
    """Every single-start and storm run, as one batch on the current executor."""
    shapes = [(name, REPLICATIONS[size], 1) for name in SINGLES]
    shapes += [(name, 1, count) for name, count in _storm_points(size)]
    return virtsim.run_keyed({
        shape: virtsim.ScenarioJob(scenario(BY_NAME[shape[0]], shape[1], shape[2], seed), seed,
                                   f"<c03-{shape[0]}>") for shape in shapes})


def _singles(runs: Runs, size: Size) -> tuple[list[Record], list[Record]]:
    """Replicated single starts (one per host) and the first replication's stage timeline."""
    starts: list[Record] = []
    stages: list[Record] = []
    for name in SINGLES:
        variant = BY_NAME[name]
        result = runs[(name, REPLICATIONS[size], 1)]
        exits: dict[str, float] = defaultdict(float)
        for row in result.table("stages"):
            exits[str(row["instance"])] = max(exits[str(row["instance"])], _num(row, "end_s"))
        for row in result.table("instances"):
            instance = str(row["instance"])
            ready = _num(row, "ready_s") - _num(row, "requested_s")
            starts.append({"variant": name, "technology": variant.technology,
                           "replication": 0, "instance": instance, "ready_s": ready,
                           "exit_s": exits[instance] if variant.section == "containers"
                           else None})
        first = min((str(r["instance"]) for r in result.table("instances")), default="")
        ready_at = next((_num(r, "ready_s") for r in result.table("instances")
                         if r["instance"] == first), 0.0)
        for row in result.table("stages"):
            if row["instance"] == first:
                stages.append({"variant": name, "technology": variant.technology,
                               "owner": row["owner"], "stage": row["stage"],
                               "start_s": row["start_s"], "end_s": row["end_s"],
                               "queued_s": row.get("queued_s", 0.0),
                               "after_ready": _num(row, "start_s") >= ready_at})
    starts.sort(key=lambda r: (SINGLES.index(str(r["variant"])), str(r["instance"])))
    for rep_rows in _group(starts, "variant").values():
        for rep, row in enumerate(rep_rows):
            row["replication"] = rep
    return starts, stages


def _storms(runs: Runs, size: Size) -> tuple[list[Record], list[Record]]:
    """Time-to-ready percentiles of N instances started at once on one host, and the mean
    seconds per started instance in each mechanism (:mod:`virtsim.start_breakdown`)."""
    rows: list[Record] = []
    mechanisms: list[Record] = []
    for name, count in _storm_points(size):
        variant = BY_NAME[name]
        result = runs[(name, 1, count)]
        ready = np.array([_num(r, "ready_s") - _num(r, "requested_s")
                          for r in result.table("instances") if r["ready_s"] is not None])
        queued = [_num(r, "queued_s") for r in result.table("stages")
                  if r.get("queued_s") is not None]
        breakdown = start_breakdown(result.table("stages"), result.table("instances"))
        mechanisms += [{"variant": name, "technology": variant.technology,
                        "concurrency": count, "mechanism": key, "seconds": value}
                       for key, value in breakdown.items()]
        top = dominant(breakdown)
        rows.append({"variant": name, "technology": variant.technology,
                     "concurrency": count, "started": int(ready.size),
                     "refused": count - int(ready.size), "dominant": top,
                     "dominant_share": breakdown.get(top, 0.0) / max(
                         sum(breakdown.values()), 1e-12),
                     "p50_s": float(np.percentile(ready, 50)),
                     "p95_s": float(np.percentile(ready, 95)),
                     "p99_s": float(np.percentile(ready, 99)),
                     "max_s": float(ready.max()),
                     "queued_per_instance_s": sum(queued) / count})
    return rows, mechanisms


def run(size: Size, seed: int) -> Tables:
    """Replicated single starts with their stage timelines, and boot storms."""
    runs = _simulate_all(size, seed)
    starts, stages = _singles(runs, size)
    storm, mechanisms = _storms(runs, size)
    return {"starts": starts, "stages": stages, "storm": storm,
            "storm_mechanisms": mechanisms}


# -- findings --------------------------------------------------------------

def _num(row: Record, key: str) -> float:
    value = row.get(key)
    return float(value) if value is not None else 0.0


def _group(rows: list[Record], key: str) -> dict[str, list[Record]]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for row in rows:
        groups[str(row[key])].append(row)
    return groups


def _median(tables: Mapping[str, list[Record]], variant: str, key: str = "ready_s") -> float:
    values = [_num(r, key) for r in tables["starts"] if r["variant"] == variant]
    return float(np.median(values)) if values else float("nan")


def findings(tables: Tables) -> Finding:
    """Three statements: VMs take minutes, containers seconds or less, containers faster."""
    statements = (vm_boots_in_minutes(tables), container_starts_in_seconds(tables),
                  container_starts_faster(tables))
    numbers = tuple(f"{BY_NAME[n].label}: median {_median(tables, n):.3g} s to ready"
                    for n in SINGLES)
    storms = tuple(f"storm of {int(_num(r, 'concurrency')):,} {BY_NAME[str(r['variant'])].label}: "
                   f"p50 {_num(r, 'p50_s'):.3g} s, p95 {_num(r, 'p95_s'):.3g} s, "
                   f"{int(_num(r, 'refused'))} refused for memory; most time in "
                   f"{r.get('dominant', '')} ({_num(r, 'dominant_share'):.0%})"
                   for r in tables["storm"]
                   if _num(r, "concurrency") == max(_num(s, "concurrency") for s in tables["storm"]
                                                    if s["variant"] == r["variant"]))
    return Finding(CLAIM, statements, key_numbers=numbers + storms,
                   comparisons=_comparisons(tables))


GENERAL_VMS: tuple[str, ...] = ("vm-windows", "vm-ubuntu")
"""The general-purpose VMs the seed speaks of; the minimal VM and the microVM are beside."""
DOCKER_RUNS: tuple[str, ...] = ("docker-warm", "docker-cold")
"""Docker's default containers, image cached or pulled; gVisor and Kata are beside."""
MINUTES = 60.0


def _aside(tables: Mapping[str, list[Record]], names: tuple[str, ...]) -> str:
    shown = [f"{BY_NAME[n].label} {_median(tables, n):.2f} s" for n in names
             if any(r["variant"] == n for r in tables["starts"])]
    return f"Aside: {'; '.join(shown)}." if shown else ""


def vm_boots_in_minutes(tables: Mapping[str, list[Record]]) -> Statement:
    """"Typically take minutes to boot": the faster general-purpose VM's median boot.

    A minute or more supports it; tens of seconds (at least 10 s) partly; less
    contradicts it.
    """
    boots = {n: _median(tables, n) for n in GENERAL_VMS}
    fastest = min(boots, key=boots.__getitem__)
    shown = "; ".join(f"{BY_NAME[n].label} {b:.1f} s" for n, b in boots.items())
    return graded("A VM takes minutes to boot", boots[fastest], MINUTES, TENS_OF_SECONDS,
                  f"Median time to ready: {shown} (minutes means at least {MINUTES:.0f} s; "
                  f"tens of seconds, from {TENS_OF_SECONDS:.0f} s, is partly). "
                  + _aside(tables, ("vm-alpine", "microvm")))


def container_starts_in_seconds(tables: Mapping[str, list[Record]]) -> Statement:
    """"Containers start in seconds or even milliseconds": each docker run's median, a few s."""
    cases = {f"{BY_NAME[n].label} ({_median(tables, n):.2f} s)":
             _median(tables, n) <= A_FEW_SECONDS for n in DOCKER_RUNS}
    return over_cases("A container starts in seconds or less", cases,
                      f"(A few seconds: at most {A_FEW_SECONDS:.0f} s.) "
                      f"{_engine_share(tables, 'docker-warm'):.0%} of a warm start is the "
                      "Docker engine's path, not the kernel. "
                      + _aside(tables, ("gvisor", "kata")))


def container_starts_faster(tables: Mapping[str, list[Record]]) -> Statement:
    """"They start almost instantly since they share the host OS's kernel": how much faster."""
    vm, warm = _median(tables, "vm-ubuntu"), _median(tables, "docker-warm")
    ratio = vm / warm if warm > 0 else float("inf")
    storm = [r for r in tables["storm"] if r["variant"] == "docker-warm"]
    aside = ""
    if storm:
        biggest = max(storm, key=lambda r: _num(r, "concurrency"))
        aside = (f" Aside: {int(_num(biggest, 'concurrency')):,} docker runs at once queue on "
                 f"the engine: p95 {_num(biggest, 'p95_s'):.1f} s.")
    return graded("A container starts much faster than a VM", ratio, 10.0, 1.0,
                  f"A warm docker run is ready in {warm:.2f} s against {vm:.1f} s for an Ubuntu "
                  f"VM: {ratio:.0f}x faster (much faster means at least 10x).{aside}")


def _engine_share(tables: Mapping[str, list[Record]], variant: str) -> float:
    """Share of the time to ready spent in the engine's stages (the Gantt start shown)."""
    rows = [r for r in tables["stages"] if r["variant"] == variant and not r["after_ready"]]
    total = max((_num(r, "end_s") for r in rows), default=0.0)
    engine = sum(_num(r, "end_s") - _num(r, "start_s") for r in rows if r["owner"] == "engine")
    return engine / total if total > 0 else 0.0


def _comparisons(tables: Mapping[str, list[Record]]) -> tuple[Comparison, ...]:
    def cmp(key: str, measure: str, simulated: float) -> Comparison:
        published, source, figure = PUBLISHED[key]
        return Comparison(measure=measure, published=published, simulated=round(simulated, 3),
                          unit="s", source=source, figure=figure)

    return (
        cmp("firecracker", "Firecracker microVM start to init (median)",
            _median(tables, "microvm")),
        cmp("docker_run", "docker run alpine true, runc: run to exit (median)",
            _median(tables, "docker-warm", "exit_s")),
        cmp("docker_runsc", "docker run alpine true, runsc: run to exit (median)",
            _median(tables, "gvisor", "exit_s")),
        cmp("azure_vm", "Ubuntu cloud VM boot to userspace ready (median)",
            _median(tables, "vm-ubuntu")),
        *(cmp("firecracker_batch", f"p99 start of {FIRECRACKER_BATCH} microVMs launched at once",
              _num(r, "p99_s"))
          for r in tables["storm"]
          if r["variant"] == "microvm" and _num(r, "concurrency") == FIRECRACKER_BATCH),
    )


# -- figures ---------------------------------------------------------------

def draw_gantt(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Stage timelines of one start per variant: VMs above, containers below, one time scale.

    The two panels share their x axis, so a container's start is drawn to
    the same scale as a VM boot; the time to ready is written at each bar's
    end so the short ones stay readable.
    """
    by_variant = _group(tables["stages"], "variant")
    panels = (("VMs", [n for n in SINGLES if BY_NAME[n].section == "vms" and n != "microvm"]),
              ("microVM and containers", [n for n in SINGLES if n == "microvm"
                                          or BY_NAME[n].section == "containers"]))
    with plt.rc_context(cast(Any, SLIDE_STYLE)):
        fig, axes = plt.subplots(2, 1, figsize=(15.0, 9.5), layout="constrained", sharex=True,
                                 height_ratios=[len(names) for _, names in panels])
    fig.suptitle("Where start time goes: one start of each, stage by stage (one time scale)",
                 fontsize=SLIDE_STYLE["axes.titlesize"])
    owners: set[str] = set()
    for ax, (title, names) in zip(axes, panels, strict=True):
        for y, name in enumerate(names):
            ready = last = 0.0
            for row in by_variant.get(name, []):
                start, end = _num(row, "start_s"), _num(row, "end_s")
                owner = "after-ready" if row["after_ready"] else str(row["owner"])
                owners.add(owner)
                style = STAGE_STYLES.get(owner, STAGE_STYLES["app"])
                ax.barh(y, max(end - start, 1e-4), left=start, height=0.6, color=style.face,
                        edgecolor="black", lw=0.5, hatch=style.hatch)
                last = max(last, end)
                if not row["after_ready"]:
                    ready = max(ready, end)
            ax.text(last, y, f"  ready at {ready:.2f} s", fontsize=12, va="center")
        ax.set_yticks(range(len(names)), [BY_NAME[n].label for n in names], fontsize=12)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=SLIDE_STYLE["axes.labelsize"], loc="left")
        ax.grid(True, axis="x", alpha=0.3)
    axes[-1].set_xlim(0, axes[-1].get_xlim()[1] * 1.15)  # room for the last label
    axes[-1].set_xlabel("seconds since the start was requested",
                        fontsize=SLIDE_STYLE["axes.labelsize"])
    handles = [Patch(facecolor=style.face, edgecolor="black", hatch=style.hatch,
                     label=style.label)
               for owner, style in STAGE_STYLES.items() if owner in owners]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=12)
    return fig


def draw_distribution(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Time to ready over replications, per variant, on a log axis."""
    fig, ax = slide_figure("Time to ready over replications", "technology and start path",
                           "seconds to ready (log scale)", size=(13.0, 7.0))
    groups = _group(tables["starts"], "variant")
    names = [n for n in SINGLES if n in groups]
    data = [[_num(r, "ready_s") for r in groups[n]] for n in names]
    parts = ax.boxplot(data, patch_artist=True, widths=0.6,
                       medianprops={"color": "black", "linewidth": 2.0})
    for patch, name in zip(parts["boxes"], names, strict=True):
        patch.set_facecolor(colour(BY_NAME[name].technology))
        patch.set_alpha(0.8)
        if name == "docker-cold":
            patch.set_hatch("//")
    ax.set_yscale("log")
    ax.axhline(TENS_OF_SECONDS, color="black", ls="--", lw=1)
    ax.text(len(names) + 0.4, TENS_OF_SECONDS * 1.1, "10 s", ha="right", fontsize=12)
    ax.axhline(1.0, color="black", ls=":", lw=1)
    ax.text(len(names) + 0.4, 1.1, "1 s", ha="right", fontsize=12)
    ax.set_xticks(range(1, len(names) + 1),
                  [textwrap.fill(BY_NAME[n].label, 14) for n in names], fontsize=10)
    return fig


def draw_storm(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Median and p95 time to ready against how many start at once."""
    fig, ax = slide_figure("Boot storms: starting many at once on one host",
                           "instances started at once", "seconds to ready (log scale)",
                           size=(14.0, 7.0))
    styles = {"docker-warm": "-", "containerd-warm": "--", "microvm": "-", "vm-ubuntu": "-",
              "kata": ":"}
    for name, rows in _group(tables["storm"], "variant").items():
        variant = BY_NAME[name]
        xs = [_num(r, "concurrency") for r in rows]
        ax.plot(xs, [_num(r, "p50_s") for r in rows], marker="o", lw=2.4, ls=styles[name],
                color=colour(variant.technology), label=variant.label)
        ax.plot(xs, [_num(r, "p95_s") for r in rows], marker="^", lw=1.0, ls=styles[name],
                alpha=0.6, color=colour(variant.technology))
    ax.plot([], [], color="black", marker="o", lw=2.4, label="median (thick)")
    ax.plot([], [], color="black", marker="^", lw=1.0, alpha=0.6, label="p95 (thin)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(fontsize=11, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def draw_storm_mechanisms(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Where a storm's time goes: mean seconds per instance in each mechanism, per count."""
    by_variant = _group(tables.get("storm_mechanisms", []), "variant")
    names = [n for n in STORMS if n in by_variant]
    with plt.rc_context(cast(Any, SLIDE_STYLE)):
        fig, axes = plt.subplots(1, max(len(names), 1), figsize=(4.2 * max(len(names), 1), 7.0),
                                 layout="constrained", squeeze=False)
    fig.suptitle("Which mechanism dominates a storm, by how many start at once",
                 fontsize=SLIDE_STYLE["axes.titlesize"])
    keys = sorted({str(r["mechanism"]) for r in tables.get("storm_mechanisms", [])})
    styles = dict(zip(keys, neutral_styles(len(keys)), strict=True))
    tops = {(str(r["variant"]), _num(r, "concurrency")): str(r["dominant"])
            for r in tables["storm"]}
    for ax, name in zip(axes[0], names, strict=False):
        rows = by_variant[name]
        counts = sorted({_num(r, "concurrency") for r in rows})
        bottom = np.zeros(len(counts))
        for key in keys:
            values = np.array([sum(_num(r, "seconds") for r in rows
                                   if r["mechanism"] == key and _num(r, "concurrency") == c)
                               for c in counts])
            if values.any():
                face, hatch = styles[key]
                ax.bar(range(len(counts)), values, bottom=bottom, color=face, hatch=hatch,
                       edgecolor="black", lw=0.5, label=key)
                bottom += values
        for i, c in enumerate(counts):
            ax.text(i, bottom[i] * 1.03, textwrap.fill(tops.get((name, c), ""), 14),
                    ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(counts)), [f"{int(c):,}" for c in counts], fontsize=10)
        ax.set_title(BY_NAME[name].label, fontsize=12)
        ax.set_xlabel("started at once", fontsize=11)
        ax.set_ylim(0, max(bottom.max() * 1.25, 1e-3))
    axes[0][0].set_ylabel("mean seconds per instance", fontsize=SLIDE_STYLE["axes.labelsize"])
    handles = [Patch(facecolor=styles[k][0], hatch=styles[k][1], edgecolor="black", label=k)
               for k in keys]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=10)
    return fig


def figures() -> list[Figure]:
    """Gantt of stages, distributions, storms and what dominates them."""
    return [
        Figure("c03-gantt",
               "One start of each kind, stage by stage, VMs above and containers below on one "
               "time axis, so the gap between them is drawn to scale. A VM "
               "walks firmware, bootloader, a whole guest kernel and its user space (systemd, "
               "cloud-init): seconds to tens of seconds. A microVM skips firmware and "
               "bootloader and boots a minimal kernel in about 0.1 s. A container makes no "
               "boot at all: most of a docker run is the daemon's API path; a cold start adds "
               "the image pull.",
               draw_gantt),
        Figure("c03-distribution",
               "Time to ready over seeded replications, each on its own host. Full VMs with a "
               "distribution's user space (systemd, cloud-init, Windows services) sit above the "
               "10 s line; a minimal VM takes seconds; containers and microVMs land around or "
               "under the 1 s line, and a cold docker run adds pulling and unpacking its "
               "layers to a warm one.",
               draw_distribution),
        Figure("c03-storm",
               "Starting N instances at once on one host. Docker containers queue on "
               "dockerd's lock (container create is serialised), so a storm's p95 grows "
               "linearly with N; containerd has no daemon-wide lock, but every start still "
               "makes a cgroup, namespaces, a veth pair and NAT rules under the kernel's "
               "global locks, and each mount-namespace copy and iptables rewrite costs more "
               "as the host fills. MicroVMs wait for the first VM's read of the kernel image "
               "only, then share the CPU. Kata sandboxes that would exceed the host's "
               "memory are refused (admission), not silently started.",
               draw_storm),
        Figure("c03-storm-mechanisms",
               "Mean seconds per instance in each mechanism, against how many start at once "
               "(label: the largest). A handful of docker runs spend their time in the "
               "daemon's API path; from about a hundred on, waiting for dockerd's lock "
               "dominates. Without that lock (containerd), the kernel's serialisation points "
               "take over as the count grows: the xtables lock (each iptables call copies the "
               "whole table, O(rules)) and namespace_sem (each mount-namespace copy walks "
               "every host mount). Full VMs stay dominated by their own boot.",
               draw_storm_mechanisms),
    ]


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
