"""Validation: held-out published figures that the model must predict, never fit.

A *validation case* is one published end-to-end figure that set no parameter
of the catalogue (calibration figures live in ``models/calibration.toml``,
see :mod:`virtsim.calibration`; a test keeps the two apart). Each case is a
TOML file in ``validation/`` (shipped in the wheel as ``virtsim/validation``)
holding the scenario that reproduces the publication's conditions, what to
measure in the run's tables, the published value with its source (paper,
table or figure) and a tolerance justified by the publication's own spread::

    id = "firecracker-p99-50-at-once"    # the file's stem
    title = "p99 start of 50 microVMs launched at once"
    area = "start-concurrent"
    published = 0.146
    unit = "s"
    tolerance = 0.25                     # within if 1/1.25 <= simulated/published <= 1.25
    tolerance_why = "..."
    conditions = "..."
    exercises = "..."                    # the mechanisms the prediction composes

    [source]
    citation = "Agache et al., Firecracker: ..., NSDI 2020"
    where = "Section 6.1, Figure 7"
    figure = "agache2020:launch-p99-50"  # the figure's id (never a calibration figure's)

    [scenario]                           # or scenario_file = "scenarios/x.toml"
    ...
    [measure]                            # what to read from the run
    table = "starts"                     # a result table, or the derived 'starts'
    where = { group = "micro" }
    column = "ready_after_s"
    stat = "p99"

``[per]`` (same keys as ``[measure]``, optionally its own ``scenario``)
divides the measure (a slowdown, a ratio of two runtimes), or is subtracted
from it with ``combine = "difference"`` (what one layer adds). ``scale``
converts units. ``validation/models/`` holds profiles that only the cases
use (the benchmarks' demand vectors); they are loaded beside the catalogue.

:func:`validate` runs the cases on local worker processes, writes
``validation.csv``, ``validation.json`` and a log-log figure of simulated
against published with each case's tolerance band, and returns the rows;
misses are results, never errors.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
from pydantic import Field, model_validator

from virtsim.catalog import Catalog, load_catalog
from virtsim.datafile import read_toml
from virtsim.datafile import validate as validate_data
from virtsim.errors import InputError, display_path
from virtsim.profiles import Model
from virtsim.result import Record, Result, finite, write_outputs
from virtsim.simulation import component_key
from virtsim.workers import worker_pool

Area = Literal["start-single", "start-concurrent", "footprint", "performance-cpu",
               "performance-memory", "performance-io", "performance-network",
               "performance-request", "emulation", "faults-recovery"]
AREAS: tuple[str, ...] = Area.__args__  # type: ignore[attr-defined]
"""Every area a case can test, in the order the table lists them."""

Wanted = str | float | bool | list[str]
"""A row filter's value: equal to it, a prefix (``"web-*"``) or one of a list."""

Stat = Literal["median", "mean", "p95", "p99", "max", "min", "sum", "count", "first",
               "share", "per_s"]

DEFAULT_SEED = 2024
"""The base seed of ``virtsim validate`` when none is given."""

TINY_COUNT = 4
"""At size ``tiny`` (the test suite) every group and host count is capped at this."""


class Probe(Model):
    """What to read from a run: a table (or metric), a row filter, a column and a statistic.

    ``where`` keeps rows whose column equals the value (a string ending in
    ``*`` matches a prefix, a list any of its items). ``stat = "share"`` is the fraction of the
    filtered rows that also match ``share_of``; ``per_s`` is the row count
    over the largest value of ``column`` (a rate). ``scenario`` (an inline
    table) or ``scenario_file`` runs another scenario than the case's.
    """

    table: str | None = None
    metric: str | None = Field(default=None, description="dotted path into the run's metrics")
    where: dict[str, Wanted] = Field(default_factory=dict)
    share_of: dict[str, Wanted] = Field(default_factory=dict)
    column: str | None = None
    stat: Stat = "median"
    scenario: dict[str, Any] | None = None
    scenario_file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Probe:
        if (self.table is None) == (self.metric is None):
            raise ValueError("exactly one of 'table' or 'metric'")
        if self.table is not None and self.column is None and self.stat not in {
                "count", "share", "per_s"}:
            raise ValueError(f"a 'column' for stat '{self.stat}'")
        return self


class Source(Model):
    """Where a published figure comes from."""

    citation: str = Field(min_length=10, description="authors or project, title, venue, year")
    where: str = Field(min_length=3, description="table, figure, section or URL")
    figure: str = Field(pattern=r"^[a-z0-9.-]+:[a-z0-9.-]+$",
                        description="the figure's id, '<publication>:<figure>'")

    @property
    def publication(self) -> str:
        """The publication part of the figure id (``agache2020``)."""
        return self.figure.split(":", 1)[0]


class Measured(Model):
    """A published figure with the run that measures it: scenario, probe, optional ``per``.

    Shared by validation cases and by calibration figures whose round trip
    runs a simulation (:mod:`virtsim.calibration`).
    """

    published: float = Field(gt=0)
    unit: str
    scenario: dict[str, Any] | None = None
    scenario_file: str | None = None
    measure: Probe | None = None
    per: Probe | None = None
    combine: Literal["ratio", "difference"] = Field(
        default="ratio", description="how [per] combines: measure / per, or measure - per")
    scale: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _has_scenario(self) -> Measured:
        for probe in (self.measure, self.per):
            if probe is None:
                continue
            if not (probe.scenario or probe.scenario_file or self.scenario
                    or self.scenario_file):
                raise ValueError("a [scenario] table or scenario_file")
        return self


class Case(Measured):
    """One validation case (see the module docs for the file format)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=5)
    area: Area
    tolerance: float = Field(gt=0, le=10, description="relative band: within if the ratio is "
                             "in [1/(1+t), 1+t]")
    tolerance_why: str = Field(min_length=10)
    conditions: str = Field(min_length=10)
    exercises: str = Field(min_length=10)
    source: Source
    measure: Probe


@dataclass(frozen=True)
class CaseResult:
    """One case's outcome: the simulated value beside the published one."""

    case: Case
    simulated: float | None
    error: str = ""
    elapsed_s: float = 0.0

    @property
    def ratio(self) -> float | None:
        """Simulated over published (None when the run failed or measured nothing)."""
        if self.simulated is None or not math.isfinite(self.simulated):
            return None
        return self.simulated / self.case.published

    @property
    def log_ratio(self) -> float | None:
        """``|log10(simulated / published)|``: 0 is exact, 1 is a factor of ten."""
        ratio = self.ratio
        return abs(math.log10(ratio)) if ratio is not None and ratio > 0 else None

    @property
    def within(self) -> bool:
        """True when the ratio lies in the case's tolerance band."""
        ratio = self.ratio
        band = 1.0 + self.case.tolerance
        return ratio is not None and 1.0 / band <= ratio <= band

    def record(self) -> Record:
        """The case as one row of ``validation.csv``."""
        c = self.case
        return {"case": c.id, "area": c.area, "title": c.title, "published": c.published,
                "simulated": None if self.simulated is None else round(self.simulated, 6),
                "unit": c.unit, "ratio": None if self.ratio is None else round(self.ratio, 4),
                "tolerance": c.tolerance, "within": self.within,
                "log10_ratio": None if self.log_ratio is None else round(self.log_ratio, 4),
                "publication": c.source.publication, "figure": c.source.figure,
                "source": f"{c.source.citation}; {c.source.where}", "error": self.error}


@dataclass
class Validation:
    """The outcome of a whole ``validate`` run."""

    results: list[CaseResult] = field(default_factory=list)
    seed: int = DEFAULT_SEED
    size: str = "full"
    elapsed_s: float = 0.0

    @property
    def measured(self) -> list[CaseResult]:
        """The cases that produced a value."""
        return [r for r in self.results if r.ratio is not None]

    @property
    def share_within(self) -> float:
        """Share of all cases within tolerance (a case that failed to run counts as a miss)."""
        return sum(r.within for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def median_log_ratio(self) -> float | None:
        """Median of ``|log10(simulated / published)|`` over the measured cases."""
        values = [r.log_ratio for r in self.measured if r.log_ratio is not None]
        return statistics.median(values) if values else None

    def worst(self, n: int = 5) -> list[CaseResult]:
        """The ``n`` cases furthest from their published value (unmeasured first)."""
        return sorted(self.results, key=lambda r: -(r.log_ratio if r.log_ratio is not None
                                                    else math.inf))[:n]

    def summary(self) -> dict[str, Any]:
        """Headline figures: cases, within, share, median log-ratio, publications."""
        median = self.median_log_ratio
        return {"cases": len(self.results), "within": sum(r.within for r in self.results),
                "share_within": round(self.share_within, 4),
                "median_abs_log10_ratio": None if median is None else round(median, 4),
                "median_factor": None if median is None else round(10 ** median, 3),
                "publications": len({r.case.source.publication for r in self.results}),
                "failed": [r.case.id for r in self.results if r.error],
                "seed": self.seed, "size": self.size}


# -- loading -------------------------------------------------------------------

def validation_dir() -> Path:
    """The folder of validation cases: shipped in the wheel, or the source tree's."""
    installed = Path(str(resources.files("virtsim"))) / "validation"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "validation"


def case_paths(folder: Path | None = None) -> list[Path]:
    """Every case file of ``folder`` (default: the shipped cases), sorted by id."""
    return sorted((folder or validation_dir()).glob("*.toml"))


def load_case(path: Path) -> Case:
    """Read and validate one case file; its id is the file's stem."""
    data, text = read_toml(path)
    if "id" in data and data["id"] != path.stem:
        raise InputError(display_path(path), "id", f"'{path.stem}' (the file name)",
                         f"'{data['id']}'")
    return validate_data(Case, {**data, "id": path.stem}, display_path(path), text)


def load_cases(folder: Path | None = None) -> list[Case]:
    """Every case of ``folder`` (default: the shipped ``validation/``)."""
    return [load_case(p) for p in case_paths(folder)]


def select_cases(cases: Sequence[Case], only: Iterable[str] = ()) -> list[Case]:
    """The chosen cases (all when ``only`` is empty); InputError names an unknown id."""
    wanted = [w.strip() for w in only if w.strip()]
    known = {c.id for c in cases}
    for name in wanted:
        if name not in known:
            raise InputError("--only", "", "case ids from `virtsim validate --list`, separated "
                             "by commas", f"'{name}'")
    return [c for c in cases if not wanted or c.id in wanted]


def validation_catalog(folder: Path | None = None) -> Catalog:
    """The catalogue plus the profiles only the cases use (``validation/models``)."""
    extra = (folder or validation_dir()) / "models"
    return load_catalog([extra] if extra.is_dir() else [])


# -- measuring -------------------------------------------------------------------

def scenario_data(case: Measured, probe: Probe, folder: Path) -> dict[str, Any]:
    """The scenario a probe reads: its own, else the case's (inline or from a file).

    A file is relative to ``folder``; an inline table is named after the case.
    """
    inline = probe.scenario if (probe.scenario or probe.scenario_file) else case.scenario
    path = probe.scenario_file if (probe.scenario or probe.scenario_file) else case.scenario_file
    if inline is not None:
        return {"name": str(getattr(case, "id", "case")).replace(":", "-"), **inline}
    assert path is not None  # the Case validator ensures one of them
    data, _ = read_toml(folder / path)
    return data


def tiny(data: dict[str, Any]) -> dict[str, Any]:
    """The scenario with every count capped at :data:`TINY_COUNT` (size ``tiny``)."""
    def cap(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (min(v, TINY_COUNT) if k == "count" and isinstance(v, int) else cap(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [cap(v) for v in value]
        return value
    return dict(cap(data))


def scenario_seed(base_seed: int, data: Mapping[str, Any]) -> int:
    """The seed of one scenario: a stable function of the base seed and its content."""
    key = component_key(json.dumps(data, sort_keys=True, default=str))
    sequence = np.random.SeedSequence(base_seed, spawn_key=(key,))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


class Runner:
    """Runs scenarios once each (cases that share one reuse its result)."""

    def __init__(self, catalog: Catalog, seed: int, size: str) -> None:
        self.catalog = catalog
        self.seed = seed
        self.size = size
        self._results: dict[str, Result] = {}

    def result(self, data: dict[str, Any], file: str) -> Result:
        """The run of one scenario table (cached by its content)."""
        from virtsim.run import run_scenario
        from virtsim.scenario import parse_scenario

        if self.size == "tiny":
            data = tiny(data)
        key = json.dumps(data, sort_keys=True, default=str)
        if key not in self._results:
            scenario = parse_scenario(data, self.catalog, file)
            self._results[key] = run_scenario(scenario, self.catalog,
                                              scenario_seed(self.seed, data))
        return self._results[key]


def measure(case: Measured, runner: Runner, folder: Path) -> float:
    """The simulated value of one case (raises when the run cannot measure it)."""
    if case.measure is None:
        raise ValueError("nothing to measure: no [measure] table")
    value = _probe_value(case, case.measure, runner, folder)
    if case.per is not None:
        base = _probe_value(case, case.per, runner, folder)
        if case.combine == "difference":
            value -= base
        elif base == 0:
            raise ValueError("the [per] measure is 0")
        else:
            value /= base
    return value * case.scale


def _probe_value(case: Measured, probe: Probe, runner: Runner, folder: Path) -> float:
    data = scenario_data(case, probe, folder)
    result = runner.result(data, f"{getattr(case, 'id', 'case')} (scenario)")
    if probe.metric is not None:
        return _metric(result.metrics, probe.metric)
    assert probe.table is not None
    rows = [r for r in table_rows(result, probe.table) if matches(r, probe.where)]
    return statistic(rows, probe)


def _metric(metrics: Mapping[str, Any], path: str) -> float:
    node: Any = metrics
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(f"no metric '{path}'")
        node = node[part]
    return float(node)


def table_rows(result: Result, name: str) -> list[Record]:
    """A result table, or the derived ``starts`` table (one row per instance).

    ``starts`` has ``instance``, ``group``, ``machine``, ``kind``,
    ``ready_after_s`` (request to ready) and ``done_after_s`` (request to the
    end of its last stage: for a container that runs ``true``, its exit).
    """
    if name != "starts":
        return list(result.rows(name))
    ends: dict[str, float] = defaultdict(float)
    for row in result.rows("stages"):
        instance = str(row["instance"])
        ends[instance] = max(ends[instance], _float(row["end_s"]))
    rows: list[Record] = []
    for row in result.rows("instances"):
        if row.get("ready_s") is None:
            continue
        requested = _float(row["requested_s"])
        instance = str(row["instance"])
        rows.append({"instance": instance, "group": row["group"], "machine": row["machine"],
                     "kind": row["kind"], "ready_after_s": _float(row["ready_s"]) - requested,
                     "done_after_s": max(ends.get(instance, 0.0), _float(row["ready_s"]))
                     - requested})
    return rows


def matches(row: Record, where: Mapping[str, Wanted]) -> bool:
    """True when every filter holds (``*`` at the end matches a prefix; a list, any item)."""
    for key, wanted in where.items():
        value = row.get(key)
        if isinstance(wanted, list):
            if str(value) not in wanted:
                return False
        elif isinstance(wanted, str) and wanted.endswith("*"):
            if not str(value).startswith(wanted[:-1]):
                return False
        elif isinstance(wanted, str):
            if str(value) != wanted:
                return False
        elif value != wanted:
            return False
    return True


def statistic(rows: list[Record], probe: Probe) -> float:
    """One statistic over the filtered rows."""
    if probe.stat == "count":
        return float(len(rows))
    if probe.stat == "share":
        if not rows:
            raise ValueError("no rows to take a share of")
        return sum(matches(r, probe.share_of) for r in rows) / len(rows)
    assert probe.column is not None
    values = [_float(r.get(probe.column)) for r in rows
              if isinstance(r.get(probe.column), int | float)
              and not isinstance(r.get(probe.column), bool)]
    if not values:
        raise ValueError(f"no numeric '{probe.column}' in the rows matching {probe.where}")
    if probe.stat == "per_s":
        return len(values) / max(values)
    if probe.stat == "first":
        return values[0]
    if probe.stat in {"p95", "p99"}:
        return float(np.percentile(values, float(probe.stat[1:])))
    if probe.stat == "median":
        return float(statistics.median(values))
    if probe.stat == "mean":
        return statistics.fmean(values)
    if probe.stat == "max":
        return max(values)
    if probe.stat == "min":
        return min(values)
    return math.fsum(values)


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


# -- running -----------------------------------------------------------------------

def run_cases(cases: Sequence[Case], seed: int = DEFAULT_SEED, size: str = "full",
              folder: Path | None = None) -> list[CaseResult]:
    """Run cases in this process (sharing runs of identical scenarios); never raises."""
    folder = folder or validation_dir()
    runner = Runner(validation_catalog(folder), seed, size)
    out = []
    for case in cases:
        started = time.perf_counter()
        try:
            value: float | None = measure(case, runner, folder)
            error = ""
        except Exception as exc:  # a case that cannot run is a result, reported in its row
            value, error = None, f"{type(exc).__name__}: {exc}"
        out.append(CaseResult(case, value, error, time.perf_counter() - started))
    return out


def _run_group(ids: list[str], seed: int, size: str, folder: str) -> list[CaseResult]:
    path = Path(folder)
    cases = {c.id: c for c in load_cases(path)}
    return run_cases([cases[i] for i in ids], seed, size, path)


def groups_by_scenario(cases: Sequence[Case]) -> list[list[Case]]:
    """Cases grouped so that those sharing a scenario file run in one worker."""
    groups: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        groups[case.scenario_file or case.measure.scenario_file or case.id].append(case)
    return sorted(groups.values(), key=lambda g: -len(g))


def validate(only: Iterable[str] = (), seed: int = DEFAULT_SEED, size: str = "full",
             workers: int | None = None, folder: Path | None = None,
             log: bool = False) -> Validation:
    """Load and run the validation cases, in parallel on local processes.

    Args:
        only: Case ids to run (default: every case).
        seed: Base seed; each scenario's seed derives from it and the scenario's content.
        size: ``"full"`` as written, or ``"tiny"`` (counts capped, for the test suite).
        workers: Worker processes (default: min(2, CPUs)); 1 runs in this process.
        folder: A folder of cases (default: the shipped ``validation/``).
        log: Print one line per finished case on stderr.
    """
    from virtsim.reproduce import default_workers

    folder = folder or validation_dir()
    started = time.perf_counter()
    cases = select_cases(load_cases(folder), only)
    validation_catalog(folder)  # a bad profile folder fails here, with its message
    workers = workers or default_workers()
    results: list[CaseResult] = []
    if workers <= 1 or len(cases) <= 1:
        results = run_cases(cases, seed, size, folder)
    else:
        with worker_pool(workers) as pool:  # workers that die with this process
            futures = [pool.submit(_run_group, [c.id for c in group], seed, size, str(folder))
                       for group in groups_by_scenario(cases)]
            for future in as_completed(futures):
                done = future.result()
                results += done
                if log:
                    for r in done:
                        print(_progress_line(r), file=sys.stderr)
    order = {c.id: i for i, c in enumerate(cases)}
    results.sort(key=lambda r: order[r.case.id])
    return Validation(results, seed, size, time.perf_counter() - started)


def _progress_line(result: CaseResult) -> str:
    status = ("FAILED: " + result.error if result.error
              else ("within" if result.within else "miss"))
    return f"  {result.case.id:<40} {status} ({result.elapsed_s:.1f} s)"


# -- output --------------------------------------------------------------------------

def table_text(validation: Validation) -> str:
    """The validation table as fixed-width text, with the summary lines under it."""
    header = f"{'case':<38} {'published':>11} {'simulated':>11} {'unit':<14} " \
             f"{'ratio':>7} {'tol':>6}  within"
    lines = [header, "-" * len(header)]
    for r in validation.results:
        c = r.case
        sim = "-" if r.simulated is None else _num(r.simulated)
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        within = "yes" if r.within else ("FAILED" if r.error else "no")
        lines.append(f"{c.id:<38} {_num(c.published):>11} {sim:>11} {c.unit[:14]:<14} "
                     f"{ratio:>7} {'±' + format(c.tolerance, '.0%'):>6}  {within}")
    lines += ["", summary_line(validation)]
    return "\n".join(lines)


def summary_line(validation: Validation) -> str:
    """One sentence: how many cases, how many within, the median log-ratio."""
    s = validation.summary()
    median = s["median_abs_log10_ratio"]
    median_text = "-" if median is None else f"{median:.3f} (a factor of {s['median_factor']:.2f})"
    return (f"{s['within']} of {s['cases']} held-out cases within tolerance "
            f"({s['share_within']:.0%}) from {s['publications']} publications; "
            f"median |log10(simulated / published)| {median_text}")


def _num(value: float) -> str:
    return f"{value:,.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"


def write_validation(validation: Validation, out: Path) -> list[Path]:
    """Write ``validation.csv``, ``validation.json`` and the figure (PNG and SVG) to ``out``."""
    rows = [r.record() for r in validation.results]
    payload = {"summary": validation.summary(), "cases": rows}
    write_outputs(out, {"validation": rows},
                  {"validation.json": json.dumps(finite(payload), indent=1, sort_keys=True,
                                                 allow_nan=False) + "\n"})
    return [*draw_validation(validation, out), out / "validation.csv", out / "validation.json"]


def draw_validation(validation: Validation, out: Path) -> list[Path]:
    """Simulated against published, log-log, one point per case with its tolerance band."""
    import matplotlib.pyplot as plt

    from virtsim.plotting import save_figure
    from virtsim.reproduce import FIGURE_DPI

    out.mkdir(parents=True, exist_ok=True)
    figure = validation_figure(validation)
    paths = [out / "validation.png", out / "validation.svg"]
    try:
        save_figure(figure, paths[0], dpi=FIGURE_DPI)  # atomic, same bytes every run
        save_figure(figure, paths[1])
    finally:
        plt.close(figure)
    return paths


AREA_MARKERS: dict[str, str] = dict(zip(AREAS, ("o", "s", "^", "v", "D", "P", "X", "*", "h",
                                                 "p"), strict=True))
"""One marker shape per area in the validation figure (areas are no technologies: they
take no colour; within or missed is filled or open)."""
INK = "#333333"
BAND_GREY = "#bdbdbd"


def validation_figure(validation: Validation) -> Any:
    """The figure: each case at (published, simulated) with its tolerance as a grey band,
    numbered; the key beside the plot names each number's case and its ratio."""
    import matplotlib.pyplot as plt

    from virtsim.plotting import SLIDE_STYLE, label_points

    with plt.rc_context(cast(Any, SLIDE_STYLE)):
        fig, (ax, key) = plt.subplots(1, 2, figsize=(16.0, 9.0), layout="constrained",
                                      gridspec_kw={"width_ratios": (2.2, 1.0)})
    ax.set_xlabel("published value (each case in its own unit)",
                  fontsize=SLIDE_STYLE["axes.labelsize"])
    ax.set_ylabel("simulated value (same unit)", fontsize=SLIDE_STYLE["axes.labelsize"])
    key.axis("off")
    s = validation.summary()
    fig.suptitle(f"Held-out validation: {s['within']} of {s['cases']} cases within tolerance, "
                 f"median |log10 ratio| {s['median_abs_log10_ratio']}",
                 fontsize=SLIDE_STYLE["axes.titlesize"])
    measured = sorted(validation.measured, key=lambda r: (r.case.published, r.case.id))
    if not measured:
        ax.text(0.5, 0.5, "no case produced a value", transform=ax.transAxes, ha="center")
        return fig
    low = min(min(r.case.published, r.simulated or r.case.published) for r in measured) / 3
    high = max(max(r.case.published, r.simulated or r.case.published) for r in measured) * 3
    ax.plot([low, high], [low, high], color=INK, linewidth=1)
    for r in measured:
        c, band = r.case, 1.0 + r.case.tolerance
        ax.plot([c.published, c.published], [c.published / band, c.published * band],
                color=BAND_GREY, alpha=0.7, linewidth=7, solid_capstyle="butt")
        ax.scatter([c.published], [r.simulated], marker=AREA_MARKERS[c.area], s=60, zorder=3,
                   color=INK if r.within else "#ffffff", edgecolor=INK, linewidth=1.0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.grid(True, which="both", alpha=0.25)
    _validation_legend(ax, measured)
    label_points(ax, [(r.case.published, r.simulated or r.case.published) for r in measured],
                 [str(n) for n in range(1, len(measured) + 1)])
    lines = [f"{n:>2}  {'in ' if r.within else 'out'}  x{r.ratio:<7.3g} {r.case.id}"
             for n, r in enumerate(measured, start=1)]
    key.set_title("number on the plot: within?, simulated / published, case", fontsize=11,
                  loc="left")
    key.text(0.0, 1.0, "\n".join(lines), transform=key.transAxes, va="top", ha="left",
             family="monospace", fontsize=9.5, linespacing=1.35)
    return fig


def _validation_legend(ax: Any, measured: list[CaseResult]) -> None:
    from matplotlib.lines import Line2D

    areas = [a for a in AREAS if any(r.case.area == a for r in measured)]
    handles = [Line2D([], [], color=INK, lw=1, label="simulated = published"),
               Line2D([], [], color=BAND_GREY, lw=7, alpha=0.7, label="published tolerance"),
               Line2D([], [], ls="none", marker="o", color=INK, markeredgecolor=INK,
                      label="within tolerance (filled)"),
               Line2D([], [], ls="none", marker="o", markerfacecolor="#ffffff",
                      markeredgecolor=INK, label="missed (open)")]
    handles += [Line2D([], [], ls="none", marker=AREA_MARKERS[a], markerfacecolor="#bdbdbd",
                       markeredgecolor=INK, label=a) for a in areas]
    ax.legend(handles=handles, fontsize=9, loc="upper left", ncol=2, framealpha=0.9)
