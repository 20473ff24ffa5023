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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from virtsim.profiles import ImageProfile, KernelProfile

Outcome = Literal["native", "emulated", "needs-vm", "impossible"]

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


def version_tuple(version: str) -> tuple[int, ...]:
    """``"5.15"`` -> ``(5, 15)``; non-numeric parts count as 0."""
    parts: list[int] = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def release(version: str) -> str:
    """A version as tables write it: at least major.minor.patch (``"6.10"`` -> ``"6.10.0"``).

    A two-part version in a CSV file looks like a decimal number: pandas reads
    ``6.10`` as the float 6.1 and ``24.0`` as 24. With a patch level it stays
    text and still names the same release. Versions that are not dotted
    numbers are left as they are.
    """
    parts = version.split(".")
    if not all(part.isdigit() for part in parts):
        return version
    return ".".join(parts + ["0"] * (3 - len(parts)))


def version_lt(a: str, b: str) -> bool:
    """True when version ``a`` is numerically older than ``b`` (``"3.11" < "5.1"``)."""
    ta, tb = version_tuple(a), version_tuple(b)
    width = max(len(ta), len(tb))
    return ta + (0,) * (width - len(ta)) < tb + (0,) * (width - len(tb))


def kernel_os(kernel: KernelProfile) -> str:
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
    if image.os != kernel_os(kernel):
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
