"""Tests for virtsim.planning: every option worked out, the choice meets its constraints."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.paths import ROOT
from tests.test_cli import virtsim
from virtsim.catalog import Catalog
from virtsim.planning import PlanResult, plan
from virtsim.profiles import HostProfile

PLANS = ROOT / "experiments" / "plans"


def a_plan(count: int = 20, technologies: tuple[str, ...] = ("container", "vm"),
           **constraints: Any) -> dict[str, Any]:
    return {"name": "t", "hosts": ["m5d-metal"], "technologies": list(technologies),
            "workloads": [{"name": "web", "workload": "nginx", "count": count,
                           "image": "nginx-alpine", "vm": {"vcpus": 2, "memory_mib": 4096}},
                          {"name": "db", "workload": "postgres-oltp", "count": max(count // 10, 1),
                           "image": "debian", "limits": {"cpus": 8, "memory_mib": 32768}}],
            "constraints": constraints}


def meets(result: PlanResult) -> None:
    chosen = result.chosen
    assert chosen is not None and not chosen.broken
    limits = result.plan.constraints
    assert chosen.hosts > 0
    if limits.cold_start_s is not None:
        assert chosen.cold is not None and chosen.cold.estimate_s <= limits.cold_start_s
    if limits.warm_start_s is not None:
        assert chosen.warm is not None and chosen.warm.estimate_s <= limits.warm_start_s
    if limits.blast_radius is not None:
        assert chosen.blast_share is not None and chosen.blast_share <= limits.blast_radius
    if limits.p99_latency_ms is not None:
        assert all(g.performance.p99_ms is None or g.performance.p99_ms <= limits.p99_latency_ms
                   for g in chosen.groups)
    assert not any(g.performance.saturated for g in chosen.groups)


@pytest.mark.parametrize("name", sorted(p.name for p in PLANS.glob("*.toml")))
def test_every_example_plan_chooses_an_option_that_meets_its_constraints(
        catalog: Catalog, name: str) -> None:
    result = plan(PLANS / name, catalog)
    meets(result)
    cheaper = [o for o in result.options if not o.broken and o.hosts < result.chosen.hosts
               and (o.cost_per_hour or 0) < (result.chosen.cost_per_hour or math.inf)]
    assert not cheaper
    for option in result.options:
        assert result.verdicts[option.name]


def test_the_answer_comes_from_the_models(catalog: Catalog) -> None:
    result = plan(a_plan(50), catalog)
    by = {o.technology: o for o in result.options}
    assert by["vm"].groups[0].member.vcpus == 2  # the VM reserves its vCPUs
    assert by["vm"].groups[0].member.memory_mib > 4096  # commits its RAM plus the VMM's
    assert by["vm"].groups[0].member.resident_mib < 4096  # holds what its guest touched
    assert by["container"].groups[0].member.resident_mib < 100
    assert by["container"].groups[0].alone[0] > 10 * by["vm"].groups[0].alone[0]
    assert by["vm"].cold.estimate_s > 2 * by["container"].cold.estimate_s  # a guest boots
    assert by["vm"].groups[0].member.placement.costs.layers[0] == "kvm-untuned"
    hosts = by["vm"].hosts
    assert by["vm"].lost["host"] == by["vm"].packing.density
    assert by["vm"].lost["hypervisor"] == by["vm"].packing.density  # KVM: all of a host's VMs
    assert by["container"].lost["hypervisor"] is None  # no hypervisor under containers
    assert hosts >= 2


def test_density_alone_agrees_with_the_run_density_table(catalog: Catalog) -> None:
    from virtsim.plan_file import parse_plan
    from virtsim.plan_stack import plan_catalog, stack_scenario
    from virtsim.run import run_scenario
    from virtsim.scenario import parse_scenario

    spec = a_plan(4, ("vm", "microvm", "container", "gvisor", "kata"))
    parsed = parse_plan(spec, catalog)
    own = plan_catalog(parsed, catalog)
    for option in plan(spec, catalog).options:  # the same stack, run for a second
        scenario = parse_scenario(stack_scenario(parsed, option.technology, "m5d-metal",
                                                 {"web": 1, "db": 1}, own, duration_s=1), own)
        table = {r["group"]: r for r in run_scenario(scenario, own).table("density")}
        for group in option.groups:
            assert table[group.name]["count"] == group.alone[0], (option.name, group.name)
            assert table[group.name]["binding"] == group.alone[1], (option.name, group.name)


def test_a_plan_no_option_meets_says_why(catalog: Catalog) -> None:
    result = plan(a_plan(50, cold_start_s=0.01, blast_radius=0.01), catalog)
    assert result.chosen is None
    assert "no option meets every constraint" in result.answer()
    for option in result.options:
        assert "cold start" in result.verdicts[option.name]
        assert "fault takes" in result.verdicts[option.name]


def test_an_instance_that_fits_no_host_is_reported(catalog: Catalog) -> None:
    spec = a_plan(2, technologies=("vm",))
    spec["workloads"][1]["vm"] = {"vcpus": 200, "memory_mib": 4096}
    option = plan(spec, catalog).options[0]
    assert option.hosts == 0 and "does not fit an empty host" in option.broken[0]


def bigger(catalog: Catalog, scale: float) -> Catalog:
    host = catalog.require(HostProfile, "m5d-metal")
    grown = host.model_copy(update={
        "name": "m5d-metal", "cores": int(host.cores * scale),
        "memory_gib": host.memory_gib * scale, "disk_gib": host.disk_gib * scale,
        "memory_bandwidth_gbs": host.memory_bandwidth_gbs * scale,
        "disk_read_mbs": host.disk_read_mbs * scale, "disk_read_iops": host.disk_read_iops * scale,
        "nic_gbps": host.nic_gbps * scale})
    return Catalog({**catalog.profiles, "hosts": {**catalog.profiles["hosts"],
                                                  "m5d-metal": grown}}, catalog.files)


@settings(max_examples=8)
@given(count=st.integers(1, 400), extra=st.integers(1, 300),
       technology=st.sampled_from(["vm", "microvm", "container", "container-in-vm", "gvisor",
                                   "kata"]))
def test_more_instances_never_need_fewer_hosts(catalog: Catalog, count: int, extra: int,
                                               technology: str) -> None:
    few = plan(a_plan(count, (technology,)), catalog).options[0]
    many = plan(a_plan(count + extra, (technology,)), catalog).options[0]
    assert many.hosts >= few.hosts


@settings(max_examples=6)
@given(count=st.integers(20, 2000), scale=st.floats(1.0, 4.0),
       technology=st.sampled_from(["vm", "container", "container-in-vm", "kata"]))
def test_a_bigger_host_never_needs_more(catalog: Catalog, count: int, scale: float,
                                        technology: str) -> None:
    small = plan(a_plan(count, (technology,)), catalog).options[0]
    big = plan(a_plan(count, (technology,)), bigger(catalog, scale)).options[0]
    assert big.hosts <= small.hosts


def test_cli_table_json_and_out(tmp_path: Path) -> None:
    proc = virtsim("plan", str(PLANS / "nginx-vs-vms.toml"))
    assert proc.returncode == 0, proc.stderr
    assert "answer: container on m5d-metal" in proc.stdout
    assert "web: container on m5d-metal" in proc.stdout  # density alone per group
    proc = virtsim("plan", str(PLANS / "database-cache-web.toml"), "--json", "--out",
                   str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["chosen"] and len(answer["options"]) == 6
    for name in ("options.csv", "groups.csv", "plan.json", "plan.png", "plan.svg"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_cli_plan_no_option_meets_exits_0_with_reasons(tmp_path: Path) -> None:
    path = tmp_path / "tight.toml"
    path.write_text((PLANS / "nginx-vs-vms.toml").read_text().replace(
        "cold_start_s = 60", "cold_start_s = 0.001"), encoding="utf-8")
    proc = virtsim("plan", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "no option meets every constraint" in proc.stdout
    assert "breaks: cold start of the fleet" in proc.stdout


def test_memory_overcommitted_beyond_the_host_is_noted(catalog: Catalog) -> None:
    spec = {"name": "t", "hosts": ["m5d-metal"], "technologies": ["vm"],
            "workloads": [{"name": "w", "workload": "idle", "count": 200,
                           "disk_image": "windows-server-2022-core",  # touches all its RAM
                           "vm": {"vcpus": 1, "memory_mib": 4096}}],
            "constraints": {"memory_overcommit": 2.0, "cpu_overcommit": 8.0}}
    result = plan(spec, catalog)
    option = result.options[0]
    assert option.packing.binding == "memory" and option.packing.density > 96
    assert option.notes and "a run would OOM-kill" in result.verdicts[option.name]
    spec["constraints"]["memory_overcommit"] = 1.0
    assert not plan(spec, catalog).options[0].notes


@settings(max_examples=10)
@given(cold=st.one_of(st.none(), st.floats(1.0, 60.0)),
       warm=st.one_of(st.none(), st.floats(0.5, 30.0)),
       blast=st.one_of(st.none(), st.floats(0.05, 1.0)),
       p99=st.one_of(st.none(), st.floats(0.1, 10.0)),
       headroom=st.floats(0.0, 0.5).map(lambda x: round(x, 6)), count=st.integers(5, 300))
def test_every_chosen_plan_meets_its_constraints(
        catalog: Catalog, cold: float | None, warm: float | None, blast: float | None,
        p99: float | None, headroom: float, count: int) -> None:
    limits = {"cold_start_s": cold, "warm_start_s": warm, "blast_radius": blast,
              "p99_latency_ms": p99, "headroom": headroom}
    result = plan(a_plan(count, ("container", "vm", "microvm", "kata"),
                         **{k: v for k, v in limits.items() if v is not None}), catalog)
    if result.chosen is not None:
        meets(result)
    else:
        assert all(o.broken for o in result.options)
