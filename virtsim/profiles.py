"""Catalogue profiles: the typed shape of every calibrated parameter.

Each file in ``models/<kind>/<name>.toml`` is validated on load into one of
the frozen classes below. A profile's name is its file name. Every profile
carries ``sources``: for each numeric key, the paper, table or document it
came from, or the words ``assumption: ...``. Units are in the key names.

Stages (:class:`Stage`) are the steps of a start procedure: each has an
uncontended duration drawn from a distribution, the share of that time that
is work on the host (CPU-seconds, MiB read from disk, MiB fetched over the
network) and optionally the name of a lock it holds.
"""

from __future__ import annotations

from types import UnionType
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from virtsim.distributions import Distribution, check_magnitude

Arch = Literal["amd64", "arm64", "arm", "riscv64", "ppc64le", "s390x"]
OsFamily = Literal["linux", "windows", "darwin"]
KernelFamily = Literal["linux", "windows", "darwin", "gvisor", "vmkernel"]


class Model(BaseModel):
    """Base for every typed piece of input: frozen, unknown keys rejected, strict.

    Strict: a string is not a number (``count = "3"``), a boolean is not a
    number (``seed = true``) and a fraction is not a whole number. Every
    number is finite, and every decimal one is 0 or of a magnitude a
    simulation can divide by and multiply without overflow (see
    :func:`~virtsim.distributions.check_magnitude`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, strict=True,
                              allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _arrays_as_tuples(cls, data: Any) -> Any:
        # Strict models take a tuple where they hold one; TOML arrays parse as lists.
        if not isinstance(data, dict):
            return data
        names = _tuple_keys(cls)
        if not any(isinstance(data.get(key), list) for key in names):
            return data
        return {k: tuple(v) if k in names and isinstance(v, list) else v for k, v in data.items()}

    @field_validator("*", mode="after")
    @classmethod
    def _sane_magnitude(cls, value: Any) -> Any:
        return check_magnitude(value)


_TUPLE_KEYS: dict[type[BaseModel], frozenset[str]] = {}


def _tuple_keys(cls: type[BaseModel]) -> frozenset[str]:
    """Names and aliases of the fields of ``cls`` that hold a tuple."""
    keys = _TUPLE_KEYS.get(cls)
    if keys is None:
        found = set()
        for name, info in cls.model_fields.items():
            annotation = info.annotation
            options = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (
                annotation,)
            if any(get_origin(option) is tuple for option in options):
                found |= {name, info.alias or name}
        keys = _TUPLE_KEYS[cls] = frozenset(found)
    return keys


class Stage(Model):
    """One step of a start procedure.

    Attributes:
        name: Stage name as shown in timelines (``"firmware"``, ``"kernel"``).
        wall_s: Uncontended duration of the stage.
        cpu_s: CPU-seconds of work on the host within that time.
        read_mib: MiB read from the host's disk within that time.
        fetch_mib: MiB fetched over the host's network within that time.
        lock: Name of a per-host lock held for the whole stage ("" for none).
        phase: ``start`` stages count toward readiness; ``stop`` stages are teardown.
        source: Where the figures come from, or ``"assumption: ..."``.
    """

    name: str
    wall_s: Distribution
    cpu_s: float = Field(default=0.0, ge=0)
    read_mib: float = Field(default=0.0, ge=0)
    fetch_mib: float = Field(default=0.0, ge=0)
    lock: str = ""
    networks: tuple[Literal["nat", "host", "none"], ...] = Field(
        default=(), description="network modes the stage runs for (empty: every mode)")
    phase: Literal["start", "stop"] = Field(
        default="start", description="'stop' stages run after the process exits (teardown)"
    )
    source: str


class Profile(Model):
    """Fields common to every catalogue profile."""

    kind: ClassVar[str] = ""
    name: str
    description: str = ""
    sources: dict[str, str] = Field(default_factory=dict)


class HostProfile(Profile):
    """A physical machine: cores, memory, disk, network, firmware and power."""

    kind: ClassVar[str] = "hosts"
    arch: Arch = "amd64"
    sockets: int = Field(default=1, ge=1, le=16)
    cores: int = Field(ge=1, le=4096, description="physical cores in all sockets")
    threads_per_core: int = Field(default=1, ge=1, le=8)
    memory_gib: float = Field(ge=0.0625, le=65536)
    memory_bandwidth_gbs: float = Field(gt=0)
    l3_mib_per_socket: float = Field(default=0.0, ge=0)
    disk_gib: float = Field(gt=0)
    disk_read_mbs: float = Field(gt=0)
    disk_write_mbs: float = Field(gt=0)
    disk_read_iops: float = Field(gt=0)
    disk_write_iops: float = Field(gt=0)
    nic_gbps: float = Field(gt=0)
    firmware: Literal["bios", "uefi"] = "uefi"
    kernel: str = Field(description="default host kernel profile")
    power_idle_w: float = Field(default=0.0, ge=0)
    power_max_w: float = Field(default=0.0, ge=0)
    boot: tuple[Stage, ...] = Field(default=(), description="firmware POST and loader")


class KernelProfile(Profile):
    """An operating-system kernel with the user space that boots with it on a host.

    A guest kernel's user space comes from the VM's disk image instead.
    """

    kind: ClassVar[str] = "kernels"
    family: KernelFamily
    version: str = Field(pattern=r"^\d+(\.\d+){0,2}$")
    arch: Arch = "amd64"
    features: tuple[str, ...] = ()
    vsyscall: Literal["emulate", "xonly", "none"] = "xonly"
    compressed: bool = True
    minimal: bool = False
    serial_console: bool = False
    memory_mib: float = Field(ge=0, description="resident kernel memory")
    boot: tuple[Stage, ...] = ()
    userspace: tuple[Stage, ...] = Field(default=(), description="host OS services")
    userspace_memory_mib: float = Field(default=0.0, ge=0)


class HypervisorProfile(Profile):
    """A hypervisor: bare metal (type 1), in the host kernel (KVM) or hosted (type 2)."""

    kind: ClassVar[str] = "hypervisors"
    placement: Literal["bare-metal", "in-kernel", "hosted"]
    host_families: tuple[OsFamily, ...] = Field(
        default=(), description="kernel families it runs on; empty for bare metal"
    )
    management_kernel: str = Field(
        default="", description="for bare metal: the management OS kernel (dom0, parent)"
    )
    hardware_assisted: bool = True
    guest_arches: tuple[Arch, ...] = ("amd64",)
    vmms: tuple[str, ...] = Field(min_length=1, description="VMM profiles it can drive")
    memory_mib: float = Field(default=0.0, ge=0)
    emulation: str = Field(default="", description="emulation profile its guests run under "
                           "(empty: hardware-assisted, native speed)")
    boot: tuple[Stage, ...] = ()

    @property
    def type(self) -> int:
        """1 for a bare-metal or in-kernel hypervisor, 2 for a hosted one."""
        return 2 if self.placement == "hosted" else 1


class VmmProfile(Profile):
    """A virtual machine monitor: the per-VM process that emulates the machine."""

    kind: ClassVar[str] = "vmms"
    microvm: bool = False
    firmware: Literal["bios", "uefi", "none"] = "bios"
    devices: Literal["virtio", "emulated", "paravirtual"] = "virtio"
    memory_mib: float = Field(ge=0, description="fixed VMM overhead per VM")
    memory_per_vcpu_mib: float = Field(default=0.0, ge=0)
    max_vcpus: int = Field(default=512, ge=1, le=4096)
    start: tuple[Stage, ...] = Field(default=(), description="process start and guest firmware")


class EngineProfile(Profile):
    """A container engine (dockerd, containerd, podman): API, images, shims."""

    kind: ClassVar[str] = "engines"
    os_families: tuple[OsFamily, ...] = ("linux",)
    daemon: bool = True
    memory_mib: float = Field(ge=0, description="resident daemon memory")
    shim_memory_mib: float = Field(default=0.0, ge=0, description="per running container")
    max_concurrent_downloads: int = Field(default=3, ge=1, le=1024)
    restart_delay_s: float = Field(default=0.0, ge=0, description="first restart back-off")
    decompress_mibs_per_core: float = Field(gt=0)
    pulls: bool = Field(default=True, description="false: runs a bundle already on disk")
    nat_rules_per_container: int = Field(default=0, ge=0, description="NAT rules a container "
                                         "on its default bridge adds")
    firewall: Literal["iptables", "nftables"] = "iptables"
    state_memory_per_container_mib: float = Field(default=0.0, ge=0)
    host_mounts_per_container: int = Field(default=0, ge=0, description="mounts each running "
                                           "container adds to the host's table (rootfs, shm)")
    mountinfo_reads_per_start: int = Field(default=0, ge=0, le=10_000, description="times the "
                                           "daemon reads the host's mount table per start")
    api: tuple[Stage, ...] = Field(default=(), description="client to daemon to runtime path")


class RuntimeProfile(Profile):
    """A low-level container runtime (runc, crun, runsc, kata) and its isolation."""

    kind: ClassVar[str] = "runtimes"
    os_families: tuple[OsFamily, ...] = ("linux",)
    isolation: Literal["namespaces", "user-kernel", "microvm", "hyperv"]
    sandbox_kernel: str = Field(default="", description="gVisor sentry or Kata guest kernel")
    sandbox_vmm: str = Field(default="", description="VMM of a microVM sandbox")
    sandbox_hypervisor: str = ""
    sandbox_vcpus: int = Field(default=1, ge=1, le=1024)
    sandbox_memory_mib: float = Field(default=0.0, ge=0)
    memory_mib: float = Field(ge=0, description="per container, empty process")
    kernel_objects: tuple[Literal["cgroup", "mount-namespace", "network-namespace", "veth",
                                  "ipc-namespace"], ...] = Field(
        default=(), description="kernel objects its create makes (see kernel_objects)")
    mountinfo_reads_per_create: int = Field(default=0, ge=0, le=10_000, description="times "
                                            "one create reads the host's mount table")
    create: tuple[Stage, ...] = ()


class Layer(Model):
    """One image layer, stored once per host by digest."""

    digest: str = Field(min_length=1)
    compressed_mib: float = Field(ge=0)
    size_mib: float = Field(ge=0)
    codec: Literal["gzip", "zstd"] = "gzip"


class ImageProfile(Profile):
    """A container image: layers, target OS and architectures, contents, ABI needs."""

    kind: ClassVar[str] = "images"
    os: OsFamily = "linux"
    arches: tuple[Arch, ...] = ("amd64",)
    distribution: str = "none"
    libc: Literal["none", "musl", "glibc", "windows"] = "none"
    libc_version: str = ""
    min_kernel: str = Field(default="0", pattern=r"^\d+(\.\d+){0,2}$")
    required_features: tuple[str, ...] = ()
    uses_vsyscall: bool = False
    layers: tuple[Layer, ...] = Field(min_length=1)
    executables: tuple[str, ...] = ()
    packages: int = Field(default=0, ge=0, le=1_000_000)
    entrypoint: str = ""
    process_memory_mib: float = Field(default=1.0, ge=0)

    @property
    def compressed_mib(self) -> float:
        """Download size of all layers."""
        return sum(layer.compressed_mib for layer in self.layers)

    @property
    def size_mib(self) -> float:
        """Unpacked size of all layers."""
        return sum(layer.size_mib for layer in self.layers)


class DiskImageProfile(Profile):
    """A VM disk image: guest OS, file and virtual sizes, boot and idle memory."""

    kind: ClassVar[str] = "disk_images"
    os: OsFamily = "linux"
    arch: Arch = "amd64"
    distribution: str
    format: Literal["qcow2", "raw", "vhd", "vhdx", "vmdk"] = "qcow2"
    file_mib: float = Field(gt=0)
    virtual_gib: float = Field(gt=0)
    kernel: str = Field(description="guest kernel profile the image boots")
    min_memory_mib: float = Field(ge=0)
    linked_overlay_mib: float = Field(ge=0, description="a linked clone's own overlay file")
    idle_memory_mib: float = Field(ge=0, description="guest user space resident at idle")
    zeroes_free_memory: bool = Field(default=False, description="the guest writes every free "
                                     "page at boot, so all its RAM becomes resident")
    boot: tuple[Stage, ...] = Field(default=(), description="bootloader and user space")
    first_boot: tuple[Stage, ...] = Field(default=(), description="a generalized image's first "
                                          "boot from a cold copy (Windows specialize, reboots)")


class Operation(Model):
    """One kind of operation in a workload's mix, with what it asks of each mechanism.

    Counts are per operation; ``count`` is how many of this operation one
    transaction or request holds (sysbench's 10 point SELECTs, redis-benchmark's
    one GET). System calls are split by class because layers price them
    differently: ``cheap`` (getpid, clock, epoll bookkeeping), ``file`` (read or
    write on an open file), ``network`` (send, recv, accept), ``mmap`` (mmap,
    munmap, brk, mprotect). ``file_opens`` are path look-ups (open, stat) that a
    gVisor gofer serves with an IPC round trip. Disk I/O is sequential bytes
    (bandwidth-bound) or random operations (IOPS-bound); ``fsyncs`` each wait
    for a device flush. ``round_trips`` are client-visible network round trips.

    Attributes:
        name: Operation name (``"point-select"``, ``"get"``).
        count: Operations of this kind per transaction or request.
        cpu_us: User-level CPU work per operation, natively, in microseconds.
        fp_share: Share of ``cpu_us`` that is floating-point code (0..1).
        memory_mb: Memory traffic streamed per operation, in MB.
        source: Where the operation's figures come from.
    """

    name: str
    count: float = Field(default=1.0, gt=0)
    cpu_us: float = Field(default=0.0, ge=0)
    fp_share: float = Field(default=0.0, ge=0, le=1)
    memory_mb: float = Field(default=0.0, ge=0)
    syscalls_cheap: float = Field(default=0.0, ge=0)
    syscalls_file: float = Field(default=0.0, ge=0)
    syscalls_network: float = Field(default=0.0, ge=0)
    syscalls_mmap: float = Field(default=0.0, ge=0)
    file_opens: float = Field(default=0.0, ge=0)
    page_faults: float = Field(default=0.0, ge=0)
    execs: float = Field(default=0.0, ge=0)
    disk_read_kib: float = Field(default=0.0, ge=0)
    disk_write_kib: float = Field(default=0.0, ge=0)
    disk_read_ops: float = Field(default=0.0, ge=0)
    disk_write_ops: float = Field(default=0.0, ge=0)
    fsyncs: float = Field(default=0.0, ge=0)
    net_kib: float = Field(default=0.0, ge=0)
    packets: float = Field(default=0.0, ge=0)
    round_trips: float = Field(default=0.0, ge=0)
    source: str


class WorkloadProfile(Profile):
    """What a process asks of the machine, as a demand vector per job or request.

    A ``batch`` workload runs ``jobs`` units of the demand and reports its
    completion time; a ``service`` receives requests at ``arrival_rate_per_s``
    (open loop) or from ``clients`` concurrent clients that each wait
    ``think_time_s`` between a response and their next request (closed loop),
    and reports throughput and latency.

    A workload given as an operation mix (``operations``) has its demand
    composed from the mix through each layer's mechanisms
    (:mod:`virtsim.operations`); the flat demand fields then stay zero.
    """

    kind: ClassVar[str] = "workloads"
    mode: Literal["batch", "service"] = "batch"
    threads: int = Field(default=1, ge=1, le=65_536)
    memory_mib: float = Field(default=16.0, ge=0)
    cpu_core_s: float = Field(default=0.0, ge=0)
    fp_share: float = Field(default=0.0, ge=0, le=1,
                            description="share of cpu_core_s that is floating-point code")
    memory_gb: float = Field(default=0.0, ge=0, description="streamed memory traffic")
    random_access_mupdates: float = Field(default=0.0, ge=0)
    disk_seq_mib: float = Field(default=0.0, ge=0)
    disk_random_ops: float = Field(default=0.0, ge=0)
    net_stream_mib: float = Field(default=0.0, ge=0)
    net_round_trips: float = Field(default=0.0, ge=0)
    syscalls: float = Field(default=0.0, ge=0)
    arrival_rate_per_s: float = Field(default=0.0, ge=0)
    clients: int = Field(default=0, ge=0, description="closed loop: concurrent clients")
    think_time_s: float = Field(default=0.0, ge=0, description="closed loop: client pause")
    operations: tuple[Operation, ...] = Field(
        default=(), description="the operation mix of one transaction or request")
    start: tuple[Stage, ...] = Field(default=(), description="application start")


PROFILE_KINDS: dict[str, type[Profile]] = {
    cls.kind: cls
    for cls in (
        HostProfile,
        KernelProfile,
        HypervisorProfile,
        VmmProfile,
        EngineProfile,
        RuntimeProfile,
        ImageProfile,
        DiskImageProfile,
        WorkloadProfile,
    )
}
"""Catalogue folder name -> the profile class its files are validated into."""


class LayerCostProfile(Profile):
    """What one layer of a stack costs the work that runs through it.

    Efficiencies are the fraction of the layer's underlying capacity that work
    inside it gets, per demand type (1 = no loss); nested layers multiply.
    ``round_trip_us`` and ``syscall_ns`` are latency added per network round trip
    and per system call; nested layers add. The ``native`` profile holds the
    bare-metal base latencies (and a random-access rate the host profile lacks).

    The mechanism fields price an operation mix (:mod:`virtsim.operations`):
    host CPU a layer adds per system call of each class, per gofer path look-up,
    page fault, exec, packet and disk operation, latency per fsync, and the
    per-operation time of a serial device thread (a single-queue VMM). On the
    ``native`` profile they are the bare-metal base costs themselves. All are
    per-operation times or ratios, never rates of one host.
    """

    kind: ClassVar[str] = "layer_costs"
    cpu: float = Field(default=1.0, gt=0, le=1)
    memory_bw: float = Field(default=1.0, gt=0, le=1)
    random_access: float = Field(default=1.0, gt=0, le=1)
    disk_seq: float = Field(default=1.0, gt=0, le=1)
    disk_random: float = Field(default=1.0, gt=0, le=1)
    net_stream: float = Field(default=1.0, gt=0, le=1)
    round_trip_us: float = Field(default=0.0, ge=0)
    syscall_ns: float = Field(default=0.0, ge=0)
    random_access_mups: float = Field(
        default=0.0, ge=0, description="native only: random updates per second (millions)"
    )
    cache_interference_per_neighbour: float = Field(
        default=0.0, ge=0, le=1,
        description="native only: CPU and memory capacity lost per co-running workload")
    cache_interference_max_neighbours: int = Field(
        default=0, ge=0, le=1_000_000,
        description="native only: neighbours beyond this add no more loss")
    cpu_fp: float | None = Field(
        default=None, gt=0, le=1, description="floating-point work's efficiency (default: cpu)")
    disk_seq_write: float | None = Field(
        default=None, gt=0, le=1, description="sequential writes (default: disk_seq)")
    disk_random_write: float | None = Field(
        default=None, gt=0, le=1, description="random writes (default: disk_random)")
    syscall_cheap_ns: float = Field(default=0.0, ge=0, description="host CPU per cheap syscall")
    syscall_file_ns: float = Field(default=0.0, ge=0, description="host CPU per file syscall")
    syscall_network_ns: float = Field(default=0.0, ge=0,
                                      description="host CPU per network syscall")
    syscall_mmap_ns: float = Field(default=0.0, ge=0,
                                   description="host CPU per memory-mapping syscall")
    file_open_us: float = Field(default=0.0, ge=0,
                                description="per path look-up: a gofer IPC round trip")
    page_fault_ns: float = Field(default=0.0, ge=0, description="host CPU per page fault")
    exec_ms: float = Field(default=0.0, ge=0,
                           description="host CPU per exec (image load, re-translation)")
    packet_ns: float = Field(default=0.0, ge=0, description="host CPU per network packet")
    disk_op_cpu_us: float = Field(default=0.0, ge=0,
                                  description="host CPU per disk operation (exits, backend)")
    fsync_us: float = Field(default=0.0, ge=0, description="latency per fsync (flush)")
    io_thread_us: float = Field(
        default=0.0, ge=0,
        description="time per disk operation on one serial device thread per instance")
    io_thread_ns_per_kib: float = Field(
        default=0.0, ge=0, description="time per KiB on one serial disk thread per instance")
    net_thread_ns_per_kib: float = Field(
        default=0.0, ge=0, description="time per KiB on one serial network thread per instance")

    @model_validator(mode="after")
    def _native_base_latencies(self) -> LayerCostProfile:
        # The native profile holds the base of every ratio the performance model takes.
        if self.name == NATIVE_LAYER:
            for key in ("round_trip_us", "random_access_mups"):
                if getattr(self, key) <= 0:
                    raise ValueError(f"the '{NATIVE_LAYER}' profile's {key} above 0 (the base "
                                     "other stacks are compared with)")
        return self


NATIVE_LAYER = "native"
"""The layer_costs profile of bare metal: base latencies and rates."""


PROFILE_KINDS["layer_costs"] = LayerCostProfile


class ExploitProfile(Profile):
    """A published exploit: which boundary it crosses and what it needs to succeed.

    A container escape succeeds when the container's runtime is listed in
    ``runtimes`` (a runtime bug) or the kernel the container shares is a
    Linux kernel within ``[kernel_min, kernel_below)`` (a kernel bug). A VM
    escape succeeds when the VM's VMM is listed in ``vmms``.
    """

    kind: ClassVar[str] = "exploits"
    crosses: Literal["container", "vm"]
    runtimes: tuple[str, ...] = ()
    vmms: tuple[str, ...] = ()
    kernel_min: str = Field(default="", pattern=r"^(\d+(\.\d+){0,2})?$")
    kernel_below: str = Field(default="", pattern=r"^(\d+(\.\d+){0,2})?$")
    cvss: float = Field(ge=0, le=10)


PROFILE_KINDS["exploits"] = ExploitProfile


class PlatformProfile(Profile):
    """Where containers really run when a user says "on this machine".

    Docker Desktop runs Linux containers inside a Linux VM on a hosted or
    bare-metal hypervisor of the host OS; the native engine runs them on
    the host kernel (``hypervisor`` empty). A scenario host with
    ``platform = "<name>"`` gets the VM built for it, sized from the host.
    """

    kind: ClassVar[str] = "platforms"
    host_families: tuple[OsFamily, ...] = Field(min_length=1)
    hypervisor: str = ""
    vmm: str = ""
    disk_image: str = ""
    kernel: str = ""
    engine: str = "docker"
    runtime: str = "runc"
    cpu_fraction: float = Field(default=1.0, ge=0.01, le=1)
    memory_fraction: float = Field(default=0.5, ge=0.01, le=1)
    memory_cap_mib: float = Field(default=0.0, ge=0, description="0: no cap")
    file_sharing: str = Field(
        default="", description="layer_costs profile of host bind mounts into the VM (virtiofs)")


PROFILE_KINDS["platforms"] = PlatformProfile


class OrchestratorProfile(Profile):
    """What notices a failure and starts the lost instances again, and where.

    A ``local`` manager (``docker run --restart``, libvirt's ``on_crash``)
    restarts an instance in place once its host is back. A ``cluster``
    orchestrator (Kubernetes, Docker Swarm, vSphere HA, OpenStack evacuate)
    also declares a host failed after ``node_failure_detection_s`` (plus
    ``eviction_delay_s`` before it moves work away) and reschedules the
    host's instances onto other hosts with free capacity. An instance-level
    failure is noticed after ``instance_detection_s``; each restart then waits
    a back-off that starts at ``restart_delay_s`` and doubles up to
    ``restart_delay_max_s`` (reset after ``backoff_reset_s`` of clean running).
    """

    kind: ClassVar[str] = "orchestrators"
    scope: Literal["local", "cluster"]
    manages: tuple[Literal["vm", "container"], ...] = Field(min_length=1)
    placement: Literal["spread", "bin-pack"] = "spread"
    node_failure_detection_s: float = Field(default=0.0, ge=0)
    eviction_delay_s: float = Field(default=0.0, ge=0)
    instance_detection_s: float = Field(default=0.0, ge=0)
    restart_delay_s: float = Field(default=0.0, ge=0)
    restart_delay_max_s: float = Field(default=0.0, ge=0)
    backoff_reset_s: float = Field(default=0.0, ge=0)
    cpu_overcommit: float = Field(default=1.0, gt=0, description="vCPUs or CPU limits per thread")


PROFILE_KINDS["orchestrators"] = OrchestratorProfile


class FailureRateProfile(Profile):
    """How often one fault kind strikes one component, and how long repair takes.

    The profile's name is the fault kind. ``per_year`` is the rate per
    component of ``component``'s node kind; ``repair_s`` is how long the
    failed part stays out before it can start again (a machine's repair, a
    daemon's restart), on top of any reboot the lifecycle runs.
    """

    kind: ClassVar[str] = "failure_rates"
    component: Literal["machine", "kernel", "hypervisor", "vmm", "vm", "runtime", "container"]
    per_year: float = Field(ge=0)
    repair_s: Distribution | None = None


PROFILE_KINDS["failure_rates"] = FailureRateProfile


# -- mechanisms (issue 15): each calibrated on its own from component figures ----------


class KernelCostProfile(Profile):
    """What a kernel's per-container objects cost, as functions of how many exist.

    The profile's name is a kernel family (``linux``). Each object is created
    under the global kernel lock that serialises it in the real kernel, so
    concurrent starts queue (see :mod:`virtsim.kernel_objects`).
    """

    kind: ClassVar[str] = "kernel_costs"
    fix_version: str = Field(pattern=r"^\d+(\.\d+){0,2}$",
                             description="first kernel with the faster netns and mqueue paths")
    netns_create_s_before_fix: float = Field(gt=0)
    netns_create_s: float = Field(gt=0)
    mqueue_mount_s_before_fix: float = Field(ge=0)
    mqueue_mount_s: float = Field(ge=0)
    veth_create_s: float = Field(ge=0)
    iptables_base_s: float = Field(ge=0, description="one legacy iptables call, empty table")
    iptables_per_rule_s: float = Field(ge=0, description="whole-table copy, per existing rule")
    nft_rule_s: float = Field(ge=0, description="one incremental nftables rule")
    mount_copy_per_mount_s: float = Field(ge=0, description="mount-namespace copy, per host mount")
    host_base_mounts: int = Field(ge=0, description="mounts of a host with nothing running")
    mountinfo_per_mount_s: float = Field(default=0.0, ge=0, description="reading and parsing "
                                         "/proc/self/mountinfo once, per mount listed")
    cgroup_create_s: float = Field(ge=0)
    cgroup_remove_s: float = Field(ge=0)
    reclaim_s_per_gib: float = Field(ge=0, description="sys CPU to reclaim a GiB of page cache")
    reclaim_extra_at_100_cgroups: float = Field(ge=0, description="extra reclaim cost, "
                                                "as a multiple of the base, at 100 cgroups")
    reclaim_cgroup_exponent: float = Field(ge=0)


class CodecProfile(Profile):
    """A layer compression codec: how fast one core decompresses it (output MiB/s)."""

    kind: ClassVar[str] = "codecs"
    decompress_mibs_per_core: float = Field(gt=0)


class EmulationProfile(Profile):
    """CPU-time factors of code run through an emulator instead of natively.

    ``integer`` and ``float`` multiply the CPU-seconds of integer and
    floating-point work; ``exec_s_per_mib`` is the re-translation each newly
    executed image costs (user mode translates every exec afresh).
    """

    kind: ClassVar[str] = "emulation"
    mode: Literal["system", "user"]
    integer: float = Field(ge=1)
    float_factor: float = Field(ge=1, alias="float")
    exec_s_per_mib: float = Field(default=0.0, ge=0)


class ResidencyProfile(Profile):
    """How guest memory becomes resident on the host and how it comes back.

    A guest's untouched pages cost the host nothing (demand-zero mappings);
    KSM scans ``ksm_pages_to_scan`` pages every ``ksm_sleep_ms`` and merges a
    page on its second pass; free page reporting returns freed pages after
    ``free_page_report_delay_s``; a balloon gives back guest free memory at
    ``balloon_mibs``. A container's start reads ``image_read_at_start`` of its
    image's unpacked layers, which stay in the page cache (reclaimable).
    """

    kind: ClassVar[str] = "residency"
    page_kib: float = Field(gt=0)
    ksm_pages_to_scan: int = Field(ge=1)
    ksm_sleep_ms: float = Field(gt=0)
    ksm_passes_to_merge: int = Field(ge=1)
    free_page_report_delay_s: float = Field(ge=0)
    balloon_mibs: float = Field(gt=0)
    image_read_at_start: float = Field(ge=0, le=1, description="share of a container "
                                       "image's unpacked layers its start reads (page cache)")

    @property
    def ksm_scan_mibs(self) -> float:
        """MiB of guest memory KSM scans per second."""
        return self.ksm_pages_to_scan * self.page_kib / 1024.0 / (self.ksm_sleep_ms / 1000.0)


class CloudProfile(Profile):
    """A cloud's VM provisioning path: placement, volume from a snapshot, network, boot."""

    kind: ClassVar[str] = "clouds"
    placement: tuple[Stage, ...] = Field(min_length=1, description="control plane to host")
    network_attach: tuple[Stage, ...] = ()
    hydration_mibs: float = Field(gt=0, description="blocks fetched on first touch, per volume")


PROFILE_KINDS["kernel_costs"] = KernelCostProfile
PROFILE_KINDS["codecs"] = CodecProfile
PROFILE_KINDS["emulation"] = EmulationProfile
PROFILE_KINDS["residency"] = ResidencyProfile
PROFILE_KINDS["clouds"] = CloudProfile
