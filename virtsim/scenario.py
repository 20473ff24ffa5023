"""Scenario files: hosts and what runs on each, as typed, validated data.

A scenario is a TOML file::

    name = "web tier"
    duration_s = 60
    seed = 7

    [[hosts]]
    name = "node"
    profile = "m5d-metal"            # models/hosts/m5d-metal.toml
    overrides = { memory_gib = 128 }

    [[hosts.vms]]                    # a VM group on that host
    name = "web"
    count = 4
    hypervisor = "kvm"
    disk_image = "ubuntu-24.04-cloud"
    vcpus = 2
    memory_mib = 2048

    [[hosts.vms.containers]]         # nesting: containers inside each VM
    name = "api"
    image = "alpine"

    [[hosts.containers]]             # containers on the host kernel
    name = "cache"
    count = 10
    image = "alpine"
    runtime = "crun"

Loading checks three things and raises :class:`~virtsim.errors.InputError`
on the first failure: the file's shape (keys, types, ranges), every profile
name against the catalogue, and that the nesting can be built (a hypervisor
on a kernel it runs on, a VMM its hypervisor drives, an engine on its OS).

What belongs to the simulation rather than to the input is not checked
here: a Windows image on a Linux kernel, an arm64 image on an amd64 host or
an image that needs a newer kernel are well-formed scenarios whose
containers fail (or run emulated) when the simulation starts them, with the
message the real tools give.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from virtsim.catalog import Catalog
from virtsim.datafile import find_line, read_toml, validate
from virtsim.errors import InputError, display_path
from virtsim.profiles import (
    DiskImageProfile,
    EngineProfile,
    HostProfile,
    HypervisorProfile,
    KernelProfile,
    Model,
    OrchestratorProfile,
    PlatformProfile,
    RuntimeProfile,
    VmmProfile,
)

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


class ProcessSpec(Model):
    """A group of identical native processes running a workload."""

    name: str = Field(pattern=NAME_PATTERN)
    count: int = Field(default=1, ge=1, le=1_000_000)
    workload: str


class ContainerSpec(Model):
    """A group of identical containers: engine, runtime, image and cgroup limits."""

    name: str = Field(pattern=NAME_PATTERN)
    count: int = Field(default=1, ge=1, le=1_000_000)
    engine: str = "docker"
    runtime: str = "runc"
    gvisor_platform: Literal["ptrace", "systrap", "kvm"] = Field(
        default="ptrace", description="how gVisor's runsc traps system calls (runsc --platform); "
        "ptrace by default, as the gVisor figures the catalogue was first calibrated on")
    image: str
    cpus: float | None = Field(default=None, gt=0, le=4096, description="cgroup CPU limit")
    cpu_weight: float = Field(default=1.0, gt=0, le=10_000)
    memory_mib: float | None = Field(default=None, gt=0, description="cgroup memory limit")
    writable_mib: float = Field(default=0.0, ge=0, description="data written to its layer")
    network: Literal["nat", "host", "none"] = "nat"
    workload: str | None = None
    restart: Literal["no", "always", "on-failure"] = "no"
    start_at_s: float = Field(default=0.0, ge=0)
    bind_mount: bool = Field(default=False, description="its workload's files are bind-mounted "
                             "from the host (under Docker Desktop: through the VM's file sharing)")
    live_restore: bool = Field(default=False, description="dockerd live-restore: survive a "
                               "daemon crash (a daemon setting: equal for an engine's groups)")
    checkpoint_s: float = Field(default=0.0, ge=0, description="batch work checkpointed every "
                                "this many seconds; 0: never (a crash loses all progress)")


class VmSpec(Model):
    """A group of identical VMs and what runs inside each of them."""

    name: str = Field(pattern=NAME_PATTERN)
    count: int = Field(default=1, ge=1, le=1_000_000)
    hypervisor: str
    vmm: str | None = Field(default=None, description="default: the hypervisor's first VMM")
    disk_image: str
    kernel: str | None = Field(default=None, description="default: the disk image's kernel")
    vcpus: int = Field(default=1, ge=1, le=1024)
    memory_mib: float = Field(default=1024.0, ge=16)
    clone: Literal["full", "linked"] = "full"
    balloon: bool = False
    free_page_reporting: bool = Field(default=False, description="virtio-balloon free page "
                                      "reporting: pages the guest frees go back to the host")
    image_cached: bool = Field(default=True, description="the disk image (or the volume) is "
                               "already on the host; false: fetched first, first boot runs")
    cloud: str | None = Field(default=None, description="a clouds profile that provisions the "
                              "VM (placement, volume hydration, network attach)")
    pinned: bool = Field(default=False, description="vCPUs pinned, host topology exposed")
    workload: str | None = None
    restart: Literal["no", "always"] = "no"
    start_at_s: float = Field(default=0.0, ge=0)
    checkpoint_s: float = Field(default=0.0, ge=0, description="batch work checkpointed every "
                                "this many seconds; 0: never (a crash loses all progress)")
    containers: tuple[ContainerSpec, ...] = ()
    processes: tuple[ProcessSpec, ...] = ()

    @model_validator(mode="after")
    def _distinct_names(self) -> VmSpec:
        _unique_names((*self.containers, *self.processes))
        return self


class HostSpec(Model):
    """A group of identical machines built from a host profile."""

    name: str = Field(pattern=NAME_PATTERN)
    count: int = Field(default=1, ge=1, le=1_000_000)
    profile: str
    overrides: dict[str, Any] = Field(default_factory=dict)
    kernel: str | None = Field(default=None, description="default: the host profile's kernel")
    boot: bool = Field(default=False, description="power on at t=0; instances wait for it")
    platform: str | None = Field(default=None, description="e.g. docker-desktop-mac")
    ksm: bool = Field(default=False, description="merge identical guest pages")
    memory_overcommit: float = Field(default=1.0, ge=1.0, le=100.0, description="committed "
                                     "memory allowed per MiB of host memory (1: none)")
    admission: Literal["wait", "fail"] = Field(default="fail", description="a start that "
                                               "would exceed the committable memory")
    cached_images: tuple[str, ...] = Field(default=(), description="images already pulled")
    vms: tuple[VmSpec, ...] = ()
    containers: tuple[ContainerSpec, ...] = ()
    processes: tuple[ProcessSpec, ...] = ()

    @model_validator(mode="after")
    def _distinct_names(self) -> HostSpec:
        _unique_names((*self.vms, *self.containers, *self.processes))
        return self


class FaultSpec(Model):
    """One fault injected at a time into a named node (see :mod:`virtsim.graph`)."""

    kind: str = Field(min_length=1)
    target: str = Field(min_length=1, description="a node id such as 'node/web-0'")
    at_s: float = Field(ge=0)
    exploit: str | None = Field(default=None, description="an exploits profile (escapes only)")
    repair_s: float | None = Field(default=None, ge=0, description="time before the failed part "
                                   "can start again; default: the failure_rates profile's")


class OrchestratorSpec(Model):
    """Which orchestrator (or restart manager) recovers which instance groups, and where.

    ``groups`` names host-level VM or container groups; ``hosts`` names the
    host groups it may place rescheduled instances on (default: every host
    group that runs one of its groups).
    """

    profile: str = Field(min_length=1, description="an orchestrators profile")
    groups: tuple[str, ...] = Field(min_length=1)
    hosts: tuple[str, ...] = ()
    placement: Literal["spread", "bin-pack"] | None = None
    detection_s: float | None = Field(default=None, ge=0, description="overrides the profile's "
                                      "node_failure_detection_s")


class RandomFaultsSpec(Model):
    """Faults drawn over the run from the catalogue's failure rates (seeded)."""

    kinds: tuple[str, ...] = Field(default=(), description="default: every kind with a rate")
    rate_scale: float = Field(default=1.0, gt=0, le=1e12, description="multiplies every rate "
                              "(make rare faults visible in a short run)")


class Scenario(Model):
    """A whole scenario: hosts, faults, simulated duration and seed."""

    name: str = "scenario"
    description: str = ""
    duration_s: float = Field(default=60.0, gt=0, le=10 * 365 * 86400)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    hosts: tuple[HostSpec, ...] = Field(min_length=1)
    faults: tuple[FaultSpec, ...] = ()
    orchestrators: tuple[OrchestratorSpec, ...] = ()
    random_faults: RandomFaultsSpec | None = None

    @field_validator("hosts")
    @classmethod
    def _distinct_hosts(cls, hosts: tuple[HostSpec, ...]) -> tuple[HostSpec, ...]:
        return _unique_names(hosts)


def _unique_names(groups: tuple[Any, ...]) -> tuple[Any, ...]:
    seen: set[str] = set()
    for group in groups:
        if group.name in seen:
            raise ValueError(f"names unique among siblings; '{group.name}' appears twice")
        seen.add(group.name)
    return groups


def load_scenario(path: Path | str, catalog: Catalog) -> Scenario:
    """Read, validate and cross-check a scenario file against the catalogue.

    Raises:
        InputError: The file is malformed, names an unknown profile, or
            describes a stack that cannot be built.
    """
    path = Path(path)
    data, text = read_toml(path)
    return parse_scenario(data, catalog, display_path(path), text)


def parse_scenario(
    data: dict[str, Any], catalog: Catalog, file: str = "<scenario>", text: str = ""
) -> Scenario:
    """Validate an already-parsed scenario table (the Python API's entry point)."""
    scenario = validate(Scenario, data, file, text)
    checker = _Checker(catalog, file, text)
    scenario = checker.expand_platforms(scenario)
    checker.check(scenario)
    return scenario


DESKTOP_VM = "docker-desktop"
"""Name of the Linux VM a desktop platform builds (its containers run inside it)."""


def host_profile(spec: HostSpec, catalog: Catalog, file: str = "<scenario>") -> HostProfile:
    """The host's profile with the scenario's overrides applied and re-validated."""
    base = catalog.require(HostProfile, spec.profile)
    merged = {**base.model_dump(), **spec.overrides}
    try:
        return validate(HostProfile, merged, file)
    except InputError as exc:
        raise InputError(file, f"hosts.{spec.name}.overrides.{exc.key}", exc.expected,
                         exc.found) from None


class _Checker:
    """Cross-checks a shape-valid scenario against the catalogue."""

    def __init__(self, catalog: Catalog, file: str, text: str) -> None:
        self.catalog = catalog
        self.file = file
        self.text = text

    def fail(self, loc: list[str | int], expected: str, found: str) -> InputError:
        from virtsim.datafile import dotted_key

        return InputError(self.file, dotted_key(loc), expected, found, find_line(self.text, loc))

    def profile(self, kind: str, name: str, loc: list[str | int]) -> Any:
        found = self.catalog.get(kind, name)
        if found is None:
            raise self.fail(loc, self.catalog.expected_name(kind, name), f"'{name}'")
        return found

    def expand_platforms(self, scenario: Scenario) -> Scenario:
        """Build each platform's stack: its engine and, for Docker Desktop, its Linux VM."""
        hosts = []
        for h, host in enumerate(scenario.hosts):
            if host.platform is None:
                hosts.append(host)
                continue
            loc: list[str | int] = ["hosts", h, "platform"]
            platform: PlatformProfile = self.profile("platforms", host.platform, loc)
            self.profile("hosts", host.profile, ["hosts", h, "profile"])
            profile = host_profile(host, self.catalog, self.file)
            kernel = self.catalog.get("kernels", host.kernel or profile.kernel)
            family = getattr(kernel, "family", "")
            if family not in platform.host_families:
                raise self.fail(loc, f"a platform for a {family} host",
                                f"'{platform.name}', for {', '.join(platform.host_families)}")
            containers = tuple(
                c.model_copy(update={k: v for k, v in (("engine", platform.engine),
                                                       ("runtime", platform.runtime))
                                     if k not in c.model_fields_set})
                for c in host.containers)
            if not platform.hypervisor:
                hosts.append(host.model_copy(update={"containers": containers}))
                continue
            memory = profile.memory_gib * 1024 * platform.memory_fraction
            if platform.memory_cap_mib:
                memory = min(memory, platform.memory_cap_mib)
            vm = VmSpec(name=DESKTOP_VM, hypervisor=platform.hypervisor, vmm=platform.vmm,
                        disk_image=platform.disk_image, kernel=platform.kernel,
                        vcpus=max(1, int(profile.cores * profile.threads_per_core
                                         * platform.cpu_fraction)),
                        memory_mib=memory, containers=containers)
            hosts.append(host.model_copy(update={"containers": (), "vms": (*host.vms, vm)}))
        return scenario.model_copy(update={"hosts": tuple(hosts)})

    def check(self, scenario: Scenario) -> None:
        for h, host in enumerate(scenario.hosts):
            self.check_host(host, ["hosts", h])
        for f, fault in enumerate(scenario.faults):
            if fault.exploit is not None:
                self.profile("exploits", fault.exploit, ["faults", f, "exploit"])
        self.check_orchestrators(scenario)
        if scenario.random_faults is not None:
            for k, kind in enumerate(scenario.random_faults.kinds):
                self.profile("failure_rates", kind, ["random_faults", "kinds", k])

    def check_orchestrators(self, scenario: Scenario) -> None:
        """Profiles exist; each group is host-level, of a kind it manages, managed once."""
        kinds = {g.name: "vm" for h in scenario.hosts for g in h.vms}
        kinds.update({g.name: "container" for h in scenario.hosts for g in h.containers})
        hosts = {h.name for h in scenario.hosts}
        owner: dict[str, int] = {}
        for o, spec in enumerate(scenario.orchestrators):
            loc: list[str | int] = ["orchestrators", o]
            profile: OrchestratorProfile = self.profile("orchestrators", spec.profile,
                                                        [*loc, "profile"])
            for g, group in enumerate(spec.groups):
                if group not in kinds:
                    listed = ", ".join(sorted(kinds)) or "none in this scenario"
                    raise self.fail([*loc, "groups", g], "the name of a host-level VM or "
                                    f"container group ({listed})", f"'{group}'")
                if kinds[group] not in profile.manages:
                    raise self.fail([*loc, "groups", g], f"a {' or '.join(profile.manages)} "
                                    f"group for {profile.name}", f"'{group}', a {kinds[group]} "
                                    "group")
                if group in owner:
                    raise self.fail([*loc, "groups", g], "each group managed by one "
                                    "orchestrator", f"'{group}', already in orchestrators"
                                    f"[{owner[group]}]")
                owner[group] = o
            for n, name in enumerate(spec.hosts):
                if name not in hosts:
                    raise self.fail([*loc, "hosts", n], f"a host group name "
                                    f"({', '.join(sorted(hosts))})", f"'{name}'")

    def check_host(self, host: HostSpec, loc: list[str | int]) -> None:
        self.profile("hosts", host.profile, [*loc, "profile"])
        unknown = set(host.overrides) - set(HostProfile.model_fields) - {"name"}
        if unknown:
            key = sorted(unknown)[0]
            raise self.fail([*loc, "overrides", key], "a host profile field", f"'{key}'")
        profile = host_profile(host, self.catalog, self.file)
        kernel_name = host.kernel or _management_kernel(host, self.catalog) or profile.kernel
        kernel: KernelProfile = self.profile("kernels", kernel_name, [*loc, "kernel"])
        if kernel.family == "gvisor":
            raise self.fail([*loc, "kernel"], "a host OS kernel", "gVisor's user-space kernel")
        for name in host.cached_images:
            self.profile("images", name, [*loc, "cached_images"])
        bare_metal = set()
        for v, vm in enumerate(host.vms):
            hyper = self.check_vm(vm, kernel, [*loc, "vms", v])
            if hyper.placement == "bare-metal":
                bare_metal.add(hyper.name)
        if len(bare_metal) > 1 or (bare_metal and len({vm.hypervisor for vm in host.vms}) > 1):
            raise self.fail([*loc, "vms"], "at most one bare-metal hypervisor and nothing "
                            "hosted beside it", f"{sorted({vm.hypervisor for vm in host.vms})}")
        for c, container in enumerate(host.containers):
            self.check_container(container, kernel, [*loc, "containers", c])
        self.check_live_restore(host.containers, [*loc, "containers"])
        for p, process in enumerate(host.processes):
            self.profile("workloads", process.workload, [*loc, "processes", p, "workload"])

    def check_live_restore(self, containers: tuple[ContainerSpec, ...],
                           loc: list[str | int]) -> None:
        """live-restore is a daemon setting: one engine's groups on one kernel must agree."""
        seen: dict[str, bool] = {}
        for c, spec in enumerate(containers):
            if seen.setdefault(spec.engine, spec.live_restore) != spec.live_restore:
                raise self.fail([*loc, c, "live_restore"], f"the same live_restore for every "
                                f"{spec.engine} group on this kernel (a daemon setting)",
                                str(spec.live_restore).lower())

    def check_vm(self, vm: VmSpec, host_kernel: KernelProfile,
                 loc: list[str | int]) -> HypervisorProfile:
        hyper: HypervisorProfile = self.profile("hypervisors", vm.hypervisor, [*loc, "hypervisor"])
        if hyper.placement != "bare-metal" and host_kernel.family not in hyper.host_families:
            raise self.fail([*loc, "hypervisor"],
                            f"a hypervisor that runs on a {host_kernel.family} kernel",
                            f"'{hyper.name}', which runs on {', '.join(hyper.host_families)}")
        vmm_name = vm.vmm or hyper.vmms[0]
        vmm: VmmProfile = self.profile("vmms", vmm_name, [*loc, "vmm"])
        if vmm.name not in hyper.vmms:
            raise self.fail([*loc, "vmm"], f"a VMM that {hyper.name} drives "
                            f"({', '.join(hyper.vmms)})", f"'{vmm.name}'")
        if vm.vcpus > vmm.max_vcpus:
            raise self.fail([*loc, "vcpus"], f"at most {vmm.max_vcpus} vCPUs for {vmm.name}",
                            str(vm.vcpus))
        image: DiskImageProfile = self.profile("disk_images", vm.disk_image, [*loc, "disk_image"])
        kernel: KernelProfile = self.profile("kernels", vm.kernel or image.kernel, [*loc, "kernel"])
        if kernel.family not in ("linux", "windows"):
            raise self.fail([*loc, "kernel"], "a guest kernel (linux or windows)",
                            f"'{kernel.name}' ({kernel.family})")
        if vm.workload:
            self.profile("workloads", vm.workload, [*loc, "workload"])
        if vm.cloud:
            self.profile("clouds", vm.cloud, [*loc, "cloud"])
        for c, container in enumerate(vm.containers):
            self.check_container(container, kernel, [*loc, "containers", c])
        self.check_live_restore(vm.containers, [*loc, "containers"])
        for p, process in enumerate(vm.processes):
            self.profile("workloads", process.workload, [*loc, "processes", p, "workload"])
        return hyper

    def check_container(self, spec: ContainerSpec, kernel: KernelProfile,
                        loc: list[str | int]) -> None:
        engine: EngineProfile = self.profile("engines", spec.engine, [*loc, "engine"])
        runtime: RuntimeProfile = self.profile("runtimes", spec.runtime, [*loc, "runtime"])
        self.profile("images", spec.image, [*loc, "image"])
        if spec.workload:
            self.profile("workloads", spec.workload, [*loc, "workload"])
        if kernel.family not in engine.os_families:
            raise self.fail([*loc, "engine"], f"an engine that runs on {kernel.family} "
                            "(for Linux containers on macOS or Windows, run them in a Linux VM)",
                            f"'{engine.name}', which runs on {', '.join(engine.os_families)}")
        if kernel.family not in runtime.os_families:
            raise self.fail([*loc, "runtime"], f"a runtime that runs on {kernel.family}",
                            f"'{runtime.name}', which runs on {', '.join(runtime.os_families)}")


def _management_kernel(host: HostSpec, catalog: Catalog) -> str:
    """The management OS kernel of the host's bare-metal hypervisor, if it names one.

    Xen's dom0 and Hyper-V's parent partition run the hypervisor profile's
    ``management_kernel``, not the machine's default OS.
    """
    names = {vm.hypervisor for vm in host.vms}
    if len(names) != 1:  # several hypervisors: validation says what is wrong with them
        return ""
    hyper = catalog.get("hypervisors", names.pop())
    if isinstance(hyper, HypervisorProfile) and hyper.placement == "bare-metal":
        return hyper.management_kernel
    return ""
