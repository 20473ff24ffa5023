"""Every claim experiment runs at tiny size: tables, figures and a computed verdict."""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure as MplFigure

from tests.figure_colours import clipped_legends, off_palette
from virtsim.claims import CLAIM_IDS
from virtsim.experiment import VERDICTS, Finding, experiment_paths, load_experiment
from virtsim.reproduce import claim_of_stem, experiment_seed

PATHS = experiment_paths()


def test_experiments_are_discovered_in_claim_order() -> None:
    assert PATHS, "no experiments/cNN_*.py found"
    numbers = [int(p.stem[1:3]) for p in PATHS]
    assert numbers == sorted(numbers)


@pytest.fixture(scope="module", params=PATHS, ids=[p.stem for p in PATHS])
def experiment(request: pytest.FixtureRequest) -> tuple[ModuleType, dict[str, list[dict]]]:
    path: Path = request.param
    module = load_experiment(path)
    tables = module.run("tiny", experiment_seed(1, path.stem))
    return module, tables


def test_module_follows_the_contract(experiment: tuple[ModuleType, dict]) -> None:
    module, _ = experiment
    stem = Path(str(module.__file__)).stem
    assert claim_of_stem(stem) == module.CLAIM
    assert module.CLAIM in CLAIM_IDS
    assert isinstance(module.TITLE, str) and module.TITLE
    assert module.__doc__ and module.CLAIM in module.__doc__.split("\n")[0]
    for name in ("run", "figures", "findings"):
        assert callable(getattr(module, name))


def test_tables_are_tidy_and_not_empty(experiment: tuple[ModuleType, dict]) -> None:
    _, tables = experiment
    assert tables
    for name, rows in tables.items():
        assert rows, f"table {name} is empty"
        for row in rows:
            assert all(isinstance(k, str) for k in row)
            assert all(v is None or isinstance(v, str | int | float | bool)
                       for v in row.values()), f"table {name} holds a non-scalar: {row}"


def test_figures_draw_from_tables(experiment: tuple[ModuleType, dict]) -> None:
    module, tables = experiment
    figures = module.figures()
    assert figures
    prefix = f"c{int(module.CLAIM[1:]):02d}-"
    for figure in figures:
        assert figure.name.startswith(prefix), figure.name
        assert len(figure.caption) > 40, f"{figure.name}: the caption should explain"
        drawn = figure.draw(tables)
        try:
            assert isinstance(drawn, MplFigure)
            assert drawn.axes
            axes = drawn.axes[0]
            assert axes.get_title() or drawn.get_suptitle(), f"{figure.name} has no title"
            assert not clipped_legends(drawn), (
                f"{figure.name}: a legend is cut off: {clipped_legends(drawn)}")
            assert not off_palette(drawn), (
                f"{figure.name} uses colours outside the technology palette: "
                f"{off_palette(drawn)}")
            buffer = io.BytesIO()
            drawn.savefig(buffer, format="png", dpi=40)
            assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
        finally:
            plt.close(drawn)


def test_findings_have_a_valid_verdict(experiment: tuple[ModuleType, dict]) -> None:
    module, tables = experiment
    finding = module.findings(tables)
    assert isinstance(finding, Finding)
    assert finding.claim == module.CLAIM
    assert finding.verdict in VERDICTS
    assert finding.statements and finding.reason
    texts = [s.text for s in finding.statements]
    assert len(texts) == len(set(texts)), "each statement once"
    for statement in finding.statements:
        assert statement.verdict in VERDICTS
        assert statement.reason.startswith(("Holds for", "Not for")) or any(
            ch.isdigit() for ch in statement.reason), (
            f"{statement.text}: the reason should name the cases or numbers that decided it")
    for comparison in finding.comparisons:
        assert comparison.source and comparison.unit


def test_figure_names_are_unique_across_experiments() -> None:
    names = [f.name for p in PATHS for f in load_experiment(p).figures()]
    assert len(names) == len(set(names))


def test_each_comparison_names_its_figure_and_a_held_out_one_is_a_validation_case(
        experiment: tuple[ModuleType, dict]) -> None:
    from virtsim.calibration import HELD_OUT, role
    from virtsim.reproduce import tidy_tables
    from virtsim.validation import load_cases

    module, tables = experiment
    cases = {c.source.figure for c in load_cases()}
    for comparison in module.findings(tidy_tables(tables)).comparisons:
        assert comparison.figure, comparison.measure
        if role(comparison.figure) == HELD_OUT and not comparison.figure.startswith("seed-text:"):
            assert comparison.figure in cases, comparison.figure
