"""Compiled and source: the same program (virtsim.compiled)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import warnings
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from virtsim.catalog import shipped_models_dir
from virtsim.compiled import (
    HOT_MODULES,
    PACKAGE,
    compiled_modules,
    stale_modules,
    warn_if_stale,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("mixed-stack", "blast-radius", "container-cold", "boot-storm-1000")
"""VMs and containers, faults and restarts, pulls, a storm under the kernel's locks."""


def test_the_hot_modules_are_what_the_build_compiles() -> None:
    hook = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["mypyc"]
    assert hook["include"] == [f"virtsim/{name}.py" for name in HOT_MODULES]


def _fake_package(tmp_path: Path, edited: bool) -> Path:
    package = tmp_path / "virtsim"
    package.mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    compiled = package / f"sharing{EXTENSION_SUFFIXES[0]}"
    compiled.write_bytes(b"")
    source = package / "sharing.py"
    source.write_text("")
    stamp = compiled.stat().st_mtime
    os.utime(source, (stamp + (10.0 if edited else -10.0),) * 2)
    return package


def test_a_source_edited_after_the_build_is_named_in_a_warning(tmp_path: Path) -> None:
    package = _fake_package(tmp_path, edited=True)
    assert compiled_modules(package) == ["sharing"]
    assert stale_modules(package) == ["sharing"]
    with pytest.warns(UserWarning, match=r"virtsim/sharing\.py changed after it was compiled"):
        warn_if_stale(package)


def test_a_fresh_build_warns_of_nothing(tmp_path: Path) -> None:
    package = _fake_package(tmp_path, edited=False)
    assert stale_modules(package) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_stale(package)


def _run(pythonpath: Path, scenario: str, out: Path) -> dict[str, bytes]:
    subprocess.run(
        [sys.executable, "-m", "virtsim.cli", "run",
         str(ROOT / "experiments" / "scenarios" / f"{scenario}.toml"), "--out", str(out)],
        check=True, capture_output=True, cwd=pythonpath,
        env={**os.environ, "PYTHONPATH": str(pythonpath)})
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".csv", ".json")}


@pytest.mark.skipif(not compiled_modules(), reason="virtsim runs from source here "
                    "(pip install . compiles its hot modules; CI runs this)")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_compiled_modules_give_the_bytes_of_the_source(tmp_path: Path, scenario: str) -> None:
    source = tmp_path / "source"
    shutil.copytree(PACKAGE, source / "virtsim",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", "models"))
    shutil.copytree(shipped_models_dir(), source / "models")
    compiled = _run(PACKAGE.parent, scenario, tmp_path / "compiled-out")
    plain = _run(source, scenario, tmp_path / "source-out")
    assert compiled.keys() == plain.keys()
    assert [name for name in compiled if compiled[name] != plain[name]] == []
