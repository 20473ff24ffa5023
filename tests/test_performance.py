"""The performance model: Felter ratios reproduced, contention and layers monotone."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from virtsim.catalog import Catalog, load_catalog
from virtsim.graph import ResourceGraph, build_graph
from virtsim.performance import (
    Job,
    LayerCost,
    compose,
    layer_cost_names,
    path_costs,
    run_alone,
    share_host,
    slowdown,
)
from virtsim.profiles import HostProfile, LayerCostProfile, WorkloadProfile
from virtsim.scenario import parse_scenario

CATALOG = load_catalog()
HOST = CATALOG.require(HostProfile, "felter-server")


def workload(name: str) -> WorkloadProfile:
    return CATALOG.require(WorkloadProfile, name)


def stack(catalog: Catalog, **host: Any) -> ResourceGraph:
    data = {"name": "perf", "duration_s": 1, "seed": 1,
            "hosts": [{"name": "server", "profile": "felter-server", "kernel": "linux-5.15",
                       **host}]}
    return build_graph(parse_scenario(data, catalog), catalog)


@pytest.fixture(scope="module")
def graph() -> ResourceGraph:
    return stack(CATALOG,
                 vms=[{"name": "tuned", "hypervisor": "kvm", "vmm": "qemu",
                       "disk_image": "ubuntu-24.04-cloud", "pinned": True},
                      {"name": "untuned", "hypervisor": "kvm", "vmm": "qemu",
                       "disk_image": "ubuntu-24.04-cloud"}],
                 containers=[{"name": "nat", "image": "alpine"},
                             {"name": "hostnet", "image": "alpine", "network": "host"},
                             {"name": "gvisor", "image": "alpine", "runtime": "runsc"}])


def test_paths_map_to_layer_costs(graph: ResourceGraph) -> None:
    assert layer_cost_names(graph, "server", CATALOG) == ["native"]
    assert layer_cost_names(graph, "server/tuned", CATALOG) == ["kvm-tuned", "native"]
    assert layer_cost_names(graph, "server/untuned", CATALOG) == ["kvm-untuned", "native"]
    assert layer_cost_names(graph, "server/nat", CATALOG) == ["docker-nat", "runc", "native"]
    assert layer_cost_names(graph, "server/hostnet", CATALOG) == [
        "docker-host-net", "runc", "native"]
    assert layer_cost_names(graph, "server/gvisor", CATALOG) == [
        "docker-nat", "runsc-ptrace", "native"]


def test_nested_container_in_vm_composes() -> None:
    graph = stack(CATALOG, vms=[{"name": "vm", "hypervisor": "kvm", "vmm": "qemu",
                                 "disk_image": "ubuntu-24.04-cloud", "pinned": True,
                                 "containers": [{"name": "c", "image": "alpine"}]}])
    costs = path_costs(graph, "server/vm/c", CATALOG)
    assert costs.layers == ("docker-nat", "runc", "kvm-tuned", "native")
    assert costs.round_trip_us == pytest.approx(37.6 + 30.3 + 37.6)
    assert costs.efficiency["random_access"] == pytest.approx(0.86026 * 0.99782)


# benchmark, native figure, Docker figure, KVM figure (Felter et al. 2014); higher is better
# except netperf-rr, where the figure is a round-trip time.
FELTER = [
    ("linpack", 290.8, 290.9, 284.2, False),
    ("stream", 45.6, 45.6, 45.0, False),
    ("randomaccess", 0.0458, 0.0457, 0.0394, False),
    ("fio-seq-read", 806.9, 806.7, 801.9, False),
    ("fio-rand-read", 84044, 84092, 46173, False),
    ("nuttcp", 9.35, 9.33, 9.29, False),
    ("netperf-rr", 37.6, 2 * 37.6, 67.9, True),
]


@pytest.mark.parametrize(("name", "native", "docker", "kvm", "is_time"), FELTER,
                         ids=[row[0] for row in FELTER])
def test_benchmarks_reproduce_felter_ratios(graph: ResourceGraph, name: str, native: float,
                                            docker: float, kvm: float, is_time: bool) -> None:
    work = workload(name)
    base = path_costs(graph, "server", CATALOG)
    for node, figure in (("server/nat", docker), ("server/tuned", kvm)):
        measured = figure / native if is_time else native / figure
        model = slowdown(work, path_costs(graph, node, CATALOG), HOST, base)
        assert model == pytest.approx(measured, rel=0.05), node


def test_untuned_linpack_ratio(graph: ResourceGraph) -> None:
    base = path_costs(graph, "server", CATALOG)
    costs = path_costs(graph, "server/untuned", CATALOG)
    assert slowdown(workload("linpack"), costs, HOST, base) == pytest.approx(290.8 / 241.3,
                                                                           rel=0.05)


def test_native_benchmarks_match_native_figures() -> None:
    base = compose(CATALOG, ["native"])
    assert run_alone(workload("fio-seq-read"), base, HOST) == pytest.approx(
        10240 * 1.048576 / 806.9, rel=1e-6)
    assert run_alone(workload("netperf-rr"), base, HOST) == pytest.approx(266000 * 37.6e-6)


def test_alone_on_the_host_equals_run_alone() -> None:
    costs = compose(CATALOG, ["kvm-tuned", "native"])
    for name in ("linpack", "fio-rand-read", "netperf-rr"):
        assert share_host([Job(workload(name), costs)], HOST)[0] == pytest.approx(
            run_alone(workload(name), costs, HOST))


def test_two_equal_jobs_on_one_resource_take_twice_as_long() -> None:
    costs = compose(CATALOG, ["native"])
    alone = run_alone(workload("fio-rand-read"), costs, HOST)
    times = share_host([Job(workload("fio-rand-read"), costs)] * 2, HOST)
    assert times == pytest.approx([2 * alone, 2 * alone])


SINGLE = ["linpack", "stream", "randomaccess", "fio-seq-read", "fio-rand-read", "nuttcp",
          "netperf-rr"]
LAYERS = sorted(set(CATALOG.names(LayerCostProfile.kind)) - {"native"})


@settings(max_examples=60, deadline=None)
@given(job=st.sampled_from(SINGLE), neighbours=st.lists(
    st.tuples(st.sampled_from(SINGLE), st.sampled_from(LAYERS),
              st.floats(min_value=0, max_value=200), st.floats(min_value=0.1, max_value=10)),
    min_size=0, max_size=4), extra=st.tuples(st.sampled_from(SINGLE), st.sampled_from(LAYERS),
                                            st.floats(min_value=0, max_value=200)))
def test_a_neighbour_never_speeds_up_a_single_resource_job(
        job: str, neighbours: list[tuple[str, str, float, float]],
        extra: tuple[str, str, float]) -> None:
    native = compose(CATALOG, ["native"])
    jobs = [Job(workload(job), native)]
    jobs += [Job(workload(w), compose(CATALOG, [layer, "native"]), weight, start)
             for w, layer, start, weight in neighbours]
    before = share_host(jobs, HOST)[0]
    w, layer, start = extra
    after = share_host([*jobs, Job(workload(w), compose(CATALOG, [layer, "native"]),
                                   start_s=start)], HOST)[0]
    assert after >= before * (1 - 1e-9)


@settings(max_examples=60, deadline=None)
@given(job=st.sampled_from([*SINGLE, "web-service"]),
       layers=st.lists(st.sampled_from(LAYERS), min_size=1, max_size=4),
       drop=st.integers(min_value=0, max_value=3))
def test_removing_a_layer_never_slows_anything_down(job: str, layers: list[str],
                                                    drop: int) -> None:
    full = compose(CATALOG, [*layers, "native"])
    fewer = compose(CATALOG, [*layers[:drop % len(layers)], *layers[drop % len(layers) + 1:],
                              "native"])
    assert run_alone(workload(job), fewer, HOST) <= run_alone(workload(job), full, HOST) * (
        1 + 1e-12)


def test_layer_costs_compose_multiplicatively() -> None:
    a = LayerCost.of(CATALOG.require(LayerCostProfile, "kvm-tuned"))
    b = LayerCost.of(CATALOG.require(LayerCostProfile, "runc"))
    both = a + b
    assert both.efficiency["random_access"] == pytest.approx(0.86026 * 0.99782)
    assert both.round_trip_us == pytest.approx(30.3)


def test_unknown_hypervisor_has_no_silent_cost() -> None:
    catalog = load_catalog()
    graph = stack(catalog, vms=[{"name": "vb", "hypervisor": "xen",
                                 "disk_image": "ubuntu-24.04-cloud"}])
    vm = next(n for n in graph.nodes("vm"))
    with pytest.raises(KeyError, match="xen"):
        path_costs(graph, vm, catalog)


def test_run_reports_workload_slowdown_per_stack() -> None:
    import virtsim
    from tests.paths import SCENARIOS

    catalog = virtsim.load_catalog()
    scenario = virtsim.load_scenario(SCENARIOS / "felter-benchmarks.toml", catalog)
    rows = {str(r["machine"]): r for r in virtsim.run_scenario(scenario, catalog)
            .table("workloads")}
    assert rows["native"]["slowdown_vs_native"] == 1.0
    assert rows["docker"]["slowdown_vs_native"] == pytest.approx(1.0, abs=0.01)
    assert rows["kvm"]["slowdown_vs_native"] == pytest.approx(290.8 / 284.2, rel=0.01)


def test_foreign_arch_image_runs_emulated_and_four_times_slower(catalog: Catalog) -> None:
    import virtsim
    from virtsim.performance import EMULATOR, compose, layer_cost_names, run_alone
    from virtsim.profiles import HostProfile, WorkloadProfile

    scenario = virtsim.parse_scenario({"hosts": [{
        "name": "mac", "profile": "macbook-arm64", "platform": "docker-desktop-mac",
        "containers": [{"name": "amd64-only", "image": "scratch-static"},
                       {"name": "multi", "image": "alpine"}]}]}, catalog)
    graph = virtsim.build_graph(scenario, catalog)
    assert EMULATOR in layer_cost_names(graph, "mac/docker-desktop/amd64-only", catalog)
    assert EMULATOR not in layer_cost_names(graph, "mac/docker-desktop/multi", catalog)
    host = catalog.require(HostProfile, "felter-server")
    linpack = catalog.require(WorkloadProfile, "linpack")
    ratio = (run_alone(linpack, compose(catalog, ["native", EMULATOR]), host)
             / run_alone(linpack, compose(catalog, ["native"]), host))
    assert ratio == pytest.approx(4.0, rel=0.05)  # Bellard: about 4x on integer code
