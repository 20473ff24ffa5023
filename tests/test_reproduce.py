"""``virtsim reproduce``: running experiments, seeds, outputs, failures and flags."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.paths import ROOT
from virtsim import cli, reproduce
from virtsim.claims import CLAIM_IDS
from virtsim.errors import InputError
from virtsim.experiment import experiment_paths
from virtsim.reproduce import (
    claim_of_stem,
    experiment_seed,
    normalise_claim_id,
    select_experiments,
)

SUBSET = ("C13", "C14")
"""Two fast experiments for end-to-end runs."""


def virtsim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "virtsim.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def csv_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.csv"))}


@given(st.integers(0, 2**63 - 1), st.text(min_size=1, max_size=30))
def test_experiment_seed_is_a_stable_function_of_seed_and_name(seed: int, name: str) -> None:
    assert experiment_seed(seed, name) == experiment_seed(seed, name)
    assert 0 <= experiment_seed(seed, name) < 2**32


def test_experiment_seeds_differ_between_experiments() -> None:
    seeds = {experiment_seed(1, p.stem) for p in experiment_paths()}
    assert len(seeds) == len(experiment_paths())


def test_claim_ids_are_normalised_and_checked() -> None:
    assert normalise_claim_id("c05") == "C5"
    assert normalise_claim_id(" C14 ") == "C14"
    assert claim_of_stem("c02_footprint") == "C2"
    with pytest.raises(InputError, match="C1 to C14"):
        normalise_claim_id("C15")
    with pytest.raises(InputError):
        normalise_claim_id("footprint")


def test_only_selects_the_experiments_of_those_claims() -> None:
    chosen = select_experiments(["C13", "c14"])
    assert [claim_of_stem(p.stem) for p in chosen] == ["C13", "C14"]


@pytest.fixture(scope="module")
def subset_run(tmp_path_factory: pytest.TempPathFactory) -> reproduce.Reproduction:
    out = tmp_path_factory.mktemp("reproduce")
    return reproduce.reproduce(out, size="tiny", seed=7, workers=1, only=SUBSET,
                               progress=False, log=False)


def test_reproduce_writes_tables_figures_and_reports(subset_run: reproduce.Reproduction) -> None:
    out = subset_run.out
    assert not subset_run.failed
    assert {o.claim for o in subset_run.outcomes} == set(SUBSET)
    for outcome in subset_run.outcomes:
        assert outcome.tables and all((out / t).is_file() for t in outcome.tables)
        for figure in outcome.figures:
            assert (out / figure.png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert "<svg" in (out / figure.svg).read_text()
    assert len(subset_run.stacks) == 6
    assert subset_run.report_html.is_file() and subset_run.report_md.is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".virtsim-")]


def test_report_names_every_claim_with_a_verdict_or_not_run(
        subset_run: reproduce.Reproduction) -> None:
    with (subset_run.out / "findings.csv").open() as f:
        rows = {r["claim"]: r["claim_verdict"] for r in csv.DictReader(f)}
    assert list(rows) == list(CLAIM_IDS)
    for claim_id in CLAIM_IDS:
        expected = ("supported", "partly supported", "contradicted") \
            if claim_id in SUBSET else ("not run",)
        assert rows[claim_id] in expected
    markdown = subset_run.report_md.read_text()
    for claim_id in CLAIM_IDS:
        assert f"## {claim_id}:" in markdown


def _no_diagrams(out: Path) -> list[reproduce.FigureFile]:
    raise RuntimeError("no fonts")


def test_a_failing_experiment_is_reported_and_the_others_complete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "experiments" / "c12_broken.py"
    broken.parent.mkdir()
    broken.write_text('CLAIM = "C12"\nTITLE = "broken"\n\n'
                      'def run(size, seed):\n    raise RuntimeError("boom")\n')
    good = [p for p in experiment_paths() if claim_of_stem(p.stem) == "C13"]
    monkeypatch.setattr(reproduce, "experiment_paths", lambda: [broken, *good])
    monkeypatch.setattr(reproduce, "draw_stacks", _no_diagrams)
    out = tmp_path / "out"
    status = cli.main(["reproduce", "--size", "tiny", "--workers", "1", "--out", str(out),
                       "--no-progress"])
    assert status == 1
    err = capsys.readouterr().err
    assert "c12_broken failed: RuntimeError: boom" in err
    assert "stack diagrams not drawn: RuntimeError: no fonts" in err
    with (out / "findings.csv").open() as f:
        rows = {r["claim"]: r for r in csv.DictReader(f)}
    assert rows["C12"]["verdict"] == "failed"
    assert "RuntimeError: boom" in rows["C12"]["reason"]
    assert rows["C13"]["verdict"] != "failed"
    assert "boom" in (out / "c12_broken" / "error.txt").read_text()
    assert "RuntimeError: boom" in (out / "report.html").read_text()


def all_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_byte_is_the_same_whatever_the_hash_seed_and_worker_count(
        tmp_path: Path) -> None:
    # C11 picks the kernel most images run on, where ties are possible; C13 draws figures
    # (SVG ids, metadata). Two processes at once: hash seeds 1 and 2, one and two workers.
    import os

    runs = []
    for hash_seed, workers in (("1", "1"), ("2", "2")):
        out = tmp_path / f"hash-{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        runs.append((out, subprocess.Popen(
            [sys.executable, "-m", "virtsim.cli", "reproduce", "--size", "tiny", "--only",
             "C11,C13", "--workers", workers, "--out", str(out), "--no-progress",
             "--no-validation"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)))
    for _, proc in runs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    one, two = (all_files(out) for out, _ in runs)
    assert "manifest.json" in one and any(name.endswith(".svg") for name in one)
    assert one.keys() == two.keys()
    assert [name for name in one if one[name] != two[name]] == []


def test_same_seed_gives_identical_csvs_whatever_the_worker_count(
        subset_run: reproduce.Reproduction, tmp_path: Path) -> None:
    proc = virtsim("reproduce", "--size", "tiny", "--only", ",".join(SUBSET), "--seed",
                   str(subset_run.seed), "--workers", "2", "--out", str(tmp_path),
                   "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "report.html" in proc.stdout
    one, two = csv_files(subset_run.out), csv_files(tmp_path)
    assert len(one) > 4
    assert one == two


@pytest.mark.parametrize("flags, expected", [
    (["--workers", "0"], "--workers"),
    (["--workers", "many"], "--workers"),
    (["--only", "C15"], "C1 to C14"),
    (["--only", ","], "--only"),
    (["--seed", "-1"], "--seed"),
    (["--size", "huge"], "--size"),
    (["--quik"], "unrecognized"),
])
def test_bad_flags_exit_2_with_one_message(flags: list[str], expected: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["reproduce", *flags]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("virtsim: error")]) == 1


def test_out_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert cli.main(["reproduce", "--out", str(target), "--size", "tiny"]) == 2
    assert "a folder" in capsys.readouterr().err


def test_an_experiment_runs_on_its_own(tmp_path: Path) -> None:
    script = ROOT / "experiments" / "c13_scratch.py"
    proc = subprocess.run([sys.executable, str(script), "--size", "tiny", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report.html").is_file()
    assert (tmp_path / "c13_scratch" / "images.csv").is_file()
    bad = subprocess.run([sys.executable, str(script), "--size", "huge"], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "--size" in bad.stderr


def test_a_held_out_figure_gets_one_value_the_validation_cases(tmp_path: Path) -> None:
    from virtsim.experiment import Comparison, Finding, Statement
    from virtsim.reproduction import ExperimentOutcome, Reproduction
    from virtsim.validation import CaseResult, Validation, load_cases

    case = load_cases()[0]
    own = Comparison("a measure", case.published, 123.0, case.unit, "src", case.source.figure)
    other = Comparison("another", 2.0, 3.0, "s", "src", "nobody:nothing")
    finding = Finding("C3", (Statement("s", "supported", "r"),), comparisons=(own, other))
    run = Reproduction(out=tmp_path, size="tiny", seed=1,
                       outcomes=[ExperimentOutcome("c03", "C3", "t", 1, finding)])
    run.validation = Validation([CaseResult(case, 0.5)])
    reproduce.one_value_per_figure(run)
    shown = run.outcomes[0].finding.comparisons  # type: ignore[union-attr]
    assert shown[0].simulated == 0.5
    assert shown[0].simulated_by == f"validation case {case.id}"
    assert shown[1] == other  # no validation case predicts it: the experiment's own value
