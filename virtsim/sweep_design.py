"""Sweep files: a base scenario crossed with factors, replicated, each run with its own seed.

A sweep file is TOML::

    name = "container density"
    scenario = "../scenarios/boot-storm-1000.toml"   # relative to this file
    replications = 3                                 # runs per point (default 1)
    seed = 1                                         # base of every run's seed
    design = "factorial"                             # or "listed": the [[points]] only

    [[factors]]
    key = "hosts.metal.containers.c.count"           # a key path (virtsim.keypath), or a
                                                     # list of paths set to the same level
    name = "containers"                              # default: the path's last part
    log = { start = 10, stop = 1000, num = 5 }       # or values = [...], or
                                                     # range = { start, stop, step }

    [[factors]]
    key = "hosts.metal.containers.c.runtime"
    values = ["runc", "crun", "runsc"]

    [[points]]                                       # design = "listed": a subset of
    containers = 10                                  # the factorial, factor by name
    runtime = "runc"

    [figure]                                         # optional
    x = "containers"                                 # default: the first numeric factor
    measures = ["all_ready_s", "ready_p99_s"]        # default: see virtsim.sweep_figure
    lines = ["runtime"]                              # factors that split lines (default:
                                                     # all but x)

``scenario`` may also be an inline table (a whole scenario). A point is
one assignment of a value to every factor; its id (``p-`` and ten hex
digits) is a hash of that assignment, so it stays the same when levels
are added or the file is reordered. Each run (point and replication) gets
a seed derived from the base seed, the point's id and the replication,
never from the order in which runs happen: the same file gives the same
numbers on one process, many, or a cluster.

Every point's scenario is built and validated when the file is loaded,
so a factor level that makes a scenario invalid fails at once (exit 2)
and names the point.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from virtsim.catalog import Catalog
from virtsim.datafile import read_toml, validate
from virtsim.errors import InputError, display_path
from virtsim.keypath import KeyPath, parse_key_path, set_value
from virtsim.profiles import Model
from virtsim.scenario import parse_scenario
from virtsim.simulation import component_key

Level = str | int | float | bool
"""One value a factor takes."""

MAX_RUNS = 1_000_000
"""Largest number of runs (points times replications) a sweep may ask for."""


class RangeSpec(Model):
    """Evenly spaced levels from ``start`` to ``stop`` (included when a step lands on it)."""

    start: float
    stop: float
    step: float = Field(gt=0)


class LogSpec(Model):
    """``num`` levels spaced evenly on a log scale from ``start`` to ``stop`` (both > 0)."""

    start: float = Field(gt=0)
    stop: float = Field(gt=0)
    num: int = Field(ge=2, le=10_000)


class FactorSpec(Model):
    """One swept key and its levels (exactly one of ``values``, ``range`` and ``log``)."""

    key: str | tuple[str, ...] = Field(min_length=1, description="a key path, or several "
                                       "set together to the same level")
    name: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$")
    values: tuple[Level, ...] | None = Field(default=None, min_length=1)
    range: RangeSpec | None = None
    log: LogSpec | None = None

    @model_validator(mode="after")
    def _one_kind_of_levels(self) -> FactorSpec:
        given = [k for k in ("values", "range", "log") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("exactly one of values, range or log"
                             + (f" (found {' and '.join(given)})" if given else ""))
        return self


class FigureSpec(Model):
    """What the sweep's default figure plots."""

    x: str | None = Field(default=None, description="a factor name; default: the first "
                          "numeric factor")
    measures: tuple[str, ...] = Field(default=(), description="measure names; default: "
                                      "the group start and density measures")
    lines: tuple[str, ...] | None = Field(default=None, description="factors that split "
                                          "lines; default: every factor but x")


class SweepSpec(Model):
    """A whole sweep file, as written."""

    name: str = "sweep"
    description: str = ""
    scenario: str | dict[str, Any]
    replications: int = Field(default=1, ge=1, le=10_000)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    design: Literal["factorial", "listed"] = "factorial"
    confidence: float = Field(default=0.95, gt=0, lt=1)
    factors: tuple[FactorSpec, ...] = Field(min_length=1)
    points: tuple[dict[str, Level], ...] = ()
    figure: FigureSpec = FigureSpec()


@dataclass(frozen=True)
class Factor:
    """A factor with its levels worked out."""

    name: str
    paths: tuple[KeyPath, ...]
    levels: tuple[Level, ...]
    spacing: Literal["listed", "linear", "log"]

    @property
    def numeric(self) -> bool:
        """True when every level is a number (it can be an x axis)."""
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.levels)


@dataclass(frozen=True)
class Point:
    """One combination of factor levels: its position, stable id and values by factor name."""

    index: int
    id: str
    values: tuple[tuple[str, Level], ...]

    def value(self, factor: str) -> Level:
        """The level of one factor at this point."""
        return dict(self.values)[factor]

    def label(self) -> str:
        """``containers=10, runtime=runc``."""
        return ", ".join(f"{k}={v}" for k, v in self.values)


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a point, a replication, its seed and its scenario data."""

    point: Point
    replication: int
    seed: int
    scenario: dict[str, Any]
    models: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The run's stable file name stem: ``<point id>-r<replication>``."""
        return f"{self.point.id}-r{self.replication}"


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep: factors, points and every run, each run's scenario validated."""

    name: str
    file: str
    factors: tuple[Factor, ...]
    points: tuple[Point, ...]
    runs: tuple[RunSpec, ...]
    replications: int
    seed: int
    confidence: float
    figure: FigureSpec
    technologies: dict[str, tuple[str, ...]]

    @property
    def fingerprint(self) -> str:
        """A hash of everything that decides the runs' results (for ``--resume``)."""
        body = json.dumps([[r.key, r.seed, r.scenario] for r in self.runs], sort_keys=True)
        return hashlib.blake2b(body.encode(), digest_size=16).hexdigest()


def point_id(values: tuple[tuple[str, Level], ...], factors: tuple[Factor, ...]) -> str:
    """A stable id from the assignment of levels to key paths (not names, not order)."""
    paths = {f.name: "+".join(p.text for p in f.paths) for f in factors}
    body = json.dumps(sorted((paths[name], value) for name, value in values))
    return "p-" + hashlib.blake2b(body.encode(), digest_size=5).hexdigest()


def run_seed(base_seed: int, point: str, replication: int) -> int:
    """The seed of one run: a function of the base seed, the point's id and the replication."""
    sequence = np.random.SeedSequence(base_seed, spawn_key=(component_key(point), replication))
    high, low = (int(x) for x in sequence.generate_state(2, dtype=np.uint32))
    return ((high << 32) | low) & (2**63 - 1)


def levels_of(spec: FactorSpec) -> tuple[tuple[Level, ...], Literal["listed", "linear", "log"]]:
    """The factor's levels: listed, an inclusive range, or log-spaced (whole numbers when
    both ends are whole numbers: rounded and each kept once)."""
    if spec.values is not None:
        return tuple(spec.values), "listed"
    if spec.range is not None:
        r = spec.range
        count = math.floor((r.stop - r.start) / r.step * (1 + 1e-12)) + 1 if r.stop >= r.start \
            else 0
        raw = [r.start + i * r.step for i in range(count)]
        whole = all(float(v).is_integer() for v in (r.start, r.step))
        return tuple(round(v) if whole else float(v) for v in raw), "linear"
    assert spec.log is not None
    g = spec.log
    raw_log = np.geomspace(g.start, g.stop, g.num).tolist()
    if float(g.start).is_integer() and float(g.stop).is_integer():
        return tuple(dict.fromkeys(round(v) for v in raw_log)), "log"
    return tuple(float(v) for v in raw_log), "log"


def load_sweep(path: Path | str, catalog: Catalog, models: tuple[str, ...] = ()) -> Sweep:
    """Read a sweep file, expand its points and runs, and validate every run's scenario.

    Raises:
        InputError: The file is malformed, a factor names no scenario key, a
            listed point is not in the factorial, or a point's scenario is invalid.
    """
    path = Path(path)
    data, text = read_toml(path)
    return parse_sweep(data, catalog, display_path(path), text, path.parent, models)


def parse_sweep(data: dict[str, Any], catalog: Catalog, file: str = "<sweep>", text: str = "",
                folder: Path | None = None, models: tuple[str, ...] = ()) -> Sweep:
    """Validate an already-parsed sweep table (the Python API's entry point)."""
    spec = validate(SweepSpec, data, file, text)
    base = _base_scenario(spec, file, folder or Path.cwd())
    factors = _factors(spec, base, file)
    points = _points(spec, factors, file)
    if len(points) * spec.replications > MAX_RUNS:
        raise InputError(file, "replications", f"at most {MAX_RUNS:,} runs in all",
                         f"{len(points)} points x {spec.replications} replications")
    runs, technologies = _runs(spec, base, factors, points, catalog, file, models)
    _check_figure(spec.figure, factors, file)
    return Sweep(name=spec.name, file=file, factors=factors, points=points, runs=runs,
                 replications=spec.replications, seed=spec.seed, confidence=spec.confidence,
                 figure=spec.figure, technologies=technologies)


def _base_scenario(spec: SweepSpec, file: str, folder: Path) -> dict[str, Any]:
    if isinstance(spec.scenario, dict):
        return spec.scenario
    target = Path(spec.scenario)
    target = target if target.is_absolute() else folder / target
    try:
        data, _ = read_toml(target)
    except InputError as exc:
        raise InputError(file, "scenario", "the path of a scenario TOML file, relative to "
                         "the sweep file", f"'{spec.scenario}' ({exc.found})") from None
    return data


def _factors(spec: SweepSpec, base: dict[str, Any], file: str) -> tuple[Factor, ...]:
    factors: list[Factor] = []
    for i, factor in enumerate(spec.factors):
        key = f"factors[{i}].key"
        texts = (factor.key,) if isinstance(factor.key, str) else factor.key
        paths = tuple(parse_key_path(text, file, key) for text in texts)
        levels, spacing = levels_of(factor)
        if not levels:
            raise InputError(file, f"factors[{i}].range", "a range with start <= stop",
                             f"start {factor.range.start if factor.range else ''} > stop")
        swept = {p.text for f in factors for p in f.paths}
        for path in paths:
            set_value(base, path, levels[0], file, key)  # the path exists in the base scenario
            if path.text in swept:
                raise InputError(file, key, "each key swept by one factor",
                                 f"'{path.text}' twice")
            swept.add(path.text)
        name = factor.name or str(paths[0].segments[-1])
        if name in {f.name for f in factors}:
            raise InputError(file, f"factors[{i}].name", "a name unique among factors (set "
                             "'name' when two keys end alike)", f"'{name}' twice")
        factors.append(Factor(name, paths, levels, spacing))
    return tuple(factors)


def _points(spec: SweepSpec, factors: tuple[Factor, ...], file: str) -> tuple[Point, ...]:
    if spec.design == "factorial":
        if spec.points:
            raise InputError(file, "points", "no [[points]] in a factorial design (set design "
                             "= \"listed\" to run only those)", f"{len(spec.points)} points")
        combos: list[tuple[Level, ...]] = [()]
        for factor in factors:
            combos = [(*c, level) for c in combos for level in factor.levels]
    else:
        if not spec.points:
            raise InputError(file, "points", "at least one [[points]] table in a listed design",
                             "none")
        combos = [_listed(p, i, factors, file) for i, p in enumerate(spec.points)]
    names = [f.name for f in factors]
    points: list[Point] = []
    seen: dict[str, int] = {}
    for combo in combos:
        values = tuple(zip(names, combo, strict=True))
        pid = point_id(values, factors)
        if pid in seen:
            raise InputError(file, "points", "each point once",
                             f"{', '.join(f'{k}={v}' for k, v in values)} twice")
        seen[pid] = len(points)
        points.append(Point(len(points), pid, values))
    return tuple(points)


def _listed(point: dict[str, Level], i: int, factors: tuple[Factor, ...],
            file: str) -> tuple[Level, ...]:
    names = [f.name for f in factors]
    extra = sorted(set(point) - set(names))
    if extra:
        raise InputError(file, f"points[{i}].{extra[0]}", f"a factor name ({', '.join(names)})",
                         f"'{extra[0]}'")
    combo: list[Level] = []
    for factor in factors:
        if factor.name not in point:
            raise InputError(file, f"points[{i}].{factor.name}", "a level for every factor",
                             "nothing")
        value = point[factor.name]
        if not any(_same_level(value, level) for level in factor.levels):
            raise InputError(file, f"points[{i}].{factor.name}", "one of the factor's levels "
                             f"({', '.join(map(str, factor.levels))})", repr(value))
        combo.append(value)
    return tuple(combo)


def _same_level(a: Level, b: Level) -> bool:
    """Equal levels: a boolean equals only a boolean (``true`` is not ``1``)."""
    return (isinstance(a, bool) == isinstance(b, bool)) and a == b


def _runs(spec: SweepSpec, base: dict[str, Any], factors: tuple[Factor, ...],
          points: tuple[Point, ...], catalog: Catalog, file: str, models: tuple[str, ...]
          ) -> tuple[tuple[RunSpec, ...], dict[str, tuple[str, ...]]]:
    from virtsim.measures import technologies

    by_name = {f.name: f for f in factors}
    runs: list[RunSpec] = []
    techs: dict[str, tuple[str, ...]] = {}
    for point in points:
        data = base
        for name, value in point.values:
            for path in by_name[name].paths:
                data = set_value(data, path, value, file, path.text)
        data = {**data, "seed": 0}
        scenario = parse_scenario(data, catalog, f"{file} (point {point.id}: {point.label()})")
        techs[point.id] = tuple(technologies(scenario))
        for replication in range(spec.replications):
            seed = run_seed(spec.seed, point.id, replication)
            runs.append(RunSpec(point, replication, seed, {**data, "seed": seed}, models))
    return tuple(runs), techs


def _check_figure(figure: FigureSpec, factors: tuple[Factor, ...], file: str) -> None:
    names = [f.name for f in factors]
    if figure.x is not None and figure.x not in names:
        raise InputError(file, "figure.x", f"a factor name ({', '.join(names)})",
                         f"'{figure.x}'")
    for i, line in enumerate(figure.lines or ()):
        if line not in names:
            raise InputError(file, f"figure.lines[{i}]", f"a factor name ({', '.join(names)})",
                             f"'{line}'")
