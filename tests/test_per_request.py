"""Per-request mode agrees with the fluid model's M/M/c latency."""

from __future__ import annotations

import numpy as np
import pytest

from virtsim.catalog import load_catalog
from virtsim.layer_costs import compose
from virtsim.per_request import simulate_requests
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
