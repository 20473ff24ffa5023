"""Running sweeps: the same tables on any executor, resume after kill -9, failures recorded."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import virtsim
from virtsim import cli
from virtsim.catalog import Catalog
from virtsim.errors import InputError
from virtsim.sweep_executor import InProcess, LocalProcesses
from virtsim.sweep_runner import ScenarioJob, run_scenarios, sweep

SWEEP = """
name = "tiny"
replications = 2
seed = 3

[[factors]]
name = "count"
key = "hosts.node.containers.web.count"
values = [1, 3]

[[factors]]
key = "hosts.node.containers.web.runtime"
values = ["runc", "runsc"]

[scenario]
duration_s = 30

[[scenario.hosts]]
name = "node"
profile = "m5d-metal"
cached_images = ["alpine"]

[[scenario.hosts.containers]]
name = "web"
image = "alpine"
workload = "web-service"
"""

TABLES = ("summary.csv", "runs.csv", "groups.csv", "failures.csv")


@pytest.fixture
def sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(SWEEP, encoding="utf-8")
    return path


def tables(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in TABLES}


def test_summary_has_mean_and_interval_per_point_group_and_measure(sweep_file: Path) -> None:
    result = sweep(sweep_file, workers=1)
    assert result.complete and not result.failed
    rows = [r for r in result.table if r["measure"] == "ready_p50_s"]
    assert len(rows) == 4 and all(r["group"] == "node/web" and r["n"] == 2 for r in rows)
    for row in rows:
        assert row["ci_low"] <= row["mean"] <= row["ci_high"]  # type: ignore[operator]
    techs = {r["runtime"]: r["technology"] for r in rows}
    assert techs == {"runc": "container", "runsc": "gvisor"}
    density = [r for r in result.table if r["measure"] == "density"]
    assert density and all(r["binding"] for r in density)
    assert result.frame().shape[0] == len(result.table)


def test_same_tables_in_process_and_on_local_workers(sweep_file: Path, tmp_path: Path) -> None:
    sweep(sweep_file, workers=1, out=tmp_path / "one", figure=False)
    sweep(sweep_file, workers=2, out=tmp_path / "two", figure=False)
    assert tables(tmp_path / "one") == tables(tmp_path / "two")


def _sweep_in_child(sweep_file: Path, out: Path, resume: bool) -> None:
    sweep(sweep_file, workers=1, out=out, resume=resume, figure=False)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], float]:
    """The tiny sweep run once without interruption: its file, tables and wall time."""
    folder = tmp_path_factory.mktemp("whole")
    sweep_file = folder / "tiny.toml"
    sweep_file.write_text(SWEEP, encoding="utf-8")
    started = time.perf_counter()
    sweep(sweep_file, workers=1, out=folder / "out", figure=False)
    return sweep_file, tables(folder / "out"), time.perf_counter() - started


def _kill_when(out: Path, finished: int, delay_s: float, sweep_file: Path) -> None:
    """Start the sweep in a forked child; kill -9 it ``delay_s`` after ``finished`` runs."""
    child = multiprocessing.get_context("fork").Process(
        target=_sweep_in_child, args=(sweep_file, out, out.exists()))
    child.start()
    deadline = time.monotonic() + 30
    while (child.is_alive() and time.monotonic() < deadline
           and len(list((out / "runs").glob("*.json"))) < finished):
        time.sleep(0.0005)
    time.sleep(delay_s)
    if child.pid is not None:
        os.kill(child.pid, signal.SIGKILL)
    child.join()


@settings(max_examples=10)
@given(kills=st.lists(st.tuples(st.integers(0, 7), st.floats(0.0, 0.02)), min_size=1,
                      max_size=2))
def test_kill_9_at_any_moment_then_resume_gives_the_same_tables(
        tmp_path_factory: pytest.TempPathFactory,
        uninterrupted: tuple[Path, dict[str, bytes], float],
        kills: list[tuple[int, float]]) -> None:
    """Kill the sweep (once or twice) after some runs and a little more, then resume."""
    sweep_file, whole, _ = uninterrupted
    out = tmp_path_factory.mktemp("cut") / "out"
    for finished, delay_s in kills:
        _kill_when(out, finished, delay_s, sweep_file)
    done = len(list((out / "runs").glob("*.json"))) if out.exists() else 0
    result = sweep(sweep_file, workers=1, out=out, resume=True, figure=False)
    assert result.skipped == done  # nothing finished is run again
    assert not list((out / "runs").glob(".*.tmp"))
    assert tables(out) == whole


def test_out_with_runs_needs_resume_and_refuses_another_sweep(sweep_file: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    sweep(sweep_file, workers=1, out=out, figure=False)
    with pytest.raises(InputError, match="--resume"):
        sweep(sweep_file, workers=1, out=out, figure=False)
    again = sweep(sweep_file, workers=1, out=out, resume=True, figure=False)
    assert again.skipped == 8 and again.complete
    sweep_file.write_text(SWEEP.replace("seed = 3", "seed = 4"), encoding="utf-8")
    with pytest.raises(InputError, match="different sweep"):
        sweep(sweep_file, workers=1, out=out, resume=True, figure=False)


def test_a_failing_run_is_recorded_and_the_others_go_on(
        sweep_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    real = virtsim.sweep_runner.run_scenario

    def flaky(scenario: Any, catalog: Catalog, seed: int | None = None) -> virtsim.Result:
        if scenario.hosts[0].containers[0].runtime == "runsc" and seed and seed % 2:
            raise RuntimeError("boom")
        return real(scenario, catalog, seed=seed)

    monkeypatch.setattr(virtsim.sweep_runner, "run_scenario", flaky)
    out = tmp_path / "out"
    status = cli.main(["sweep", str(sweep_file), "--workers", "1", "--out", str(out),
                       "--no-figure", "--no-progress"])
    assert status == 1
    failures = (out / "failures.csv").read_text().splitlines()
    assert len(failures) > 1 and all("RuntimeError: boom" in line for line in failures[1:])
    assert "failed" in capsys.readouterr().err
    result = sweep(sweep_file, workers=1, out=out, resume=True, figure=False)
    assert len(result.failed) == len(failures) - 1  # failures are results: not run again
    assert len(result.outcomes) == 8


def test_a_run_that_ends_too_early_warns_in_the_table_and_on_stderr(
        sweep_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep_file.write_text(SWEEP.replace("duration_s = 30", "duration_s = 0.3"),
                          encoding="utf-8")
    status = cli.main(["sweep", str(sweep_file), "--workers", "1", "--out",
                       str(tmp_path / "out"), "--no-figure", "--no-progress"])
    assert status == 0
    err = capsys.readouterr().err
    assert "warning" in err and "ended before all instances were ready" in err
    summary = (tmp_path / "out" / "summary.csv").read_text()
    assert "ended before all instances were ready" in summary


def test_figure_is_drawn(sweep_file: Path, tmp_path: Path) -> None:
    result = sweep(sweep_file, workers=1, out=tmp_path / "out")
    assert [p.name for p in result.figures] == ["figure.png", "figure.svg"]
    assert (tmp_path / "out" / "figure.png").stat().st_size > 10_000


def test_run_scenarios_keeps_job_order_on_any_executor(catalog: Catalog) -> None:
    jobs = [ScenarioJob({"duration_s": 5, "hosts": [{
        "name": "n", "profile": "m5d-metal", "cached_images": ["alpine"],
        "containers": [{"name": "c", "image": "alpine", "count": count}]}]}, seed=count)
        for count in (3, 1, 2)]
    serial = run_scenarios(jobs, InProcess())
    pooled = run_scenarios(jobs, LocalProcesses(2))
    assert [r.metrics["instances"] for r in serial] == [3, 1, 2]
    assert [r.tables["instances"] for r in serial] == [r.tables["instances"] for r in pooled]
