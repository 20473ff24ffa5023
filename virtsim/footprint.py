"""Memory and disk footprint: what a scenario's stack costs its hosts at rest.

The footprint walks a :class:`~virtsim.graph.ResourceGraph` and turns every
node into flat *attribution records*, one per (host machine, node, item):
"host kernel", "VMM overhead", "guest kernel", "engine daemon", "runtime per
container", "layer sha256:...", and so on. Each record carries resident
memory (MiB) and disk (MiB), whether it is ``shared`` by several instances,
and the ``instance`` (VM, container or process) it belongs to, or ``""`` for
bytes shared at host level. A host's totals are exactly the sum of its
records, so every byte can be traced to the node that costs it.

Rules (assumptions are marked as such):

* **Shared once.** A host kernel and its user space, a hypervisor, an
  engine daemon (once per kernel and engine) and each container image layer
  (once per digest per store) are counted once however many instances use
  them.
* **Guest RAM.** A VM's ``memory_mib`` is *committed*, not resident: guest
  RAM is demand-zero memory and costs the host only the pages the guest has
  touched (:mod:`virtsim.residency`). Those are its working set (guest
  kernel, the disk image's idle user space, engines, containers, processes
  inside: the records inside the guest), its page cache (the files its boot
  stages read; reclaimable) and, for a guest that zeroes its free memory at
  boot (Windows), all the rest. Free page reporting and a balloon give
  memory back over the guest's age (``age_s``). Each VM gets records for its
  page cache ("guest page cache (reclaimable)") and for touched free pages
  ("guest RAM zeroed at boot"), or a negative "guest RAM clamp" when what
  runs inside exceeds the allocation and the guest would swap or OOM. Kata
  sandbox VMs (no spec) follow the same rule, without balloon or reporting.
* **Page cache.** The files a start reads stay in the page cache of the
  kernel that read them, once per kernel however many instances read them:
  a container's start reads ``image_read_at_start`` of each of its image's
  layers (:class:`~virtsim.profiles.ResidencyProfile`), and a workload's
  start reads its files (its start stages' ``read_mib``). On the host these
  are shared records ``page cache: ... (reclaimable)`` with ``reclaimable``
  set: the host kernel drops them before memory runs out, so they are
  reported apart (``page_cache_mib``) and limit no density. Inside a VM they
  join the guest's page cache, which only a balloon returns to the host.
  Without a residency profile no such page cache is counted.
* **KSM.** On a host with ``ksm = true``, identical guest pages are merged
  over time: the guest kernel and disk-image idle memory of top-level VMs
  that share a (kernel, disk image) pair, and zeroed pages. KSM scans at its
  profile's rate and merges a page on its second pass, so after ``age_s`` a
  fraction ``f`` is merged (:func:`~virtsim.residency.ksm_merged_fraction`
  over all the host's guest memory): one shared record holds ``f`` of the
  base once, each VM keeps ``1 - f`` of it. Assumption: only those pages are
  identical across guests (application data is not).
* **Disk.** Image layers are stored unpacked (``size_mib``) once per digest
  per store, where the store is the host, or the VM whose guest disk holds
  them (assumption: writes inside a guest grow its disk file one for one).
  Each container adds its writable layer (``writable_mib``). A VM's disk image
  costs ``file_mib`` per VM for a full clone; a linked clone shares one
  backing file per host and image plus a per-VM overlay of
  the disk image's ``linked_overlay_mib`` (an assumption in the catalogue).
* **Per instance.** An instance's total is the sum of records owned by it or
  by instances running inside it (a VM includes its containers); shared
  records (``instance == ""``) are counted only at host level.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from virtsim.catalog import Catalog
from virtsim.demand import (
    CACHE_COLUMNS,
    MachineCapacity,
    instance_demand,
    machine_capacity,
    native_cost,
)
from virtsim.graph import INSTANCE_KINDS, ResourceGraph
from virtsim.host_mechanisms import committed_mib
from virtsim.profiles import (
    DiskImageProfile,
    EngineProfile,
    HostProfile,
    HypervisorProfile,
    ImageProfile,
    KernelProfile,
    ResidencyProfile,
    RuntimeProfile,
    VmmProfile,
    WorkloadProfile,
)
from virtsim.residency import guest_memory, ksm_merged_fraction
from virtsim.result import Result
from virtsim.simulation import Simulation
from virtsim.templates import Templates

__all__ = ["Density", "Footprint", "FootprintModel", "Record", "density", "footprint",
           "machine_footprint", "nodes_by_machine", "per_machine"]

Record = dict[str, Any]
"""One attribution record: machine, node, kind, item, memory_mib, disk_mib, shared,
instance, guest (the VM whose guest RAM holds the bytes, or "") and reclaimable (host
page cache)."""

Binding = Literal["memory", "cpu", "disk", "cpu-demand", "memory-bandwidth", "random-access",
                  "disk-throughput", "disk-iops", "network"]
"""What limits a density: memory, reserved vCPUs or CPU limits, disk, or a column of the
instances' steady demand (:data:`virtsim.demand.DEMAND_NAMES`)."""


@dataclass
class Footprint:
    """A graph's footprint.

    Attributes:
        records: Flat attribution records (see :data:`Record`).
        per_host: Machine id -> ``{"memory_mib", "page_cache_mib", "disk_mib"}``, the sum
            of its records (``page_cache_mib``: of the memory, the reclaimable ones).
        per_instance: Instance node -> ``{"memory_mib", "disk_mib"}``, its own bytes
            and those of instances inside it, shared bytes excluded.
        guests: VM node -> ``{"allocated_mib", "touched_mib", "resident_mib",
            "page_cache_mib", "reclaimable_mib"}`` (allocated is committed; resident is
            what the host holds for the guest's RAM, shared KSM copies included).
    """

    records: list[Record] = field(default_factory=list)
    per_host: dict[str, dict[str, float]] = field(default_factory=dict)
    per_instance: dict[str, dict[str, float]] = field(default_factory=dict)
    guests: dict[str, dict[str, float]] = field(default_factory=dict)
    _named: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    def named_ids(self) -> tuple[str, ...]:
        """Every node id its records and totals name (worked out once: a template is
        renamed for each copy of its machine)."""
        if self._named is None:
            ids = {r[key] for r in self.records for key in ("machine", "node", "instance",
                                                             "guest")}
            self._named = tuple(sorted((ids | set(self.per_host) | set(self.per_instance)
                                        | set(self.guests)) - {""}))
        return self._named


@dataclass(frozen=True)
class Density:
    """How many instances of one type fit a host, and which resource runs out first.

    Attributes:
        count: Largest number of instances that fits every limit.
        binding: The resource that limits the count (see :data:`Binding`).
    """

    count: int
    binding: Binding


class _Walker:
    """Builds the attribution records of one machine from its stack alone."""

    def __init__(self, graph: ResourceGraph, nodes: Sequence[str], age_s: float,
                 residency: ResidencyProfile | None) -> None:
        self.g = graph
        self.nodes = nodes
        """The machine's nodes, in graph order."""
        self.age_s = age_s
        self.residency = residency
        self._ksm: dict[str, float] = {}
        data = graph.data
        self.instances = dict.fromkeys(n for n in nodes if data[n]["kind"] in INSTANCE_KINDS
                                       and data[n].get("instance", True))
        """The machine's instances, in graph order."""
        self.vms = [n for n in nodes if data[n]["kind"] == "vm"]
        self.records: list[Record] = []
        self.seen: set[tuple[str, ...]] = set()
        self.guests: dict[str, dict[str, float]] = {}
        # Memory of the records inside each VM's guest RAM, summed in record order as
        # they are added (one pass, not a scan of every record per VM).
        self.inside: dict[str, float] = defaultdict(float)
        self.files_read: dict[str, float] = defaultdict(float)
        """VM -> MiB of files that containers and processes inside it read at start
        (in its guest page cache beside what its boot read)."""
        self.count_page_cache = residency is not None
        self.read_fraction = residency.image_read_at_start if residency is not None else 0.0

    # -- helpers -----------------------------------------------------------
    def enclosing_vm(self, node: str) -> str:
        """The nearest VM strictly below the node, or ""."""
        data, below = self.g.data, self.g.below
        while (node := below.get(node, "")) and data[node]["kind"] != "vm":
            pass
        return node

    def store(self, node: str) -> str:
        """Where the node's files live: nearest non-sandbox VM below it, or its machine."""
        for below in self.g.ancestors(node):
            if self.g.kind(below) == "vm" and self.g.data[below].get("role") != "sandbox":
                return below
        return self.g.machine(node)

    def owner(self, node: str) -> str:
        """The instance whose bytes the node's own cost is."""
        attrs = self.g.data[node]
        kind = attrs["kind"]
        if node in self.instances:
            return node
        if attrs.get("role") == "sandbox":
            for above in sorted(self.g.descendants(node), key=lambda n: len(self.g.ancestors(n))):
                if above in self.instances:
                    return above
        if kind == "vmm":
            for vm in self.g.graph.successors(node):
                return self.owner(str(vm))
        for below in self.g.ancestors(node):
            if below in self.instances:
                return below
        return ""

    def ksm(self, machine: str) -> bool:
        spec = self.g.data[machine].get("spec")
        return bool(getattr(spec, "ksm", False))

    def add(self, node: str, item: str, *, memory_mib: float = 0.0, disk_mib: float = 0.0,
            shared: bool = False, instance: str | None = None, guest: str | None = None,
            once: tuple[str, ...] | None = None, reclaimable: bool = False) -> None:
        """Append a record (skipped if zero, or if ``once`` was already seen)."""
        if memory_mib == 0.0 and disk_mib == 0.0:
            return
        if once is not None:
            if once in self.seen:
                return
            self.seen.add(once)
        record: Record = {
            "machine": self.g.machine(node),
            "node": node,
            "kind": self.g.kind(node),
            "item": item,
            "memory_mib": float(memory_mib),
            "disk_mib": float(disk_mib),
            "shared": shared,
            "instance": self.owner(node) if instance is None else instance,
            "guest": self.enclosing_vm(node) if guest is None else guest,
            "reclaimable": reclaimable,
        }
        self.records.append(record)
        self.inside[record["guest"]] += record["memory_mib"]

    def guest_base(self, vm: str) -> tuple[float, str]:
        """Guest kernel plus disk-image idle memory of a VM, and a key for KSM merging."""
        kernel_mib = 0.0
        kernel_name = ""
        for above in self.g.graph.successors(vm):
            if self.g.kind(above) == "kernel":
                profile: KernelProfile = self.g.data[above]["profile"]
                kernel_mib += profile.memory_mib
                kernel_name = profile.name
        image = self.g.data[vm].get("profile")
        idle = image.idle_memory_mib if isinstance(image, DiskImageProfile) else 0.0
        image_name = image.name if isinstance(image, DiskImageProfile) else "sandbox"
        return kernel_mib + idle, f"{kernel_name}|{image_name}"

    def merged(self, vm: str) -> bool:
        """Whether the VM's guest base is KSM-merged (top-level VM on a KSM host)."""
        return self.ksm(self.g.machine(vm)) and self.enclosing_vm(vm) == ""

    def ksm_fraction(self, machine: str) -> float:
        """Share of the mergeable pages KSM has merged on ``machine`` by ``age_s``.

        KSM scans the guest RAM the host's top-level guests have touched: their
        kernel, user space and page cache, or all of it for a guest that zeroes
        its memory at boot.
        """
        fraction = self._ksm.get(machine)
        if fraction is None:
            scanned = sum(self.touched_at_boot(vm) for vm in self.vms if self.merged(vm))
            fraction = self._ksm[machine] = ksm_merged_fraction(scanned, self.age_s,
                                                                self.residency)
        return fraction

    def touched_at_boot(self, vm: str) -> float:
        """MiB of guest RAM a VM has touched once booted (what KSM scans)."""
        allocated = float(self.g.data[vm].get("memory_mib", 0.0))
        image = self.g.data[vm].get("profile")
        if isinstance(image, DiskImageProfile) and image.zeroes_free_memory:
            return allocated
        return min(allocated, self.guest_base(vm)[0] + self.boot_reads(vm))

    def boot_reads(self, vm: str) -> float:
        """MiB of files a VM's boot read into its page cache (its kernel's and image's)."""
        reads = 0.0
        for above in self.g.graph.successors(vm):
            profile = self.g.data[above].get("profile")
            if isinstance(profile, KernelProfile):
                reads += sum(s.read_mib for s in profile.boot)
        image = self.g.data[vm].get("profile")
        if isinstance(image, DiskImageProfile):
            reads += sum(s.read_mib for s in image.boot)
        return reads

    # -- per-node records --------------------------------------------------
    def walk(self) -> None:
        """Records of every node in graph order, then each VM's balancing record
        (deepest first: a VM's record counts what runs inside it)."""
        data = self.g.data
        for node in self.nodes:
            getattr(self, f"_{data[node]['kind']}")(node)
        for vm in sorted(self.vms, key=lambda n: -len(self.g.ancestors(n))):
            self._balance(vm)

    def _machine(self, node: str) -> None:
        return None

    def _hypervisor(self, node: str) -> None:
        profile: HypervisorProfile = self.g.data[node]["profile"]
        self.add(node, "hypervisor", memory_mib=profile.memory_mib, shared=True, instance="")

    def _kernel(self, node: str) -> None:
        attrs = self.g.data[node]
        profile: KernelProfile = attrs["profile"]
        role = attrs.get("role")
        if role == "host":
            self.add(node, "host kernel", memory_mib=profile.memory_mib, shared=True,
                     instance="")
            self.add(node, "host user space", memory_mib=profile.userspace_memory_mib,
                     shared=True, instance="")
            return
        below = self.g.host(node)
        in_vm = below is not None and self.g.kind(below) == "vm"
        item = "guest kernel" if role == "guest" else "sandbox kernel"
        if in_vm and below is not None and self.merged(below):
            _, key = self.guest_base(below)
            f = self.ksm_fraction(self.g.machine(node))
            self.add(node, f"{item} (KSM-merged)", memory_mib=profile.memory_mib * f,
                     shared=True, instance="", guest="",
                     once=("ksm-kernel", self.g.machine(node), key))
            self.add(node, f"{item} (not yet KSM-merged)", memory_mib=profile.memory_mib * (1 - f))
        else:
            self.add(node, item, memory_mib=profile.memory_mib)

    def _vmm(self, node: str) -> None:
        profile: VmmProfile = self.g.data[node]["profile"]
        vcpus = sum(int(self.g.data[str(vm)].get("vcpus", 1))
                    for vm in self.g.graph.successors(node))
        self.add(node, "VMM overhead",
                 memory_mib=profile.memory_mib + profile.memory_per_vcpu_mib * vcpus)

    def _vm(self, node: str) -> None:
        attrs = self.g.data[node]
        image = attrs.get("profile")
        if not isinstance(image, DiskImageProfile):
            return
        if self.merged(node):
            _, key = self.guest_base(node)
            f = self.ksm_fraction(self.g.machine(node))
            self.add(node, "guest user space (KSM-merged)", memory_mib=image.idle_memory_mib * f,
                     shared=True, instance="", guest="",
                     once=("ksm-idle", self.g.machine(node), key))
            self.add(node, "guest user space (not yet KSM-merged)",
                     memory_mib=image.idle_memory_mib * (1 - f), guest=node)
        else:
            self.add(node, "guest user space", memory_mib=image.idle_memory_mib, guest=node)
        store = self.store(node)
        clone = getattr(attrs.get("spec"), "clone", "full")
        if clone == "linked":
            self.add(node, f"disk image {image.name} (linked-clone backing)",
                     disk_mib=image.file_mib, shared=True,
                     instance="" if store == self.g.machine(node) else store,
                     once=("backing", store, image.name))
            self.add(node, "disk image overlay (linked clone)", disk_mib=image.linked_overlay_mib)
        else:
            self.add(node, f"disk image {image.name} (full clone)", disk_mib=image.file_mib)

    def _runtime(self, node: str) -> None:
        engine: EngineProfile = self.g.data[node]["engine"]
        kernel = self.g.kernel_of(node)
        self.add(node, "engine daemon", memory_mib=engine.memory_mib, shared=True,
                 once=("engine", kernel, engine.name))

    def _container(self, node: str) -> None:
        attrs = self.g.data[node]
        image: ImageProfile = attrs["profile"]
        spec = attrs.get("spec")
        runtime_node = next(n for n in self.g.ancestors(node) if self.g.kind(n) == "runtime")
        runtime: RuntimeProfile = self.g.data[runtime_node]["profile"]
        engine: EngineProfile = self.g.data[runtime_node]["engine"]
        # The runtime and shim run beside the runtime node (on the host for Kata), not
        # inside a sandbox VM.
        outside = self.enclosing_vm(runtime_node)
        self.add(node, "runtime per container", memory_mib=runtime.memory_mib, guest=outside)
        self.add(node, "engine shim", memory_mib=engine.shim_memory_mib, guest=outside)
        self.add(node, "engine state per container",
                 memory_mib=engine.state_memory_per_container_mib, guest=outside)
        if not getattr(spec, "workload", None):
            self.add(node, "container process", memory_mib=image.process_memory_mib)
        store = self.store(node)
        for layer in image.layers:
            self.add(node, f"layer {layer.digest}", disk_mib=layer.size_mib, shared=True,
                     instance="" if store == self.g.machine(node) else store,
                     once=("layer", store, layer.digest))
            self.cache(node, store, f"layer {layer.digest}", layer.size_mib * self.read_fraction)
        self.add(node, "writable layer", disk_mib=float(getattr(spec, "writable_mib", 0.0)))

    def _process(self, node: str) -> None:
        profile: WorkloadProfile = self.g.data[node]["profile"]
        self.add(node, "process", memory_mib=profile.memory_mib)
        reads = sum(s.read_mib for s in profile.start)
        self.cache(node, self.store(node), f"workload {profile.name} files", reads)

    def cache(self, node: str, store: str, files: str, mib: float) -> None:
        """``files`` read at a start into the page cache of the kernel under ``store``,
        once per store: on the host, one shared reclaimable record; in a VM, its guest
        page cache (balanced with the rest of its RAM in :meth:`_balance`)."""
        if not self.count_page_cache or mib <= 0 or ("page cache", store, files) in self.seen:
            return
        self.seen.add(("page cache", store, files))
        if store == self.g.machine(node):
            self.add(node, f"page cache: {files} (reclaimable)", memory_mib=mib, shared=True,
                     instance="", guest="", reclaimable=True)
        else:
            self.files_read[store] += mib

    def _balance(self, vm: str) -> None:
        """Add the VM's page cache, zeroed-page and clamp records (see the module docstring).

        The records inside the guest are its working set, less the KSM-merged
        share of its base, which the host holds once in a shared record.
        """
        allocated = float(self.g.data[vm].get("memory_mib", 0.0))
        inner = self.inside[vm]
        base, _ = self.guest_base(vm)
        f = self.ksm_fraction(self.g.machine(vm)) if self.merged(vm) else 0.0
        working = inner + base * f  # the guest's view: the shared copy is its memory too
        spec = self.g.data[vm].get("spec")
        image = self.g.data[vm].get("profile")
        memory = guest_memory(
            allocated, working, self.boot_reads(vm) + self.files_read[vm],
            zeroes_free_memory=isinstance(image, DiskImageProfile) and image.zeroes_free_memory,
            free_page_reporting=bool(getattr(spec, "free_page_reporting", False)),
            balloon=bool(getattr(spec, "balloon", False)), age_s=self.age_s,
            residency=self.residency)
        cache = min(memory.page_cache_mib, memory.resident_mib - memory.working_set_mib)
        zeroed = memory.resident_mib - memory.working_set_mib - cache
        owner = self.owner(vm)
        self.add(vm, "guest page cache (reclaimable)", memory_mib=cache, instance=owner)
        self.add(vm, "guest RAM zeroed at boot", memory_mib=zeroed * (1 - f), instance=owner)
        if working > allocated:
            self.add(vm, "guest RAM clamp (exceeds allocation)", memory_mib=allocated - working,
                     instance=owner)
        self.guests[vm] = {"allocated_mib": allocated, "touched_mib": memory.touched_mib,
                           "resident_mib": memory.resident_mib - zeroed * f,
                           "page_cache_mib": cache, "reclaimable_mib": memory.reclaimable_mib}


def machine_footprint(graph: ResourceGraph, nodes: Sequence[str], age_s: float = math.inf,
                      residency: ResidencyProfile | None = None) -> Footprint:
    """The footprint of one machine, from its stack alone.

    Args:
        graph: The scenario's resource graph.
        nodes: The machine's nodes (itself included), in graph order.
        age_s: See :func:`footprint`.
        residency: See :func:`footprint`.

    Returns:
        The machine's records, its host totals, its instances' totals (graph
        order) and its guests.
    """
    walker = _Walker(graph, nodes, age_s, residency)
    walker.walk()
    machine = graph.data[nodes[0]]["machine"]
    host = {"memory_mib": 0.0, "page_cache_mib": 0.0, "disk_mib": 0.0}
    per_instance = {inst: {"memory_mib": 0.0, "disk_mib": 0.0} for inst in walker.instances}
    totals: dict[str, list[dict[str, float]]] = {}  # owner -> totals of it and its hosts
    for record in walker.records:
        host["memory_mib"] += record["memory_mib"]
        host["disk_mib"] += record["disk_mib"]
        if record["reclaimable"]:
            host["page_cache_mib"] += record["memory_mib"]
        owner = record["instance"]
        if not owner:
            continue
        if owner not in totals:
            totals[owner] = [per_instance[inst] for inst in graph.path_to_machine(owner)
                             if inst in per_instance]
        for sizes in totals[owner]:
            sizes["memory_mib"] += record["memory_mib"]
            sizes["disk_mib"] += record["disk_mib"]
    return Footprint(records=walker.records, per_host={machine: host},
                     per_instance=per_instance, guests=walker.guests)


def renamed(part: Footprint, to: Callable[[str], str]) -> Footprint:
    """One machine's footprint with every node id passed through ``to`` (for a copy)."""
    named = part.named_ids()
    ids = dict(zip(named, map(to, named), strict=True))
    ids[""] = ""
    ((first, host),) = part.per_host.items()
    machine = ids[first]
    records = [{**r, "machine": machine, "node": ids[r["node"]],
                "instance": ids[r["instance"]], "guest": ids[r["guest"]]}
               for r in part.records]
    return Footprint(records=records,
                     per_host={machine: dict(host)},
                     per_instance={ids[n]: dict(v) for n, v in part.per_instance.items()},
                     guests={ids[n]: dict(v) for n, v in part.guests.items()})


def nodes_by_machine(graph: ResourceGraph) -> dict[str, list[str]]:
    """Each machine's nodes (itself included), in graph order: what
    :func:`machine_footprint` walks."""
    on: dict[str, list[str]] = {}
    for node, attrs in graph.data.items():  # one pass over the graph
        on.setdefault(attrs["machine"], []).append(node)
    return on


def per_machine(graph: ResourceGraph, age_s: float = math.inf,
                residency: ResidencyProfile | None = None,
                templates: Templates | None = None) -> Callable[[str], Footprint]:
    """A function that gives any machine's footprint.

    The model works out one machine from its stack; ``templates`` (the run's
    :class:`~virtsim.templates.Templates`) works it out once per host group
    and renames it for the copies.
    """
    cache = templates or Templates(graph)
    on = nodes_by_machine(graph)
    what = f"footprint@{age_s!r}/{id(residency)}"

    def one_machine(machine: str) -> Footprint:
        return machine_footprint(graph, on[machine], age_s, residency)

    def of(machine: str) -> Footprint:
        return cache.per_machine(what, machine, one_machine, renamed)

    return of


def footprint(graph: ResourceGraph, age_s: float = math.inf,
              residency: ResidencyProfile | None = None,
              templates: Templates | None = None) -> Footprint:
    """Resident memory and disk of a scenario's stack, attributed node by node.

    Args:
        graph: The scenario's resource graph.
        age_s: How long the guests have run (KSM, free page reporting and the
            balloon act over time); ``inf``: steady state.
        residency: The host's residency mechanisms (KSM scan rate, reporting
            delay, balloon rate); None: they have all completed.
        templates: The run's per-machine cache (None: a fresh one).

    Returns:
        The attribution records (machine by machine) with per-host,
        per-instance and per-guest totals.

    Raises:
        ValueError: A negative ``age_s``.
    """
    if not age_s >= 0:
        raise ValueError(f"age_s must be >= 0, got {age_s}")
    whole = Footprint()
    part_of = per_machine(graph, age_s, residency, templates)
    for part in map(part_of, graph.machines()):
        whole.records += part.records
        whole.per_host.update(part.per_host)
        whole.per_instance.update(part.per_instance)
        whole.guests.update(part.guests)
    return whole


def density(host: HostProfile, per_instance_memory_mib: float, per_instance_vcpus: float,
            per_instance_disk_mib: float, shared_memory_mib: float = 0.0,
            shared_disk_mib: float = 0.0, cpu_overcommit: float = 1.0,
            per_instance_committed_mib: float = 0.0, memory_overcommit: float = 1.0,
            demand: Sequence[float] = (), capacity: MachineCapacity | None = None) -> Density:
    """The largest number of identical instances that fits one host.

    Memory and disk capacity is the host's less what is shared (host kernel,
    daemons, layers); CPU capacity is its hardware threads
    (``cores * threads_per_core``) times ``cpu_overcommit``. Memory limits
    twice when a committed size is given: what the instances hold (resident)
    must fit the memory, and what they commit (a VM's configured RAM) must fit
    it times ``memory_overcommit``. A resource an instance does not use (zero
    per instance) does not limit the count.
    ``demand`` is each instance's steady demand per second
    (:func:`virtsim.demand.instance_demand`), checked against ``capacity``
    (the machine as the performance model shares it, cache interference of
    that many co-runners included): demand cannot be overcommitted. Ties name
    the first of memory, cpu, disk, then the demand columns.

    Args:
        host: The host profile.
        per_instance_memory_mib: Resident memory each instance adds.
        per_instance_vcpus: vCPUs (or CPU limit) each instance reserves.
        per_instance_disk_mib: Disk each instance adds.
        shared_memory_mib: Memory paid once per host.
        shared_disk_mib: Disk paid once per host.
        cpu_overcommit: vCPUs allowed per hardware thread.
        per_instance_committed_mib: Memory each instance commits (0: its resident).
        memory_overcommit: Committed memory allowed per MiB of host memory.
        demand: Steady demand per instance, in :data:`virtsim.layer_costs.DEMANDS`
            order (empty: none counted).
        capacity: The machine's steady-load capacity; needed when ``demand`` is given.

    Returns:
        The count and the binding limit.

    Raises:
        ValueError: A negative input, a non-positive overcommit, demand
            without a capacity, or no per-instance demand at all (the count
            would be unbounded).
    """
    values = (per_instance_memory_mib, per_instance_vcpus, per_instance_disk_mib,
              shared_memory_mib, shared_disk_mib, per_instance_committed_mib, *demand)
    if any(v < 0 for v in values) or cpu_overcommit <= 0 or memory_overcommit < 1:
        raise ValueError("density inputs must be non-negative, cpu_overcommit positive and "
                         "memory_overcommit at least 1")
    if any(demand) and capacity is None:
        raise ValueError("density with a steady demand needs the machine's capacity")
    limits: list[tuple[float, Binding]] = []
    memory = host.memory_gib * 1024.0 - shared_memory_mib
    checks: tuple[tuple[float, float, Binding], ...] = (
        (memory, per_instance_memory_mib, "memory"),
        (memory * memory_overcommit, per_instance_committed_mib, "memory"),
        (host.cores * host.threads_per_core * cpu_overcommit, per_instance_vcpus, "cpu"),
        (host.disk_gib * 1024.0 - shared_disk_mib, per_instance_disk_mib, "disk"),
    )
    for room, need, name in checks:
        if need > 0:
            limits.append((max(0.0, math.floor(room / need + 1e-9)), name))
    if capacity is not None:
        for j, need in enumerate(demand):
            if need > 0:
                limits.append((_demand_fit(capacity, j, need), DEMAND_BINDINGS[j]))
    if not limits:
        raise ValueError("an instance with no memory, CPU or disk demand has no density limit")
    count, binding = min(limits, key=lambda lim: lim[0])
    return Density(count=int(count), binding=binding)


DEMAND_BINDINGS: tuple[Binding, ...] = ("cpu-demand", "memory-bandwidth", "random-access",
                                        "disk-throughput", "disk-iops", "network")
"""The :data:`Binding` of each steady-demand column, in :data:`virtsim.layer_costs.DEMANDS`
order."""


def _demand_fit(capacity: MachineCapacity, column: int, need: float) -> float:
    """Most instances whose demand on ``column`` the machine serves in full.

    On the cache columns each co-runner shrinks the capacity
    (:meth:`~virtsim.demand.MachineCapacity.factor`): the count that fits is
    found by bisection (fitting only gets harder as the count grows).
    """
    room = capacity.per_s[column]
    most = math.floor(room / need + 1e-9)
    if column not in CACHE_COLUMNS or capacity.interference_per_neighbour <= 0:
        return float(max(most, 0))
    low, high = 0, most
    while low < high:
        mid = (low + high + 1) // 2
        if mid * need <= room * capacity.factor(mid) * (1 + 1e-9):
            low = mid
        else:
            high = mid - 1
    return float(low)


HOST_FIELDS = ("machine", "memory_mib", "anonymous_mib", "page_cache_mib", "disk_mib")
"""The ``host_footprint`` columns: resident memory is the anonymous memory (kernels,
daemons, processes, guest RAM) plus the host's page cache (files that container and
process starts read; reclaimable, so it limits no density)."""


FOOTPRINT_FIELDS = ("machine", "node", "kind", "item", "memory_mib", "disk_mib", "shared",
                    "instance", "guest", "reclaimable")
"""The ``footprint`` columns: an attribution :data:`Record`'s fields, in its order."""

INSTANCE_FIELDS = ("instance", "kind", "machine", "group", "memory_mib", "disk_mib")
"""The ``instance_footprint`` columns."""

Row = tuple[Any, ...]


@dataclass(frozen=True)
class MachineRows:
    """One machine's rows of the footprint tables, as value tuples (a template's are
    stamped out for each copy of its machine by :meth:`renamed`)."""

    footprint: list[Row]
    instances: list[Row]
    host: Row
    density: list[Row]
    density_fields: tuple[str, ...]
    ids: tuple[str, ...]
    """Every node id the rows name (the machine's first)."""

    @classmethod
    def of(cls, graph: ResourceGraph, machine: str, part: Footprint,
           fits: list[Record]) -> MachineRows:
        """The rows of ``machine`` from its footprint and its density records."""
        if any(tuple(record) != FOOTPRINT_FIELDS for record in part.records):
            raise ValueError("an attribution record without the footprint fields")
        data = graph.data
        instances = [(node, data[node]["kind"], data[node]["machine"], data[node]["name"],
                      sizes["memory_mib"], sizes["disk_mib"])
                     for node, sizes in part.per_instance.items()]  # graph order: stable
        sizes = part.per_host[machine]
        host = (machine, sizes["memory_mib"], sizes["memory_mib"] - sizes["page_cache_mib"],
                sizes["page_cache_mib"], sizes["disk_mib"])
        fields = tuple(fits[0]) if fits else ()
        if any(tuple(fit) != fields or fields[0] != "machine" for fit in fits):
            raise ValueError("density records without the same fields, machine first")
        return cls([tuple(record.values()) for record in part.records], instances, host,
                   [tuple(fit.values()) for fit in fits], fields, part.named_ids())

    def renamed(self, to: Callable[[str], str]) -> MachineRows:
        """The same rows for a copy of the machine (ids through ``to``)."""
        first = self.host[0]
        machine, cut, under = to(first), len(first), first + "/"
        # the ids under the machine: the copy's name and the same suffix (interned, as
        # the graph's ids are), without a call of ``to`` each
        ids = {node: sys.intern(machine + node[cut:]) if node.startswith(under) else to(node)
               for node in self.ids}
        ids[""] = ""
        return MachineRows(
            [(machine, ids[node], kind, item, memory, disk, shared, ids[owner], ids[guest],
              reclaimable)
             for _, node, kind, item, memory, disk, shared, owner, guest, reclaimable
             in self.footprint],
            [(ids[node], kind, machine, group, memory, disk)
             for node, kind, _, group, memory, disk in self.instances],
            (machine, *self.host[1:]), [(machine, *fit[1:]) for fit in self.density],
            self.density_fields, ())


class FootprintModel:
    """Run hook: footprint tables, per-host totals and density per instance group."""

    def attach(self, sim: Simulation) -> None:
        """Nothing runs: the footprint is a function of the stack."""

    def report(self, sim: Simulation) -> None:
        """Attribution, per-instance and per-host tables; density of each group (metrics:
        :func:`footprint_metrics`).

        Machine by machine, in graph order: each machine's rows come from the run's
        template cache, worked out once per host group (:class:`MachineRows`) and
        stamped out for the copies; each table gets its rows in one piece.
        """
        graph = sim.graph
        residency = sim.catalog.get("residency", "linux")
        residency = residency if isinstance(residency, ResidencyProfile) else None
        part_of = per_machine(graph, age_s=sim.now, templates=sim.templates,
                              residency=residency)

        def one_machine(first: str) -> MachineRows:
            return MachineRows.of(graph, first, part_of(first),
                                  self.densities(sim, first, part_of))

        what = f"footprint-rows@{sim.now!r}/{id(residency)}"
        footprint: list[Row] = []
        instances: list[Row] = []
        hosts: list[Row] = []
        density: list[Row] = []
        density_fields: tuple[str, ...] = ()
        for machine in graph.machines():
            rows = sim.templates.per_machine(what, machine, one_machine, MachineRows.renamed)
            footprint += rows.footprint
            instances += rows.instances
            hosts.append(rows.host)
            density += rows.density
            density_fields = density_fields or rows.density_fields
        sim.result.append_rows("footprint", FOOTPRINT_FIELDS, footprint)
        sim.result.append_rows("instance_footprint", INSTANCE_FIELDS, instances)
        sim.result.append_rows("host_footprint", HOST_FIELDS, hosts)
        sim.result.append_rows("density", density_fields, density)

    @staticmethod
    def densities(sim: Simulation, machine: str,
                  part_of: Callable[[str], Footprint]) -> list[Record]:
        """For each instance group on ``machine``: how many would fit, and what binds
        (worked out from its footprint, ``part_of(machine)``)."""
        graph = sim.graph
        part = part_of(machine)
        return _fits(graph, sim.catalog, part, machine, _top_level_groups(graph, part))


def footprint_metrics(result: Result) -> None:
    """The ``footprint_mib`` (all hosts: memory, of which reclaimable page cache, and disk)
    and ``density`` metrics, from a finished run's ``host_footprint`` and ``density``
    tables."""
    result.metrics["footprint_mib"] = {
        "memory": sum(float(v or 0.0) for v in result.column("host_footprint", "memory_mib")),
        "page_cache": sum(float(v or 0.0)
                          for v in result.column("host_footprint", "page_cache_mib")),
        "disk": sum(float(v or 0.0) for v in result.column("host_footprint", "disk_mib"))}
    columns = [result.column("density", name) for name in ("machine", "group", "count",
                                                            "binding")]
    result.metrics["density"] = {f"{machine}/{group}": {"count": count, "binding": binding}
                                 for machine, group, count, binding in zip(*columns, strict=True)}


Groups = tuple[list[str], dict[str, list[str]]]
"""A machine's top-level instances, and its VMs and containers among them by group name."""


def _top_level_groups(graph: ResourceGraph, part: Footprint) -> Groups:
    """The :data:`Groups` of one machine's footprint."""
    top: list[str] = []
    named: dict[str, list[str]] = {}
    for node in part.per_instance:  # graph order
        if not _top_level(graph, node):
            continue
        top.append(node)
        data = graph.data[node]
        if data["kind"] in ("vm", "container"):
            named.setdefault(str(data["name"]), []).append(node)
    return top, named


def _fits(graph: ResourceGraph, catalog: Catalog, result: Footprint, machine: str,
          groups: Groups) -> list[Record]:
    """The density record of each instance group on ``machine``: how many fit, counting
    each member's steady workload demand (:mod:`virtsim.demand`), and how many are placed."""
    host: HostProfile = graph.data[machine]["profile"]
    capacity = machine_capacity(host, native_cost(catalog))
    top, named = groups
    instance_memory = sum(result.per_instance[node]["memory_mib"] for node in top)
    page_cache = result.per_host[machine].get("page_cache_mib", 0.0)
    # the host's page cache is reclaimable: the kernel drops it before memory runs out
    shared_memory = result.per_host[machine]["memory_mib"] - page_cache - instance_memory
    fits: list[Record] = []
    for name, members in named.items():
        own = [result.per_instance[m] for m in members]
        memory = sum(o["memory_mib"] for o in own) / len(own)
        disk = sum(o["disk_mib"] for o in own) / len(own)
        vcpus = _vcpus(graph, members[0])
        demand = instance_demand(graph, catalog, members[0]).tolist()
        if memory <= 0 and vcpus <= 0 and disk <= 0 and not any(demand):
            continue
        committed = committed_mib(graph, members[0])
        if graph.data[members[0]]["kind"] != "vm" and committed < memory:
            committed = memory  # without a limit, a container commits what it holds
        overcommit = float(graph.data[machine]["spec"].memory_overcommit)
        shared = max(shared_memory, 0.0)
        fit = density(host, memory, vcpus, disk, shared_memory_mib=shared,
                      per_instance_committed_mib=committed, memory_overcommit=overcommit,
                      demand=demand, capacity=capacity)
        # memory (and disk) alone: what fits by commitments, and by what is really held
        by_committed = density(host, committed or memory, 0.0, disk, shared_memory_mib=shared)
        by_resident = density(host, memory, 0.0, disk, shared_memory_mib=shared)
        fits.append({"machine": machine, "group": name, "count": fit.count,
                     "binding": fit.binding, "placed": len(members), "memory_mib": memory,
                     "committed_mib": committed, "vcpus": vcpus, "cpu_demand": demand[0],
                     "disk_mib": disk, "count_committed": by_committed.count,
                     "count_resident": by_resident.count, "memory_overcommit": overcommit,
                     "page_cache_mib": page_cache})
    return fits


def _top_level(graph: ResourceGraph, node: str) -> bool:
    """An instance not inside another instance (its bytes are not already counted)."""
    data, below = graph.data, graph.below
    while (node := below.get(node, "")):
        attrs = data[node]
        if attrs["kind"] in ("vm", "container") and attrs.get("instance", True):
            return False
    return True


def _vcpus(graph: ResourceGraph, node: str) -> float:
    data = graph.graph.nodes[node]
    if data["kind"] == "vm":
        return float(data["vcpus"])
    cpus = getattr(data.get("spec"), "cpus", None)
    return float(cpus) if cpus else 0.0
