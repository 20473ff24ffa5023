"""C6: VMs suit different operating systems and strong isolation; containers suit many instances.

Two scenarios (built in code):

*Several operating systems on one host.* A Linux host (m5d.metal, KVM) and
a Windows Server host (Hyper-V) each try to run an Ubuntu and a Windows
Server workload, once as VMs and once as containers on the host's kernel;
the Windows host also runs the Linux container inside a Linux VM (the Docker
Desktop way). Whether each starts comes from the lifecycle, which refuses a
container whose image's OS is not the kernel's (``virtsim.compat.resolve``).

*Many instances of one application.* The same small web service as N
replicas, as Ubuntu VMs on KVM (whole vCPUs: at least one each), Firecracker
microVMs, and runc containers whose CPU limit is the service's own demand
(from its workload profile). For each: resident memory per replica, how many
fit a host (vCPUs or CPU limits reserved one to one, and with vCPUs
overcommitted down to the service's real CPU demand), the hosts needed for 1,000 replicas,
and how long N replicas take to start at once.

Statements and their rules: "running another operating system needs a VM"
(per foreign OS and host: its VM runs and its container on the host kernel
is refused; every case supports it, some partly); "many replicas need fewer
hosts as containers than as VMs" (at most half the hosts, judged with VM CPU
reserved and with vCPUs overcommitted); "many replicas start sooner as
containers" (all ready at least 2x sooner supports, sooner at all partly).
MicroVMs are reported beside.

Run on its own: ``python experiments/c06_use_cases.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Patch

import virtsim
from virtsim.breakdown import breakdown_rows
from virtsim.experiment import (
    Figure,
    Finding,
    Size,
    Statement,
    Tables,
    graded,
    over_cases,
)
from virtsim.footprint import density
from virtsim.layer_palette import text_colour
from virtsim.plotting import colour, label, mechanism_figure, slide_figure
from virtsim.profiles import HostProfile, WorkloadProfile
from virtsim.reproduce import main_for
from virtsim.result import Record
from virtsim.scenario import host_profile
from virtsim.start_breakdown import dominant, start_breakdown

CLAIM = "C6"
TITLE = "Use cases: many operating systems as VMs, many replicas as containers"

APP = "web-service"
FLEET = 1000
"""Replicas of the application the capacity question asks about."""
CLEAR_MARGIN = 2.0
"""How many times better containers must be than the next technology to count as 'suits'."""
REPLICAS: dict[Size, int] = {"tiny": 8, "quick": 24, "full": 48}
"""Replicas started at once on one host (at most what fits it with CPU reserved)."""

GUESTS: dict[str, dict[str, str]] = {
    "linux": {"disk_image": "ubuntu-24.04-cloud", "image": "ubuntu"},
    "windows": {"disk_image": "windows-server-2022-core", "image": "nanoserver"},
}
"""One workload per operating system: its VM disk image and its container image."""

HOSTS: dict[str, dict[str, Any]] = {
    "linux": {"profile": "m5d-metal", "hypervisor": "kvm", "engine": "docker",
              "runtime": "runc"},
    "windows": {"profile": "windows-server", "hypervisor": "hyper-v",
                "engine": "docker-windows", "runtime": "windows-process"},
}
"""The two hosts: each OS's own hypervisor and container engine."""


# -- (a) several operating systems -----------------------------------------

def os_scenario(seed: int) -> dict[str, Any]:
    """Both hosts, each trying every guest OS as a VM and as a container."""
    hosts = []
    for host_os, host in HOSTS.items():
        vms = [{"name": f"vm-{os}", "hypervisor": host["hypervisor"],
                "disk_image": guest["disk_image"], "vcpus": 2, "memory_mib": 2048}
               for os, guest in GUESTS.items()]
        containers = [{"name": f"container-{os}", "image": guest["image"],
                       "engine": host["engine"], "runtime": host["runtime"]}
                      for os, guest in GUESTS.items()]
        if host_os == "windows":  # the Docker Desktop way: a Linux VM for Linux containers
            vms.append({"name": "vm-for-linux-containers", "hypervisor": host["hypervisor"],
                        "disk_image": GUESTS["linux"]["disk_image"], "vcpus": 2,
                        "memory_mib": 2048,
                        "containers": [{"name": "container-linux", "image": "ubuntu"}]})
        hosts.append({"name": host_os, "profile": host["profile"],
                      "cached_images": [g["image"] for g in GUESTS.values()],
                      "vms": vms, "containers": containers})
    return {"name": "c06-os-mix", "duration_s": 600, "seed": seed, "hosts": hosts}


def _os_mix(catalog: virtsim.Catalog, seed: int) -> list[Record]:
    """One row per workload tried: host OS, workload OS, how it was run, and the outcome."""
    spec = virtsim.parse_scenario(os_scenario(seed), catalog, "<c06-os-mix>")
    result = virtsim.run_scenario(spec, catalog, seed=seed)
    rows: list[Record] = []
    for row in sorted(result.table("instances"), key=lambda r: str(r["instance"])):
        instance = str(row["instance"])
        group = str(row["group"])
        how = "VM" if row["kind"] == "vm" else (
            "container in a VM" if instance.count("/") > 1 else "container on the host kernel")
        if group == "vm-for-linux-containers":
            continue  # the carrier VM; its container is the row that matters
        rows.append({"host_os": str(row["machine"]), "workload_os": group.rsplit("-", 1)[-1],
                     "how": how, "instance": instance,
                     "started": row["ready_s"] is not None,
                     "ready_s": row["ready_s"], "outcome": row["outcome"],
                     "reason": row["reason"]})
    return rows


# -- (b) many replicas of one application ----------------------------------

@dataclass(frozen=True)
class Replica:
    """One way to run a replica of the application."""

    technology: str
    section: str
    spec: dict[str, Any]


def replicas(cpu_demand: float) -> tuple[Replica, ...]:
    """VM, microVM and container replicas of the application."""
    whole = max(1, math.ceil(cpu_demand))
    return (
        Replica("vm", "vms", {"hypervisor": "kvm", "vmm": "qemu", "clone": "linked",
                              "disk_image": "ubuntu-24.04-cloud", "vcpus": whole,
                              "memory_mib": 1024, "workload": APP}),
        Replica("microvm", "vms", {"hypervisor": "kvm", "vmm": "firecracker",
                                   "disk_image": "firecracker-rootfs", "vcpus": whole,
                                   "memory_mib": 128, "workload": APP}),
        Replica("container", "containers", {"image": "alpine", "cpus": cpu_demand,
                                            "workload": APP}),
    )


def replica_scenario(replica: Replica, count: int, seed: int) -> dict[str, Any]:
    """``count`` replicas started at once on one Linux host."""
    host = {"name": "node", "profile": HOSTS["linux"]["profile"], "cached_images": ["alpine"],
            replica.section: [{"name": "app", "count": count, **replica.spec}]}
    return {"name": f"c06-replicas-{replica.technology}", "duration_s": 3600, "seed": seed,
            "hosts": [host]}


def _replicas(catalog: virtsim.Catalog, size: Size, seed: int) -> list[Record]:
    """Per technology: per-replica cost, density, hosts for the fleet, start of N at once."""
    app = catalog.require(WorkloadProfile, APP)
    cpu_demand = app.arrival_rate_per_s * app.cpu_core_s  # cores the service keeps busy
    rows: list[Record] = []
    count = REPLICAS[size]
    kinds = replicas(cpu_demand)
    specs = [virtsim.parse_scenario(replica_scenario(replica, count, seed), catalog,
                                    f"<c06-{replica.technology}>") for replica in kinds]
    results = virtsim.run_scenarios([virtsim.ScenarioJob(spec, seed) for spec in specs])
    for replica, spec, result in zip(kinds, specs, results, strict=True):
        host = host_profile(spec.hosts[0], catalog)
        fit = result.table("density")[0]
        own = [r for r in result.table("instance_footprint") if r["group"] == "app"]
        memory = sum(_num(r, "memory_mib") for r in own) / len(own)
        disk = sum(_num(r, "disk_mib") for r in own) / len(own)
        total = result.table("host_footprint")[0]
        # the host's page cache (files the replicas read at start) is reclaimable: apart
        shared_memory = _num(total, "anonymous_mib") - memory * count
        shared_disk = _num(total, "disk_mib") - disk * count
        committed = max(_num(fit, "committed_mib"), memory)
        # vCPUs overcommitted to the real demand; memory by commitment (no overcommit),
        # then by what each replica really holds (memory overcommitted too)
        cpu_only = density(host, memory, cpu_demand, disk, shared_memory_mib=shared_memory,
                           shared_disk_mib=shared_disk, per_instance_committed_mib=committed)
        overcommitted = density(host, memory, cpu_demand, disk,
                                shared_memory_mib=shared_memory, shared_disk_mib=shared_disk)
        breakdown = start_breakdown(result.table("stages"), result.table("instances"))
        ready = np.array([_num(r, "ready_s") for r in result.table("instances")
                          if r["ready_s"] is not None])
        reserved = int(_num(fit, "count"))
        rows.append({
            "technology": replica.technology, "replicas": count,
            "cpu_per_replica": _num(fit, "vcpus"), "cpu_demand": cpu_demand,
            "memory_per_replica_mib": round(memory, 3),
            "committed_per_replica_mib": round(committed, 3),
            "disk_per_replica_mib": round(disk, 3),
            "host_page_cache_mib": round(_num(total, "page_cache_mib"), 3),
            "per_host_reserved": reserved, "binding_reserved": fit["binding"],
            "per_host_cpu_overcommitted": cpu_only.count,
            "binding_cpu_overcommitted": cpu_only.binding,
            "per_host_overcommitted": overcommitted.count,
            "binding_overcommitted": overcommitted.binding,
            "hosts_for_fleet_reserved": math.ceil(FLEET / reserved) if reserved else None,
            "hosts_for_fleet_cpu_overcommitted": (math.ceil(FLEET / cpu_only.count)
                                                  if cpu_only.count else None),
            "hosts_for_fleet_overcommitted": (math.ceil(FLEET / overcommitted.count)
                                              if overcommitted.count else None),
            "start_p50_s": float(np.percentile(ready, 50)),
            "start_all_s": float(ready.max()),
            "start_dominant": dominant(breakdown),
            "start_dominant_s": breakdown.get(dominant(breakdown), 0.0),
        })
    return rows


USE_CASE_WORKLOADS: tuple[str, ...] = ("web-proxy", "kv-cache", "cxx-build")
"""A microservice, a cache and a CI build: the 'many instances of one app' workloads."""
USE_CASE_STACKS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "native": ("native", "native", ("native",)),
    "container": ("container", "container (runc)", ("docker-nat", "runc", "native")),
    "gvisor": ("gvisor", "gVisor (systrap)", ("docker-nat", "runsc-systrap", "native")),
    "kata": ("kata", "Kata (Cloud Hypervisor)", ("docker-nat", "cloud-hypervisor", "native")),
    "microvm": ("microvm", "Firecracker", ("firecracker", "native")),
    "vm": ("vm", "VM (KVM, untuned)", ("kvm-untuned", "native")),
}
"""Stack -> (technology, tick label, layer costs top first) for the use-case workloads."""


def _use_case_costs(catalog: virtsim.Catalog) -> list[Record]:
    host = catalog.require(HostProfile, "felter-server")
    rows = breakdown_rows(catalog, host, USE_CASE_WORKLOADS,
                          {k: layers for k, (_, _, layers) in USE_CASE_STACKS.items()})
    for row in rows:
        row["technology"] = USE_CASE_STACKS[str(row["stack"])][0]
    return rows


def run(size: Size, seed: int) -> Tables:
    """The OS mix on two hosts, N replicas of one app per technology, use-case workloads."""
    catalog = virtsim.load_catalog()
    return {"os_mix": _os_mix(catalog, seed), "replicas": _replicas(catalog, size, seed),
            "use_case_costs": _use_case_costs(catalog)}


# -- findings --------------------------------------------------------------

def _num(row: Record, key: str) -> float:
    value = row.get(key)
    return float(value) if value is not None else float("nan")


def _replica(tables: Mapping[str, list[Record]], technology: str) -> Record:
    return next(r for r in tables["replicas"] if r["technology"] == technology)


def findings(tables: Tables) -> Finding:
    """Three statements: another OS needs a VM; many replicas take fewer hosts and less time."""
    statements = (other_os_needs_vm(tables), containers_denser(tables),
                  containers_start_sooner(tables))
    numbers = [f"{r['host_os']} host, {r['workload_os']} {r['how']}: "
               + ("runs" if r["started"] else f"refused ({r['outcome']})")
               for r in tables["os_mix"]]
    numbers += [f"{label(str(r['technology']))}: {r['per_host_reserved']} per host reserved "
                f"({r['binding_reserved']}), {r['per_host_overcommitted']:,} overcommitted "
                f"({r['binding_overcommitted']}); "
                f"{r['hosts_for_fleet_reserved']} hosts for {FLEET:,}; {r['replicas']} start "
                f"in {_num(r, 'start_all_s'):.2f} s"
                for r in tables["replicas"]]
    numbers += _use_case_numbers(tables.get("use_case_costs", []))
    return Finding(CLAIM, statements, key_numbers=tuple(numbers))


def _use_case_numbers(rows: list[Record]) -> list[str]:
    """Per use-case workload: throughput against native per technology, and what costs most."""
    numbers = []
    for workload in dict.fromkeys(str(r["workload"]) for r in rows):
        parts = []
        for stack, (_, tick, _) in USE_CASE_STACKS.items():
            mine = [r for r in rows if r["workload"] == workload and r["stack"] == stack]
            if stack == "native" or not mine:
                continue
            extra = {str(r["category"]): float(r["share_of_native"]) for r in mine}  # type: ignore[arg-type]
            native = {str(r["category"]): float(r["share_of_native"]) for r in rows  # type: ignore[arg-type]
                      if r["workload"] == workload and r["stack"] == "native"}
            dearest = max(extra, key=lambda c: extra[c] - native.get(c, 0.0))
            parts.append(f"{tick} {float(mine[0]['relative_throughput']):.2f}"  # type: ignore[arg-type]
                         f" (most added: {dearest})")
        numbers.append(f"{workload}: throughput vs native " + ", ".join(parts))
    return numbers


def other_os_needs_vm(tables: Mapping[str, list[Record]]) -> Statement:
    """"Applications that require different operating systems": per foreign OS and host.

    Holds when a VM of that OS runs on the host and a container of it on the
    host's kernel is refused.
    """
    cases = {}
    for host in sorted({str(r["host_os"]) for r in tables["os_mix"]}):
        for guest in sorted({str(r["workload_os"]) for r in tables["os_mix"]} - {host}):
            rows = {str(r["how"]): r for r in tables["os_mix"]
                    if r["host_os"] == host and r["workload_os"] == guest}
            vm = rows.get("VM")
            shared = rows.get("container on the host kernel")
            if vm is None or shared is None:
                continue
            cases[f"{guest} on a {host} host (VM {'runs' if vm['started'] else 'fails'}, "
                  f"container on the host kernel "
                  f"{'runs' if shared['started'] else 'refused'})"] = (
                bool(vm["started"]) and not shared["started"])
    return over_cases("Running another operating system needs a VM", cases)


def containers_denser(tables: Mapping[str, list[Record]]) -> Statement:
    """"Running multiple instances of an application": hosts for the fleet, VM over container.

    Judged both ways of sizing a VM: its vCPU reserved, and vCPUs
    overcommitted to the application's real CPU demand.
    """
    vm, container = _replica(tables, "vm"), _replica(tables, "container")
    cases = {}
    for how, key in (("CPU reserved", "hosts_for_fleet_reserved"),
                     ("vCPUs overcommitted", "hosts_for_fleet_overcommitted")):
        ratio = _num(vm, key) / _num(container, key)
        cases[f"{how} (VMs {int(_num(vm, key))} hosts, containers "
              f"{int(_num(container, key))}: {ratio:.1f}x)"] = ratio >= CLEAR_MARGIN
    micro = _replica(tables, "microvm") if any(
        r["technology"] == "microvm" for r in tables["replicas"]) else None
    aside = (f"Aside: microVMs need {int(_num(micro, 'hosts_for_fleet_reserved'))} hosts "
             "with CPU reserved." if micro is not None else "")
    return over_cases("Many replicas need fewer hosts as containers than as VMs", cases,
                      f"(Fewer: at most 1/{CLEAR_MARGIN:.0f} of the hosts, for {FLEET:,} "
                      f"replicas.) {aside}")


def containers_start_sooner(tables: Mapping[str, list[Record]]) -> Statement:
    """Many replicas at once: time until all are ready, VMs over containers."""
    vm, container = _replica(tables, "vm"), _replica(tables, "container")
    ratio = _num(vm, "start_all_s") / _num(container, "start_all_s")
    micro = [r for r in tables["replicas"] if r["technology"] == "microvm"]
    aside = (f" Aside: as many microVMs are all ready in {_num(micro[0], 'start_all_s'):.2f} s."
             if micro else "")
    return graded("Many replicas start sooner as containers than as VMs", ratio, CLEAR_MARGIN,
                  1.0, f"{int(_num(container, 'replicas'))} replicas started at once on one "
                  f"host are all ready in {_num(vm, 'start_all_s'):.1f} s as VMs and "
                  f"{_num(container, 'start_all_s'):.1f} s as containers: {ratio:.1f}x "
                  f"(sooner means at least {CLEAR_MARGIN:.0f}x).{aside}")


# -- figures ---------------------------------------------------------------

def draw_os_matrix(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Which OS runs how on which host: a grid of runs / refused."""
    rows = list(tables["os_mix"])
    hows = ["VM", "container on the host kernel", "container in a VM"]
    cols = [(h, os) for h in HOSTS for os in GUESTS]
    fig, ax = slide_figure("Several operating systems on one host",
                           "host kernel / workload OS", "how it is run", size=(13.0, 6.5))
    ax.grid(False)
    for x, (host_os, os) in enumerate(cols):
        for y, how in enumerate(hows):
            match = [r for r in rows if (r["host_os"], r["workload_os"], r["how"])
                     == (host_os, os, how)]
            if not match:
                ax.text(x, y, "not tried", ha="center", va="center", fontsize=10,
                        color="#555555")
                continue
            row = match[0]
            started = bool(row["started"])
            tech = "vm" if how != "container on the host kernel" else "container"
            ax.scatter(x, y, s=2600, marker="s", color=colour(tech) if started else "white",
                       edgecolors="black", linewidths=1.2)
            text = f"runs\n{_num(row, 'ready_s'):.1f} s" if started else "refused"
            ax.text(x, y, text, ha="center", va="center", fontsize=11,
                    color=text_colour(colour(tech)) if started else "black", fontweight="bold")
    ax.set_xticks(range(len(cols)), [f"{h} host\n{os} workload" for h, os in cols])
    ax.set_yticks(range(len(hows)), [h.replace(" on the", "\non the") for h in hows])
    ax.set_xlim(-0.6, len(cols) - 0.4)
    ax.set_ylim(len(hows) - 0.4, -0.6)
    ax.legend(handles=[Patch(facecolor=colour("vm"), edgecolor="black", label=label("vm")),
                       Patch(facecolor=colour("container"), edgecolor="black",
                             label="container"),
                       Patch(facecolor="white", edgecolor="black",
                             label="refused: image OS differs from the kernel's")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def draw_fleet(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Hosts needed for the fleet (reserved and overcommitted) per technology."""
    fig, ax = slide_figure(f"Hosts needed for {FLEET:,} replicas of one web service",
                           "technology", "hosts (m5d.metal)", size=(12.0, 6.5))
    rows = list(tables["replicas"])
    width = 0.27
    for i, row in enumerate(rows):
        tech = str(row["technology"])
        for offset, key, hatch in ((-width, "reserved", ""),
                                   (0.0, "cpu_overcommitted", ".."),
                                   (width, "overcommitted", "//")):
            hosts = _num(row, f"hosts_for_fleet_{key}")
            ax.bar(i + offset, hosts, width, color=colour(tech), edgecolor="black",
                   hatch=hatch, alpha=0.6 if hatch else 1.0)
            ax.text(i + offset, hosts + 0.3, f"{hosts:.0f}\n({row[f'binding_{key}']})",
                    ha="center", va="bottom", fontsize=11)
    ax.set_xticks(range(len(rows)), [label(str(r["technology"])) for r in rows])
    ax.set_ylim(0, max(_num(r, "hosts_for_fleet_reserved") for r in rows) * 1.3 + 1)
    ax.legend(handles=[Patch(facecolor="white", edgecolor="black",
                             label="CPU reserved (whole vCPUs; container limit = demand)"),
                       Patch(facecolor="white", edgecolor="black", hatch="..",
                             label="vCPUs overcommitted to the real CPU demand; memory by "
                                   "commitment"),
                       Patch(facecolor="white", edgecolor="black", hatch="//",
                             label="and memory overcommitted: by pages touched")],
              loc="upper right", fontsize=10)
    return fig


def draw_replica_start(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Time until N replicas started at once are all ready, per technology."""
    rows = list(tables["replicas"])
    count = int(_num(rows[0], "replicas")) if rows else 0
    fig, ax = slide_figure(f"Starting {count} replicas at once on one host", "technology",
                           "seconds (log scale)", size=(12.0, 6.5))
    width = 0.38
    for i, row in enumerate(rows):
        tech = str(row["technology"])
        for offset, key, hatch in ((-width / 2, "start_p50_s", ""),
                                   (width / 2, "start_all_s", "//")):
            value = _num(row, key)
            ax.bar(i + offset, value, width, color=colour(tech), edgecolor="black",
                   hatch=hatch, alpha=0.6 if hatch else 1.0)
            ax.text(i + offset, value * 1.1, f"{value:.2f} s", ha="center", fontsize=11)
        ax.text(i, _num(row, "start_all_s") * 2.2,
                f"most time: {row.get('start_dominant', '')}", ha="center", fontsize=9)
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)), [label(str(r["technology"])) for r in rows])
    ax.legend(handles=[Patch(facecolor="white", edgecolor="black", label="median replica ready"),
                       Patch(facecolor="white", edgecolor="black", hatch="//",
                             label="all replicas ready")], loc="upper right")
    return fig


def figures() -> list[Figure]:
    """The OS matrix, hosts for the fleet, and replica start time."""
    return [
        Figure("c06-os-matrix",
               "Linux and Windows workloads on a Linux (KVM) and a Windows Server (Hyper-V) "
               "host. As VMs every OS runs on either host, because each VM brings its own "
               "kernel. As containers only the host kernel's own OS runs: the engine refuses "
               "an image of the other OS. Running it anyway needs a VM of that OS "
               "(the Docker Desktop way), at the VM's cost.",
               draw_os_matrix),
        Figure("c06-hosts-for-fleet",
               f"Hosts needed for {FLEET:,} replicas of one small web service. A VM reserves "
               "at least one whole vCPU and a GiB-scale guest per replica; a container's CPU "
               "limit can be the service's actual demand and it adds only its process to a "
               "shared kernel. Overcommitting vCPUs down to what the service really uses "
               "(dotted), a VM's committed RAM binds it; overcommitting memory too "
               "(hatched), what each guest really touched binds, and the application's own "
               "CPU demand binds the lighter technologies alike: the container advantage is "
               "that its reservation matches demand without overcommitment. The files "
               "replicas read at start sit in the host's page cache once per layer, "
               "reclaimable, so they bind no density.",
               draw_fleet),
        Figure("c06-replica-start",
               "Starting the replicas at once on one host: VMs boot a guest each; containers "
               "only create processes on a running kernel, through the engine's API path and "
               "the kernel's serialised namespace, link and firewall updates; microVMs sit in "
               "between. The label names where most of a replica's start went.",
               draw_replica_start),
        Figure("c06-use-case-costs",
               "The use cases' own workloads (a proxying microservice, a cache, a CI build) "
               "per technology: time per request or job relative to native, split by "
               "mechanism, with throughput relative to native above each bar. Containers "
               "pay NAT on round trips; gVisor pays host CPU per system call and a gofer "
               "round trip per file opened, which a build does hundreds of times per file; "
               "VMs pay on round trips and, untuned, on CPU; Firecracker's network thread "
               "adds latency per request.",
               draw_use_case_costs),
    ]


def draw_use_case_costs(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Stacked bars per use-case workload: each technology's time per request by mechanism."""
    return mechanism_figure(tables["use_case_costs"],
                            {k: tick for k, (_, tick, _) in USE_CASE_STACKS.items()},
                            "The use cases' workloads: which mechanism costs what")


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
