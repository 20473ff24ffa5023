"""Layer costs: what each layer between a workload and its machine takes from it.

Each layer on a node's path to its machine maps to a ``layer_costs`` profile
(:func:`layer_cost_names`): a hypervisor tuned or untuned, a VMM with its own
devices (Firecracker), a container runtime, a network mode, gVisor's
platform, an emulator. Their efficiencies (fraction of the capacity beneath,
per demand type) multiply and their added latencies (per network round trip,
per system call) add (:class:`LayerCost`), so a container in a VM pays both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from virtsim.catalog import Catalog
from virtsim.compat import resolve
from virtsim.graph import ResourceGraph
from virtsim.profiles import LayerCostProfile, PlatformProfile, RuntimeProfile
from virtsim.scenario import DESKTOP_VM

DEMANDS: tuple[str, ...] = (
    "cpu", "memory_bw", "random_access", "disk_seq", "disk_random", "net_stream"
)
"""Shared-resource demand types, in the order of every vector here."""

WORKLOAD_FIELDS: dict[str, str] = {
    "cpu": "cpu_core_s",
    "memory_bw": "memory_gb",
    "random_access": "random_access_mupdates",
    "disk_seq": "disk_seq_mib",
    "disk_random": "disk_random_ops",
    "net_stream": "net_stream_mib",
}
"""The workload profile field holding each demand type."""
EXTRA_EFFICIENCIES: dict[str, str] = {
    "cpu_fp": "cpu", "disk_seq_write": "disk_seq", "disk_random_write": "disk_random"}
"""Efficiencies an operation mix also reads, and the demand type each defaults to."""
MECHANISMS: tuple[str, ...] = (
    "syscall_cheap_ns", "syscall_file_ns", "syscall_network_ns", "syscall_mmap_ns",
    "file_open_us", "page_fault_ns", "exec_ms", "packet_ns", "disk_op_cpu_us", "fsync_us",
    "io_thread_us", "io_thread_ns_per_kib", "net_thread_ns_per_kib",
)
"""Per-operation costs of a layer (:class:`~virtsim.profiles.LayerCostProfile`); they add."""
NATIVE = "native"
EMULATOR = "qemu-user"
"""Layer cost of an image run for another architecture through binfmt_misc."""


@dataclass(frozen=True)
class LayerCost:
    """The composed cost of a stack of layers.

    Attributes:
        layers: Names of the ``layer_costs`` profiles composed, top first.
        efficiency: Fraction of native capacity per demand type (product over layers).
        round_trip_us: Latency per network round trip (sum over layers).
        syscall_ns: Latency per system call (sum over layers).
        random_access_mups: The machine's random-update rate (from the ``native`` layer).
        cache_interference_per_neighbour: CPU and memory capacity lost per co-running
            workload (from the ``native`` layer).
        cache_interference_max_neighbours: Neighbours beyond this add no loss.
        base: The ``native`` layer's per-operation costs (:data:`MECHANISMS`): what
            the work costs on bare metal, paid at the stack's CPU speed.
        added: The other layers' per-operation costs, summed: host CPU (and
            latency) the layers add on top.
    """

    layers: tuple[str, ...] = ()
    efficiency: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(DEMANDS, 1.0))
    round_trip_us: float = 0.0
    syscall_ns: float = 0.0
    random_access_mups: float = 0.0
    cache_interference_per_neighbour: float = 0.0
    cache_interference_max_neighbours: int = 0
    base: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(MECHANISMS, 0.0))
    added: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(MECHANISMS, 0.0))

    @classmethod
    def of(cls, profile: LayerCostProfile) -> LayerCost:
        """One layer's cost."""
        efficiency = {d: float(getattr(profile, d)) for d in DEMANDS}
        for extra, default in EXTRA_EFFICIENCIES.items():
            value = getattr(profile, extra)
            efficiency[extra] = efficiency[default] if value is None else float(value)
        own = {m: float(getattr(profile, m)) for m in MECHANISMS}
        none = dict.fromkeys(MECHANISMS, 0.0)
        native = profile.name == NATIVE
        return cls((profile.name,), efficiency,
                   profile.round_trip_us, profile.syscall_ns, profile.random_access_mups,
                   profile.cache_interference_per_neighbour,
                   profile.cache_interference_max_neighbours,
                   own if native else none, none if native else own)

    def __add__(self, other: LayerCost) -> LayerCost:
        """Stack two costs: efficiencies multiply, latencies and per-operation costs add."""
        keys = (*DEMANDS, *EXTRA_EFFICIENCIES)
        return LayerCost(
            self.layers + other.layers,
            {d: self.efficiency.get(d, 1.0) * other.efficiency.get(d, 1.0) for d in keys},
            self.round_trip_us + other.round_trip_us,
            self.syscall_ns + other.syscall_ns,
            max(self.random_access_mups, other.random_access_mups),
            max(self.cache_interference_per_neighbour, other.cache_interference_per_neighbour),
            max(self.cache_interference_max_neighbours, other.cache_interference_max_neighbours),
            {m: self.base[m] + other.base[m] for m in MECHANISMS},
            {m: self.added[m] + other.added[m] for m in MECHANISMS},
        )


def compose(catalog: Catalog, names: Sequence[str]) -> LayerCost:
    """The composed cost of ``layer_costs`` profiles named ``names``."""
    total = LayerCost()
    for name in names:
        total = total + LayerCost.of(catalog.require(LayerCostProfile, name))
    return total


def layer_cost_names(graph: ResourceGraph, node: str, catalog: Catalog) -> list[str]:
    """The ``layer_costs`` profiles of the layers under ``node``, top first.

    A VM costs its VMM's profile if there is one (``firecracker``), else its
    hypervisor's (``kvm-tuned`` when pinned, ``kvm-untuned`` otherwise); a
    container costs its network (``docker-nat``, ``docker-host-net``); a runtime
    its own profile if any, ``runsc-<platform>`` for gVisor's runsc (the container's
    ``gvisor_platform``: ptrace, systrap or KVM), ``runc`` for any
    other namespace runtime; the machine costs ``native``. Kernels, hypervisor and
    VMM nodes and processes cost nothing of their own.

    Raises:
        KeyError: A VM's hypervisor has no layer cost profile.
    """
    known = set(catalog.names(LayerCostProfile.kind))
    names: list[str] = []
    platform = "ptrace"
    for layer in graph.path_to_machine(node):
        kind, attrs = graph.kind(layer), graph.attrs(layer)
        if kind == "machine":
            names.append(NATIVE)
        elif kind == "container":
            platform = getattr(attrs.get("spec"), "gvisor_platform", platform)
            network = getattr(attrs.get("spec"), "network", "nat")
            names.extend({"nat": ["docker-nat"], "host": ["docker-host-net"]}.get(network, []))
            if getattr(attrs.get("spec"), "bind_mount", False):
                names.extend(_file_sharing(graph, layer, catalog))
            if emulator := _emulator(graph, layer):
                names.append(emulator)
        elif kind == "runtime":
            runtime: RuntimeProfile = attrs["profile"]
            if runtime.name in known:
                names.append(runtime.name)
            elif runtime.isolation == "user-kernel":  # gVisor: its platform's trap
                names.append(f"runsc-{platform}")
            elif runtime.isolation == "namespaces":
                names.append("runc")
        elif kind == "vm":
            names.append(_vm_cost_name(graph, layer, attrs, known))
    return names


def _file_sharing(graph: ResourceGraph, container: str, catalog: Catalog) -> list[str]:
    """The file-sharing cost of a bind mount from a desktop platform's host OS into its VM.

    Only a container in the Linux VM a platform built (Docker Desktop) pays
    it; on a native engine a bind mount is a plain directory of the same kernel.
    """
    platform = getattr(graph.attrs(graph.machine(container)).get("spec"), "platform", None)
    vm = next((a for a in graph.ancestors(container) if graph.kind(a) == "vm"), None)
    if platform is None or vm is None or graph.attrs(vm)["name"] != DESKTOP_VM:
        return []
    sharing = catalog.require(PlatformProfile, platform).file_sharing
    return [sharing] if sharing else []


def _emulator(graph: ResourceGraph, container: str) -> str:
    """The ``layer_costs`` profile of the emulator the container's image needs ('' if none).

    QEMU user mode (:data:`EMULATOR`) through binfmt_misc, or Rosetta 2 where
    the kernel offers it: whichever the compatibility resolver chose.
    """
    host_arch = graph.graph.nodes[graph.machine(container)]["profile"].arch
    kernel = graph.graph.nodes[graph.kernel_of(container)]["profile"]
    return resolve(graph.graph.nodes[container]["profile"], kernel, host_arch).emulator


def _vm_cost_name(graph: ResourceGraph, vm: str, attrs: Mapping[str, object],
                  known: set[str]) -> str:
    vmm = graph.host(vm)
    if vmm is not None and graph.attrs(vmm)["name"] in known:
        return str(graph.attrs(vmm)["name"])
    hypervisor = "kvm"
    for below in graph.ancestors(vm):
        if graph.kind(below) == "hypervisor":
            hypervisor = str(graph.attrs(below)["name"])
            break
        if graph.kind(below) == "runtime":  # a Kata / Hyper-V sandbox
            hypervisor = graph.attrs(below)["profile"].sandbox_hypervisor or "kvm"
            break
    pinned = bool(getattr(attrs.get("spec"), "pinned", False))
    for name in (f"{hypervisor}-{'tuned' if pinned else 'untuned'}", hypervisor):
        if name in known:
            return name
    raise KeyError(f"no layer_costs profile for hypervisor {hypervisor!r} (VM {vm!r})")


def path_costs(graph: ResourceGraph, node: str, catalog: Catalog) -> LayerCost:
    """The composed cost of every layer under ``node`` down to its machine."""
    return compose(catalog, layer_cost_names(graph, node, catalog))
