"""Running a scenario: build the stack, attach the models, advance the clock, report.

A model is anything with ``attach(sim)`` (register SimPy processes and
state before the clock starts) and ``report(sim)`` (turn state into records
and metrics after it stops). :func:`models` lists them in the order they
attach; later capabilities (lifecycle, performance, faults) add theirs.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from virtsim.catalog import Catalog
from virtsim.compat import CompatibilityReport
from virtsim.faults import FaultModel
from virtsim.footprint import FootprintModel
from virtsim.graph import NODE_KINDS
from virtsim.lifecycle import Lifecycle
from virtsim.overload import OverloadReport
from virtsim.performance import PerformanceModel
from virtsim.result import Result
from virtsim.scenario import Scenario
from virtsim.simulation import Simulation
from virtsim.stack import build_graph


class Model(Protocol):
    """The two hooks every simulation model provides."""

    def attach(self, sim: Simulation) -> None:
        """Register processes and state before the clock starts."""

    def report(self, sim: Simulation) -> None:
        """Record results after the clock stops."""


class StackInventory:
    """Reports the stack itself: one record per node, counts per kind."""

    def attach(self, sim: Simulation) -> None:
        """Nothing to run: the stack is built before the clock starts."""

    def report(self, sim: Simulation) -> None:
        """One ``nodes`` record per node; node counts per kind in the metrics."""
        graph = sim.graph
        counts: Counter[str] = Counter()
        keys = ("node", "kind", "name", "machine", "host", "profile")
        for node, data in graph.graph.nodes(data=True):
            counts[data["kind"]] += 1
            profile = data.get("profile")
            sim.result.append("nodes", keys, (node, data["kind"], data["name"], data["machine"],
                                              graph.host(node) or "",
                                              getattr(profile, "name", "")))
        sim.result.metrics["nodes"] = {kind: counts[kind] for kind in NODE_KINDS}
        sim.result.metrics["instances"] = sum(1 for _ in graph.instances())


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
        gc.unfreeze()


Observer = Callable[[Simulation], None]
"""Called with the run once every model is attached, before the clock starts."""
PROGRESS_SLICES = 200
"""A run watched by a progress bar advances its clock in this many slices."""


def run_scenario(scenario: Scenario, catalog: Catalog, seed: int | None = None,
                 progress: Callable[[float], None] | None = None,
                 observe: Observer | None = None) -> Result:
    """Build the scenario's stack, run every model for its duration and collect the result.

    ``progress``, if given, is called with the simulated time as the clock
    advances (slice by slice; the events and their order are the same).
    ``observe``, if given, is called with the :class:`~virtsim.simulation.Simulation`
    after every model is attached and before the clock starts: subscribe there to
    the instances' transitions (``sim.instances.subscribe(callback, "crashed")``),
    add a pool listener, or start a SimPy process that samples.
    """
    seed = scenario.seed if seed is None else seed
    sim = Simulation(scenario, build_graph(scenario, catalog), catalog, seed)
    active = models()
    with long_lived_stack():
        for model in active:
            model.attach(sim)
        if observe is not None:
            observe(sim)
        if progress is None:
            sim.env.run(until=scenario.duration_s)
        else:
            for k in range(1, PROGRESS_SLICES + 1):
                sim.env.run(until=scenario.duration_s * k / PROGRESS_SLICES)
                progress(sim.env.now)
        for model in active:
            model.report(sim)
    sim.result.metrics.update(scenario=scenario.name, seed=seed,
                              duration_s=scenario.duration_s)
    return sim.result
