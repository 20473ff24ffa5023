"""Compatibility resolver: can this container image run on this kernel and host, and how?

A container shares the kernel it runs on, so an image is only portable as far
as its binaries' ABI is. :func:`resolve` walks the checks a real engine and
C library make, in the order they bite, and answers with one of four outcomes:

``native``
    Same OS family, the host's architecture is published, and the kernel is
    new enough, has the features the image needs and keeps the vsyscall page
    if the image's old glibc uses it.
``emulated``
    The image is published only for other architectures but a Linux kernel
    with binfmt_misc hands its binaries to an emulator: QEMU user mode, or
    Rosetta 2 where the kernel registers it (Docker Desktop on Apple silicon).
    The slowdown is the emulator's ``layer_costs`` profile.
``needs-vm``
    The image's OS family differs from the kernel's; a VM of the right OS
    (a Linux VM such as Docker Desktop or WSL 2, or a Windows host/Hyper-V)
    would run it.
``impossible``
    The kernel is too old (glibc's "FATAL: kernel too old"), lacks a required
    feature, was built with ``vsyscall=none`` for an image that needs vsyscall,
    or the architecture is not published and cannot be emulated.

``reason`` carries the message the real tools print.

A *placement* answers the user's question one level up: this image on this
host, as a platform sets it up (:class:`Target`). :func:`place` adds the
outcome ``vm`` (it runs, inside the platform's Linux VM or a Hyper-V
utility VM), names how, and composes the layer costs on the way, so the
slowdown per demand type of a VM or an emulator comes with it.
:func:`matrix` tabulates images against targets. :class:`CompatibilityReport`
is the run hook that tells, for every container of a scenario, how it runs.

:func:`exec_in` models ``docker exec`` looking a command up in the image, and
:func:`attack_surface` summarises how much the image ships.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from virtsim.profiles import (
    HostProfile,
    ImageProfile,
    KernelProfile,
    LayerCostProfile,
    PlatformProfile,
    RuntimeProfile,
)
from virtsim.result import Record, Scalar

if TYPE_CHECKING:
    from virtsim.catalog import Catalog
    from virtsim.graph import ResourceGraph
    from virtsim.simulation import Simulation

Outcome = Literal["native", "emulated", "needs-vm", "impossible"]
Placement = Literal["native", "vm", "emulated", "needs-vm", "impossible"]
PLACEMENTS: tuple[Placement, ...] = ("native", "vm", "emulated", "needs-vm", "impossible")
"""Every way an image can end up on a host, most direct first."""

QEMU_USER_ARCHES: frozenset[str] = frozenset(
    {"amd64", "arm64", "arm", "riscv64", "ppc64le", "s390x"}
)
"""Architectures qemu-user can emulate through binfmt_misc."""

QEMU_USER = "qemu-user"
ROSETTA = "rosetta"
ROSETTA_FEATURE = "binfmt-rosetta"
"""Kernel feature: binfmt_misc hands amd64 binaries to Rosetta 2 (arm64 Macs only)."""

LINUX_VM = "a Linux VM (Docker Desktop, WSL 2)"
WINDOWS_VM = "a Windows host or Hyper-V"

FEATURE_ERRORS: dict[str, str] = {
    "io_uring": "io_uring_setup: Function not implemented (ENOSYS)",
    "clone3": "clone3: Function not implemented (ENOSYS)",
    "statx": "statx: Function not implemented (ENOSYS)",
    "cgroup2": "cgroup v2 is not mounted: /sys/fs/cgroup/cgroup.controllers not found",
    "cgroup1": "Failed to mount cgroup at /sys/fs/cgroup/systemd: Operation not permitted",
    "seccomp": "seccomp: config provided but seccomp not supported",
    "user-namespaces": "user namespaces are not enabled in this kernel",
    "overlayfs": "error creating overlay mount: no such device",
}
"""What a program or engine prints when the kernel lacks a feature it needs."""


@dataclass(frozen=True)
class Compatibility:
    """Whether and how an image runs: outcome, the tools' message, emulator used."""

    outcome: Outcome
    reason: str
    emulator: str = ""


@dataclass(frozen=True)
class ExecResult:
    """Result of running a command inside an image."""

    ok: bool
    message: str


def version_tuple(version: str) -> tuple[int, ...]:
    """``"5.15"`` -> ``(5, 15)``; non-numeric parts count as 0."""
    parts: list[int] = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def version_lt(a: str, b: str) -> bool:
    """True when version ``a`` is numerically older than ``b`` (``"3.11" < "5.1"``)."""
    ta, tb = version_tuple(a), version_tuple(b)
    width = max(len(ta), len(tb))
    return ta + (0,) * (width - len(ta)) < tb + (0,) * (width - len(tb))


def _kernel_os(kernel: KernelProfile) -> str:
    """The OS whose ABI the kernel offers (gVisor's Sentry offers Linux's)."""
    return "linux" if kernel.family == "gvisor" else kernel.family


def _os_mismatch(image: ImageProfile) -> Compatibility:
    reason = f'image operating system "{image.os}" cannot be used on this platform'
    if image.os == "linux":
        return Compatibility("needs-vm", f"{reason}; run it in {LINUX_VM}")
    if image.os == "windows":
        return Compatibility("needs-vm", f"{reason}; run it on {WINDOWS_VM}")
    return Compatibility("impossible", f"{reason}; no {image.os} container runtime exists")


def _emulator(image: ImageProfile, kernel: KernelProfile, host_arch: str, binfmt: bool) -> str:
    """The binfmt_misc handler that would run the image's binaries, or ``""``."""
    if not binfmt or kernel.family != "linux":
        return ""
    if host_arch == "arm64" and "amd64" in image.arches and ROSETTA_FEATURE in kernel.features:
        return ROSETTA
    return QEMU_USER if host_arch in QEMU_USER_ARCHES else ""


def _arch_refusal(image: ImageProfile, host_arch: str) -> Compatibility:
    if len(image.arches) > 1:
        return Compatibility(
            "impossible",
            f"no matching manifest for {image.os}/{host_arch} in the manifest list entries",
        )
    return Compatibility(
        "impossible",
        f"exec /{image.entrypoint.lstrip('/') or 'entrypoint'}: exec format error "
        f"(image is {'/'.join(image.arches)} only, host is {host_arch}, no binfmt_misc handler)",
    )


def _abi_refusal(image: ImageProfile, kernel: KernelProfile) -> Compatibility | None:
    """The kernel-version, vsyscall and feature checks, in the order they bite."""
    if image.os == "windows":
        if version_lt(kernel.version, image.min_kernel):
            return Compatibility(
                "impossible",
                f"a Windows version {image.min_kernel}-based image is incompatible "
                f"with a {kernel.version} host",
            )
        return None
    if version_lt(kernel.version, image.min_kernel):
        reason = "FATAL: kernel too old" if image.libc == "glibc" else "kernel too old"
        return Compatibility(
            "impossible",
            f"{reason} (image needs Linux >= {image.min_kernel}, kernel is {kernel.version})",
        )
    if image.uses_vsyscall and kernel.vsyscall == "none":
        return Compatibility(
            "impossible", "vsyscall attempted with vsyscall=none (segfault, exit code 139)"
        )
    missing = [f for f in image.required_features if f not in kernel.features]
    if missing:
        said = "; ".join(FEATURE_ERRORS.get(f, f"{f}: not supported") for f in missing)
        return Compatibility(
            "impossible",
            f"{said} (kernel {kernel.name} {kernel.version} lacks required feature(s): "
            f"{', '.join(missing)})",
        )
    return None


def resolve(
    image: ImageProfile, kernel: KernelProfile, host_arch: str, binfmt: bool = True
) -> Compatibility:
    """Decide whether ``image`` runs on ``kernel`` on a ``host_arch`` machine.

    ``binfmt`` says whether emulators are registered with binfmt_misc (only a
    Linux kernel has binfmt_misc; gVisor does not).
    """
    if image.os != _kernel_os(kernel):
        return _os_mismatch(image)
    emulator = ""
    if host_arch not in image.arches:
        emulator = _emulator(image, kernel, host_arch, binfmt)
        if not emulator:
            return _arch_refusal(image, host_arch)
    refusal = _abi_refusal(image, kernel)
    if refusal is not None:
        return refusal
    if emulator:
        how = "Rosetta 2" if emulator == ROSETTA else "QEMU user-mode emulation"
        return Compatibility(
            "emulated",
            f"image published for {', '.join(image.arches)} only; {host_arch} host runs it "
            f"under {how} via binfmt_misc",
            emulator,
        )
    return Compatibility("native", f"{image.os}/{host_arch} image runs on {kernel.name}")


# -- placements: an image on a host as a platform sets it up ---------------------------


@dataclass(frozen=True)
class Target:
    """Where an image is asked to run: a host profile, its kernel and a platform.

    Attributes:
        host: A ``hosts`` profile name (its architecture and default kernel).
        kernel: A ``kernels`` profile for the host OS ("" for the host's default).
        platform: A ``platforms`` profile ("" for containers straight on the host kernel).
        label: How tables name the target ("" for ``host[/kernel][+platform]``).
        arch: The machine's architecture ("" for the host profile's), as a scenario's
            ``overrides = { arch = "arm64" }`` would set it.
    """

    host: str
    kernel: str = ""
    platform: str = ""
    label: str = ""
    arch: str = ""

    @property
    def name(self) -> str:
        """The label, or one made from the parts."""
        if self.label:
            return self.label
        kernel = f"/{self.kernel}" if self.kernel else ""
        platform = f"+{self.platform}" if self.platform else ""
        arch = f"({self.arch})" if self.arch else ""
        return f"{self.host}{arch}{kernel}{platform}"


def _hypervisor_cost(catalog: Catalog, hypervisor: str) -> str:
    """The ``layer_costs`` profile of a VM on ``hypervisor`` (untuned where there is a choice)."""
    known = set(catalog.names(LayerCostProfile.kind))
    for name in (f"{hypervisor}-untuned", hypervisor):
        if name in known:
            return name
    raise KeyError(f"no layer_costs profile for hypervisor {hypervisor!r}")


def slowdowns(catalog: Catalog, layers: Sequence[str]) -> dict[str, float]:
    """Time through ``layers`` over native time, per demand type (1 = no loss)."""
    from virtsim.layer_costs import DEMANDS, compose  # layer_costs imports this module

    cost = compose(catalog, list(layers))
    return {d: 1.0 / cost.efficiency[d] for d in DEMANDS}


def place(catalog: Catalog, image: ImageProfile, target: Target) -> Record:
    """How ``image`` runs on ``target``: one flat record.

    Keys: image, distribution, image_os, arches, target, host, host_os, arch,
    platform, kernel (the one the image's system calls would reach: the
    platform VM's where there is one), kernel_os, kernel_version, outcome
    (one of :data:`PLACEMENTS`), how (``native``, the VM, the emulator),
    emulator, message, layers (the ``layer_costs`` profiles crossed) and
    ``slowdown_<demand>`` per demand type (None where the image cannot run).
    """
    host = catalog.require(HostProfile, target.host)
    if target.arch:
        host = host.model_copy(update={"arch": target.arch})
    host_kernel = catalog.require(KernelProfile, target.kernel or host.kernel)
    platform = (catalog.require(PlatformProfile, target.platform) if target.platform else None)
    runtime = catalog.require(RuntimeProfile, platform.runtime) if platform else None
    outcome: Placement
    layers = ["native"]
    if platform is not None and platform.hypervisor:  # the engine lives in the Linux VM
        kernel = catalog.require(KernelProfile, platform.kernel)
        fit = resolve(image, kernel, host.arch)
        layers.append(_hypervisor_cost(catalog, platform.hypervisor))
        where = f"the {platform.name} Linux VM on {platform.hypervisor}"
        outcome = "vm" if fit.outcome == "native" else fit.outcome
        how = {"vm": where, "emulated": f"{fit.emulator} in {where}"}.get(outcome, "")
    elif runtime is not None and runtime.isolation == "hyperv" and image.os == "windows":
        kernel = host_kernel  # the utility VM boots the host's own Windows build
        fit = resolve(image, kernel, host.arch)
        layers.append(_hypervisor_cost(catalog, runtime.sandbox_hypervisor))
        outcome = "vm" if fit.outcome == "native" else fit.outcome
        how = "a Hyper-V isolation utility VM per container" if outcome == "vm" else ""
    else:
        kernel = host_kernel
        fit = resolve(image, kernel, host.arch)
        outcome = fit.outcome
        how = {"native": "native", "emulated": fit.emulator}.get(outcome, "")
    if fit.emulator:
        layers.append(fit.emulator)
    record: Record = {
        "image": image.name, "distribution": image.distribution, "image_os": image.os,
        "arches": "/".join(image.arches), "target": target.name, "host": host.name,
        "host_os": host_kernel.family, "arch": host.arch,
        "platform": platform.name if platform else "", "kernel": kernel.name,
        "kernel_os": _kernel_os(kernel), "kernel_version": kernel.version,
        "outcome": outcome, "how": how,
        "emulator": fit.emulator, "message": fit.reason,
        "layers": "+".join(layers) if outcome in ("native", "vm", "emulated") else "",
    }
    runs = outcome in ("native", "vm", "emulated")
    for demand, factor in slowdowns(catalog, layers).items():
        record[f"slowdown_{demand}"] = factor if runs else None
    return record


def matrix(catalog: Catalog, images: Iterable[str], targets: Iterable[Target]) -> list[Record]:
    """One :func:`place` record per (image, target), images outermost."""
    chosen = list(targets)
    return [place(catalog, catalog.require(ImageProfile, name), target)
            for name in images for target in chosen]


# -- the run hook ------------------------------------------------------------------------


def container_placement(graph: ResourceGraph,
                        container: str) -> tuple[Placement, str, Compatibility]:
    """How a container of a built stack runs: outcome, how, and the resolver's answer."""
    data = graph.graph.nodes
    kernel = data[graph.kernel_of(container)]
    fit = resolve(data[container]["profile"], kernel["profile"],
                  data[graph.machine(container)]["profile"].arch)
    outcome: Placement = fit.outcome
    how = fit.emulator or "native"
    if fit.outcome not in ("native", "emulated"):
        return outcome, "", fit
    if kernel["profile"].family == "gvisor":
        how = f"{how} on gVisor's Sentry"
    vm = next((a for a in graph.ancestors(container) if graph.kind(a) == "vm"), None)
    if vm is not None:
        hypervisor = next((str(data[a]["name"]) for a in graph.ancestors(vm)
                           if graph.kind(a) in ("hypervisor", "runtime")), "")
        inside = (f"sandbox VM of {hypervisor}" if data[vm].get("role") == "sandbox"
                  else f"VM {data[vm]['name']} on {hypervisor}")
        how = inside if how == "native" else f"{how} in {inside}"
        outcome = "vm" if fit.outcome == "native" else outcome
    return outcome, how, fit


class CompatibilityReport:
    """Run hook: one ``compatibility`` record per container; counts per outcome in the metrics."""

    def attach(self, sim: Simulation) -> None:
        """Nothing to run: compatibility is a property of the built stack."""

    def report(self, sim: Simulation) -> None:
        """Table ``compatibility`` (instance, image, kernel, arch, outcome, how, message).

        Containers on stacks of the same shape
        (:meth:`~virtsim.graph.ResourceGraph.stack_shape`) get the same answer,
        worked out once.
        """
        graph = sim.graph
        counts: Counter[str] = Counter()
        answers: dict[tuple[object, ...], tuple[tuple[str, ...], tuple[Scalar, ...],
                                                 tuple[Scalar, ...], str]] = {}
        for node in graph.nodes("container"):
            machine = graph.machine(node)
            shape = graph.stack_shape(node)
            answer = answers.get(shape)
            if answer is None:
                image_fields, rest_fields = _compatibility_record(sim, node)
                answer = answers[shape] = (
                    ("instance", *image_fields, "machine", *rest_fields),
                    tuple(image_fields.values()), tuple(rest_fields.values()),
                    str(rest_fields["outcome"]))
            keys, image, rest, outcome = answer
            counts[outcome] += 1
            sim.result.append("compatibility", keys, (node, *image, machine, *rest))
        if counts:
            sim.result.metrics["compatibility"] = {o: counts[o] for o in PLACEMENTS if counts[o]}


def _compatibility_record(sim: Simulation, node: str) -> tuple[Record, Record]:
    """A container's ``compatibility`` record without its instance and machine: the
    fields before the machine and those after it."""
    graph = sim.graph
    data = graph.graph.nodes[node]
    outcome, how, fit = container_placement(graph, node)
    kernel: KernelProfile = graph.graph.nodes[graph.kernel_of(node)]["profile"]
    host_kernel: KernelProfile = graph.graph.nodes[f"{graph.machine(node)}/kernel"]["profile"]
    image: Record = {"image": data["profile"].name,
                     "distribution": data["profile"].distribution}
    rest: Record = {
        "host_kernel": host_kernel.name, "kernel": kernel.name, "kernel_version": kernel.version,
        "arch": graph.graph.nodes[graph.machine(node)]["profile"].arch,
        "outcome": outcome, "how": how, "emulator": fit.emulator, "message": fit.reason}
    return image, rest | _path_slowdowns(sim, node, outcome)


def _path_slowdowns(sim: Simulation, container: str, outcome: Placement) -> Record:
    """The layers under a container and its slowdown per demand type through them."""
    from virtsim.layer_costs import DEMANDS, layer_cost_names

    record: Record = {"layers": ""} | {f"slowdown_{d}": None for d in DEMANDS}
    if outcome not in ("native", "vm", "emulated"):
        return record
    try:
        layers = layer_cost_names(sim.graph, container, sim.catalog)
    except KeyError:  # a hypervisor without a layer cost profile: say nothing
        return record
    record["layers"] = "+".join(layers)
    record.update({f"slowdown_{d}": v for d, v in slowdowns(sim.catalog, layers).items()})
    return record


# -- image contents ----------------------------------------------------------------------


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def exec_in(image: ImageProfile, command: str) -> ExecResult:
    """Look ``command`` up in the image as ``docker exec`` would.

    A bare name is matched against the basenames of ``image.executables``
    (on Windows case-insensitively and with ``.exe`` optional); a path must
    match exactly.
    """
    windows = image.os == "windows"

    def norm(s: str) -> str:
        return s.lower() if windows else s

    if "/" in command or "\\" in command:
        if any(norm(e) == norm(command) for e in image.executables):
            return ExecResult(True, f"exec {command}")
        return ExecResult(False, f'exec: "{command}": stat {command}: no such file or directory')
    for exe in image.executables:
        base = norm(_basename(exe))
        wanted = norm(command)
        if base == wanted or (windows and base == f"{wanted}.exe"):
            return ExecResult(True, f"exec {exe}")
    return ExecResult(False, f'exec: "{command}": executable file not found in $PATH')


def attack_surface(image: ImageProfile) -> dict[str, float | int]:
    """What the image ships: sizes in MiB, executable count, package count."""
    return {
        "size_mib": image.size_mib,
        "compressed_mib": image.compressed_mib,
        "executables": len(image.executables),
        "packages": image.packages,
    }
