"""Running a sweep: every run on an executor, each kept as it finishes, then the tables.

:func:`sweep` is the Python API behind ``virtsim sweep``::

    import virtsim
    result = virtsim.sweep("experiments/sweeps/density.toml", workers=2)
    result.table          # the summary: list of records (mean, ci_low, ci_high per measure)
    result.frame()        # the same as a pandas DataFrame (if pandas is installed)

Runs go to an executor (:mod:`virtsim.sweep_executor`): local worker
processes by default, or a Dask cluster given its scheduler's address.
Each finished run is written to the output folder at once
(:mod:`virtsim.sweep_store`), so ``resume=True`` after an interrupt or a
kill picks up exactly the runs not yet done. A run that raises is kept
with its error and the others go on. The tables and the figure are built
from the run files, in the sweep's order, so they are the same whatever
the executor and the number of workers.

:func:`run_scenarios` is the lower layer the claim experiments use: a
batch of scenarios (data and seed) run on the current executor, results
back in the order asked.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tqdm import tqdm

from virtsim.catalog import Catalog, load_catalog
from virtsim.errors import display_path
from virtsim.measures import measure_run
from virtsim.result import Record, Result, write_outputs
from virtsim.run import run_scenario
from virtsim.scenario import Scenario, parse_scenario
from virtsim.sweep_design import RunSpec, Sweep, load_sweep, parse_sweep
from virtsim.sweep_executor import (
    Executor,
    close_executor,
    current_executor,
    make_executor,
)
from virtsim.sweep_store import RunStore
from virtsim.sweep_summary import (
    RunOutcome,
    failures_table,
    groups_table,
    ordered,
    point_warning,
    runs_table,
    summary_table,
)

if TYPE_CHECKING:
    import pandas

K = TypeVar("K", bound=Hashable)


@functools.lru_cache(maxsize=4)
def worker_catalog(models: tuple[str, ...]) -> Catalog:
    """The catalogue in a worker process, loaded once per set of folders."""
    return load_catalog(list(models))


def simulate_run(run: RunSpec) -> RunOutcome:
    """One run of a sweep, in a worker: build, simulate, measure. Never raises."""
    try:
        catalog = worker_catalog(run.models)
        scenario = parse_scenario(run.scenario, catalog, f"<{run.key}>")
        result = run_scenario(scenario, catalog, seed=run.seed)
        measures = measure_run(result, scenario)
    except Exception as exc:
        detail = traceback.format_exception_only(exc)[-1].strip()
        return RunOutcome(run.key, run.point.id, run.replication, run.seed, error=detail)
    return RunOutcome(run.key, run.point.id, run.replication, run.seed, measures.run,
                      measures.groups, tuple(measures.warnings))


@dataclass(frozen=True)
class ScenarioJob:
    """One scenario to run: its data (as a scenario file would hold it, or already
    loaded) and its seed."""

    data: Mapping[str, Any] | Scenario
    seed: int
    label: str = "<scenario>"
    models: tuple[str, ...] = ()


def simulate_scenario(job: ScenarioJob) -> Result:
    """Run one :class:`ScenarioJob` (in whichever process the executor chose)."""
    catalog = worker_catalog(job.models)
    scenario = (job.data if isinstance(job.data, Scenario)
                else parse_scenario(dict(job.data), catalog, job.label))
    return run_scenario(scenario, catalog, seed=job.seed)


def run_scenarios(jobs: Sequence[ScenarioJob], executor: Executor | None = None
                  ) -> list[Result]:
    """Run scenarios on ``executor`` (default: the current one); results in job order.

    The claim experiments run their variants and replications through this,
    so ``virtsim reproduce --scheduler ADDRESS`` sends them to a cluster.
    """
    results: list[Result | None] = [None] * len(jobs)
    for index, result in (executor or current_executor()).run(simulate_scenario, list(jobs)):
        results[index] = result
    return [r for r in results if r is not None]


def run_keyed(jobs: Mapping[K, ScenarioJob], executor: Executor | None = None
              ) -> dict[K, Result]:
    """:func:`run_scenarios` for jobs named by keys (a variant, a count): results by key."""
    return dict(zip(jobs, run_scenarios(list(jobs.values()), executor), strict=True))


@dataclass
class SweepResult:
    """A finished (or partly finished) sweep: its tables, where they are, what failed."""

    sweep: Sweep
    out: Path | None
    outcomes: list[RunOutcome]
    tables: dict[str, list[Record]]
    figures: tuple[Path, ...] = ()
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def table(self) -> list[Record]:
        """The summary: per point, group and measure, mean and interval across replications."""
        return self.tables["summary"]

    @property
    def failed(self) -> list[RunOutcome]:
        """Runs that raised (their errors are in the ``failures`` table)."""
        return [o for o in self.outcomes if o.error]

    @property
    def complete(self) -> bool:
        """True when every run of the sweep has finished (well or not)."""
        return len(self.outcomes) == len(self.sweep.runs)

    def frame(self, table: str = "summary") -> pandas.DataFrame:
        """A table as a pandas DataFrame (pandas is optional: ``pip install pandas``)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("SweepResult.frame() needs pandas (pip install pandas); "
                              "SweepResult.tables holds the same records") from None
        return pandas.DataFrame.from_records(self.tables[table])


def sweep(source: Path | str | Mapping[str, Any], *, workers: int | None = None,
          scheduler: str | None = None, out: Path | str | None = None, resume: bool = False,
          progress: bool = False, figure: bool = True, models: Sequence[str] = (),
          catalog: Catalog | None = None, executor: Executor | None = None) -> SweepResult:
    """Run a sweep and return its tables.

    Args:
        source: A sweep file, or its table already parsed (then a ``scenario``
            path in it is relative to the current folder).
        workers: Local worker processes (default: one per CPU; 1 runs in this process).
        scheduler: Address of a Dask distributed scheduler: run there instead.
        out: Folder for run files, tables and figure; without one nothing is written
            and nothing can be resumed.
        resume: Continue the sweep already in ``out``, running only what is not done.
        progress: Show a progress bar with an ETA on stderr (when it is a terminal).
        figure: Draw the default figure into ``out``.
        models: Extra catalogue folders (must exist on every worker).
        catalog: The catalogue to validate against (default: loaded from ``models``).
        executor: Run on this executor instead of one made from ``workers``/``scheduler``.

    Raises:
        InputError: A bad sweep file or folder (nothing has run).
    """
    folders = tuple(str(m) for m in models)
    catalog = catalog or load_catalog(list(folders))
    design = (load_sweep(source, catalog, folders) if isinstance(source, Path | str)
              else parse_sweep(dict(source), catalog, models=folders))
    store = RunStore(Path(out), design) if out is not None else None
    done = store.open(resume) if store is not None else {}
    pending = [run for run in design.runs if run.key not in done]
    runner = executor or make_executor(workers, scheduler)
    outcomes = dict(done)
    bar = tqdm(total=len(design.runs), initial=len(done), desc=design.name, unit="run",
               file=sys.stderr, disable=not progress or not sys.stderr.isatty(),
               dynamic_ncols=True)
    try:
        for index, fresh in runner.run(simulate_run, pending):
            outcome = fresh.normalised()
            if store is not None:
                store.save(outcome)
            outcomes[pending[index].key] = outcome
            bar.update(1)
    finally:
        bar.close()
        if executor is None:
            close_executor(runner)
    return finish(design, store, list(outcomes.values()), figure, skipped=len(done))


def finish(design: Sweep, store: RunStore | None, outcomes: Sequence[RunOutcome],
           figure: bool = True, skipped: int = 0) -> SweepResult:
    """Tables (and the figure) from the runs that finished; written if there is a folder."""
    runs = ordered(design, outcomes)
    tables = {"summary": summary_table(design, runs), "runs": runs_table(design, runs),
              "groups": groups_table(design, runs), "failures": failures_table(design, runs)}
    result = SweepResult(design, store.out if store else None, runs, tables, skipped=skipped,
                         warnings=_warnings(design, runs))
    if store is not None:
        write_outputs(store.out, tables)
        if figure and tables["summary"]:
            result.figures = draw_default_figure(design, tables["summary"], store.out)
    return result


def _warnings(design: Sweep, runs: Sequence[RunOutcome]) -> list[str]:
    by_point: dict[str, list[RunOutcome]] = {}
    for run in runs:
        if not run.error:
            by_point.setdefault(run.point, []).append(run)
    lines = []
    for point in design.points:
        text = point_warning(by_point.get(point.id, []))
        if text:
            lines.append(f"point {point.id} ({point.label()}): {text}")
    return lines


def draw_default_figure(design: Sweep, summary: list[Record], out: Path) -> tuple[Path, ...]:
    """The sweep's default figure as ``figure.png`` and ``figure.svg`` in ``out``."""
    import matplotlib.pyplot as plt

    from virtsim.plotting import save_figure
    from virtsim.sweep_figure import sweep_figure

    drawn = sweep_figure(design, summary)
    paths = (out / "figure.png", out / "figure.svg")
    try:
        save_figure(drawn, paths[0], dpi=110)  # atomic, no dates, fixed SVG ids
        save_figure(drawn, paths[1])
    finally:
        plt.close(drawn)
    return paths


def describe(result: SweepResult) -> str:
    """A few lines about a finished sweep for the terminal."""
    design = result.sweep
    lines = [f"sweep {design.name!r}: {len(design.points)} points x {design.replications} "
             f"replications = {len(design.runs)} runs"
             + (f" ({result.skipped} already done)" if result.skipped else "")]
    ok = len(result.outcomes) - len(result.failed)
    lines.append(f"  finished {ok}, failed {len(result.failed)}, "
                 f"not run {len(design.runs) - len(result.outcomes)}")
    if result.out is not None:
        figure = ", figure.png" if result.figures else ""
        lines.append(f"  tables in {display_path(result.out)}: summary.csv, runs.csv, "
                     f"groups.csv, failures.csv{figure}")
    return "\n".join(lines)

