"""Stack diagrams: the resource graph drawn as layers, for a slide.

Identical siblings (the 10 containers of one group) are drawn once, as a
deck of cards labelled ``x10``, so a diagram of a thousand containers stays
readable. What runs on a repeated box is repeated with it: two VMs are two
QEMUs, two VMs and two guest kernels, and every one of those boxes says
``x2`` (``3 per vm, x6`` when containers repeat inside repeated VMs).
Machines are at the bottom, workloads at the top, as in textbook figures.
Each node kind has its grey (:mod:`virtsim.layer_palette`), darker the
nearer the machine, and its name written on the box; technology colours are
kept for technologies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Rectangle

from virtsim.graph import ResourceGraph
from virtsim.layer_palette import LAYER_COLOURS, text_colour

KIND_COLOURS = LAYER_COLOURS
"""Node kind -> grey (kept under its old name for the diagrams that import it)."""


@dataclass
class _Box:
    node: str
    label: str
    kind: str
    count: int
    children: list[_Box] = field(default_factory=list)
    x: float = 0.0
    depth: int = 0
    total: int = 1  # copies in all: its own count times its parent's total
    parent_kind: str = ""

    @property
    def multiplier(self) -> str:
        """``x2``; ``3 per vm, x6`` when the parent repeats too; empty for one copy."""
        if self.total <= 1:
            return ""
        if self.count > 1 and self.total > self.count:
            return f"{self.count} per {self.parent_kind}, x{self.total}"
        return f"x{self.total}"


def _condense(graph: ResourceGraph, node: str, count: int, depth: int,
              parent: _Box | None = None) -> _Box:
    data = graph.graph.nodes[node]
    profile = getattr(data.get("profile"), "name", "")
    label = str(data["name"]) if profile in ("", data["name"]) else f"{data['name']}\n{profile}"
    if "engine" in data:
        label = f"{data['engine'].name}\n{label}"
    box = _Box(node, label, str(data["kind"]), count, depth=depth,
               total=count * (parent.total if parent else 1),
               parent_kind=_repeated_kind(parent))
    groups: dict[tuple[str, str, str], list[str]] = {}
    for child in graph.graph.successors(node):
        cd = graph.graph.nodes[child]
        key = (str(cd["kind"]), str(cd["name"]), getattr(cd.get("profile"), "name", ""))
        groups.setdefault(key, []).append(child)
    for members in groups.values():
        box.children.append(_condense(graph, members[0], len(members), depth + 1, box))
    return box


HOLDERS = ("vm", "container", "machine")
"""Kinds a count is said per (``3 per vm``), when they repeat."""


def _repeated_kind(parent: _Box | None) -> str:
    """What a repeated box is counted per: the nearest repeated VM, container or machine
    below it (``3 per vm`` for containers in VMs), else the nearest repeated box."""
    if parent is None:
        return ""
    if parent.kind in HOLDERS and parent.total > 1:
        return parent.kind
    return parent.parent_kind or (parent.kind if parent.count > 1 else "")


def _place(box: _Box, next_x: list[float]) -> None:
    if not box.children:
        box.x = next_x[0]
        next_x[0] += 1.0
        return
    for child in box.children:
        _place(child, next_x)
    box.x = (box.children[0].x + box.children[-1].x) / 2


def _walk(box: _Box) -> list[_Box]:
    out = [box]
    for child in box.children:
        out.extend(_walk(child))
    return out


def draw_stack(graph: ResourceGraph, out: Path, title: str = "") -> None:
    """Draw the stack as a layered diagram and save it (PNG or SVG by suffix)."""
    roots: list[_Box] = []
    machine_groups: dict[str, list[str]] = {}
    for machine in graph.machines():
        machine_groups.setdefault(str(graph.graph.nodes[machine]["name"]), []).append(machine)
    for members in machine_groups.values():
        roots.append(_condense(graph, members[0], len(members), 0))
    next_x = [0.0]
    for root in roots:
        _place(root, next_x)
        next_x[0] += 0.5
    boxes = [b for root in roots for b in _walk(root)]
    used = next_x[0] - 0.5  # the last group's trailing gap is not drawn
    width = max(used, 3.0)
    pad = (width - used) / 2  # centre a narrow stack
    depth = max(b.depth for b in boxes) + 1
    fig = Figure(figsize=(min(2.3 * width + 1.5, 30), 1.25 * depth + 1.6))
    ax = fig.subplots()
    for box in boxes:
        for child in box.children:
            ax.plot([box.x, child.x], [box.depth + 0.3, child.depth - 0.3], color="#999999",
                    lw=1.2, zorder=1)
    for box in boxes:
        _draw_box(ax, box)
    ax.set_xlim(-0.7 - pad, used - 0.3 + pad)
    ax.set_ylim(-0.7, depth - 0.3)
    ax.axis("off")
    kinds = [k for k in LAYER_COLOURS if any(b.kind == k for b in boxes)]
    handles = [Rectangle((0, 0), 1, 1, facecolor=LAYER_COLOURS[k], edgecolor="black")
               for k in kinds]
    if any(b.total > 1 for b in boxes):
        handles.append(Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="black"))
        kinds.append("xN: N copies, each with all it runs")
    ax.legend(handles, kinds, loc="upper center", bbox_to_anchor=(0.5, -0.01),
              ncol=min(len(kinds), 4), frameon=False, fontsize=11)
    ax.set_title(title or "Stack: each box runs on the box below it", fontsize=15)
    fig.tight_layout()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # SVG text stays editable text
        fig.savefig(out, dpi=150, bbox_inches="tight", pad_inches=0.25)  # legend included


DECK_OFFSET = (0.06, 0.08)
"""How far each card behind a repeated box is shifted (x, y), in box units."""


def _draw_box(ax: Axes, box: _Box) -> None:
    face = LAYER_COLOURS[box.kind]
    cards = 3 if box.total > 2 else 2 if box.total > 1 else 1
    for card in reversed(range(cards)):  # the cards behind first, the front one last
        dx, dy = DECK_OFFSET[0] * card, DECK_OFFSET[1] * card
        ax.add_patch(FancyBboxPatch((box.x - 0.44 + dx, box.depth - 0.3 + dy), 0.88, 0.6,
                                    boxstyle="round,pad=0.02,rounding_size=0.08", fc=face,
                                    ec="black", lw=0.8, zorder=2 + (cards - card) * 0.1))
    label = box.label + (f"\n{box.multiplier}" if box.multiplier else "")
    ax.text(box.x, box.depth, label, ha="center", va="center", fontsize=9.5,
            color=text_colour(face), fontweight="bold", zorder=3, wrap=True)
