"""Tests for virtsim.demand and the density it feeds: a host is full when its CPU is."""

from __future__ import annotations

import pytest

from virtsim.catalog import Catalog
from virtsim.demand import instance_demand, machine_capacity, native_cost
from virtsim.footprint import density
from virtsim.graph import build_graph
from virtsim.profiles import HostProfile, WorkloadProfile
from virtsim.scenario import parse_scenario


def graph_of(catalog: Catalog, **group: object) -> object:
    scenario = parse_scenario({"hosts": [{"name": "h", "profile": "m5d-metal", "containers": [
        {"name": "c", "image": "alpine", "network": "host", **group}]}]}, catalog)
    return build_graph(scenario, catalog)


def test_a_service_asks_its_rate_times_its_work_through_its_layers(catalog: Catalog) -> None:
    graph = graph_of(catalog, workload="nginx")
    nginx = catalog.require(WorkloadProfile, "nginx")
    cpu = instance_demand(graph, catalog, "h/c")[0]  # type: ignore[arg-type]
    from virtsim.layer_costs import path_costs
    from virtsim.performance import effective_work

    costs = path_costs(graph, "h/c/nginx", catalog)  # type: ignore[arg-type]
    assert cpu == pytest.approx(nginx.arrival_rate_per_s * effective_work(nginx, costs)[0])
    assert cpu >= nginx.arrival_rate_per_s * nginx.cpu_core_s  # layers never make work cheaper


def test_a_cpu_bound_batch_job_asks_its_threads_or_its_cap(catalog: Catalog) -> None:
    graph = graph_of(catalog, workload="sysbench-cpu")
    assert instance_demand(graph, catalog, "h/c")[0] == pytest.approx(1.0)  # type: ignore[arg-type]
    capped = graph_of(catalog, workload="linpack", cpus=4.0)
    assert instance_demand(capped, catalog, "h/c")[0] == pytest.approx(4.0)  # type: ignore[arg-type]


def test_an_idle_instance_asks_nothing(catalog: Catalog) -> None:
    assert not instance_demand(graph_of(catalog, workload="idle"), catalog, "h/c").any()  # type: ignore[arg-type]
    assert not instance_demand(graph_of(catalog), catalog, "h/c").any()  # type: ignore[arg-type]


def test_density_counts_cpu_demand_where_memory_alone_would_fit_thousands(
        catalog: Catalog) -> None:
    host = catalog.require(HostProfile, "m5d-metal")
    capacity = machine_capacity(host, native_cost(catalog))
    by_memory = density(host, 16.0, 0.0, 1.0)
    assert by_memory.binding == "memory" and by_memory.count > 20_000
    demand = [0.2, 0.0, 0.0, 0.0, 0.0, 0.0]
    fit = density(host, 16.0, 0.0, 1.0, demand=demand, capacity=capacity)
    assert fit.binding == "cpu-demand"
    factor = capacity.factor(fit.count)
    assert fit.count * 0.2 <= host.cores * factor + 1e-9  # it fits ...
    # ... and one more does not
    assert (fit.count + 1) * 0.2 > host.cores * capacity.factor(fit.count + 1)
    with pytest.raises(ValueError):
        density(host, 16.0, 0.0, 1.0, demand=demand)


def test_the_run_density_table_counts_demand_and_what_is_placed(catalog: Catalog) -> None:
    from virtsim.run import run_scenario

    scenario = parse_scenario({"duration_s": 1, "hosts": [{
        "name": "h", "profile": "m5d-metal", "cached_images": ["alpine"], "containers": [
            {"name": "web", "count": 3, "image": "alpine", "workload": "web-service"}]}]},
        catalog)
    row = run_scenario(scenario, catalog).table("density")[0]
    assert row["binding"] == "cpu-demand" and row["placed"] == 3
    assert 100 < row["count"] < 300  # 0.2 cores each on 48 cores, less cache interference
