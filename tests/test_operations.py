"""Operation mixes priced per mechanism: system calls as host CPU, writes at write figures,
per-operation device threads, and layers that never speed anything up."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from virtsim.catalog import load_catalog
from virtsim.layer_costs import LayerCost, compose
from virtsim.operations import CATEGORIES, request_cost
from virtsim.performance import run_alone, serve_alone, service_capacity
from virtsim.profiles import HostProfile, Operation, WorkloadProfile

CATALOG = load_catalog()
HOST = CATALOG.require(HostProfile, "felter-server")
MIXES = [w for w in CATALOG.names("workloads")
         if CATALOG.require(WorkloadProfile, w).operations]
GVISOR = ["runsc-ptrace", "runsc-systrap", "runsc-kvm"]
LAYERS = ["runc", "docker-nat", *GVISOR, "kvm-tuned", "kvm-untuned", "esxi", "hyper-v", "xen",
          "xen-pv", "virtualbox", "vmware-workstation", "apple-vz", "firecracker", "qemu-tcg",
          "qemu-user", "rosetta"]


def mix(name: str = "probe", clients: int = 0, **op: float) -> WorkloadProfile:
    mode = "service" if clients else "batch"
    return WorkloadProfile(name=name, mode=mode, clients=clients, threads=4,
                           operations=(Operation(name="op", source="test", **op),))


def test_the_shipped_workloads_include_every_shape_the_issue_names() -> None:
    assert {"oltp-read-only", "oltp-read-write", "kv-cache", "kv-cache-pipelined", "web-static",
            "web-proxy", "cxx-build", "cpu-batch", "stream-job"} <= set(MIXES)


def test_native_cost_is_the_sum_of_its_parts() -> None:
    native = compose(CATALOG, ["native"])
    cost = request_cost(mix(cpu_us=100, syscalls_cheap=10, syscalls_file=5, round_trips=2),
                        native, HOST)
    assert cost.cpu_s["cpu"] == pytest.approx(100e-6)
    assert cost.cpu_s["syscalls"] == pytest.approx((10 * 236 + 5 * 1200) * 1e-9)
    assert cost.latency_s["network"] == pytest.approx(2 * 37.6e-6)
    assert cost.work[0] == pytest.approx(sum(cost.cpu_s.values()))


def test_a_gvisor_syscall_costs_host_cpu_so_throughput_drops() -> None:
    work = mix(cpu_us=10, syscalls_network=20, clients=64)
    runc = compose(CATALOG, ["runc", "native"])
    ptrace = compose(CATALOG, ["runsc-ptrace", "native"])
    extra = request_cost(work, ptrace, HOST).cpu_s["syscalls"] - request_cost(
        work, runc, HOST).cpu_s["syscalls"]
    assert extra == pytest.approx(20 * 38280e-9, rel=1e-3)  # and the native path at 99.6%
    assert serve_alone(work, ptrace, HOST).throughput_per_s < 0.2 * serve_alone(
        work, runc, HOST).throughput_per_s


def test_platforms_rank_by_interception_cost() -> None:
    work = mix(cpu_us=10, syscalls_cheap=50, clients=16)
    speed = {p: serve_alone(work, compose(CATALOG, [p, "native"]), HOST).throughput_per_s
             for p in GVISOR}
    assert speed["runsc-kvm"] > speed["runsc-systrap"] > speed["runsc-ptrace"]


def test_a_gofer_path_lookup_is_an_ipc_round_trip() -> None:
    ptrace = compose(CATALOG, ["runsc-ptrace", "native"])
    opens = request_cost(mix(file_opens=1), ptrace, HOST).cpu_s["syscalls"]
    assert opens == pytest.approx(221e-6, rel=0.01)  # the IPC round trip; no native share


def test_writes_pay_the_hosts_write_figures_through_the_read_efficiency() -> None:
    writes, reads = mix(disk_write_ops=100_000), mix(disk_read_ops=100_000)
    native = compose(CATALOG, ["native"])
    assert run_alone(writes, native, HOST) == pytest.approx(100_000 / HOST.disk_write_iops)
    assert run_alone(reads, native, HOST) == pytest.approx(100_000 / HOST.disk_read_iops)
    kvm = compose(CATALOG, ["kvm-tuned", "native"])
    device = (request_cost(writes, native, HOST).device_s["io"]
              / request_cost(writes, kvm, HOST).device_s["io"])
    assert device == pytest.approx(59_321 / 112_034, rel=0.05)  # Felter's random writes


def test_felters_round_trips_come_back_from_a_mix() -> None:
    rr = mix(round_trips=1)
    for layers, felter_us in ((["native"], 37.6), (["kvm-tuned", "native"], 67.9),
                              (["docker-nat", "runc", "native"], 75.2)):
        cost = request_cost(rr, compose(CATALOG, layers), HOST)
        assert cost.alone_s * 1e6 == pytest.approx(felter_us, rel=0.05)


def test_firecrackers_device_thread_caps_iops_on_any_host() -> None:
    fio = CATALOG.require(WorkloadProfile, "fio-rand-read")
    big = CATALOG.require(HostProfile, "m5d-metal")
    for host in (HOST, big):
        seconds = run_alone(fio, compose(CATALOG, ["firecracker", "native"]), host)
        assert fio.disk_random_ops / seconds == pytest.approx(1e6 / 76.9, rel=0.01)


def test_emulation_hits_floating_point_harder_and_re_translates_execs() -> None:
    tcg = compose(CATALOG, ["qemu-tcg", "native"])
    integer = request_cost(mix(cpu_us=1000), tcg, HOST).cpu_s["cpu"]
    floating = request_cost(mix(cpu_us=1000, fp_share=1.0), tcg, HOST).cpu_s["cpu"]
    assert floating > integer * 2  # softfloat helpers: Bellard's 10x against 4x
    execs = request_cost(mix(execs=1), tcg, HOST).cpu_s["cpu"]
    assert execs > 10 * request_cost(mix(execs=1), compose(CATALOG, ["native"]), HOST).cpu_s["cpu"]


def test_a_paravirtual_guest_pays_each_syscall_and_a_hardware_one_does_not() -> None:
    calls = mix(syscalls_cheap=1000)
    native = request_cost(calls, compose(CATALOG, ["native"]), HOST).cpu_s["syscalls"]
    pv = request_cost(calls, compose(CATALOG, ["xen-pv", "native"]), HOST).cpu_s["syscalls"]
    hvm = request_cost(calls, compose(CATALOG, ["xen", "native"]), HOST).cpu_s["syscalls"]
    assert pv > 2 * native
    assert hvm == pytest.approx(native / compose(CATALOG, ["xen", "native"]).efficiency["cpu"])


def _speed(workload: WorkloadProfile, costs: LayerCost) -> tuple[float, float]:
    """(throughput or 1/time, latency or time) of a workload through ``costs``."""
    if workload.mode == "batch":
        seconds = run_alone(workload, costs, HOST)
        return 1.0 / seconds, seconds
    level = serve_alone(workload, costs, HOST)
    return level.throughput_per_s, level.mean_latency_s


BASES = [[], ["kvm-tuned"], ["firecracker"], ["runsc-systrap"], ["xen-pv"], ["virtualbox"]]
"""Stacks a layer is added on top of (a container in a VM, an emulator in a sandbox...)."""


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(MIXES), layer=st.sampled_from(LAYERS),
       base=st.sampled_from(BASES))
def test_adding_a_layer_never_speeds_a_workload_up(name: str, layer: str,
                                                   base: list[str]) -> None:
    work = CATALOG.require(WorkloadProfile, name)
    fast_x, fast_t = _speed(work, compose(CATALOG, [*base, "native"]))
    slow_x, slow_t = _speed(work, compose(CATALOG, [layer, *base, "native"]))
    assert slow_x <= fast_x * (1 + 1e-9)
    assert slow_t >= fast_t * (1 - 1e-9)


@settings(max_examples=40, deadline=None)
@given(platform=st.sampled_from(GVISOR), kind=st.sampled_from(
           ["syscalls_cheap", "syscalls_file", "syscalls_network", "syscalls_mmap"]),
       base=st.floats(min_value=0, max_value=50).map(lambda x: round(x, 6)),
       more=st.floats(min_value=0.5, max_value=50),
       clients=st.integers(min_value=1, max_value=64))
def test_more_syscalls_never_run_faster_under_gvisor(platform: str, kind: str, base: float,
                                                     more: float, clients: int) -> None:
    costs = compose(CATALOG, ["docker-nat", platform, "native"])
    fewer = mix(cpu_us=20, round_trips=1, clients=clients, **{kind: base})
    heavier = mix(cpu_us=20, round_trips=1, clients=clients, **{kind: base + more})
    assert service_capacity(heavier, costs, HOST) < service_capacity(fewer, costs, HOST)
    slow, fast = serve_alone(heavier, costs, HOST), serve_alone(fewer, costs, HOST)
    assert slow.throughput_per_s <= fast.throughput_per_s * (1 + 1e-12)
    assert slow.mean_latency_s >= fast.mean_latency_s * (1 - 1e-12)


def test_every_category_is_reported() -> None:
    cost = request_cost(CATALOG.require(WorkloadProfile, "stream-job"),
                        compose(CATALOG, ["docker-nat", "runc", "native"]), HOST)
    assert set(cost.seconds()) == set(CATEGORIES)
    assert all(value > 0 for value in cost.seconds().values())


def run_host(catalog_workloads: list[tuple[str, str, str]], duration_s: float = 60,
             extra: WorkloadProfile | None = None) -> dict[str, dict[str, object]]:
    import virtsim
    from virtsim.scenario import parse_scenario

    catalog = load_catalog()
    if extra is not None:
        catalog.profiles["workloads"][extra.name] = extra
    containers = [{"name": name, "image": "alpine", "workload": workload, "runtime": runtime}
                  for name, workload, runtime in catalog_workloads]
    data = {"name": "mix", "duration_s": duration_s, "seed": 1,
            "hosts": [{"name": "server", "profile": "felter-server", "kernel": "linux-5.15",
                       "cached_images": ["alpine"], "containers": containers}]}
    result = virtsim.run_scenario(parse_scenario(data, catalog), catalog)
    return {str(r["instance"]): r for r in result.table("workloads")}


def test_a_mix_runs_in_a_scenario_and_a_syscall_only_workload_is_not_dropped() -> None:
    only_calls = WorkloadProfile(name="only-syscalls", syscalls=1_000_000)
    rows = run_host([("db", "oltp-read-only", "runc"), ("calls", "only-syscalls", "runsc")],
                    extra=only_calls)
    db = rows["server/db/oltp-read-only"]
    alone = serve_alone(CATALOG.require(WorkloadProfile, "oltp-read-only"),
                        compose(CATALOG, ["docker-nat", "runc", "native"]), HOST)
    assert db["throughput_per_s"] == pytest.approx(alone.throughput_per_s, rel=0.05)
    calls = rows["server/calls/only-syscalls"]
    alone_s = 1_000_000 * (1939 + 36280) * 1e-9  # host CPU: the native path and ptrace's
    assert calls["completion_s"] == pytest.approx(alone_s * (1 + 0.0332), rel=0.01)  # + a neighbour


def test_an_open_loop_beside_greedy_closed_loops_gets_its_fair_share_not_saturation() -> None:
    rows = run_host([("web", "web-static", "runc"), ("cache", "kv-cache", "runc"),
                     ("stream", "stream-job", "runc")])
    stream = rows["server/stream/stream-job"]
    assert stream["throughput_per_s"] == pytest.approx(200.0)
    assert stream["p99_latency_ms"] is not None and "saturated" not in str(stream["note"])
    web = rows["server/web/web-static"]
    alone = serve_alone(CATALOG.require(WorkloadProfile, "web-static"),
                        compose(CATALOG, ["docker-nat", "runc", "native"]), HOST)
    assert float(str(web["throughput_per_s"])) <= alone.throughput_per_s * (1 + 1e-9)


@pytest.mark.parametrize("platform", ["ptrace", "systrap", "kvm"])
def test_a_gvisor_container_pays_its_platforms_trap(platform: str) -> None:
    from virtsim.layer_costs import layer_cost_names
    from virtsim.scenario import parse_scenario
    from virtsim.stack import build_graph

    data = {"name": "g", "duration_s": 1, "seed": 1,
            "hosts": [{"name": "h", "profile": "felter-server", "containers": [
                {"name": "c", "image": "alpine", "runtime": "runsc",
                 "gvisor_platform": platform}]}]}
    graph = build_graph(parse_scenario(data, CATALOG), CATALOG)
    assert layer_cost_names(graph, "h/c", CATALOG) == ["docker-nat", f"runsc-{platform}",
                                                       "native"]
