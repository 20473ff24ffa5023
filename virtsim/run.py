"""Running a scenario: build the stack, attach the models, advance the clock, report.

A model is anything with ``attach(sim)`` (register SimPy processes and
state before the clock starts) and ``report(sim)`` (turn state into records
and metrics after it stops). :func:`models` lists them in the order they
attach; later capabilities (lifecycle, performance, faults) add theirs.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from virtsim.catalog import Catalog
from virtsim.compat import CompatibilityReport, compatibility_metrics
from virtsim.errors import InputError
from virtsim.exchange import (
    DaskSessions,
    InProcessSessions,
    Lockstep,
    ProcessSessions,
    Sessions,
    Step,
    lockstep,
    reach_of,
)
from virtsim.faults import FaultModel, fault_metrics, settle_records
from virtsim.footprint import FootprintModel, footprint_metrics
from virtsim.graph import INSTANCE_KINDS, NODE_KINDS
from virtsim.lifecycle import Lifecycle, start_metrics
from virtsim.merge import OrderedPart, merge, order_part
from virtsim.orchestration import orchestrators
from virtsim.overload import OverloadReport, overload_warnings
from virtsim.partition import batches, partitions
from virtsim.performance import PerformanceModel, workload_metrics
from virtsim.result import Result
from virtsim.scenario import Scenario, host_profile
from virtsim.scope import Notes, Placement, Rank, at_instant
from virtsim.simulation import Simulation
from virtsim.stack import build_graph, group_machines, machine_names
from virtsim.sweep_executor import Executor, InProcess, close_executor, make_executor


class Model(Protocol):
    """The two hooks every simulation model provides."""

    def attach(self, sim: Simulation) -> None:
        """Register processes and state before the clock starts."""

    def report(self, sim: Simulation) -> None:
        """Record results after the clock stops."""


class StackInventory:
    """Reports the stack itself: one record per node (metrics: :func:`inventory_metrics`)."""

    def attach(self, sim: Simulation) -> None:
        """Nothing to run: the stack is built before the clock starts."""

    def report(self, sim: Simulation) -> None:
        """One ``nodes`` record per node; ``instance`` marks what the scenario asked for."""
        graph = sim.graph
        keys = ("node", "kind", "name", "machine", "host", "profile", "instance")
        for node, data in graph.graph.nodes(data=True):
            profile = data.get("profile")
            sim.result.append("nodes", keys, (
                node, data["kind"], data["name"], data["machine"], graph.host(node) or "",
                getattr(profile, "name", ""),
                data["kind"] in INSTANCE_KINDS and bool(data.get("instance", True))))


def inventory_metrics(result: Result) -> None:
    """Node counts per kind (``nodes``) and the instance count, from the ``nodes`` table."""
    counts = Counter(result.column("nodes", "kind"))
    result.metrics["nodes"] = {kind: counts[kind] for kind in NODE_KINDS}
    result.metrics["instances"] = sum(1 for flag in result.column("nodes", "instance") if flag)


def models() -> tuple[Model, ...]:
    """Fresh model instances for one run, in attach order."""
    lifecycle = Lifecycle()
    return (StackInventory(), lifecycle, FootprintModel(), PerformanceModel(),
            FaultModel(lifecycle), CompatibilityReport(), OverloadReport())


@contextmanager
def long_lived_stack() -> Iterator[None]:
    """Run the clock with the garbage collector tuned for a simulation.

    The stack and the models' state, built before the clock starts, live
    for the whole run: freeze them out of the collector's scans, and let
    the many short-lived objects of attaching and running pile up longer
    between collections.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(1_000_000, 100, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.freeze()  # what the run made and keeps (its tables) goes to the oldest generation
        gc.unfreeze()  # with the rest, not through a young collection of a million objects


PROGRESS_SLICES = 200
"""A run watched by a progress bar advances its clock in this many slices."""

Observer = Callable[[Simulation], None]
"""Called with the run once every model is attached, before the clock starts."""


def run_scenario(scenario: Scenario, catalog: Catalog, seed: int | None = None,
                 observe: Observer | None = None,
                 progress: Callable[[float], None] | None = None,
                 workers: int = 1, scheduler: str | None = None,
                 lockstep: Lockstep | None = None) -> Result:
    """Build the scenario's stack, run every model for its duration and collect the result.

    The tables come out in their canonical order (:mod:`virtsim.merge`) and the
    metrics are computed from them (:func:`summarise`), so the result is the
    same, byte for byte once written, on one process, on ``workers`` local
    processes or on a Dask cluster.

    Args:
        scenario: A validated scenario.
        catalog: The profiles it names.
        seed: The run's seed (default: the scenario's).
        observe: Called with the :class:`~virtsim.simulation.Simulation` after every
            model is attached and before the clock starts: subscribe there to the
            instances' transitions (``sim.instances.subscribe(callback, "crashed")``),
            add a pool listener, or start a SimPy process that samples. Only for a run
            in this process (``workers=1``, no scheduler).
        progress: Called with the simulated time as the clock advances (slice by
            slice; the events and their order are the same); on several workers, as
            each partition finishes (the time reached by the share of partitions done).
        workers: Cut the run into this many partitions of independent machines
            (:mod:`virtsim.partition`) run on as many local processes; 1: this process.
        scheduler: Run the partitions on this Dask distributed scheduler
            (``tcp://host:8786``) instead: as many partitions as ``workers`` if above 1,
            else one per worker of the cluster.
        lockstep: Filled in with how a cut run went (partitions, the windows of
            :mod:`virtsim.exchange`, a fallback to whole scopes); never part of the result.

    Raises:
        ValueError: ``workers`` below 1, or ``observe`` with several workers or a scheduler.
    """
    seed = scenario.seed if seed is None else seed
    if workers < 1:
        raise ValueError(f'"workers" must be >= 1, got {workers}')
    if observe is not None and (workers > 1 or scheduler is not None):
        raise ValueError('"observe" needs the run in this process (workers=1, no scheduler)')
    cut = (partitions(scenario, workers, catalog) if scheduler is None and workers > 1
           else None)
    if scheduler is None and (cut is None or len(cut) == 1):
        # one partition (one process asked for, or one unit): no worker process to start
        parts, notes = simulate_batches(scenario, catalog, seed, observe=observe,
                                        progress=progress)
        updates: list[Any] = list(notes.record_updates)
    else:
        parts, updates = _run_partitions(scenario, catalog, seed, workers, scheduler, progress,
                                         cut, lockstep if lockstep is not None else Lockstep())
    with long_lived_stack():
        merged = merge(parts)
        settle_records(merged, updates)
        return summarise(merged, scenario, catalog, seed)


def simulate(scenario: Scenario, catalog: Catalog, seed: int,
             machines: Collection[str] | None = None, observe: Observer | None = None,
             progress: Callable[[float], None] | None = None) -> Result:
    """Run some of a scenario's machines (all by default) and return their tables, unmerged.

    Args:
        scenario: A validated scenario.
        catalog: The profiles it names.
        seed: The run's seed.
        machines: Whole units of machines (:func:`virtsim.partition.partitions`);
            None: every machine.
        observe: As for :func:`run_scenario`.
        progress: As for :func:`run_scenario`.
    """
    return simulate_part(scenario, catalog, seed, machines, observe=observe,
                         progress=progress)[0]


def simulate_part(scenario: Scenario, catalog: Catalog, seed: int,
                  machines: Collection[str] | None = None, observe: Observer | None = None,
                  progress: Callable[[float], None] | None = None) -> tuple[Result, Notes]:
    """:func:`simulate`, with what this partition tells the others (:mod:`virtsim.scope`)."""
    sim, active, faults = _attached(scenario, catalog, seed, machines)
    if observe is not None:
        observe(sim)
    with long_lived_stack():
        if progress is None:
            sim.env.run(until=scenario.duration_s)
        else:
            for k in range(1, PROGRESS_SLICES + 1):
                sim.env.run(until=scenario.duration_s * k / PROGRESS_SLICES)
                progress(sim.env.now)
        for model in active:
            model.report(sim)
    return sim.result, faults.notes


def simulate_batches(scenario: Scenario, catalog: Catalog, seed: int,
                     machines: Collection[str] | None = None, observe: Observer | None = None,
                     progress: Callable[[float], None] | None = None
                     ) -> tuple[list[OrderedPart], Notes]:
    """Simulate ``machines`` (all by default) batch by batch (:func:`~virtsim.partition.
    batches`), each batch's tables in canonical order; what the batches tell, together.
    ``observe`` sees one simulation: with it, every machine runs on one clock."""
    todo = batches(scenario, machines) if observe is None else [()]
    if len(todo) == 1:  # one batch: the machines asked for, as they were asked
        result, notes = simulate_part(scenario, catalog, seed, machines, observe=observe,
                                      progress=progress)
        with long_lived_stack():
            return [order_part(result, unit_index(scenario))], notes
    parts: list[OrderedPart] = []
    told = Notes()
    index = unit_index(scenario)
    for done, batch in enumerate(todo, start=1):
        result, notes = simulate_part(scenario, catalog, seed, batch)
        with long_lived_stack():
            parts.append(order_part(result, index))
        told.record_updates.extend(notes.record_updates)
        told.fallback = told.fallback or notes.fallback
        if progress is not None:
            progress(scenario.duration_s * done / len(todo))
    return parts, told


def _attached(scenario: Scenario, catalog: Catalog, seed: int,
              machines: Collection[str] | None, driven: bool = False
              ) -> tuple[Simulation, tuple[Model, ...], FaultModel]:
    """A run with every model attached, the clock not started; its fault model."""
    sim = Simulation(scenario, build_graph(scenario, catalog, machines), catalog, seed,
                     partial=machines is not None)
    active = models()
    faults = next(model for model in active if isinstance(model, FaultModel))
    faults.driven = driven
    with long_lived_stack():
        for model in active:
            model.attach(sim)
    return sim, active, faults


@dataclass(frozen=True)
class PartitionJob:
    """One partition of a run, as sent to a worker process or a Dask worker."""

    scenario: Scenario
    catalog: Catalog
    seed: int
    machines: tuple[str, ...]


@dataclass
class Finished:
    """One partition's tables in canonical order, and what it tells the others."""

    parts: list[OrderedPart]
    notes: Notes


def run_partition(job: PartitionJob) -> Finished | InputError:
    """Simulate one partition and put its tables in canonical order, there, compactly
    (tuples of values) for the trip back.

    A scenario error (a fault aimed at a node that does not exist) comes back as
    the :class:`~virtsim.errors.InputError` itself, to be raised where the run began.
    """
    try:
        parts, notes = simulate_batches(job.scenario, job.catalog, job.seed, job.machines)
    except InputError as exc:
        return exc
    return Finished(parts, notes)


class Session:
    """One partition held open between the windows of a lockstep run
    (:mod:`virtsim.exchange`): its clock advanced window by window, its decisions taken
    when told, the others' decisions and transitions booked as they come."""

    def __init__(self, job: PartitionJob) -> None:
        self.job = job
        self.error: InputError | None = None
        self.told_expected = 0
        self.told_transitions: dict[str, int] = {}
        try:
            self.sim, self.active, self.faults = _attached(
                job.scenario, job.catalog, job.seed, job.machines, driven=True)
        except InputError as exc:
            self.error = exc

    def foreseen(self) -> list[float]:
        """The instants at which its orchestrators may decide (from its faults' times)."""
        recovery = self.faults.recovery if self.error is None else None
        if recovery is None:
            return []
        self.told_expected = len(recovery.expected)
        return list(recovery.expected)

    def advance(self, until: float) -> Step | InputError:
        """Run to ``until``, every event of that instant done but its decisions."""
        if self.error is not None:
            return self.error
        with long_lived_stack():
            self.sim.env.run(until=at_instant(self.sim.env, until))
        recovery, notes = self.faults.recovery, self.faults.notes
        step = Step(fallback=notes.fallback)
        if recovery is None:
            return step
        step.expected = recovery.expected[self.told_expected:]
        self.told_expected = len(recovery.expected)
        step.requests = sorted(self.faults.fleet.rank[r.logical]  # type: ignore[union-attr]
                               for r in recovery.requests.get(until, ()))
        if any(at < until for at in recovery.requests):
            step.fallback = step.fallback or "a decision came at an instant not foreseen"
        for machine, changes in notes.transitions.items():
            told = self.told_transitions.get(machine, 0)
            if len(changes) > told:
                step.transitions[machine] = changes[told:]
                self.told_transitions[machine] = len(changes)
        return step

    def tell(self, transitions: dict[str, list[tuple[float, bool]]]) -> None:
        """Hear other partitions' scope machines go up or down."""
        known = self.faults.knowledge.transitions
        for machine, changes in transitions.items():
            known[machine] = (*known.get(machine, ()), *changes)

    def decide(self, rank: Rank) -> Placement | None:
        """Take this instant's decision for the instance of ``rank``."""
        assert self.faults.recovery is not None
        with long_lived_stack():  # a first replica copies the fleet's graph: many objects
            return self.faults.recovery.decide_rank(self.sim, rank)

    def adopt(self, placement: Placement) -> None:
        """Book another partition's decision; start its replica if it is placed here."""
        assert self.faults.recovery is not None
        with long_lived_stack():
            self.faults.recovery.adopt(self.sim, placement)

    def finish(self) -> Finished | InputError:
        """Run to the end, report, and put the tables in canonical order."""
        if self.error is not None:
            return self.error
        with long_lived_stack():
            self.sim.env.run(until=self.job.scenario.duration_s)
            recovery = self.faults.recovery
            if recovery is not None and recovery.requests:  # never settled: cannot be cut
                self.faults.notes.fallback = "a decision came at an instant not foreseen"
            for model in self.active:
                model.report(self.sim)
            return Finished([order_part(self.sim.result, unit_index(self.job.scenario))],
                            self.faults.notes)


def run_cut(scenario: Scenario, catalog: Catalog, seed: int, cut: list[tuple[str, ...]],
            executor: Executor, went: Lockstep,
            progress: Callable[[float], None] | None = None,
            pickled: bool = False) -> tuple[list[OrderedPart], list[Any]]:
    """Run the partitions of ``cut`` on ``executor``: one job each, or, where an
    orchestrator's scope spans partitions, held open and advanced in lockstep
    (:mod:`virtsim.exchange`); if that cannot go on, again with every scope whole.

    Args:
        pickled: In this process, send every call's arguments and results through
            pickle, as to a worker (tests).

    Returns:
        The partitions' tables, and the ``recoveries`` updates to apply once merged.
    """
    managers = [manager for manager, _ in orchestrators(scenario, catalog)
                if manager.reschedules]
    scopes = [frozenset(manager.machines) for manager in managers]
    side = {machine: index for index, part in enumerate(cut) for machine in part}
    went.partitions = len(cut)
    outcomes: list[Any] = []
    if any(len({side[m] for m in scope}) > 1 for scope in scopes):
        jobs = [PartitionJob(scenario, catalog, seed, machines) for machines in cut]
        sessions = open_sessions(executor, jobs, pickled)
        try:
            outcomes = lockstep(sessions, len(jobs), scenario.duration_s,
                                [reach_of(part, scopes) for part in cut], went, progress)
        finally:
            sessions.close()
        if went.fallback:
            cut = partitions(scenario, len(cut))  # every scope whole
    if not outcomes:
        jobs = [PartitionJob(scenario, catalog, seed, machines) for machines in cut]
        outcomes = [None] * len(jobs)
        for done, (index, outcome) in enumerate(executor.run(run_partition, jobs), start=1):
            outcomes[index] = outcome
            if progress is not None:
                progress(scenario.duration_s * done / len(jobs))
    elif progress is not None:
        progress(scenario.duration_s)
    for outcome in outcomes:
        if isinstance(outcome, InputError):
            raise outcome
    finished = [outcome for outcome in outcomes if isinstance(outcome, Finished)]
    return ([part for f in finished for part in f.parts],
            [update for f in finished for update in f.notes.record_updates])


def open_sessions(executor: Executor, jobs: list[PartitionJob], pickled: bool = False
                  ) -> Sessions:
    """Open each partition where ``executor`` runs its jobs."""
    client = getattr(executor, "client", None)
    if client is not None:
        return DaskSessions(client, Session, jobs)
    if isinstance(executor, InProcess):
        return InProcessSessions(Session, jobs, pickled)
    return ProcessSessions(Session, jobs)


def _run_partitions(scenario: Scenario, catalog: Catalog, seed: int, workers: int,
                    scheduler: str | None, progress: Callable[[float], None] | None,
                    cut: list[tuple[str, ...]] | None,
                    went: Lockstep) -> tuple[list[OrderedPart], list[Any]]:
    """Run the partitions (``cut``, or as many as the cluster has workers) and collect them."""
    executor = make_executor(workers, scheduler)
    try:
        if cut is None:
            count = workers if workers > 1 else _cluster_workers(executor)
            cut = partitions(scenario, count, catalog)
        return run_cut(scenario, catalog, seed, cut, executor, went, progress)
    finally:
        close_executor(executor)


def _cluster_workers(executor: Executor) -> int:
    """How many workers a Dask cluster has (at least one)."""
    client = getattr(executor, "client", None)
    if client is None:
        return 1
    return max(1, len(client.scheduler_info().get("workers", {})))


def unit_index(scenario: Scenario) -> dict[str, int]:
    """Each machine's number in scenario order: the groups of the canonical order
    (:mod:`virtsim.merge`)."""
    return {machine: i for i, machine in enumerate(machine_names(scenario))}


def summarise(result: Result, scenario: Scenario, catalog: Catalog, seed: int) -> Result:
    """Every headline metric of a merged run, computed from its tables (and the scenario).

    Each model's metrics come from its summary function, in attach order; the
    overload warnings come last, since they read the others' tables and metrics.
    """
    inventory_metrics(result)
    start_metrics(result)
    footprint_metrics(result)
    workload_metrics(result)
    fault_metrics(result, scenario.duration_s)
    compatibility_metrics(result)
    profiles = [host_profile(host, catalog) for host in scenario.hosts]
    hosts = {machine: profile for host, profile in zip(scenario.hosts, profiles, strict=True)
             for machine in group_machines(host)}
    lines = overload_warnings(result, hosts, scenario.duration_s)
    if lines:
        result.metrics["warnings"] = lines
    result.metrics.update(scenario=scenario.name, seed=seed, duration_s=scenario.duration_s)
    return result
