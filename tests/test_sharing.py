"""Fluid sharing: max-min fairness invariants and SimPy timing."""

from __future__ import annotations

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
