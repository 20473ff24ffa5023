"""C12: a base image contains no kernel; a container uses the kernel it runs on.

Scenarios (built in code):

- *kernel map*: the same six base images (alpine, busybox, Debian, Ubuntu,
  Fedora, CentOS 7) run on a Linux host under runc, under gVisor and under
  Kata, and on a Mac under Docker Desktop. The resource graph says which
  kernel node each container's system calls reach (``kernel_of``).
- *density sweep*: 1 to 64 instances of each technology (containers of
  mixed distributions, gVisor, Kata, Docker Desktop, Firecracker microVMs,
  QEMU VMs); the footprint table counts the kernels held in memory.
- *artefacts*: what ships in a container image (layers: user space only)
  against a VM disk image (which names the kernel it boots).

Statements and their rules, each supported when it holds for every case,
partly for some, contradicted for none: "a container's kernel comes from
where it runs, not from its image" (per image: a different kernel in each
place), "a container uses its host's kernel" (per place Docker itself
offers: runc on Linux, Docker Desktop on a Mac), "all containers on a host
share one kernel" (one kernel however many instances). gVisor and Kata,
which the seed does not speak of, and VMs are reported beside.

Run on its own: ``python experiments/c12_no_kernel.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import NullFormatter, ScalarFormatter

import virtsim
from virtsim.compat import release
from virtsim.experiment import (
    Figure,
    Finding,
    Size,
    Statement,
    Tables,
    over_cases,
)
from virtsim.layer_palette import text_colour
from virtsim.plotting import colour, label, marker, slide_figure
from virtsim.profiles import DiskImageProfile, ImageProfile, KernelProfile
from virtsim.reproduce import main_for
from virtsim.result import Record
from virtsim.scenario import DESKTOP_VM

CLAIM = "C12"
TITLE = "No kernel in a base image: every container uses the kernel it runs on"

IMAGES: tuple[str, ...] = ("alpine", "busybox", "debian", "ubuntu", "fedora", "centos-7")
"""Base images of different distributions (and none: busybox)."""

DISK_IMAGES: tuple[str, ...] = ("firecracker-rootfs", "alpine-virt", "ubuntu-24.04-cloud",
                                "windows-server-2022-core")

PLACES: dict[str, str] = {
    "container": "Linux host, runc",
    "gvisor": "Linux host, gVisor (runsc)",
    "kata": "Linux host, Kata",
    "desktop": "Mac, Docker Desktop",
}
"""Where the kernel map runs each image: technology -> column heading."""

SWEEP: tuple[str, ...] = ("container", "desktop", "gvisor", "kata", "microvm", "vm")
COUNTS: dict[Size, tuple[int, ...]] = {"tiny": (1, 3), "quick": (1, 4, 16),
                                       "full": (1, 4, 16, 64)}

KERNEL_ITEMS: frozenset[str] = frozenset({"host kernel", "guest kernel", "sandbox kernel"})
"""Footprint items that are a kernel's own memory (not the user space booted with it)."""


def _container(name: str, image: str, technology: str, count: int = 1) -> dict[str, Any]:
    runtime = {"gvisor": "runsc", "kata": "kata"}.get(technology, "runc")
    engine = "containerd" if technology in ("gvisor", "kata") else "docker"
    return {"name": name, "count": count, "image": image, "runtime": runtime, "engine": engine}


def _host(technology: str, containers: list[dict[str, Any]],
          vms: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if technology == "desktop":
        return {"name": "mac", "profile": "macbook-arm64", "platform": "docker-desktop-mac",
                "cached_images": list(IMAGES), "containers": containers}
    return {"name": f"linux-{technology}", "profile": "m5d-metal",
            "cached_images": list(IMAGES), "containers": containers, "vms": vms or []}


def map_scenario(seed: int) -> dict[str, Any]:
    """Every base image under every way of running it."""
    hosts = [_host(t, [_container(f"app-{i}", image, t) for i, image in enumerate(IMAGES)])
             for t in PLACES]
    return {"name": "c12-kernel-map", "duration_s": 60, "seed": seed, "hosts": hosts}


def sweep_scenario(technology: str, count: int, seed: int) -> dict[str, Any]:
    """``count`` instances of one technology on one host (containers cycle distributions)."""
    vms: list[dict[str, Any]] = []
    containers: list[dict[str, Any]] = []
    if technology == "vm":
        vms = [{"name": "app", "count": count, "hypervisor": "kvm", "vmm": "qemu",
                "disk_image": "ubuntu-24.04-cloud", "memory_mib": 1024}]
    elif technology == "microvm":
        vms = [{"name": "app", "count": count, "hypervisor": "kvm", "vmm": "firecracker",
                "disk_image": "firecracker-rootfs", "memory_mib": 128}]
    else:
        per_image = [count // len(IMAGES) + (1 if i < count % len(IMAGES) else 0)
                     for i in range(len(IMAGES))]
        containers = [_container(f"app-{image}", image, technology, n)
                      for image, n in zip(IMAGES, per_image, strict=True) if n]
    return {"name": f"c12-{technology}-{count}", "duration_s": 60, "seed": seed,
            "hosts": [_host(technology, containers, vms)]}


def instance_kernel(graph: virtsim.ResourceGraph, node: str) -> str:
    """The kernel whose system calls the instance's processes make (a VM's: its guest's)."""
    if graph.kind(node) == "vm":
        return next(k for k in graph.graph.successors(node) if graph.kind(k) == "kernel")
    return graph.kernel_of(node)


def kernel_source(graph: virtsim.ResourceGraph, kernel: str) -> str:
    """Who supplies a kernel: the host OS, a VM's disk image, a platform's VM, or a runtime."""
    role = graph.attrs(kernel).get("role")
    if role == "sandbox":
        return "container runtime"
    vm = graph.host(kernel)
    if role == "guest" and vm is not None:
        return "platform VM" if graph.attrs(vm)["name"] == DESKTOP_VM else "VM disk image"
    return "host OS"


def _app_instances(graph: virtsim.ResourceGraph) -> list[str]:
    return [n for n in graph.instances() if str(graph.attrs(n)["name"]).startswith("app")]


def map_rows(catalog: virtsim.Catalog, seed: int) -> list[Record]:
    """For each image and place: the kernel its container reaches."""
    graph = virtsim.build_graph(virtsim.parse_scenario(map_scenario(seed), catalog), catalog)
    rows: list[Record] = []
    for node in _app_instances(graph):
        kernel = instance_kernel(graph, node)
        profile: KernelProfile = graph.attrs(kernel)["profile"]
        machine = graph.machine(node)
        technology = "desktop" if machine == "mac" else machine.removeprefix("linux-")
        rows.append({"image": graph.attrs(node)["profile"].name, "technology": technology,
                     "place": PLACES[technology], "instance": node, "kernel_node": kernel,
                     "kernel": profile.name, "kernel_family": profile.family,
                     "kernel_version": release(profile.version),
                     "is_host_kernel": kernel == f"{machine}/kernel",
                     "supplied_by": kernel_source(graph, kernel)})
    return rows


def sweep_rows(catalog: virtsim.Catalog, size: Size, seed: int) -> list[Record]:
    """Kernels in memory against instances, per technology."""
    rows: list[Record] = []
    cases = [(technology, count) for technology in SWEEP for count in COUNTS[size]]
    scenarios = [virtsim.parse_scenario(sweep_scenario(technology, count, seed), catalog)
                 for technology, count in cases]
    results = virtsim.run_scenarios([virtsim.ScenarioJob(s, seed) for s in scenarios])
    for (technology, count), scenario, result in zip(cases, scenarios, results, strict=True):
        graph = virtsim.build_graph(scenario, catalog)
        kernels = {instance_kernel(graph, n) for n in _app_instances(graph)}
        memory = sum(float(r["memory_mib"] or 0) for r in result.table("footprint")
                     if r["node"] in kernels and r["item"] in KERNEL_ITEMS)
        rows.append({"technology": technology, "instances": count,
                     "kernels": len(kernels), "kernel_memory_mib": round(memory, 6)})
    return rows


def artefact_rows(catalog: virtsim.Catalog) -> list[Record]:
    """What ships in container images and VM disk images, and the kernel each names."""
    rows: list[Record] = []
    for name in IMAGES:
        image = catalog.require(ImageProfile, name)
        rows.append({"artefact": name, "kind": "container image", "size_mib": image.size_mib,
                     "layers": len(image.layers), "kernel": getattr(image, "kernel", "") or "",
                     "kernel_memory_mib": 0.0})
    for name in DISK_IMAGES:
        disk = catalog.require(DiskImageProfile, name)
        kernel = catalog.require(KernelProfile, disk.kernel)
        rows.append({"artefact": name, "kind": "VM disk image", "size_mib": disk.file_mib,
                     "layers": 1, "kernel": kernel.name,
                     "kernel_memory_mib": kernel.memory_mib})
    return rows


def run(size: Size, seed: int) -> Tables:
    """The kernel map, the density sweep and the artefacts."""
    catalog = virtsim.load_catalog()
    return {"kernel_map": map_rows(catalog, seed), "kernels_vs_instances":
            sweep_rows(catalog, size, seed), "artefacts": artefact_rows(catalog)}


# -- figures -----------------------------------------------------------------

def draw_sweep(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Kernel memory against instances: flat for a shared kernel, linear for one each."""
    fig, ax = slide_figure("Kernel memory against instances on one host",
                           "instances of the technology (log scale)",
                           "memory held by kernels (MiB, log scale)", size=(14.0, 6.5))
    for technology in SWEEP:
        rows = [r for r in tables["kernels_vs_instances"] if r["technology"] == technology]
        ax.plot([int(r["instances"] or 0) for r in rows],
                [float(r["kernel_memory_mib"] or 0) for r in rows], marker=marker(technology),
                markersize=10, lw=2.5, color=colour(technology),
                label=f"{label(technology)}: {rows[-1]['kernels']} kernel(s) at "
                      f"{rows[-1]['instances']}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())
    ax.set_xticks(sorted({int(r["instances"] or 0) for r in tables["kernels_vs_instances"]}))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def draw_map(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Which kernel each image's container reaches, by where it runs."""
    fig, ax = slide_figure("The kernel a container uses comes from where it runs, not its image",
                           "where the container runs", "base image", size=(12.0, 6.5))
    places = list(PLACES)
    for row in tables["kernel_map"]:
        tech = str(row["technology"])
        x, y = places.index(tech), IMAGES.index(str(row["image"]))
        ax.add_patch(Rectangle((x - 0.46, y - 0.42), 0.92, 0.84, zorder=2, color=colour(tech)))
        ax.text(x, y, f"{row['kernel']}\nfrom the {row['supplied_by']}", ha="center",
                va="center", color=text_colour(colour(tech)), fontsize=11, fontweight="bold",
                zorder=3)
    ax.set_xticks(range(len(places)), [PLACES[p] for p in places], fontsize=11.5)
    ax.set_yticks(range(len(IMAGES)), list(IMAGES))
    ax.set_xlim(-0.5, len(places) - 0.5)
    ax.set_ylim(len(IMAGES) - 0.5, -0.5)
    ax.grid(False)
    ax.legend(handles=[Patch(color=colour(t), label=label(t)) for t in places],
              loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=len(places), frameon=False)
    return fig


def draw_artefacts(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Container images against VM disk images, with the kernel each carries."""
    fig, ax = slide_figure("Container images carry no kernel; VM disk images do",
                           "size (MiB, log scale: image unpacked, disk image file)", "")
    rows = list(tables["artefacts"])
    for y, row in enumerate(rows):
        vm = row["kind"] == "VM disk image"
        size = float(row["size_mib"] or 0)
        ax.barh(y, size, color=colour("vm" if vm else "container"), edgecolor="black",
                height=0.7)
        text = f"kernel: {row['kernel']}" if row["kernel"] else "no kernel"
        ax.text(size * 1.1, y, text, va="center", fontsize=12)
    ax.set_yticks(range(len(rows)), [str(r["artefact"]) for r in rows])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(1, max(float(r["size_mib"] or 0) for r in rows) * 80)
    ax.legend(handles=[Patch(color=colour("container"), label="container image"),
                       Patch(color=colour("vm"), label="VM disk image")], loc="upper right")
    return fig


def figures() -> list[Figure]:
    """The kernel map, the sweep and the artefacts."""
    return [
        Figure("c12-kernel-map",
               "Six base images of different distributions, each run four ways. Down a column "
               "the kernel is the same whatever the image; along a row it changes with where "
               "the image runs. The image supplies user space only: the kernel is the host's "
               "(runc), the runtime's (gVisor's Sentry, Kata's guest kernel) or the platform's "
               "(Docker Desktop's Linux VM, never macOS's Darwin).",
               draw_map),
        Figure("c12-kernels-vs-instances",
               "Memory held by kernels as instances are added (the legend gives the kernel "
               "count at the largest density). Containers on runc, of any "
               "distribution, share the one host kernel, as do Docker Desktop's (the VM's); "
               "every VM and microVM boots its own from its disk image, and gVisor and Kata "
               "add one per sandbox, so those lines grow with the count.",
               draw_sweep),
        Figure("c12-artefacts",
               "What each artefact ships. A container image's layers hold a distribution's "
               "user space (libc, shell, package manager) and no kernel; a VM disk image "
               "names and boots its own kernel.",
               draw_artefacts),
    ]


# -- verdict -----------------------------------------------------------------

def findings(tables: Tables) -> Finding:
    """Three statements: the kernel follows the place; it is the host's; one for all."""
    kernel_map = list(tables["kernel_map"])
    sweep = list(tables["kernels_vs_instances"])
    statements = (kernel_follows_place(kernel_map), uses_host_kernel(kernel_map),
                  one_kernel_for_all(sweep))
    most = max(int(r["instances"] or 0) for r in sweep)
    at_most = {str(r["technology"]): r for r in sweep if r["instances"] == most}
    key_numbers = tuple(
        f"{label(t)}: {at_most[t]['kernels']} kernel(s) for {most} instances, "
        f"{float(at_most[t]['kernel_memory_mib'] or 0):.0f} MiB of kernel memory"
        for t in SWEEP if t in at_most)
    return Finding(CLAIM, statements, key_numbers=key_numbers)


DOCKER: tuple[str, ...] = ("container", "desktop")
"""Docker's own ways to run a container (runc on Linux, Docker Desktop elsewhere), judged;
sandboxed runtimes (gVisor, Kata) are reported beside."""


def kernel_follows_place(kernel_map: list[Record]) -> Statement:
    """"A Docker base image does not contain a kernel": so its kernel changes with the place.

    Per image: holds when its containers reach a different kernel in each
    place, which an image carrying its own kernel could not.
    """
    cases = {}
    for image in dict.fromkeys(str(r["image"]) for r in kernel_map):
        kernels = {str(r["place"]): str(r["kernel"]) for r in kernel_map if r["image"] == image}
        distinct = len(set(kernels.values()))
        cases[f"{image} ({distinct} kernels in {len(kernels)} places)"] = distinct == len(kernels)
    return over_cases("A container's kernel comes from where it runs, not from its image",
                      cases)


def uses_host_kernel(kernel_map: list[Record]) -> Statement:
    """"It relies on the host operating system's kernel": per place, Docker's own ways."""
    cases = {}
    for place in dict.fromkeys(str(r["place"]) for r in kernel_map
                               if r["technology"] in DOCKER):
        rows = [r for r in kernel_map if r["place"] == place]
        kernels = sorted({f"{r['kernel']}, supplied by the {r['supplied_by']}" for r in rows})
        cases[f"{place} ({'; '.join(kernels)})"] = all(bool(r["is_host_kernel"]) for r in rows)
    others = sorted({f"{r['place']} ({r['kernel']})" for r in kernel_map
                     if r["technology"] not in DOCKER})
    aside = (f"Aside: sandboxed runtimes supply their own: {'; '.join(others)}." if others
             else "")
    return over_cases("A container uses its host's kernel", cases, aside)


def one_kernel_for_all(sweep: list[Record]) -> Statement:
    """"All containers running on a host use the same kernel instance": kernels against N."""
    most = max(int(r["instances"] or 0) for r in sweep)
    rows = {str(r["technology"]): r for r in sweep if r["instances"] == most}
    cases = {f"{label(t)} ({rows[t]['kernels']} kernel(s) for {most})":
             int(rows[t]["kernels"] or 0) == 1 for t in DOCKER if t in rows}
    others = [f"{label(t)} {rows[t]['kernels']}" for t in SWEEP if t in rows and t not in DOCKER]
    aside = f"Aside: kernels for {most} instances: {'; '.join(others)}." if others else ""
    return over_cases("All containers on a host share one kernel", cases, aside)


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
