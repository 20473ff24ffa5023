"""``virtsim sweep`` and ``virtsim run --set`` as a user runs them: exit codes and messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.paths import ROOT, SCENARIOS
from tests.test_cli import assert_input_error, virtsim
from tests.test_sweep_runner import SWEEP


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1


def test_run_set_changes_the_scenario() -> None:
    proc = virtsim("run", str(SCENARIOS / "boot-storm-1000.toml"), "--json",
                   "--set", "hosts.metal.containers.c.count=5", "--set", "duration_s=120")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)
    assert metrics["instances"] == 5 and metrics["duration_s"] == 120


@pytest.mark.parametrize(("setting", "parts"), [
    ("hosts.metal.containerz.c.count=5", ["hosts.metal.containerz.c.count", "containerz"]),
    ("hosts.nope.count=2", ["hosts.nope.count", "one of metal"]),
    ("hosts.metal.containers.c.count=0", ["count", "greater than or equal to 1"]),
    ("hosts.metal.containers.c.runtime=runx", ["runtime", "runx"]),
    ("no-equals", ["--set", "KEY=VALUE"]),
])
def test_run_bad_set_exits_2_with_one_line(setting: str, parts: list[str]) -> None:
    proc = virtsim("run", str(SCENARIOS / "boot-storm-1000.toml"), "--set", setting)
    assert_input_error(proc, *parts)
    assert one_line(proc.stderr), proc.stderr


def test_run_warns_when_it_ends_before_all_instances_are_ready() -> None:
    proc = virtsim("run", str(SCENARIOS / "boot-storm-1000.toml"), "--json",
                   "--set", "duration_s=2", "--set", "hosts.metal.containers.c.count=40")
    assert proc.returncode == 0
    assert "warning" in proc.stderr and "not ready when the run ended" in proc.stderr
    assert "not ready when the run ended" in json.loads(proc.stdout)["warnings"][0]


def test_sweep_writes_tables_and_prints_json(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(SWEEP, encoding="utf-8")
    proc = virtsim("sweep", str(path), "--workers", "2", "--json", "--no-figure", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["measure"] for r in rows} >= {"all_ready_s", "ready_p99_s", "density"}
    assert (tmp_path / "tiny-out" / "summary.csv").exists()  # the default --out


@pytest.mark.parametrize(("change", "parts"), [
    (("values = [1, 3]", "values = [1, 0]"), ["count", "point p-"]),
    (("key = \"hosts.node.containers.web.runtime\"", "key = \"hosts.node.containerz.web.x\""),
     ["factors[1].key", "containerz"]),
    (("replications = 2", "replications = -1"), ["replications"]),
    (("values = [1, 3]", "values = [1, 3]\nrange = { start = 1, stop = 3, step = 1 }"),
     ["factors[0]", "exactly one of"]),
    (("[scenario]", "[scenarioo]"), ["scenario"]),
])
def test_bad_sweep_files_exit_2_with_one_line(tmp_path: Path, change: tuple[str, str],
                                              parts: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SWEEP.replace(*change), encoding="utf-8")
    proc = virtsim("sweep", str(path), "--out", str(tmp_path / "out"))
    assert_input_error(proc, "bad.toml", *parts)
    assert one_line(proc.stderr), proc.stderr


@pytest.mark.parametrize(("args", "parts"), [
    (["--workers", "0"], ["--workers"]),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], ["not allowed with"]),
    (["--scheduler", "tcp://127.0.0.1:1"], ["--scheduler", "Dask scheduler"]),
    (["--scheduler", "nonsense"], ["--scheduler", "'nonsense'"]),
])
def test_bad_sweep_flags_exit_2(tmp_path: Path, args: list[str], parts: list[str]) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(SWEEP, encoding="utf-8")
    proc = virtsim("sweep", str(path), "--out", str(tmp_path / "out"), *args)
    assert_input_error(proc, *parts)


def test_example_sweeps_load(tmp_path: Path) -> None:
    from virtsim.catalog import load_catalog
    from virtsim.sweep_design import load_sweep

    catalog = load_catalog()
    for path in sorted((ROOT / "experiments" / "sweeps").glob("*.toml")):
        assert load_sweep(path, catalog).runs


def test_example_sweeps_first_runs_simulate() -> None:
    from virtsim.catalog import load_catalog
    from virtsim.sweep_design import load_sweep
    from virtsim.sweep_runner import simulate_run

    catalog = load_catalog()
    for path in sorted((ROOT / "experiments" / "sweeps").glob("*.toml")):
        outcome = simulate_run(load_sweep(path, catalog).runs[0])
        assert not outcome.error and outcome.groups, path.name


def test_ctrl_c_stops_and_resume_finishes_with_the_same_tables(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.test_sweep_runner import tables
    from virtsim.sweep_runner import sweep

    path = tmp_path / "long.toml"
    path.write_text(SWEEP.replace("replications = 2", "replications = 15"), encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "virtsim.cli", "sweep", str(path), "--out", str(out),
               "--workers", "2", "--no-figure"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((out / "runs").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    done = len(list((out / "runs").glob("*.json")))
    assert 0 < done < 60
    resumed = virtsim("sweep", str(path), "--out", str(out), "--resume", "--no-figure")
    assert resumed.returncode == 0, resumed.stderr
    assert f"({done} already done)" in resumed.stdout
    sweep(path, workers=1, out=tmp_path / "whole", figure=False)
    assert tables(out) == tables(tmp_path / "whole")
