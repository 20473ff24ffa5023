"""The performance model: Felter ratios reproduced, contention and layers monotone."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from virtsim.catalog import Catalog, load_catalog
from virtsim.graph import ResourceGraph
from virtsim.performance import (
    Job,
    LayerCost,
    compose,
    layer_cost_names,
    path_costs,
    run_alone,
    serve_alone,
    share_host,
    slowdown,
    workload_metrics,
)
from virtsim.profiles import HostProfile, LayerCostProfile, WorkloadProfile
from virtsim.scenario import parse_scenario
from virtsim.stack import build_graph

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
    import copy

    catalog = copy.deepcopy(load_catalog())  # the loaded catalogue is shared: never mutate it
    del catalog.profiles["layer_costs"]["xen"]
    graph = stack(catalog, vms=[{"name": "vb", "hypervisor": "xen",
                                 "disk_image": "ubuntu-24.04-cloud"}])
    vm = next(n for n in graph.nodes("vm"))
    with pytest.raises(KeyError, match="xen"):
        path_costs(graph, vm, catalog)


def test_an_unplaced_workload_on_a_copied_machine_names_its_own_vm() -> None:
    import copy

    from virtsim.performance import placements

    catalog = copy.deepcopy(load_catalog())
    del catalog.profiles["layer_costs"]["xen"]
    graph = stack(catalog, count=2, vms=[{"name": "vb", "hypervisor": "xen",
                                          "disk_image": "ubuntu-24.04-cloud", "processes": [
                                              {"name": "job", "workload": "linpack"}]}])
    assert graph.copies == {"server-1": "server-0"}
    notes = list(placements(graph, catalog, set(graph.instances())))
    assert [item[:2] for item in notes if isinstance(item, tuple)] == [
        ("server-0/vb/job", "linpack"), ("server-1/vb/job", "linpack")]
    note = str(notes[1][2]) if isinstance(notes[1], tuple) else ""
    assert "server-1/vb" in note and "server-0" not in note


@pytest.mark.parametrize("hypervisor", ["kvm", "xen", "esxi", "qemu-tcg", "virtualbox"])
def test_linux_host_hypervisors_have_a_layer_cost(hypervisor: str) -> None:
    graph = stack(CATALOG, vms=[{"name": "vm", "hypervisor": hypervisor,
                                 "disk_image": "ubuntu-24.04-cloud"}])
    costs = path_costs(graph, "server/vm", CATALOG)
    assert costs.layers[-1] == "native" and len(costs.layers) == 2


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
    emulated, native = compose(catalog, ["native", EMULATOR]), compose(catalog, ["native"])

    def ratio(name: str) -> float:
        job = catalog.require(WorkloadProfile, name)
        return run_alone(job, emulated, host) / run_alone(job, native, host)

    assert ratio("sysbench-cpu") == pytest.approx(4.0, rel=0.05)  # Bellard: 4x on integer code
    assert ratio("linpack") > ratio("sysbench-cpu")  # floating point: softfloat helpers


# -- contention, caps, interference and services (scenario runs) --------------


def run_host(duration_s: float = 3600, **host: Any) -> dict[str, dict[str, Any]]:
    import virtsim

    data = {"name": "perf", "duration_s": duration_s, "seed": 1,
            "hosts": [{"name": "server", "profile": "felter-server", "kernel": "linux-5.15",
                       "cached_images": ["alpine", "ubuntu"], **host}]}
    result = virtsim.run_scenario(parse_scenario(data, CATALOG), CATALOG)
    return {str(r["instance"]): r for r in result.table("workloads")}


def test_a_cgroup_cpu_limit_stretches_a_cpu_job() -> None:
    rows = run_host(containers=[{"name": "c", "image": "ubuntu", "workload": "linpack",
                                 "cpus": 4}])
    row = rows["server/c/linpack"]
    assert row["cpu_limit"] == 4
    assert row["completion_s"] == pytest.approx(3342.6 / 4, rel=1e-6)  # runc costs no CPU


def test_overcommitted_vcpus_share_the_cores() -> None:
    """Two 16-vCPU VMs on 16 cores: each gets 8, less the interference of one neighbour."""
    vm = {"hypervisor": "kvm", "disk_image": "ubuntu-24.04-cloud", "vcpus": 16,
          "pinned": True, "workload": "linpack", "start_at_s": 0}
    rows = run_host(vms=[{"name": "a", **vm}, {"name": "b", **vm}])
    alone = run_alone(workload("linpack"), compose(CATALOG, ["kvm-tuned", "native"]), HOST)
    ratios = [r["completion_s"] / alone for r in rows.values()]
    # Both boot at nearly the same time; the overlap dominates the run.
    assert all(1.9 < ratio < 2.1 for ratio in ratios), ratios


def test_ten_co_located_instances_lose_the_calibrated_23_percent() -> None:
    """Anjali et al. (VEE 2020): about 23% per instance with ten co-located instances."""
    jobs = [Job(workload("stream"), compose(CATALOG, ["native"]))]
    one = share_host(jobs, HOST, compose(CATALOG, ["native"]))[0]
    single_thread = workload("linpack").model_copy(update={"threads": 1, "cpu_core_s": 100.0})
    solo = share_host([Job(single_thread, compose(CATALOG, ["native"]))], HOST,
                      compose(CATALOG, ["native"]))[0]
    ten = share_host([Job(single_thread, compose(CATALOG, ["native"]))] * 10, HOST,
                     compose(CATALOG, ["native"]))
    assert one > 0
    assert solo / ten[0] == pytest.approx(0.77, abs=0.005)


def test_a_service_reports_throughput_and_latency() -> None:
    rows = run_host(duration_s=120, containers=[{"name": "web", "image": "alpine",
                                                 "workload": "web-service"}])
    row = rows["server/web/web-service"]
    assert row["throughput_per_s"] == pytest.approx(1000.0)
    assert row["mean_latency_ms"] < row["p99_latency_ms"]
    native = serve_alone(workload("web-service"), compose(CATALOG, ["native"]), HOST)
    assert row["native_p99_latency_ms"] == pytest.approx(native.p99_latency_s * 1e3)
    assert row["latency_slowdown_vs_native"] > 1.0  # NAT round trip and runc


def test_a_squeezed_service_saturates_and_says_so() -> None:
    rows = run_host(duration_s=120, containers=[{"name": "web", "image": "alpine",
                                                 "workload": "web-service", "cpus": 0.1}])
    row = rows["server/web/web-service"]
    per_request_s = 0.0002 + 20 * 1939e-9  # its CPU work and its system calls, natively
    assert row["throughput_per_s"] == pytest.approx(0.1 / per_request_s, rel=0.01)
    assert row["p99_latency_ms"] is None and "saturated" in row["note"]


@settings(max_examples=25, deadline=None)
@given(jobs=st.lists(st.tuples(st.sampled_from(SINGLE), st.sampled_from(LAYERS),
                               st.floats(min_value=0, max_value=100)), min_size=1, max_size=6))
def test_no_resource_is_used_beyond_its_capacity(jobs: list[tuple[str, str, float]]) -> None:
    import simpy

    from virtsim.performance import MachineLoad, Placement, batch_job

    env = simpy.Environment()
    load = MachineLoad(env, HOST, compose(CATALOG, ["native"]), {"vm": 2.0})
    seen: list[bool] = []
    load.pool.listeners.append(lambda pool: seen.append(bool(
        (pool.usage() <= pool.effective_capacity * (1 + 1e-9)).all()
        and (pool.effective_capacity <= pool.capacity).all())))

    def run(i: int, name: str, layer: str, start: float):  # type: ignore[no-untyped-def]
        yield env.timeout(start)
        groups = {"vm": 2.0} if i % 2 else {}
        yield from batch_job(env, load, Placement(str(i), str(i), "", workload(name),
                                                  compose(CATALOG, [layer, "native"]), groups))

    for i, (name, layer, start) in enumerate([("stream", "native", 0.0), *jobs]):
        env.process(run(i, name, layer, start))
    env.run()
    assert seen and all(seen)


@settings(max_examples=40, deadline=None)
@given(job=st.sampled_from(SINGLE), neighbours=st.lists(
    st.tuples(st.sampled_from(SINGLE), st.sampled_from(LAYERS),
              st.floats(min_value=0, max_value=200)), min_size=0, max_size=3),
       extra=st.tuples(st.sampled_from(SINGLE), st.sampled_from(LAYERS),
                       st.floats(min_value=0, max_value=200)))
def test_a_neighbour_never_speeds_anyone_up_with_interference(
        job: str, neighbours: list[tuple[str, str, float]], extra: tuple[str, str, float]) -> None:
    native = compose(CATALOG, ["native"])
    jobs = [Job(workload(job), native)]
    jobs += [Job(workload(w), compose(CATALOG, [layer, "native"]), start_s=start)
             for w, layer, start in neighbours]
    before = share_host(jobs, HOST, native)[0]
    w, layer, start = extra
    after = share_host([*jobs, Job(workload(w), compose(CATALOG, [layer, "native"]),
                                   start_s=start)], HOST, native)[0]
    assert after >= before * (1 - 1e-9)


def test_bundled_c4_scenario_shows_the_nuance() -> None:
    import virtsim
    from tests.paths import SCENARIOS

    scenario = virtsim.load_scenario(SCENARIOS / "c4-nuance.toml", CATALOG)
    rows = {str(r["machine"]): r for r in virtsim.run_scenario(scenario, CATALOG)
            .table("workloads")}

    def ratio(stack: str, work: str) -> float:
        row = rows[f"{stack}--{work}"]
        return float(row["latency_slowdown_vs_native"] if work == "web-service"
                     else row["slowdown_vs_native"])

    assert ratio("kvm-tuned", "linpack") < 1.05 and ratio("kvm-tuned", "stream") < 1.05
    assert ratio("kvm-tuned", "fio-rand-read") > 1.5 and ratio("kvm-tuned", "netperf-rr") > 1.5
    assert ratio("docker-nat", "netperf-rr") > 1.9 and ratio("docker-host", "netperf-rr") < 1.01
    assert ratio("docker-nat", "linpack") < 1.01
    assert ratio("gvisor", "web-service") > ratio("docker-nat", "web-service")


@settings(max_examples=40, deadline=None)
@given(layers=st.lists(st.sampled_from(LAYERS), min_size=1, max_size=4),
       drop=st.integers(min_value=0, max_value=3), load=st.floats(0.05, 0.9))
def test_removing_a_layer_never_slows_a_service(layers: list[str], drop: int,
                                                load: float) -> None:
    web = workload("web-service")
    web = web.model_copy(update={"arrival_rate_per_s": load * 4 / web.cpu_core_s})
    full = compose(CATALOG, [*layers, "native"])
    fewer = compose(CATALOG, [*layers[:drop % len(layers)], *layers[drop % len(layers) + 1:],
                              "native"])
    slow, fast = serve_alone(web, full, HOST), serve_alone(web, fewer, HOST)
    assert fast.mean_latency_s <= slow.mean_latency_s * (1 + 1e-9)
    assert fast.p99_latency_s <= slow.p99_latency_s * (1 + 1e-9)


def test_a_bind_mount_pays_the_desktop_file_sharing_and_only_there() -> None:
    import virtsim

    scenario = virtsim.parse_scenario({"hosts": [
        {"name": "mac", "profile": "macbook-arm64", "platform": "docker-desktop-mac",
         "containers": [{"name": "bound", "image": "alpine", "bind_mount": True},
                        {"name": "plain", "image": "alpine"}]},
        {"name": "linux", "profile": "laptop",
         "containers": [{"name": "bound", "image": "alpine", "bind_mount": True}]}]}, CATALOG)
    graph = virtsim.build_graph(scenario, CATALOG)
    assert "virtiofs" in layer_cost_names(graph, "mac/docker-desktop/bound", CATALOG)
    assert "virtiofs" not in layer_cost_names(graph, "mac/docker-desktop/plain", CATALOG)
    assert layer_cost_names(graph, "linux/bound", CATALOG) == ["docker-nat", "runc", "native"]
    costs = path_costs(graph, "mac/docker-desktop/bound", CATALOG)
    plain = path_costs(graph, "mac/docker-desktop/plain", CATALOG)
    assert costs.efficiency["disk_seq"] == pytest.approx(plain.efficiency["disk_seq"] / 3,
                                                         rel=0.01)


def test_copied_machines_place_their_workloads_as_the_first_does() -> None:
    from virtsim.performance import placements

    data = {"name": "perf", "duration_s": 1, "seed": 1, "hosts": [
        {"name": "server", "profile": "felter-server", "count": 3,
         "vms": [{"name": "vm", "count": 2, "hypervisor": "kvm", "vmm": "qemu", "vcpus": 2,
                  "disk_image": "ubuntu-24.04-cloud", "processes": [
                      {"name": "job", "workload": "linpack"}]}],
         "containers": [{"name": "c", "image": "alpine", "cpus": 1.5, "workload": "stream"}],
         "processes": [{"name": "idle", "workload": "idle"}]}]}
    graph = build_graph(parse_scenario(data, CATALOG), CATALOG)
    assert graph.copies
    instances = set(graph.instances())
    stamped = list(placements(graph, CATALOG, instances))
    walked = list(placements(ResourceGraph(graph.graph), CATALOG, instances))
    assert stamped == walked
    assert len(stamped) == 3 * 3


def test_a_run_reports_the_same_workloads_with_and_without_copies() -> None:
    import virtsim
    from tests.paths import SCENARIOS
    from virtsim.performance import PerformanceModel
    from virtsim.simulation import Simulation

    scenario = virtsim.load_scenario(SCENARIOS / "c4-nuance.toml", CATALOG)
    scenario = scenario.model_copy(update={"hosts": tuple(
        h.model_copy(update={"count": 2}) for h in scenario.hosts)})
    graph = build_graph(scenario, CATALOG)
    results = []
    for variant in (graph, ResourceGraph(graph.graph)):
        sim = Simulation(scenario, variant, CATALOG, 1)
        model = PerformanceModel()
        model.attach(sim)
        for node in variant.instances():  # every instance ready at once, without a lifecycle
            sim.instances.add(node, variant)
            for state in ("requested", "starting", "ready"):
                sim.instances.move(node, state)  # type: ignore[arg-type]
        sim.env.run(until=scenario.duration_s)
        model.report(sim)
        workload_metrics(sim.result)
        results.append(sim.result)
    assert results[0].tables == results[1].tables
    assert results[0].metrics == results[1].metrics
    assert results[0].metrics["slowdown_vs_native"] or results[0].metrics["service_p99_ms"]
