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


def test_what_runs_on_a_repeated_box_is_repeated_with_it(catalog: Catalog,
                                                        tmp_path: Path) -> None:
    graph = build_graph(load_scenario(SCENARIOS / "mixed-stack.toml", catalog), catalog)
    box = _condense(graph, "node", 1, 0)
    boxes = {}

    def walk(b: object) -> None:
        boxes[(b.kind, b.label.split("\n")[0])] = b  # type: ignore[attr-defined]
        for child in b.children:  # type: ignore[attr-defined]
            walk(child)

    walk(box)
    qemu, vm = boxes[("vmm", "qemu")], boxes[("vm", "k8s-node")]
    assert qemu.total == vm.total == 2 and qemu.multiplier == vm.multiplier == "x2"
    api = boxes[("container", "api")]
    assert (api.count, api.total, api.multiplier) == (3, 6, "3 per vm, x6")
    assert boxes[("kernel", "linux-6.8")].multiplier == ""
    draw_stack(graph, tmp_path / "mixed.svg")
    text = (tmp_path / "mixed.svg").read_text()
    assert "x2" in text and "3 per vm, x6" in text
