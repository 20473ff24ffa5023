"""The command line, run as a user runs it: in a subprocess, checking exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.paths import SCENARIOS


def virtsim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "virtsim.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def assert_input_error(proc: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for part in parts:
        assert part in proc.stderr


def test_help_lists_commands() -> None:
    proc = virtsim("--help")
    assert proc.returncode == 0
    for command in ("run", "graph", "catalog", "reproduce"):
        assert command in proc.stdout


def test_run_json_prints_one_object() -> None:
    proc = virtsim("run", str(SCENARIOS / "mixed-stack.toml"), "--json", "--seed", "5")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)
    assert metrics["seed"] == 5
    assert metrics["nodes"]["machine"] == 1


def test_run_out_writes_tables_and_effective_scenario(tmp_path: Path) -> None:
    out = tmp_path / "result"
    proc = virtsim("run", str(SCENARIOS / "alpine-warm.toml"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "nodes.csv").read_text().startswith("node,kind,")
    assert "seed = 1" in (out / "scenario.toml").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".virtsim-")]


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert virtsim("run", str(SCENARIOS / "mixed-stack.toml"), "--out",
                       str(tmp_path / name)).returncode == 0
    for csv in (tmp_path / "a").glob("*.csv"):
        assert csv.read_bytes() == (tmp_path / "b" / csv.name).read_bytes()


def test_run_on_workers_writes_the_same_bytes(tmp_path: Path) -> None:
    scenario = tmp_path / "two.toml"
    scenario.write_text('name = "two"\nduration_s = 30\nseed = 3\n\n'
                        '[[hosts]]\nname = "h"\nprofile = "m5d-metal"\ncount = 3\n'
                        'cached_images = ["alpine"]\n[[hosts.containers]]\nname = "c"\n'
                        'count = 2\nimage = "alpine"\nworkload = "sysbench-cpu"\n\n'
                        '[[faults]]\nkind = "machine-failure"\ntarget = "h-1"\nat_s = 5\n')
    runs = {}
    for workers in ("1", "2"):
        proc = virtsim("run", str(scenario), "--workers", workers, "--json", "--out",
                       str(tmp_path / workers))
        assert proc.returncode == 0, proc.stderr
        runs[workers] = proc.stdout
    assert runs["1"] == runs["2"]
    written = sorted(p.name for p in (tmp_path / "1").glob("*.csv"))
    assert "faults.csv" in written
    for name in written:
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


@pytest.mark.parametrize(("flags", "said"), [
    (("--workers", "0"), "--workers: expected a whole number from 1 to 256, found 0"),
    (("--workers", "two"), "found 'two'"),
    (("--scheduler", "not an address"), "--scheduler: expected the address of a running Dask"),
])
def test_run_refuses_bad_worker_flags(flags: tuple[str, ...], said: str) -> None:
    proc = virtsim("run", str(SCENARIOS / "alpine-warm.toml"), *flags)
    assert_input_error(proc, said)
    assert len(proc.stderr.strip().splitlines()) == 1


def test_graph_draws_png_from_another_folder(tmp_path: Path) -> None:
    proc = virtsim("graph", str(SCENARIOS / "mixed-stack.toml"), "--out", "stack.png",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "stack.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_draws_svg(tmp_path: Path) -> None:
    proc = virtsim("graph", str(SCENARIOS / "ubuntu-vm-kvm.toml"), "--out",
                   str(tmp_path / "s.svg"))
    assert proc.returncode == 0, proc.stderr
    assert "<svg" in (tmp_path / "s.svg").read_text()


def test_catalog_lists_kinds_and_sources() -> None:
    proc = virtsim("catalog")
    assert proc.returncode == 0
    assert "hosts:" in proc.stdout and "felter-server" in proc.stdout
    proc = virtsim("catalog", "vmms")
    assert "firecracker" in proc.stdout and "SPECIFICATION" in proc.stdout


def test_user_profile_folder_adds_a_host(tmp_path: Path,
                                         write_scenario: Callable[[str], Path]) -> None:
    (tmp_path / "models" / "hosts").mkdir(parents=True)
    base = (SCENARIOS.parent.parent / "models" / "hosts" / "laptop.toml").read_text()
    (tmp_path / "models" / "hosts" / "my-box.toml").write_text(base)
    scenario = write_scenario("[[hosts]]\nname = 'h'\nprofile = 'my-box'\n")
    proc = virtsim("--models", str(tmp_path / "models"), "run", str(scenario), "--json")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(("args", "parts"), [
    (["run", "missing.toml"], ["missing.toml", "no such file"]),
    (["run", str(SCENARIOS / "alpine-warm.toml"), "--seed", "abc"], ["--seed", "'abc'"]),
    (["run", str(SCENARIOS / "alpine-warm.toml"), "--seed", "-3"], ["--seed"]),
    (["run"], ["scenario"]),
    (["frobnicate"], ["frobnicate"]),
    (["catalog", "planets"], ["KIND", "'planets'"]),
    (["graph", str(SCENARIOS / "alpine-warm.toml"), "--out", "x.gif"], ["--out", ".png"]),
    (["graph", str(SCENARIOS / "alpine-warm.toml"), "--out", "/no/such/dir/x.png"],
     ["--out", "existing folder"]),
    (["--models", "/no/such/models", "catalog"], ["/no/such/models", "no such folder"]),
])
def test_bad_flags_exit_2_with_one_message(args: list[str], parts: list[str]) -> None:
    assert_input_error(virtsim(*args), *parts)


def test_bad_scenario_exits_2(write_scenario: Callable[[str], Path]) -> None:
    path = write_scenario("[[hosts]]\nname = 'h'\nprofile = 'laptop'\ncount = -1\n")
    assert_input_error(virtsim("run", str(path)), "scenario.toml", "hosts[0].count", "-1")


def test_out_is_a_file_exits_2(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert_input_error(virtsim("run", str(SCENARIOS / "alpine-warm.toml"), "--out", str(target)),
                       "--out", "folder")


def test_bad_user_profile_exits_2(tmp_path: Path) -> None:
    (tmp_path / "hosts").mkdir()
    (tmp_path / "hosts" / "bad.toml").write_text("cores = 'many'\n")
    assert_input_error(virtsim("--models", str(tmp_path), "catalog"), "bad.toml", "cores")


@pytest.mark.parametrize("command", ["run", "graph", "catalog", "reproduce"])
def test_every_subcommand_has_a_description(command: str) -> None:
    proc = virtsim(command, "--help")
    assert proc.returncode == 0
    _, _, rest = proc.stdout.partition("\n\n")
    description = rest.split("\n\n")[0]
    assert not description.startswith(("positional", "options")), proc.stdout
    assert len(description.split()) > 12
    assert "--models" in proc.stdout


def test_models_is_accepted_after_the_command_too(tmp_path: Path) -> None:
    before = virtsim("--models", "/no/such/models", "catalog")
    after = virtsim("catalog", "--models", "/no/such/models")
    assert_input_error(after, "/no/such/models", "no such folder")
    assert after.stderr == before.stderr


def test_an_unknown_profile_name_gets_a_suggestion_and_no_cut_list(
        write_scenario: Callable[[str], Path]) -> None:
    path = write_scenario("[[hosts]]\nname = 'h'\nprofile = 'm5d'\n")
    proc = virtsim("run", str(path))
    assert_input_error(proc, "did you mean 'm5d-metal'?", "windows-server")
    assert "..." not in proc.stderr
    path = write_scenario("[[hosts]]\nname = 'h'\nprofile = 'laptop'\n"
                          "[[hosts.containers]]\nname = 'c'\nimage = 'alpne'\n")
    proc = virtsim("run", str(path))
    assert_input_error(proc, "did you mean 'alpine'?", "`virtsim catalog images` lists them")
    assert_input_error(virtsim("catalog", "host"), "did you mean 'hosts'?")


def test_catalog_is_a_readable_table_with_key_values() -> None:
    proc = virtsim("catalog")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 130
    m5d = next(line for line in lines if line.strip().startswith("m5d-metal"))
    assert "48 (SMT off)" in m5d and "384 GiB" in m5d
    firecracker = next(line for line in lines if line.strip().startswith("firecracker "))
    assert "2.9 MiB" in firecracker and "0.018 s" in firecracker
    alpine = next(line for line in lines if line.strip().startswith("alpine "))
    assert "7.92 MiB" in alpine
    wide = virtsim("catalog", "hosts", "--wide")
    assert wide.returncode == 0 and "memory_bandwidth_gbs" in wide.stdout
    assert "SMT" in wide.stdout  # the whole description, uncut


def test_progress_bar_is_off_without_a_terminal_or_when_asked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys as system

    from virtsim.cli import _clock_bar

    monkeypatch.setattr(system, "stderr", io.StringIO())
    with _clock_bar(60.0, off=False) as advance:
        assert advance is None  # a pipe or a log file: no bar, the clock runs in one go

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(system, "stderr", Terminal())
    with _clock_bar(60.0, off=True) as advance:
        assert advance is None
    with _clock_bar(60.0, off=False) as advance:
        assert advance is not None
        advance(30.0)
        advance(60.0)
