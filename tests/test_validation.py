"""Validation cases: their files, what a run measures, and the ``validate`` command.

The held-out results are measured here, never asserted to pass: a test that
failed when a prediction missed would invite tuning the catalogue to the
validation figures. What is asserted is that every case runs and gives a
number, and that the arithmetic of ratios and tolerance bands is right.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtsim.errors import InputError
from virtsim.validation import (
    AREAS,
    Case,
    CaseResult,
    Probe,
    Validation,
    load_case,
    load_cases,
    matches,
    run_cases,
    select_cases,
    statistic,
    table_text,
    tiny,
    validate,
    write_validation,
)

CASES = load_cases()
REQUIRED_AREAS = ("start-single", "start-concurrent", "footprint", "emulation", "faults-recovery")


def virtsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "virtsim.cli", *args], capture_output=True,
                          text=True, timeout=600)


def case(**changes: object) -> Case:
    data = CASES[0].model_dump()
    data.update(changes)
    return Case.model_validate(data)


# -- the suite of cases ------------------------------------------------------------

def test_at_least_25_cases_from_at_least_8_publications() -> None:
    assert len(CASES) >= 25
    assert len({c.source.publication for c in CASES}) >= 8


def test_cases_cover_every_required_area_and_each_kind_of_steady_performance() -> None:
    areas = {c.area for c in CASES}
    assert set(REQUIRED_AREAS) <= areas
    assert {"performance-cpu", "performance-memory", "performance-io",
            "performance-request"} <= areas
    assert areas <= set(AREAS)


def test_figure_ids_are_unique_and_each_case_says_why_its_tolerance() -> None:
    figures = [c.source.figure for c in CASES]
    assert len(figures) == len(set(figures))
    for c in CASES:
        assert c.tolerance_why and c.conditions and c.exercises and c.source.where


@pytest.mark.parametrize("result", run_cases(CASES, seed=7, size="tiny"),
                         ids=lambda r: r.case.id)
def test_every_case_runs_at_tiny_size_and_measures_a_number(result: CaseResult) -> None:
    # Measured, not judged: only that the case produced a finite value.
    assert result.error == ""
    assert result.simulated is not None and math.isfinite(result.simulated)
    assert result.ratio is not None


def test_a_run_is_the_same_whatever_the_number_of_workers(tmp_path: Path) -> None:
    only = ("felter-pxz-kvm", "firecracker-p99-50-at-once", "kata-ctr-run-true")
    one = validate(only, seed=3, workers=1)
    two = validate(only, seed=3, workers=2)
    write_validation(one, tmp_path / "one")
    write_validation(two, tmp_path / "two")
    assert (tmp_path / "one" / "validation.csv").read_bytes() == \
        (tmp_path / "two" / "validation.csv").read_bytes()


# -- ratio, band and summary ----------------------------------------------------------

@given(st.floats(0.01, 1e4), st.floats(0.01, 1e4), st.floats(0.01, 5))
def test_within_is_the_ratio_inside_the_symmetric_log_band(published: float, simulated: float,
                                                          tolerance: float) -> None:
    result = CaseResult(case(published=published, tolerance=tolerance), simulated)
    ratio = simulated / published
    assert result.within == (1 / (1 + tolerance) <= ratio <= 1 + tolerance)
    assert result.log_ratio == pytest.approx(abs(math.log10(ratio)))


def test_a_case_that_failed_counts_as_a_miss_and_is_worst() -> None:
    good = CaseResult(case(published=2.0), 2.0)
    failed = CaseResult(case(published=2.0, id="broken"), None, "ValueError: x")
    validation = Validation([good, failed])
    assert validation.share_within == 0.5
    assert validation.median_log_ratio == 0.0
    assert validation.worst(1) == [failed]
    assert "FAILED" in table_text(validation)


def test_summary_counts_publications_and_failed_cases() -> None:
    results = [CaseResult(c, c.published * 2) for c in CASES[:3]]
    summary = Validation(results).summary()
    assert summary["cases"] == 3
    assert summary["median_abs_log10_ratio"] == pytest.approx(round(math.log10(2), 4))
    assert summary["median_factor"] == pytest.approx(2.0, rel=1e-3)


# -- probes ------------------------------------------------------------------------

def test_matches_by_value_prefix_and_list() -> None:
    row = {"instance": "h/runsc-3", "kind": "machine-failure", "count": 4}
    assert matches(row, {"instance": "h/runsc*"})
    assert matches(row, {"kind": ["host-kernel-panic", "machine-failure"]})
    assert matches(row, {"count": 4})
    assert not matches(row, {"instance": "h/runc*"})
    assert not matches(row, {"kind": ["vmm-crash"]})


def test_statistics_over_rows() -> None:
    rows = [{"x": float(v), "k": "a" if v < 3 else "b"} for v in (1, 2, 3, 4)]
    assert statistic(rows, Probe(table="t", column="x", stat="median")) == 2.5
    assert statistic(rows, Probe(table="t", column="x", stat="sum")) == 10
    assert statistic(rows, Probe(table="t", stat="count")) == 4
    assert statistic(rows, Probe(table="t", stat="share", share_of={"k": "a"})) == 0.5
    assert statistic(rows, Probe(table="t", column="x", stat="per_s")) == 1.0
    with pytest.raises(ValueError, match="no numeric"):
        statistic(rows, Probe(table="t", column="missing"))


def test_tiny_caps_every_count() -> None:
    data = {"hosts": [{"count": 20, "vms": [{"count": 1000}], "containers": [{"count": 2}]}]}
    assert tiny(data) == {"hosts": [{"count": 4, "vms": [{"count": 4}],
                                     "containers": [{"count": 2}]}]}


# -- bad input -------------------------------------------------------------------------

def test_a_bad_case_file_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad-case.toml"
    text = (Path(__file__).resolve().parent.parent / "validation" / f"{CASES[0].id}.toml"
            ).read_text().replace("tolerance = ", "tolerance = -")
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_case(path)
    assert info.value.key == "tolerance" and "bad-case.toml" in info.value.file


def test_an_unknown_case_id_is_an_input_error() -> None:
    with pytest.raises(InputError, match="nope"):
        select_cases(CASES, ["nope"])


# -- the command -----------------------------------------------------------------------

def test_validate_command_prints_the_table_and_writes_csv_json_and_figure(tmp_path: Path
                                                                          ) -> None:
    proc = virtsim("validate", "--only", "felter-pxz-kvm,qemu-vmm-memory", "--out",
                   str(tmp_path))
    assert proc.returncode == 0, proc.stderr  # 0 whether or not the cases are within
    assert "felter-pxz-kvm" in proc.stdout and "held-out cases within tolerance" in proc.stdout
    with (tmp_path / "validation.csv").open() as rows:
        table = list(csv.DictReader(rows))
    assert [r["case"] for r in table] == ["felter-pxz-kvm", "qemu-vmm-memory"]
    assert {"published", "simulated", "ratio", "tolerance", "within"} <= set(table[0])
    for name in ("validation.json", "validation.png", "validation.svg"):
        assert (tmp_path / name).stat().st_size > 0


def test_validate_json_and_bad_only() -> None:
    proc = virtsim("validate", "--only", "felter-pxz-docker", "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["summary"]["cases"] == 1
    assert payload["cases"][0]["case"] == "felter-pxz-docker"
    bad = virtsim("validate", "--only", "no-such-case")
    assert bad.returncode == 2 and "no-such-case" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_validate_list_names_every_case() -> None:
    proc = virtsim("validate", "--list")
    assert proc.returncode == 0
    assert all(c.id in proc.stdout for c in CASES)


# -- the figure ------------------------------------------------------------------------

def test_the_figure_uses_the_palette_and_its_labels_never_overlap() -> None:
    """Numbered points, no two numbers on top of each other nor on a point, even for cases
    crowded together; greys and marker shapes only (areas are no technologies)."""
    import matplotlib.pyplot as plt
    from matplotlib.text import Annotation, Text

    from tests.figure_colours import off_palette
    from virtsim.validation import validation_figure

    crowded = [CaseResult(c, 1.0 + 0.01 * i) for i, c in enumerate(CASES)]  # all near (1, 1)
    spread = [CaseResult(c, c.published * (1.5 if i % 2 else 0.9)) for i, c in enumerate(CASES)]
    for results in (crowded, spread):
        if results is crowded:
            results = [CaseResult(Case.model_validate({**r.case.model_dump(), "published": 1.0}),
                                  r.simulated) for r in results]
        fig = validation_figure(Validation(results))
        try:
            assert off_palette(fig) == []
            fig.canvas.draw()
            ax = fig.axes[0]
            notes = [t for t in ax.texts if isinstance(t, Annotation)]
            assert sorted(int(t.get_text()) for t in notes) == list(range(1, len(CASES) + 1))
            boxes = [Text.get_window_extent(t) for t in notes]  # the number, not its leader
            for i, a in enumerate(boxes):
                assert not any(a.overlaps(b) for b in boxes[i + 1:]), notes[i].get_text()
            points = [ax.transData.transform(t.xy) for t in notes]
            for box in boxes:
                assert not any(box.contains(x, y) for x, y in points)
        finally:
            plt.close(fig)
