"""Stack diagrams: identical siblings are condensed, the file is written."""

from __future__ import annotations

from pathlib import Path

from tests.paths import SCENARIOS
from virtsim.catalog import Catalog
from virtsim.drawing import _condense, draw_stack
from virtsim.scenario import load_scenario
from virtsim.stack import build_graph


def test_thousand_containers_draw_as_one_box(catalog: Catalog, tmp_path: Path) -> None:
    graph = build_graph(load_scenario(SCENARIOS / "boot-storm-1000.toml", catalog), catalog)
    box = _condense(graph, "metal", 1, 0)
    runtime = box.children[0].children[0]
    assert runtime.kind == "runtime"
    assert [(c.kind, c.count) for c in runtime.children] == [("container", 1000)]
    draw_stack(graph, tmp_path / "storm.svg")
    assert "x1000" in (tmp_path / "storm.svg").read_text()
