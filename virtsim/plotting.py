"""Plotting helpers for figures a teacher would project.

Figures read result tables only. Every figure takes a technology's colour,
label and marker from :mod:`virtsim.palette` (so a VM is always the same
blue and a container always the same orange, across the whole report) and
everything else (layers, stages, outcomes) from :mod:`virtsim.layer_palette`;
:func:`slide_figure` gives a figure with slide-sized fonts, a title and
labelled axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from virtsim.layer_palette import OUTCOME_STYLES, text_colour
from virtsim.palette import TECHNOLOGY_COLOURS, TECHNOLOGY_LABELS, colour, label, marker

__all__ = ["TECHNOLOGY_COLOURS", "TECHNOLOGY_LABELS", "colour", "image_family_label",
           "image_size_bars", "label", "marker", "outcome_cell", "outcome_patch",
           "outcome_text_colour", "slide_figure"]

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
