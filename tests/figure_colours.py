"""What colours a drawn figure uses, for checking them against the palettes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from matplotlib.collections import Collection
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Patch
from matplotlib.text import Text

from virtsim.palette import TECHNOLOGY_COLOURS, rgb

NEUTRAL_CHROMA = 0.08
"""A colour whose channels differ by less than this is a grey (black and white included)."""


def _rgbs(value: object) -> Iterator[tuple[float, float, float]]:
    if value is None or (isinstance(value, str) and value == "none"):
        return
    try:
        array = to_rgba_array(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return
    for r, g, b, a in array:
        if a > 0:
            yield (float(r), float(g), float(b))


def colours_used(fig: Figure) -> set[tuple[float, float, float]]:
    """Every visible fill, edge, line, marker and text colour of the figure, as RGB."""
    found: set[tuple[float, float, float]] = set()
    for artist in fig.findobj():
        if not getattr(artist, "get_visible", lambda: True)():
            continue
        if isinstance(artist, Patch):
            if artist.get_fill():
                found.update(_rgbs(artist.get_facecolor()))
            found.update(_rgbs(artist.get_edgecolor()))
        elif isinstance(artist, Line2D):
            if artist.get_linestyle() not in ("None", "none", "", " "):
                found.update(_rgbs(artist.get_color()))
            marker = artist.get_marker()
            if marker not in ("None", "none", "", " ", None):
                if MarkerStyle(marker).is_filled():
                    found.update(_rgbs(artist.get_markerfacecolor()))
                found.update(_rgbs(artist.get_markeredgecolor()))
        elif isinstance(artist, Collection):
            found.update(_rgbs(artist.get_facecolor()))
            found.update(_rgbs(artist.get_edgecolor()))
        elif isinstance(artist, Text) and artist.get_text().strip():
            found.update(_rgbs(artist.get_color()))
    return found


def is_neutral(colour: tuple[float, float, float]) -> bool:
    """A grey, black or white: the colours of layers, stages, outcomes and text."""
    return max(colour) - min(colour) < NEUTRAL_CHROMA


def off_palette(fig: Figure) -> list[str]:
    """Colours with a hue that is not one of the technology colours (as hex)."""
    palette = [rgb(c) for c in TECHNOLOGY_COLOURS.values()]
    odd = []
    for colour in colours_used(fig):
        if is_neutral(colour):
            continue
        if not any(np.allclose(colour, p, atol=2 / 255) for p in palette):
            odd.append("#{:02x}{:02x}{:02x}".format(*(round(255 * c) for c in colour)))
    return sorted(odd)


def clipped_legends(fig: Figure, tolerance_px: float = 2.0) -> list[str]:
    """Legends that reach outside the figure's canvas (and so get cut off when saved)."""
    fig.canvas.draw()
    canvas = fig.bbox
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    out = []
    for legend in legends:
        box = legend.get_window_extent()
        if (box.x0 < canvas.x0 - tolerance_px or box.y0 < canvas.y0 - tolerance_px
                or box.x1 > canvas.x1 + tolerance_px or box.y1 > canvas.y1 + tolerance_px):
            out.append(", ".join(t.get_text() for t in legend.get_texts())[:60])
    return out
