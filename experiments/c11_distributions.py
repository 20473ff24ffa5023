"""C11: images of different distributions share one host kernel, while it offers what they need.

Scenario (built in code): one host per kernel of the catalogue's Linux
history, from RHEL 6's 2.6.32 to Debian 13's 6.12 (built with
``vsyscall=none``), plus gVisor's Sentry and Kata's guest kernel. On each,
one container of every distribution image (alpine, busybox, Debian,
Ubuntu, Fedora, CentOS 6 and 7) and of an io_uring database (TigerBeetle)
is started with the image cached. The experiment

- resolves every (image, kernel) pair with :func:`virtsim.compat.resolve`
  (the matrix: native, or the message the real tool prints);
- simulates each host and reads the run's ``compatibility`` table, checking
  that every container that started shares the one kernel node of its host
  and that the simulation agrees with the resolver.

Statements and their rules, each supported when it holds for every case,
partly for some, contradicted for none: "every container on a host uses the
host's kernel" (per host kernel, every started container reaches it),
"images of different distributions run side by side on one host kernel"
(per host kernel, images of at least two distributions run), "a newer kernel
runs what an older one ran" (per image, no kernel newer than one it runs on
refuses it). Sandbox kernels (gVisor, Kata)
are a runtime's, not the host's, and are not judged.

Run on its own: ``python experiments/c11_distributions.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure as MplFigure

import virtsim
from virtsim.compat import release, resolve, version_lt
from virtsim.experiment import (
    Figure,
    Finding,
    Size,
    Statement,
    Tables,
    over_cases,
)
from virtsim.layer_palette import OUTCOME_STYLES
from virtsim.plotting import outcome_cell, outcome_patch, outcome_text_colour, slide_figure
from virtsim.profiles import ImageProfile, KernelProfile
from virtsim.reproduce import main_for
from virtsim.result import Record

CLAIM = "C11"
TITLE = "Distributions share one host kernel while it offers what they need"

IMAGES: tuple[str, ...] = ("alpine", "busybox", "debian", "ubuntu", "fedora", "centos-7",
                           "centos-7-systemd", "centos-6", "tigerbeetle")
"""Distribution base images, oldest ABI last, CentOS 7 booting systemd 219 (needs cgroup v1),
and one app that needs io_uring."""

KERNELS: dict[Size, tuple[str, ...]] = {
    "tiny": ("linux-2.6.32", "linux-4.4", "linux-6.8", "linux-6.12-debian"),
    "quick": ("linux-2.6.32", "linux-3.11", "linux-4.4", "linux-5.15", "linux-6.8",
              "linux-6.12-debian", "gvisor-sentry", "kata-guest"),
    "full": ("linux-2.6.32", "linux-3.11", "linux-4.4", "linux-5.15", "linux-6.8",
             "linux-6.12-debian", "gvisor-sentry", "kata-guest"),
}
"""Kernels in version order, then the sandbox kernels (reached through their runtimes)."""

SANDBOX_RUNTIMES: dict[str, tuple[str, str]] = {"gvisor-sentry": ("containerd", "runsc"),
                                                "kata-guest": ("containerd", "kata")}
"""Sandbox kernels are not host kernels: containers reach them through a runtime."""

HOST = "m5d-metal"
SANDBOX_HOST_KERNEL = "linux-6.8"


def _kernel_label(kernel: KernelProfile) -> str:
    return f"{kernel.name}\n({kernel.family} {kernel.version})"


def _cause(reason: str) -> str:
    """The requirement a failure message names: version, vsyscall or a feature."""
    if "too old" in reason:
        return "kernel too old"
    if "vsyscall" in reason:
        return "vsyscall removed"
    if "lacks required feature" in reason:
        return "missing feature"
    return "unexplained"


def matrix_rows(catalog: virtsim.Catalog, kernels: tuple[str, ...]) -> list[Record]:
    """Every image against every kernel, through the resolver."""
    rows: list[Record] = []
    for name in IMAGES:
        image = catalog.require(ImageProfile, name)
        for order, kname in enumerate(kernels):
            kernel = catalog.require(KernelProfile, kname)
            fit = resolve(image, kernel, "amd64")
            missing = [f for f in image.required_features if f not in kernel.features]
            rows.append({"image": name, "distribution": image.distribution,
                         "libc": f"{image.libc} {image.libc_version}".strip(),
                         "kernel": kname, "kernel_version": release(kernel.version), "order": order,
                         "outcome": fit.outcome,
                         "cause": "" if fit.outcome == "native" else _cause(fit.reason),
                         "missing": ", ".join(missing),
                         "message": fit.reason})
    return rows


def host_scenario(kernel: str, seed: int) -> dict[str, Any]:
    """One host running one container of every image on ``kernel``."""
    engine, runtime = SANDBOX_RUNTIMES.get(kernel, ("docker", "runc"))
    host_kernel = SANDBOX_HOST_KERNEL if kernel in SANDBOX_RUNTIMES else kernel
    containers = [{"name": name, "image": name, "engine": engine, "runtime": runtime}
                  for name in IMAGES]
    return {"name": f"c11-{kernel}", "duration_s": 60, "seed": seed,
            "hosts": [{"name": "host", "profile": HOST, "kernel": host_kernel,
                       "cached_images": list(IMAGES), "containers": containers}]}


def run_rows(catalog: virtsim.Catalog, kernels: tuple[str, ...], seed: int) -> list[Record]:
    """Simulate every host; one row per container with the kernel node it shares."""
    rows: list[Record] = []
    scenarios = [virtsim.parse_scenario(host_scenario(kname, seed), catalog) for kname in kernels]
    results = virtsim.run_scenarios([virtsim.ScenarioJob(s, seed) for s in scenarios])
    for kname, scenario, result in zip(kernels, scenarios, results, strict=True):
        graph = virtsim.build_graph(scenario, catalog)
        ready = {str(r["instance"]): r["ready_s"] for r in result.table("instances")}
        for row in result.table("compatibility"):
            node = str(row["instance"])
            rows.append({"kernel": kname, "image": row["image"], "instance": node,
                         "kernel_node": graph.kernel_of(node), "outcome": row["outcome"],
                         "started": ready.get(node) is not None, "ready_s": ready.get(node),
                         "message": row["message"]})
    return rows


def run(size: Size, seed: int) -> Tables:
    """The resolver matrix and the simulated hosts."""
    catalog = virtsim.load_catalog()
    kernels = KERNELS[size]
    return {"matrix": matrix_rows(catalog, kernels), "runs": run_rows(catalog, kernels, seed)}


# -- figures -----------------------------------------------------------------

def draw_matrix(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Distribution image x kernel: runs, or the requirement that is missing."""
    rows = list(tables["matrix"])
    kernels = list(dict.fromkeys(str(r["kernel"]) for r in rows))
    versions = {str(r["kernel"]): str(r["kernel_version"]) for r in rows}
    images = list(dict.fromkeys(str(r["image"]) for r in rows))
    fig, ax = slide_figure("One kernel, many distributions: which images run on which kernel",
                           "kernel the containers share (version)", "image",
                           size=(max(10.0, 1.6 * len(kernels) + 3), 6.5))
    short = {"kernel too old": "too old", "vsyscall removed": "vsyscall\n=none",
             "unexplained": "?"}
    for row in rows:
        x, y = kernels.index(str(row["kernel"])), images.index(str(row["image"]))
        outcome = str(row["outcome"])
        outcome = outcome if outcome in ("native", "impossible") else "needs-vm"
        ax.add_patch(outcome_cell(x, y, outcome))
        text = "runs" if outcome == "native" else short.get(str(row["cause"]),
                                                            f"no {row['missing']}")
        ax.text(x, y, text, ha="center", va="center", color=outcome_text_colour(outcome),
                fontsize=10, fontweight="bold")
    ax.set_xticks(range(len(kernels)), [f"{k}\n{versions[k]}" for k in kernels], fontsize=10)
    ax.set_yticks(range(len(images)), images)
    ax.set_xlim(-0.5, len(kernels) - 0.5)
    ax.set_ylim(len(images) - 0.5, -0.5)
    ax.grid(False)
    ax.legend(handles=[outcome_patch("native", "runs on the shared kernel"),
                       outcome_patch("impossible",
                                     "refused: the kernel lacks what the image needs")],
              loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    return fig


def draw_share(tables: Mapping[str, list[Record]]) -> MplFigure:
    """How many distributions run together on each kernel."""
    rows = list(tables["runs"])
    kernels = list(dict.fromkeys(str(r["kernel"]) for r in rows))
    fig, ax = slide_figure("Containers of different distributions sharing one kernel",
                           "kernel", "containers (one per image)",
                           size=(max(10.0, 1.5 * len(kernels) + 3), 6.0))
    started = [sum(1 for r in rows if r["kernel"] == k and r["started"]) for k in kernels]
    refused = [sum(1 for r in rows if r["kernel"] == k and not r["started"]) for k in kernels]
    xs = range(len(kernels))
    native, refused_style = OUTCOME_STYLES["native"], OUTCOME_STYLES["impossible"]
    ax.bar(xs, started, color=native.face, edgecolor="black", label="started, sharing the kernel")
    ax.bar(xs, refused, bottom=started, color=refused_style.face, edgecolor="black",
           label="refused at start")
    for x, (ran, refusals) in enumerate(zip(started, refused, strict=True)):
        ax.text(x, ran / 2, f"{ran} run", ha="center", va="center", fontsize=13)
        if refusals:
            ax.text(x, ran + refusals / 2, f"{refusals} refused", ha="center", va="center",
                    fontsize=13, color="white")
    ax.set_axisbelow(True)
    ax.set_xticks(list(xs), kernels, rotation=20, ha="right", fontsize=11)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, frameon=False)
    return fig


def figures() -> list[Figure]:
    """The image x kernel matrix and the per-kernel count of distributions running."""
    return [
        Figure("c11-distribution-kernel-matrix",
               "A container brings user space only; its system calls go to the kernel it "
               "shares. Each image runs on every kernel that offers what its C library and "
               "application need: glibc 2.26+ images (Debian, Ubuntu, Fedora) stop with "
               "'FATAL: kernel too old' on RHEL 6's 2.6.32, the io_uring database needs 5.6. "
               "Newer kernels break old images too: CentOS 6's glibc calls the vsyscall page, "
               "which Debian's and Kata's kernels remove (vsyscall=none, exit 139), and "
               "CentOS 7's systemd 219 needs the cgroup v1 hierarchy that cgroup v2-only hosts "
               "(Ubuntu 22.04+, Debian 11+) no longer mount.",
               draw_matrix),
        Figure("c11-shared-kernel",
               "Simulated hosts, one per kernel, each starting one container of every image. "
               "Every container that starts shares the host's one kernel node (or the sandbox "
               "kernel of gVisor and Kata); the others are refused with the real tool's message.",
               draw_share),
    ]


# -- verdict -----------------------------------------------------------------

def findings(tables: Tables) -> Finding:
    """Three statements: one shared kernel, distributions side by side, backward compatible."""
    matrix, runs = list(tables["matrix"]), list(tables["runs"])
    statements = (containers_use_host_kernel(runs), distributions_share_a_kernel(matrix),
                  kernels_backward_compatible(matrix))
    return Finding(CLAIM, statements, key_numbers=_key_numbers(matrix, runs))


def _host_kernels(rows: list[Record]) -> list[str]:
    """Host kernels of the sweep, in order (sandbox kernels are a runtime's, not the host's)."""
    return [k for k in dict.fromkeys(str(r["kernel"]) for r in rows) if k not in SANDBOX_RUNTIMES]


def containers_use_host_kernel(runs: list[Record]) -> Statement:
    """"All containers running on a host will use that host's kernel": per host kernel."""
    cases = {}
    for kernel in _host_kernels(runs):
        started = [r for r in runs if r["kernel"] == kernel and r["started"]]
        nodes = sorted({str(r["kernel_node"]) for r in started})
        cases[f"{len(started)} containers on {kernel} (reach {', '.join(nodes) or 'none'})"] = (
            nodes == ["host/kernel"])
    return over_cases("Every container on a host uses the host's kernel", cases)


def distributions_share_a_kernel(matrix: list[Record]) -> Statement:
    """"Regardless of the distribution they are based on": distributions side by side.

    Judged per host kernel: it holds when images of at least two
    distributions run on it together. Refusals are listed with the
    requirement the kernel misses (the seed's "as long as").
    """
    cases = {}
    for kernel in _host_kernels(matrix):
        rows = [r for r in matrix if r["kernel"] == kernel]
        refused = [f"{r['image']}: {r['cause']}" for r in rows if r["outcome"] != "native"]
        ran = len(rows) - len(refused)
        distributions = {str(r["distribution"]) for r in rows if r["outcome"] == "native"}
        cases[f"{kernel} ({ran} of {len(rows)} images"
              + (f"; refused {', '.join(refused)})" if refused else ")")] = len(distributions) > 1
    return over_cases("Images of different distributions run side by side on one host kernel",
                      cases)


def kernels_backward_compatible(matrix: list[Record]) -> Statement:
    """"These kernel differences are generally backward-compatible": per image.

    Holds for an image when no kernel of the sweep breaks it that is newer
    than a kernel it runs on.
    """
    host = [r for r in matrix if str(r["kernel"]) not in SANDBOX_RUNTIMES]
    cases = {}
    for image in dict.fromkeys(str(r["image"]) for r in host):
        rows = [r for r in host if r["image"] == image]
        ran = [str(r["kernel_version"]) for r in rows if r["outcome"] == "native"]
        broken = [r for r in rows if r["outcome"] != "native"
                  and any(version_lt(v, str(r["kernel_version"])) for v in ran)]
        why = ", ".join(f"{r['kernel']}: {r['cause']}" for r in broken)
        cases[image + (f" (broken by {why})" if broken else "")] = not broken
    return over_cases("A newer kernel runs what an older one ran", cases)


def _key_numbers(matrix: list[Record], runs: list[Record]) -> tuple[str, ...]:
    numbers = []
    for kernel in dict.fromkeys(str(r["kernel"]) for r in matrix):
        ok = [str(r["image"]) for r in matrix if r["kernel"] == kernel and r["outcome"] == "native"]
        numbers.append(f"{kernel}: {len(ok)}/{len(IMAGES)} images run")
    examples = {str(r["cause"]): str(r["message"]) for r in matrix if r["cause"]}
    numbers += [f"{cause}: {message}" for cause, message in sorted(examples.items())]
    return tuple(numbers)


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
