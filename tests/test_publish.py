"""Publishing a result whole: staging, manifest, stale folders, symlinks, kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.paths import ROOT
from virtsim.errors import InputError
from virtsim.publish import (
    MANIFEST,
    check_output_folder,
    clean_stale,
    stage,
    verify_manifest,
)
from virtsim.result import write_outputs


def publish_files(out: Path, files: dict[str, str], seed: int = 1) -> Path:
    staging = stage(out)
    try:
        for name, text in files.items():
            (staging.path / name).parent.mkdir(parents=True, exist_ok=True)
            (staging.path / name).write_text(text)
        return staging.publish(command="test", seed=seed)
    finally:
        staging.discard()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_publish_swaps_the_whole_folder_with_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_files(out, {"a.csv": "x\n", "sub/b.csv": "y\n"}, seed=1)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["seed"] == 1 and manifest["command"] == "test" and "virtsim" in manifest
    assert [f["path"] for f in manifest["files"]] == ["a.csv", "sub/b.csv"]
    assert verify_manifest(out) == []
    publish_files(out, {"c.csv": "z\n"}, seed=7)  # a second run: nothing of the first stays
    assert sorted(p.name for p in out.iterdir()) == ["c.csv", MANIFEST]
    assert json.loads((out / MANIFEST).read_text())["seed"] == 7
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging or old folder left


def test_verify_manifest_finds_a_changed_or_extra_file(tmp_path: Path) -> None:
    out = publish_files(tmp_path / "out", {"a.csv": "x\n"})
    (out / "a.csv").write_text("changed\n")
    (out / "extra.csv").write_text("\n")
    assert verify_manifest(out) == ["a.csv", "extra.csv"]


def test_output_folder_of_other_files_a_symlink_or_a_file_is_refused(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(InputError, match="replaced whole"):
        check_output_folder(mine)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(InputError, match="symlink"):
        stage(link)
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="a folder"):
        stage(tmp_path / "file")
    assert (mine / "thesis.tex").read_text() == "precious"


def test_a_symlink_planted_in_the_output_folder_is_never_written_through(
        tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    out = publish_files(tmp_path / "out", {"findings.csv": "a\n"})
    (out / "findings.csv").unlink()
    (out / "findings.csv").symlink_to(victim)
    publish_files(out, {"findings.csv": "b\n"})
    assert victim.read_text() == "untouched"
    assert not (out / "findings.csv").is_symlink()
    # the per-file writer replaces a link too
    (out / "t.csv").symlink_to(victim)
    write_outputs(out, {"t": [{"a": 1}]})
    assert victim.read_text() == "untouched" and (out / "t.csv").read_text() == "a\n1\n"


def test_stale_staging_is_removed_and_a_result_lost_mid_swap_is_restored(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    pid = dead_pid()
    stale = tmp_path / f".out.virtsim-staging-{pid}-abcd"
    stale.mkdir()
    (stale / "half.csv").write_text("")
    old = tmp_path / f".out.virtsim-old-{pid}-beef"
    old.mkdir()
    (old / MANIFEST).write_text("{}")
    alive = tmp_path / f".out.virtsim-staging-{os.getpid()}-cafe"  # a run still going
    alive.mkdir()
    other = tmp_path / f".other.virtsim-staging-{pid}-abcd"  # another output's
    other.mkdir()
    clean_stale(out)
    assert not stale.exists() and alive.exists() and other.exists()
    assert (out / MANIFEST).exists() and not old.exists()


def test_write_outputs_removes_temporaries_of_dead_processes(tmp_path: Path) -> None:
    stale = tmp_path / f".virtsim-{dead_pid()}-x1"
    stale.mkdir()
    write_outputs(tmp_path, {"t": [{"a": 1}]})
    assert not stale.exists() and (tmp_path / "t.csv").exists()


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_kill_9_of_reproduce_leaves_no_orphan_and_the_previous_result_whole(
        tmp_path: Path) -> None:
    out = publish_files(tmp_path / "out", {"findings.csv": "claim\nC1\n"}, seed=1)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtsim.cli", "reproduce", "--size", "tiny", "--only",
         "C3,C4,C5", "--workers", "2", "--seed", "7", "--out", str(out), "--no-progress",
         "--no-validation"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, "the workers never started"
    time.sleep(0.5)  # let them get into an experiment
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "workers outlived their parent"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert verify_manifest(out) == []
    leftovers = [p for p in tmp_path.iterdir() if p.name != "out"]
    assert leftovers  # the killed run's staging folder...
    clean_stale(out)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # ...is cleaned by the next run


def test_a_folder_nobody_can_write_in_is_an_input_error() -> None:
    # /proc exists but takes no new folders: staging there is bad input, not a crash.
    with pytest.raises(InputError, match="a folder virtsim can write in"):
        stage(Path("/proc/virtsim-out"))


# -- every command with --out publishes through publish_to ---------------------------

def test_publish_to_publishes_nothing_when_the_write_fails(tmp_path: Path) -> None:
    from virtsim.publish import publish_to

    def half(folder: Path) -> None:
        (folder / "a.csv").write_text("x\n")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        publish_to(tmp_path / "out", half, command="test")
    assert list(tmp_path.iterdir()) == []  # no folder, no staging left behind
    published = publish_to(tmp_path / "out", lambda f: (f / "a.csv").write_text("x\n"),
                           command="test", seed=3)
    assert verify_manifest(published) == []
    assert json.loads((published / MANIFEST).read_text())["seed"] == 3


def test_validate_and_plan_out_are_published_whole_with_a_manifest(tmp_path: Path) -> None:
    from virtsim.cli import main

    assert main(["validate", "--only", "qemu-vmm-memory", "--out", str(tmp_path / "v")]) == 0
    assert verify_manifest(tmp_path / "v") == []
    manifest = json.loads((tmp_path / "v" / MANIFEST).read_text())
    assert manifest["command"] == "validate" and manifest["only"] == ["qemu-vmm-memory"]
    assert {f["path"] for f in manifest["files"]} == {
        "validation.csv", "validation.json", "validation.png", "validation.svg"}
    plan = ROOT / "experiments" / "plans" / "nginx-vs-vms.toml"
    assert main(["plan", str(plan), "--out", str(tmp_path / "p")]) == 0
    assert verify_manifest(tmp_path / "p") == []
    assert json.loads((tmp_path / "p" / MANIFEST).read_text())["command"] == "plan"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own file")
    assert main(["plan", str(plan), "--out", str(mine)]) == 2  # never emptied
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_validate_or_plan_whose_writing_fails_leaves_no_half_written_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    import virtsim.plan_figure
    import virtsim.validation
    from virtsim.cli import main

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    if command == "validate":
        args = ["validate", "--only", "qemu-vmm-memory"]
        monkeypatch.setattr(virtsim.validation, "draw_validation", broken)
    else:
        args = ["plan", str(ROOT / "experiments" / "plans" / "nginx-vs-vms.toml")]
        monkeypatch.setattr(virtsim.plan_figure, "draw_plan", broken)
    out = tmp_path / "out"
    assert main([*args, "--out", str(out)]) == 1  # an internal error, reported as such
    assert list(tmp_path.iterdir()) == []  # the tables written before the failure: gone too


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_kill_9_of_validate_leaves_the_previous_result_whole(tmp_path: Path) -> None:
    out = publish_files(tmp_path / "out", {"validation.csv": "case\nx\n"}, seed=1)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtsim.cli", "validate", "--only",
         "felter-pxz-kvm,qemu-vmm-memory,tcg-kernel-boot", "--out", str(out)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    staged: list[Path] = []
    while not staged and time.monotonic() < deadline and proc.poll() is None:
        staged = [p for p in tmp_path.iterdir() if ".virtsim-staging-" in p.name]
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if verify_manifest(out) == [] and json.loads((out / MANIFEST).read_text())["command"] \
            == "validate":
        return  # the swap won the race: the new result, whole
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old one, whole
    clean_stale(out)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
