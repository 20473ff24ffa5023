"""The run environment: one SimPy clock, one seed, one random stream per component.

A :class:`Simulation` carries what every model needs while a scenario runs:
the SimPy environment, the resource graph, the catalogue, and the seed from
which each component gets its own :class:`numpy.random.Generator`. Streams
are keyed by the component's name, so adding a component never shifts the
draws of the others and a run is the same on any number of workers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import simpy

from virtsim.catalog import Catalog
from virtsim.graph import ResourceGraph
from virtsim.result import Result
from virtsim.scenario import Scenario

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
    """Everything a model needs while one scenario runs."""

    scenario: Scenario
    graph: ResourceGraph
    catalog: Catalog
    seed: int
    env: simpy.Environment = field(default_factory=simpy.Environment)
    result: Result = field(default_factory=Result)

    def rng(self, component: str) -> np.random.Generator:
        """A fresh generator for ``component``, the same for the same seed and name."""
        return component_rng(self.seed, component)

    @property
    def now(self) -> SimTime:
        """The current simulated time."""
        return float(self.env.now)
