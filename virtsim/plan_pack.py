"""Plan packing: how many hosts a workload mix needs, and which resource runs out first.

Every instance of a group is an *item*: a vector of what it takes from a
host, one column per :data:`DIMENSIONS` (resident or reserved memory,
reserved vCPUs or CPU requests, disk, and its steady demand on CPU, memory
bandwidth, random access, disk throughput and operations, and network). A
host is a *bin*: the same columns' capacity after what is shared once per
host (kernel, daemons, image layers), with the plan's headroom kept free
and its overcommit ratios applied to what is reserved (steady demand cannot
be overcommitted). Co-running workloads shrink the CPU and memory columns
as the performance model's shared-cache interference says.

Two placements are tried and the one needing fewer hosts is kept:

- **spread**: every host runs ``ceil(n / H)`` of each group (as Kubernetes'
  spreading or vSphere DRS balancing leave it), for the smallest ``H`` at
  which that fits;
- **segregated**: each group on hosts of its own, as many per host as fit.

Both need more hosts for more instances and fewer for a bigger host (a
check against the pattern only gets harder as counts grow), so the answer
does too: the heuristic is the minimum of two monotone ones, which is
itself monotone, where first-fit decreasing is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from virtsim.demand import CACHE_COLUMNS, MachineCapacity
from virtsim.footprint import DEMAND_BINDINGS

DIMENSIONS: tuple[str, ...] = ("memory", "cpu", "disk", *DEMAND_BINDINGS)
"""The columns of an item and a bin: memory (MiB), reserved CPUs, disk (MiB), then the
steady-demand columns (cores, GB/s, M updates/s, MiB/s, IOPS, MiB/s)."""
DIMENSION_UNITS: tuple[str, ...] = ("MiB", "vCPUs", "MiB", "cores", "GB/s", "M updates/s",
                                    "MiB/s", "IOPS", "MiB/s")
_CACHE = np.array([3 + c for c in CACHE_COLUMNS])
"""The bin columns co-runners shrink (the steady CPU and memory demand)."""
_EPS = 1e-9


@dataclass(frozen=True)
class Bin:
    """One host's capacity for items, per :data:`DIMENSIONS` column.

    Attributes:
        capacity: Room in each column (headroom kept, overcommit applied).
        machine: The machine's interference term (its capacity per second is
            not used here: ``capacity`` already holds it).
    """

    capacity: np.ndarray
    machine: MachineCapacity

    def room(self, corunners: int) -> np.ndarray:
        """Capacity with ``corunners`` workloads sharing the caches."""
        room = self.capacity.copy()
        room[_CACHE] *= self.machine.factor(corunners)
        return room

    def fits(self, pattern: np.ndarray, items: np.ndarray) -> bool:
        """Whether ``pattern[g]`` instances of each group fit together."""
        load = pattern @ items
        corunners = int(pattern[_cache_users(items)].sum())
        room = self.room(corunners)
        return bool(np.all(load <= room * (1 + _EPS) + _EPS))

    def alone(self, item: np.ndarray) -> int:
        """How many instances of one item fit an empty bin."""
        used = item > 0
        if not used.any():
            return 0
        with np.errstate(over="ignore"):
            most = int(min(np.floor((self.capacity[used] / item[used]).min() + _EPS), 1e12))
        low, high = 0, max(most, 0)
        while low < high:  # fitting only gets harder with the count
            mid = (low + high + 1) // 2
            if self.fits(np.array([mid]), item[None, :]):
                low = mid
            else:
                high = mid - 1
        return low


def _cache_users(items: np.ndarray) -> np.ndarray:
    return np.asarray((items[:, _CACHE] > 0).any(axis=1))


@dataclass(frozen=True)
class Packing:
    """Where a mix goes on hosts of one profile.

    Attributes:
        hosts: Hosts needed (0 when some instance fits no host).
        per_host: Instances of each group on the fullest host.
        strategy: ``spread`` or ``segregated``.
        binding: The column nearest its capacity on the fullest host.
        utilisation: Each column's load over its capacity on the fullest host.
        alone: Each group's density alone on a host and the column that binds it.
        unplaceable: Why some instance fits no host ("" when all fit).
    """

    hosts: int
    per_host: tuple[int, ...]
    strategy: Literal["spread", "segregated", "none"]
    binding: str
    utilisation: tuple[float, ...]
    alone: tuple[tuple[int, str], ...]
    unplaceable: str = ""

    @property
    def density(self) -> int:
        """Instances on the fullest host."""
        return sum(self.per_host)


def pack(counts: list[int], items: np.ndarray, bin_: Bin, names: list[str]) -> Packing:
    """Place ``counts[g]`` instances of each item row ``items[g]`` on hosts like ``bin_``."""
    fits = [bin_.alone(items[g]) for g in range(len(counts))]
    alone = tuple((fit, _binding(items[g], bin_, max(fit, 1))) for g, fit in enumerate(fits))
    for g, (fit, column) in enumerate(alone):
        if fit == 0 and counts[g] > 0:
            return Packing(0, tuple(0 for _ in counts), "none", column,
                           tuple(0.0 for _ in DIMENSIONS), alone,
                           f"one '{names[g]}' instance does not fit an empty host "
                           f"({column})")
    spread = _spread(counts, items, bin_)
    segregated = sum(math.ceil(n / fit) for n, (fit, _) in zip(counts, alone, strict=True)
                     if n > 0)
    if spread is not None and spread <= segregated:
        pattern = np.array([math.ceil(n / spread) for n in counts])
        return _packing(spread, pattern, items, bin_, "spread", alone)
    fullest = max(range(len(counts)), key=lambda g: math.ceil(counts[g] / alone[g][0])
                  if counts[g] else 0)
    pattern = np.zeros(len(counts), dtype=int)
    pattern[fullest] = min(counts[fullest], alone[fullest][0])
    return _packing(segregated, pattern, items, bin_, "segregated", alone)


def _spread(counts: list[int], items: np.ndarray, bin_: Bin) -> int | None:
    """The fewest hosts on which ``ceil(n / H)`` of every group fit each host, or None."""
    def fits(hosts: int) -> bool:
        return bin_.fits(np.array([math.ceil(n / hosts) for n in counts]), items)

    high = max(max(counts), 1)
    if not fits(high):
        return None
    low = 1
    while low < high:
        mid = (low + high) // 2
        if fits(mid):
            high = mid
        else:
            low = mid + 1
    return low


def _packing(hosts: int, pattern: np.ndarray, items: np.ndarray, bin_: Bin,
             strategy: Literal["spread", "segregated"],
             alone: tuple[tuple[int, str], ...]) -> Packing:
    load = pattern @ items
    room = bin_.room(int(pattern[_cache_users(items)].sum()))
    with np.errstate(divide="ignore", invalid="ignore"):
        use = np.where(room > 0, load / room, np.where(load > 0, np.inf, 0.0))
    binding = DIMENSIONS[int(np.argmax(use))]
    return Packing(hosts, tuple(int(p) for p in pattern), strategy, binding,
                   tuple(float(u) for u in use), alone)


def _binding(item: np.ndarray, bin_: Bin, count: int) -> str:
    """The column that limits how many of ``item`` fit (the first of equals)."""
    used = item > 0
    if not used.any():
        return "none"
    room = bin_.room(count)
    with np.errstate(divide="ignore", over="ignore"):
        ratio = np.where(used, room / np.where(used, item, 1.0), np.inf)
    return DIMENSIONS[int(np.argmin(ratio))]
