"""Calibration: every figure that set a parameter comes back within 5%, and none is held out."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from virtsim.calibration import (
    ROUND_TRIP_TOLERANCE,
    CalibrationFigure,
    RoundTrip,
    load_figures,
    overlap,
    parameter_value,
    round_trip,
)
from virtsim.catalog import shipped_models_dir
from virtsim.errors import InputError
from virtsim.validation import load_cases

FIGURES = load_figures()


@pytest.mark.parametrize("trip", round_trip(FIGURES), ids=lambda t: t.figure.id)
def test_each_calibration_figure_comes_back_within_5_percent(trip: RoundTrip) -> None:
    assert trip.error == ""
    assert trip.ratio is not None
    assert abs(trip.ratio - 1.0) <= ROUND_TRIP_TOLERANCE, (trip.figure.published, trip.simulated)


def test_no_figure_is_both_a_calibration_input_and_a_validation_case() -> None:
    assert overlap(FIGURES, load_cases()) == []


def test_overlap_finds_a_shared_figure() -> None:
    cases = load_cases()
    shared = FIGURES[0].model_copy(update={"id": cases[0].source.figure})
    assert overlap([shared], cases) == [cases[0].source.figure]


@pytest.mark.parametrize("figure", FIGURES, ids=lambda f: f.id)
def test_every_parameter_a_figure_sets_exists_and_is_not_called_an_assumption(
        figure: CalibrationFigure) -> None:
    for key in figure.sets:
        parameter_value(key)  # raises KeyError if the catalogue has no such key
        kind_name, _, field = key.partition(".")
        if "[" in field or "." in field:
            continue  # a stage or a list item carries its own source
        sources = tomllib.loads((shipped_models_dir() / f"{kind_name}.toml").read_text()
                                ).get("sources", {})
        assert not sources.get(field, "").lower().startswith("assumption"), key


def test_calibration_covers_several_publications() -> None:
    assert len({f.publication for f in FIGURES}) >= 10


def test_parameter_value_reads_nested_keys_and_named_items() -> None:
    assert parameter_value("layer_costs/kvm-tuned.cpu") == pytest.approx(0.9773, rel=1e-3)
    assert parameter_value("runtimes/crun.create[crun-run].wall_s.mean") == 0.0129
    assert parameter_value("images/alpine.layers[0].size_mib") == 7.92
    for bad in ("nokind", "layer_costs/nope.cpu", "layer_costs/kvm-tuned.nope",
                "runtimes/crun.create[nope].wall_s"):
        with pytest.raises(KeyError):
            parameter_value(bad)


def test_a_registry_with_a_duplicate_or_a_missing_round_trip_is_an_input_error(
        tmp_path: Path) -> None:
    one = ('[[figure]]\nid = "x:y"\ncitation = "Someone, a paper, 2020"\nwhere = "Table 1"\n'
           'published = 1\nunit = "s"\nsets = ["hosts/laptop.cores"]\n')
    path = tmp_path / "calibration.toml"
    path.write_text(one + 'parameters = ["hosts/laptop.cores"]\n' + one
                    + 'parameters = ["hosts/laptop.cores"]\n')
    with pytest.raises(InputError, match="twice"):
        load_figures(path)
    path.write_text(one)
    with pytest.raises(InputError, match="exactly one"):
        load_figures(path)


NOT_A_FIGURE = ("assumption", "borrowed", "as ", "not used", "no ", "the guest kernel's",
                "x86-64 base")
"""How a source that rests on no published figure of its own begins."""


def test_every_number_sourced_to_a_publication_is_a_registered_calibration_input() -> None:
    registered = {key for figure in FIGURES for key in figure.sets}
    missing = []
    for path in sorted(shipped_models_dir().glob("*/*.toml")):
        data = tomllib.loads(path.read_text())
        for key, source in data.get("sources", {}).items():
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if source.lower().startswith(NOT_A_FIGURE):
                continue
            name = f"{path.parent.name}/{path.stem}.{key}"
            if name not in registered:
                missing.append(name)
    assert missing == []


def test_no_source_cites_an_internal_document() -> None:
    for path in sorted(shipped_models_dir().rglob("*.toml")):
        text = path.read_text()
        assert "MEASUREMENTS.md" not in text and "MECHANISMS" not in text, path.name
