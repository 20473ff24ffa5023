"""Closed loops: MVA throughput and latency, their monotonicity, and the tail quantile."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from virtsim.closed_loop import Station, response_quantile, solve


def test_one_client_sees_every_demand_once() -> None:
    level = solve([Station("cpu", 0.002, 4), Station("disk", 0.001), Station("wire", 0.0005, 0)],
                  clients=1)
    assert level.mean_latency_s == pytest.approx(0.0035)
    assert level.throughput_per_s == pytest.approx(1 / 0.0035)


def test_many_clients_reach_the_bottleneck_and_latency_follows_littles_law() -> None:
    stations = [Station("cpu", 0.002, 4), Station("disk", 0.001)]
    level = solve(stations, clients=200, think_s=0.01)
    assert level.bottleneck == "disk"
    assert level.throughput_per_s == pytest.approx(1000.0, rel=1e-3)  # disk: 1 / 1 ms
    assert level.clients / level.throughput_per_s == pytest.approx(
        level.mean_latency_s + 0.01)


def test_a_single_exponential_queue_has_the_exponential_tail() -> None:
    assert response_quantile([1.0], [1.0], 0.0, 0.99) == pytest.approx(-math.log(0.01), rel=0.01)
    assert response_quantile([2.0], [2.0], 0.5, 0.5) == pytest.approx(0.5 + 1.678, rel=0.01)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="clients"):
        solve([Station("cpu", 0.001)], clients=0)
    with pytest.raises(ValueError, match="demand"):
        solve([Station("cpu", 0.0)], clients=1)
    with pytest.raises(ValueError, match="demand_s"):
        Station("cpu", -1.0)


demands = st.floats(min_value=1e-6, max_value=1e-2)


@settings(max_examples=60, deadline=None)
@given(cpu=demands, disk=demands, delay=st.floats(min_value=0, max_value=1e-2),
       cores=st.integers(min_value=1, max_value=16), clients=st.integers(min_value=1, max_value=80),
       think=st.floats(min_value=0, max_value=0.05))
def test_more_clients_never_lower_throughput_nor_latency(cpu: float, disk: float, delay: float,
                                                         cores: int, clients: int,
                                                         think: float) -> None:
    stations = [Station("cpu", cpu, cores), Station("disk", disk), Station("wire", delay, 0)]
    fewer, more = solve(stations, clients, think), solve(stations, clients + 1, think)
    assert more.throughput_per_s >= fewer.throughput_per_s * (1 - 1e-12)
    assert more.mean_latency_s >= fewer.mean_latency_s * (1 - 1e-12)
    ceiling = min(cores / cpu, 1 / disk)
    assert more.throughput_per_s <= ceiling * (1 + 1e-9)
    assert more.p99_latency_s >= more.mean_latency_s * (1 - 1e-9) - 1e-15
