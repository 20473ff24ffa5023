"""C8: Linux containers need a Linux kernel, Windows containers a Windows kernel.

Scenario (built in code): Linux images (alpine, Debian) and Windows images
(Nano Server, Server Core, both ltsc2022) asked to run on

- a Linux laptop with the native Docker Engine (QEMU user-mode handlers
  registered with binfmt_misc, as the seed text suggests for "Windows
  containers on Linux");
- a Windows Server 2022 host in process isolation and in Hyper-V isolation,
  and a Windows Server 2019 host (an older build than the images);
- a Windows 11 laptop with Docker Desktop on WSL 2 (Linux containers) and
  switched to Windows containers (Hyper-V isolation);
- an Apple-silicon Mac with Docker Desktop.

:func:`virtsim.compat.matrix` says for each pair how the image runs
(natively on the host kernel, in a VM, emulated) or why not; each target is
also simulated with one container per image, and the run's
``compatibility`` table must agree.

Statements and their rules, each judged per OS family of image and place
(supported when it holds for every case, partly for some, contradicted for
none): "a Windows container runs only on a Windows host" (refused on every
other host, QEMU binfmt_misc included), "a Linux container needs a Linux
kernel" (runs exactly where a Linux kernel is, the platform's VM included),
"a container runs on any kernel of its own OS family".

Run on its own: ``python experiments/c08_kernel_family.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure as MplFigure

import virtsim
from virtsim.compat import Target, matrix, resolve
from virtsim.experiment import (
    Figure,
    Finding,
    Size,
    Statement,
    Tables,
    over_cases,
)
from virtsim.plotting import outcome_cell, outcome_patch, outcome_text_colour, slide_figure
from virtsim.profiles import ImageProfile, KernelProfile
from virtsim.reproduce import main_for
from virtsim.result import Record

CLAIM = "C8"
TITLE = "Kernel family: Linux images need Linux, Windows images need Windows"

IMAGES: tuple[str, ...] = ("alpine", "debian", "nanoserver", "servercore")

TARGETS: tuple[Target, ...] = (
    Target("laptop", platform="docker-engine-linux", label="Linux laptop\nDocker Engine"),
    Target("windows-server", platform="windows-server-containers",
           label="Windows Server 2022\nprocess isolation"),
    Target("windows-server", platform="windows-server-hyperv-containers",
           label="Windows Server 2022\nHyper-V isolation"),
    Target("windows-server", kernel="windows-server-2019", platform="windows-server-containers",
           label="Windows Server 2019\nprocess isolation"),
    Target("windows-laptop", platform="docker-desktop-windows-wsl2",
           label="Windows 11\nDesktop (WSL 2)"),
    Target("windows-laptop", platform="docker-desktop-windows-containers",
           label="Windows 11\nDesktop (Win. containers)"),
    Target("macbook-arm64", platform="docker-desktop-mac", label="macOS (arm64)\nDocker Desktop"),
)
"""Where the images are asked to run: host, host kernel, platform."""

SIMULATED: dict[Size, int] = {"tiny": 3, "quick": len(TARGETS), "full": len(TARGETS)}
"""How many of the targets are also simulated."""

OUTCOME_LABELS: dict[str, str] = {
    "native": "native: on the host kernel", "vm": "runs in a VM the platform adds",
    "emulated": "emulated", "needs-vm": "refused: needs a kernel of its OS",
    "impossible": "refused: build or version mismatch"}


def _scenario(target: Target, seed: int) -> dict[str, Any]:
    host: dict[str, Any] = {"name": "host", "profile": target.host, "platform": target.platform,
                            "cached_images": list(IMAGES),
                            "containers": [{"name": i, "image": i} for i in IMAGES]}
    if target.kernel:
        host["kernel"] = target.kernel
    return {"name": "c08", "duration_s": 120, "seed": seed, "hosts": [host]}


def run_rows(catalog: virtsim.Catalog, targets: tuple[Target, ...], seed: int) -> list[Record]:
    """Simulate each target with one container per image: the run's own verdicts."""
    rows: list[Record] = []
    results = virtsim.run_scenarios([virtsim.ScenarioJob(virtsim.parse_scenario(
        _scenario(target, seed), catalog), seed) for target in targets])
    for target, result in zip(targets, results, strict=True):
        ready = {str(r["instance"]): r["ready_s"] for r in result.table("instances")}
        for row in result.table("compatibility"):
            rows.append({"target": target.name, "image": row["image"],
                         "instance": row["instance"], "outcome": row["outcome"],
                         "how": row["how"], "ready_s": ready.get(str(row["instance"])),
                         "message": row["message"]})
    return rows


def binfmt_rows(catalog: virtsim.Catalog) -> list[Record]:
    """A Windows image on Linux with and without QEMU's binfmt_misc handlers."""
    kernel = catalog.require(KernelProfile, "linux-6.8")
    rows: list[Record] = []
    for name in ("nanoserver", "servercore"):
        for binfmt in (False, True):
            fit = resolve(catalog.require(ImageProfile, name), kernel, "amd64", binfmt=binfmt)
            rows.append({"image": name, "kernel": kernel.name, "binfmt_qemu": binfmt,
                         "outcome": fit.outcome, "message": fit.reason})
    return rows


def run(size: Size, seed: int) -> Tables:
    """The resolver's matrix, the simulated targets and the binfmt_misc check."""
    catalog = virtsim.load_catalog()
    return {"matrix": matrix(catalog, IMAGES, TARGETS),
            "runs": run_rows(catalog, TARGETS[: SIMULATED[size]], seed),
            "binfmt": binfmt_rows(catalog)}


# -- figures -----------------------------------------------------------------

def draw_matrix(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Image x host platform, coloured by outcome."""
    rows = list(tables["matrix"])
    targets = list(dict.fromkeys(str(r["target"]) for r in rows))
    images = list(dict.fromkeys(str(r["image"]) for r in rows))
    fig, ax = slide_figure("Which images run on which host kernel, and how",
                           "host and platform", "image (OS)", size=(15.0, 6.5))
    short = {"native": "native", "vm": "in a VM", "emulated": "emulated",
             "needs-vm": "wrong OS", "impossible": "build\nmismatch"}
    for row in rows:
        x, y = targets.index(str(row["target"])), images.index(str(row["image"]))
        outcome = str(row["outcome"])
        ax.add_patch(outcome_cell(x, y, outcome))
        text = short[outcome]
        if outcome == "vm":
            text = "in a\nLinux VM" if row["image_os"] == "linux" else "in a Hyper-V\nutility VM"
        ax.text(x, y, text, ha="center", va="center",
                color="black" if outcome == "needs-vm" else outcome_text_colour(outcome),
                fontsize=11, fontweight="bold",
                bbox={"fc": "white", "ec": "none", "pad": 1} if outcome == "needs-vm" else None)
    oses = {str(r["image"]): str(r["image_os"]) for r in rows}
    ax.set_xticks(range(len(targets)), targets, fontsize=10)
    ax.set_yticks(range(len(images)), [f"{i}\n({oses[i]})" for i in images])
    ax.set_xlim(-0.5, len(targets) - 0.5)
    ax.set_ylim(len(images) - 0.5, -0.5)
    ax.grid(False)
    present = [o for o in OUTCOME_LABELS if any(r["outcome"] == o for r in rows)]
    ax.legend(handles=[outcome_patch(o, OUTCOME_LABELS[o])
                       for o in present],
              loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)
    return fig


def figures() -> list[Figure]:
    """The OS x host matrix."""
    return [
        Figure("c08-os-host-matrix",
               "A container's system calls go to the kernel beneath it, so the image's OS must "
               "be the kernel's. Linux images run natively only on Linux; on Windows and macOS "
               "Docker Desktop adds a Linux VM and they run inside it. Windows images run only "
               "on a Windows kernel (the host's in process isolation, a utility VM's in Hyper-V "
               "isolation), and only if the host build is at least the image's. QEMU's "
               "binfmt_misc emulates another CPU, not another OS: a Windows image on Linux is "
               "refused with or without it.",
               draw_matrix),
    ]


# -- verdict -----------------------------------------------------------------

def findings(tables: Tables) -> Finding:
    """Three statements, judged per OS family of image and place it is run."""
    rows = list(tables["matrix"])
    statements = (windows_only_on_windows(rows, tables["binfmt"]),
                  linux_needs_linux_kernel(rows), runs_on_own_family(rows))
    return Finding(CLAIM, statements, key_numbers=_key_numbers(rows, tables["binfmt"]))


RUNS = ("native", "vm", "emulated")
"""Outcomes in which a container runs (on its own kernel, in a platform's VM, emulated)."""


def _place(row: Record) -> str:
    return str(row["target"]).replace("\n", ", ")


def _grouped(rows: list[Record], holds: Any) -> dict[str, bool]:
    """Cases per OS family of image and place: "windows images on X (0 of 4 run)"."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for row in rows:
        groups.setdefault((str(row["image_os"]), _place(row)), []).append(row)
    return {f"{os} images on {place} ({sum(r['outcome'] in RUNS for r in members)} of "
            f"{len(members)} run)": all(holds(r) for r in members)
            for (os, place), members in groups.items()}


def windows_only_on_windows(rows: list[Record], binfmt: list[Record]) -> Statement:
    """"Windows containers can only run on Windows hosts", even with QEMU's binfmt_misc."""
    elsewhere = [r for r in rows if r["image_os"] == "windows" and r["host_os"] != "windows"]
    cases = _grouped(elsewhere, lambda r: r["outcome"] not in RUNS)
    emulated = [r for r in binfmt if r["binfmt_qemu"]]
    if emulated:
        cases[f"windows images on Linux with QEMU binfmt_misc "
              f"({sum(r['outcome'] in RUNS for r in emulated)} of {len(emulated)} run)"] = all(
            r["outcome"] not in RUNS for r in emulated)
    return over_cases("A Windows container runs only on a Windows host", cases,
                      "(binfmt_misc emulates a CPU, not an operating system.)")


def linux_needs_linux_kernel(rows: list[Record]) -> Statement:
    """A Linux container runs where a Linux kernel is, and only there."""
    linux = [r for r in rows if r["image_os"] == "linux"]
    cases = _grouped(linux, lambda r: (r["outcome"] in RUNS) == (r["kernel_os"] == "linux"))
    in_vm = sorted({_place(r) for r in linux if r["outcome"] == "vm"})
    aside = (f"Aside: on {'; '.join(in_vm)} they run in the Linux VM the platform adds."
             if in_vm else "")
    return over_cases("A Linux container needs a Linux kernel", cases, aside)


def runs_on_own_family(rows: list[Record]) -> Statement:
    """"Linux-based applications run natively ... on any host with a Linux kernel" (and Windows).

    Judged where the kernel the container would use is of its image's family.
    """
    same = [r for r in rows if r["image_os"] == r["kernel_os"]]
    failed = sorted({f"{r['image']} on {_place(r)}: {r['message']}" for r in same
                     if r["outcome"] not in RUNS})
    because = f"Refused: {'; '.join(failed)}." if failed else ""
    return over_cases("A container runs on any kernel of its own OS family",
                      _grouped(same, lambda r: r["outcome"] in RUNS), because)


def _key_numbers(rows: list[Record], binfmt: list[Record]) -> tuple[str, ...]:
    numbers = []
    for target in dict.fromkeys(str(r["target"]) for r in rows):
        outcomes = ", ".join(f"{r['image']} {r['outcome']}" for r in rows if r["target"] == target)
        numbers.append(f"{target.replace(chr(10), ' ')}: {outcomes}")
    with_qemu = next(r for r in binfmt if r["binfmt_qemu"])
    numbers.append(f"{with_qemu['image']} on Linux with QEMU binfmt_misc: {with_qemu['message']}")
    return tuple(numbers)


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
