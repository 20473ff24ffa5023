"""C1: a VM runs a guest OS on a hypervisor; a container is a process group on the host kernel.

Scenario (built in code): one m5d.metal host running the same small web
service six ways: as a native process, in a runc container, in a gVisor
(runsc) sandbox, in a Kata container, in a KVM/QEMU VM with an Ubuntu guest,
and in a Firecracker microVM. The experiment walks the resource graph from
each workload down to the machine and counts the layers in between, the
kernels on the way (the guest's own, a user-space kernel, or only the shared
host kernel) and the resident memory of every layer.

Statements and their rules: "a VM runs its own guest kernel on a hypervisor"
(case by case over the VM and the microVM); "a container shares the host's
kernel" (Docker's default runtime, runc; gVisor and Kata are reported beside,
not judged, since the seed does not speak of them); "a container is much
lighter than a VM" (a 1 GiB Ubuntu VM's own memory at least 10x a runc
container's supports it, more at all partly, else contradicted; the microVM
is reported beside).

Run on its own: ``python experiments/c01_stack.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import FancyBboxPatch, Patch

import virtsim
from virtsim.experiment import (
    Figure,
    Finding,
    Size,
    Statement,
    Tables,
    graded,
    over_cases,
)
from virtsim.layer_palette import LAYER_COLOURS, layer_colour, text_colour
from virtsim.plotting import colour, label, slide_figure
from virtsim.reproduce import main_for
from virtsim.result import Record

CLAIM = "C1"
TITLE = "Stacks: a VM brings its own kernel, a container shares the host's"

WORKLOAD = "web-service"
HOST = "node"
TECHNOLOGIES: tuple[str, ...] = ("native", "container", "gvisor", "kata", "microvm", "vm")
"""Plotting order: from the thinnest stack to the thickest."""

GROUPS: dict[str, str] = {
    "native": "native", "container": "runc", "gvisor": "gvisor", "kata": "kata",
    "microvm": "microvm", "vm": "vm",
}
"""Technology -> the instance group that runs it in the scenario."""



def scenario(seed: int, copies: int = 1) -> dict[str, Any]:
    """One host running the web service as each technology."""
    def container(name: str, runtime: str, engine: str = "docker") -> dict[str, Any]:
        return {"name": name, "count": copies, "image": "alpine", "engine": engine,
                "runtime": runtime, "workload": WORKLOAD}

    return {
        "name": "c01-stack", "duration_s": 60, "seed": seed,
        "hosts": [{
            "name": HOST, "profile": "m5d-metal", "cached_images": ["alpine"],
            "processes": [{"name": "native", "workload": WORKLOAD}],
            "containers": [container("runc", "runc"),
                           container("gvisor", "runsc", "containerd"),
                           container("kata", "kata", "containerd")],
            "vms": [
                {"name": "vm", "count": copies, "hypervisor": "kvm", "vmm": "qemu",
                 "disk_image": "ubuntu-24.04-cloud", "vcpus": 1, "memory_mib": 1024,
                 "workload": WORKLOAD},
                {"name": "microvm", "count": copies, "hypervisor": "kvm", "vmm": "firecracker",
                 "disk_image": "firecracker-rootfs", "vcpus": 1, "memory_mib": 128,
                 "workload": WORKLOAD},
            ],
        }],
    }


def _workload_node(graph: virtsim.ResourceGraph, group: str) -> str:
    """The first workload process of an instance group (the top of its stack)."""
    for node in graph.nodes("process"):
        if graph.attrs(node).get("workload") != WORKLOAD:
            continue
        owners = [n for n in graph.path_to_machine(node)
                  if graph.kind(n) in ("process", "container", "vm")
                  and graph.attrs(n).get("instance", True) and n in set(graph.instances())]
        if owners and graph.attrs(owners[0])["name"] == group:
            return node
    raise LookupError(f"no {WORKLOAD} process in group {group!r}")


def _layer_name(graph: virtsim.ResourceGraph, node: str) -> str:
    """The layer's profile name; a runtime is named with its engine (``docker+runc``)."""
    if graph.kind(node) == "runtime":
        return node.rsplit("/", 1)[-1]
    return str(graph.attrs(node)["name"])


def _layer_role(graph: virtsim.ResourceGraph, node: str) -> str:
    role = graph.attrs(node).get("role")
    return str(role) if role else ""


def run(size: Size, seed: int) -> Tables:
    """Build and run the mixed scenario; describe each technology's path to the machine.

    The stack does not change with size: every size runs the same small scenario.
    """
    catalog = virtsim.load_catalog()
    spec = virtsim.parse_scenario(scenario(seed), catalog, "<c01-stack>")
    graph = virtsim.build_graph(spec, catalog)
    result = virtsim.run_scenario(spec, catalog, seed=seed)
    memory: dict[str, float] = defaultdict(float)  # resident memory the layer's own instance pays
    shared: dict[str, float] = defaultdict(float)  # resident memory paid once for the host
    for record in result.table("footprint"):
        node = str(record["node"])
        target = shared if record["shared"] else memory
        target[node] += float(record["memory_mib"])  # type: ignore[arg-type]
    layers: list[Record] = []
    stacks: list[Record] = []
    for tech in TECHNOLOGIES:
        top = _workload_node(graph, GROUPS[tech])
        path = list(reversed(graph.path_to_machine(top)))  # machine first
        for depth, node in enumerate(path):
            data = graph.attrs(node)
            layers.append({
                "technology": tech, "depth": depth, "node": node, "kind": data["kind"],
                "name": _layer_name(graph, node), "role": _layer_role(graph, node),
                "memory_mib": round(memory[node] + shared[node], 3),
                "shared": shared[node] > 0})
        kernels = [n for n in path if graph.kind(n) == "kernel"]
        nearest = graph.kernel_of(top)
        stacks.append({
            "technology": tech, "workload": top,
            "layers_between": len(path) - 2,
            "kernels": len(kernels),
            "nearest_kernel": str(graph.attrs(nearest)["name"]),
            "nearest_kernel_role": _layer_role(graph, nearest),
            "own_kernel": _layer_role(graph, nearest) != "host",
            "hypervisor_on_path": any(graph.kind(n) in ("hypervisor", "vmm") for n in path),
            "stack_memory_mib": round(sum(memory[n] for n in path), 3),
            "shared_memory_mib": round(sum(shared[n] for n in path), 3),
        })
    return {"layers": layers, "stacks": stacks}


# -- findings --------------------------------------------------------------

def _by_tech(tables: Mapping[str, list[Record]]) -> dict[str, Record]:
    return {str(r["technology"]): r for r in tables["stacks"]}


def findings(tables: Tables) -> Finding:
    """Three statements: VMs own a kernel on a hypervisor, containers share the host's, lighter."""
    stacks = _by_tech(tables)
    statements = (vm_own_kernel(stacks), container_shares_kernel(stacks),
                  container_lighter(stacks))
    numbers = tuple(
        f"{label(t)}: {stacks[t]['layers_between']} layers, {stacks[t]['kernels']} kernel(s), "
        f"nearest kernel {stacks[t]['nearest_kernel']}, "
        f"{float(stacks[t]['stack_memory_mib']):,.0f} MiB own memory"  # type: ignore[arg-type]
        for t in TECHNOLOGIES if t in stacks)
    return Finding(CLAIM, statements, key_numbers=numbers)


VMS: tuple[str, ...] = ("vm", "microvm")
SANDBOXES: tuple[str, ...] = ("gvisor", "kata")
"""Container runtimes the seed does not speak of: reported beside, never judged."""
MUCH_LIGHTER = 10.0
""""Much more lightweight": a VM's own memory at least ten times a container's."""


def vm_own_kernel(stacks: Mapping[str, Record]) -> Statement:
    """"Each VM runs its own full operating system on top of a hypervisor"."""
    cases = {f"{label(t)} (kernel {stacks[t]['nearest_kernel']}"
             f"{', on a hypervisor' if stacks[t]['hypervisor_on_path'] else ', no hypervisor'})":
             bool(stacks[t]["own_kernel"]) and bool(stacks[t]["hypervisor_on_path"])
             for t in VMS if t in stacks}
    return over_cases("A VM runs its own guest kernel on a hypervisor", cases)


def container_shares_kernel(stacks: Mapping[str, Record]) -> Statement:
    """"Containers share the host OS's kernel", for Docker's default runtime (runc)."""
    cases = {f"{label('container')} (nearest kernel {stacks['container']['nearest_kernel']}, "
             f"{stacks['container']['nearest_kernel_role']})":
             stacks["container"]["nearest_kernel_role"] == "host"}
    own = [label(t) for t in SANDBOXES if t in stacks and stacks[t]["own_kernel"]]
    aside = (f"Aside: {' and '.join(own)}, sandboxed runtimes the seed does not mention, put a "
             "kernel of their own between the container and the host." if own else "")
    return over_cases("A container shares the host's kernel", cases, aside)


def container_lighter(stacks: Mapping[str, Record]) -> Statement:
    """"Containers ... are much more lightweight than VMs": own memory, VM over container.

    Judged on the general-purpose VM (an Ubuntu guest with 1 GiB, the
    smallest size cloud images are sized for); the microVM, a VM built to be
    small, is reported beside.
    """
    vm = float(stacks["vm"]["stack_memory_mib"])  # type: ignore[arg-type]
    ct = float(stacks["container"]["stack_memory_mib"])  # type: ignore[arg-type]
    ratio = vm / ct if ct > 0 else float("inf")
    aside = ""
    if "microvm" in stacks:
        micro = float(stacks["microvm"]["stack_memory_mib"])  # type: ignore[arg-type]
        aside = (f" Aside: a Firecracker microVM holds {micro:,.0f} MiB, "
                 f"{micro / ct:.1f}x a container.")
    return graded("A container is much lighter than a VM", ratio, MUCH_LIGHTER, 1.0,
                  f"A VM holds {vm:,.0f} MiB of its own memory against {ct:,.0f} MiB for a "
                  f"runc container: {ratio:.1f}x (much lighter means at least "
                  f"{MUCH_LIGHTER:.0f}x).{aside}")


# -- figures ---------------------------------------------------------------

def draw_layers(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Bars: layers between workload and machine, and kernels on the path, per technology."""
    stacks = _by_tech(tables)
    techs = [t for t in TECHNOLOGIES if t in stacks]
    fig, ax = slide_figure("What lies between a workload and the machine",
                           "technology", "count on the path to the machine", size=(12.0, 6.5))
    xs = range(len(techs))
    width = 0.38
    for i, tech in enumerate(techs):
        row = stacks[tech]
        ax.bar(i - width / 2, float(row["layers_between"]), width,  # type: ignore[arg-type]
               color=colour(tech), edgecolor="black")
        ax.bar(i + width / 2, float(row["kernels"]), width,  # type: ignore[arg-type]
               color=colour(tech), edgecolor="black", hatch="//", alpha=0.6)
        ax.text(i + width / 2, float(row["kernels"]) + 0.1,  # type: ignore[arg-type]
                "own" if row["own_kernel"] else "shared", ha="center", fontsize=11)
    ax.set_xticks(list(xs), [label(t).replace(" (", "\n(") for t in techs], fontsize=11)
    ax.legend(handles=[Patch(facecolor="white", edgecolor="black", label="layers in between"),
                       Patch(facecolor="white", edgecolor="black", hatch="//",
                             label="kernels on the path (nearest: own or shared host)")],
              loc="upper left")
    ax.set_ylim(0, max(float(r["layers_between"]) for r in stacks.values()) + 1.5)  # type: ignore[arg-type]
    return fig


def draw_stacks(tables: Mapping[str, list[Record]]) -> MplFigure:
    """One column of boxes per technology, machine at the bottom, coloured by layer kind."""
    by_tech: dict[str, list[Record]] = defaultdict(list)
    for row in tables["layers"]:
        by_tech[str(row["technology"])].append(row)
    techs = [t for t in TECHNOLOGIES if t in by_tech]
    depth = max(len(rows) for rows in by_tech.values())
    fig, ax = slide_figure("The stacks, drawn from the resource graph", "", "",
                           size=(15.0, 8.5))
    ax.grid(False)
    for i, tech in enumerate(techs):
        for row in sorted(by_tech[tech], key=lambda r: int(r["depth"])):  # type: ignore[arg-type]
            _stack_box(ax, i, row)
        ax.text(i, depth - 0.2, label(tech).replace(" (", "\n("), ha="center", va="bottom",
                fontsize=12, fontweight="bold", color=colour(tech))
    ax.set_xlim(-0.6, len(techs) - 0.4)
    ax.set_ylim(-0.6, depth + 0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    kinds = [k for k in LAYER_COLOURS if any(r["kind"] == k for r in tables["layers"])]
    ax.legend(handles=[Patch(facecolor=LAYER_COLOURS[k], edgecolor="black", label=k)
                       for k in kinds],
              loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=len(kinds), frameon=False)
    return fig


def _stack_box(ax: Any, x: float, row: Record) -> None:
    y = float(row["depth"])  # type: ignore[arg-type]
    kind = str(row["kind"])
    ax.add_patch(FancyBboxPatch((x - 0.44, y - 0.38), 0.88, 0.76,
                                boxstyle="round,pad=0.01,rounding_size=0.06",
                                fc=layer_colour(kind), ec="black", lw=0.8))
    mem = float(row["memory_mib"])  # type: ignore[arg-type]
    notes = [str(row["role"])] if row["role"] else []
    notes += [f"{mem:,.0f} MiB"] if mem else []
    notes += ["shared"] if row["shared"] else []
    text = f"{row['name']}\n{', '.join(notes)}" if notes else str(row["name"])
    size = 9.0 if len(str(row["name"])) < 22 else 8.0
    ax.text(x, y, text, ha="center", va="center", fontsize=size,
            color=text_colour(layer_colour(kind)), fontweight="bold")


def figures() -> list[Figure]:
    """The layers/kernels bar chart and the stack diagram."""
    return [
        Figure("c01-layers-kernels",
               "Layers and kernels between a web service and the machine. A VM or microVM "
               "puts a hypervisor, a VMM and a whole guest kernel under the workload; a runc "
               "container adds only a runtime on the shared host kernel. gVisor and Kata are "
               "containers that nonetheless bring a kernel of their own (user-space or in a "
               "microVM), which is where their extra isolation comes from.",
               draw_layers),
        Figure("c01-stacks",
               "Each column is one workload's path from the machine (bottom) to the process "
               "(top), drawn from the resource graph, with each layer's resident memory. The "
               "host kernel is shared by everything on the machine and counted once; a VM's "
               "guest kernel and guest RAM belong to that VM alone.",
               draw_stacks),
    ]


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
