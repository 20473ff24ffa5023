"""C5: a VM is isolated, a shared kernel is a shared fate (the blast radius).

Scenarios (built in code with :func:`virtsim.comparison.equal_density`):
the same service as N containers on one m5d.metal host and as N KVM/QEMU
VMs on an equal host, at equal density (each container limited to the VM's
2 CPUs and 2 GiB), every instance ``restart = "always"``. Each fault kind
is injected alone into a fresh copy of that fleet (container crash, OOM
kill, engine crash, container escape, host kernel panic, machine failure;
guest kernel panic, VMM crash, OOM kill of a VM, VM escape, hypervisor
crash, host kernel panic, machine failure), for N in a density sweep.
Escapes are replayed with published exploits (MEASUREMENTS.md, isolation
table) against runc, gVisor and Kata containers and QEMU and Firecracker
VMs on a Linux 5.15 host. The bundled ``side-by-side.toml`` (all faults,
300 s apart, in one run) gives availability over time.

Tables: ``blast`` (per density, technology and fault kind: instances lost
or compromised, share of that technology's instances, time to full
recovery, downtime), ``escapes`` (exploit, runtime or VMM, whether it
crossed, instances compromised), ``timeline`` (share of each technology up,
sampled over the side-by-side run).

Verdict rule: *contradicted* if a host kernel panic does not take every
container on the host, or a guest kernel panic takes more than its own VM.
*Supported* if, beyond that, no VM fault short of a host-level one reaches
another VM and no container escape is contained. *Supported with nuance*
otherwise, naming what breaks the simple picture (an escape through the
VMM reaching every VM, sandboxed runtimes containing a kernel exploit, KVM
VMs sharing the host kernel's fate).

Run on its own: ``python experiments/c05_blast_radius.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure

import virtsim
from virtsim.comparison import equal_density, side_by_side
from virtsim.experiment import Figure, Finding, Size, Tables, Verdict, main_for
from virtsim.plotting import colour, label, slide_figure
from virtsim.result import Record

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
    for tech, layer, exploit, kind in ESCAPES:
        scenario = virtsim.parse_scenario(_escape_scenario(tech, layer, exploit, kind), catalog)
        result = virtsim.run_scenario(scenario, catalog, seed=seed)
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
    """Verdict from the shares lost per fault kind and the escapes' outcomes."""
    rows = tables["blast"]
    by = {(str(r["technology"]), str(r["kind"]), int(_num(r, "density"))): r for r in rows}
    densities = sorted({int(_num(r, "density")) for r in rows})
    n = densities[-1]
    panic = [by[("container", "host-kernel-panic", d)] for d in densities]
    guest = [by[("vm", "guest-kernel-panic", d)] for d in densities]
    all_containers = all(_num(r, "share") == 1.0 for r in panic)
    one_vm = all(_num(r, "instances") == 1 for r in guest)
    vm_spread = [str(r["kind"]) for r in rows if r["technology"] == "vm"
                 and r["kind"] not in HOST_LEVEL and _num(r, "instances") > 1
                 and _num(r, "density") == n]
    contained = [f"{r['layer']} against {r['exploit']}" for r in tables["escapes"]
                 if r["kind"] == "container-escape" and not r["crossed"]]
    vm_host_fate = [str(r["kind"]) for r in rows if r["technology"] == "vm"
                    and r["kind"] in HOST_LEVEL and _num(r, "share") == 1.0
                    and _num(r, "density") == n]
    verdict: Verdict
    if not (all_containers and one_vm):
        verdict = "contradicted"
        reason = ("A host kernel panic did not take every container, or a guest kernel panic "
                  "reached beyond its VM.")
    elif not vm_spread and not contained:
        verdict = "supported"
        reason = ("Kernel faults and escapes reach every container on the host; every VM "
                  "fault short of the host stays inside its VM.")
    else:
        verdict = "supported with nuance"
        parts = [f"a host kernel panic takes all {n} containers and a guest kernel panic 1 of "
                 f"{n} VMs, as claimed"]
        if vm_spread:
            parts.append(f"but a {', '.join(sorted(set(vm_spread)))} reaches every VM on the "
                         "host through the shared VMM/hypervisor")
        if vm_host_fate:
            parts.append("KVM VMs share the host's fate on a "
                         f"{', '.join(sorted(set(vm_host_fate)))}")
        if contained:
            parts.append(f"and sandboxed runtimes contain kernel exploits "
                         f"({'; '.join(contained)})")
        reason = "; ".join(parts) + "."
    largest = {(str(r["technology"]), str(r["kind"])): r for r in _largest(tables)}
    numbers = [f"N = {n}: host kernel panic takes "
               f"{int(_num(largest[('container', 'host-kernel-panic')], 'instances'))} of {n} "
               "containers",
               f"guest kernel panic takes "
               f"{int(_num(largest[('vm', 'guest-kernel-panic')], 'instances'))} of {n} VMs",
               f"containers back after a host kernel panic in "
               f"{_num(largest[('container', 'host-kernel-panic')], 'time_to_recover_s'):.0f} s",
               f"VM back after a guest kernel panic in "
               f"{_num(largest[('vm', 'guest-kernel-panic')], 'time_to_recover_s'):.1f} s"]
    return Finding(claim=CLAIM, verdict=verdict, reason=reason, key_numbers=tuple(numbers))


KIND_ORDER = ("container-crash", "oom-kill", "engine-crash", "container-escape",
              "guest-kernel-panic", "vmm-crash", "vm-escape", "hypervisor-crash",
              "host-kernel-panic", "machine-failure")


def draw_blast(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Share of each technology's instances one fault takes, per fault kind."""
    rows = _largest(tables)
    n = int(_num(rows[0], "density"))
    fig, ax = slide_figure(f"Blast radius of one fault, {n} instances per host",
                           "fault kind", "share of the host's instances lost or taken over (%)",
                           size=(12.0, 6.5))
    x = np.arange(len(KIND_ORDER))
    for offset, tech in ((-0.2, "container"), (0.2, "vm")):
        share = {str(r["kind"]): 100 * _num(r, "share") for r in rows if r["technology"] == tech}
        heights = [share.get(k, np.nan) for k in KIND_ORDER]
        ax.bar(x + offset, heights, width=0.4, color=colour(tech), label=label(tech))
    ax.set_xticks(x, [k.replace("-", "\n", 1) for k in KIND_ORDER], fontsize=10)
    ax.set_ylim(0, 110)
    ax.legend(loc="upper left")
    return fig


def draw_recovery(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Time until every instance a fault took is ready again, per fault kind."""
    rows = [r for r in _largest(tables) if r["effect"] == "crash"]
    fig, ax = slide_figure("Time to full recovery (restart policies, start procedures)",
                           "fault kind", "time to full recovery (s, log scale)",
                           size=(12.0, 6.5))
    x = np.arange(len(KIND_ORDER))
    for offset, tech in ((-0.2, "container"), (0.2, "vm")):
        value = {str(r["kind"]): _num(r, "time_to_recover_s") for r in rows
                 if r["technology"] == tech}
        heights = [value.get(k, np.nan) for k in KIND_ORDER]
        ax.bar(x + offset, heights, width=0.4, color=colour(tech), label=label(tech))
    ax.set_yscale("log")
    ax.set_xticks(x, [k.replace("-", "\n", 1) for k in KIND_ORDER], fontsize=10)
    ax.legend(loc="upper left")
    return fig


def draw_timeline(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Share of instances up over the side-by-side run, faults marked."""
    fig, ax = slide_figure("Availability over time: one fault of each kind every 300 s",
                           "simulated time (s)", "instances up (%)", size=(12.0, 6.0))
    rows = tables["timeline"]
    for tech in ("container", "vm"):
        points = [(r["t_s"], r["up_share"]) for r in rows
                  if r["technology"] == tech and "up_share" in r]
        if points:
            ax.step([_num({"v": p[0]}, "v") for p in points],
                    [100 * _num({"v": p[1]}, "v") for p in points], where="post",
                    color=colour(tech), label=label(tech), linewidth=2.5)
    for row in rows:
        if "fault" in row:
            ax.annotate(str(row["fault"]), (_num(row, "t_s"), 2 if row["technology"] == "vm"
                                            else 52), rotation=90, fontsize=9,
                        color=colour(str(row["technology"])))
    ax.set_ylim(0, 105)
    ax.legend(loc="lower right")
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
