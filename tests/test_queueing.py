"""M/M/c response times: textbook values, monotonicity, mixtures."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtsim.queueing import Queue, mixture_quantile


def test_mm1_mean_and_p99_match_the_closed_forms() -> None:
    queue = Queue(arrival_per_s=80.0, capacity_per_s=100.0, servers=1)
    assert queue.wait_probability() == pytest.approx(0.8)
    assert queue.mean_response_s() == pytest.approx(1 / 20)
    assert mixture_quantile([queue], [1.0], 0.99) == pytest.approx(math.log(100) / 20)


def test_erlang_c_for_two_servers_at_half_load() -> None:
    # c = 2, offered load a = 1 Erlang: C = (a^2/2 / (1 - 1/2)) / (1 + a + 1) = 1/3.
    assert Queue(1.0, 2.0, 2).wait_probability() == pytest.approx(1 / 3)


def test_an_overloaded_queue_has_no_steady_latency() -> None:
    queue = Queue(120.0, 100.0, 4)
    assert not queue.stable
    assert queue.mean_response_s() == math.inf
    assert mixture_quantile([queue], [1.0], 0.99) == math.inf


def test_bad_parameters_name_themselves() -> None:
    with pytest.raises(ValueError, match='"capacity_per_s" must be > 0'):
        Queue(1.0, 0.0, 1)
    with pytest.raises(ValueError, match='"servers" must be >= 1'):
        Queue(1.0, 1.0, 0)


@given(load=st.floats(min_value=0.01, max_value=0.95), servers=st.integers(1, 64),
       extra=st.floats(min_value=0.001, max_value=0.04))
def test_more_load_never_lowers_latency(load: float, servers: int, extra: float) -> None:
    light, heavy = Queue(load * 100, 100, servers), Queue((load + extra) * 100, 100, servers)
    assert heavy.mean_response_s() >= light.mean_response_s() * (1 - 1e-12)
    assert (mixture_quantile([heavy], [1.0], 0.99)
            >= mixture_quantile([light], [1.0], 0.99) * (1 - 1e-9))


@given(load=st.floats(min_value=0.0, max_value=0.95), servers=st.integers(1, 32))
def test_p99_is_at_least_the_median_and_survival_is_a_distribution(load: float,
                                                                   servers: int) -> None:
    queue = Queue(load * 50, 50, servers)
    assert queue.survival(0.0) == pytest.approx(1.0)
    assert mixture_quantile([queue], [1], 0.99) >= mixture_quantile([queue], [1], 0.5)


def test_mixture_lies_between_its_parts() -> None:
    fast, slow = Queue(10, 100, 1), Queue(90, 100, 1)
    mixed = mixture_quantile([fast, slow], [1, 1], 0.99)
    assert mixture_quantile([fast], [1], 0.99) < mixed < mixture_quantile([slow], [1], 0.99)
