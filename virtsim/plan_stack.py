"""Plan stacks: each technology as a scenario, and what one instance of it costs a host.

A plan compares technologies for one workload mix. Each technology is a way
to build a scenario (:func:`stack_scenario`): the mix as KVM/QEMU VMs,
Firecracker microVMs, runc containers, containers inside node VMs, or
sandboxed containers (gVisor's runsc, Kata). The same builder serves the
analytic answer and ``--verify``'s simulation, so both run the same stack.

:func:`probe` builds that scenario with one instance of each group on one
host and reads, through the models' public functions, what every instance
costs: resident memory and disk and what is shared
(:func:`~virtsim.footprint.footprint`), reserved vCPUs or CPU requests,
steady demand (:func:`~virtsim.demand.instance_demand`), its layers and CPU
cap (:func:`~virtsim.performance.place`), its start stages
(:meth:`~virtsim.lifecycle.Lifecycle.stages_of`) and what a host, kernel or
hypervisor fault reaches (:func:`~virtsim.faults.blast_radius`). Packing,
start time and performance of the whole fleet are worked out from these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from virtsim.catalog import Catalog
from virtsim.demand import instance_demand
from virtsim.faults import blast_radius
from virtsim.footprint import Footprint, footprint
from virtsim.graph import ResourceGraph, build_graph
from virtsim.host_mechanisms import committed_mib
from virtsim.lifecycle import Lifecycle
from virtsim.performance import Placement, place
from virtsim.plan_file import PlanFile, Technology, WorkloadMix
from virtsim.profiles import (
    DiskImageProfile,
    EngineProfile,
    ImageProfile,
    KernelProfile,
    Layer,
    Stage,
    WorkloadProfile,
)
from virtsim.scenario import parse_scenario

NODE = "node"
"""The name of the node VM group of ``container-in-vm``."""
FAULTS: tuple[tuple[str, str], ...] = (
    ("host", "machine-failure"), ("kernel", "host-kernel-panic"),
    ("hypervisor", "hypervisor-crash"))
"""The faults a plan's blast radius covers: (what fails, fault kind)."""
_STACKS: dict[str, dict[str, str]] = {
    "vm": {"hypervisor": "kvm", "vmm": "qemu"},
    "microvm": {"hypervisor": "kvm", "vmm": "firecracker", "disk_image": "firecracker-rootfs"},
    "container": {"engine": "docker", "runtime": "runc"},
    "gvisor": {"engine": "docker", "runtime": "runsc"},
    "kata": {"engine": "containerd", "runtime": "kata"},
    "container-in-vm": {"engine": "containerd", "runtime": "runc"},
}
"""The catalogue profiles each technology is built from."""


def is_vm(technology: Technology) -> bool:
    """Whether the technology runs each instance as a VM of its own."""
    return technology in ("vm", "microvm")


def workload_name(group: WorkloadMix) -> str:
    """The workload profile a group runs: the catalogue's, or one at the group's own rate."""
    if group.rate_per_s is None:
        return group.workload
    return f"{group.workload}@{group.rate_per_s:g}"


def plan_catalog(plan: PlanFile, catalog: Catalog) -> Catalog:
    """The catalogue with a workload profile for each group that sets its own rate."""
    workloads = dict(catalog.profiles["workloads"])
    for group in plan.workloads:
        if group.rate_per_s is not None:
            base = catalog.require(WorkloadProfile, group.workload)
            name = workload_name(group)
            workloads[name] = base.model_copy(update={"name": name,
                                                      "arrival_rate_per_s": group.rate_per_s})
    return Catalog({**catalog.profiles, "workloads": workloads}, catalog.files)


def vm_size(group: WorkloadMix, technology: Technology, catalog: Catalog) -> tuple[int, float]:
    """vCPUs and memory (MiB) of a group's VM: its ``vm`` size, else its limits, else its
    requests, else one vCPU and enough for the guest kernel, the image's idle user space
    and the workload (at least the image's minimum), rounded up to 128 MiB."""
    vcpus = group.vm.vcpus or math.ceil(
        (group.limits.cpus or group.requests.cpus or 1.0) - 1e-9)
    memory = group.vm.memory_mib or group.limits.memory_mib or group.requests.memory_mib
    if memory is None:
        image = catalog.require(DiskImageProfile, _disk_image(group, technology))
        kernel = catalog.require(KernelProfile, image.kernel)
        workload = catalog.require(WorkloadProfile, group.workload)
        need = kernel.memory_mib + image.idle_memory_mib + workload.memory_mib
        memory = 128.0 * math.ceil(max(need, image.min_memory_mib) / 128.0)
    return vcpus, float(memory)


def _disk_image(group: WorkloadMix, technology: Technology) -> str:
    return _STACKS[technology].get("disk_image", group.disk_image)


def group_spec(group: WorkloadMix, technology: Technology, count: int,
               catalog: Catalog) -> dict[str, Any]:
    """One workload group as a scenario's VM or container group of ``count`` members."""
    stack = _STACKS[technology]
    workload = workload_name(group)
    if is_vm(technology):
        vcpus, memory = vm_size(group, technology, catalog)
        return {"name": group.name, "count": count, "hypervisor": stack["hypervisor"],
                "vmm": stack["vmm"], "disk_image": _disk_image(group, technology),
                "vcpus": vcpus, "memory_mib": memory, "workload": workload}
    spec: dict[str, Any] = {"name": group.name, "count": count, "image": group.image,
                            "engine": stack["engine"], "runtime": stack["runtime"],
                            "workload": workload}
    if group.limits.cpus is not None:
        spec["cpus"] = group.limits.cpus
    if group.limits.memory_mib is not None:
        spec["memory_mib"] = group.limits.memory_mib
    return spec


def stack_scenario(plan: PlanFile, technology: Technology, host: str,
                   counts: dict[str, int], catalog: Catalog, *, hosts: int = 1,
                   node_vms: int = 1, cached: bool = False,
                   duration_s: float = 60.0) -> dict[str, Any]:
    """The plan's mix as one technology on ``hosts`` machines of profile ``host``.

    Args:
        plan: The plan.
        technology: How every instance runs.
        host: The host profile.
        counts: Instances of each group on each machine (for ``container-in-vm``:
            in each node VM).
        catalog: The plan's catalogue (:func:`plan_catalog`).
        hosts: Machines of that profile.
        node_vms: Node VMs per machine (``container-in-vm`` only).
        cached: Whether the containers' images are already on every machine (a warm start).
        duration_s: Simulated time.
    """
    groups = [group_spec(g, technology, counts[g.name], catalog)
              for g in plan.workloads if counts.get(g.name, 0) > 0]
    machine: dict[str, Any] = {"name": "host", "profile": host, "count": hosts}
    if technology == "container-in-vm":
        node = plan.node_vm
        machine["vms"] = [{"name": NODE, "count": node_vms, "hypervisor": "kvm", "vmm": "qemu",
                           "disk_image": node.disk_image, "vcpus": node.vcpus,
                           "memory_mib": node.memory_mib, "containers": groups}]
    elif is_vm(technology):
        machine["vms"] = groups
    else:
        machine["containers"] = groups
    if cached and not is_vm(technology):
        machine["cached_images"] = sorted({g.image for g in plan.workloads})
    return {"name": f"{plan.name}: {technology} on {host}", "duration_s": duration_s,
            "seed": plan.seed, "hosts": [machine]}


@dataclass(frozen=True)
class StartShape:
    """How one instance starts: stages (owner, stage) in order, and what it pulls.

    Attributes:
        stages: Start stages, the engine's API path first for a container.
        layers: Image layers a cold start fetches (shared by the host's
            containers of the same store).
        engine: The engine that pulls them (None for a VM).
        per_instance_reads: Owners whose reads each instance makes itself (a
            full-clone VM's own disk image); the others are read once per machine.
    """

    stages: tuple[tuple[str, Stage], ...]
    layers: tuple[Layer, ...] = ()
    engine: EngineProfile | None = None
    per_instance_reads: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Member:
    """What one instance of a group costs its host, and how it runs and starts.

    Attributes:
        group: The plan's workload group (None for a node VM).
        memory_mib: Resident memory (footprint), or the memory it reserves if more.
        resident_mib: Resident memory per the footprint model.
        vcpus: vCPUs (a VM) or CPU request (a container) it reserves.
        disk_mib: Disk it adds.
        demand: Steady demand per second (:func:`~virtsim.demand.instance_demand`).
        placement: Its workload's layers and caps (None: no demand).
        start: How it starts.
    """

    group: WorkloadMix | None
    memory_mib: float
    resident_mib: float
    vcpus: float
    disk_mib: float
    demand: tuple[float, ...]
    placement: Placement | None
    start: StartShape


@dataclass(frozen=True)
class Probe:
    """One technology on one host profile, as one instance of each group shows it.

    Attributes:
        technology: The technology.
        host: The host profile's name.
        graph: The probe's resource graph (one machine).
        members: Each group's :class:`Member`, in plan order.
        shared_memory_mib: Memory paid once per machine (kernel, daemons, layers).
        shared_disk_mib: Disk paid once per machine.
        node: For ``container-in-vm``: the node VM as a member (its own memory,
            vCPUs, disk and start), and the memory and disk it keeps for itself
            inside (guest kernel, user space, engine).
        node_base_mib: Memory a node VM keeps for itself inside its allocation.
        reach: Fault -> share of the probe's instances it reaches (None: no such layer).
    """

    technology: Technology
    host: str
    graph: ResourceGraph
    members: tuple[Member, ...]
    shared_memory_mib: float
    shared_disk_mib: float
    node: Member | None
    node_base_mib: float
    reach: dict[str, float | None]


def probe(plan: PlanFile, technology: Technology, host: str, catalog: Catalog) -> Probe:
    """Build one instance of each group as ``technology`` on ``host`` and measure it."""
    counts = {g.name: 1 for g in plan.workloads}
    scenario = parse_scenario(stack_scenario(plan, technology, host, counts, catalog), catalog,
                              f"<plan {technology} on {host}>")
    graph = build_graph(scenario, catalog)
    fp = footprint(graph)
    lifecycle = Lifecycle()
    instances = set(graph.instances())
    machine = graph.machines()[0]
    top = [n for n in graph.instances() if graph.host(n) is not None
           and _depth_below_vm(graph, n) == 0]
    node_vm = f"{machine}/{NODE}" if technology == "container-in-vm" else None
    members = []
    for group in plan.workloads:
        node = f"{node_vm or machine}/{group.name}"
        members.append(_member(graph, catalog, fp, lifecycle, instances, group, node,
                               technology))
    shared_memory = fp.per_host[machine]["memory_mib"] - sum(
        fp.per_instance[n]["memory_mib"] for n in top)
    shared_disk = fp.per_host[machine]["disk_mib"] - sum(
        fp.per_instance[n]["disk_mib"] for n in top)
    node_member, node_base = None, 0.0
    if node_vm is not None:
        own = fp.per_instance[node_vm]
        inside = {f"{node_vm}/{g.name}" for g in plan.workloads}
        node_base = sum(r["memory_mib"] for r in fp.records
                        if r["guest"] == node_vm and r["instance"] not in inside)
        node_member = Member(None, own["memory_mib"], own["memory_mib"],
                             float(plan.node_vm.vcpus),
                             own["disk_mib"] - sum(m.disk_mib for m in members),
                             (0.0,) * len(members[0].demand), None,
                             _vm_start(lifecycle, graph, node_vm,
                                       graph.path_to_machine(node_vm)))
    workloads = [f"{node_vm or machine}/{g.name}" for g in plan.workloads]
    reach = {what: _reach(graph, kind, machine, workloads) for what, kind in FAULTS}
    return Probe(technology, host, graph, tuple(members), max(shared_memory, 0.0),
                 max(shared_disk, 0.0), node_member, node_base, reach)


def _depth_below_vm(graph: ResourceGraph, node: str) -> int:
    """How many instances (VMs, containers) the node sits inside."""
    return sum(1 for n in graph.ancestors(node)
               if graph.kind(n) in ("vm", "container") and graph.data[n].get("instance", True))


def _member(graph: ResourceGraph, catalog: Catalog, fp: Footprint, lifecycle: Lifecycle,
            instances: set[str], group: WorkloadMix, node: str,
            technology: Technology) -> Member:
    sizes = fp.per_instance[node]
    resident = sizes["memory_mib"]
    if is_vm(technology):
        vcpus = float(graph.data[node]["vcpus"])
        reserved = committed_mib(graph, node)  # its configured RAM and VMM: what admission asks
    else:
        # a container reserves its requests, or its limits where it requests nothing (as
        # Kubernetes defaults them, and as the run's density table counts a cgroup's cpus)
        vcpus = group.requests.cpus or group.limits.cpus or 0.0
        reserved = group.requests.memory_mib or group.limits.memory_mib or 0.0
        reserved = max(reserved, committed_mib(graph, node))  # a sandbox VM commits its RAM
    process = next((n for n in sorted(graph.descendants(node)) if graph.kind(n) == "process"),
                   None)
    placed = place(graph, catalog, instances, process) if process is not None else None
    placement = placed if isinstance(placed, Placement) else None
    path = graph.path_to_machine(node)
    start = (_vm_start(lifecycle, graph, node, path) if is_vm(technology)
             else _container_start(lifecycle, graph, node, path))
    return Member(group, max(resident, reserved), resident, vcpus, sizes["disk_mib"],
                  tuple(float(d) for d in instance_demand(graph, catalog, node)), placement,
                  start)


def _vm_start(lifecycle: Lifecycle, graph: ResourceGraph, node: str,
              path: list[str]) -> StartShape:
    spec = graph.data[node].get("spec")
    linked = getattr(spec, "clone", "full") == "linked"
    return StartShape(tuple(lifecycle.stages_of(graph, node, path).start),
                      per_instance_reads=frozenset() if linked else frozenset({"disk-image"}))


def _container_start(lifecycle: Lifecycle, graph: ResourceGraph, node: str,
                     path: list[str]) -> StartShape:
    runtime = next(n for n in path[1:] if graph.kind(n) == "runtime")
    engine: EngineProfile = graph.data[runtime]["engine"]
    image: ImageProfile = graph.data[node]["profile"]
    stages = (*lifecycle.api_calls(engine), *lifecycle.stages_of(graph, node, path).start)
    return StartShape(tuple(stages), image.layers, engine)


def _reach(graph: ResourceGraph, kind: str, machine: str, workloads: list[str]) -> float | None:
    """Share of the probe's workload instances a fault of ``kind`` on the machine reaches."""
    try:
        radius = blast_radius(graph, kind, machine)
    except ValueError:  # no layer of that kind on this stack (no hypervisor under containers)
        return None
    return sum(1 for w in workloads if w in radius.reached) / len(workloads)
