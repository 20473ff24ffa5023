"""Per-request mode agrees with the fluid model's M/M/c latency."""

from __future__ import annotations

import numpy as np
import pytest

from virtsim.catalog import load_catalog
from virtsim.closed_loop import Station, solve
from virtsim.layer_costs import compose
from virtsim.per_request import simulate_closed_loop, simulate_requests
from virtsim.performance import serve_alone, service_capacity
from virtsim.profiles import HostProfile, WorkloadProfile

CATALOG = load_catalog()
HOST = CATALOG.require(HostProfile, "felter-server")


@pytest.mark.parametrize(("layers", "load", "cpus"), [
    (["native"], 0.5, float("inf")),
    (["docker-nat", "runc", "native"], 0.8, float("inf")),
    (["kvm-tuned", "native"], 0.7, 1.0),
])
def test_request_by_request_matches_the_queueing_formula(layers: list[str], load: float,
                                                         cpus: float) -> None:
    web = CATALOG.require(WorkloadProfile, "web-service")
    costs = compose(CATALOG, layers)
    capacity = service_capacity(web, costs, HOST, cpus)  # CPU work and system calls
    web = web.model_copy(update={"arrival_rate_per_s": load * capacity})
    log = simulate_requests(web, costs, HOST, 150_000, np.random.default_rng(7), cpus)
    level = serve_alone(web, costs, HOST, cpus)
    assert log.mean_s == pytest.approx(level.mean_latency_s, rel=0.05)
    assert log.quantile_s(0.99) == pytest.approx(level.p99_latency_s, rel=0.08)


def test_the_same_seed_gives_the_same_requests() -> None:
    web = CATALOG.require(WorkloadProfile, "web-service")
    costs = compose(CATALOG, ["native"])
    runs = [simulate_requests(web, costs, HOST, 500, np.random.default_rng(3)).latencies_s
            for _ in range(2)]
    assert np.array_equal(*runs)


def test_bad_request_counts_are_refused() -> None:
    web = CATALOG.require(WorkloadProfile, "web-service")
    with pytest.raises(ValueError, match='"requests" must be >= 1'):
        simulate_requests(web, compose(CATALOG, ["native"]), HOST, 0, np.random.default_rng(1))


@pytest.mark.parametrize(("cores", "clients", "rel"), [
    (1, 1, 0.03), (1, 4, 0.03), (1, 32, 0.03),  # product form: MVA is exact
    (4, 2, 0.08), (4, 8, 0.08), (4, 64, 0.08),  # Seidmann: pessimistic by up to ~7% mid-load
])
def test_a_closed_loop_request_by_request_matches_mean_value_analysis(
        cores: int, clients: int, rel: float) -> None:
    stations = [Station("cpu", 0.002 * cores, cores), Station("disk", 0.001),
                Station("wire", 0.003, 0)]
    throughput, log = simulate_closed_loop(stations, clients, 0.001, 40_000,
                                           np.random.default_rng(11))
    level = solve(stations, clients, 0.001)
    assert throughput == pytest.approx(level.throughput_per_s, rel=rel)
    assert log.mean_s == pytest.approx(level.mean_latency_s, rel=rel)
    assert log.quantile_s(0.99) == pytest.approx(level.p99_latency_s, rel=0.1)
