"""Tests for virtsim.footprint: attribution, sharing, monotonicity and density."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virtsim.catalog import Catalog
from virtsim.footprint import Footprint, density, footprint
from virtsim.graph import ResourceGraph
from virtsim.profiles import (
    DiskImageProfile,
    EngineProfile,
    HostProfile,
    ImageProfile,
    KernelProfile,
    ResidencyProfile,
)
from virtsim.stack import build_graph

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def fp_of(data: dict[str, Any], catalog: Catalog, **kw: Any) -> Footprint:
    from virtsim.scenario import parse_scenario

    return footprint(build_graph(parse_scenario(data, catalog), catalog), **kw)


def host(**kw: Any) -> dict[str, Any]:
    return {"hosts": [{"name": "h", "profile": "m5d-metal", **kw}]}


def containers(n: int, image: str = "alpine", runtime: str = "runc",
               writable: float = 0.0) -> dict[str, Any]:
    return {"name": f"c{runtime}{image}", "image": image, "count": n, "runtime": runtime,
            "writable_mib": writable}


def vm(n: int = 1, **kw: Any) -> dict[str, Any]:
    return {"name": kw.pop("name", "v"), "count": n, "hypervisor": "kvm",
            "disk_image": "ubuntu-24.04-cloud", "memory_mib": 2048, **kw}


def check_invariants(fp: Footprint) -> None:
    for machine, totals in fp.per_host.items():
        mine = [r for r in fp.records if r["machine"] == machine]
        assert totals["memory_mib"] == pytest.approx(sum(r["memory_mib"] for r in mine))
        assert totals["disk_mib"] == pytest.approx(sum(r["disk_mib"] for r in mine))
        assert totals["memory_mib"] >= 0 and totals["disk_mib"] >= 0
    for totals in fp.per_instance.values():
        assert totals["memory_mib"] >= -1e-9 and totals["disk_mib"] >= -1e-9
    for r in fp.records:
        assert r["disk_mib"] >= 0
        assert set(r) >= {"machine", "node", "kind", "item", "memory_mib", "disk_mib",
                          "shared", "instance"}


def test_alpine_container_is_mb_scale_and_ubuntu_vm_gb_scale(catalog: Catalog) -> None:
    fp = fp_of(host(containers=[containers(1)], vms=[vm(memory_mib=4096)]), catalog)
    check_invariants(fp)
    c = fp.per_instance["h/cruncalpine"]
    assert 1 <= c["memory_mib"] < 50 and c["disk_mib"] < 50
    v = fp.per_instance["h/v"]
    assert 500 <= v["memory_mib"] <= 4096  # what the guest touched, not its 4 GiB
    assert v["disk_mib"] >= 100


def test_shared_items_counted_once_and_not_per_instance(catalog: Catalog) -> None:
    fp = fp_of(host(containers=[containers(3)]), catalog)
    items = [r["item"] for r in fp.records]
    assert items.count("host kernel") == 1
    assert items.count("engine daemon") == 1
    assert items.count("layer sha256:alpine-3.22-base") == 1
    shared = [r for r in fp.records if r["shared"]]
    assert all(r["instance"] == "" for r in shared)
    total_instances = sum(v["memory_mib"] for v in fp.per_instance.values())
    assert total_instances < fp.per_host["h"]["memory_mib"]


def test_nginx_alpine_shares_alpine_base_layer(catalog: Catalog) -> None:
    fp = fp_of(host(containers=[containers(1), containers(1, image="nginx-alpine")]), catalog)
    layers = [r for r in fp.records if r["item"].startswith("layer ")]
    assert len(layers) == 2


def test_gvisor_memory_is_runtime_plus_sentry(catalog: Catalog) -> None:
    fp = fp_of(host(containers=[containers(2, runtime="runsc")]), catalog)
    sentries = [r for r in fp.records if r["item"] == "sandbox kernel"]
    assert len(sentries) == 2
    inst = fp.per_instance["h/crunscalpine-0"]["memory_mib"]
    state = catalog.require(EngineProfile, "docker").state_memory_per_container_mib
    assert inst == pytest.approx(3.9 + 18.7 + 1.0 + state)


def test_kata_runtime_memory_is_on_host(catalog: Catalog) -> None:
    fp = fp_of(host(containers=[{"name": "k", "image": "alpine", "runtime": "kata",
                                 "engine": "containerd"}]), catalog)
    check_invariants(fp)
    runtime = next(r for r in fp.records if r["item"] == "runtime per container")
    assert runtime["guest"] == ""
    assert fp.guests["h/k/sandbox"]["allocated_mib"] == 2048


def test_resident_is_what_the_guest_touched_not_its_configured_ram(catalog: Catalog) -> None:
    small = fp_of(host(vms=[vm(memory_mib=2048)]), catalog)
    big = fp_of(host(vms=[vm(memory_mib=8192)]), catalog)
    kernel = catalog.require(KernelProfile, "linux-5.15-generic-guest")
    image = catalog.require(DiskImageProfile, "ubuntu-24.04-cloud")
    boot_reads = sum(s.read_mib for s in (*kernel.boot, *image.boot))
    touched = kernel.memory_mib + image.idle_memory_mib + boot_reads
    for fp in (small, big):
        assert fp.guests["h/v"]["resident_mib"] == pytest.approx(touched)
        assert fp.guests["h/v"]["page_cache_mib"] == pytest.approx(boot_reads)
    assert small.per_host["h"]["memory_mib"] == pytest.approx(big.per_host["h"]["memory_mib"])
    assert big.guests["h/v"]["allocated_mib"] == 8192


def test_balloon_gives_back_the_page_cache(catalog: Catalog) -> None:
    ballooned = fp_of(host(vms=[vm(memory_mib=8192, balloon=True)]), catalog)
    plain = fp_of(host(vms=[vm(memory_mib=8192)]), catalog)
    cache = plain.guests["h/v"]["page_cache_mib"]
    assert ballooned.guests["h/v"]["resident_mib"] == pytest.approx(
        plain.guests["h/v"]["resident_mib"] - cache)
    residency = catalog.require(ResidencyProfile, "linux")
    young = fp_of(host(vms=[vm(memory_mib=8192, balloon=True)]), catalog, age_s=0.0,
                  residency=residency)
    assert young.guests["h/v"]["resident_mib"] == pytest.approx(
        plain.guests["h/v"]["resident_mib"])
    with pytest.raises(ValueError):
        fp_of(host(vms=[vm()]), catalog, age_s=-1.0)


def test_windows_guest_touches_all_its_ram_until_pages_are_reported(catalog: Catalog) -> None:
    win = {"disk_image": "windows-server-2022-core", "memory_mib": 4096}
    zeroed = fp_of(host(vms=[vm(**win)]), catalog)
    reported = fp_of(host(vms=[vm(**win, free_page_reporting=True)]), catalog)
    assert zeroed.guests["h/v"]["resident_mib"] == 4096
    assert reported.guests["h/v"]["resident_mib"] < 2048
    assert any(r["item"] == "guest RAM zeroed at boot" for r in zeroed.records)


def test_ksm_merges_guest_kernel_and_idle(catalog: Catalog) -> None:
    plain = fp_of(host(vms=[vm(4)]), catalog)
    ksm = fp_of(host(ksm=True, vms=[vm(4)]), catalog)
    check_invariants(ksm)
    merged = [r for r in ksm.records if "KSM-merged" in r["item"] and r["shared"]]
    assert len(merged) == 2
    saved = plain.per_host["h"]["memory_mib"] - ksm.per_host["h"]["memory_mib"]
    base = sum(r["memory_mib"] for r in merged)
    assert saved == pytest.approx(3 * base)


def test_ksm_merges_over_time_at_its_scan_rate(catalog: Catalog) -> None:
    residency = catalog.require(ResidencyProfile, "linux")
    plain = fp_of(host(vms=[vm(20)]), catalog)
    at = [fp_of(host(ksm=True, vms=[vm(20)]), catalog, age_s=t, residency=residency)
          .per_host["h"]["memory_mib"] for t in (0.0, 600.0, 1200.0, 3600.0)]
    assert at[0] == pytest.approx(plain.per_host["h"]["memory_mib"])  # first pass: nothing yet
    assert at[0] >= at[1] >= at[2] >= at[3]
    assert at[3] < at[0]


def test_linked_clone_shares_backing_file(catalog: Catalog) -> None:
    full = fp_of(host(vms=[vm(3)]), catalog)
    linked = fp_of(host(vms=[vm(3, clone="linked")]), catalog)
    image = catalog.require(DiskImageProfile, "ubuntu-24.04-cloud")
    file_mib, overlay_mib = image.file_mib, image.linked_overlay_mib
    assert full.per_host["h"]["disk_mib"] == pytest.approx(3 * file_mib)
    assert linked.per_host["h"]["disk_mib"] == pytest.approx(file_mib + 3 * overlay_mib)


def test_guest_clamp_when_inside_exceeds_allocation(catalog: Catalog) -> None:
    fp = fp_of(host(vms=[vm(memory_mib=256, containers=[containers(50)])]), catalog)
    check_invariants(fp)
    assert fp.guests["h/v"]["resident_mib"] == 256


@SETTINGS
@given(n=st.integers(1, 12), writable=st.floats(0, 100).map(lambda x: round(x, 6)))
def test_layer_stored_once_per_host(catalog: Catalog, n: int, writable: float) -> None:
    fp = fp_of(host(containers=[containers(n, writable=writable)]), catalog)
    layer = catalog.require(ImageProfile, "alpine").size_mib
    assert fp.per_host["h"]["disk_mib"] == pytest.approx(layer + n * writable)
    assert sum(r["item"] == "host kernel" for r in fp.records) == 1


scenario_parts = st.fixed_dictionaries({
    "runc": st.integers(0, 4),
    "runsc": st.integers(0, 3),
    "vms": st.integers(0, 3),
    "in_vm": st.integers(0, 3),
    "memory": st.sampled_from([256, 1024, 4096]),
    "ksm": st.booleans(),
    "balloon": st.booleans(),
    "clone": st.sampled_from(["full", "linked"]),
    "writable": st.floats(0, 50).map(lambda x: round(x, 6)),
})


def build(p: dict[str, Any]) -> dict[str, Any]:
    cs = [containers(p[r], runtime=r, writable=p["writable"]) for r in ("runc", "runsc") if p[r]]
    vms = []
    if p["vms"]:
        inner = [containers(p["in_vm"])] if p["in_vm"] else []
        vms = [vm(p["vms"], memory_mib=p["memory"], balloon=p["balloon"], clone=p["clone"],
                  containers=inner)]
    return host(ksm=p["ksm"], containers=cs, vms=vms)


@SETTINGS
@given(p=scenario_parts, age=st.floats(0, 1e5).map(lambda x: round(x, 6)))
def test_never_negative_and_host_equals_records(catalog: Catalog, p: dict[str, Any],
                                                age: float) -> None:
    fp = fp_of(build(p), catalog, age_s=age, residency=catalog.require(ResidencyProfile, "linux"))
    check_invariants(fp)
    for guest in fp.guests.values():  # resident never exceeds committed
        assert guest["resident_mib"] <= guest["allocated_mib"] + 1e-6


@SETTINGS
@given(p=scenario_parts, which=st.sampled_from(["runc", "runsc", "vms", "in_vm"]))
def test_adding_an_instance_never_shrinks_host(catalog: Catalog, p: dict[str, Any],
                                               which: str) -> None:
    before = fp_of(build(p), catalog).per_host["h"]
    p2 = {**p, which: p[which] + 1}
    after = fp_of(build(p2), catalog).per_host["h"]
    assert after["memory_mib"] >= before["memory_mib"] - 1e-6
    assert after["disk_mib"] >= before["disk_mib"] - 1e-6


def test_density_names_binding_limit(catalog: Catalog) -> None:
    h = catalog.require(HostProfile, "m5d-metal")
    threads = h.cores * h.threads_per_core
    d = density(h, per_instance_memory_mib=h.memory_gib * 1024, per_instance_vcpus=1,
                per_instance_disk_mib=1)
    assert d.count == 1 and d.binding == "memory"
    d = density(h, 1, 1, 0)
    assert d.count == threads and d.binding == "cpu"
    d = density(h, 1, 1, 0, cpu_overcommit=4.0)
    assert d.count == 4 * threads
    d = density(h, 0, 0, h.disk_gib * 1024 / 2, shared_disk_mib=1)
    assert d.count == 1 and d.binding == "disk"
    d = density(h, 100, 0, 0, shared_memory_mib=h.memory_gib * 1024 + 1)
    assert d.count == 0
    with pytest.raises(ValueError):
        density(h, 0, 0, 0)


def test_density_counts_committed_and_resident_memory_apart(catalog: Catalog) -> None:
    h = catalog.require(HostProfile, "m5d-metal")
    memory = h.memory_gib * 1024
    strict = density(h, 500, 0, 0, per_instance_committed_mib=2048)
    assert strict.count == int(memory // 2048) and strict.binding == "memory"
    loose = density(h, 500, 0, 0, per_instance_committed_mib=2048, memory_overcommit=100.0)
    assert loose.count == int(memory // 500)
    with pytest.raises(ValueError):
        density(h, 1, 1, 1, memory_overcommit=0.5)


def test_density_table_reports_both_counts(catalog: Catalog) -> None:
    import virtsim
    from virtsim.scenario import parse_scenario

    spec = parse_scenario(host(vms=[vm(2, memory_mib=4096)]), catalog)
    row = virtsim.run_scenario(spec, catalog).table("density")[0]
    assert row["count_committed"] < row["count_resident"]
    assert row["count"] == min(row["count_committed"], 48)  # 1 vCPU each on 48 cores
    assert float(row["committed_mib"]) > float(row["memory_mib"])  # type: ignore[arg-type]


def test_copied_machines_get_the_same_records_as_walked_ones(catalog: Catalog) -> None:
    from virtsim.scenario import parse_scenario

    first = {"name": "h", "profile": "m5d-metal", "count": 3, "ksm": True,
             "vms": [vm(2, containers=[containers(2)])],
             "containers": [containers(3, runtime="kata")]}
    other = {"name": "g", "profile": "m5d-metal", "count": 2,
             "containers": [containers(2, runtime="runsc", writable=5.0)]}
    graph = build_graph(parse_scenario({"hosts": [first, other]}, catalog), catalog)
    assert set(graph.copies) == {"h-1", "h-2", "g-1"}
    stamped, walked = footprint(graph), footprint(ResourceGraph(graph.graph))
    assert stamped.records == walked.records
    assert stamped.per_instance == walked.per_instance
    assert list(stamped.per_instance) == list(walked.per_instance)
    assert stamped.per_host == walked.per_host
    assert stamped.guests == walked.guests


def test_copied_machines_report_the_same_tables_as_walked_ones(catalog: Catalog) -> None:
    from virtsim.footprint import FootprintModel, footprint_metrics
    from virtsim.scenario import parse_scenario
    from virtsim.simulation import Simulation

    scenario = parse_scenario({"hosts": [
        {"name": "h", "profile": "m5d-metal", "count": 3, "vms": [vm(2, vcpus=2)],
         "containers": [containers(3)], "processes": [{"name": "p", "workload": "linpack"}]},
        {"name": "g", "profile": "m5d-metal", "count": 2, "containers": [containers(1)]},
        {"name": "bare", "profile": "m5d-metal", "count": 2}]}, catalog)
    graph = build_graph(scenario, catalog)
    stamped = Simulation(scenario, graph, catalog, 1)
    walked = Simulation(scenario, ResourceGraph(graph.graph), catalog, 1)
    for sim in (stamped, walked):
        FootprintModel().report(sim)
        footprint_metrics(sim.result)
    assert stamped.result.tables == walked.result.tables
    assert stamped.result.metrics == walked.result.metrics
    assert stamped.result.metrics["density"] and stamped.result.metrics["footprint_mib"]
    assert [r["machine"] for r in stamped.result.table("density")][:3] == ["h-0", "h-0", "h-1"]


def _rows(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(sorted(r.items())) for r in records)


def test_whichever_identical_machine_is_the_template_the_results_are_the_same(
        catalog: Catalog) -> None:
    """A partition may meet a host group's machines in another order: the template is then
    another machine, and every per-machine result must not change (rows may move)."""
    from virtsim.footprint import FootprintModel, footprint_metrics
    from virtsim.scenario import parse_scenario
    from virtsim.simulation import Simulation
    from virtsim.templates import Templates

    scenario = parse_scenario({"hosts": [
        {"name": "h", "profile": "m5d-metal", "count": 3, "ksm": True,
         "vms": [vm(2, containers=[containers(2)])], "containers": [containers(3, "nginx-alpine"),
                                                                   containers(1, runtime="kata")]},
        {"name": "g", "profile": "m5d-metal", "count": 2, "processes": [
            {"name": "p", "workload": "linpack"}]}]}, catalog)
    graph = build_graph(scenario, catalog)
    assert graph.copies == {"h-1": "h-0", "h-2": "h-0", "g-1": "g-0"}
    other = ResourceGraph(graph.graph, copies={"h-0": "h-2", "h-1": "h-2", "g-0": "g-1"})
    templates = Templates(other)
    usual, turned = footprint(graph), footprint(other, templates=templates)
    assert templates.computed == 2  # one machine per host group was walked
    assert _rows(usual.records) == _rows(turned.records)
    assert usual.per_instance == turned.per_instance
    assert usual.per_host == turned.per_host
    assert usual.guests == turned.guests
    runs = [Simulation(scenario, g, catalog, 1) for g in (graph, other)]
    for sim in runs:
        FootprintModel().report(sim)
        footprint_metrics(sim.result)
    for table in ("footprint", "instance_footprint", "host_footprint", "density"):
        assert _rows(runs[0].result.table(table)) == _rows(runs[1].result.table(table))
    assert runs[0].result.metrics == runs[1].result.metrics
    assert runs[0].result.metrics["density"]


def _page_cache(fp: Footprint, machine: str = "h") -> list[dict[str, Any]]:
    return [r for r in fp.records if r["machine"] == machine and r["reclaimable"]]


@SETTINGS
@given(alpine=st.integers(0, 12), nginx=st.integers(1, 12))
def test_shared_things_counted_once_the_page_cache_of_shared_layers_too(
        catalog: Catalog, alpine: int, nginx: int) -> None:
    """Containers that share a layer share its page cache: one reclaimable host record per
    layer digest and per workload, however many containers read them."""
    residency = catalog.require(ResidencyProfile, "linux")
    data = host(containers=[{**containers(alpine, "alpine"), "count": max(alpine, 1)},
                            {"name": "web", "image": "nginx-alpine", "count": nginx,
                             "workload": "nginx"}])
    fp = fp_of(data, catalog, residency=residency)
    cached = _page_cache(fp)
    items = [r["item"] for r in cached]
    assert sorted(items) == sorted({*items})  # each once
    alpine_layer = catalog.require(ImageProfile, "alpine").layers[0].size_mib
    nginx_layer = catalog.require(ImageProfile, "nginx-alpine").layers[1].size_mib
    from virtsim.profiles import WorkloadProfile
    nginx_files = sum(s.read_mib for s in catalog.require(WorkloadProfile, "nginx").start)
    expected = (alpine_layer + nginx_layer) * residency.image_read_at_start + nginx_files
    assert sum(r["memory_mib"] for r in cached) == pytest.approx(expected)
    assert fp.per_host["h"]["page_cache_mib"] == pytest.approx(expected)
    assert all(r["shared"] and r["instance"] == "" for r in cached)
    without = fp_of(data, catalog)  # no residency profile: no page cache counted
    assert _page_cache(without) == []
    assert fp.per_instance == without.per_instance  # shared: in no instance's total
    assert fp.per_host["h"]["memory_mib"] == pytest.approx(
        without.per_host["h"]["memory_mib"] + expected)


def test_files_read_inside_a_vm_join_its_guest_page_cache(catalog: Catalog) -> None:
    residency = catalog.require(ResidencyProfile, "linux")
    plain = fp_of(host(vms=[vm()]), catalog, residency=residency)
    inside = fp_of(host(vms=[vm(containers=[containers(3, "debian")])]), catalog,
                   residency=residency)
    layers = sum(layer.size_mib for layer in catalog.require(ImageProfile, "debian").layers)
    grown = inside.guests["h/v"]["page_cache_mib"] - plain.guests["h/v"]["page_cache_mib"]
    assert grown == pytest.approx(layers * residency.image_read_at_start)  # once, not 3 times
    assert _page_cache(inside) == []  # the guest holds it, not the host's page cache


def test_the_hosts_page_cache_is_reported_apart_and_limits_no_density(catalog: Catalog) -> None:
    import virtsim

    spec = virtsim.parse_scenario({"duration_s": 10, "hosts": [
        {"name": "h", "profile": "m5d-metal", "cached_images": ["nginx-alpine"],
         "containers": [{"name": "web", "image": "nginx-alpine", "count": 4,
                         "workload": "nginx"}]}]}, catalog)
    result = virtsim.run_scenario(spec, catalog)
    row = result.table("host_footprint")[0]
    page_cache = float(row["page_cache_mib"])  # type: ignore[arg-type]
    assert page_cache > 0
    assert float(row["anonymous_mib"]) + page_cache == pytest.approx(  # type: ignore[arg-type]
        float(row["memory_mib"]))  # type: ignore[arg-type]
    reclaimable = [r for r in result.table("footprint") if r["reclaimable"]]
    assert sum(float(r["memory_mib"]) for r in reclaimable) == pytest.approx(  # type: ignore[arg-type]
        page_cache)
    fit = result.table("density")[0]
    assert fit["page_cache_mib"] == pytest.approx(page_cache)
    h = catalog.require(HostProfile, "m5d-metal")
    shared = float(row["anonymous_mib"]) - 4 * float(fit["memory_mib"])  # type: ignore[arg-type]
    by_memory = density(h, float(fit["memory_mib"]), 0.0, 0.0,  # type: ignore[arg-type]
                        shared_memory_mib=shared).count
    assert fit["count_resident"] == by_memory
