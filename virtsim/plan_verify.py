"""Plan verification: simulate the chosen option and say where it differs from the answer.

The analytic answer (:mod:`virtsim.planning`) works from the models'
functions; the simulation runs them: every start through the lifecycle's
stages on the machines' shared pools, every workload on the fluid load
model, the footprint and density tables. :func:`verify` builds the chosen
option's stack (:func:`~virtsim.plan_stack.stack_scenario`) at a bounded
size: at most :data:`MAX_HOSTS` hosts, each with the fullest host's share of
every group scaled down to at most :data:`MAX_PER_HOST` instances, works out
the analytic figures again for exactly that size, runs it cold and warm,
and compares:

- **start of the fleet** (cold and warm): the simulated time the last
  instance is up must lie within the analytic bounds, widened by
  :data:`START_SLACK` either way (stage durations are random draws);
- **fit**: the run's density table must agree the share fits a host, and the
  run must raise no overload warning;
- **services**: each group saturates in both or in neither, and its p99
  latency agrees within :data:`P99_SLACK` (or 0.05 ms).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from virtsim.catalog import Catalog
from virtsim.demand import machine_capacity, native_cost
from virtsim.plan_file import PlanFile
from virtsim.plan_perf import group_performance
from virtsim.plan_stack import Probe, plan_catalog, probe, stack_scenario
from virtsim.planning import Option, PlanResult, fleet_start
from virtsim.profiles import HostProfile
from virtsim.result import Record, Result
from virtsim.run import run_scenario
from virtsim.scenario import parse_scenario

MAX_HOSTS = 2
"""Hosts simulated at most."""
MAX_PER_HOST = 300
"""Instances per simulated host at most (the fullest host's share, scaled down)."""
START_SLACK = 0.25
"""How far outside the analytic start bounds the simulation may land (a share of them)."""
P99_SLACK = 0.25
"""How far apart the analytic and simulated p99 latency may be (a share of the analytic)."""
STEADY_S = 30.0
"""Simulated time after the analytic upper bound of the start, for the steady state."""


def verify(result: PlanResult, catalog: Catalog) -> list[Record]:
    """Simulate the chosen option (or, with none, the first that places) and compare.

    Returns:
        One row per measure: ``measure``, ``analytic``, ``simulated``, ``agrees``, ``note``.
    """
    option = result.chosen or next((o for o in result.options if o.hosts), None)
    if option is None:
        return [{"option": "", "measure": "simulation", "analytic": None, "simulated": None,
                 "agrees": None, "note": "no option places the mix: nothing to simulate"}]
    spec = result.plan
    own = plan_catalog(spec, catalog)
    pattern = _scaled(option.packing.per_host)
    hosts = min(option.hosts, MAX_HOSTS)
    scaled = sum(pattern) < sum(option.packing.per_host)
    rows = [_row(option, "simulated size", f"{sum(option.packing.per_host)} per host on "
                 f"{option.hosts} hosts", f"{sum(pattern)} per host on {hosts} hosts", None,
                 "the fullest host's share" + (", scaled down" if scaled else ""))]
    profile = own.require(HostProfile, option.host)
    stack = probe(spec, option.technology, option.host, own)
    per_vm = [math.ceil(n / max(option.node_vms, 1)) for n in pattern]
    counts = dict(zip((g.name for g in spec.workloads), per_vm if stack.node else pattern,
                      strict=True))
    placed = np.array(per_vm) * max(option.node_vms, 1) if stack.node else np.array(pattern)
    estimates = fleet_start(spec, stack, profile, placed, option.node_vms, hosts)
    for cold, estimate in zip((True, False), estimates, strict=True):
        duration = max(estimate.high_s * (1 + START_SLACK) * 2, 10.0) + STEADY_S
        scenario = parse_scenario(stack_scenario(
            spec, option.technology, option.host, counts, own, hosts=hosts,
            node_vms=option.node_vms, cached=not cold, duration_s=duration), own,
            f"<verify {option.name}>")
        run = run_scenario(scenario, own)
        label = "cold" if cold else "warm"
        up = _all_up_s(run)
        low, high = estimate.low_s * (1 - START_SLACK), estimate.high_s * (1 + START_SLACK)
        rows.append(_row(option, f"{label} start of the fleet (s)", _r(estimate.estimate_s),
                         _r(up), up is not None and low <= up <= high,
                         f"analytic bounds {estimate.low_s:.3g}-{estimate.high_s:.3g} s "
                         f"(bound by {estimate.bound}); accepted {low:.3g}-{high:.3g} s"
                         if up is not None else "some instance never became ready"))
        if cold:
            rows.extend(_steady(option, spec, run, stack, profile, own, placed))
    return rows


def _steady(option: Option, spec: PlanFile, run: Result, stack: Probe, profile: HostProfile,
            own: Catalog, placed: np.ndarray) -> list[Record]:
    """Fit and overload, then each service's saturation and p99, against the run."""
    warnings = run.metrics.get("warnings", [])
    over = [r for r in run.rows("density") if isinstance(r["placed"], int)
            and isinstance(r["count"], int) and r["placed"] > r["count"]]
    lines = [str(w) for w in warnings] if isinstance(warnings, list) else []
    if _reserves_less_than_limits(spec, option):
        # the run's density reserves each container's cgroup cpus, one per thread; the plan
        # reserves requests at its overcommit: a run bound by reserved cpus is no disagreement
        excused = [r for r in over if r["binding"] == "cpu"]
        over = [r for r in over if r not in excused]
        groups = {f"'{r['group']}' placed on" for r in excused}
        lines = [w for w in lines if not any(g in w and "(bound by cpu)" in w for g in groups)]
        note = ("the run reserves cgroup limits one per thread, the plan reserves requests at "
                f"its overcommit ({spec.constraints.cpu_overcommit:g}); compared on the rest")
    else:
        note = "the run's density counts the same demand"
    rows = [_row(option, "fits a host (density table)", "yes",
                 "yes" if not over else "no", not over,
                 "; ".join(f"{r['group']}: {r['placed']} placed, {r['count']} fit "
                           f"({r['binding']})" for r in over[:3]) or note),
            _row(option, "overload warnings", 0, len(lines), not lines,
                 "; ".join(lines)[:300])]
    native = native_cost(own)
    machine = machine_capacity(profile, native)
    items = np.array([m.demand for m in stack.members])
    load = placed @ items
    corunners = int(placed[(items[:, :3] > 0).any(axis=1)].sum())
    for group, member in zip(spec.workloads, stack.members, strict=True):
        if member.placement is None or member.placement.workload.mode != "service":
            continue
        analytic = group_performance(member.placement, profile, load, corunners, machine,
                                     native)
        sim = [r for r in run.rows("workloads") if _in_group(str(r["instance"]), group.name)]
        saturated = any(str(r.get("note", "")).startswith("saturated") for r in sim)
        rows.append(_row(option, f"'{group.name}' saturated", analytic.saturated, saturated,
                         analytic.saturated == saturated, f"{len(sim)} simulated instances"))
        p99s = [_num(r["p99_latency_ms"]) for r in sim
                if isinstance(r.get("p99_latency_ms"), int | float)]
        if analytic.p99_ms is not None and p99s:
            simulated = float(np.mean(p99s))
            near = abs(simulated - analytic.p99_ms) <= max(P99_SLACK * analytic.p99_ms, 0.05)
            rows.append(_row(option, f"'{group.name}' p99 latency (ms)", _r(analytic.p99_ms),
                             _r(simulated), near, f"mean over {len(p99s)} instances; "
                             f"accepted within {P99_SLACK:.0%} or 0.05 ms"))
    return rows


def _reserves_less_than_limits(spec: PlanFile, option: Option) -> bool:
    """Whether the plan reserves containers' CPU differently from the run's density table."""
    if option.technology in ("vm", "microvm"):
        return False
    return spec.constraints.cpu_overcommit != 1.0 or any(
        g.requests.cpus is not None and g.requests.cpus != g.limits.cpus
        for g in spec.workloads)


def _scaled(per_host: tuple[int, ...]) -> list[int]:
    """The fullest host's share, scaled to at most :data:`MAX_PER_HOST` (one of each kept)."""
    total = sum(per_host)
    if total <= MAX_PER_HOST:
        return list(per_host)
    return [max(1, math.floor(n * MAX_PER_HOST / total)) if n else 0 for n in per_host]


def _all_up_s(run: Result) -> float | None:
    """When the last instance (not machine) first became ready; None if one never did."""
    ready: dict[str, float] = {}
    for row in run.rows("instances"):
        if row["kind"] == "machine" or row["restart"]:
            continue
        if row["ready_s"] is None:
            return None
        ready[str(row["instance"])] = _num(row["ready_s"])
    expected = run.metrics.get("instances")
    if not ready or (isinstance(expected, int) and len(ready) < expected):
        return None
    return max(ready.values())


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _in_group(node: str, group: str) -> bool:
    parts = node.split("/")
    return any(p == group or (p.startswith(f"{group}-") and p[len(group) + 1:].isdigit())
               for p in parts[1:])


def _row(option: Option, measure: str, analytic: Any, simulated: Any, agrees: bool | None,
         note: str) -> Record:
    return {"option": option.name, "measure": measure, "analytic": analytic,
            "simulated": simulated, "agrees": agrees, "note": note}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def verification_summary(rows: list[Record]) -> str:
    """The verification as lines for the terminal."""
    if not rows:
        return ""
    lines = [f"verification of {rows[0]['option'] or 'the plan'} by simulation:"]
    for r in rows:
        mark = "" if r["agrees"] is None else ("agrees" if r["agrees"] else "DIFFERS")
        lines.append(f"  {r['measure']}: analytic {r['analytic']}, simulated {r['simulated']}"
                     f" {mark} ({r['note']})")
    return "\n".join(lines)
