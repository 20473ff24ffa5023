"""The run environment: one SimPy clock, one seed, one random stream per component.

A :class:`Simulation` carries what every model needs while a scenario runs:
the SimPy environment, the resource graph, the catalogue, the instance
registry every model subscribes to (:mod:`virtsim.instances`), each machine's
shared pool (:mod:`virtsim.machines`), and the seed from which each component
gets its own :class:`numpy.random.Generator` (:meth:`Simulation.stream`).
Streams are keyed by the component's name (a machine, an instance), so adding
a component never shifts the draws of the others, whatever the order in which
events interleave, and a run is the same on any number of workers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import simpy

from virtsim.catalog import Catalog
from virtsim.graph import ResourceGraph
from virtsim.instances import InstanceRegistry
from virtsim.layer_costs import NATIVE, compose
from virtsim.machines import MachinePools
from virtsim.result import Result
from virtsim.scenario import Scenario
from virtsim.templates import Templates

SimTime = float
"""Simulated time in seconds."""


def component_key(name: str) -> int:
    """A stable 64-bit key for a component name (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def component_rng(seed: int, name: str) -> np.random.Generator:
    """The random stream of one named component under one seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(component_key(name),)))


@dataclass
class Simulation:
    """Everything a model needs while one scenario runs.

    A copy made with :func:`dataclasses.replace` (an orchestrator's view of a
    grown graph) shares the clock, the result, the registry, the pools and
    the streams: only the graph differs.
    """

    scenario: Scenario
    graph: ResourceGraph
    catalog: Catalog
    seed: int
    env: simpy.Environment = field(default_factory=simpy.Environment)
    result: Result = field(default_factory=Result)
    instances: InstanceRegistry = None  # type: ignore[assignment]  # made in __post_init__
    """Every instance and its state machine: subscribe here to its transitions."""
    pools: MachinePools = None  # type: ignore[assignment]  # made in __post_init__
    """Each machine's one pool, shared by start-up work and steady load."""
    streams: dict[str, np.random.Generator] = field(default_factory=dict, repr=False)
    templates: Templates = None  # type: ignore[assignment]  # made in __post_init__
    """Per-machine results worked out once per host group (:mod:`virtsim.templates`)."""
    partial: bool = False
    """Whether the graph holds only some of the scenario's machines (one partition of a
    run cut by :mod:`virtsim.partition`): what targets the others is theirs to run."""

    def __post_init__(self) -> None:
        if self.templates is None:
            self.templates = Templates(self.graph)
        if self.instances is None:
            self.instances = InstanceRegistry(self.env)
        if self.pools is None:
            self.pools = MachinePools(self.env, compose(self.catalog, [NATIVE]))

    def rng(self, component: str) -> np.random.Generator:
        """A fresh generator for ``component``, the same for the same seed and name."""
        return component_rng(self.seed, component)

    def stream(self, component: str) -> np.random.Generator:
        """The one random stream of ``component`` (a machine or instance id) in this run.

        Made on the first draw and kept: every draw the component makes comes
        from it in its own order, never from a stream another component shares.
        """
        stream = self.streams.get(component)
        if stream is None:
            stream = self.streams[component] = component_rng(self.seed, component)
        return stream

    @property
    def now(self) -> SimTime:
        """The current simulated time."""
        return float(self.env.now)
