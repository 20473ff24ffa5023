"""Measures of one run: flat numbers for the run and for each instance group, and warnings.

A sweep compares runs by numbers, so each run is reduced here to

- *run measures*: every numeric headline metric, flattened
  (``time_to_ready_s.p50``, ``footprint_mib.memory``, ``service_p99_ms.mean``);
- *group measures*, per instance group of the scenario (``node/web``,
  ``node/k8s-node/api``): how many instances it asked for and how many were
  ready, the time until the whole group was ready (``all_ready_s``, from the
  start of the run), the median and 99th percentile of its members' times to
  ready, its memory per instance (``memory_mib``, shared bytes apart), how
  many of its members would fit one host (``density``) and the resource that
  binds that count, and its services' p99 latency, throughput and batch
  slowdown where it runs a workload;
- *warnings* that qualify them, as the run found them
  (:mod:`virtsim.overload`): a run that ended before every instance was
  ready (its percentiles cover only those that were), services that
  saturated (requests arrive faster than their share serves them), more
  instances placed than fit.

A group's technology (``vm``, ``microvm``, ``container``, ``gvisor``,
``kata``, ``desktop``, ``native``) comes from the scenario and picks its
colour in figures (:mod:`virtsim.plotting`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from virtsim.graph import member_name
from virtsim.result import Result, Scalar
from virtsim.scenario import DESKTOP_VM, ContainerSpec, Scenario, VmSpec

MICROVM_VMMS = frozenset({"firecracker", "cloud-hypervisor"})
"""VMMs whose VMs count as microVMs."""

RUNTIME_TECHNOLOGY = {"runsc": "gvisor", "kata": "kata"}
"""Container runtimes that are a technology of their own (others are plain containers)."""

SKIPPED_METRICS = frozenset({"scenario", "seed", "duration_s", "nodes", "density",
                             "failed_to_start", "compatibility", "warnings"})
"""Metrics that are not a measure of the run (or are reported per group instead)."""


@dataclass(frozen=True)
class Group:
    """One instance group of a scenario: where it is, what it is, how many it asks for."""

    key: str
    name: str
    kind: str
    technology: str
    members: tuple[str, ...]
    top_level: bool


@dataclass
class RunMeasures:
    """The numbers of one run, its groups' numbers and the warnings that qualify them."""

    run: dict[str, float] = field(default_factory=dict)
    groups: dict[str, dict[str, Scalar]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def groups_of(scenario: Scenario) -> list[Group]:
    """Every instance group of a (loaded) scenario, with the instance ids of its members."""
    found: list[Group] = []
    for host in scenario.hosts:
        machines = [member_name(host.name, i, host.count) for i in range(host.count)]
        for vm in host.vms:
            vm_ids = [f"{m}/{member_name(vm.name, j, vm.count)}" for m in machines
                      for j in range(vm.count)]
            if vm.name != DESKTOP_VM:
                found.append(Group(f"{host.name}/{vm.name}", vm.name, "vm", _vm_technology(vm),
                                   tuple(vm_ids), True))
            inner = "desktop" if vm.name == DESKTOP_VM else None
            found += _containers(f"{host.name}/{vm.name}", vm.containers, vm_ids, inner,
                                 top_level=vm.name == DESKTOP_VM)
            found += _processes(f"{host.name}/{vm.name}", vm.processes, vm_ids)
        found += _containers(host.name, host.containers, machines, None, top_level=True)
        found += _processes(host.name, host.processes, machines)
    return found


def _vm_technology(vm: VmSpec) -> str:
    return "microvm" if (vm.vmm or "") in MICROVM_VMMS else "vm"


def _containers(prefix: str, specs: tuple[ContainerSpec, ...], owners: list[str],
                technology: str | None, top_level: bool) -> list[Group]:
    return [Group(f"{prefix}/{spec.name}", spec.name, "container",
                  technology or RUNTIME_TECHNOLOGY.get(spec.runtime, "container"),
                  tuple(f"{o}/{member_name(spec.name, k, spec.count)}" for o in owners
                        for k in range(spec.count)), top_level)
            for spec in specs]


def _processes(prefix: str, specs: Any, owners: list[str]) -> list[Group]:
    return [Group(f"{prefix}/{spec.name}", spec.name, "process", "native",
                  tuple(f"{o}/{member_name(spec.name, k, spec.count)}" for o in owners
                        for k in range(spec.count)), False)
            for spec in specs]


def technologies(scenario: Scenario) -> list[str]:
    """The technologies of a scenario's groups, each once, in order."""
    return list(dict.fromkeys(g.technology for g in groups_of(scenario)))


def flatten_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Numeric headline metrics as ``name`` or ``name.part`` -> value."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        if key in SKIPPED_METRICS:
            continue
        for name, number in _leaves(key, value):
            flat[name] = number
    failed = metrics.get("failed_to_start")
    flat["failed_to_start"] = float(len(failed)) if isinstance(failed, Mapping) else 0.0
    return flat


def _leaves(prefix: str, value: Any) -> Iterator[tuple[str, float]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _leaves(f"{prefix}.{key}", inner)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            yield prefix, number


def run_warnings(result: Result) -> list[str]:
    """What qualifies a run's numbers: the run's own overload findings
    (:mod:`virtsim.overload`: instances not ready when it ended, services
    saturated, more placed than fit)."""
    found = result.metrics.get("warnings", [])
    return [str(line) for line in found] if isinstance(found, list) else []


def measure_run(result: Result, scenario: Scenario) -> RunMeasures:
    """Run measures, group measures and warnings of one finished run."""
    groups = groups_of(scenario)
    member_of = {member: g.key for g in groups for member in g.members}
    ready_at: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in result.rows("instances"):
        key = member_of.get(str(row["instance"]))
        if key is not None and not row["restart"] and row["ready_s"] is not None:
            ready_at[key].append((float(row["requested_s"] or 0.0), float(row["ready_s"])))
    density = _density(result, groups)
    work = _workloads(result, member_of)
    memory = _memory(result, member_of)
    measures = RunMeasures(run=flatten_metrics(result.metrics), warnings=run_warnings(result))
    for group in groups:
        record = _group_record(group, ready_at.get(group.key, []))
        record["memory_mib"] = memory.get(group.key)
        record.update(density.get(group.key, {}))
        record.update(work.get(group.key, {}))
        measures.groups[group.key] = record
    return measures


def _group_record(group: Group, ready: list[tuple[float, float]]) -> dict[str, Scalar]:
    times = np.array([up - asked for asked, up in ready])
    complete = len(ready) == len(group.members)
    return {"technology": group.technology, "kind": group.kind,
            "instances": len(group.members), "ready": len(ready),
            "all_ready_s": max(up for _, up in ready) if complete and ready else None,
            "ready_p50_s": float(np.percentile(times, 50)) if times.size else None,
            "ready_p99_s": float(np.percentile(times, 99)) if times.size else None}


def _density(result: Result, groups: list[Group]) -> dict[str, dict[str, Scalar]]:
    """Each top-level group's density: the smallest count over its machines, and what binds."""
    by_place = {(str(row["machine"]), str(row["group"])): row for row in result.rows("density")}
    found: dict[str, dict[str, Scalar]] = {}
    for group in groups:
        if not group.top_level:
            continue
        machines = {member.split("/")[0] for member in group.members}
        rows = [by_place[(m, group.name)] for m in sorted(machines) if (m, group.name) in by_place]
        if rows:
            tightest = min(rows, key=lambda r: int(r["count"] or 0))
            found[group.key] = {"density": tightest["count"], "binding": tightest["binding"]}
    return found


def _memory(result: Result, member_of: Mapping[str, str]) -> dict[str, float]:
    """Each group's mean resident memory per instance (its own bytes, shared ones apart)."""
    totals: dict[str, list[float]] = defaultdict(list)
    for row in result.rows("instance_footprint"):
        key = member_of.get(str(row["instance"]))
        if key is not None:
            totals[key].append(float(row["memory_mib"] or 0.0))
    return {key: float(np.mean(values)) for key, values in totals.items()}


def _workloads(result: Result, member_of: Mapping[str, str]) -> dict[str, dict[str, Scalar]]:
    """Each group's services (p99 latency, throughput) and batch jobs (slowdown)."""
    p99: dict[str, list[float]] = defaultdict(list)
    served: dict[str, float] = defaultdict(float)
    slowdown: dict[str, list[float]] = defaultdict(list)
    saturated: Counter[str] = Counter()
    for row in result.rows("workloads"):
        key = _owner(str(row["instance"]), member_of)
        if key is None:
            continue
        if row.get("mode") == "service":
            if row.get("p99_latency_ms") is not None:
                p99[key].append(float(row["p99_latency_ms"]))  # type: ignore[arg-type]
            served[key] += float(row.get("throughput_per_s") or 0.0)
            saturated[key] += str(row.get("note", "")).startswith("saturated")
        elif row.get("slowdown_vs_native") is not None:
            slowdown[key].append(float(row["slowdown_vs_native"]))  # type: ignore[arg-type]
    found: dict[str, dict[str, Scalar]] = defaultdict(dict)
    for key, values in p99.items():
        finite = [v for v in values if math.isfinite(v)]
        found[key]["service_p99_ms"] = float(np.mean(finite)) if finite else None
    for key, total in served.items():
        found[key]["throughput_per_s"] = total
        found[key]["saturated"] = saturated[key]
    for key, values in slowdown.items():
        found[key]["slowdown_vs_native"] = float(np.mean(values))
    return found


def _owner(instance: str, member_of: Mapping[str, str]) -> str | None:
    """The group of a workload's instance: the instance itself, or the one it runs in."""
    while instance:
        if instance in member_of:
            return member_of[instance]
        instance = instance.rpartition("/")[0]
    return None
