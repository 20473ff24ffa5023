"""The palettes: technology colours told apart by every eye, and kept for technologies."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from tests.figure_colours import colours_used, is_neutral, off_palette
from tests.paths import SCENARIOS
from virtsim.catalog import Catalog
from virtsim.drawing import draw_stack
from virtsim.layer_palette import LAYER_COLOURS, MECHANISM_STYLES, OUTCOME_STYLES, STAGE_STYLES
from virtsim.palette import (
    DEUTERANOPIA,
    MIN_DISTANCE,
    PROTANOPIA,
    TECHNOLOGY_COLOURS,
    TECHNOLOGY_LABELS,
    TECHNOLOGY_MARKERS,
    closest_pair,
    distance,
    rgb,
    simulate,
)
from virtsim.scenario import load_scenario
from virtsim.stack import build_graph


def test_the_simulation_merges_red_and_green_as_deuteranopes_see_them() -> None:
    red, green = "#d62728", "#2ca02c"  # the red/green pair figures used to rely on
    normal = distance(rgb(red), rgb(green))
    seen = distance(simulate(red, DEUTERANOPIA), simulate(green, DEUTERANOPIA))
    assert normal > 60 and seen < normal / 2
    grey = simulate("#808080", DEUTERANOPIA)
    assert distance(grey, rgb("#808080")) < 1.0  # greys are seen as they are


@pytest.mark.parametrize("vision", [None, DEUTERANOPIA, PROTANOPIA],
                         ids=["normal", "deuteranopia", "protanopia"])
def test_every_pair_of_technology_colours_stays_apart(vision: object) -> None:
    gap, first, second = closest_pair(TECHNOLOGY_COLOURS, vision)  # type: ignore[arg-type]
    assert gap >= MIN_DISTANCE, f"{first} and {second} look alike ({gap:.1f})"


def test_every_technology_has_a_label_and_its_own_marker() -> None:
    assert set(TECHNOLOGY_LABELS) == set(TECHNOLOGY_COLOURS) == set(TECHNOLOGY_MARKERS)
    assert len(set(TECHNOLOGY_MARKERS.values())) == len(TECHNOLOGY_MARKERS)


def test_layers_stages_and_outcomes_are_greys_far_from_any_technology() -> None:
    others = [*LAYER_COLOURS.values(), *(s.face for s in STAGE_STYLES.values()),
              *(s.face for s in OUTCOME_STYLES.values()),
              *(s.face for s in MECHANISM_STYLES.values())]
    for colour in others:
        assert is_neutral(tuple(rgb(colour)))  # type: ignore[arg-type]
        nearest = min(distance(rgb(colour), rgb(t)) for t in TECHNOLOGY_COLOURS.values())
        assert nearest >= MIN_DISTANCE, colour


def test_off_palette_catches_a_colour_that_is_not_a_technology() -> None:
    fig, ax = plt.subplots()
    ax.bar([0], [1], color=TECHNOLOGY_COLOURS["vm"])
    ax.plot([0, 1], [0, 1], color="#d62728")
    try:
        assert off_palette(fig) == ["#d62728"]
    finally:
        plt.close(fig)


def test_stack_diagrams_use_greys_only(catalog: Catalog, tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    graph = build_graph(load_scenario(SCENARIOS / "mixed-stack.toml", catalog), catalog)
    drawn: list[Figure] = []
    original = Figure.savefig

    def keep(self: Figure, *args: object, **kwargs: object) -> None:
        drawn.append(self)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    Figure.savefig = keep  # type: ignore[method-assign]
    try:
        draw_stack(graph, tmp_path / "mixed.png")
    finally:
        Figure.savefig = original  # type: ignore[method-assign]
    (fig,) = drawn
    assert all(is_neutral(c) for c in colours_used(fig))


def test_clipped_legends_finds_a_legend_outside_the_canvas() -> None:
    from tests.figure_colours import clipped_legends

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1], label="a line")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6))
    try:
        assert clipped_legends(fig) == ["a line"]
        ax.legend(loc="upper left")
        assert clipped_legends(fig) == []
    finally:
        plt.close(fig)
