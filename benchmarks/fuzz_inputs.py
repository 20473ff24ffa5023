"""Benchmark: a larger fuzzing run of hostile input, killed runs and user catalogues.

Run: python benchmarks/fuzz_inputs.py [--api N] [--cli N] [--models N] [--kills N]

Counts what the suite's bounded fuzz tests (tests/test_hostile_input.py,
tests/test_publish.py) check on a few dozen examples, at a larger size:

- ``--api``: generated scenarios through the Python API (load, budget, run);
- ``--cli``: generated scenarios through ``virtsim run --json`` (in-process);
- ``--models``: shipped profiles with one hostile value, as a ``--models`` folder;
- ``--kills``: ``virtsim reproduce`` killed with SIGKILL at a random moment.

Prints the counts and every failure (a traceback, an exit status other than 0
or 2, a message of more than one line or with a control character, an
orphaned worker, a published folder whose manifest does not match). Asserts
nothing: it reports.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import virtsim  # noqa: E402
from tests.test_hostile_input import HOSTILE_VALUES, hostile_scenarios  # noqa: E402
from virtsim.budget import check_budget, estimate  # noqa: E402
from virtsim.catalog import load_catalog, shipped_models_dir  # noqa: E402
from virtsim.cli import main  # noqa: E402
from virtsim.errors import MESSAGE_CHARS, InputError  # noqa: E402
from virtsim.publish import MANIFEST, stage, verify_manifest  # noqa: E402

COUNTS: Counter[str] = Counter()
FAILURES: list[str] = []


def clean(message: str) -> bool:
    """One line, no control character, not too long."""
    return (len(message) <= MESSAGE_CHARS + 40
            and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in message))


def fuzz_api(examples: int, folder: Path) -> None:
    catalog = load_catalog()
    path = folder / "api.toml"

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=hostile_scenarios())
    def one(data: dict[str, Any]) -> None:
        COUNTS["api: generated"] += 1
        try:
            path.write_text(tomli_w.dumps(data), encoding="utf-8")
        except (TypeError, ValueError):
            COUNTS["api: not TOML"] += 1
            return
        try:
            scenario = virtsim.load_scenario(path, catalog)
            check_budget(estimate(scenario, catalog), "api.toml", time_limit_s=2.0)
        except InputError as exc:
            COUNTS["api: refused (InputError)"] += 1
            if not clean(str(exc)):
                FAILURES.append(f"api: unclean message {str(exc)[:200]!r}")
            return
        except Exception as exc:  # the bug this benchmark looks for
            FAILURES.append(f"api: load raised {type(exc).__name__}: {exc!s:.200}")
            return
        try:
            result = virtsim.run_scenario(scenario, catalog)
            json.loads(result.to_json(), parse_constant=_not_json)
            COUNTS["api: ran"] += 1
        except Exception as exc:
            FAILURES.append(f"api: run raised {type(exc).__name__}: {exc!s:.200} "
                            f"({tomli_w.dumps(data)[:300]!r})")

    one()


def _not_json(constant: str) -> None:
    raise ValueError(f"not JSON: {constant}")


def fuzz_cli(examples: int, folder: Path) -> None:
    path = folder / "cli.toml"

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=hostile_scenarios())
    def one(data: dict[str, Any]) -> None:
        try:
            path.write_text(tomli_w.dumps(data), encoding="utf-8")
        except (TypeError, ValueError):
            return
        COUNTS["cli: runs"] += 1
        status, err = _main(["run", "--json", str(path)])
        COUNTS[f"cli: exit {status}"] += 1
        if status not in (0, 2) or (status == 2 and (err.count("\n") != 1 or not clean(
                err.rstrip("\n")))):
            FAILURES.append(f"cli: exit {status}: {err[:300]!r}")

    one()


def _main(args: list[str]) -> tuple[int, str]:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        status = main(args)
    return status, err.getvalue()


def fuzz_models(count: int, folder: Path, rng: random.Random) -> None:
    files = sorted(shipped_models_dir().rglob("*.toml"))
    scenario = ROOT / "experiments" / "scenarios" / "mixed-stack.toml"
    values = [HOSTILE_VALUES.example() for _ in range(200)]
    for n in range(count):
        source = rng.choice(files)
        data = tomllib.loads(source.read_text())
        keys = [k for k in data if k != "name"]
        key = rng.choice(keys)
        data[key] = rng.choice(values) if rng.random() < 0.8 else None
        if data[key] is None:
            del data[key]
        models = folder / f"models-{n}" / source.parent.name
        models.mkdir(parents=True)
        try:
            (models / source.name).write_text(tomli_w.dumps(data), encoding="utf-8")
        except (TypeError, ValueError):
            continue
        COUNTS["models: folders"] += 1
        status, err = _main(["--models", str(models.parent), "run", str(scenario)])
        COUNTS[f"models: exit {status}"] += 1
        if status not in (0, 2) or (status == 2 and (err.count("\n") != 1 or not clean(
                err.rstrip("\n")))):
            value = repr(data.get(key))[:80]
            FAILURES.append(f"models: {source.parent.name}/{source.name} {key}={value}: "
                            f"exit {status}: {err[:300]!r}")


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def fuzz_kills(count: int, folder: Path, rng: random.Random) -> None:
    out = folder / "reproduce-out"
    staging = stage(out)
    (staging.path / "findings.csv").write_text("claim\nC1\n")
    staging.publish(command="seed-result", seed=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    claims = ["C1", "C2", "C3", "C4", "C5", "C11", "C12", "C13", "C14"]
    for _ in range(count):
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        only = ",".join(rng.sample(claims, 3))
        proc = subprocess.Popen([sys.executable, "-m", "virtsim.cli", "reproduce", "--size",
                                 "tiny", "--only", only, "--workers", "2", "--out", str(out),
                                 "--no-progress"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        delay = rng.uniform(0.5, 12.0)
        workers: set[int] = set()
        began = time.monotonic()
        while time.monotonic() - began < delay and proc.poll() is None:
            workers |= _children(proc.pid)
            time.sleep(0.05)
        COUNTS["kills: runs"] += 1
        if proc.poll() is not None:
            COUNTS["kills: finished before the kill"] += 1
        else:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            COUNTS["kills: killed"] += 1
            deadline = time.monotonic() + 5
            while any(_alive(w) for w in workers) and time.monotonic() < deadline:
                time.sleep(0.05)
            orphans = [w for w in workers if _alive(w)]
            if orphans:
                FAILURES.append(f"kills: orphans {orphans} after {delay:.1f} s")
                for pid in orphans:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            if {p.name: p.read_bytes() for p in out.iterdir()} != before:
                FAILURES.append(f"kills: the published folder changed under a kill at "
                                f"{delay:.1f} s")
        if not (out / MANIFEST).exists() or verify_manifest(out):
            FAILURES.append(f"kills: manifest mismatch after {delay:.1f} s: "
                            f"{verify_manifest(out)[:5]}")


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--api", type=int, default=1000)
    parser.add_argument("--cli", type=int, default=200)
    parser.add_argument("--models", type=int, default=400)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="virtsim-fuzz-") as tmp:
        folder = Path(tmp)
        for name, step in (("api", lambda: fuzz_api(args.api, folder)),
                           ("cli", lambda: fuzz_cli(args.cli, folder)),
                           ("models", lambda: fuzz_models(args.models, folder, rng)),
                           ("kills", lambda: fuzz_kills(args.kills, folder, rng))):
            began = time.perf_counter()
            step()
            print(f"{name}: {time.perf_counter() - began:.1f} s", file=sys.stderr)
    for key in sorted(COUNTS):
        print(f"{key}: {COUNTS[key]:,}")
    print(f"failures: {len(FAILURES)}")
    for failure in FAILURES[:50]:
        print(f"  {failure}")


if __name__ == "__main__":
    main_()
