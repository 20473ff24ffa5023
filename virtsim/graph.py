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

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx

from virtsim.profiles import (
    EngineProfile,
    HostProfile,
    KernelProfile,
    RuntimeProfile,
)

NodeKind = Literal[
    "machine", "kernel", "hypervisor", "vmm", "vm", "runtime", "container", "process"
]
NODE_KINDS: tuple[NodeKind, ...] = (
    "machine", "kernel", "hypervisor", "vmm", "vm", "runtime", "container", "process"
)
INSTANCE_KINDS: frozenset[str] = frozenset({"vm", "container", "process"})
"""Kinds a user asked for by name in a scenario (as opposed to the layers they need)."""


MIB_PER_GBIT = 1000**3 / 8 / 2**20
MIB_PER_MB = 1e6 / 2**20


@dataclass(frozen=True)
class HostCapacity:
    """What one machine offers, in the units every model uses (the one definition).

    Attributes:
        hardware_threads: Cores times SMT threads: what vCPUs and placements count against.
        cpu_cores: Physical cores: the CPU capacity that work shares. Assumption: SMT
            siblings share one core's execution units, so a second thread on a core adds
            little throughput (none is modelled).
        memory_mib: RAM.
        memory_bandwidth_gbs: Streamed memory bandwidth, GB/s.
        disk_mib_s: Sequential disk read, MiB/s.
        disk_iops: Random disk reads per second.
        nic_mib_s: Network, MiB/s.
    """

    hardware_threads: int
    cpu_cores: float
    memory_mib: float
    memory_bandwidth_gbs: float
    disk_mib_s: float
    disk_iops: float
    nic_mib_s: float

    @classmethod
    def of(cls, host: HostProfile) -> HostCapacity:
        """The capacity of a machine of profile ``host``."""
        return cls(host.cores * host.threads_per_core, float(host.cores),
                   host.memory_gib * 1024.0, host.memory_bandwidth_gbs,
                   host.disk_read_mbs * MIB_PER_MB, host.disk_read_iops,
                   host.nic_gbps * MIB_PER_GBIT)


@dataclass(frozen=True)
class MachineNode:
    """A machine: its profile, the host group it was built from, and its capacity."""

    id: str
    name: str
    profile: HostProfile
    spec: Any

    @property
    def capacity(self) -> HostCapacity:
        """What it offers (:class:`HostCapacity`)."""
        return HostCapacity.of(self.profile)


@dataclass(frozen=True)
class KernelNode:
    """A kernel: ``role`` is ``host``, ``guest`` or ``sandbox`` (gVisor's Sentry, Kata's)."""

    id: str
    machine: str
    profile: KernelProfile
    role: str


@dataclass(frozen=True)
class RuntimeNode:
    """A container engine and its low-level runtime on one kernel."""

    id: str
    machine: str
    profile: RuntimeProfile
    engine: EngineProfile


@dataclass(frozen=True)
class InstanceNode:
    """A VM, container or process: what a scenario (or a sandbox) asked for.

    ``spec`` is the scenario group it was built from (None for a sandbox VM or a
    workload process inside a VM or container); ``instance`` is False for those
    internal nodes.
    """

    id: str
    kind: str
    name: str
    machine: str
    profile: Any
    spec: Any
    instance: bool

    @property
    def workload(self) -> str | None:
        """The workload profile it runs, if any."""
        return getattr(self.spec, "workload", None)


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
        self.below = {str(v): str(u) for v, on in self.graph.pred.items() for u in on}
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
        if self.data[node]["kind"] == "kernel":
            return node
        kernel = self.nearest_below(node, "kernel")
        if kernel is None:
            raise ValueError(f"{node!r} runs on no kernel")
        return kernel

    def nearest_below(self, node: str, kind: str) -> str | None:
        """The nearest node of ``kind`` that ``node`` runs on (not ``node`` itself)."""
        data, below = self.data, self.below
        at = below.get(node)
        while at is not None:
            if data[at]["kind"] == kind:
                return at
            at = below.get(at)
        return None

    def runtime_of(self, node: str) -> str:
        """The container runtime (engine + low-level runtime) a container runs on."""
        runtime = self.nearest_below(node, "runtime")
        if runtime is None:
            raise ValueError(f"{node!r} runs on no container runtime")
        return runtime

    def enclosing_instance(self, node: str) -> str | None:
        """The VM or container instance ``node`` runs inside, if any (not a sandbox)."""
        data, below = self.data, self.below
        at = below.get(node)
        while at is not None:
            if data[at]["kind"] in ("vm", "container") and data[at].get("instance", True):
                return at
            at = below.get(at)
        return None

    def host_of(self, instance: str) -> str:
        """The machine an instance (or any node) runs on."""
        return str(self.data[instance]["machine"])

    def hardware_threads(self, machine: str) -> int:
        """Cores times SMT threads of a machine."""
        return self.capacity(machine).hardware_threads

    def capacity(self, machine: str) -> HostCapacity:
        """What a machine offers (the one :class:`HostCapacity` definition)."""
        return HostCapacity.of(self.data[machine]["profile"])

    # -- typed views ---------------------------------------------------------
    def machine_node(self, node: str) -> MachineNode:
        """The typed view of a machine."""
        data = self._of_kind(node, "machine")
        return MachineNode(node, str(data["name"]), data["profile"], data.get("spec"))

    def kernel_node(self, node: str) -> KernelNode:
        """The typed view of a kernel."""
        data = self._of_kind(node, "kernel")
        return KernelNode(node, str(data["machine"]), data["profile"], str(data.get("role", "")))

    def runtime_node(self, node: str) -> RuntimeNode:
        """The typed view of a container runtime."""
        data = self._of_kind(node, "runtime")
        return RuntimeNode(node, str(data["machine"]), data["profile"], data["engine"])

    def instance_node(self, node: str) -> InstanceNode:
        """The typed view of a VM, container or process."""
        data = self.data[node]
        if data["kind"] not in INSTANCE_KINDS:
            raise ValueError(f"{node!r} is a {data['kind']}, not a VM, container or process")
        return InstanceNode(node, str(data["kind"]), str(data["name"]), str(data["machine"]),
                            data.get("profile"), data.get("spec"),
                            bool(data.get("instance", True)))

    def _of_kind(self, node: str, kind: str) -> dict[str, Any]:
        data = self.data[node]
        if data["kind"] != kind:
            raise ValueError(f"{node!r} is a {data['kind']}, not a {kind}")
        return data

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
