"""C2: VM images and memory footprints are GB-scale; container images are MB-scale.

Scenario (built in code): one host, N identical instances at rest (no
workload), for N swept from 1 upwards, as
- Ubuntu 24.04 VMs on KVM/QEMU with full clones, with linked clones, and with
  linked clones plus KSM page merging and a memory balloon (the VM's ways of
  sharing);
- Windows Server 2022 Core VMs (full clones);
- Firecracker microVMs with a minimal root filesystem;
- runc containers from a full Debian image, from Alpine and from a ``FROM
  scratch`` static binary (image layers stored once by digest, one shared
  host kernel);
- Windows Server Core containers on a Windows Server host (process isolation).

For each point the footprint model gives resident memory and disk of the
whole host, what each instance adds and what is paid once; "without sharing"
is N times the footprint of one instance alone on a host. The density table
names how many instances fit one host and which resource runs out first.

Statements and their rules, each judged case by case (supported when it
holds for every case, partly when for some, contradicted when for none):
"a VM image is gigabytes" (each general-purpose VM's disk image file at
least 1 GiB), "a VM needs gigabytes of memory" (resident memory each VM adds,
per way of sharing), "a container adds megabytes of memory" and "a container
image is megabytes" (under 1 GiB each). The Firecracker microVM, a VM built to
be small, is reported beside the VM statements, not judged.

Run on its own: ``python experiments/c02_footprint.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D
from matplotlib.ticker import ScalarFormatter

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
from virtsim.footprint import density as _density
from virtsim.plotting import SLIDE_STYLE, colour, slide_figure
from virtsim.profiles import DiskImageProfile, ImageProfile
from virtsim.reproduce import main_for
from virtsim.result import Record
from virtsim.scenario import host_profile

CLAIM = "C2"
TITLE = "Footprint: VMs are GB-scale, containers MB-scale"

GIB = 1024.0
COUNTS: dict[Size, tuple[int, ...]] = {
    "tiny": (1, 8),
    "quick": (1, 4, 16, 64),
    "full": (1, 2, 4, 8, 16, 32, 64, 128, 256),
}


@dataclass(frozen=True)
class Variant:
    """One way to run N identical instances on a host."""

    name: str
    technology: str  # colour key (virtsim.plotting)
    label: str
    kind: str  # "vm" or "container"
    sharing: str
    marker: str
    host: dict[str, Any]
    group: dict[str, Any]
    artefact: str  # disk image or container image profile


def _vm(name: str, image: str, memory_mib: float, **extra: Any) -> dict[str, Any]:
    return {"name": name, "hypervisor": "kvm", "disk_image": image, "vcpus": 1,
            "memory_mib": memory_mib, **extra}


def _container(name: str, image: str) -> dict[str, Any]:
    return {"name": name, "image": image}


LINUX_HOST: dict[str, Any] = {"profile": "m5d-metal"}
VARIANTS: tuple[Variant, ...] = (
    Variant("vm-full", "vm", "VM Ubuntu, full clones", "vm", "none", "o", LINUX_HOST,
            _vm("vm", "ubuntu-24.04-cloud", 1024), "ubuntu-24.04-cloud"),
    Variant("vm-linked", "vm", "VM Ubuntu, linked clones", "vm", "backing file", "s", LINUX_HOST,
            _vm("vm", "ubuntu-24.04-cloud", 1024, clone="linked"), "ubuntu-24.04-cloud"),
    Variant("vm-ksm-balloon", "vm", "VM Ubuntu, linked + KSM + balloon", "vm",
            "backing file, KSM, balloon", "^", {**LINUX_HOST, "ksm": True},
            _vm("vm", "ubuntu-24.04-cloud", 1024, clone="linked", balloon=True),
            "ubuntu-24.04-cloud"),
    Variant("vm-windows", "vm", "VM Windows Server Core", "vm", "none", "D", LINUX_HOST,
            _vm("vm", "windows-server-2022-core", 2048), "windows-server-2022-core"),
    Variant("microvm", "microvm", "microVM (Firecracker)", "vm", "none", "v", LINUX_HOST,
            _vm("vm", "firecracker-rootfs", 128, vmm="firecracker"), "firecracker-rootfs"),
    Variant("container-debian", "distro", "container, debian image", "container",
            "layers by digest, host kernel", "o", LINUX_HOST, _container("c", "debian"),
            "debian"),
    Variant("container-alpine", "alpine", "container, alpine image", "container",
            "layers by digest, host kernel", "s", LINUX_HOST, _container("c", "alpine"),
            "alpine"),
    Variant("container-scratch", "scratch", "container, scratch image", "container",
            "layers by digest, host kernel", "^", LINUX_HOST,
            _container("c", "scratch-static"), "scratch-static"),
    Variant("container-servercore", "windows-container", "Windows container, servercore",
            "container", "layers by digest, host kernel", "D",
            {"profile": "windows-server", "platform": "windows-server-containers"},
            _container("c", "servercore"), "servercore"),
)

PUBLISHED: dict[str, tuple[float, str, str]] = {
    "qemu_overhead": (124.9, "Agache et al., Firecracker, NSDI 2020, Section 6: QEMU about "
                      "131 MB per VM", "agache2020:qemu-memory"),
    "firecracker_overhead": (2.86, "Agache et al., Firecracker, NSDI 2020, Section 6: about "
                             "3 MB per microVM", "agache2020:firecracker-memory"),
    "runc_per_container": (3.9, "gVisor Performance Guide, memory usage: runc 4.09 MB per "
                           "empty container", "gvisor-perf:memory-empty-runc"),
    "alpine_image": (7.92, "Docker Hub, alpine:3.22 amd64: about 8.3 MB unpacked",
                     "dockerhub:alpine-3.22-size"),
    "debian_image": (124.0, "GoogleContainerTools/distroless README: debian 124 MiB",
                     "distroless-readme:debian-size"),
    "ubuntu_disk": (583.0, "cloud-images.ubuntu.com: noble server cloud image 583 MiB",
                    "ubuntu-cloud-images:noble-file"),
    "windows_disk": (6267.0, "Windows Server 2022 Core fresh VHD 6.12 GB (public report)",
                     "windows-vhd:server-2022-core"),
    "guest_touched": (330.7, "cloud-hypervisor issue #1729: a 4 GiB Ubuntu focal guest after "
                      "boot maps 242,048 kB + 96,556 kB of guest RAM",
                      "ch-issue1729:guest-touched"),
}
"""Published figures (value in MiB, source, figure id in models/calibration.toml)."""


AT_REST_S = 3600.0
"""How long the instances have run when the footprint is taken: KSM, free page
reporting and the balloon act over time (:mod:`virtsim.residency`)."""
AGES_S: tuple[float, ...] = (0.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0)
"""Ages at which the resident-over-time table takes the footprint."""
AGE_GUESTS = 64
"""VMs on the host in the resident-over-time table."""
SWEEP_OVERCOMMIT = 4.0
"""The sweep's hosts admit up to 4x their memory in commitments, so every point's N
instances start and the footprint shows what they would hold (the density table says
how many fit without overcommit)."""


def scenario(variant: Variant, count: int, seed: int) -> dict[str, Any]:
    """N instances of one variant on one host, an hour after they were started."""
    section = "vms" if variant.kind == "vm" else "containers"
    host = {"name": "host", "memory_overcommit": SWEEP_OVERCOMMIT, **variant.host,
            section: [{**variant.group, "count": count}]}
    if variant.kind == "container":
        host["cached_images"] = [variant.artefact]
    return {"name": f"c02-{variant.name}-{count}", "duration_s": AT_REST_S, "seed": seed,
            "hosts": [host]}


AGE_VARIANTS: tuple[tuple[str, str, dict[str, Any], dict[str, Any]], ...] = (
    ("Ubuntu VMs", "vm", {}, {"disk_image": "ubuntu-24.04-cloud", "memory_mib": 2048}),
    ("Ubuntu VMs + KSM", "vm", {"ksm": True},
     {"disk_image": "ubuntu-24.04-cloud", "memory_mib": 2048}),
    ("Ubuntu VMs + KSM + balloon", "vm", {"ksm": True},
     {"disk_image": "ubuntu-24.04-cloud", "memory_mib": 2048, "balloon": True}),
    ("Windows VMs", "windows-container", {},
     {"disk_image": "windows-server-2022-core", "memory_mib": 2048}),
    ("Windows VMs + KSM", "windows-container", {"ksm": True},
     {"disk_image": "windows-server-2022-core", "memory_mib": 2048}),
    ("Windows VMs + free page reporting", "windows-container", {},
     {"disk_image": "windows-server-2022-core", "memory_mib": 2048,
      "free_page_reporting": True}),
)
"""The resident-over-time table: (label, colour key, host keys, VM group keys)."""


def _resident_over_time(catalog: virtsim.Catalog) -> list[Record]:
    """Host memory of 64 identical VMs at each age: what the sharing mechanisms give back."""
    from virtsim.footprint import footprint
    from virtsim.profiles import ResidencyProfile
    from virtsim.stack import build_graph

    residency = catalog.require(ResidencyProfile, "linux")
    rows: list[Record] = []
    for label, technology, host_keys, group in AGE_VARIANTS:
        data = {"hosts": [{"name": "host", "profile": "m5d-metal", "memory_overcommit": 2.0,
                           **host_keys, "vms": [{"name": "vm", "hypervisor": "kvm",
                                                  "count": AGE_GUESTS, **group}]}]}
        graph = build_graph(virtsim.parse_scenario(data, catalog, "<c02-ages>"), catalog)
        committed = AGE_GUESTS * float(group["memory_mib"])
        for age in AGES_S:
            fp = footprint(graph, age_s=age, residency=residency)
            rows.append({"variant": label, "technology": technology, "age_s": age,
                         "guests": AGE_GUESTS, "committed_mib": committed,
                         "host_memory_mib": round(fp.per_host["host"]["memory_mib"], 3),
                         "guest_resident_mib": round(sum(g["resident_mib"]
                                                         for g in fp.guests.values()), 3)})
    return rows


def _artefact(catalog: virtsim.Catalog, variant: Variant) -> Record:
    if variant.kind == "vm":
        disk = catalog.require(DiskImageProfile, variant.artefact)
        return {"variant": variant.name, "artefact": disk.name, "kind": "VM disk image",
                "file_mib": float(disk.file_mib), "download_mib": float(disk.file_mib),
                "virtual_mib": float(disk.virtual_gib) * GIB}
    image = catalog.require(ImageProfile, variant.artefact)
    unpacked = sum(layer.size_mib for layer in image.layers)
    return {"variant": variant.name, "artefact": image.name, "kind": "container image",
            "file_mib": round(unpacked, 3),
            "download_mib": round(sum(layer.compressed_mib for layer in image.layers), 3),
            "virtual_mib": round(unpacked, 3)}


def _breakdown(variant: Variant, records: list[Record]) -> list[Record]:
    """What one instance alone on a host costs, item by item (layers summed)."""
    items: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for record in records:
        item = str(record["item"])
        item = "image layers" if item.startswith("layer ") else item
        item = "VM disk image" if item.startswith("disk image") else item
        items[item][0] += float(record["memory_mib"])  # type: ignore[arg-type]
        items[item][1] += float(record["disk_mib"])  # type: ignore[arg-type]
    return [{"variant": variant.name, "item": item, "memory_mib": round(mem, 3),
             "disk_mib": round(disk, 3)} for item, (mem, disk) in items.items()]


def run(size: Size, seed: int) -> Tables:
    """Sweep instance counts for every variant; record footprint, sharing and density."""
    catalog = virtsim.load_catalog()
    sweep: list[Record] = []
    density: list[Record] = []
    breakdown: list[Record] = []
    artefacts = [_artefact(catalog, v) for v in VARIANTS]
    specs = {(v.name, count): virtsim.parse_scenario(scenario(v, count, seed), catalog,
                                                     f"<c02-{v.name}>")
             for v in VARIANTS for count in COUNTS[size]}
    results = virtsim.run_keyed({key: virtsim.ScenarioJob(spec, seed)
                                 for key, spec in specs.items()})
    for variant in VARIANTS:
        alone: dict[str, float] = {}
        for count in COUNTS[size]:
            spec = specs[(variant.name, count)]
            result = results[(variant.name, count)]
            capacity = host_profile(spec.hosts[0], catalog)
            host = result.table("host_footprint")[0]
            own = [r for r in result.table("instance_footprint") if r["group"] in ("vm", "c")]
            memory = _num(host, "memory_mib")
            page_cache = _num(host, "page_cache_mib")  # the host's, reclaimable
            guest_cache = sum(_num(r, "memory_mib") for r in result.table("footprint")
                              if r["item"] == "guest page cache (reclaimable)")
            disk = _num(host, "disk_mib")
            per_memory = sum(_num(r, "memory_mib") for r in own) / count
            per_disk = sum(_num(r, "disk_mib") for r in own) / count
            fits = result.table("density")
            committed = _num(fits[0], "committed_mib") if fits else per_memory
            if count == COUNTS[size][0]:
                alone = {"memory": memory / count, "disk": disk / count}
                breakdown += _breakdown(variant, result.table("footprint"))
            sweep.append({
                "variant": variant.name, "technology": variant.technology,
                "sharing": variant.sharing, "count": count,
                "host_memory_mib": round(memory, 3), "host_disk_mib": round(disk, 3),
                "instance_memory_mib": round(per_memory, 3),
                "instance_committed_mib": round(committed, 3),
                "instance_disk_mib": round(per_disk, 3),
                "shared_memory_mib": round(memory - per_memory * count, 3),
                "host_page_cache_mib": round(page_cache, 3),
                "guest_page_cache_mib": round(guest_cache, 3),
                "shared_disk_mib": round(disk - per_disk * count, 3),
                "unshared_memory_mib": round(alone["memory"] * count, 3),
                "unshared_disk_mib": round(alone["disk"] * count, 3),
                "host_capacity_memory_mib": capacity.memory_gib * GIB,
                "host_capacity_disk_mib": capacity.disk_gib * GIB})
            if count == COUNTS[size][-1]:
                for row in result.table("density"):
                    unbound = _density(capacity, _num(row, "memory_mib"), 0.0,
                                       _num(row, "disk_mib"),
                                       memory - page_cache - per_memory * count,
                                       disk - per_disk * count)
                    density.append({"variant": variant.name, "technology": variant.technology,
                                    "count": row["count"], "binding": row["binding"],
                                    "count_committed": row["count_committed"],
                                    "count_resident": row["count_resident"],
                                    "committed_mib": round(_num(row, "committed_mib"), 3),
                                    "count_cpu_overcommitted": unbound.count,
                                    "binding_cpu_overcommitted": unbound.binding,
                                    "memory_mib": round(_num(row, "memory_mib"), 3),
                                    "host_page_cache_mib": round(page_cache, 3),
                                    "vcpus": row["vcpus"],
                                    "disk_mib": round(_num(row, "disk_mib"), 3)})
    return {"sweep": sweep, "density": density, "breakdown": breakdown, "artefacts": artefacts,
            "resident_over_time": _resident_over_time(catalog)}


# -- findings --------------------------------------------------------------

def _first(tables: Mapping[str, list[Record]], variant: str) -> Record:
    """The variant's smallest-count sweep point (per-instance cost alone)."""
    return next(r for r in tables["sweep"] if r["variant"] == variant)


def _num(row: Record, key: str) -> float:
    return float(row[key])  # type: ignore[arg-type]


def _item(tables: Mapping[str, list[Record]], variant: str, item: str, key: str) -> float:
    return sum(_num(r, key) for r in tables["breakdown"]
               if r["variant"] == variant and r["item"] == item)


def _artefact_mib(tables: Mapping[str, list[Record]], variant: str) -> float:
    return next(_num(r, "file_mib") for r in tables["artefacts"] if r["variant"] == variant)


def findings(tables: Tables) -> Finding:
    """Four statements: VM images and memory in GB, container memory and images in MB."""
    statements = (vm_images_gigabytes(tables), vm_memory_gigabytes(tables),
                  container_memory_megabytes(tables), container_images_megabytes(tables))
    numbers = tuple(
        f"{v.label}: {_num(_first(tables, v.name), 'instance_memory_mib'):,.0f} MiB RAM per "
        f"instance, image {_artefact_mib(tables, v.name):,.0f} MiB"
        for v in VARIANTS if any(r["variant"] == v.name for r in tables["sweep"]))
    densities = tuple(f"{r['variant']}: {r['count']:,} per host ({r['binding']}-bound); "
                      f"{r['count_cpu_overcommitted']:,} with CPU overcommitted "
                      f"({r['binding_cpu_overcommitted']}-bound); by memory alone "
                      f"{r.get('count_committed', 0):,} by commitments "
                      f"({_num(r, 'committed_mib'):,.0f} MiB each), "
                      f"{r.get('count_resident', 0):,} by what is resident "
                      f"({_num(r, 'memory_mib'):,.0f} MiB each)"
                      for r in tables["density"])
    return Finding(CLAIM, statements, key_numbers=numbers + densities,
                   comparisons=_comparisons(tables))


def _judged(tables: Mapping[str, list[Record]], kind: str) -> list[Variant]:
    """The variants a statement about ``kind`` is judged on, among those in the tables.

    The microVM is a VM built to be small; the seed's "VM" is a
    general-purpose one, so the microVM is reported beside, not judged.
    """
    present = {str(r["variant"]) for r in tables["sweep"]}
    return [v for v in VARIANTS if v.kind == kind and v.technology != "microvm"
            and v.name in present]


def _microvm_aside(tables: Mapping[str, list[Record]], key: str) -> str:
    if not any(r["variant"] == "microvm" for r in tables["sweep"]):
        return ""
    value = (_num(_first(tables, "microvm"), "instance_memory_mib") if key == "memory"
             else _artefact_mib(tables, "microvm"))
    return f"Aside: a Firecracker microVM needs {value:,.0f} MiB ({key})."


def _mib(value: float) -> str:
    return f"{value / GIB:.1f} GiB" if value >= GIB else f"{value:,.0f} MiB"


def vm_images_gigabytes(tables: Mapping[str, list[Record]]) -> Statement:
    """"They can be much larger (GBs in size)": each VM disk image file, at least 1 GiB."""
    images = {v.artefact: _artefact_mib(tables, v.name) for v in _judged(tables, "vm")}
    return over_cases("A VM image is gigabytes in size",
                      {f"{a} ({_mib(m)})": m >= GIB for a, m in images.items()},
                      _microvm_aside(tables, "image"))


def vm_memory_gigabytes(tables: Mapping[str, list[Record]]) -> Statement:
    """A VM needs GBs: resident memory each VM adds to the host, at least 1 GiB."""
    cases = {f"{v.label} ({_mib(_num(_first(tables, v.name), 'instance_memory_mib'))})":
             _num(_first(tables, v.name), "instance_memory_mib") >= GIB
             for v in _judged(tables, "vm")}
    return over_cases("A VM needs gigabytes of memory", cases, _microvm_aside(tables, "memory"))


def container_memory_megabytes(tables: Mapping[str, list[Record]]) -> Statement:
    """"Containers are lightweight, typically in MBs": memory each one adds, under 1 GiB."""
    cases = {f"{v.label} ({_mib(_num(_first(tables, v.name), 'instance_memory_mib'))})":
             _num(_first(tables, v.name), "instance_memory_mib") < GIB
             for v in _judged(tables, "container")}
    return over_cases("A container adds megabytes of memory", cases)


def container_images_megabytes(tables: Mapping[str, list[Record]]) -> Statement:
    """Container images are MB-scale: each image's unpacked size, under 1 GiB."""
    images = {v.artefact: _artefact_mib(tables, v.name) for v in _judged(tables, "container")}
    return over_cases("A container image is megabytes in size",
                      {f"{a} ({_mib(m)})": m < GIB for a, m in images.items()})


def _comparisons(tables: Mapping[str, list[Record]]) -> tuple[Comparison, ...]:
    def cmp(key: str, measure: str, simulated: float) -> Comparison:
        published, source, figure = PUBLISHED[key]
        return Comparison(measure=measure, published=published, simulated=round(simulated, 2),
                          unit="MiB", source=source, figure=figure)

    return (
        cmp("qemu_overhead", "QEMU VMM memory per 1-vCPU VM",
            _item(tables, "vm-full", "VMM overhead", "memory_mib")),
        cmp("firecracker_overhead", "Firecracker VMM memory per microVM",
            _item(tables, "microvm", "VMM overhead", "memory_mib")),
        cmp("runc_per_container", "runc memory per container",
            _item(tables, "container-alpine", "runtime per container", "memory_mib")),
        cmp("alpine_image", "alpine image on disk",
            _item(tables, "container-alpine", "image layers", "disk_mib")),
        cmp("debian_image", "debian image on disk",
            _item(tables, "container-debian", "image layers", "disk_mib")),
        cmp("ubuntu_disk", "Ubuntu VM disk per full clone",
            _item(tables, "vm-full", "VM disk image", "disk_mib")),
        cmp("windows_disk", "Windows Server Core VM disk per full clone",
            _item(tables, "vm-windows", "VM disk image", "disk_mib")),
        cmp("guest_touched", "Ubuntu guest RAM touched after boot (kernel, user space, "
            "page cache)",
            sum(_item(tables, "vm-full", item, "memory_mib")
                for item in ("guest kernel", "guest user space",
                             "guest page cache (reclaimable)"))),
    )


# -- figures ---------------------------------------------------------------

def _sweep_panel(ax: Axes, rows: list[Record], variant: Variant) -> None:
    """One variant's panel: host memory and disk against instance count, log-log."""
    colour_ = colour(variant.technology)
    xs = [_num(r, "count") for r in rows]
    for key, style, fill in (("memory_mib", "-", colour_), ("disk_mib", "--", "white")):
        shared = [_num(r, f"host_{key}") / GIB for r in rows]
        alone = [_num(r, f"unshared_{key}") / GIB for r in rows]
        ax.plot(xs, shared, ls=style, marker=variant.marker, color=colour_, lw=2.2,
                markerfacecolor=fill, markersize=7)
        if alone[-1] > shared[-1] * 1.05:
            ax.plot(xs, alone, ls=":", color=colour_, lw=1.6)
    ax.set_title(variant.label, fontsize=13, color="black")
    ax.axhline(1.0, color="black", lw=0.8, ls=(0, (4, 4)))
    if rows:
        capacity = _num(rows[0], "host_capacity_memory_mib") / GIB
        ax.axhline(capacity, color="black", lw=1.0, ls="-.")
    ax.grid(True, alpha=0.3)


def draw_footprint(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Small multiples: one panel per variant, host memory and disk against count, one scale."""
    by_variant: dict[str, list[Record]] = defaultdict(list)
    for row in tables["sweep"]:
        by_variant[str(row["variant"])].append(row)
    shown = [v for v in VARIANTS if by_variant.get(v.name)]
    columns = 3
    rows_n = -(-len(shown) // columns)
    with plt.rc_context(cast(Any, SLIDE_STYLE)):
        fig, axes = plt.subplots(rows_n, columns, figsize=(16.0, 4.0 * rows_n + 1.5),
                                 sharex=True, sharey=True, layout="constrained", squeeze=False)
    fig.suptitle("Footprint of N identical instances on one host (one scale for all panels)",
                 fontsize=SLIDE_STYLE["axes.titlesize"])
    for ax, variant in zip(axes.flat, shown, strict=False):
        _sweep_panel(ax, by_variant[variant.name], variant)
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    first = axes.flat[0]
    first.set_xscale("log", base=2)
    first.xaxis.set_major_formatter(ScalarFormatter())
    first.set_yscale("log")
    for ax in axes[:, 0]:
        ax.set_ylabel("GiB (log scale)", fontsize=SLIDE_STYLE["axes.labelsize"])
    for ax in axes[-1, :]:
        ax.set_xlabel("instances on one host", fontsize=SLIDE_STYLE["axes.labelsize"])
    capacity = max(_num(r, "host_capacity_memory_mib") for r in tables["sweep"]) / GIB
    handles = [Line2D([], [], color="black", lw=2.2, marker="o", label="resident memory"),
               Line2D([], [], color="black", lw=2.2, ls="--", marker="o",
                      markerfacecolor="white", label="disk used"),
               Line2D([], [], color="black", lw=1.6, ls=":",
                      label="without sharing (each alone on a host)"),
               Line2D([], [], color="black", lw=0.8, ls=(0, (4, 4)), label="1 GiB"),
               Line2D([], [], color="black", lw=1.0, ls="-.",
                      label=f"one host's memory ({capacity:,.0f} GiB)")]
    fig.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=12)
    return fig


def draw_per_instance(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Per-instance memory and image size for each variant, log scale, with the 1 GiB line."""
    fig, ax = slide_figure("One instance: memory and image, MB or GB?", "instance type",
                           "MiB (log scale)", size=(13.0, 7.0))
    width = 0.4
    names = [v.name for v in VARIANTS]
    for i, variant in enumerate(VARIANTS):
        alone = _first(tables, variant.name)  # one instance alone on its host
        mem = _num(alone, "instance_memory_mib")
        cache = _num(alone, "host_page_cache_mib") + _num(alone, "guest_page_cache_mib")
        held = mem - _num(alone, "guest_page_cache_mib")  # what no kernel can just drop
        img = _artefact_mib(tables, variant.name)
        ax.bar(i - width / 2, held, width, color=colour(variant.technology), edgecolor="black")
        if cache > 0:  # the files it read: page cache, reclaimable, stacked on top
            ax.bar(i - width / 2, cache, width, bottom=held, color="white",
                   edgecolor=colour(variant.technology), hatch="..", lw=1.2)
        ax.bar(i + width / 2, img, width, color=colour(variant.technology), edgecolor="black",
               hatch="//", alpha=0.6)
    ax.set_yscale("log")
    ax.set_ylim(bottom=1.0)  # a container's MiB of RAM stays in view under its page cache
    ax.axhline(GIB, color="black", ls="--", lw=1)
    ax.text(-0.6, GIB * 1.12, "1 GiB", ha="left", fontsize=12)
    ax.set_xlim(-0.7, len(names) - 0.3)
    ax.set_xticks(range(len(names)), [v.label.replace(", ", ",\n") for v in VARIANTS],
                  rotation=30, ha="right", fontsize=10)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(facecolor="white", edgecolor="black", label="RAM per instance"),
                       Patch(facecolor="white", edgecolor="black", hatch="..",
                             label="of which page cache: files read at boot or start "
                                   "(reclaimable)"),
                       Patch(facecolor="white", edgecolor="black", hatch="//",
                             label="image on disk (unpacked / qcow2 file)")],
              loc="upper left", bbox_to_anchor=(0.47, 0.99))
    return fig


def draw_density(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Instances per host and the binding resource: CPU reserved, then by memory alone as
    committed (configured RAM) and as resident (pages touched: memory overcommitted)."""
    fig, ax = slide_figure("How many fit one host, and what runs out first", "instance type",
                           "instances per host (log scale)", size=(14.0, 7.5))
    rows = list(tables["density"])
    labels = {v.name: v for v in VARIANTS}
    width = 0.27
    bars = ((-width, "count", "binding", "", 1.0),
            (0.0, "count_committed", "", "..", 0.75),
            (width, "count_resident", "", "//", 0.5))
    for i, row in enumerate(rows):
        tech = labels[str(row["variant"])].technology
        for offset, key, binding, hatch, alpha in bars:
            count = _num(row, key)
            ax.bar(i + offset, max(count, 0.8), width, color=colour(tech), edgecolor="black",
                   hatch=hatch, alpha=alpha)
            text = f"{int(count):,}" + (f" {row[binding]}" if binding else "")
            ax.text(i + offset, max(count, 1) * 1.15, text, ha="center", va="bottom",
                    rotation=90, fontsize=9)  # upright: three counts side by side never touch
    ax.set_yscale("log")
    ax.set_ylim(0.8, max([_num(r, "count_resident") for r in rows] + [10.0]) * 60)
    ax.set_xticks(range(len(rows)),
                  [labels[str(r["variant"])].label.replace(", ", ",\n") for r in rows],
                  rotation=30, ha="right", fontsize=10)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(facecolor="white", edgecolor="black",
                             label="vCPUs / CPU limits reserved 1:1"),
                       Patch(facecolor="white", edgecolor="black", hatch="..",
                             label="memory alone, by commitment (configured RAM, no overcommit)"),
                       Patch(facecolor="white", edgecolor="black", hatch="//",
                             label="memory alone, by resident pages (memory overcommitted)")],
              loc="upper left", fontsize=10)
    return fig


def draw_resident_over_time(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Host memory of identical VMs against their age: what the sharing mechanisms return."""
    rows = tables.get("resident_over_time", [])
    guests = int(_num(rows[0], "guests")) if rows else 0
    fig, ax = slide_figure(f"{guests} identical 2 GiB VMs: host memory as they age",
                           "minutes since the VMs booted", "host memory, GiB",
                           size=(13.0, 7.0))
    styles = ["-", "--", ":", "-", "--", ":"]
    by_variant: dict[str, list[Record]] = defaultdict(list)
    for row in rows:
        by_variant[str(row["variant"])].append(row)
    for style, (label, series) in zip(styles, by_variant.items(), strict=False):
        ax.plot([_num(r, "age_s") / 60 for r in series],
                [_num(r, "host_memory_mib") / GIB for r in series], ls=style, marker="o",
                lw=2.2, color=colour(str(series[0]["technology"])), label=label)
    if rows:
        committed = _num(rows[0], "committed_mib") / GIB
        ax.axhline(committed, color="black", ls="-.", lw=1)
        ax.text(0, committed * 1.02, f"committed: {committed:,.0f} GiB of guest RAM",
                fontsize=11)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=11, loc="center right")
    return fig


def figures() -> list[Figure]:
    """Footprint against count, per-instance scale, density."""
    return [
        Figure("c02-footprint-vs-count",
               "Host resident memory (left) and disk (right) as identical instances are "
               "added, log-log, an hour after they started. Each VM holds its VMM and the "
               "pages its guest touched (kernel, user space, the files its boot read), not "
               "its configured RAM, except a Windows guest, which zeroes all of it at boot; "
               "containers add only their processes on one shared host kernel, so their "
               "memory line starts at the host's base and rises slowly. KSM and a balloon "
               "pull VMs down further; a microVM's small guest is MB-scale. On disk, full VM "
               "clones copy the whole image per VM, linked clones share one backing file, "
               "and containers store each layer once by digest, so their line is flat. "
               "Dotted: the same instances each alone on a host, i.e. without any sharing.",
               draw_footprint),
        Figure("c02-per-instance-scale",
               "One instance's RAM and its image on disk, against the 1 GiB line: full VMs "
               "sit at or above it, Linux container images far below; a microVM and a "
               "ballooned VM are MB-scale, and a Windows Server Core container image is "
               "GB-scale: size follows what is packed, not the technology. Dotted on top: "
               "the page cache of the files it read, reclaimable: a VM's boot reads into "
               "its guest's cache (a balloon returns it), a container's start reads 6.4% "
               "of its image into the host's, shared by every container of that layer.",
               draw_per_instance),
        Figure("c02-density",
               "Instances that fit one host (the largest sweep point's per-instance costs) "
               "and the resource that binds first. With vCPUs reserved one to one, every VM "
               "kind is CPU-bound at the host's thread count whatever its size; containers "
               "without CPU limits are bound by memory. By memory alone, a VM counts twice: "
               "by what it commits (its configured RAM, dotted: no overcommit) and by what "
               "it holds (the pages it touched, hatched: memory overcommitted). A Linux "
               "guest holds a fraction of its commitment; a Windows guest all of it. The "
               "host's page cache (the files containers read at start, once per layer) is "
               "reclaimable and limits no count.",
               draw_density),
        Figure("c02-resident-over-time",
               "Host memory of 64 identical 2 GiB VMs as they age. A Linux guest holds what "
               "its boot touched; KSM scans 20 MiB/s and merges a page on its second look, "
               "so identical kernels and user spaces fold into one copy only after two "
               "passes over every guest (tens of minutes); a balloon returns the page cache "
               "at once. A Windows guest zeroes all its RAM at boot: it holds its whole "
               "commitment until free page reporting returns the zeroed pages (2 s), or "
               "KSM folds the zero pages.",
               draw_resident_over_time),
    ]


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
