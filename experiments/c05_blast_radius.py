"""C5: a VM is isolated, a shared kernel is a shared fate (the blast radius).

Scenarios (built in code with :func:`virtsim.comparison.equal_density`):
the same service as N containers on one m5d.metal host and as N KVM/QEMU
VMs on an equal host, at equal density (each container limited to the VM's
2 CPUs and 2 GiB), every instance ``restart = "always"``. Each fault kind
is injected alone into a fresh copy of that fleet (container crash, OOM
kill, engine crash, container escape, host kernel panic, machine failure;
guest kernel panic, VMM crash, OOM kill of a VM, VM escape, hypervisor
crash, host kernel panic, machine failure), for N in a density sweep.
Escapes are replayed with published exploits (the CVE records in the
table) against runc, gVisor and Kata containers and QEMU and Firecracker
VMs on a Linux 5.15 host. The bundled ``side-by-side.toml`` (all faults,
300 s apart, in one run) gives availability over time.

Tables: ``blast`` (per density, technology and fault kind: instances lost
or compromised, share of that technology's instances, time to full
recovery, downtime), ``escapes`` (exploit, runtime or VMM, whether it
crossed, instances compromised), ``timeline`` (share of each technology up,
sampled over the side-by-side run).

Statements and their rules, each judged case by case (supported when it
holds for every case, partly for some, contradicted for none): "a fault
inside a VM stays inside that VM" (every fault short of the host takes one
VM), "an escape from one container reaches the others" (each exploit
against runc or the shared kernel), "a container is less isolated than a VM"
(the same fault, a kernel fault, a crash of the runtime or VMM, an escape,
takes a larger share of containers than of VMs). gVisor and Kata, which the
seed does not speak of, are reported beside.

Run on its own: ``python experiments/c05_blast_radius.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Patch

import virtsim
from virtsim.comparison import equal_density, side_by_side
from virtsim.experiment import (
    Figure,
    Finding,
    Size,
    Statement,
    Tables,
    over_cases,
)
from virtsim.plotting import SLIDE_STYLE, colour, label, slide_figure
from virtsim.reproduce import main_for
from virtsim.result import Record
from virtsim.summary import seconds

CLAIM = "C5"
TITLE = "Blast radius: what one fault or compromise takes down, VMs against containers"

DENSITIES: dict[Size, tuple[int, ...]] = {"tiny": (4,), "quick": (4, 12), "full": (4, 16, 48)}
TECHNOLOGY = {"containers": "container", "vms": "vm"}
HOST_LEVEL = frozenset({"host-kernel-panic", "machine-failure", "hypervisor-crash"})
ESCAPES: tuple[tuple[str, str, str, str], ...] = (
    ("container", "runc", "cve-2019-5736", "container-escape"),
    ("container", "runc", "cve-2022-0847", "container-escape"),
    ("gvisor", "runsc", "cve-2022-0847", "container-escape"),
    ("kata", "kata", "cve-2022-0847", "container-escape"),
    ("vm", "qemu", "cve-2015-3456", "vm-escape"),
    ("microvm", "firecracker", "cve-2015-3456", "vm-escape"),
)
"""(technology, runtime or VMM, exploit, fault kind) replayed on a Linux 5.15 host."""
ESCAPE_COUNT = 4
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
TIMELINE_STEP_S = 5.0


def _blast(catalog: virtsim.Catalog, size: Size, seed: int) -> list[Record]:
    rows: list[Record] = []
    for density in DENSITIES[size]:
        scenario = virtsim.parse_scenario(equal_density(density, seed=seed), catalog,
                                          f"<c05-density-{density}>")
        for row in side_by_side(scenario, catalog, seed=seed):
            rows.append({"density": density,
                         "technology": TECHNOLOGY.get(str(row["technology"]), "other"),
                         **{k: v for k, v in row.items() if k != "technology"}})
    return rows


def _escape_scenario(tech: str, layer: str, exploit: str, kind: str) -> dict[str, Any]:
    host: dict[str, Any] = {"name": "h", "profile": "m5d-metal", "kernel": "linux-5.15",
                            "cached_images": ["alpine"]}
    if kind == "container-escape":
        engine = "containerd" if layer == "kata" else "docker"
        host["containers"] = [{"name": "c", "count": ESCAPE_COUNT, "image": "alpine",
                               "runtime": layer, "engine": engine}]
    else:
        image = "firecracker-rootfs" if layer == "firecracker" else "ubuntu-24.04-cloud"
        host["vms"] = [{"name": "c", "count": ESCAPE_COUNT, "hypervisor": "kvm", "vmm": layer,
                        "disk_image": image}]
    return {"name": f"c05-escape-{tech}-{exploit}", "duration_s": 120, "hosts": [host],
            "faults": [{"kind": kind, "target": "h/c-0", "at_s": 60, "exploit": exploit}]}


def _escapes(catalog: virtsim.Catalog, seed: int) -> list[Record]:
    rows: list[Record] = []
    results = virtsim.run_scenarios([virtsim.ScenarioJob(virtsim.parse_scenario(
        _escape_scenario(*escape), catalog), seed) for escape in ESCAPES])
    for (tech, layer, exploit, kind), result in zip(ESCAPES, results, strict=True):
        fault = next(r for r in result.table("faults") if r["fault"] == "0")
        rows.append({"technology": tech, "layer": layer, "exploit": exploit, "kind": kind,
                     "crossed": fault["crossed"], "why": fault["why"],
                     "compromised": result.metrics.get("compromised_instances", 0),
                     "of": ESCAPE_COUNT})
    return rows


def _timeline(catalog: virtsim.Catalog, seed: int) -> list[Record]:
    scenario = virtsim.load_scenario(SCENARIOS / "side-by-side.toml", catalog)
    result = virtsim.run_scenario(scenario, catalog, seed=seed)
    end = float(result.metrics["duration_s"])
    members: dict[str, int] = {}
    for row in result.table("downtime"):
        tech = TECHNOLOGY.get(str(row["instance"]).split("/")[0], "other")
        members[tech] = members.get(tech, 0) + 1
    times = np.arange(0.0, end + TIMELINE_STEP_S / 2, TIMELINE_STEP_S)
    down = {tech: np.zeros_like(times) for tech in members}
    for outage in result.table("outages"):
        tech = TECHNOLOGY.get(str(outage["instance"]).split("/")[0], "other")
        start = _num(outage, "start_s")
        stop = end if outage["end_s"] is None else _num(outage, "end_s")
        down[tech] += (times >= start) & (times < stop)
    rows: list[Record] = []
    for tech, count in members.items():
        for t, d in zip(times, down[tech], strict=True):
            rows.append({"technology": tech, "t_s": float(t), "up_share": 1 - float(d) / count})
    for fault in result.table("faults"):
        rows.append({"technology": TECHNOLOGY.get(str(fault["target"]).split("/")[0], "other"),
                     "t_s": fault["at_s"], "fault": fault["kind"],
                     "instances": fault["instances"]})
    return rows


def run(size: Size, seed: int) -> Tables:
    """Blast radius per fault kind and density, escapes per runtime and VMM, a timeline."""
    catalog = virtsim.load_catalog()
    return {"blast": _blast(catalog, size, seed), "escapes": _escapes(catalog, seed),
            "timeline": _timeline(catalog, seed)}


def _num(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key)
    return float(value) if isinstance(value, int | float) else 0.0


def _largest(tables: Mapping[str, list[Record]]) -> list[Record]:
    top = max(_num(r, "density") for r in tables["blast"])
    return [r for r in tables["blast"] if _num(r, "density") == top]


def findings(tables: Tables) -> Finding:
    """Three statements, from the shares each fault takes and the escapes' outcomes."""
    largest = {(str(r["technology"]), str(r["kind"])): r for r in _largest(tables)}
    statements = (vm_fault_stays_inside(largest), container_escape_reaches_others(tables),
                  container_less_isolated(largest))
    n = int(max(_num(r, "density") for r in tables["blast"]))
    numbers = [f"N = {n}: {kind} takes {int(_num(row, 'instances'))} of {n} {tech}s"
               + (f", all back in {_num(row, 'time_to_recover_s'):.1f} s"
                  if row["time_to_recover_s"] is not None else "")
               for (tech, kind), row in largest.items()]
    return Finding(CLAIM, statements, key_numbers=tuple(numbers))


PAIRS: tuple[tuple[str, str, str], ...] = (
    ("a kernel fault", "host-kernel-panic", "guest-kernel-panic"),
    ("a crash of the layer that runs it", "engine-crash", "vmm-crash"),
    ("an escape", "container-escape", "vm-escape"),
)
"""Faults that hit the same place in each stack: (what, container's kind, VM's kind).

A container's kernel is the host's, so its kernel fault is a host kernel
panic; a VM's is its guest's.
"""


def _taken(row: Record) -> str:
    return f"{int(_num(row, 'instances'))} of {int(_num(row, 'of'))}"


def vm_fault_stays_inside(largest: Mapping[tuple[str, str], Record]) -> Statement:
    """"Full isolation since each VM runs its own OS": each fault inside a VM takes one VM."""
    cases = {f"{kind} ({_taken(row)})": _num(row, "instances") <= 1
             for (tech, kind), row in largest.items()
             if tech == "vm" and kind not in HOST_LEVEL}
    return over_cases("A fault inside a VM stays inside that VM", cases,
                      "(Faults of the host itself, which take everything, are not judged.)")


def container_escape_reaches_others(tables: Mapping[str, list[Record]]) -> Statement:
    """"They share the same kernel": each escape exploit against runc and the shared kernel."""
    rows = tables["escapes"]
    cases = {f"{r['exploit']} against {r['layer']} ({r['compromised']} of {r['of']})":
             bool(r["crossed"]) for r in rows if r["technology"] == "container"}
    contained = [f"{r['layer']} contains {r['exploit']}" for r in rows
                 if r["technology"] in ("gvisor", "kata") and not r["crossed"]]
    aside = f"Aside: {'; '.join(contained)}." if contained else ""
    return over_cases("An escape from one container reaches the others on the host", cases,
                      aside)


def container_less_isolated(largest: Mapping[tuple[str, str], Record]) -> Statement:
    """"Isolation is less strict than VMs": the same fault, container against VM."""
    cases = {}
    for what, c_kind, v_kind in PAIRS:
        c, v = largest.get(("container", c_kind)), largest.get(("vm", v_kind))
        if c is not None and v is not None:
            cases[f"{what} (containers {_taken(c)}, VMs {_taken(v)})"] = (
                _num(c, "share") > _num(v, "share"))
    return over_cases("A container is less isolated than a VM", cases,
                      "(Less isolated: the same fault takes a larger share.)")


KIND_ORDER = ("container-crash", "oom-kill", "engine-crash", "container-escape",
              "guest-kernel-panic", "vmm-crash", "vm-escape", "hypervisor-crash",
              "host-kernel-panic", "machine-failure")


def _labelled_bars(ax: Any, tech: str, offset: float,
                   cells: Mapping[str, tuple[float | None, str]], floor: float) -> None:
    """One bar per fault kind with its value written on it; a fault that does not apply
    to the technology gets "n/a" and no bar (not a bar of zero)."""
    for i, kind in enumerate(KIND_ORDER):
        x = i + offset
        if kind not in cells:
            ax.text(x, floor, "n/a", ha="center", va="bottom", fontsize=10, color="#555555",
                    rotation=90)
            continue
        value, text = cells[kind]
        if value is not None:
            ax.bar(x, value, width=0.4, color=colour(tech), edgecolor="black", lw=0.6)
        ax.text(x, value if value is not None else floor, text, ha="center", va="bottom",
                fontsize=10, rotation=90)


def _legend(ax: Any) -> None:
    ax.legend(handles=[Patch(facecolor=colour(t), edgecolor="black", label=label(t))
                       for t in ("container", "vm")], loc="upper left")


def draw_blast(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Share of each technology's instances one fault takes, per fault kind, with counts."""
    rows = _largest(tables)
    n = int(_num(rows[0], "density"))
    fig, ax = slide_figure(f"Blast radius of one fault, {n} instances per host",
                           "fault kind", "share of the host's instances lost or taken over (%)",
                           size=(13.0, 7.0))
    for offset, tech in ((-0.2, "container"), (0.2, "vm")):
        cells = {str(r["kind"]): (100 * _num(r, "share"),
                                  f" {int(_num(r, 'instances'))} of {int(_num(r, 'of'))}")
                 for r in rows if r["technology"] == tech}
        _labelled_bars(ax, tech, offset, cells, 1.0)
    ax.set_xticks(range(len(KIND_ORDER)), [k.replace("-", "\n", 1) for k in KIND_ORDER],
                  fontsize=10)
    ax.set_ylim(0, 125)
    _legend(ax)
    return fig


def draw_recovery(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Time until every instance a fault took is ready again; "not back" when it never was."""
    rows = [r for r in _largest(tables) if r["effect"] == "crash"]
    fig, ax = slide_figure("Time to full recovery (restart policies, start procedures)",
                           "fault kind", "time to full recovery (s, log scale)",
                           size=(13.0, 7.0))
    floor = 0.5
    for offset, tech in ((-0.2, "container"), (0.2, "vm")):
        cells: dict[str, tuple[float | None, str]] = {}
        for r in rows:
            if r["technology"] != tech:
                continue
            value = r["time_to_recover_s"]
            cells[str(r["kind"])] = ((_num(r, "time_to_recover_s"),
                                      f" {seconds(_num(r, 'time_to_recover_s'))}")
                                     if value is not None else (None, "not back"))
        _labelled_bars(ax, tech, offset, cells, floor)
    ax.set_yscale("log")
    ax.set_ylim(floor, ax.get_ylim()[1] * 8)
    ax.set_xticks(range(len(KIND_ORDER)), [k.replace("-", "\n", 1) for k in KIND_ORDER],
                  fontsize=10)
    _legend(ax)
    return fig


def draw_timeline(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Share of instances up over the side-by-side run, one panel per technology, faults marked."""
    rows = tables["timeline"]
    with plt.rc_context(cast(Any, SLIDE_STYLE)):
        fig, axes = plt.subplots(2, 1, figsize=(13.0, 8.0), sharex=True, sharey=True,
                                 layout="constrained")
    fig.suptitle("Availability over time: one fault of each kind every 300 s",
                 fontsize=SLIDE_STYLE["axes.titlesize"])
    for ax, tech in zip(axes, ("container", "vm"), strict=True):
        points = [(_num(r, "t_s"), 100 * _num(r, "up_share")) for r in rows
                  if r["technology"] == tech and "up_share" in r]
        if points:
            ax.step([p[0] for p in points], [p[1] for p in points], where="post",
                    color=colour(tech), linewidth=2.5)
        for row in rows:
            if "fault" in row and row["technology"] == tech:
                ax.annotate(str(row["fault"]), (_num(row, "t_s"), 5), rotation=90, fontsize=10,
                            xytext=(3, 0), textcoords="offset points")
        ax.set_title(label(tech), loc="left", fontsize=SLIDE_STYLE["axes.labelsize"],
                     color="black")
        ax.set_ylabel("instances up (%)", fontsize=SLIDE_STYLE["axes.labelsize"])
        ax.set_ylim(0, 105)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("simulated time (s)", fontsize=SLIDE_STYLE["axes.labelsize"])
    return fig


def figures() -> list[Figure]:
    """Blast radius per fault kind, recovery time per fault kind, availability over time."""
    return [
        Figure("c05-blast-radius", "One fault of each kind on a host running N containers and "
               "on an equal host running N VMs. A host kernel panic takes every container "
               "because they all make their system calls to that one kernel; a guest kernel "
               "panic takes only its own VM. KVM VMs still share the host's fate (host kernel "
               "panic, machine failure), an engine crash without live-restore takes every "
               "container of that daemon, and an escape through QEMU (VENOM) reaches every VM "
               "of the hypervisor.", draw_blast),
        Figure("c05-recovery", "Time from the fault until every instance it took is ready "
               "again, with restart policies only: a container restarts in about a second, a "
               "VM reboots in tens of seconds, and a host-level fault first reboots the "
               "machine (firmware, loader, kernel, OS) and then restarts everything on it "
               "under contention; a machine failure adds its repair time.", draw_recovery),
        Figure("c05-availability", "Share of instances up while one fault of each kind strikes "
               "every 300 s (labels mark the faults). Container faults beyond a single "
               "container drop all containers to zero at once; VM faults inside a guest dip "
               "by one VM in N; host-level faults take both to zero.", draw_timeline),
    ]


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
