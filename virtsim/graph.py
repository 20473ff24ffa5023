"""The resource graph: a stack of machines, kernels, hypervisors and workloads.

An edge ``u -> v`` means "v runs on u". Every node but a machine has exactly
one host, so the graph is a forest of trees rooted at machines::

    machine ─ kernel ─ hypervisor ─ vmm ─ vm ─ kernel ─ runtime ─ container ─ process
                     └ runtime ─ container ─ process
                     └ process

A bare-metal (type 1) hypervisor sits on the machine and the management OS
kernel (Xen's dom0, Hyper-V's parent partition) runs on it beside the VMs.
Sandboxed runtimes add the layers they really add: gVisor puts a user-space
kernel (the Sentry) between the runtime and each container; Kata and
Hyper-V isolation put a microVM with its own guest kernel there.

Node ids are paths (``node/web-0/kernel``); every node carries ``kind``,
``name``, ``machine`` (the id of its machine) and, where one applies, the
catalogue ``profile`` and the scenario ``spec`` it was built from.
"""

from __future__ import annotations

import gc
import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx

from virtsim.catalog import Catalog
from virtsim.profiles import (
    DiskImageProfile,
    EngineProfile,
    HostProfile,
    HypervisorProfile,
    ImageProfile,
    KernelProfile,
    RuntimeProfile,
    VmmProfile,
    WorkloadProfile,
)
from virtsim.scenario import ContainerSpec, HostSpec, ProcessSpec, Scenario, VmSpec, host_profile

NodeKind = Literal[
    "machine", "kernel", "hypervisor", "vmm", "vm", "runtime", "container", "process"
]
NODE_KINDS: tuple[NodeKind, ...] = (
    "machine", "kernel", "hypervisor", "vmm", "vm", "runtime", "container", "process"
)
INSTANCE_KINDS: frozenset[str] = frozenset({"vm", "container", "process"})
"""Kinds a user asked for by name in a scenario (as opposed to the layers they need)."""


def member_name(name: str, index: int, count: int) -> str:
    """``web`` for a group of one, ``web-3`` for the fourth of several."""
    return name if count == 1 else f"{name}-{index}"


@dataclass
class ResourceGraph:
    """A scenario's stack as a networkx DiGraph with the queries the models need."""

    graph: nx.DiGraph
    copies: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    """Machine -> the machine of its host group whose stack it copies node for node
    (same spec, ids differing only in the machine's name): per-machine work done once
    for the first can be stamped out for the copies."""
    below: dict[str, str] = field(init=False, repr=False, compare=False)
    """Node -> the node it runs on: the queries walk stacks downwards millions of times."""
    data: dict[str, dict[str, Any]] = field(init=False, repr=False, compare=False)
    """Node -> its attribute dict, read without copying (do not mutate)."""

    def __post_init__(self) -> None:
        self.below = {str(v): str(u) for u, v in self.graph.edges}
        self.data = self.graph._node  # networkx's node-attribute store, as its docs name it

    # -- structure ---------------------------------------------------------
    def kind(self, node: str) -> str:
        """The node's kind (machine, kernel, ...)."""
        return str(self.data[node]["kind"])

    def attrs(self, node: str) -> dict[str, Any]:
        """All attributes of a node."""
        return dict(self.graph.nodes[node])

    def host(self, node: str) -> str | None:
        """The node this one runs on (None for a machine)."""
        return self.below.get(node)

    def machine(self, node: str) -> str:
        """The machine at the bottom of the node's stack."""
        return str(self.data[node]["machine"])

    def stack_shape(self, node: str, path: list[str] | None = None) -> tuple[object, ...]:
        """A key equal for nodes whose stacks are alike all the way down.

        Alike: the same spec, and along the path to the machine the same kinds,
        names, roles, profiles and engines (profiles and specs by identity: they
        live for the run), on a machine with the same host kernel. What depends
        only on these (stage lists, compatibility answers) is worked out once
        per shape. ``path`` saves the walk when the caller has it.
        """
        data = self.data
        return (id(data[node].get("spec")),
                id(data[f"{data[node]['machine']}/kernel"]["profile"]),
                *((data[n]["kind"], data[n].get("name"), data[n].get("role"),
                   id(data[n].get("profile")), id(data[n].get("engine")))
                  for n in (path or self.path_to_machine(node))))

    def path_to_machine(self, node: str) -> list[str]:
        """The node, what it runs on, and so on down to its machine."""
        path = [node]
        below = self.below.get(node)
        while below is not None:
            path.append(below)
            below = self.below.get(below)
        return path

    def original(self, node: str) -> str:
        """The node ``node`` copies: the same place in the stack of the machine its
        machine copies (see :attr:`copies`), or ``node`` itself if its machine is no copy."""
        machine = self.data[node]["machine"]
        first = self.copies.get(machine)
        return node if first is None else first + node[len(machine):]

    def in_copy(self, node: str, machine: str) -> str:
        """The id of ``node`` (of a machine that ``machine`` copies) in ``machine``'s stack."""
        return sys.intern(machine + node[len(self.data[node]["machine"]):])

    def ancestors(self, node: str) -> list[str]:
        """Everything the node runs on, nearest first."""
        return self.path_to_machine(node)[1:]

    def descendants(self, node: str) -> set[str]:
        """Everything that runs on the node, directly or not."""
        return set(nx.descendants(self.graph, node))

    def kernel_of(self, node: str) -> str:
        """The kernel whose system calls the node's processes make.

        For a container this is the kernel it shares with its neighbours: the
        host kernel under runc, the Sentry under gVisor, a guest kernel
        inside a VM or a Kata sandbox.
        """
        for below in self.path_to_machine(node):
            if self.data[below]["kind"] == "kernel":
                return below
        raise ValueError(f"{node!r} runs on no kernel")

    def nodes(self, kind: str | None = None) -> Iterator[str]:
        """Node ids, of one kind or all, in build order."""
        for node, data in self.graph.nodes(data=True):
            if kind is None or data["kind"] == kind:
                yield node

    def instances(self) -> Iterator[str]:
        """VMs, containers and processes: the things a scenario asked for."""
        for node, data in self.graph.nodes(data=True):
            if data["kind"] in INSTANCE_KINDS and data.get("instance", True):
                yield node

    def machines(self) -> list[str]:
        """Every machine id."""
        return list(self.nodes("machine"))

    def __len__(self) -> int:
        return int(self.graph.number_of_nodes())


def build_graph(scenario: Scenario, catalog: Catalog) -> ResourceGraph:
    """Expand a validated scenario (counts, nesting, sandboxes) into its resource graph."""
    builder = _Builder(catalog)
    copies: dict[str, str] = {}
    collecting = gc.isenabled()
    gc.disable()  # a graph is millions of long-lived objects: no cycles to find while building
    try:
        for host in scenario.hosts:
            profile = host_profile(host, catalog)
            first = member_name(host.name, 0, host.count)
            mark = len(builder.graph)
            builder.add_host(host, first, profile)
            template = builder.template(mark)
            for i in range(1, host.count):
                copy = member_name(host.name, i, host.count)
                builder.stamp(template, first, copy)
                copies[copy] = first
    finally:
        if collecting:
            gc.enable()
    return ResourceGraph(builder.graph, copies)


Template = list[tuple[str, str | None, dict[str, Any]]]
"""The nodes one machine's stack added, in order: (id, id it runs on, attributes)."""


class _Builder:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.graph = nx.DiGraph()

    def node(self, node: str, below: str | None, kind: NodeKind, name: str, machine: str,
             **attrs: Any) -> str:
        self.graph.add_node(node, kind=kind, name=name, machine=machine, **attrs)
        if below is not None:
            self.graph.add_edge(below, node)
        return node

    def template(self, mark: int) -> Template:
        """The nodes added since the graph had ``mark`` nodes, to stamp out again."""
        data, pred = self.graph.nodes, self.graph.pred
        return [(node, next(iter(pred[node]), None), data[node])
                for node in itertools.islice(self.graph, mark, None)]

    def stamp(self, template: Template, first: str, host: str) -> None:
        """Add machine ``host`` as a copy of machine ``first``'s stack.

        Every machine of a host group is built from the same spec and profiles,
        so only the ids (``first/...`` becomes ``host/...``) and the ``machine``
        attribute differ; copying is much cheaper than building each again.
        """
        cut = len(first)
        # Interned ids: records that name a node (footprint, lifecycle) share its one string.
        ids = {node: sys.intern(host + node[cut:]) for node, _, _ in template}
        self.graph.add_nodes_from(ids.values())  # plain ids: networkx's fast path
        data = self.graph.nodes
        for node, _, attrs in template:
            copy = data[ids[node]]
            copy.update(attrs)
            copy["machine"] = host
        self.graph.add_edges_from((ids[below], ids[node])
                                  for node, below, _ in template if below is not None)

    def add_host(self, spec: HostSpec, host: str, profile: HostProfile) -> None:
        self.node(host, None, "machine", spec.name, host, profile=profile, spec=spec)
        kernel = self.catalog.require(KernelProfile, spec.kernel or profile.kernel)
        hypervisors = {vm.hypervisor: self.catalog.require(HypervisorProfile, vm.hypervisor)
                       for vm in spec.vms}
        bare = [h for h in hypervisors.values() if h.placement == "bare-metal"]
        if bare and not spec.kernel and bare[0].management_kernel:  # dom0, parent partition
            kernel = self.catalog.require(KernelProfile, bare[0].management_kernel)
        if bare:
            hyper_node = self.node(f"{host}/{bare[0].name}", host, "hypervisor", bare[0].name,
                                   host, profile=bare[0])
            kernel_node = self.node(f"{host}/kernel", hyper_node, "kernel", kernel.name, host,
                                    profile=kernel, role="host")
            hyper_nodes = {bare[0].name: hyper_node}
        else:
            kernel_node = self.node(f"{host}/kernel", host, "kernel", kernel.name, host,
                                    profile=kernel, role="host")
            hyper_nodes = {
                name: self.node(f"{host}/{name}", kernel_node, "hypervisor", name, host,
                                profile=h)
                for name, h in hypervisors.items()
            }
        for vm in spec.vms:
            for j in range(vm.count):
                self.add_vm(vm, f"{host}/{member_name(vm.name, j, vm.count)}",
                            hyper_nodes[vm.hypervisor], host)
        self.add_guests(spec.containers, spec.processes, kernel_node, host, host)

    def add_vm(self, spec: VmSpec, vm: str, hyper_node: str, host: str) -> None:
        hyper = self.graph.nodes[hyper_node]["profile"]
        vmm = self.catalog.require(VmmProfile, spec.vmm or hyper.vmms[0])
        image = self.catalog.require(DiskImageProfile, spec.disk_image)
        kernel = self.catalog.require(KernelProfile, spec.kernel or image.kernel)
        vmm_node = self.node(f"{vm}/vmm", hyper_node, "vmm", vmm.name, host, profile=vmm)
        self.node(vm, vmm_node, "vm", spec.name, host, profile=image, spec=spec,
                  vcpus=spec.vcpus, memory_mib=spec.memory_mib)
        kernel_node = self.node(f"{vm}/kernel", vm, "kernel", kernel.name, host, profile=kernel,
                                role="guest")
        if spec.workload:
            self.add_process(spec.workload, f"{vm}/{spec.workload}", kernel_node, host,
                             instance=False)
        self.add_guests(spec.containers, spec.processes, kernel_node, vm, host)

    def add_guests(self, containers: tuple[ContainerSpec, ...], processes: tuple[ProcessSpec, ...],
                   kernel_node: str, owner: str, host: str) -> None:
        runtimes: dict[tuple[str, str], str] = {}
        for spec in containers:
            key = (spec.engine, spec.runtime)
            if key not in runtimes:
                engine = self.catalog.require(EngineProfile, spec.engine)
                runtime = self.catalog.require(RuntimeProfile, spec.runtime)
                runtimes[key] = self.node(f"{owner}/{spec.engine}+{spec.runtime}", kernel_node,
                                          "runtime", runtime.name, host, profile=runtime,
                                          engine=engine)
            for k in range(spec.count):
                self.add_container(spec, f"{owner}/{member_name(spec.name, k, spec.count)}",
                                   runtimes[key], host)
        for process in processes:
            for k in range(process.count):
                name = member_name(process.name, k, process.count)
                self.add_process(process.workload, f"{owner}/{name}", kernel_node, host,
                                 name=process.name, spec=process)

    def add_container(self, spec: ContainerSpec, container: str, runtime_node: str,
                      host: str) -> None:
        runtime: RuntimeProfile = self.graph.nodes[runtime_node]["profile"]
        below = runtime_node
        if runtime.isolation == "user-kernel":
            sentry = self.catalog.require(KernelProfile, runtime.sandbox_kernel)
            below = self.node(f"{container}/sentry", below, "kernel", sentry.name, host,
                              profile=sentry, role="sandbox")
        elif runtime.isolation in ("microvm", "hyperv"):
            below = self.add_sandbox_vm(runtime, container, below, host)
        image = self.catalog.require(ImageProfile, spec.image)
        self.node(container, below, "container", spec.name, host, profile=image, spec=spec)
        if spec.workload:
            self.add_process(spec.workload, f"{container}/{spec.workload}", container, host,
                             instance=False)

    def add_sandbox_vm(self, runtime: RuntimeProfile, container: str, below: str,
                       host: str) -> str:
        vmm = self.catalog.require(VmmProfile, runtime.sandbox_vmm)
        kernel = self.catalog.require(KernelProfile, runtime.sandbox_kernel)
        vmm_node = self.node(f"{container}/sandbox/vmm", below, "vmm", vmm.name, host,
                             profile=vmm, role="sandbox")
        vm_node = self.node(f"{container}/sandbox", vmm_node, "vm", f"{runtime.name}-sandbox",
                            host, role="sandbox", instance=False, vcpus=runtime.sandbox_vcpus,
                            memory_mib=runtime.sandbox_memory_mib)
        return self.node(f"{container}/sandbox/kernel", vm_node, "kernel", kernel.name, host,
                         profile=kernel, role="sandbox")

    def add_process(self, workload: str, node: str, below: str, host: str,
                    name: str | None = None, **attrs: Any) -> None:
        profile = self.catalog.require(WorkloadProfile, workload)
        self.node(node, below, "process", name or workload, host, profile=profile,
                  workload=workload, **attrs)
