"""Tests for virtsim.plan_pack: more hosts for more instances, never more for bigger hosts."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from virtsim.demand import MachineCapacity
from virtsim.plan_pack import DIMENSIONS, Bin, pack

NONE = MachineCapacity(tuple([0.0] * 6))
CACHEY = MachineCapacity(tuple([0.0] * 6), 0.023, 10)


def a_bin(memory: float = 1000.0, cpus: float = 16.0, cores: float = 16.0,
          machine: MachineCapacity = NONE) -> Bin:
    capacity = np.array([memory, cpus, 1e6, cores, 100.0, 100.0, 1e4, 1e5, 1e4])
    return Bin(capacity, machine)


def item(memory: float, cpus: float = 0.0, cores: float = 0.0) -> list[float]:
    return [memory, cpus, 1.0, cores, 0.0, 0.0, 0.0, 0.0, 0.0]


ITEMS = st.lists(st.tuples(st.floats(1, 600), st.floats(0, 8), st.floats(0, 8),
                           st.integers(1, 60)), min_size=1, max_size=3)


def test_one_group_fills_hosts_and_names_what_binds() -> None:
    packing = pack([10], np.array([item(300.0)]), a_bin(), ["db"])
    assert packing.hosts == 4 and packing.per_host == (3,)  # 3 x 300 MiB per 1000 MiB host
    assert packing.binding == "memory" and packing.alone == ((3, "memory"),)
    packing = pack([10], np.array([item(10.0, cpus=4.0)]), a_bin(), ["vm"])
    assert packing.hosts == 3 and packing.binding == "cpu"
    assert len(packing.utilisation) == len(DIMENSIONS)


def test_an_instance_bigger_than_a_host_is_unplaceable() -> None:
    packing = pack([1, 5], np.array([item(2000.0), item(1.0)]), a_bin(), ["big", "small"])
    assert packing.hosts == 0 and "'big'" in packing.unplaceable


def test_mixing_groups_beats_segregating_them_when_they_use_different_resources() -> None:
    items = np.array([item(400.0, cpus=1.0), item(10.0, cpus=7.0)])
    packing = pack([4, 4], items, a_bin(), ["memory-heavy", "cpu-heavy"])
    assert packing.strategy == "spread" and packing.hosts == 2


def test_co_runners_shrink_cpu_as_the_performance_model_says() -> None:
    plain = pack([64], np.array([item(1.0, cores=0.5)]), a_bin(), ["web"])
    shared = pack([64], np.array([item(1.0, cores=0.5)]), a_bin(machine=CACHEY), ["web"])
    assert plain.alone[0][0] == 32
    assert shared.alone[0][0] == math.floor(16 / 1.23 / 0.5)  # 10 neighbours at 2.3% each
    assert shared.hosts > plain.hosts


@given(groups=ITEMS, extra=st.integers(0, 3), which=st.integers(0, 2))
def test_more_instances_never_need_fewer_hosts(groups: list[tuple[float, float, float, int]],
                                               extra: int, which: int) -> None:
    items = np.array([item(m, c, d) for m, c, d, _ in groups])
    counts = [n for *_, n in groups]
    more = list(counts)
    more[which % len(more)] += extra
    names = [f"g{k}" for k in range(len(groups))]
    assert pack(more, items, a_bin(machine=CACHEY), names).hosts >= pack(
        counts, items, a_bin(machine=CACHEY), names).hosts


@given(groups=ITEMS, grow=st.floats(1.0, 3.0))
def test_a_bigger_host_never_needs_more(groups: list[tuple[float, float, float, int]],
                                        grow: float) -> None:
    items = np.array([item(m, c, d) for m, c, d, _ in groups])
    counts = [n for *_, n in groups]
    names = [f"g{k}" for k in range(len(groups))]
    small = pack(counts, items, a_bin(machine=CACHEY), names)
    big = pack(counts, items, a_bin(1000.0 * grow, 16.0 * grow, 16.0 * grow, CACHEY), names)
    if small.hosts:
        assert 0 < big.hosts <= small.hosts


@given(groups=ITEMS)
def test_the_fullest_host_fits_and_every_instance_has_a_place(
        groups: list[tuple[float, float, float, int]]) -> None:
    items = np.array([item(m, c, d) for m, c, d, _ in groups])
    counts = [n for *_, n in groups]
    host = a_bin(machine=CACHEY)
    packing = pack(counts, items, host, [f"g{k}" for k in range(len(groups))])
    if packing.hosts:
        assert host.fits(np.array(packing.per_host), items)
        if packing.strategy == "spread":
            pairs = zip(packing.per_host, counts, strict=True)
            assert all(p * packing.hosts >= n for p, n in pairs)
        else:
            assert sum(math.ceil(n / a) for n, (a, _) in zip(counts, packing.alone, strict=True)) \
                == packing.hosts
