"""C13: an image built FROM scratch holds only what is copied in: smallest, but no shell.

Scenario (built in code): the catalogue's images from ``scratch-static``
(a static Go binary copied into an empty image) through distroless, busybox
and alpine to full Debian and Ubuntu. For each image the experiment

- measures what it ships (unpacked and compressed size, executables,
  packages) with :func:`virtsim.compat.attack_surface`, and compares them
  fairly: every other image would need the same application binary added;
- runs ``docker exec`` of ``sh``, ``bash``, ``ls`` and ``cat`` in it with
  :func:`virtsim.compat.exec_in`, which answers with the real engine's message;
- simulates a laptop running 1 to 100 containers of the image and reads,
  from the footprint table, the disk its layers take on the host (stored once
  by digest, however many containers use them).

Statements and their rules: "a scratch image has no shell or utilities"
(per command tried, ``sh``, ``bash``, ``ls``, ``cat``: it fails), "the static
binary copied in runs" and "a scratch image is much smaller than one built on
a base image" (the next smallest image with the same app at least 2x its
size supports it, larger at all partly). Each case-by-case statement is
supported when every case holds, partly for some, contradicted for none.

Run on its own: ``python experiments/c13_scratch.py [--size quick] [--seed 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from virtsim.plotting import (
    colour,
    image_size_bars,
    outcome_cell,
    outcome_patch,
    outcome_text_colour,
    slide_figure,
)
from virtsim.profiles import ImageProfile
from virtsim.reproduce import main_for
from virtsim.result import Record

CLAIM = "C13"
TITLE = "FROM scratch: the smallest image and attack surface, and no shell"

SCRATCH = "scratch-static"
IMAGES: tuple[str, ...] = ("scratch-static", "distroless-static", "busybox", "alpine",
                           "debian-slim", "ubuntu", "debian")
"""From the emptiest image to full distributions."""

FAMILIES: dict[str, str] = {"scratch-static": "scratch", "alpine": "alpine",
                            "debian-slim": "distro", "ubuntu": "distro", "debian": "distro"}
"""Image -> the technology colour it is drawn in (other minimal images are grey)."""

COMMANDS: tuple[str, ...] = ("sh", "bash", "ls", "cat")
"""What a user types first in a container that misbehaves."""

COUNTS: dict[Size, tuple[int, ...]] = {"tiny": (1, 4), "quick": (1, 10), "full": (1, 10, 100)}
"""Containers per host in the storage sweep."""

PUBLISHED: dict[str, tuple[float, str, str]] = {
    "distroless-static": (2.0, "distroless README: static about 2 MiB",
                          "distroless-readme:static-size"),
    "alpine": (8.3 / 1.048576, "Docker Hub: alpine:3.22 about 8.3 MB unpacked",
               "dockerhub:alpine-3.22-size"),
    "debian": (124.0, "distroless README: debian 124 MiB", "distroless-readme:debian-size"),
}
"""Published unpacked sizes (MiB) of the images, to set beside the simulated layer storage."""

PUBLISHED_DOWNLOAD: dict[str, tuple[float, str, str]] = {
    "busybox": (2.5 / 1.048576, "Docker Hub: busybox about 2.5 MB (the registry's figure: the "
                                "compressed download)", "dockerhub:busybox-size"),
}
"""Published download (compressed) sizes (MiB), beside the catalogue's layers."""


def _family(image: str) -> str:
    return FAMILIES.get(image, "minimal")


def image_rows(catalog: virtsim.Catalog) -> list[Record]:
    """What each image ships, alone and with the application binary added."""
    app = catalog.require(ImageProfile, SCRATCH)
    rows: list[Record] = []
    for name in IMAGES:
        image = catalog.require(ImageProfile, name)
        surface = attack_surface(image)
        has_app = name == SCRATCH
        rows.append({
            "image": name, "family": _family(name), "libc": image.libc,
            "size_mib": float(surface["size_mib"]),
            "compressed_mib": float(surface["compressed_mib"]),
            "executables": int(surface["executables"]), "packages": int(surface["packages"]),
            "with_app_size_mib": float(surface["size_mib"]) + (0.0 if has_app else app.size_mib),
            "with_app_executables": int(surface["executables"]) + (0 if has_app else 1),
            "has_shell": exec_in(image, "sh").ok,
        })
    return rows


def exec_rows(catalog: virtsim.Catalog) -> list[Record]:
    """``docker exec IMAGE COMMAND`` for each image and command, with the engine's answer."""
    rows: list[Record] = []
    for name in IMAGES:
        image = catalog.require(ImageProfile, name)
        commands = [(c, False) for c in COMMANDS]
        if image.entrypoint:
            commands.append((image.entrypoint, True))
        for command, is_entrypoint in commands:
            result = exec_in(image, command)
            rows.append({"image": name, "command": command, "is_entrypoint": is_entrypoint,
                         "ok": result.ok, "message": result.message})
    return rows


def storage_scenario(image: str, count: int, seed: int) -> dict[str, Any]:
    """A laptop running ``count`` containers of one image."""
    return {"name": f"c13-{image}-{count}", "duration_s": 600, "seed": seed,
            "hosts": [{"name": "laptop", "profile": "laptop",
                       "containers": [{"name": "app", "count": count, "image": image}]}]}


def storage_rows(catalog: virtsim.Catalog, size: Size, seed: int) -> list[Record]:
    """Disk taken on the host by image layers and writable layers, per container count."""
    rows: list[Record] = []
    cases = [(image, count) for image in IMAGES for count in COUNTS[size]]
    results = virtsim.run_scenarios([virtsim.ScenarioJob(virtsim.parse_scenario(
        storage_scenario(image, count, seed), catalog), seed) for image, count in cases])
    for (image, count), result in zip(cases, results, strict=True):
        layers = sum(float(r["disk_mib"] or 0) for r in result.table("footprint")
                     if str(r["item"]).startswith("layer "))
        per_container = [float(r["memory_mib"] or 0)
                         for r in result.table("instance_footprint")]
        rows.append({"image": image, "family": _family(image), "containers": count,
                     "layer_disk_mib": round(layers, 6),
                     "memory_per_container_mib": round(
                         sum(per_container) / max(len(per_container), 1), 6)})
    return rows


def run(size: Size, seed: int) -> Tables:
    """Image contents, exec answers and the simulated storage sweep."""
    catalog = virtsim.load_catalog()
    return {"images": image_rows(catalog), "exec": exec_rows(catalog),
            "storage": storage_rows(catalog, size, seed)}


# -- figures -----------------------------------------------------------------

def draw_surface(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Size with the app, per image, annotated with what else it ships."""
    fig, ax = slide_figure("What an image ships (each with the same app binary added)",
                           "unpacked size with the app (MiB, log scale)", "")
    rows = list(tables["images"])
    image_size_bars(ax, rows, [float(r["with_app_size_mib"] or 0) for r in rows], [
        f"{r['with_app_executables']} executables, {r['packages']} packages, "
        f"{'shell' if r['has_shell'] else 'no shell'}" for r in rows])
    return fig


def draw_exec(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Which commands run in which image: scratch only runs its own binary."""
    fig, ax = slide_figure("docker exec IMAGE COMMAND: does it run?", "command",
                           "image", size=(11.0, 6.0))
    columns = [*COMMANDS, "entrypoint"]
    images = list(IMAGES)
    with_entrypoint = {str(r["image"]) for r in tables["exec"] if r["is_entrypoint"]}
    for y in [i for i, image in enumerate(images) if image not in with_entrypoint]:
        ax.add_patch(outcome_cell(len(columns) - 1, y, "vm", 0.92, 0.88))
        ax.text(len(columns) - 1, y, "no entrypoint", ha="center", va="center", fontsize=11)
    for row in tables["exec"]:
        col = columns.index("entrypoint" if row["is_entrypoint"] else str(row["command"]))
        y = images.index(str(row["image"]))
        ok = bool(row["ok"])
        outcome = "native" if ok else "impossible"
        ax.add_patch(outcome_cell(col, y, outcome, 0.92, 0.88))
        text = "runs" if ok else "not found"
        if row["is_entrypoint"]:
            text = f"{row['command']}\n{text}"
        ax.text(col, y, text, ha="center", va="center", color=outcome_text_colour(outcome),
                fontsize=11, fontweight="bold")
    ax.set_xticks(range(len(columns)), [f"`{c}`" if c != "entrypoint" else "its own app"
                                        for c in columns])
    ax.set_yticks(range(len(images)), images)
    ax.set_xlim(-0.5, len(columns) - 0.5)
    ax.set_ylim(len(images) - 0.5, -0.5)
    ax.grid(False)
    ax.legend(handles=[outcome_patch("native", "runs"),
                       outcome_patch("impossible", 'exec: "…": executable file not found')],
              loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    return fig


def draw_storage(tables: Mapping[str, list[Record]]) -> MplFigure:
    """Layer storage per host for 1 and for N containers of each image: the same, stored once."""
    counts = sorted({int(r["containers"] or 0) for r in tables["storage"]})
    fig, ax = slide_figure("Image layers on the host: one container or many, stored once",
                           "image layers on disk (MiB, log scale)", "", size=(13.0, 7.0))
    height = 0.8 / len(counts)
    for y, image in enumerate(IMAGES):
        family = _family(image)
        for k, count in enumerate(counts):
            value = next((float(r["layer_disk_mib"] or 0) for r in tables["storage"]
                          if r["image"] == image and r["containers"] == count), None)
            if value is None:
                continue
            offset = (k - (len(counts) - 1) / 2) * height
            ax.barh(y + offset, value, height=height * 0.9, color=colour(family),
                    edgecolor="black", hatch="" if k == 0 else "//",
                    alpha=1.0 if k == 0 else 0.6)
            ax.text(value * 1.05, y + offset, f"{value:.1f} MiB ({count} running)",
                    va="center", fontsize=11)
    ax.set_yticks(range(len(IMAGES)), list(IMAGES))
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(1, ax.get_xlim()[1] * 8)
    ax.legend(handles=[Patch(facecolor="white", edgecolor="black", hatch="" if k == 0 else "//",
                             label=f"{count} container{'s' if count > 1 else ''} running")
                       for k, count in enumerate(counts)], loc="upper right")
    return fig


def figures() -> list[Figure]:
    """Attack surface, exec matrix and the storage sweep."""
    return [
        Figure("c13-attack-surface",
               "Each image with the same static application binary added. FROM scratch adds "
               "nothing to the binary, so the image is the binary: the fewest bytes, one "
               "executable, no packages. Every other base brings files the app never uses "
               "(a libc, a shell, utilities, a package manager) and with them attack surface.",
               draw_surface),
        Figure("c13-exec-matrix",
               "docker exec looks the command up in the image's own file system, not the "
               "host's. A scratch image holds only the copied binary, so `sh` and `ls` fail "
               "with the engine's 'executable file not found in $PATH'; distroless static has "
               "no shell either. Images with busybox or a distribution's coreutils have both.",
               draw_exec),
        Figure("c13-layer-storage",
               "Simulated disk taken by the base images' layers (before any app is added) on "
               "one laptop as containers are added. "
               "Layers are stored once per host by digest, so the lines are flat: the image's "
               "size is paid once, and scratch's few MiB stay a few MiB at any density.",
               draw_storage),
    ]


# -- verdict -----------------------------------------------------------------

def findings(tables: Tables) -> Finding:
    """Three statements: no shell or utilities, the binary still runs, much smaller."""
    statements = (no_shell_or_utilities(tables), own_binary_runs(tables),
                  much_smaller(tables))
    message = next((str(r["message"]) for r in tables["exec"]
                    if r["image"] == SCRATCH and r["command"] == "sh"), "")
    return Finding(CLAIM, statements, key_numbers=_key_numbers(tables, message),
                   comparisons=_comparisons(tables))


MUCH_SMALLER = 2.0
""""Very small": the next smallest image with the same app at least twice scratch's size."""


def no_shell_or_utilities(tables: Mapping[str, list[Record]]) -> Statement:
    """"You won't have access to typical Linux commands (like ls, bash, cp)": per command."""
    cases = {f"{r['command']} ({r['message']})": not r["ok"] for r in tables["exec"]
             if r["image"] == SCRATCH and not r["is_entrypoint"]}
    return over_cases("A scratch image has no shell or utilities", cases)


def own_binary_runs(tables: Mapping[str, list[Record]]) -> Statement:
    """"Nothing except what you explicitly copy into the image": that binary still runs."""
    cases = {f"{r['command']} ({r['message']})": bool(r["ok"]) for r in tables["exec"]
             if r["image"] == SCRATCH and r["is_entrypoint"]}
    return over_cases("The static binary copied into a scratch image runs", cases)


def much_smaller(tables: Mapping[str, list[Record]]) -> Statement:
    """"Reducing image size": scratch against the next smallest image with the same app."""
    images = {str(r["image"]): float(r["with_app_size_mib"] or 0) for r in tables["images"]}
    size = images.pop(SCRATCH)
    nearest = min(images, key=images.__getitem__)
    ratio = images[nearest] / size if size > 0 else float("inf")
    shell_less = [str(r["image"]) for r in tables["images"]
                  if r["image"] != SCRATCH and not r["has_shell"]]
    return graded("A scratch image is much smaller than one built on a base image", ratio,
                  MUCH_SMALLER, 1.0,
                  f"With the app added, scratch is {size:.1f} MiB and the next smallest, "
                  f"{nearest}, {images[nearest]:.1f} MiB: {ratio:.2f}x (much smaller means "
                  f"at least {MUCH_SMALLER:.0f}x). Images without a shell: "
                  f"{', '.join(shell_less) or 'none'}.")


def _key_numbers(tables: Tables, message: str) -> tuple[str, ...]:
    numbers = [f"{r['image']}: {float(r['size_mib'] or 0):.1f} MiB unpacked, "
               f"{r['executables']} executables, {r['packages']} packages"
               for r in tables["images"]]
    numbers.append(f"docker exec {SCRATCH} sh: {message}")
    return tuple(numbers)


def _comparisons(tables: Tables) -> tuple[Comparison, ...]:
    stored = {str(r["image"]): float(r["layer_disk_mib"] or 0) for r in tables["storage"]
              if r["containers"] == min(int(x["containers"] or 0) for x in tables["storage"])}
    download = {str(r["image"]): float(r["compressed_mib"] or 0) for r in tables["images"]}
    unpacked = [Comparison(f"{image} unpacked size on the host", round(published, 4), stored[image],
                           "MiB", source, figure)
                for image, (published, source, figure) in PUBLISHED.items() if image in stored]
    pulled = [Comparison(f"{image} download size", round(published, 4), download[image], "MiB",
                         source, figure)
              for image, (published, source, figure) in PUBLISHED_DOWNLOAD.items()
              if image in download]
    return (*unpacked, *pulled)


if __name__ == "__main__":
    raise SystemExit(main_for(__name__))
