"""Reproduce every claim: run the claim experiments, write their data, figures and a report.

``virtsim reproduce`` discovers the modules of ``experiments/`` (see
:mod:`virtsim.experiment`), runs each in a local worker process, and writes::

    OUT/report.html            self-contained (figures embedded), opens offline
    OUT/report.md              the same, figures linked from OUT/figures/
    OUT/findings.csv           claim, experiment, verdict, reason
    OUT/comparisons.csv        published against simulated values, each a calibration
                               input or held out
    OUT/validation/            the held-out cases (``virtsim validate``): CSV, JSON, figure
    OUT/calibration.csv        every calibration figure against what the model gives back
    OUT/<experiment>/*.csv     the experiment's tidy tables
    OUT/figures/*.png, *.svg   every figure, plus a stack diagram per technology

Each experiment's seed is derived from the base seed and the experiment's
name, so results are byte-identical whatever the number of workers and the
order in which they finish. An experiment that raises is reported as failed
with its error while the others complete; the run then exits with status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from tqdm import tqdm

from virtsim.calibration import load_figures, round_trip
from virtsim.claims import CLAIM_IDS, claim_number
from virtsim.errors import InputError, display_path
from virtsim.experiment import (
    SIZES,
    Finding,
    Size,
    Tables,
    experiment_paths,
    load_experiment,
)
from virtsim.publish import stage
from virtsim.report import write_report
from virtsim.reproduction import ExperimentOutcome, FigureFile, Reproduction
from virtsim.result import Record, Scalar, write_outputs
from virtsim.simulation import component_key
from virtsim.validation import validate, write_validation
from virtsim.workers import worker_pool

DEFAULT_SEED = 2024
"""The base seed of ``virtsim reproduce`` when none is given."""

DEFAULT_OUT = Path("reproduce-out")
"""Where results go when ``--out`` is not given."""

FIGURE_DPI = 110
"""Raster resolution of PNG figures: a 10 x 6 inch slide figure is 1100 x 660 pixels."""


# -- seeds and discovery -----------------------------------------------------

def experiment_seed(base_seed: int, experiment: str) -> int:
    """The seed of one experiment: a stable function of the base seed and its name."""
    sequence = np.random.SeedSequence(base_seed, spawn_key=(component_key(experiment),))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def claim_of_stem(stem: str) -> str:
    """``"c05_blast_radius"`` -> ``"C5"``: the claim an experiment file names."""
    digits = stem[1:3]
    return f"C{int(digits)}" if digits.isdigit() else stem


def normalise_claim_id(text: str) -> str:
    """``"c05"`` or ``" C5 "`` -> ``"C5"``; InputError for anything else."""
    raw = text.strip().upper()
    if raw.startswith("C") and raw[1:].isdigit() and f"C{int(raw[1:])}" in CLAIM_IDS:
        return f"C{int(raw[1:])}"
    raise InputError("--only", "", f"claim ids from {CLAIM_IDS[0]} to {CLAIM_IDS[-1]}, "
                     "separated by commas", f"'{text.strip()}'")


def select_experiments(only: Iterable[str] = ()) -> list[Path]:
    """The experiment modules to run: all, or those of the chosen claims."""
    wanted = {normalise_claim_id(c) for c in only}
    paths = experiment_paths()
    return [p for p in paths if not wanted or claim_of_stem(p.stem) in wanted]


# -- running one experiment --------------------------------------------------

def run_experiment(path: Path, size: Size, seed: int, out: Path) -> ExperimentOutcome:
    """Load and run one experiment file; never raises (a failure is in the outcome)."""
    stem = path.stem
    try:
        module = load_experiment(path)
    except Exception as exc:
        return _failure(stem, claim_of_stem(stem), stem, seed, exc, out, 0.0)
    return run_module(module, stem, size, seed, out)


def run_module(module: ModuleType, stem: str, size: Size, seed: int,
               out: Path) -> ExperimentOutcome:
    """Run a loaded experiment: its tables to ``out/<stem>/``, figures to ``out/figures/``."""
    claim = str(getattr(module, "CLAIM", claim_of_stem(stem)))
    title = str(getattr(module, "TITLE", stem))
    started = time.perf_counter()
    try:
        tables = tidy_tables(module.run(size, seed))
        write_outputs(out / stem, tables)
        finding = module.findings(tables)
        if not isinstance(finding, Finding):
            raise TypeError(f"findings() returned {type(finding).__name__}, not a Finding")
        figures = tuple(save_figure(fig.name, fig.caption, fig.draw, tables, out / "figures")
                        for fig in module.figures())
    except Exception as exc:
        return _failure(stem, claim, title, seed, exc, out, time.perf_counter() - started)
    (out / stem / "error.txt").unlink(missing_ok=True)  # from an earlier, failed run
    return ExperimentOutcome(
        experiment=stem, claim=claim, title=title, seed=seed, finding=finding,
        figures=tuple(FigureFile(f.name, f.caption, f"figures/{f.name}.png",
                                 f"figures/{f.name}.svg") for f in figures),
        tables=tuple(f"{stem}/{name}.csv" for name in tables),
        elapsed_s=time.perf_counter() - started)


def _failure(stem: str, claim: str, title: str, seed: int, exc: BaseException, out: Path,
             elapsed_s: float) -> ExperimentOutcome:
    detail = "".join(traceback.format_exception(exc))
    write_outputs(out / stem, {}, {"error.txt": detail})
    return ExperimentOutcome(experiment=stem, claim=claim, title=title, seed=seed,
                             error=f"{type(exc).__name__}: {exc}", elapsed_s=elapsed_s)


def tidy_tables(tables: Mapping[str, list[Record]]) -> Tables:
    """Tables with numpy scalars turned into Python ones, so CSVs read as plain numbers."""
    return {name: [{k: _plain(v) for k, v in row.items()} for row in rows]
            for name, rows in tables.items()}


def _plain(value: Any) -> Scalar:
    if isinstance(value, np.generic):
        item: Scalar = value.item()
        return item
    result: Scalar = value
    return result


def save_figure(name: str, caption: str, draw: Callable[[Tables], Any], tables: Tables,
                folder: Path) -> FigureFile:
    """Draw one figure from tables and save it as PNG and SVG (no dates: reproducible)."""
    import matplotlib.pyplot as plt

    from virtsim.plotting import save_figure as save

    folder.mkdir(parents=True, exist_ok=True)
    figure = draw(tables)
    try:
        save(figure, folder / f"{name}.png", dpi=FIGURE_DPI)
        save(figure, folder / f"{name}.svg")
    finally:
        plt.close(figure)
    return FigureFile(name, caption, f"figures/{name}.png", f"figures/{name}.svg")


# -- stack diagrams ----------------------------------------------------------

STACK_SCENARIOS: dict[str, dict[str, Any]] = {
    "vm": {"hosts": [{"name": "server", "profile": "m5d-metal", "vms": [
        {"name": "vm", "count": 2, "hypervisor": "kvm", "vmm": "qemu",
         "disk_image": "ubuntu-24.04-cloud", "processes": [
             {"name": "app", "workload": "web-service"}]}]}]},
    "microvm": {"hosts": [{"name": "server", "profile": "m5d-metal", "vms": [
        {"name": "microvm", "count": 3, "hypervisor": "kvm", "vmm": "firecracker",
         "disk_image": "firecracker-rootfs", "memory_mib": 128,
         "processes": [{"name": "fn", "workload": "web-service"}]}]}]},
    "container": {"hosts": [{"name": "server", "profile": "m5d-metal", "containers": [
        {"name": "web", "count": 3, "image": "alpine", "workload": "web-service"}]}]},
    "gvisor": {"hosts": [{"name": "server", "profile": "m5d-metal", "containers": [
        {"name": "web", "count": 3, "image": "alpine", "runtime": "runsc",
         "workload": "web-service"}]}]},
    "kata": {"hosts": [{"name": "server", "profile": "m5d-metal", "containers": [
        {"name": "web", "count": 3, "image": "alpine", "engine": "containerd",
         "runtime": "kata", "workload": "web-service"}]}]},
    "desktop": {"hosts": [{"name": "mac", "profile": "macbook-arm64",
                           "platform": "docker-desktop-mac", "containers": [
        {"name": "web", "count": 3, "image": "alpine", "workload": "web-service"}]}]},
}
"""One small scenario per technology, drawn as a stack diagram from its resource graph."""

STACK_CAPTIONS: dict[str, str] = {
    "vm": "A VM: the host kernel runs KVM, a QEMU process per VM emulates the machine, and each "
          "VM boots its own guest kernel under its own user space.",
    "microvm": "A microVM: the same layers as a VM, but Firecracker's VMM is a few MiB and the "
               "guest kernel is minimal, so each layer is thin.",
    "container": "A container: no hypervisor and no guest kernel; containers are processes "
                 "of the one host kernel, started by the engine through runc.",
    "gvisor": "gVisor: each container gets a user-space kernel (the Sentry) that answers its "
              "system calls; the host kernel sees only the Sentry.",
    "kata": "Kata Containers: each container runs in its own microVM with its own guest "
            "kernel, started through containerd.",
    "desktop": "Docker Desktop on a Mac: the containers share the kernel of a Linux VM "
               "that the desktop runs on Apple's hypervisor; the macOS kernel is never theirs.",
}


def draw_stacks(out: Path) -> list[FigureFile]:
    """Draw one stack diagram per technology into ``out/figures/`` from the resource graph."""
    from virtsim.catalog import load_catalog
    from virtsim.drawing import draw_stack
    from virtsim.plotting import label
    from virtsim.scenario import parse_scenario
    from virtsim.stack import build_graph

    catalog = load_catalog()
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    stacks = []
    for tech, data in STACK_SCENARIOS.items():
        graph = build_graph(parse_scenario({"name": f"stack-{tech}", **data}, catalog), catalog)
        name = f"stack-{tech}"
        for suffix in ("png", "svg"):
            draw_stack(graph, folder / f"{name}.{suffix}", title=f"Stack: {label(tech)}")
        stacks.append(FigureFile(name, STACK_CAPTIONS[tech], f"figures/{name}.png",
                                 f"figures/{name}.svg"))
    return stacks


# -- the whole run -----------------------------------------------------------

def default_workers() -> int:
    """Two workers, or one on a one-core machine."""
    return max(1, min(2, os.cpu_count() or 1))


def reproduce(out: Path = DEFAULT_OUT, size: Size = "full", seed: int = DEFAULT_SEED,
              workers: int | None = None, only: Sequence[str] = (),
              progress: bool = True, stacks: bool = True, log: bool = True,
              validation: bool = True, scheduler: str | None = None) -> Reproduction:
    """Run the claim experiments and write tables, figures and the report to ``out``.

    Args:
        out: Output folder (created if needed).
        size: ``"tiny"``, ``"quick"`` or ``"full"``.
        seed: Base seed; each experiment's seed derives from it and its name.
        workers: Local worker processes (default: :func:`default_workers`); 1 runs in-process.
        only: Claim ids to run (default: all); the report still lists every claim, the
            others as "not run".
        progress: Show a progress bar on stderr.
        stacks: Draw the stack diagram of each technology into the report.
        log: Print one line per finished experiment (claim, verdict, time) on stderr.
        validation: Also run the held-out validation cases and the calibration round
            trip, for the report's Validation and Calibration sections.
        scheduler: Address of a Dask distributed scheduler: the experiments run one
            after another here, and the scenarios of each run on that cluster
            (through :func:`virtsim.sweep_runner.run_scenarios`); ``workers`` is ignored.
    """
    if size not in SIZES:
        raise InputError("--size", "", f"one of {', '.join(SIZES)}", f"'{size}'")
    started = time.perf_counter()
    paths = select_experiments(only)
    staging = stage(out)
    try:
        reproduction = Reproduction(out=staging.path, size=size, seed=seed)
        jobs = [(p, experiment_seed(seed, p.stem)) for p in paths]
        if scheduler:
            outcomes, diagrams = _run_on_cluster(scheduler, jobs, size, staging.path, progress,
                                                 stacks, log)
        else:
            outcomes, diagrams = _run_all(jobs, size, staging.path,
                                          workers or default_workers(), progress, stacks, log)
        reproduction.outcomes = sorted(outcomes, key=_outcome_order)
        reproduction.stacks = diagrams
        if validation:
            validate_into(reproduction, workers)
            one_value_per_figure(reproduction)
        write_report(reproduction)
        staging.publish(command="reproduce", seed=seed, size=size,
                        claims=sorted({o.claim for o in reproduction.outcomes},
                                      key=_claim_order))
    finally:
        staging.discard()  # nothing left once published; the partial result otherwise
    reproduction.out = out
    reproduction.elapsed_s = time.perf_counter() - started
    return reproduction


def _claim_order(claim_id: str) -> tuple[int, str]:
    return (claim_number(claim_id) if claim_id in CLAIM_IDS else len(CLAIM_IDS) + 1, claim_id)


def validate_into(reproduction: Reproduction, workers: int | None = None) -> None:
    """Run the held-out cases and the calibration round trip; write them under ``out``.

    ``out/validation/`` gets the cases' CSV, JSON and figure; ``out/calibration.csv``
    every calibration figure against what the model gives back.
    """
    seed = reproduction.seed
    reproduction.validation = validate(seed=seed, workers=workers)
    write_validation(reproduction.validation, reproduction.out / "validation")
    reproduction.validation_figure = FigureFile(
        "validation", "Each held-out case at (published, simulated), log-log; the shaded "
        "bar is its tolerance band, a cross a miss.", "validation/validation.png",
        "validation/validation.svg")
    reproduction.round_trips = round_trip(load_figures(), seed)
    write_outputs(reproduction.out, {"calibration": [
        {"figure": t.figure.id, "published": t.figure.published, "unit": t.figure.unit,
         "back": t.simulated, "ratio": None if t.ratio is None else round(t.ratio, 4),
         "within_5pct": t.within, "sets": " ".join(t.figure.sets),
         "source": f"{t.figure.citation}; {t.figure.where}", "error": t.error}
        for t in reproduction.round_trips]})


def one_value_per_figure(reproduction: Reproduction) -> None:
    """Give each held-out comparison the value its validation case predicted.

    An experiment's held-out comparison names a figure that a validation case
    also predicts; run apart (another scenario's seed) the two would print two
    simulated values for one published figure. The validation case is the
    documented prediction, so its value replaces the experiment's, and the row
    says which case it came from.
    """
    if reproduction.validation is None:
        return
    predicted = {r.case.source.figure: r for r in reproduction.validation.results
                 if r.simulated is not None}
    for i, outcome in enumerate(reproduction.outcomes):
        finding = outcome.finding
        if finding is None:
            continue
        comparisons = tuple(
            replace(c, simulated=round(predicted[c.figure].simulated or 0.0, 3),
                    simulated_by=f"validation case {predicted[c.figure].case.id}")
            if c.figure in predicted else c for c in finding.comparisons)
        reproduction.outcomes[i] = replace(outcome, finding=replace(finding,
                                                                     comparisons=comparisons))


def _outcome_order(outcome: ExperimentOutcome) -> tuple[int, str]:
    number = claim_number(outcome.claim) if outcome.claim in CLAIM_IDS else len(CLAIM_IDS) + 1
    return number, outcome.experiment


def _run_all(jobs: list[tuple[Path, int]], size: Size, out: Path, workers: int,
             progress: bool, with_stacks: bool, log: bool
             ) -> tuple[list[ExperimentOutcome], list[FigureFile]]:
    draw = draw_stacks if with_stacks else _no_stacks
    bar = tqdm(total=len(jobs) + 1, desc=f"reproduce ({size})", unit="step", file=sys.stderr,
               disable=not progress or not sys.stderr.isatty(), dynamic_ncols=True)
    outcomes: list[ExperimentOutcome] = []
    stacks: list[FigureFile] = []

    def done(outcome: ExperimentOutcome) -> None:
        outcomes.append(outcome)
        if log:
            bar.write(_progress_line(outcome), file=sys.stderr)
        bar.update(1)

    if workers <= 1:
        for path, seed in jobs:
            bar.set_postfix_str(path.stem)
            done(run_experiment(path, size, seed, out))
        stacks = _stacks_or_none(lambda: draw(out))
        bar.update(1)
    else:
        with worker_pool(workers) as pool:
            futures: dict[Future[ExperimentOutcome], tuple[Path, int]] = {
                pool.submit(run_experiment, path, size, seed, out): (path, seed)
                for path, seed in jobs}
            stack_future = pool.submit(draw, out)
            for future in _as_completed(futures):
                path, seed = futures[future]
                done(_result_or_failure(future, path, seed, out))
            stacks = _stacks_or_none(stack_future.result)
            bar.update(1)
    bar.close()
    return outcomes, stacks


def _run_on_cluster(scheduler: str, jobs: list[tuple[Path, int]], size: Size, out: Path,
                    progress: bool, with_stacks: bool, log: bool
                    ) -> tuple[list[ExperimentOutcome], list[FigureFile]]:
    """Experiments in this process, their scenario batches on a Dask cluster."""
    from virtsim.sweep_executor import DaskCluster, using_executor

    cluster = DaskCluster(scheduler)
    try:
        with using_executor(cluster):
            return _run_all(jobs, size, out, 1, progress, with_stacks, log)
    finally:
        cluster.close()


def _no_stacks(out: Path) -> list[FigureFile]:
    return []


def _stacks_or_none(get: Callable[[], list[FigureFile]]) -> list[FigureFile]:
    try:
        return get()
    except Exception as exc:  # the diagrams are an illustration: the report goes on without
        print(f"virtsim: stack diagrams not drawn: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return []


def _as_completed(futures: Iterable[Future[ExperimentOutcome]]
                  ) -> Iterable[Future[ExperimentOutcome]]:
    from concurrent.futures import as_completed

    return as_completed(list(futures))


def _result_or_failure(future: Future[ExperimentOutcome], path: Path, seed: int,
                       out: Path) -> ExperimentOutcome:
    try:
        return future.result()
    except Exception as exc:  # the worker process died (killed, out of memory)
        stem = path.stem
        return _failure(stem, claim_of_stem(stem), stem, seed, exc, out, 0.0)


def _progress_line(outcome: ExperimentOutcome) -> str:
    status = (f"FAILED: {outcome.error}" if outcome.failed or outcome.finding is None
              else outcome.finding.verdict)
    return f"  {outcome.claim:>4} {outcome.experiment:<28} {status} ({outcome.elapsed_s:.1f} s)"


# -- one experiment as a script ----------------------------------------------

def run_single(module: ModuleType, argv: Sequence[str]) -> int:
    """``python experiments/cNN_x.py [--size S] [--seed N] [--out DIR]``: one claim's report.

    Returns the exit status: 0 success, 1 the experiment failed, 2 bad flags.
    """
    path = Path(str(module.__file__))
    parser = argparse.ArgumentParser(prog=f"python experiments/{path.name}",
                                     description=str(module.__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--size", choices=SIZES, default="full",
                        help="tiny (seconds), quick, or full (default)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="base seed")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"output folder (default: {DEFAULT_OUT})")
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    try:
        staging = stage(args.out)
    except InputError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    seed = experiment_seed(args.seed, path.stem)
    try:
        outcome = run_module(module, path.stem, args.size, seed, staging.path)
        print(_progress_line(outcome), file=sys.stderr)
        reproduction = Reproduction(out=staging.path, size=args.size, seed=args.seed,
                                    outcomes=[outcome], claim_ids=(outcome.claim,),
                                    elapsed_s=time.perf_counter() - started)
        write_report(reproduction)
        staging.publish(command=f"experiments/{path.name}", seed=args.seed, size=args.size,
                        claims=[outcome.claim])
    finally:
        staging.discard()
    reproduction.out = args.out
    print(f"report: {display_path(reproduction.report_html)}")
    return 1 if outcome.failed else 0


def main_for(module_name: str) -> int:
    """Run one experiment module as a script: ``python experiments/c02_footprint.py``.

    Accepts ``--size``, ``--seed`` and ``--out``; writes the experiment's
    CSVs, figures and a one-claim report through ``virtsim reproduce``'s
    machinery.
    """
    return run_single(sys.modules[module_name], sys.argv[1:])
