"""Plotting helpers for figures a teacher would project.

Figures read result tables only. Every figure takes a technology's colour,
label and marker from :mod:`virtsim.palette` (so a VM is always the same
blue and a container always the same orange, across the whole report) and
everything else (layers, stages, outcomes) from :mod:`virtsim.layer_palette`;
:func:`slide_figure` gives a figure with slide-sized fonts, a title and
labelled axes.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from virtsim.layer_palette import MECHANISM_STYLES, OUTCOME_STYLES, text_colour
from virtsim.palette import TECHNOLOGY_COLOURS, TECHNOLOGY_LABELS, colour, label, marker

SVG_HASH_SALT = "virtsim"
"""Salt of the ids matplotlib gives SVG clip paths and glyphs: fixed, so a figure's SVG is the
same bytes on every run (matplotlib otherwise salts them randomly)."""

FIGURE_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}
"""Metadata dropped from saved figures: dates and tool versions would make the bytes vary."""


def save_figure(figure: Figure, path: Path, dpi: float | None = None,
                tight: bool = False) -> None:
    """Write a figure to ``path`` atomically, the same bytes for the same figure.

    The figure is saved to a temporary file beside ``path`` and renamed over
    it, so a killed run never leaves a truncated image; ids are unsalted and
    no date or version is embedded, so runs compare byte for byte. A
    symlink at ``path`` is replaced, never written through. ``tight`` crops
    to what is drawn (a legend outside the axes included), with a margin.
    """
    suffix = path.suffix.lower().lstrip(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".{suffix}",
                                         dir=path.parent)
    os.close(handle)
    try:
        with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
            figure.savefig(temporary, format=suffix, dpi=dpi if dpi is not None else "figure",
                           metadata=FIGURE_METADATA.get(suffix),
                           bbox_inches="tight" if tight else None,
                           pad_inches=0.25 if tight else None)
        os.chmod(temporary, 0o644)  # mkstemp's file is private; a figure is for sharing
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)

__all__ = ["TECHNOLOGY_COLOURS", "TECHNOLOGY_LABELS", "colour", "image_family_label",
           "image_size_bars", "label", "label_points", "marker", "outcome_cell",
           "outcome_patch", "outcome_text_colour", "slide_figure"]

def slide_figure(title: str, xlabel: str, ylabel: str,
                 size: tuple[float, float] = (10.0, 6.0)) -> tuple[Figure, Axes]:
    """A new figure and axes with slide-sized text, a title and labelled axes."""
    with plt.rc_context(cast(Any, SLIDE_STYLE)):  # the stubs want literal rcParams keys
        fig, ax = plt.subplots(figsize=size, layout="constrained")
    ax.set_title(title, fontsize=SLIDE_STYLE["axes.titlesize"])
    ax.set_xlabel(xlabel, fontsize=SLIDE_STYLE["axes.labelsize"])
    ax.set_ylabel(ylabel, fontsize=SLIDE_STYLE["axes.labelsize"])
    ax.tick_params(labelsize=SLIDE_STYLE["xtick.labelsize"])
    ax.grid(True, alpha=0.3)
    return fig, ax


def image_family_label(family: str) -> str:
    """The legend label of an image family (``minimal``: any other small image)."""
    return label(family)


def image_size_bars(ax: Axes, rows: Sequence[Mapping[str, object]], sizes: Sequence[float],
                    notes: Sequence[str]) -> None:
    """One bar per image (log scale), ``size MiB: note`` beside it, a legend of families.

    ``rows`` give each image's ``image`` and ``family``; minimal images other
    than scratch and alpine are hatched.
    """
    def hatch(family: str) -> str:
        return "//" if family == "minimal" else ""

    for y, (row, size, note) in enumerate(zip(rows, sizes, notes, strict=True)):
        family = str(row["family"])
        ax.barh(y, size, color=colour(family), edgecolor="black", height=0.7,
                hatch=hatch(family))
        ax.text(size * 1.08, y, f"{size:.1f} MiB: {note}", va="center", fontsize=12)
    ax.set_yticks(range(len(rows)), [str(r["image"]) for r in rows])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(1, max(sizes) * 60)
    families = dict.fromkeys(str(r["family"]) for r in rows)
    ax.legend(handles=[Patch(facecolor=colour(f), edgecolor="black", hatch=hatch(f),
                             label=image_family_label(f)) for f in families],
              loc="upper right")


MECHANISM_COLOURS: dict[str, str] = {k: s.face for k, s in MECHANISM_STYLES.items()}
"""One grey per mechanism category of a stacked breakdown bar (hatches in MECHANISM_STYLES)."""
MECHANISM_LABELS: dict[str, str] = {k: s.label for k, s in MECHANISM_STYLES.items()}
"""The legend label of each mechanism category."""


def mechanism_figure(rows: Sequence[Mapping[str, object]], stacks: Mapping[str, str],
                     title: str, columns: int = 3) -> Figure:
    """Stacked bars, one panel per workload: each stack's time per request by mechanism.

    ``rows`` are :func:`virtsim.breakdown.breakdown_rows` rows; bar heights are
    each category's ``share_of_native`` (1 = the native total), so a bar's
    height is its cost relative to native and its segments say which mechanism
    pays. ``stacks`` maps each stack to its tick label, in drawing order. Each
    bar is annotated with its throughput relative to native.
    """
    workloads = list(dict.fromkeys(str(r["workload"]) for r in rows))
    shown = [s for s in stacks if any(r["stack"] == s for r in rows)]
    lines = max(1, -(-len(workloads) // columns))
    with plt.rc_context(cast(Any, SLIDE_STYLE)):
        fig, axes = plt.subplots(lines, columns, figsize=(6.0 * columns, 4.6 * lines),
                                 layout="constrained", squeeze=False)
    fig.suptitle(title, fontsize=SLIDE_STYLE["axes.titlesize"])
    for k, ax in enumerate(axes.flat):
        if k >= len(workloads):
            ax.set_visible(False)
            continue
        _mechanism_panel(ax, [r for r in rows if r["workload"] == workloads[k]], shown)
        ax.set_title(workloads[k], fontsize=SLIDE_STYLE["axes.labelsize"])
        ax.set_xticks(range(len(shown)), [stacks[s] for s in shown], rotation=60, ha="right",
                      fontsize=10)
        if k % columns == 0:
            ax.set_ylabel("time per request / native")
    fig.legend(handles=[Patch(facecolor=style.face, edgecolor="black", hatch=style.hatch,
                              label=style.label) for style in MECHANISM_STYLES.values()],
               loc="outside lower center", ncols=4)
    return fig


def _mechanism_panel(ax: Axes, rows: Sequence[Mapping[str, object]],
                     stacks: Sequence[str], ceiling: float = 4.0) -> None:
    """One workload's stacked bars on a linear scale cut at ``ceiling`` x native.

    A taller bar (an emulator) is cut and labelled with its height. Above each
    bar: its throughput relative to native.
    """
    tops: list[float] = []
    for x, stack in enumerate(stacks):
        bottom = 0.0
        mine = [r for r in rows if r["stack"] == stack]
        for category, style in MECHANISM_STYLES.items():
            height = sum(float(str(r["share_of_native"])) for r in mine
                         if r["category"] == category)
            if height > 0:
                ax.bar(x, height, bottom=bottom, color=style.face, hatch=style.hatch,
                       width=0.75, edgecolor="black", linewidth=0.5)
            bottom += height
        tops.append(bottom)
    top = min(max(tops, default=1.0) * 1.18, ceiling)
    ax.set_ylim(0, top)
    for x, (stack, height) in enumerate(zip(stacks, tops, strict=True)):
        mine = [r for r in rows if r["stack"] == stack]
        relative = float(str(mine[0]["relative_throughput"])) if mine else float("nan")
        text = f"{relative:.2f}" if height <= top else f"{height:.0f}x\n{relative:.2f}"
        ax.annotate(text, (x, min(height, top * 0.93)), xytext=(0, 2),
                    textcoords="offset points", ha="center", fontsize=8)
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1)
    ax.grid(True, axis="y", alpha=0.3)


SLIDE_STYLE: dict[str, float] = {
    "font.size": 14.0,
    "axes.titlesize": 17.0,
    "axes.labelsize": 15.0,
    "xtick.labelsize": 13.0,
    "ytick.labelsize": 13.0,
    "legend.fontsize": 12.0,
}


def outcome_cell(x: float, y: float, outcome: str, width: float = 0.94,
                 height: float = 0.9) -> Rectangle:
    """A matrix cell filled as ``outcome`` is (runs light, refused dark), centred on x, y."""
    style = OUTCOME_STYLES[outcome]
    return Rectangle((x - width / 2, y - height / 2), width, height, facecolor=style.face,
                     edgecolor="black", lw=0.6, hatch=style.hatch, zorder=2)


def outcome_text_colour(outcome: str) -> str:
    """Black or white, whichever reads on the outcome's fill."""
    return text_colour(OUTCOME_STYLES[outcome].face)


def outcome_patch(outcome: str, text: str = "") -> Patch:
    """A legend entry for an outcome, with its own words or ``text``."""
    style = OUTCOME_STYLES[outcome]
    return Patch(facecolor=style.face, edgecolor="black", hatch=style.hatch,
                 label=text or style.label)


LEADER_GREY = "#7a7a7a"
"""The thin line from a point to a label that had to move away from it."""


def label_points(ax: Axes, points: Sequence[tuple[float, float]], texts: Sequence[str],
                 fontsize: float = 9.0, marker_radius_pt: float = 4.5) -> list[Any]:
    """Write each text beside its point so that no two labels overlap and none covers a point.

    Greedy, in the order given: each label takes the first free place on rings
    of offsets around its point, nearest ring first, inside the axes; one that
    had to move beyond the first ring gets a thin leader line. Places are found
    in display space once the figure's layout is settled, and the labels are
    kept out of the layout, so they do not move it (offsets are in points, so
    saving at another resolution keeps them apart).

    Returns:
        The annotations, in the order of ``points``.
    """
    fig = ax.figure
    fig.canvas.draw()  # settle the layout: positions in display space are final
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    scale = fig.dpi / 72.0
    radius = marker_radius_pt * scale
    frame = ax.get_window_extent(renderer)
    centres = [ax.transData.transform(p) for p in points]
    taken = [(x - radius, y - radius, x + radius, y + radius) for x, y in centres]
    notes = []
    for (x, y), point, text in zip(centres, points, texts, strict=True):
        probe = ax.text(0, 0, text, fontsize=fontsize)
        box = probe.get_window_extent(renderer)
        probe.remove()
        half_w, half_h = box.width / 2 + 1, box.height / 2 + 1
        dx, dy, ring = _free_place(x, y, half_w, half_h, radius, taken, frame)
        taken.append((x + dx - half_w, y + dy - half_h, x + dx + half_w, y + dy + half_h))
        note = ax.annotate(text, point, xytext=(dx / scale, dy / scale),
                           textcoords="offset points", ha="center", va="center",
                           fontsize=fontsize, annotation_clip=False,
                           arrowprops=({"arrowstyle": "-", "color": LEADER_GREY, "lw": 0.6,
                                        "shrinkA": 0, "shrinkB": radius / scale}
                                       if ring > 1 else None))
        note.set_in_layout(False)
        notes.append(note)
    return notes


def _free_place(x: float, y: float, half_w: float, half_h: float, radius: float,
                taken: Sequence[tuple[float, float, float, float]],
                frame: Any) -> tuple[float, float, int]:
    """The nearest offset (display units) where a label box is free and inside ``frame``."""
    fallback = (radius + half_w, 0.0, 1)
    for ring in range(1, 9):
        reach = radius + ring * 1.1 * max(half_h, 4.0)
        steps = 8 * ring
        for k in range(steps):
            angle = 2 * math.pi * k / steps
            dx = math.cos(angle) * (reach + half_w * abs(math.cos(angle)))
            dy = math.sin(angle) * (reach + half_h * abs(math.sin(angle)))
            box = (x + dx - half_w, y + dy - half_h, x + dx + half_w, y + dy + half_h)
            inside = (box[0] >= frame.x0 and box[2] <= frame.x1 and box[1] >= frame.y0
                      and box[3] <= frame.y1)
            if inside and not any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3]
                                  and t[1] < box[3] for t in taken):
                return dx, dy, ring
    return fallback
