"""Compatibility resolver: can this container image run on this kernel and host?

A container shares the kernel it runs on, so an image is only portable as far
as its binaries' ABI is. :func:`resolve` walks the checks a real engine and
C library make, in the order they bite, and answers with one of four outcomes:

``native``
    Same OS family, the host's architecture is published, and the kernel is
    new enough, has the features the image needs and keeps the vsyscall page
    if the image's old glibc uses it.
``emulated``
    The image is published only for other architectures but a Linux kernel
    with binfmt_misc hands its binaries to QEMU user-mode emulation (about 4x
    slower on integer code, 10x on floating point; MEASUREMENTS.md Emulation).
``needs-vm``
    The image's OS family differs from the kernel's; a VM of the right OS
    (a Linux VM such as Docker Desktop or WSL 2, or a Windows host/Hyper-V)
    would run it.
``impossible``
    The kernel is too old (glibc's "FATAL: kernel too old"), lacks a required
    feature, was built with ``vsyscall=none`` for an image that needs vsyscall,
    or the architecture is not published and cannot be emulated.

``reason`` carries the message the real tools print. :func:`exec_in` models
``docker exec`` looking a command up in the image, and :func:`attack_surface`
summarises how much the image ships.
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

LINUX_VM = "a Linux VM (Docker Desktop, WSL 2)"
WINDOWS_VM = "a Windows host or Hyper-V"


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


def resolve(
    image: ImageProfile, kernel: KernelProfile, host_arch: str, binfmt: bool = True
) -> Compatibility:
    """Decide whether ``image`` runs on ``kernel`` on a ``host_arch`` machine.

    ``binfmt`` says whether QEMU user-mode handlers are registered with
    binfmt_misc (only a Linux kernel has binfmt_misc; gVisor does not).
    """
    kos = _kernel_os(kernel)
    if image.os != kos:
        return _os_mismatch(image)

    emulator = ""
    if host_arch not in image.arches:
        if binfmt and kernel.family == "linux" and host_arch in QEMU_USER_ARCHES:
            emulator = "qemu-user"
        elif len(image.arches) > 1:
            return Compatibility(
                "impossible",
                f"no matching manifest for {image.os}/{host_arch} in the manifest list entries",
            )
        else:
            return Compatibility(
                "impossible",
                f"exec /{image.entrypoint.lstrip('/') or 'entrypoint'}: exec format error "
                f"(image is {'/'.join(image.arches)} only, host is {host_arch}, "
                "no binfmt_misc handler)",
            )

    if image.os == "windows":
        if version_lt(kernel.version, image.min_kernel):
            return Compatibility(
                "impossible",
                f"a Windows version {image.min_kernel}-based image is incompatible "
                f"with a {kernel.version} host",
            )
    else:
        if version_lt(kernel.version, image.min_kernel):
            reason = "FATAL: kernel too old" if image.libc == "glibc" else "kernel too old"
            return Compatibility(
                "impossible",
                f"{reason} (image needs Linux >= {image.min_kernel}, kernel is {kernel.version})",
            )
        if image.uses_vsyscall and kernel.vsyscall == "none":
            return Compatibility(
                "impossible",
                "vsyscall attempted with vsyscall=none (segfault, exit code 139)",
            )

    missing = [f for f in image.required_features if f not in kernel.features]
    if missing:
        return Compatibility(
            "impossible", f"kernel {kernel.name} lacks required feature(s): {', '.join(missing)}"
        )

    if emulator:
        return Compatibility(
            "emulated",
            f"image published for {', '.join(image.arches)} only; {host_arch} host runs it "
            "under QEMU user-mode emulation via binfmt_misc (about 4x slower integer, "
            "10x floating point)",
            emulator,
        )
    return Compatibility("native", f"{image.os}/{host_arch} image runs on {kernel.name}")


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
