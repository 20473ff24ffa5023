"""C14: alpine (a few MB, with a shell) is the middle ground between scratch and full distributions.

Scenario (built in code): a laptop runs one ``docker run`` of each image,
from ``scratch-static`` through busybox and alpine to Debian, Ubuntu and
Fedora, cold (the image must be pulled) over links of 0.1, 1 and 10 Gbps, and
warm (already pulled), replicated with independent seeds. Beside the start
times the experiment reads what each image offers: its size, whether
``sh`` runs in it, whether it has a package manager, how many packages it
installs (:func:`virtsim.compat.exec_in`, :func:`virtsim.compat.attack_surface`).

Statements and their rules: "alpine is around 5 MB" (unpacked size within
25% supports it, within 2x partly, else contradicted); "alpine has a shell
and utilities, unlike scratch" (a shell, a package manager, none in
scratch); "alpine lies between scratch and full distributions in size"
(larger than scratch, smaller than each distribution) and "in cold start"
(per link speed: no faster than scratch, at least 20% faster than the
distributions' median). Case-by-case statements are supported when every
case holds, partly for some, contradicted for none.

Run on its own: ``python experiments/c14_alpine.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Patch

import virtsim
from virtsim.compat import attack_surface, exec_in
from virtsim.experiment import (
    Comparison,
    Figure,
    Finding,
    Size,
    Statement,
    Tables,
    graded,
    over_cases,
)
from virtsim.plotting import colour, image_size_bars, slide_figure
from virtsim.profiles import ImageProfile
from virtsim.reproduce import main_for
from virtsim.result import Record

CLAIM = "C14"
TITLE = "Alpine: a few MB with a shell, between scratch and full distributions"

ALPINE = "alpine"
SCRATCH = "scratch-static"
DISTROS: tuple[str, ...] = ("debian-slim", "ubuntu", "debian", "fedora")
IMAGES: tuple[str, ...] = (SCRATCH, "busybox", ALPINE, *DISTROS)
FAMILIES: dict[str, str] = {SCRATCH: "scratch", ALPINE: "alpine",
                            **dict.fromkeys(DISTROS, "distro")}
PACKAGE_MANAGERS: tuple[str, ...] = ("apk", "apt", "dnf", "yum")

LINKS_GBPS: dict[Size, tuple[float, ...]] = {"tiny": (1.0,), "quick": (0.1, 1.0),
                                             "full": (0.1, 1.0, 10.0)}
"""Download links swept for cold starts (a home link, an office LAN, a data centre)."""

REPLICATIONS: dict[Size, int] = {"tiny": 2, "quick": 5, "full": 30}

FAST_LINK_GAP = 0.2
"""Alpine within this fraction of the distributions' cold start on the fastest link: nuance."""

CLAIMED_ALPINE_MB = 5.0
"""The seed text's figure for alpine ("around 5MB"); the claim under test, not a calibration."""

MB_PER_MIB = 1.048576

PUBLISHED: dict[str, tuple[float, str, str]] = {
    "alpine": (8.3, "Docker Hub: alpine:3.22 amd64 about 8.3 MB unpacked",
               "dockerhub:alpine-3.22-size"),
    "debian-slim": (78.6, "Docker Hub: debian:trixie-slim about 78.6 MB unpacked",
                    "dockerhub:debian-trixie-slim-size"),
    "ubuntu": (78.2, "Docker Hub: ubuntu:24.04 about 78.2 MB unpacked",
               "dockerhub:ubuntu-24.04-size"),
}
"""Published unpacked sizes (MB) beside the simulated layer storage."""

DOCKER_RUN_ALPINE_S = 1.193
DOCKER_RUN_SOURCE = ("gVisor Performance Guide: `docker run` of alpine `true` 1,193 ms with "
                     "runc")
DOCKER_RUN_FIGURE = "gvisor-perf:docker-run-alpine-runc"
"""A published warm ``docker run`` (start, run ``true``, exit and clean up)."""


def _family(image: str) -> str:
    return FAMILIES.get(image, "minimal")


def image_rows(catalog: virtsim.Catalog) -> list[Record]:
    """What each image offers: size, shell, package manager, packages."""
    rows: list[Record] = []
    for name in IMAGES:
        image = catalog.require(ImageProfile, name)
        surface = attack_surface(image)
        manager = next((m for m in PACKAGE_MANAGERS if exec_in(image, m).ok), "")
        rows.append({"image": name, "family": _family(name),
                     "size_mib": float(surface["size_mib"]),
                     "compressed_mib": float(surface["compressed_mib"]),
                     "executables": int(surface["executables"]),
                     "packages": int(surface["packages"]),
                     "has_shell": exec_in(image, "sh").ok, "package_manager": manager})
    return rows


def start_scenario(image: str, link_gbps: float, warm: bool, seed: int) -> dict[str, Any]:
    """One ``docker run`` of ``image`` on a laptop, pulled first unless ``warm``."""
    host: dict[str, Any] = {"name": "laptop", "profile": "laptop",
                            "overrides": {"nic_gbps": link_gbps},
                            "containers": [{"name": "app", "image": image}]}
    if warm:
        host["cached_images"] = [image]
    return {"name": f"c14-{image}", "duration_s": 3600, "seed": seed, "hosts": [host]}


def replication_seeds(seed: int, count: int) -> list[int]:
    """Independent seeds for the replications, derived from the experiment's seed."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(count)]


def start_rows(catalog: virtsim.Catalog, size: Size, seed: int) -> list[Record]:
    """Time to ready of each image, cold per link speed and warm, per replication."""
    rows: list[Record] = []
    cases = [(link, False) for link in LINKS_GBPS[size]] + [(max(LINKS_GBPS[size]), True)]
    runs = [(rep, rep_seed, image, link, warm)
            for rep, rep_seed in enumerate(replication_seeds(seed, REPLICATIONS[size]))
            for image in IMAGES for link, warm in cases]
    results = virtsim.run_scenarios([virtsim.ScenarioJob(virtsim.parse_scenario(
        start_scenario(image, link, warm, rep_seed), catalog), rep_seed)
        for _, rep_seed, image, link, warm in runs])
    for (rep, _, image, link, warm), result in zip(runs, results, strict=True):
        (instance,) = result.table("instances")
        pull = sum(float(s["end_s"] or 0) - float(s["start_s"] or 0)
                   for s in result.table("stages") if s["stage"] == "image-pull")
        layers = sum(float(r["disk_mib"] or 0) for r in result.table("footprint")
                     if str(r["item"]).startswith("layer "))
        run_s = max(float(s["end_s"] or 0) for s in result.table("stages"))
        rows.append({"image": image, "family": _family(image),
                     "start": "warm" if warm else "cold", "link_gbps": link,
                     "replication": rep, "ready_s": float(instance["ready_s"] or 0),
                     "pull_s": round(pull, 9), "run_and_exit_s": run_s,
                     "layer_disk_mib": round(layers, 6)})
    return rows


def run(size: Size, seed: int) -> Tables:
    """Image contents and the start-time sweep over images, link speeds and replications."""
    catalog = virtsim.load_catalog()
    starts = start_rows(catalog, size, seed)
    return {"images": image_rows(catalog), "starts": starts, "start_summary": summary(starts)}


def summary(starts: list[Record]) -> list[Record]:
    """Median and 5th/95th percentiles of time to ready per image, start kind and link."""
    groups: dict[tuple[str, str, float], list[float]] = {}
    for row in starts:
        key = (str(row["image"]), str(row["start"]), float(row["link_gbps"] or 0))
        groups.setdefault(key, []).append(float(row["ready_s"] or 0))
    rows: list[Record] = []
    for (image, start, link), values in groups.items():
        rows.append({"image": image, "family": _family(image), "start": start,
                     "link_gbps": link, "runs": len(values),
                     "median_s": float(np.median(values)),
                     "p5_s": float(np.percentile(values, 5)),
                     "p95_s": float(np.percentile(values, 95))})
    return rows


# -- figures -----------------------------------------------------------------

def draw_sizes(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Unpacked size per image, with what it offers written beside it."""
    fig, ax = slide_figure("Image size and what you get for it", "unpacked size (MiB, log scale)",
                           "")
    rows = list(tables["images"])
    image_size_bars(ax, rows, [float(r["size_mib"] or 0) for r in rows], [
        f"{'shell' if r['has_shell'] else 'no shell'}, "
        f"{r['package_manager'] or 'no package manager'}, {r['packages']} packages"
        for r in rows])
    ax.axvline(CLAIMED_ALPINE_MB / MB_PER_MIB, color="black", ls=":", lw=2)
    ax.text(CLAIMED_ALPINE_MB / MB_PER_MIB, len(rows) - 0.4, " 'around 5MB'", fontsize=11,
            color="#555555")
    return fig


def draw_starts(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Median time to ready per image: cold on each link and warm."""
    fig, ax = slide_figure("docker run: time to ready, cold pull against warm",
                           "image", "time to ready, median (s)", size=(11.0, 6.0))
    summary_rows = list(tables["start_summary"])
    cases = sorted({(str(r["start"]), float(r["link_gbps"] or 0)) for r in summary_rows},
                   key=lambda c: (c[0] == "warm", c[1]))
    width = 0.8 / len(cases)
    hatches = ["//", "..", "", "xx"]
    for i, (start, link) in enumerate(cases):
        for x, image in enumerate(IMAGES):
            row = next(r for r in summary_rows if r["image"] == image and r["start"] == start
                       and float(r["link_gbps"] or 0) == link)
            median = float(row["median_s"] or 0)
            ax.bar(x - 0.4 + width * (i + 0.5), median, width, color=colour(_family(image)),
                   edgecolor="black", hatch=hatches[i % len(hatches)] if start == "cold" else "",
                   alpha=1.0 if start == "cold" else 0.45,
                   yerr=[[median - float(row["p5_s"] or 0)], [float(row["p95_s"] or 0) - median]],
                   capsize=3)
    ax.set_xticks(range(len(IMAGES)), list(IMAGES), rotation=15)
    handles = [Patch(facecolor="white", edgecolor="black", hatch=hatches[i % len(hatches)]
                     if start == "cold" else "", alpha=1.0 if start == "cold" else 0.45,
                     label=f"cold, {link:g} Gbps link" if start == "cold" else "warm (pulled)")
               for i, (start, link) in enumerate(cases)]
    ax.legend(handles=handles, loc="upper left")
    return fig


def figures() -> list[Figure]:
    """Sizes with what they offer, and start times."""
    return [
        Figure("c14-image-sizes",
               "Unpacked image sizes. Alpine's musl libc and busybox applets give a shell and a "
               "package manager (apk) in a few MiB; a full distribution's glibc, coreutils and "
               "apt or dnf cost ten times more. The dotted line is the 'around 5MB' of the text.",
               draw_sizes),
        Figure("c14-start-times",
               "Simulated time to ready of one docker run (median, bars 5th-95th percentile). "
               "A cold start pulls and unpacks the image first, so on a slow link size "
               "dominates; on a fast link or warm, the engine's own path (API, container "
               "create, network) dominates and the images differ little.",
               draw_starts),
    ]


# -- verdict -----------------------------------------------------------------

def _median(tables: Tables, images: tuple[str, ...], start: str, link: float) -> float:
    values = [float(r["ready_s"] or 0) for r in tables["starts"] if r["image"] in images
              and r["start"] == start and float(r["link_gbps"] or 0) == link]
    return statistics.median(values)


def findings(tables: Tables) -> Finding:
    """Four statements: about 5 MB, a shell, between in size, between in cold start."""
    images = {str(r["image"]): r for r in tables["images"]}
    statements = (about_five_mb(images), has_a_shell(images), between_in_size(images),
                  between_in_cold_start(tables))
    links = sorted({float(r["link_gbps"] or 0) for r in tables["starts"] if r["start"] == "cold"})
    key_numbers = tuple(
        f"{name}: {float(images[name]['size_mib'] or 0):.1f} MiB, cold start on {links[0]:g} "
        f"Gbps {_median(tables, (name,), 'cold', links[0]):.2f} s (median)"
        for name in IMAGES if name in images)
    return Finding(CLAIM, statements, key_numbers=key_numbers,
                   comparisons=_comparisons(tables))


def about_five_mb(images: Mapping[str, Record]) -> Statement:
    """"Alpine Linux (which is around 5MB)": the claimed size over the unpacked size, in MB.

    Within 25% supports it (a ratio of at least 0.8), within 2x partly.
    """
    alpine = images[ALPINE]
    mb = float(alpine["size_mib"] or 0) * MB_PER_MIB
    download = float(alpine["compressed_mib"] or 0) * MB_PER_MIB
    ratio = CLAIMED_ALPINE_MB / mb if mb > CLAIMED_ALPINE_MB else mb / CLAIMED_ALPINE_MB
    return graded("Alpine is around 5 MB", ratio, 1 / 1.25, 0.5,
                  f"Alpine is {mb:.1f} MB unpacked ({download:.1f} MB to download) against "
                  f"the {CLAIMED_ALPINE_MB:.0f} MB claimed (around: within 25%; within 2x "
                  "partly).")


def has_a_shell(images: Mapping[str, Record]) -> Statement:
    """"It provides a lightweight set of utilities, including a shell": and a package manager."""
    alpine = images[ALPINE]
    return over_cases("Alpine has a shell and utilities, unlike scratch", {
        "a shell in alpine": bool(alpine["has_shell"]),
        f"a package manager in alpine ({alpine['package_manager'] or 'none'})":
            bool(alpine["package_manager"]),
        f"no shell in {SCRATCH}": not images[SCRATCH]["has_shell"],
    })


def between_in_size(images: Mapping[str, Record]) -> Statement:
    """"A good middle ground between scratch and ... Ubuntu": larger than scratch, smaller
    than each full distribution."""
    size = float(images[ALPINE]["size_mib"] or 0)
    cases = {f"larger than {SCRATCH} ({float(images[SCRATCH]['size_mib'] or 0):.1f} MiB)":
             float(images[SCRATCH]["size_mib"] or 0) < size}
    for name in DISTROS:
        if name in images:
            other = float(images[name]["size_mib"] or 0)
            cases[f"smaller than {name} ({other:.0f} MiB)"] = size < other
    return over_cases("Alpine lies between scratch and full distributions in size", cases,
                      f"(Alpine: {size:.1f} MiB.)")


def between_in_cold_start(tables: Tables) -> Statement:
    """A cold start (pull and run) between scratch's and the distributions', per link speed.

    Holds on a link when alpine is no faster than scratch and at least 20%
    faster than the distributions' median.
    """
    links = sorted({float(r["link_gbps"] or 0) for r in tables["starts"] if r["start"] == "cold"})
    cases = {}
    for link in links:
        alpine = _median(tables, (ALPINE,), "cold", link)
        scratch = _median(tables, (SCRATCH,), "cold", link)
        distro = _median(tables, DISTROS, "cold", link)
        cases[f"{link:g} Gbps (scratch {scratch:.2f} s, alpine {alpine:.2f} s, distributions "
              f"{distro:.2f} s)"] = (scratch <= alpine
                                    and distro - alpine >= FAST_LINK_GAP * distro)
    return over_cases("Alpine starts cold between scratch and full distributions", cases,
                      f"(Between: no faster than scratch and at least {FAST_LINK_GAP:.0%} "
                      "faster than the distributions' median.)")


def _comparisons(tables: Tables) -> tuple[Comparison, ...]:
    stored = {str(r["image"]): float(r["layer_disk_mib"] or 0) * MB_PER_MIB
              for r in tables["starts"] if r["start"] == "cold"}
    found = [Comparison(f"{image} unpacked size", published, round(stored[image], 3), "MB",
                        source, figure) for image, (published, source, figure) in PUBLISHED.items()
             if image in stored]
    warm = [float(r["run_and_exit_s"] or 0) for r in tables["starts"]
            if r["image"] == ALPINE and r["start"] == "warm"]
    if warm:
        found.append(Comparison("docker run alpine true, image pulled (runc), to exit",
                                DOCKER_RUN_ALPINE_S, round(statistics.median(warm), 4), "s",
                                DOCKER_RUN_SOURCE, DOCKER_RUN_FIGURE))
    if ALPINE in stored:
        found.append(Comparison("alpine size as the seed text states it", CLAIMED_ALPINE_MB,
                                round(stored[ALPINE], 3), "MB",
                                "seed text: 'Alpine Linux (which is around 5MB)'; Alpine's own "
                                "site says 'only 5 MB'", "seed-text:alpine-5mb"))
    return tuple(found)


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
