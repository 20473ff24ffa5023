"""Tests for virtsim.locks: one holder at a time, in order, with a log of holds."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st

from virtsim.locks import Hold, LockTable, SerialLock, overlaps


def test_holders_run_one_after_another_in_arrival_order() -> None:
    env = simpy.Environment()
    log: list[Hold] = []
    lock = SerialLock(env, "rtnl", log)

    def hold(name: str, at: float, for_s: float) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(at)
        request = lock.acquire(name)
        yield request
        yield env.timeout(for_s)
        lock.release(request)

    for name, at in (("a", 0.0), ("b", 0.1), ("c", 0.2)):
        env.process(hold(name, at, 1.0))
    env.run()
    assert [(h.holder, h.start_s, h.end_s) for h in log] == [
        ("a", 0.0, 1.0), ("b", 1.0, 2.0), ("c", 2.0, 3.0)]


def test_lock_needs_a_name() -> None:
    with pytest.raises(ValueError, match='"name"'):
        SerialLock(simpy.Environment(), "")


def test_table_makes_each_lock_once_and_scopes_its_name() -> None:
    table = LockTable(simpy.Environment(), "host/kernel")
    assert table["rtnl"] is table["rtnl"]
    assert table["rtnl"].name == "host/kernel:rtnl"


def test_overlaps_finds_a_clash() -> None:
    holds = [Hold("x", "a", 0.0, 1.0), Hold("x", "b", 0.5, 1.5), Hold("y", "c", 0.5, 1.5)]
    assert overlaps(holds) == [(holds[0], holds[1])]


@given(jobs=st.lists(st.tuples(st.floats(0, 5), st.floats(0.001, 2),
                               st.sampled_from(["rtnl", "net_mutex"])), max_size=30))
def test_holds_of_one_lock_never_overlap(jobs: list[tuple[float, float, str]]) -> None:
    env = simpy.Environment()
    log: list[Hold] = []
    table = LockTable(env, "k", log)

    def hold(i: int, at: float, for_s: float, name: str) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(at)
        request = table[name].acquire(str(i))
        yield request
        yield env.timeout(for_s)
        table[name].release(request)

    for i, job in enumerate(jobs):
        env.process(hold(i, *job))
    env.run()
    assert len(log) == len(jobs)
    assert overlaps(log) == []
