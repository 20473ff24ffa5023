"""Building the stack: a validated scenario expanded into its resource graph.

:func:`build_graph` turns host groups (with their counts), VM and container
groups, nested containers and the layers sandboxed runtimes add into the
nodes and edges of a :class:`~virtsim.graph.ResourceGraph`. The graph itself
knows nothing of scenario files: this module is where the two meet. Machines
of one host group are built once and stamped out for the copies (ids differ
only in the machine's name).
"""

from __future__ import annotations

import gc
import itertools
import sys
from collections.abc import Collection
from typing import Any

import networkx as nx

from virtsim.catalog import Catalog
from virtsim.graph import NodeKind, ResourceGraph, member_name
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


def build_graph(scenario: Scenario, catalog: Catalog,
                machines: Collection[str] | None = None) -> ResourceGraph:
    """Expand a validated scenario (counts, nesting, sandboxes) into its resource graph.

    Args:
        scenario: A validated scenario.
        catalog: The profiles it names.
        machines: Build only these machines (a partition of the run, see
            :mod:`virtsim.partition`), with the names, order and stacks they have in
            the whole scenario; None: every machine.
    """
    builder = _Builder(catalog)
    copies: dict[str, str] = {}
    wanted = None if machines is None else frozenset(machines)
    collecting = gc.isenabled()
    gc.disable()  # a graph is millions of long-lived objects: no cycles to find while building
    try:
        for host in scenario.hosts:
            members = [name for name in group_machines(host)
                       if wanted is None or name in wanted]
            if not members:
                continue
            profile = host_profile(host, catalog)
            first = members[0]  # a partition's first of the group may not be the group's first
            mark = len(builder.graph)
            builder.add_host(host, first, profile)
            template = builder.template(mark)
            for copy in members[1:]:
                builder.stamp(template, first, copy)
                copies[copy] = first
    finally:
        if collecting:
            gc.enable()
    return ResourceGraph(builder.graph, copies)


def group_machines(host: HostSpec) -> list[str]:
    """The machine names of one host group, in order (``rack-b-7``; the name alone for one)."""
    return [member_name(host.name, i, host.count) for i in range(host.count)]


def machine_names(scenario: Scenario) -> list[str]:
    """Every machine of a scenario, in the order :func:`build_graph` builds them."""
    return [name for host in scenario.hosts for name in group_machines(host)]


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
        # Written straight into networkx's stores (a DiGraph's documented ``_node``,
        # ``_succ`` and ``_pred`` dicts): its add_nodes_from and add_edges_from check
        # each id and attribute again, for a stack already checked once.
        graph = self.graph
        nodes, succ, pred = graph._node, graph._succ, graph._pred
        if not nodes.keys().isdisjoint(ids.values()):  # ids clash: networkx merges them
            graph.add_nodes_from((ids[node], {**attrs, "machine": host})
                                 for node, _, attrs in template)
            graph.add_edges_from((ids[below], ids[node])
                                 for node, below, _ in template if below is not None)
            return
        for node, below, attrs in template:
            copy = ids[node]
            nodes[copy] = {**attrs, "machine": host}
            succ[copy] = {}
            pred[copy] = {}
            if below is not None:
                edge: dict[str, Any] = {}
                succ[ids[below]][copy] = edge
                pred[copy][ids[below]] = edge
        nx._clear_cache(graph)

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
