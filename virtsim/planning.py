"""Capacity planning: what a workload mix needs as each technology, and which option to take.

:func:`plan` answers a plan file (:mod:`virtsim.plan_file`): for every
technology on every candidate host profile, one *option*:

- **hosts** needed, packed on the footprint and performance models
  (:mod:`virtsim.plan_pack`), and the resource that binds;
- **density**: instances on the fullest host, and each group's density alone;
- **start** of the whole fleet, cold (images pulled) and warm (images on the
  hosts), from the stage distributions and the host's shared resources
  (:mod:`virtsim.plan_start`);
- **blast radius**: the share of the fleet one host, kernel or hypervisor
  fault takes (:func:`~virtsim.faults.blast_radius` on the stack, scaled to
  the fullest host);
- **steady state**: each group's slowdown against native and a service's p99
  latency on the fullest host (:mod:`virtsim.plan_perf`);
- **cost**: hosts times the plan's price per host-hour, where one is given.

Each option is checked against every constraint; the cheapest that meets
them all (by cost where every option has a price, else by hosts, then by
cold start) is chosen, and every other option says what it breaks or what
it costs more. A plan no option meets has no choice and says why. Nothing is
simulated: a 10,000-instance plan answers in well under two seconds;
:mod:`virtsim.plan_verify` simulates the chosen option at a bounded size to
check the analytic answer.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from virtsim.catalog import Catalog, load_catalog
from virtsim.demand import MachineCapacity, machine_capacity, native_cost
from virtsim.errors import InputError, display_path
from virtsim.layer_costs import LayerCost
from virtsim.plan_file import PlanFile, Technology, group_count, load_plan, parse_plan
from virtsim.plan_pack import DIMENSIONS, Bin, Packing, pack
from virtsim.plan_perf import GroupPerformance, group_performance
from virtsim.plan_stack import Member, Probe, plan_catalog, probe
from virtsim.plan_start import StartEstimate, host_start
from virtsim.profiles import HostProfile
from virtsim.result import Record, finite
from virtsim.simulation import component_rng


@dataclass(frozen=True)
class GroupOutcome:
    """One workload group within one option.

    Attributes:
        name: The group.
        count: Its instances in the fleet.
        per_host: Its instances on the fullest host.
        alone: How many fit a host alone, and what binds that.
        member: What one instance costs (from the probe).
        performance: Its steady state on the fullest host.
    """

    name: str
    count: int
    per_host: int
    alone: tuple[int, str]
    member: Member
    performance: GroupPerformance


@dataclass(frozen=True)
class Option:
    """One technology on one host profile, worked out.

    Attributes:
        technology: How every instance runs.
        host: The host profile.
        packing: Where the instances go.
        node_vms: Node VMs per host (``container-in-vm``; 0 otherwise).
        cold: Start of the whole fleet with nothing cached.
        warm: Start with every image already on the hosts.
        lost: Fault -> instances one fault of it takes (None: no such layer).
        instances: Instances in the fleet.
        groups: Each group's outcome.
        cost_per_hour: Hosts times the price per host-hour (None: no price).
        broken: Each constraint the option breaks, as a sentence.
        notes: What the option relies on that no constraint covers (memory
            overcommitted beyond what the host has).
    """

    technology: Technology
    host: str
    packing: Packing
    node_vms: int
    cold: StartEstimate | None
    warm: StartEstimate | None
    lost: dict[str, int | None]
    instances: int
    groups: tuple[GroupOutcome, ...]
    cost_per_hour: float | None
    broken: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``technology on host``."""
        return f"{self.technology} on {self.host}"

    @property
    def hosts(self) -> int:
        """Hosts needed (0 when some instance fits no host)."""
        return self.packing.hosts

    @property
    def blast_share(self) -> float | None:
        """The largest share of the fleet one host, kernel or hypervisor fault takes."""
        shares = [lost / self.instances for lost in self.lost.values() if lost is not None]
        return max(shares) if shares and self.instances else None

    @property
    def slowdown(self) -> float | None:
        """The largest slowdown of any group (None if none is known)."""
        known = [g.performance.slowdown for g in self.groups
                 if g.performance.slowdown is not None]
        return max(known) if known else None

    @property
    def p99_ms(self) -> float | None:
        """The largest p99 of any service group."""
        known = [g.performance.p99_ms for g in self.groups if g.performance.p99_ms is not None]
        return max(known) if known else None

    def record(self) -> Record:
        """The option as one flat row (``options.csv``)."""
        row: Record = {
            "technology": self.technology, "host": self.host, "hosts": self.hosts,
            "instances": self.instances, "per_host": self.packing.density,
            "node_vms_per_host": self.node_vms, "placement": self.packing.strategy,
            "binding": self.packing.binding,
            "cold_start_s": _round(self.cold.estimate_s if self.cold else None),
            "cold_start_high_s": _round(self.cold.high_s if self.cold else None),
            "cold_start_bound": self.cold.bound if self.cold else None,
            "warm_start_s": _round(self.warm.estimate_s if self.warm else None),
            "warm_start_high_s": _round(self.warm.high_s if self.warm else None),
            "warm_start_bound": self.warm.bound if self.warm else None,
        }
        for what, lost in self.lost.items():
            row[f"{what}_fault_lost"] = lost
            row[f"{what}_fault_share"] = (_round(lost / self.instances, 4)
                                          if lost is not None and self.instances else None)
        row.update({"max_slowdown": _round(self.slowdown, 4), "max_p99_ms": _round(self.p99_ms),
                    "cost_per_hour": _round(self.cost_per_hour),
                    "meets_constraints": not self.broken, "broken": "; ".join(self.broken),
                    "notes": "; ".join(self.notes)})
        for name, use in zip(DIMENSIONS, self.packing.utilisation, strict=True):
            row[f"use_{name}"] = _round(use, 4)
        return row

    def group_records(self) -> list[Record]:
        """One row per group (``groups.csv``)."""
        rows: list[Record] = []
        for g in self.groups:
            perf = g.performance
            rows.append({
                "technology": self.technology, "host": self.host, "group": g.name,
                "count": g.count, "per_host": g.per_host, "density_alone": g.alone[0],
                "binding_alone": g.alone[1], "memory_mib": _round(g.member.memory_mib),
                "resident_mib": _round(g.member.resident_mib), "vcpus": g.member.vcpus,
                "disk_mib": _round(g.member.disk_mib),
                "cpu_demand_cores": _round(g.member.demand[0], 5),
                "layers": "+".join(g.member.placement.costs.layers)
                if g.member.placement else "",
                "slowdown": _round(perf.slowdown, 4), "mean_ms": _round(perf.mean_ms),
                "p99_ms": _round(perf.p99_ms), "offered_per_s": perf.offered_per_s,
                "capacity_per_s": _round(perf.capacity_per_s), "saturated": perf.saturated})
        return rows


def _round(value: float | None, digits: int = 3) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


@dataclass
class PlanResult:
    """A plan's answer: every option, the chosen one, and why the others were not.

    Attributes:
        plan: The plan as loaded.
        options: Every technology on every host, in plan order.
        chosen: The cheapest option meeting every constraint (None if none does).
        verdicts: Option name -> why it was or was not chosen.
        elapsed_s: Wall time of the analysis.
        verification: Rows from :func:`virtsim.plan_verify.verify`, if it ran.
    """

    plan: PlanFile
    options: list[Option]
    chosen: Option | None
    verdicts: dict[str, str]
    elapsed_s: float
    verification: list[Record] = field(default_factory=list)

    def tables(self) -> dict[str, list[Record]]:
        """Tidy tables: ``options``, ``groups`` and (after ``--verify``) ``verification``."""
        options = []
        for option in self.options:
            row = option.record()
            row["chosen"] = option is self.chosen
            row["verdict"] = self.verdicts[option.name]
            options.append(row)
        tables = {"options": options,
                  "groups": [r for o in self.options for r in o.group_records()]}
        if self.verification:
            tables["verification"] = self.verification
        return tables

    def to_json(self) -> str:
        """The whole answer as one JSON object."""
        return json.dumps(finite({  # strict JSON: no Infinity or NaN
            "plan": self.plan.name, "instances": self.options[0].instances if self.options else 0,
            "chosen": self.chosen.name if self.chosen else None,
            "answer": self.answer(), "elapsed_s": round(self.elapsed_s, 4),
            **self.tables()}), sort_keys=False, allow_nan=False)

    def answer(self) -> str:
        """The choice in one sentence, or why there is none."""
        if self.chosen is None:
            return "no option meets every constraint: " + "; ".join(
                f"{o.name}: {self.verdicts[o.name]}" for o in self.options)
        chosen = self.chosen
        cost = (f", {chosen.cost_per_hour:,.2f} per hour" if chosen.cost_per_hour is not None
                else "")
        return (f"{chosen.name}: {chosen.hosts} host{'s' if chosen.hosts != 1 else ''}"
                f"{cost}, meeting every constraint")


def plan(source: PlanFile | dict[str, Any] | Path | str, catalog: Catalog | None = None,
         file: str | None = None) -> PlanResult:
    """Answer a plan: every option worked out, checked and ranked.

    Args:
        source: A loaded plan, a parsed plan table, or the path of a plan file.
        catalog: The catalogue (default: the shipped one).
        file: The plan's file name in error messages (default: the path given, or
            ``<plan>``).

    Raises:
        InputError: The plan is malformed or names an unknown profile.
    """
    began = time.perf_counter()
    catalog = catalog or load_catalog()
    file = file or "<plan>"
    if isinstance(source, PlanFile):
        spec = source
    elif isinstance(source, dict):
        spec = parse_plan(source, catalog)
    else:
        spec, file = load_plan(source, catalog), display_path(source)
    counts = [group_count(g, catalog) for g in spec.workloads]
    own = plan_catalog(spec, catalog)
    native = native_cost(own)
    options = []
    for host in spec.hosts:
        profile = own.require(HostProfile, host)
        machine = machine_capacity(profile, native)
        for technology in spec.technologies:
            try:
                stack = probe(spec, technology, host, own)
            except InputError as exc:  # this stack cannot be built here: an option that fails
                options.append(_unbuildable(spec, technology, host, counts, file, exc))
                continue
            option = _option(spec, stack, profile, machine, counts, native)
            options.append(_checked(spec, option))
    chosen, verdicts = _choose(spec, options)
    return PlanResult(spec, options, chosen, verdicts, time.perf_counter() - began)


def _unbuildable(spec: PlanFile, technology: Technology, host: str, counts: list[int],
                 file: str, exc: InputError) -> Option:
    """An option whose stack the scenario checks refuse (KVM on a macOS kernel, more vCPUs
    than the VMM takes): it places nothing, and says why."""
    zeros = tuple(0 for _ in counts)
    packing = Packing(0, zeros, "none", "-", tuple(0.0 for _ in DIMENSIONS),
                      tuple((0, "-") for _ in counts), "its stack cannot be built")
    reason = (f"cannot be built on {host} ({file}, {_plan_key(exc.key, technology)}): "
              f"expected {exc.expected}, found {exc.found}")
    return Option(technology, host, packing, 0, None, None, {}, sum(counts), (), None,
                  (reason,))


def _plan_key(key: str, technology: Technology) -> str:
    """The plan key behind a key of the scenario a technology builds from it."""
    group = re.match(r"^hosts\[0\]\.(?:vms\[0\]\.containers|vms|containers)\[(\d+)\](.*)$",
                     key)
    if technology == "container-in-vm" and not key.startswith("hosts[0].vms[0].containers"):
        return "node_vm"
    if group is None:
        return "workloads"
    rest = group.group(2)
    if technology in ("vm", "microvm") and rest in (".vcpus", ".memory_mib"):
        rest = f".vm{rest}"
    return f"workloads[{group.group(1)}]{rest}"


def host_bin(stack: Probe, profile: HostProfile, machine: MachineCapacity, spec: PlanFile,
             headroom: float | None = None) -> tuple[Bin, int]:
    """A host's room for the probe's instances, and its node VMs (``container-in-vm``).

    Memory and disk are what is left after what is shared; reserved CPUs are
    hardware threads; ``headroom`` (default: the plan's) is kept free of every
    column and the overcommit ratios multiply memory and reserved CPUs. A
    ``container-in-vm`` host is first carved into as many node VMs as fit it;
    its containers then have the node VMs' memory and vCPUs (less what each
    node keeps for itself), and the host's disk, CPU and devices.
    """
    limits = spec.constraints
    keep = 1.0 - (limits.headroom if headroom is None else headroom)
    memory = (profile.memory_gib * 1024.0 - stack.shared_memory_mib) * limits.memory_overcommit
    cpus = float(profile.cores * profile.threads_per_core) * limits.cpu_overcommit
    disk = profile.disk_gib * 1024.0 - stack.shared_disk_mib
    demand = np.array(machine.per_s)
    node_vms = 0
    if stack.node is not None:
        node = stack.node
        whole = Bin(np.array([memory, cpus, disk, *np.full(len(demand), np.inf)]), machine)
        node_vms = whole.alone(np.array([node.memory_mib, node.vcpus, node.disk_mib,
                                         *np.zeros(len(demand))]))
        room_per_node = spec.node_vm.memory_mib - stack.node_base_mib
        memory, cpus = node_vms * max(room_per_node, 0.0), float(node_vms * node.vcpus)
        disk -= node_vms * node.disk_mib
        demand[0] = min(demand[0], cpus)
    capacity = np.array([memory, cpus, disk, *demand]) * keep
    return Bin(np.maximum(capacity, 0.0), machine), node_vms


def _items(stack: Probe) -> np.ndarray:
    return np.array([[m.memory_mib, m.vcpus, m.disk_mib, *m.demand] for m in stack.members])


def _option(spec: PlanFile, stack: Probe, profile: HostProfile, machine: MachineCapacity,
            counts: list[int], native: LayerCost) -> Option:
    bin_, node_vms = host_bin(stack, profile, machine, spec)
    items = _items(stack)
    names = [g.name for g in spec.workloads]
    packing = pack(counts, items, bin_, names)
    if stack.node is not None and node_vms == 0:
        packing = replace(packing, hosts=0, per_host=tuple(0 for _ in counts),
                          strategy="none", unplaceable=(
                              f"a node VM of {spec.node_vm.vcpus} vCPUs and "
                              f"{spec.node_vm.memory_mib:g} MiB does not fit an empty host"))
    elif not packing.unplaceable and stack.node is not None:
        packing = _fits_one_node(packing, stack, spec, machine, items, names)
    total = sum(counts)
    pattern = np.array(packing.per_host)
    load = pattern @ items[:, 3:] if packing.hosts else np.zeros(items.shape[1] - 3)
    corunners = int(pattern[(items[:, 3:6] > 0).any(axis=1)].sum()) if packing.hosts else 0
    groups = tuple(
        GroupOutcome(g.name, counts[k], packing.per_host[k], packing.alone[k], member,
                     group_performance(member.placement, profile, load, corunners, machine,
                                       native) if packing.hosts else GroupPerformance(None))
        for k, (g, member) in enumerate(zip(spec.workloads, stack.members, strict=True)))
    cold = warm = None
    if packing.hosts:
        cold, warm = fleet_start(spec, stack, profile, pattern, node_vms, packing.hosts)
    on_host = packing.density
    lost = {what: (None if share is None else round(share * on_host))
            for what, share in stack.reach.items()}
    price = spec.prices.get(stack.host)
    cost = price * packing.hosts if price is not None and packing.hosts else None
    return Option(stack.technology, stack.host, packing, node_vms, cold, warm, lost, total,
                  groups, cost, notes=_memory_notes(stack, profile, pattern, node_vms))


def _memory_notes(stack: Probe, profile: HostProfile, pattern: np.ndarray,
                  node_vms: int) -> tuple[str, ...]:
    """A note when what the fullest host holds resident exceeds its memory (overcommit)."""
    if stack.node is not None:
        resident = node_vms * stack.node.resident_mib
    else:
        resident = float(sum(n * m.resident_mib for n, m in zip(pattern, stack.members,
                                                                  strict=True)))
    have = profile.memory_gib * 1024.0
    used = resident + stack.shared_memory_mib
    if not pattern.any() or used <= have:
        return ()
    return (f"resident memory on the fullest host is {used / have:.0%} of its "
            f"{profile.memory_gib:g} GiB: the memory overcommit relies on guests and "
            "sandboxes not touching what they were given (balloons, KSM); a run would "
            "OOM-kill",)


def _fits_one_node(packing: Packing, stack: Probe, spec: PlanFile, machine: MachineCapacity,
                   items: np.ndarray, names: list[str]) -> Packing:
    """A container must fit inside one node VM (its memory and vCPUs)."""
    assert stack.node is not None
    room = spec.node_vm.memory_mib - stack.node_base_mib
    for k, item in enumerate(items):
        if item[0] > room or item[1] > spec.node_vm.vcpus or item[3] > spec.node_vm.vcpus:
            reason = (f"one '{names[k]}' container does not fit a node VM of "
                      f"{spec.node_vm.vcpus} vCPUs and {spec.node_vm.memory_mib:g} MiB")
            return Packing(0, tuple(0 for _ in items), "none", "memory",
                           tuple(0.0 for _ in DIMENSIONS), packing.alone, reason)
    return packing


def fleet_start(spec: PlanFile, stack: Probe, profile: HostProfile, pattern: np.ndarray,
                node_vms: int, hosts: int = 1) -> tuple[StartEstimate, StartEstimate]:
    """Start of ``hosts`` hosts each starting the share ``pattern`` (instances of each
    group) at once, cold and warm; ``node_vms`` node VMs first for ``container-in-vm``."""
    rng = component_rng(spec.seed, f"plan/{stack.technology}/{stack.host}")
    shapes = [(m.start, int(n)) for m, n in zip(stack.members, pattern, strict=True)]
    if stack.node is None:
        return host_start(profile, shapes, rng, hosts=hosts)
    nodes, _ = host_start(profile, [(stack.node.start, node_vms)], rng, hosts=hosts)
    cold, warm = host_start(profile, shapes, rng, stores=max(node_vms, 1), hosts=hosts)
    return nodes + cold, nodes + warm


def _checked(spec: PlanFile, option: Option) -> Option:
    """The option with every constraint it breaks."""
    limits = spec.constraints
    broken: list[str] = []
    if option.packing.unplaceable:
        broken.append(f"cannot be placed: {option.packing.unplaceable}")
    for g in option.groups:
        perf = g.performance
        if perf.saturated:
            broken.append(f"'{g.name}' saturates: {perf.offered_per_s:g} requests/s offered, "
                          f"at most {perf.capacity_per_s or 0:.4g}/s served (threads or CPU "
                          "limit)")
        elif limits.p99_latency_ms is not None and perf.p99_ms is not None \
                and perf.p99_ms > limits.p99_latency_ms:
            broken.append(f"p99 latency of '{g.name}' {perf.p99_ms:.3g} ms > "
                          f"{limits.p99_latency_ms:g} ms")
        if limits.slowdown is not None and perf.slowdown is not None \
                and perf.slowdown > limits.slowdown:
            broken.append(f"slowdown of '{g.name}' {perf.slowdown:.3g}x > {limits.slowdown:g}x")
    for label, estimate, limit in (("cold", option.cold, limits.cold_start_s),
                                   ("warm", option.warm, limits.warm_start_s)):
        if estimate is not None and limit is not None and estimate.estimate_s > limit:
            broken.append(f"{label} start of the fleet {estimate.estimate_s:.3g} s > {limit:g} s "
                          f"(bound by {estimate.bound})")
    share = option.blast_share
    if limits.blast_radius is not None and share is not None and share > limits.blast_radius:
        worst = max((k for k, v in option.lost.items() if v is not None),
                    key=lambda k: option.lost[k] or 0)
        broken.append(f"one {worst} fault takes {share:.1%} of the fleet "
                      f"({option.lost[worst]} of {option.instances}) > "
                      f"{limits.blast_radius:.1%}")
    return replace(option, broken=tuple(broken))


def _choose(spec: PlanFile, options: list[Option]) -> tuple[Option | None, dict[str, str]]:
    """The cheapest option that meets every constraint, and a verdict for each option."""
    priced = bool(spec.prices)

    def key(option: Option) -> tuple[float, float, float]:
        cost = option.cost_per_hour if option.cost_per_hour is not None else math.inf
        start = option.cold.estimate_s if option.cold else math.inf
        return (cost if priced else float(option.hosts), float(option.hosts), start)

    meeting = sorted((o for o in options if not o.broken), key=key)
    chosen = meeting[0] if meeting else None
    verdicts: dict[str, str] = {}
    for option in options:
        if option is chosen:
            verdicts[option.name] = "chosen: the cheapest option that meets every constraint"
        elif option.broken:
            verdicts[option.name] = "breaks: " + "; ".join(option.broken)
        elif chosen is not None:
            verdicts[option.name] = "meets every constraint but " + _dearer(option, chosen)
        if option.notes and option.name in verdicts:
            verdicts[option.name] += " (note: " + "; ".join(option.notes) + ")"
    return chosen, verdicts


def _dearer(option: Option, chosen: Option) -> str:
    if option.cost_per_hour is not None and chosen.cost_per_hour is not None \
            and option.cost_per_hour > chosen.cost_per_hour:
        return (f"costs {option.cost_per_hour - chosen.cost_per_hour:,.2f} more per hour "
                f"({option.hosts} {option.host} against {chosen.hosts} {chosen.host})")
    if option.hosts > chosen.hosts:
        return (f"needs {option.hosts - chosen.hosts} more hosts ({option.hosts} {option.host} "
                f"against {chosen.hosts} {chosen.host})")
    return "ranks after it (same hosts and cost, slower cold start)"


def summary(result: PlanResult) -> str:
    """The answer as a terminal table, then the choice and each option's verdict."""
    options = result.options
    instances = options[0].instances if options else 0
    lines = [f"plan {result.plan.name!r}: {instances} instances of "
             f"{len(result.plan.workloads)} group{'s' if len(result.plan.workloads) != 1 else ''}"
             f", {len(options)} options, answered in {result.elapsed_s:.2f} s"]
    header = ("option", "hosts", "per host", "binding", "cold s", "warm s", "host fault",
              "slowdown", "p99 ms", "cost/h", "")
    rows = [header]
    for o in options:
        share = o.blast_share
        rows.append((o.name, str(o.hosts) if o.hosts else "-", str(o.packing.density),
                     o.packing.binding if o.hosts else "-",
                     _cell(o.cold.estimate_s if o.cold else None),
                     _cell(o.warm.estimate_s if o.warm else None),
                     f"{share:.0%}" if share is not None and o.hosts else "-",
                     _cell(o.slowdown, "{:.2f}x"), _cell(o.p99_ms),
                     _cell(o.cost_per_hour, "{:,.2f}"),
                     "chosen" if o is result.chosen else ("ok" if not o.broken else "breaks")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                      for i, (c, w) in enumerate(zip(r, widths, strict=True))
                                      ).rstrip())
    lines.append("density alone (instances of one group that fit a host, and what binds):")
    for k, group in enumerate(result.plan.workloads):
        shown = ", ".join(f"{o.name} {o.groups[k].alone[0]} ({o.groups[k].alone[1]})"
                          if o.groups else f"{o.name} -" for o in options)
        lines.append(f"  {group.name}: {shown}")
    answer = result.answer() if result.chosen else "no option meets every constraint"
    lines.append(f"answer: {answer}")
    for o in options:
        lines.append(f"  {o.name}: {result.verdicts[o.name]}")
    return "\n".join(lines)


def _cell(value: float | None, form: str = "{:.3g}") -> str:
    return "-" if value is None or not math.isfinite(value) else form.format(value)
