"""The per-machine state of the start-up mechanisms, and how a stack's stages are shaped.

One :class:`HostMechanisms` per machine holds what the lifecycle's starts
share on that machine beyond its resource pool:

- the kernel objects of each kernel that runs containers (host kernel,
  guest kernels) and that kernel's global locks
  (:mod:`virtsim.kernel_objects`, :mod:`virtsim.locks`);
- the memory admission ledger (:mod:`virtsim.admission`);
- the layer store of each engine host (:mod:`virtsim.pull_pipeline`).

:func:`committed_mib` says what a top-level instance commits of its host's
memory; :func:`shape_stages` turns a stack's calibrated stages into the
ones that run: without the engine stages its network mode skips, with the
emulation factor on every guest stage, and with provisioning around a VM's
boot (:mod:`virtsim.emulation`, :mod:`virtsim.provisioning`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy

from virtsim.admission import MemoryAdmission
from virtsim.catalog import Catalog
from virtsim.emulation import EMULATED_OWNERS, emulated_stage
from virtsim.graph import ResourceGraph
from virtsim.kernel_objects import KernelObjects, ObjectStep
from virtsim.locks import Hold, LockTable
from virtsim.profiles import (
    CloudProfile,
    DiskImageProfile,
    EmulationProfile,
    EngineProfile,
    HostProfile,
    HypervisorProfile,
    ImageProfile,
    KernelCostProfile,
    KernelProfile,
    RuntimeProfile,
    Stage,
    VmmProfile,
    WorkloadProfile,
)
from virtsim.provisioning import provisioned_stages
from virtsim.pull_pipeline import LayerStore

OwnedStage = tuple[str, Stage]
USER_MODE_EMULATOR = "qemu-user"
"""The emulation profile of a container whose image is for another architecture
(binfmt_misc runs it through QEMU user mode)."""


@dataclass
class HostMechanisms:
    """What starts on one machine share besides its pool."""

    admission: MemoryAdmission
    objects: dict[str, KernelObjects] = field(default_factory=dict)
    """Kernel node -> its population (only kernels with a cost profile)."""
    locks: dict[str, LockTable] = field(default_factory=dict)
    stores: dict[str, LayerStore] = field(default_factory=dict)
    made: dict[str, tuple[str, tuple[ObjectStep, ...]]] = field(default_factory=dict)
    """Instance -> the kernel and the objects its start made (removed when it stops)."""

    def kernel(self, env: simpy.Environment, graph: ResourceGraph, catalog: Catalog,
               kernel_node: str, log: list[Hold] | None = None) -> KernelObjects | None:
        """The objects of ``kernel_node`` (None: its family has no cost profile)."""
        objects = self.objects.get(kernel_node)
        if objects is None:
            profile: KernelProfile = graph.data[kernel_node]["profile"]
            costs = catalog.get("kernel_costs", profile.family)
            if not isinstance(costs, KernelCostProfile):
                return None
            objects = self.objects[kernel_node] = KernelObjects(costs, profile.version)
            self.locks[kernel_node] = LockTable(env, kernel_node, log)
        return objects


def admission_for(env: simpy.Environment, graph: ResourceGraph, machine: str,
                  host: HostProfile) -> MemoryAdmission:
    """A machine's ledger: its memory less its host kernel and user space."""
    spec = graph.data[machine]["spec"]
    kernel: KernelProfile = graph.data[f"{machine}/kernel"]["profile"]
    capacity = host.memory_gib * 1024.0 - kernel.memory_mib - kernel.userspace_memory_mib
    return MemoryAdmission(env, max(capacity, 1.0), overcommit=spec.memory_overcommit,
                           policy=spec.admission)


def committed_mib(graph: ResourceGraph, node: str) -> float:
    """What a top-level instance commits of its host's memory (0 for one inside a VM).

    A VM: its configured RAM and its VMM's overhead. A container: its cgroup
    limit, or without one what it holds (runtime, shim, the engine's state for
    it, its process or workload), plus a sandbox VM's RAM and VMM or a
    user-space kernel. A process: its workload's memory.
    """
    data = graph.data
    path = graph.path_to_machine(node)
    if any(data[n]["kind"] == "vm" and data[n].get("role") != "sandbox" for n in path[1:]):
        return 0.0
    kind = data[node]["kind"]
    if kind == "vm":
        vmm: VmmProfile = data[graph.host(node) or ""]["profile"]
        return float(data[node]["memory_mib"]) + vmm.memory_mib \
            + vmm.memory_per_vcpu_mib * int(data[node]["vcpus"])
    if kind == "process":
        profile: WorkloadProfile = data[node]["profile"]
        return profile.memory_mib
    spec = data[node]["spec"]
    runtime_node = next(n for n in path if data[n]["kind"] == "runtime")
    runtime: RuntimeProfile = data[runtime_node]["profile"]
    engine: EngineProfile = data[runtime_node]["engine"]
    sandbox = 0.0
    for below in path[1:]:
        if data[below]["kind"] == "vm" and data[below].get("role") == "sandbox":
            vmm_node = graph.host(below) or ""
            sandbox_vmm: VmmProfile = data[vmm_node]["profile"]
            sandbox += float(data[below]["memory_mib"]) + sandbox_vmm.memory_mib
        elif data[below]["kind"] == "kernel" and data[below].get("role") == "sandbox" \
                and data[graph.host(below) or ""]["kind"] != "vm":
            sandbox += data[below]["profile"].memory_mib  # a user-space kernel (gVisor)
    if spec.memory_mib is not None:
        return float(spec.memory_mib) + sandbox
    image: ImageProfile = data[node]["profile"]
    own = image.process_memory_mib
    if spec.workload:
        own = data[f"{node}/{spec.workload}"]["profile"].memory_mib
    return (runtime.memory_mib + engine.shim_memory_mib + engine.state_memory_per_container_mib
            + own + sandbox)


def for_network(stages: list[OwnedStage], network: str) -> list[OwnedStage]:
    """The stages that run for a container on ``network`` (``networks`` empty: all)."""
    return [(owner, s) for owner, s in stages if not s.networks or network in s.networks]


def emulated(stages: list[OwnedStage], emulator: EmulationProfile | None,
             owners: frozenset[str] = EMULATED_OWNERS) -> list[OwnedStage]:
    """``stages`` with the emulation factor on the guest-code ones."""
    if emulator is None:
        return stages
    return [(owner, emulated_stage(s, emulator) if owner in owners else s)
            for owner, s in stages]


def vm_emulator(graph: ResourceGraph, vm: str, catalog: Catalog) -> EmulationProfile | None:
    """The emulation a VM's guest runs under (None: hardware-assisted)."""
    vmm_node = graph.host(vm) or ""
    hyper = graph.data.get(graph.host(vmm_node) or "", {}).get("profile")
    if isinstance(hyper, HypervisorProfile) and hyper.emulation:
        profile = catalog.get("emulation", hyper.emulation)
        return profile if isinstance(profile, EmulationProfile) else None
    return None


def user_emulator(catalog: Catalog) -> EmulationProfile | None:
    """QEMU user mode, for a container image of another architecture."""
    profile = catalog.get("emulation", USER_MODE_EMULATOR)
    return profile if isinstance(profile, EmulationProfile) else None


def shape_vm_stages(stages: list[OwnedStage], graph: ResourceGraph, vm: str,
                    catalog: Catalog) -> list[OwnedStage]:
    """A VM's stages under emulation and provisioning (see the module docstring)."""
    stages = emulated(stages, vm_emulator(graph, vm, catalog))
    spec = graph.data[vm].get("spec")
    image = graph.data[vm].get("profile")
    if spec is None or not isinstance(image, DiskImageProfile):
        return stages
    cloud = catalog.get("clouds", spec.cloud) if spec.cloud else None
    return provisioned_stages(stages, image, cached=spec.image_cached,
                              cloud=cloud if isinstance(cloud, CloudProfile) else None)

