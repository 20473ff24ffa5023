"""Template copies: per-machine work done once per host group, stamped out for the copies.

A host group of N machines is built from one spec, so each copy's stack is
the first machine's with its ids renamed (``ResourceGraph.copies``). What a
model works out for one machine from its stack alone (the placements of its
workloads, the sizes of its instances) is therefore the same for every copy
up to those ids. :class:`Templates` is the one place that knows this: a model
asks for a machine's result with a function written for one machine and a
way to rename the result's ids; the runner's cache computes it for the
group's first machine and renames it for each copy.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from virtsim.graph import ResourceGraph

T = TypeVar("T")
Rename = Callable[[T, Callable[[str], str]], T]
"""Rebuilds a result with every node id passed through the given id map."""


class Templates:
    """The run's cache of per-machine results, keyed by what and by host group."""

    def __init__(self, graph: ResourceGraph) -> None:
        self.graph = graph
        self._cache: dict[tuple[str, str], Any] = {}
        self.computed = 0
        """How many results were worked out (the rest were renamed copies)."""

    def first(self, machine: str) -> str:
        """The machine whose stack ``machine`` copies (itself if it copies none)."""
        return self.graph.copies.get(machine, machine)

    def per_machine(self, what: str, machine: str, compute: Callable[[str], T],
                    rename: Rename[T]) -> T:
        """``compute(machine)``, worked out once per host group and renamed for copies.

        Args:
            what: Names the result (one cache per kind of result).
            machine: The machine asked about.
            compute: The result for one machine, from its stack alone.
            rename: Rebuilds a result with its ids mapped to another machine's.
        """
        first = self.first(machine)
        key = (what, first)
        if key not in self._cache:
            self._cache[key] = compute(first)
            self.computed += 1
        value: T = self._cache[key]
        if first == machine:
            return value
        return rename(value, id_map(first, machine))


def id_map(first: str, machine: str) -> Callable[[str], str]:
    """Maps an id under machine ``first`` to the same place under ``machine`` (others kept)."""
    cut = len(first)
    prefix = first + "/"

    def to_copy(node: str) -> str:
        if node == first:
            return machine
        if node.startswith(prefix):
            return sys.intern(machine + node[cut:])  # the graph's ids are interned too
        return node

    return to_copy
