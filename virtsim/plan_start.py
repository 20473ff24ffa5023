"""Plan start time: how long until every instance of a fleet is up, worked out, not run.

The lifecycle model (:mod:`virtsim.lifecycle`) starts each instance through
its stages: a duration drawn from the stage's distribution, work (CPU, disk
reads, network fetches) shared max-min fairly with every other start on the
machine, locks that serialise (dockerd's), files read once per machine (its
page cache) and image layers pulled once per store. Every host of a plan
starts its share at once, so the fleet is up when its fullest host is. On
one host, the start of ``n`` instances takes at least the longest of three
things, and at most their sum:

- **the longest single start**: the largest of ``n`` draws of an instance's
  stage sequence, each stage at least its own work alone, after the image
  pull a cold container waits for;
- **the busiest resource**: all the start work on the host's CPU, disk or
  network, over its capacity;
- **the longest lock queue**: every start's time holding the lock.

The estimate is the lower of those bounds (the mechanism that dominates;
the others overlap it); ``low`` and ``high`` are the bounds themselves, with
the longest start at the 5th and 95th percentiles of its draws (one run is
one draw).
Draws come from the plan's seed, so the answer repeats. Containers in node
VMs wait for their node VM: the two phases add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from virtsim.lifecycle import host_capacity
from virtsim.plan_stack import StartShape
from virtsim.profiles import HostProfile, Layer

RESOURCE_NAMES = ("cpu", "disk", "network")
REPLICATIONS = 40
"""Sets of draws of the whole fleet's starts: their longest starts give the mean and the
5th and 95th percentiles of the longest start (fewer sets for a big fleet)."""
DRAWS = 40_000
"""Most stage-sequence draws per shape: bounds the work for a big fleet."""


@dataclass(frozen=True)
class StartEstimate:
    """Time to start a host's share of the fleet, and what dominates it.

    Attributes:
        estimate_s: The analytic answer (the dominant mechanism's time, the longest
            start at its mean).
        low_s: Lower bound: the dominant mechanism, the longest start at its 5th percentile.
        high_s: Upper bound: the mechanisms one after another, the longest start at its
            95th percentile.
        bound: What dominates: ``longest start``, ``cpu``, ``disk``, ``network``
            or ``lock <name>``.
    """

    estimate_s: float
    low_s: float
    high_s: float
    bound: str

    def __add__(self, other: StartEstimate) -> StartEstimate:
        """One phase after another (node VMs, then the containers in them)."""
        bound = self.bound if self.estimate_s >= other.estimate_s else other.bound
        return StartEstimate(self.estimate_s + other.estimate_s, self.low_s + other.low_s,
                             self.high_s + other.high_s, bound)


def host_start(host: HostProfile, shapes: list[tuple[StartShape, int]],
               rng: np.random.Generator, stores: int = 1,
               hosts: int = 1) -> tuple[StartEstimate, StartEstimate]:
    """Start ``n`` instances of each shape at once on each of ``hosts`` machines, cold
    (image layers pulled) and warm (layers already on the machines).

    The same draws serve both: they differ only by the pull.

    Args:
        host: The machine's profile.
        shapes: Each start shape and how many instances start that way on one machine.
        rng: The random stream stage durations are drawn from.
        stores: Places the layers are pulled into (a node VM each, else the machine).
        hosts: Machines starting the same share at once (the longest start is the
            longest over all of them).
    """
    capacity = host_capacity(host)
    totals = np.zeros(3)
    locks: dict[str, float] = {}
    longest = np.zeros(3)  # the longest start: mean, 5th and 95th percentiles
    read_once: set[tuple[str, int]] = set()
    layers: dict[str, Layer] = {}
    decompress = np.inf
    readers: dict[tuple[str, int], int] = {}  # a file read once per machine -> its readers
    for shape, count in shapes:
        for owner, stage in shape.stages:
            if stage.read_mib > 0 and owner not in shape.per_instance_reads and count > 0:
                readers[(owner, id(stage))] = readers.get((owner, id(stage)), 0) + count
    for shape, count in shapes:
        if count <= 0:
            continue
        shared = {key for key, n in readers.items() if n > 1}
        longest = np.maximum(longest, _longest_path(shape, count, capacity, rng, shared,
                                                     hosts))
        for owner, stage in shape.stages:
            totals[0] += count * stage.cpu_s
            totals[2] += count * stage.fetch_mib
            if stage.read_mib > 0:
                if owner in shape.per_instance_reads:
                    totals[1] += count * stage.read_mib
                elif (owner, id(stage)) not in read_once:  # the page cache serves the rest
                    read_once.add((owner, id(stage)))
                    totals[1] += stage.read_mib
            if stage.lock:
                alone = _alone(stage.cpu_s, stage.read_mib, stage.fetch_mib, capacity)
                locks[stage.lock] = locks.get(stage.lock, 0.0) + count * max(
                    stage.wall_s.mean, alone)
        if shape.engine is not None:
            layers.update({layer.digest: layer for layer in shape.layers})
            decompress = min(decompress, shape.engine.decompress_mibs_per_core)
    warm = _estimate(longest, totals / np.array(capacity), locks)
    if not layers:
        return warm, warm
    fetched = sum(layer.compressed_mib for layer in layers.values()) * stores
    totals += (fetched / decompress, 0.0, fetched)
    biggest = max(layer.compressed_mib for layer in layers.values())
    pull = fetched / capacity[2] + biggest / decompress
    return _estimate(pull + longest, totals / np.array(capacity), locks), warm


def _estimate(longest: np.ndarray, resources: np.ndarray,
              locks: dict[str, float]) -> StartEstimate:
    """The dominant mechanism's time; bounds from the longest start's 5th and 95th
    percentiles (a single run is one draw of it)."""
    others = [*((float(t), name) for t, name in zip(resources, RESOURCE_NAMES, strict=True)),
              *((t, f"lock {name}") for name, t in sorted(locks.items()))]
    value, bound = max([(float(longest[0]), "longest start"), *others], key=lambda c: c[0])
    low = max([float(longest[1]), *(t for t, _ in others)])
    high = float(longest[2]) + float(resources.sum()) + sum(locks.values())
    return StartEstimate(value, min(low, value), max(high, value), bound)


def _alone(cpu_s: float, read_mib: float, fetch_mib: float, capacity: list[float]) -> float:
    """A stage's work alone: one thread of CPU, the whole disk and network."""
    return max(cpu_s, read_mib / capacity[1], fetch_mib / capacity[2])


def _longest_path(shape: StartShape, count: int, capacity: list[float],
                  rng: np.random.Generator, shared: set[tuple[str, int]],
                  hosts: int = 1) -> np.ndarray:
    """The largest of ``count`` draws on each of ``hosts`` machines of the shape's stage
    sequence, uncontended: its mean, 5th and 95th percentiles over up to
    :data:`REPLICATIONS` sets of draws.

    A stage that reads a file others read too (``shared``: read once per machine) is
    read by the first to get there; the lifecycle has the others wait for that read
    only (not the first one's whole stage), then run their own stage from the page
    cache: the read's time and then their own.
    """
    if count <= 0:
        return np.zeros(3)
    sets = max(1, min(REPLICATIONS, DRAWS // (count * hosts)))
    total = np.zeros((sets, hosts, count))
    for owner, stage in shape.stages:
        alone = _alone(stage.cpu_s, stage.read_mib, stage.fetch_mib, capacity)
        draws = stage.wall_s.sample_many(rng, sets * hosts * count).reshape(sets, hosts, count)
        if (owner, id(stage)) in shared:  # one first reader per machine
            read = stage.read_mib / capacity[1]
            step = read + np.maximum(draws, stage.cpu_s)  # wait for the read, then its own
            step[:, :, 0] = np.maximum(draws[:, :, 0], read + stage.cpu_s)  # the first reads
            total += step
        else:
            total += np.maximum(draws, alone)
    longest = total.max(axis=(1, 2))
    return np.array([longest.mean(), *np.percentile(longest, [5, 95])])
