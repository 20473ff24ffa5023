"""Compiled modules: which of virtsim's modules run as C compiled by mypyc, and stale builds.

An install (``pip install .``) compiles the simulation clock's hot path,
:data:`HOT_MODULES`, with mypyc (the build hook in ``pyproject.toml``): the
modules are fully typed already, and compiled they take about two thirds of
the instructions per event. The Python source is the same program, and the
suite checks that both give the same bytes (``tests/test_compiled.py``);
``HATCH_BUILD_NO_HOOKS=true pip install .`` installs the source alone (for a
machine without a C compiler).

In a source checkout the compiled files sit beside the sources
(``virtsim/sharing.cpython-311-x86_64-linux-gnu.so``), and Python imports
them first: a source edited after the install would not run.
:func:`warn_if_stale` says so when virtsim is imported.
"""

from __future__ import annotations

import warnings
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

HOT_MODULES: tuple[str, ...] = ("sharing", "lifecycle", "kernel_objects", "instances", "locks",
                                "machines", "graph", "host_mechanisms", "admission")
"""The modules the build compiles (the include list of pyproject's mypyc hook)."""

PACKAGE = Path(__file__).resolve().parent


def compiled_file(name: str, package: Path = PACKAGE) -> Path | None:
    """The compiled extension of module ``name`` in ``package``, if there is one."""
    for suffix in EXTENSION_SUFFIXES:
        path = package / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def compiled_modules(package: Path = PACKAGE) -> list[str]:
    """The hot modules that run compiled (their extension is beside the source)."""
    return [name for name in HOT_MODULES if compiled_file(name, package) is not None]


def stale_modules(package: Path = PACKAGE) -> list[str]:
    """Compiled hot modules whose source was edited after they were built."""
    stale = []
    for name in HOT_MODULES:
        compiled, source = compiled_file(name, package), package / f"{name}.py"
        if (compiled is not None and source.is_file()
                and source.stat().st_mtime > compiled.stat().st_mtime + 1.0):
            stale.append(name)
    return stale


def warn_if_stale(package: Path = PACKAGE) -> None:
    """Warn once if, in a source checkout, a compiled module is older than its source."""
    if not (package.parent / "pyproject.toml").is_file():
        return  # installed: the wheel's files are consistent
    stale = stale_modules(package)
    if stale:
        warnings.warn(
            f"virtsim: {', '.join(f'virtsim/{n}.py' for n in stale)} changed after it was "
            f"compiled: the compiled module runs, not the edited source. Install again "
            f"(pip install -e .) to compile the edit.", stacklevel=2)
