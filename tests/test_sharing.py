"""Fluid sharing: max-min fairness invariants and SimPy timing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from virtsim.sharing import FluidPool, max_min_rates


@st.composite
def problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 12))
    m = draw(st.integers(1, 4))
    values = st.floats(0, 100, allow_nan=False)
    work = draw(arrays(float, (n, m), elements=values))
    capacity = draw(arrays(float, (m,), elements=st.floats(0.1, 100)))
    weights = draw(arrays(float, (n,), elements=st.floats(0.1, 10)))
    caps = draw(arrays(float, (n,), elements=st.one_of(st.just(np.inf), st.floats(0.01, 10))))
    return work, capacity, weights, caps


@settings(max_examples=200, deadline=None)
@given(problems())
def test_nothing_over_capacity_and_every_rate_is_bottlenecked(
        problem: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
    work, capacity, weights, caps = problem
    rates = max_min_rates(work, capacity, weights, caps)
    used = rates @ work
    assert (used <= capacity * (1 + 1e-6) + 1e-9).all()
    assert (rates <= caps * (1 + 1e-9) + 1e-12).all()
    saturated = used >= capacity * (1 - 1e-6)
    for i in range(len(rates)):
        if (work[i] > 1e-12).any():  # below that is numerical dust (see max_min_rates)
            at_cap = rates[i] >= caps[i] * (1 - 1e-6)
            on_bottleneck = bool((work[i][saturated] > 1e-12).any())
            assert at_cap or on_bottleneck


@settings(max_examples=100, deadline=None)
@given(problems(), st.data())
def test_a_neighbour_on_one_resource_never_speeds_you_up(
        problem: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        data: st.DataObject) -> None:
    """On one shared resource max-min fairness is monotone.

    (Across several resources it is not: a newcomer that slows a competitor
    on one resource can free another resource for a third activity.)
    """
    work, capacity, weights, caps = problem
    work, capacity = work[:, :1], capacity[:1]
    if len(work) < 2:
        return
    alone = max_min_rates(work[:-1], capacity, weights[:-1], caps[:-1])
    shared = max_min_rates(work, capacity, weights, caps)
    assert (shared[:-1] <= alone * (1 + 1e-6) + 1e-9).all()


def test_equal_activities_split_equally() -> None:
    rates = max_min_rates(np.ones((4, 1)), np.array([2.0]), np.ones(4), np.full(4, np.inf))
    assert rates == pytest.approx([0.5] * 4)


def test_weights_split_proportionally() -> None:
    rates = max_min_rates(np.ones((2, 1)), np.array([3.0]), np.array([1.0, 2.0]),
                          np.full(2, np.inf))
    assert rates == pytest.approx([1.0, 2.0])


def test_capped_activity_leaves_the_rest_to_others() -> None:
    rates = max_min_rates(np.ones((2, 1)), np.array([4.0]), np.ones(2), np.array([1.0, np.inf]))
    assert rates == pytest.approx([1.0, 3.0])


def test_pool_timeline() -> None:
    env = simpy.Environment()
    pool = FluidPool(env, ["cpu"], [1.0])
    log: list[tuple[str, float]] = []

    def job(name: str, work: float, delay: float):  # type: ignore[no-untyped-def]
        yield env.timeout(delay)
        yield pool.start([work]).done
        log.append((name, env.now))

    env.process(job("a", 2.0, 0.0))
    env.process(job("b", 1.0, 1.0))
    env.run()
    # a runs alone for 1 s (1 unit left), then both share: b's 1 unit takes 2 s
    assert log == [("a", pytest.approx(3.0)), ("b", pytest.approx(3.0))]
    assert pool.busy_integral[0] == pytest.approx(3.0)


def test_pool_rejects_bad_arguments() -> None:
    env = simpy.Environment()
    with pytest.raises(ValueError, match='"capacity" must be > 0'):
        FluidPool(env, ["cpu"], [0.0])
    pool = FluidPool(env, ["cpu"], [1.0])
    with pytest.raises(ValueError, match='"work"'):
        pool.start([1.0, 2.0])


@settings(max_examples=200, deadline=None)
@given(problems())
def test_the_plain_python_path_for_few_activities_matches_numpy(
        problem: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
    from virtsim.sharing import _numpy_max_min, _small_max_min

    work, capacity, weights, caps = problem
    fast = _small_max_min(work.tolist(), capacity.tolist(), weights.tolist(), caps.tolist())
    assert fast == pytest.approx(_numpy_max_min(work, capacity, weights, caps).tolist(),
                                 rel=1e-9, abs=1e-12)


Job = tuple[float, float, tuple[float, float], float, int]
"""(start time, latency, work on two resources, cap, chained follow-ups)."""


@st.composite
def workloads(draw: st.DrawFn) -> list[Job]:
    job = st.tuples(st.floats(0, 5), st.floats(0, 2),
                    st.tuples(st.floats(0, 4), st.floats(0, 4)),
                    st.one_of(st.just(np.inf), st.floats(0.2, 3)), st.integers(0, 3))
    return draw(st.lists(job, min_size=1, max_size=8))


def completions(jobs: list[Job], solve_every_change: bool) -> list[tuple[int, int, float]]:
    """When each piece of each job completes; each job chains its follow-ups from its callback."""
    env = simpy.Environment()
    pool = FluidPool(env, ["cpu", "disk"], [2.0, 3.0])
    if solve_every_change:  # a listener turns the uncontended shortcut off
        pool.listeners.append(lambda _pool: None)
    done: list[tuple[int, int, float]] = []

    def piece(i: int, k: int) -> None:
        _, latency, work, cap, chained = jobs[i]

        def finished() -> None:
            done.append((i, k, env.now))
            if k < chained:
                piece(i, k + 1)
        pool.start(work, cap=cap, delay=latency, on_done=finished)

    for i, job in enumerate(jobs):
        env.timeout(job[0]).callbacks.append(lambda _e, i=i: piece(i, 0))
    env.run()
    return sorted(done)


@settings(max_examples=150, deadline=None)
@given(workloads())
def test_the_uncontended_shortcut_never_changes_when_work_completes(jobs: list[Job]) -> None:
    fast = completions(jobs, solve_every_change=False)
    solved = completions(jobs, solve_every_change=True)
    assert [(i, k) for i, k, _ in fast] == [(i, k) for i, k, _ in solved]
    assert [t for *_, t in fast] == pytest.approx([t for *_, t in solved], rel=1e-9, abs=1e-9)
    assert len(fast) == sum(job[4] + 1 for job in jobs)  # every piece completes


def test_a_chain_on_an_uncontended_pool_costs_one_event_per_piece() -> None:
    env = simpy.Environment()
    pool = FluidPool(env, ["cpu"], [4.0])
    left = [100]

    def next_piece() -> None:
        if left[0]:
            left[0] -= 1
            pool.start([0.5], cap=1.0, delay=0.25, on_done=next_piece)

    next_piece()
    env.run()
    assert env.now == pytest.approx(100 * 1.25)  # 0.25 s latency, then 1 s at its cap
    scheduled = int(repr(env._eid)[6:-1])  # SimPy numbers every event it schedules
    assert scheduled <= 101


def test_busy_integral_counts_work_done_once() -> None:
    env = simpy.Environment()
    pool = FluidPool(env, ["cpu", "disk"], [2.0, 10.0])
    pool.start([1.0, 5.0], delay=1.0)
    pool.start([3.0, 0.0], cap=0.5)
    env.run()
    pool.advance()
    assert pool.busy_integral.tolist() == pytest.approx([4.0, 5.0])


def test_a_late_clock_still_completes_work_at_the_right_moment() -> None:
    env = simpy.Environment(initial_time=3e9)  # a century in: the clock's rounding is ~1e-7 s
    pool = FluidPool(env, ["cpu"], [1.0])
    done: list[float] = []
    for work in (0.3, 0.7, 1.1):
        pool.start([work], delay=0.2, on_done=lambda: done.append(env.now))
    env.run(until=3e9 + 10)
    # shared three ways, then two, then alone: done at 0.9, 1.7 and 2.1 s after the latency
    assert done == pytest.approx([3e9 + 0.2 + 0.9, 3e9 + 0.2 + 1.7, 3e9 + 0.2 + 2.1], abs=1e-5)


def test_a_cancelled_activity_never_completes_and_frees_its_share() -> None:
    env = simpy.Environment()
    pool = FluidPool(env, ["cpu"], [1.0])
    done: list[str] = []
    a = pool.start([2.0], on_done=lambda: done.append(f"a@{env.now:g}"))
    b = pool.start([2.0], on_done=lambda: done.append(f"b@{env.now:g}"))
    env.run(until=1.0)  # each at half speed: 0.5 done
    pool.cancel(a)
    pool.cancel(a)  # twice: nothing more
    env.run()
    assert done == ["b@2.5"] and a.cancelled and not a.finished
    assert b.finished and pool.busy_integral.tolist() == pytest.approx([2.5])


def test_a_cancelled_arrival_never_joins() -> None:
    env = simpy.Environment()
    pool = FluidPool(env, ["cpu"], [1.0])
    late = pool.start([1.0], delay=5.0)
    pool.cancel(late)
    env.run()
    assert not late.finished and pool.activities == [] and pool.pending == []


def test_interference_applies_only_between_interfering_activities() -> None:
    env = simpy.Environment()
    pool = FluidPool(env, ["cpu"], [4.0])
    pool.capacity_scale = lambda work: np.full(1, 0.5 if len(work) >= 2 else 1.0)
    quiet = [pool.start([1.0], cap=1.0) for _ in range(3)]  # start-up work: no co-runner
    env.run(until=0.1)
    assert all(a.rate == pytest.approx(1.0) for a in quiet)
    loud = [pool.start([10.0], cap=0.1, interferes=True) for _ in range(2)]
    env.run(until=0.2)
    assert pool.effective_capacity.tolist() == [2.0]
    assert sum(a.rate * a.row[0] for a in (*quiet, *loud)) <= 2.0 + 1e-9


def test_a_resource_added_while_running_caps_new_work_only() -> None:
    env = simpy.Environment()
    pool = FluidPool(env, ["cpu"], [8.0])
    old = pool.start([4.0], cap=1.0)
    column = pool.add_resource("vm", 1.0)
    capped = pool.start([4.0, 4.0], cap=1.0)
    assert column == 1 and old.row == [4.0, 0.0]
    env.run()
    assert old.finished and capped.finished and env.now == pytest.approx(4.0)
    with pytest.raises(ValueError, match="exists"):
        pool.add_resource("vm", 1.0)


PIECES = [([0.5, 0.0], 2.0, 0.1), ([0.0, 0.0], np.inf, 0.3), ([1.0, 40.0], np.inf, 0.0),
          ([0.2, 0.0], 5.0, 0.05)]
"""Work rows (cpu, disk), caps and latencies of a start's stages."""


def _pieces_one_by_one(pool: FluidPool, log: list[tuple[str, float]]) -> None:
    def begin(k: int) -> None:
        if k == len(PIECES):
            return
        row, cap, delay = PIECES[k]

        def done() -> None:
            log.append((f"piece-{k}", pool.env.now))
            begin(k + 1)

        pool.start(row, cap=cap, delay=delay, on_done=done)

    begin(0)


def _pieces_chained(pool: FluidPool, log: list[tuple[str, float]]) -> None:
    def done() -> None:  # not split: every piece ended at its planned bound
        for k, bound in enumerate(chain.bounds):
            log.append((f"piece-{k}", bound))

    def split(current: int, activity: Any) -> None:
        for k in range(current):
            log.append((f"piece-{k}", chain.bounds[k]))

        def later(k: int) -> Callable[[], None]:
            def piece_done() -> None:
                log.append((f"piece-{k}", pool.env.now))
                if k + 1 < len(PIECES):
                    row, cap, delay = PIECES[k + 1]
                    pool.start(row, cap=cap, delay=delay, on_done=later(k + 1))
            return piece_done

        activity._on_done = later(current)

    chain = pool.chain(PIECES, done, split)
    assert chain is not None


@pytest.mark.parametrize("newcomer_at", [None, 0.05, 0.35, 0.5, 0.9])
def test_a_chain_gives_the_times_of_its_pieces_one_by_one(newcomer_at: float | None) -> None:
    """Planned as one activity, the pieces end when they would one after another, also when
    a newcomer that needs the whole CPU arrives mid-chain (the chain splits)."""
    logs = []
    for plan in (_pieces_one_by_one, _pieces_chained):
        env = simpy.Environment()
        pool = FluidPool(env, ["cpu", "disk"], [1.0, 100.0])
        log: list[tuple[str, float]] = []
        plan(pool, log)
        if newcomer_at is not None:
            def newcomer(pool: FluidPool = pool, log: list[tuple[str, float]] = log) -> None:
                pool.start([0.6, 0.0], on_done=lambda: log.append(("newcomer", pool.env.now)))
            env.timeout(newcomer_at).callbacks.append(lambda _e, f=newcomer: f())
        env.run()
        logs.append(sorted(log))
    assert logs[0] == logs[1]
    assert len(logs[0]) == len(PIECES) + (newcomer_at is not None)


def test_a_chain_is_refused_on_a_contended_pool() -> None:
    env = simpy.Environment()
    pool = FluidPool(env, ["cpu"], [1.0])
    pool.start([1.0])
    pool.start([1.0])  # two one-core activities on one core: contended
    env.run(until=0.1)
    assert pool.chain([([0.1], 10.0, 0.0), ([0.1], 10.0, 0.0)], lambda: None,
                      lambda _k, _a: None) is None


@settings(max_examples=60, deadline=None)
@given(jobs=st.lists(st.tuples(st.floats(0, 2), st.floats(0.01, 1), st.booleans()),
                     min_size=3, max_size=25))
def test_a_swap_of_like_for_like_gives_the_times_of_a_full_solve(
        jobs: list[tuple[float, float, bool]]) -> None:
    """Under contention, when single-thread CPU work hands over to work of the same shape
    (a lock's next holder), the rates are kept instead of solved again: same completions."""
    def run(swap: bool) -> list[float]:
        env = simpy.Environment()
        pool = FluidPool(env, ["cpu", "disk"], [2.0, 100.0])
        pool.swaps = swap
        done: list[float] = [np.nan] * len(jobs)

        def chain(i: int, at: float, cpu_s: float, disk: bool) -> None:
            def second() -> None:  # the next piece starts as the first ends (a hand-over)
                pool.start([cpu_s / 2, 5.0 if disk else 0.0], cap=2.0 / cpu_s,
                           on_done=lambda: done.__setitem__(i, env.now))

            env.timeout(at).callbacks.append(
                lambda _e: pool.start([cpu_s, 0.0], cap=1.0 / cpu_s, on_done=second))

        for i, job in enumerate(jobs):
            chain(i, *job)
        env.run()
        return done

    assert run(True) == pytest.approx(run(False), rel=1e-9, abs=1e-12)
