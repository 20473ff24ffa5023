"""C7: VMs are managed by hypervisor tooling, containers by orchestrators.

Scenarios (built in code): a cluster of three m5d.metal hosts running the
same service either as containers or as VMs, under each manager of the
catalogue (``models/orchestrators/``):

- containers: dockerd's restart policy alone (``docker-restart``), Docker
  Swarm, Kubernetes;
- VMs on KVM: libvirt's ``on_crash = restart`` alone (``libvirt-restart``),
  OpenStack with Masakari evacuation; VMs on ESXi: vSphere HA.

Three faults hit the first host, each in its own run: one instance crashes
(a container crash or a guest kernel panic), the host's software crashes
(a host kernel panic; on ESXi a hypervisor crash, the purple screen) and the
machine fails (repair time from ``models/failure_rates/machine-failure``).
Detection delays, eviction waits and restart back-offs come from the
orchestrator profiles (each sourced to its documentation); every
restart and reschedule runs the lifecycle's start procedures.

Tables: ``recovery`` (per technology, manager and fault: instances lost,
mean detection delay, mean start time, time to full recovery or None,
share recovered within the run, availability, reschedules).

Statements and their rules: "VM tools manage VMs through faults" and
"container orchestrators manage containers through faults", each judged per
manager and fault (every instance back within the run): supported when every
case holds, partly when some do, contradicted when none does. Restart
policies alone (dockerd's, libvirt's), which manage one host and no cluster,
are reported beside.

Run on its own: ``python experiments/c07_management.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
from virtsim.plotting import colour, label, slide_figure
from virtsim.reproduce import main_for
from virtsim.result import Record

CLAIM = "C7"
TITLE = "Management: restart policies, orchestrators and VM HA recovering from faults"

HOSTS = 3
PER_HOST: dict[Size, int] = {"tiny": 2, "quick": 4, "full": 8}
DURATION_S = 1500.0
FAULT_AT_S = 60.0
FAULTS = ("instance", "host software", "machine")


@dataclass(frozen=True)
class Setup:
    """One technology under one manager."""

    technology: str
    manager: str
    hypervisor: str = "kvm"

    @property
    def local(self) -> bool:
        """A restart policy rather than an orchestrator."""
        return self.manager.endswith("-restart")


SETUPS: tuple[Setup, ...] = (
    Setup("container", "docker-restart"),
    Setup("container", "docker-swarm"),
    Setup("container", "kubernetes"),
    Setup("vm", "libvirt-restart"),
    Setup("vm", "openstack-evacuate"),
    Setup("vm", "vsphere-ha", hypervisor="esxi"),
)

PUBLISHED_DETECTION: dict[str, tuple[float, str, str]] = {
    "kubernetes": (340.0, "Kubernetes documentation: node-monitor-grace-period 40 s + "
                   "NoExecute toleration 300 s before pods leave a dead node",
                   "kubernetes-docs:node-eviction"),
    "docker-swarm": (15.0, "SwarmKit source: a node is DOWN after 3 heartbeats of 5 s "
                     "(13.5-16.5 s)", "swarmkit:node-down"),
    "vsphere-ha": (15.0, "vSphere Availability documentation: vSphere HA declares a host "
                   "failed at 15 s", "vsphere-ha:failure-declared"),
    "openstack-evacuate": (150.0, "OpenStack Nova and Masakari defaults: service_down_time "
                           "60 s, evacuation waits 90-180 s (lower bound)",
                           "openstack:evacuation-wait"),
}


def scenario(setup: Setup, fault: str, per_host: int, seed: int) -> dict[str, Any]:
    """Three hosts, ``per_host`` instances each, one fault on the first host."""
    group: dict[str, Any]
    host: dict[str, Any] = {"name": "node", "count": HOSTS, "profile": "m5d-metal",
                            "cached_images": ["nginx-alpine"]}
    if setup.technology == "container":
        group = {"name": "web", "count": per_host, "image": "nginx-alpine", "cpus": 2.0,
                 "memory_mib": 2048.0}
        host["containers"] = [group]
    else:
        vmm = "esxi-vmx" if setup.hypervisor == "esxi" else "qemu"
        group = {"name": "web", "count": per_host, "hypervisor": setup.hypervisor, "vmm": vmm,
                 "disk_image": "ubuntu-24.04-cloud", "vcpus": 2, "memory_mib": 2048}
        host["vms"] = [group]
    orchestrators = []
    if setup.local:
        group["restart"] = "always"
    else:
        orchestrators = [{"profile": setup.manager, "groups": ["web"]}]
    kinds = {"instance": "container-crash" if setup.technology == "container"
             else "guest-kernel-panic",
             "host software": "hypervisor-crash" if setup.hypervisor == "esxi"
             else "host-kernel-panic",
             "machine": "machine-failure"}
    target = "node-0/web-0" if fault == "instance" else "node-0"
    return {"name": f"c07-{setup.manager}-{fault.replace(' ', '-')}", "duration_s": DURATION_S,
            "seed": seed, "hosts": [host], "orchestrators": orchestrators,
            "faults": [{"kind": kinds[fault], "target": target, "at_s": FAULT_AT_S}]}


def _num(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key)
    return float(value) if isinstance(value, int | float) else 0.0


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _measure(result: virtsim.Result, setup: Setup, fault: str) -> Record:
    hit = next(r for r in result.table("faults") if r["fault"] == "0")
    rows = result.table("recoveries")
    started = [r for r in rows if r["ready_s"] is not None]
    stack = "containers (runc)" if setup.technology == "container" else (
        f"VMs on {'ESXi' if setup.hypervisor == 'esxi' else 'KVM/QEMU'}")
    return {"technology": setup.technology, "stack": stack, "manager": setup.manager,
            "fault": fault,
            "kind": hit["kind"], "instances": hit["instances"],
            "detection_s": _mean([_num(r, "detected_s") - _num(r, "at_s") for r in rows
                                  if r["detected_s"] is not None]),
            "start_s": _mean([_num(r, "ready_s") - _num(r, "restarted_s") for r in started
                              if r["restarted_s"] is not None]),
            "time_to_recover_s": hit["time_to_recover_s"],
            "recovered_share": len(started) / len(rows) if rows else 1.0,
            "availability": result.metrics.get("availability", 1.0),
            "reschedules": len(result.table("reschedules"))}


def run(size: Size, seed: int) -> Tables:
    """Every manager against every fault."""
    catalog = virtsim.load_catalog()
    cases = [(setup, fault) for setup in SETUPS for fault in FAULTS]
    results = virtsim.run_scenarios([virtsim.ScenarioJob(virtsim.parse_scenario(
        scenario(setup, fault, PER_HOST[size], seed), catalog), seed) for setup, fault in cases])
    return {"recovery": [_measure(result, setup, fault)
                         for (setup, fault), result in zip(cases, results, strict=True)]}


def _machine_rows(tables: Mapping[str, list[Record]]) -> list[Record]:
    return [r for r in tables["recovery"] if r["fault"] == "machine"]


def findings(tables: Tables) -> Finding:
    """Two statements: VM tools manage VMs, orchestrators manage containers, through faults."""
    statements = (managed_through_faults(tables, "vm"),
                  managed_through_faults(tables, "container"))
    numbers = [f"{r['manager']}: {r['fault']} fault ({r['kind']}), all back in "
               + (f"{_num(r, 'time_to_recover_s'):.0f} s" if _recovered(r)
                  else f"more than {DURATION_S - FAULT_AT_S:.0f} s (waits for repair)")
               for r in tables["recovery"]]
    return Finding(CLAIM, statements, key_numbers=tuple(numbers),
                   comparisons=_comparisons(tables))


STATEMENTS: dict[str, str] = {
    "vm": "VM tools (OpenStack, vSphere) manage VMs through faults",
    "container": "Container orchestrators (Docker Swarm, Kubernetes) manage containers "
                 "through faults",
}


def _recovered(row: Record) -> bool:
    return _num(row, "recovered_share") == 1.0 and row["time_to_recover_s"] is not None


def managed_through_faults(tables: Mapping[str, list[Record]], technology: str) -> Statement:
    """"Managed using ...": each manager of the technology, each fault, everything back.

    Restart policies alone (dockerd's, libvirt's ``on_crash``) act on one
    host and manage no cluster: they are reported beside, not judged.
    """
    cases = {}
    aside = []
    for row in tables["recovery"]:
        if row["technology"] != technology:
            continue
        case = (f"{row['manager']}, {row['fault']} fault "
                + (f"({_num(row, 'time_to_recover_s'):.0f} s)" if _recovered(row)
                   else "(not back within the run)"))
        if str(row["manager"]).endswith("-restart"):
            if not _recovered(row):
                aside.append(case)
            continue
        cases[case] = _recovered(row)
    because = ("(Manages: brings every instance back within the run.)"
               + (f" Aside: a restart policy alone, {'; '.join(aside)}." if aside else ""))
    return over_cases(STATEMENTS[technology], cases, because)


def _comparisons(tables: Mapping[str, list[Record]]) -> tuple[Comparison, ...]:
    out = []
    for row in _machine_rows(tables):
        name = str(row["manager"])
        if name in PUBLISHED_DETECTION and row["detection_s"] is not None:
            published, source, figure = PUBLISHED_DETECTION[name]
            out.append(Comparison(f"{name}: failure detection until rescheduling", published,
                                  _num(row, "detection_s"), "s", source, figure))
    return tuple(out)


def _label(row: Record) -> str:
    return f"{row['manager']}\n({row['stack']})"


def draw_machine(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Detection and restart time after a machine failure, per manager."""
    rows = _machine_rows(tables)
    fig, ax = slide_figure("After a machine failure: detect, then start elsewhere",
                           "time after the failure (s)", "", size=(12.0, 6.5))
    horizon = DURATION_S - FAULT_AT_S
    y = np.arange(len(rows))
    for i, row in enumerate(rows):
        tech = str(row["technology"])
        if row["time_to_recover_s"] is None:  # did not finish: an open bar, no end drawn
            ax.barh(i, horizon, fill=False, edgecolor=colour(tech), linestyle="--", lw=1.8)
            ax.annotate("", (horizon * 1.06, i), (horizon * 0.97, i),
                        arrowprops={"arrowstyle": "->", "color": colour(tech), "lw": 2})
            ax.text(horizon * 0.5, i, "waits for repair: not back by the end of the run",
                    va="center", ha="center", fontsize=11)
            continue
        detect = _num(row, "detection_s")
        total = _num(row, "time_to_recover_s")
        ax.barh(i, detect, color=colour(tech), alpha=0.4)
        ax.barh(i, total - detect, left=detect, color=colour(tech))
        ax.text(total + 8, i, f"{total:.0f} s", va="center", fontsize=11)
    ax.set_yticks(y, [_label(r) for r in rows], fontsize=10)
    ax.invert_yaxis()
    ax.set_xlim(0, horizon * 1.08)
    ax.legend(handles=[Patch(color="#999999", alpha=0.4, label="detection (+ eviction wait)"),
                       Patch(color="#999999", label="restart: placement, pull or boot"),
                       Patch(fill=False, edgecolor="black", linestyle="--",
                             label="not back by the end of the run")],
              loc="lower right")
    return fig


def draw_faults(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Time to full recovery per manager and fault (log scale)."""
    rows = tables["recovery"]
    managers = list(dict.fromkeys(str(r["manager"]) for r in rows))
    fig, ax = slide_figure("Time to full recovery by manager and fault",
                           "manager", "time to full recovery (s, log scale)", size=(12.0, 6.5))
    x = np.arange(len(managers))
    hatches = {"instance": "", "host software": "..", "machine": "xx"}
    horizon = DURATION_S - FAULT_AT_S
    for j, fault in enumerate(FAULTS):
        for i, name in enumerate(managers):
            row = next(r for r in rows if r["manager"] == name and r["fault"] == fault)
            x_bar, tech = i + (j - 1) * 0.27, str(row["technology"])
            if row["time_to_recover_s"] is None:  # did not finish: an open, dashed bar
                ax.bar(x_bar, horizon, width=0.27, fill=False, edgecolor=colour(tech),
                       linestyle="--", lw=1.5)
                ax.text(x_bar, horizon * 1.15, "not\nback", ha="center", va="bottom",
                        fontsize=9)
                continue
            ax.bar(x_bar, max(_num(row, "time_to_recover_s"), 0.1), width=0.27,
                   color=colour(tech), hatch=hatches[fault], edgecolor="black")
    ax.set_yscale("log")
    ax.set_ylim(top=horizon * 4)
    ax.set_xticks(x, managers, fontsize=11)
    handles = [Patch(facecolor="white", edgecolor="black", hatch=hatches[f], label=f"{f} fault")
               for f in FAULTS]
    handles += [Patch(color=colour(t), label=label(t)) for t in ("container", "vm")]
    handles.append(Patch(fill=False, edgecolor="black", linestyle="--",
                         label=f"not back within the run ({horizon:,.0f} s)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=10)
    return fig


def figures() -> list[Figure]:
    """Machine-failure timeline per manager; recovery per manager and fault."""
    return [
        Figure("c07-machine-failure", "A machine fails 60 s into the run. A restart policy "
               "(docker-restart, libvirt-restart) only restarts instances on the same host, so "
               "they wait for the repair. An orchestrator first has to decide the host is dead "
               "(light part: heartbeat timeout, plus Kubernetes' 300 s eviction toleration or "
               "Masakari's evacuation wait) and then starts the instances on the surviving "
               "hosts through the normal start path (dark part).", draw_machine),
        Figure("c07-recovery", "Time until every instance the fault took is ready again. An "
               "instance crash is handled in place by every manager (container back-offs, a VM "
               "reboot); a host software crash reboots the host, which usually beats the "
               "orchestrators' failure detection, so they also restart in place; only a "
               "machine failure needs a reschedule, and only orchestrators do it.",
               draw_faults),
    ]


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
