"""The ``virtsim`` command line: a thin layer over the Python API.

Exit status: 0 on success; 2 on bad input (a malformed scenario, profile or
flag), with one message naming the file, the key, what was expected and
what was found; 1 on an internal error. No input prints a traceback (set
``VIRTSIM_DEBUG=1`` to see one for an internal error).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomli_w

from virtsim import __version__
from virtsim.budget import check_budget, estimate
from virtsim.catalog import USER_MODELS_ENV, Catalog, load_catalog
from virtsim.errors import MESSAGE_CHARS, InputError, display_path, printable
from virtsim.publish import check_output_folder, publish_to
from virtsim.result import Result, finite, write_table
from virtsim.scenario import Scenario, load_scenario

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2

TEXT_CHARS = 2000
"""Longest description or source printed from a (possibly user's) profile."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, like every input error
        raise SystemExit(_fail(f"{self.prog}: {message} (see '{self.prog} --help')"))


def _fail(message: str) -> int:
    print(f"virtsim: error: {printable(message, MESSAGE_CHARS)}", file=sys.stderr)
    return EXIT_INPUT


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 0 to 2**63-1, found '{text}'") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 0 to 2**63-1, found {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per task."""
    parser = _Parser(prog="virtsim", description=(
        "Simulate hypervisors and containers: footprint, start time, performance, "
        "density and blast radius, from calibrated, sourced profiles."))
    parser.add_argument("--version", action="version", version=f"virtsim {__version__}")
    parser.add_argument("--models", action="append", default=[], metavar="DIR",
                        help="an extra folder of catalogue profiles (repeatable)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    run = sub.add_parser(
        "run", help="run one scenario and print its metrics",
        description="Run one scenario file (TOML) and print, per instance group, how many "
                    "became ready, the median and p99 time to ready, when the whole group was "
                    "ready and the memory one instance holds; then the host's footprint, "
                    "density and service latency. --json prints the metrics for scripts, "
                    "--out writes every result table as tidy CSV.")
    run.add_argument("scenario", type=Path, help="scenario TOML file")
    run.add_argument("--seed", type=_seed, help="override the scenario's seed")
    run.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    run.add_argument("--out", type=Path, metavar="DIR",
                     help="write result tables (CSV), the effective scenario and a manifest "
                          "here (the folder is replaced whole, at once)")
    run.add_argument("--no-progress", action="store_true",
                     help="no progress bar (it shows only on a terminal, after a second)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="assign",
                     help="change one scenario value for this run (repeatable), e.g. "
                          "hosts.node.containers.web.count=10 (a key path, as in sweep files)")
    run.add_argument("--force", action="store_true",
                     help="run even if the estimated memory or time is beyond this machine")
    run.add_argument("--workers", type=_workers, default=1, metavar="N",
                     help="cut the run into N partitions of machines that never interact and "
                          "run them on N local processes (default 1: this process); the "
                          "results are byte-identical")
    run.add_argument("--scheduler", metavar="ADDRESS", default=None,
                     help="run the partitions on this Dask distributed scheduler "
                          "(tcp://host:8786): --workers partitions, or one per worker of the "
                          "cluster; needs pip install 'virtsim[dask]'")
    run.set_defaults(handler=_cmd_run)

    sweep = sub.add_parser(
        "sweep", help="run a sweep: a scenario crossed with factors, replicated",
        description="Run every point and replication of a sweep file on local worker "
                    "processes (or a Dask cluster), keep each finished run under --out, and "
                    "write summary.csv (mean and confidence interval per point and measure), "
                    "runs.csv, groups.csv, failures.csv and figure.png/.svg. Exit 1 if some "
                    "runs failed (the others still run), 130 if interrupted (continue with "
                    "--resume).")
    sweep.add_argument("sweep", type=Path, help="sweep TOML file")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_workers, default=None, metavar="N",
                       help="local worker processes (default: one per CPU; 1: no subprocess)")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="run on this Dask distributed scheduler (tcp://host:8786) "
                            "instead; needs pip install 'virtsim[dask]'")
    sweep.add_argument("--resume", action="store_true",
                       help="continue the sweep already in --out: run only what is not done")
    sweep.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="output folder (default: <sweep file name>-out)")
    sweep.add_argument("--json", action="store_true",
                       help="print the summary table as JSON records")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("--no-figure", action="store_true", help="do not draw figure.png/.svg")
    sweep.set_defaults(handler=_cmd_sweep)

    graph = sub.add_parser(
        "graph", help="draw a scenario's stack as a layered diagram",
        description="Draw the stack a scenario builds (machine, kernel, hypervisor, VMM, VM, "
                    "runtime, container, process), each box on the box it runs on, to a PNG, "
                    "SVG or PDF file. Identical siblings are drawn once as a stack of cards "
                    "marked with their count.")
    graph.add_argument("scenario", type=Path, help="scenario TOML file")
    graph.add_argument("--out", type=Path, default=Path("stack.png"), metavar="FILE",
                       help="output image, .png or .svg (default: stack.png)")
    graph.add_argument("--force", action="store_true",
                       help="draw even if the stack's estimated memory is beyond this machine")
    graph.set_defaults(handler=_cmd_graph)

    plan = sub.add_parser(
        "plan", help="capacity what-ifs: hosts, start time, blast radius and cost per technology",
        description="Work out a plan file's workload mix as every technology it names on every "
                    "candidate host: hosts needed and the binding resource, density, cold and "
                    "warm start of the fleet, blast radius, slowdown, p99 latency and cost; "
                    "choose the cheapest option that meets every constraint. Exit 0 even when "
                    "no option does (the reasons are printed).")
    plan.add_argument("plan", type=Path, help="plan TOML file")
    plan.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    plan.add_argument("--out", type=Path, metavar="DIR",
                      help="publish options.csv, groups.csv, plan.json, plan.png/.svg and a "
                           "manifest here, whole")
    plan.add_argument("--verify", action="store_true",
                      help="simulate the chosen option at a bounded size and report where the "
                           "simulation differs from the analytic answer")
    plan.add_argument("--seed", type=_seed, help="override the plan's seed")
    plan.set_defaults(handler=_cmd_plan)

    catalog = sub.add_parser(
        "catalog", help="list catalogue profiles with their key values and sources",
        description="List the catalogue's profiles, one table per kind with key values (cores "
                    "and memory of hosts, memory and mean start time of VMMs and runtimes, "
                    "image sizes, ...). Name a kind to see where every number comes from; "
                    "--wide shows every value and the whole description; --json everything.")
    catalog.add_argument("kind", nargs="?", help="one kind (hosts, kernels, ...); all if omitted")
    catalog.add_argument("--wide", action="store_true",
                         help="every value and the whole description (lines get long)")
    catalog.add_argument("--json", action="store_true", help="print profiles as JSON")
    catalog.set_defaults(handler=_cmd_catalog)

    reproduce = sub.add_parser(
        "reproduce", help="run every claim experiment: figures, CSV, report.html and report.md",
        description="Run the claim experiments of experiments/ (C1-C14) and write, under "
                    "--out, report.html (self-contained), report.md, findings.csv, "
                    "comparisons.csv, one folder of tidy CSV per experiment and figures/ "
                    "(PNG and SVG). Exit 1 if an experiment failed (the others still run).")
    reproduce.add_argument("--out", type=Path, default=Path("reproduce-out"), metavar="DIR",
                           help="output folder (default: reproduce-out)")
    reproduce.add_argument("--quick", action="store_true",
                           help="smaller sweeps: all claims in well under a minute")
    reproduce.add_argument("--size", choices=("tiny", "quick", "full"), default=None,
                           help=argparse.SUPPRESS)
    reproduce.add_argument("--seed", type=_seed, default=None, metavar="N",
                           help="base seed (default: a fixed seed, so runs repeat exactly)")
    reproduce.add_argument("--scheduler", metavar="ADDRESS", default=None,
                           help="run the experiments' scenarios on this Dask distributed "
                                "scheduler (tcp://host:8786); needs pip install "
                                "'virtsim[dask]'")
    reproduce.add_argument("--workers", type=_workers, default=None, metavar="N",
                           help="local worker processes (default: min(2, CPUs))")
    reproduce.add_argument("--only", type=_claim_list, default=(), metavar="C2,C5",
                           help="run only these claims (the report still lists every claim)")
    reproduce.add_argument("--no-progress", action="store_true",
                           help="no progress bar (a line per finished experiment is still printed)")
    reproduce.add_argument("--no-validation", action="store_true",
                           help="skip the held-out validation cases and the calibration round "
                                "trip (the report then has no Validation section)")
    reproduce.set_defaults(handler=_cmd_reproduce)

    validate = sub.add_parser(
        "validate", help="predict held-out published figures: table, CSV and a log-log figure",
        description="Run the validation cases of validation/ (published figures that set no "
                    "parameter) and print, per case, the published and simulated values, their "
                    "ratio, the tolerance and whether it is within; then the share within "
                    "tolerance and the median |log10 ratio|. --out writes validation.csv, "
                    "validation.json and validation.png/.svg. Exit 0 even when cases miss: the "
                    "table is the result.")
    validate.add_argument("--only", type=_case_list, default=(), metavar="ID,...",
                          help="run only these cases (ids are the file names in validation/)")
    validate.add_argument("--json", action="store_true",
                          help="print the summary and every case as one JSON object")
    validate.add_argument("--out", type=Path, default=None, metavar="DIR",
                          help="publish validation.csv, validation.json, the figure and a "
                               "manifest here, whole")
    validate.add_argument("--seed", type=_seed, default=None, metavar="N",
                          help="base seed (default: a fixed seed, so runs repeat exactly)")
    validate.add_argument("--workers", type=_workers, default=None, metavar="N",
                          help="local worker processes (default: min(2, CPUs))")
    validate.add_argument("--list", action="store_true", help="list the cases and exit")
    validate.set_defaults(handler=_cmd_validate)
    # global options are accepted after the command too
    for command in (run, sweep, plan, graph, catalog, reproduce, validate):
        command.add_argument("--models", action="append", default=[], dest="models_after",
                             metavar="DIR", help="an extra folder of catalogue profiles "
                             "(repeatable; also accepted before the command)")
    return parser


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to 256, found '{text}'") from None
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 256, found {value}")
    return value


def _claim_list(text: str) -> tuple[str, ...]:
    from virtsim.reproduce import normalise_claim_id

    parts = [part for part in text.split(",") if part.strip()]
    try:
        if not parts:
            normalise_claim_id(text)
        return tuple(normalise_claim_id(part) for part in parts)
    except InputError as exc:
        raise argparse.ArgumentTypeError(f"expected {exc.expected}, found {exc.found}") from None


def _case_list(text: str) -> tuple[str, ...]:
    parts = tuple(part.strip() for part in text.split(",") if part.strip())
    if not parts:
        raise argparse.ArgumentTypeError(f"expected case ids separated by commas, found '{text}'")
    return parts


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``virtsim`` command."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.models = [*args.models, *getattr(args, "models_after", [])]
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except InputError as exc:
        return _fail(str(exc))
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_INPUT
    except BrokenPipeError:  # output piped into `head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("virtsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal error: say so, without a traceback
        if os.environ.get("VIRTSIM_DEBUG"):
            raise
        print(f"virtsim: internal error: {type(exc).__name__}: {printable(str(exc))} "
              "(set VIRTSIM_DEBUG=1 for a traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def _catalog(args: argparse.Namespace) -> Catalog:
    return load_catalog(args.models)


def _cmd_run(args: argparse.Namespace) -> int:
    from virtsim.exchange import Lockstep
    from virtsim.run import run_scenario

    if args.out is not None:
        check_output_folder(args.out, "--out")
    catalog = _catalog(args)
    scenario = _scenario_with_settings(args.scenario, args.assign, catalog)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    if not args.force:
        check_budget(estimate(scenario, catalog), display_path(args.scenario))
    went = Lockstep()
    with _clock_bar(scenario.duration_s, args.no_progress) as advance:
        result = run_scenario(scenario, catalog, progress=advance, workers=args.workers,
                              scheduler=args.scheduler, lockstep=went)
    if args.out is not None:
        publish_run(args.out, scenario, result)
    if args.json:
        print(result.to_json())
    else:
        print(summary(scenario, result))
        if args.workers > 1 or args.scheduler:
            print(f"partitions: {went.describe()}")
        if args.out is not None:
            print(f"results written to {display_path(args.out)}")
    warn_overload(result)
    return EXIT_OK


@contextmanager
def _clock_bar(duration_s: float, off: bool) -> Iterator[Callable[[float], None] | None]:
    """A progress bar of simulated time on stderr, for runs longer than a second.

    Off when stderr is not a terminal (a pipe, a log file) or with
    ``--no-progress``; it then costs nothing, the clock runs in one go.
    """
    if off or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=duration_s, unit="sim s", file=sys.stderr, delay=1.0, leave=False,
              dynamic_ncols=True, desc="simulating",
              bar_format="{desc} {bar} {n:.0f}/{total:.0f} simulated s [{elapsed}<{remaining}]"
              ) as bar:
        def advance(now: float) -> None:
            bar.update(now - bar.n)

        yield advance


def warn_overload(result: Result) -> None:
    """Print the run's overload findings (:mod:`virtsim.overload`) on stderr."""
    for line in _warnings(result):
        print(f"virtsim: warning: {printable(line, TEXT_CHARS)}", file=sys.stderr)


def _warnings(result: Result) -> list[str]:
    lines = result.metrics.get("warnings", [])
    return [str(line) for line in lines] if isinstance(lines, list) else []


def _scenario_with_settings(path: Path, assignments: Sequence[str],
                            catalog: Catalog) -> Scenario:
    """The scenario file, with each ``--set KEY=VALUE`` applied before it is validated."""
    if not assignments:
        return load_scenario(path, catalog)
    from virtsim.datafile import read_toml
    from virtsim.keypath import apply_assignments, parse_assignment
    from virtsim.scenario import parse_scenario

    data, _text = read_toml(path)
    data = apply_assignments(data, [parse_assignment(a) for a in assignments])
    return parse_scenario(data, catalog, f"{display_path(path)} with --set")


def _cmd_sweep(args: argparse.Namespace) -> int:
    from virtsim.sweep_executor import WorkerLost
    from virtsim.sweep_runner import describe, sweep

    out = args.out or Path(f"{args.sweep.stem}-out")
    resume = (f"virtsim sweep {display_path(args.sweep)} --out {display_path(out)} --resume")
    try:
        result = sweep(args.sweep, workers=args.workers, scheduler=args.scheduler, out=out,
                       resume=args.resume, progress=not args.no_progress,
                       figure=not args.no_figure, models=args.models)
    except KeyboardInterrupt:
        print(f"virtsim: interrupted: finished runs are kept in {display_path(out)}; "
              f"continue with: {resume}", file=sys.stderr)
        return 130
    except WorkerLost as exc:
        print(f"virtsim: {exc}; finished runs are kept in {display_path(out)}; continue with: "
              f"{resume}", file=sys.stderr)
        return EXIT_INTERNAL
    for warning in result.warnings:
        print(f"virtsim: warning: {printable(str(warning), TEXT_CHARS)}", file=sys.stderr)
    for failure in result.failed:
        print(f"virtsim: run {printable(str(failure.key))} failed: "
              f"{printable(str(failure.error), TEXT_CHARS)}", file=sys.stderr)
    if args.json:
        print(json.dumps(finite(result.table), sort_keys=True, allow_nan=False))
    else:
        print(describe(result))
    return EXIT_INTERNAL if result.failed else EXIT_OK


def publish_run(out: Path, scenario: Scenario, result: Result) -> None:
    """Write a run's tables, effective scenario and metrics into ``out``, whole, at once."""
    def write(folder: Path) -> None:
        for name, records in result.tables.items():
            write_table(folder / f"{name}.csv", records)
        (folder / "scenario.toml").write_text(effective_scenario(scenario), encoding="utf-8")
        (folder / "metrics.json").write_text(result.to_json() + "\n", encoding="utf-8")

    publish_to(out, write, command="run", scenario=scenario.name, seed=scenario.seed)


def effective_scenario(scenario: Scenario) -> str:
    """The scenario as run (defaults filled in, seed applied), as TOML."""
    return tomli_w.dumps(_drop_none(scenario.model_dump(mode="json")))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def summary(scenario: Scenario, result: Result) -> str:
    """A few human-readable lines about a finished run: one per instance group, then warnings."""
    from virtsim.summary import run_summary

    lines = [run_summary(scenario.name, result.metrics.get("seed"), scenario.duration_s, result)]
    lines.extend(f"  warning: {line}" for line in _warnings(result))
    return "\n".join(lines)


def _cmd_plan(args: argparse.Namespace) -> int:
    from virtsim.plan_file import load_plan
    from virtsim.planning import plan, summary

    catalog = _catalog(args)
    if args.out is not None:
        check_output_folder(args.out, "--out")
    spec = load_plan(args.plan, catalog)
    if args.seed is not None:
        spec = spec.model_copy(update={"seed": args.seed})
    result = plan(spec, catalog, display_path(args.plan))
    if args.verify:
        from virtsim.plan_verify import verify

        result.verification = verify(result, catalog)
    if args.out is not None:
        from virtsim.plan_figure import draw_plan

        def write(folder: Path) -> None:
            for name, records in result.tables().items():
                write_table(folder / f"{name}.csv", records)
            (folder / "plan.json").write_text(result.to_json() + "\n", encoding="utf-8")
            draw_plan(result, folder / "plan.png")
            draw_plan(result, folder / "plan.svg")

        publish_to(args.out, write, command="plan", plan=display_path(args.plan),
                   seed=spec.seed)
    if args.json:
        print(result.to_json())
    else:
        print(summary(result))
        if result.verification:
            from virtsim.plan_verify import verification_summary

            print(verification_summary(result.verification))
        if args.out is not None:
            print(f"results written to {display_path(args.out)}")
    return EXIT_OK


def _cmd_graph(args: argparse.Namespace) -> int:
    from virtsim.drawing import draw_stack
    from virtsim.stack import build_graph

    if args.out.suffix.lower() not in {".png", ".svg", ".pdf"}:
        raise InputError("--out", "", "a file name ending in .png, .svg or .pdf",
                         f"'{args.out}'")
    if not args.out.parent.is_dir():
        raise InputError("--out", "", "a file in an existing folder",
                         f"'{args.out}' (no folder {display_path(args.out.parent)})")
    catalog = _catalog(args)
    scenario = load_scenario(args.scenario, catalog)
    if not args.force:
        check_budget(estimate(scenario, catalog), display_path(args.scenario),
                     time_limit_s=math.inf)
    graph = build_graph(scenario, catalog)
    draw_stack(graph, args.out, title=f"{scenario.name}: the stack")
    print(f"stack of {len(graph)} nodes drawn to {display_path(args.out)}")
    return EXIT_OK


def _share_models(args: argparse.Namespace) -> None:
    """Hand ``--models`` folders to worker processes (they load the catalogue themselves)."""
    if args.models:
        _catalog(args)  # a bad folder fails here, with exit 2
        os.environ[USER_MODELS_ENV] = os.pathsep.join(
            [*map(str, args.models), *filter(None, os.environ.get(USER_MODELS_ENV, "").split(
                os.pathsep))])


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from virtsim.experiment import Size
    from virtsim.reproduce import DEFAULT_SEED, reproduce

    check_output_folder(args.out, "--out")
    _share_models(args)
    size: Size = args.size or ("quick" if args.quick else "full")
    seed = DEFAULT_SEED if args.seed is None else args.seed
    result = reproduce(args.out, size=size, seed=seed, workers=args.workers, only=args.only,
                       progress=not args.no_progress, validation=not args.no_validation,
                       scheduler=args.scheduler)
    print(f"report: {display_path(result.report_html)} (and report.md, figures/, one folder "
          f"of CSV per experiment) in {result.elapsed_s:.1f} s")
    for outcome in result.failed:
        print(f"virtsim: {outcome.experiment} failed: {printable(outcome.error, TEXT_CHARS)}",
              file=sys.stderr)
    return EXIT_INTERNAL if result.failed else EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from virtsim.validation import (
        DEFAULT_SEED,
        load_cases,
        table_text,
        validate,
        write_validation,
    )

    _share_models(args)
    if args.list:
        for case in load_cases():
            print(f"{case.id:<40} {case.area:<20} {case.title}")
        return EXIT_OK
    if args.out is not None:
        check_output_folder(args.out, "--out")
    seed = DEFAULT_SEED if args.seed is None else args.seed
    result = validate(only=args.only, seed=seed, workers=args.workers)
    if args.out is not None:
        publish_to(args.out, lambda folder: write_validation(result, folder),
                   command="validate", seed=seed, only=list(args.only))
    if args.json:
        print(json.dumps(finite({"summary": result.summary(),
                                 "cases": [r.record() for r in result.results]}),
                         sort_keys=True, allow_nan=False))
    else:
        print(table_text(result))
        if args.out is not None:
            print(f"written to {display_path(args.out)}: validation.csv, validation.json, "
                  "validation.png, validation.svg, manifest.json")
    return EXIT_OK


def _cmd_catalog(args: argparse.Namespace) -> int:
    from virtsim.catalog import expected_one_of
    from virtsim.catalog_table import render

    catalog = _catalog(args)
    kinds = catalog.kinds()
    if args.kind is not None and args.kind not in kinds:
        raise InputError("catalog", "KIND", expected_one_of("a kind of profile", kinds,
                                                            args.kind, "virtsim catalog"),
                         f"'{args.kind}'")
    chosen = [args.kind] if args.kind else kinds
    if args.json:
        print(json.dumps({k: [p.model_dump(mode="json") for p in
                              (catalog.profiles[k][n] for n in catalog.names(k))]
                          for k in chosen}, sort_keys=True))
        return EXIT_OK
    width = shutil.get_terminal_size((120, 24)).columns
    print(render(catalog, chosen, wide=args.wide, width=width), end="")
    if args.kind:
        print("\nsources:")
        for name in catalog.names(args.kind):
            profile = catalog.profiles[args.kind][name]
            print(f"  {printable(name)}:")
            for key, source in sorted(profile.sources.items()):
                print(f"      {printable(key)}: {printable(source, TEXT_CHARS)}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
