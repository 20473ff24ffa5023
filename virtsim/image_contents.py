"""Image contents: what a container image ships, and what ``docker exec`` finds in it.

:func:`exec_in` models ``docker exec`` looking a command up in the image (a
``FROM scratch`` image has no shell, so ``sh`` fails as the real tool says);
:func:`attack_surface` summarises how much the image ships.
"""

from __future__ import annotations

from dataclasses import dataclass

from virtsim.profiles import ImageProfile


@dataclass(frozen=True)
class ExecResult:
    """Result of running a command inside an image."""

    ok: bool
    message: str


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
