"""Overload: a run that asks more of its machines than they have says so.

A scenario can place more instances on a machine than fit it (by memory,
reserved vCPUs, disk, or the steady demand of their workloads), drive
services faster than their share serves them, or leave instances still
starting when the clock stops. Each is a valid simulation whose figures
mean something different from what a user expects, so the run reports it:
:class:`OverloadReport` runs after every other model and puts one line per
finding in the ``warnings`` metric, which ``virtsim run`` also prints on
stderr.
"""

from __future__ import annotations

from collections import defaultdict

from virtsim.profiles import HostProfile
from virtsim.result import Result
from virtsim.simulation import Simulation


class OverloadReport:
    """Run hook (attach last): nothing to record; the findings are worked out from the
    merged run's tables (:func:`overload_warnings`, called by :func:`virtsim.run.summarise`)."""

    def attach(self, sim: Simulation) -> None:
        """Nothing runs: the findings come from the other models' results."""

    def report(self, sim: Simulation) -> None:
        """Nothing per partition: warnings need the whole run's tables and metrics."""


def overload_warnings(result: Result, hosts: dict[str, HostProfile],
                      duration_s: float) -> list[str]:
    """One line per overload finding in a finished run's ``result``.

    Args:
        result: The run's tables and metrics.
        hosts: Each machine's host profile (for its memory).
        duration_s: When the run's clock stopped.
    """
    return [*_more_than_fits(result), *_memory_over(result, hosts), *_saturated(result),
            *_not_ready(result, duration_s)]


def _more_than_fits(result: Result) -> list[str]:
    """Groups placed beyond their density, machines with equal findings merged."""
    over: dict[tuple[str, object, object, object], list[str]] = defaultdict(list)
    columns = [result.column("density", name)
               for name in ("machine", "group", "placed", "count", "binding")]
    for machine, group, placed, count, binding in zip(*columns, strict=True):
        if isinstance(placed, int) and isinstance(count, int) and placed > count:
            over[(str(group), placed, count, binding)].append(str(machine))
    return [f"{placed} '{group}' placed on {_machines(machines)} where {count} fit "
            f"(bound by {binding}): see the density table"
            for (group, placed, count, binding), machines in over.items()]


def _memory_over(result: Result, hosts: dict[str, HostProfile]) -> list[str]:
    """Machines whose footprint exceeds their memory."""
    over: dict[tuple[float, float], list[str]] = defaultdict(list)
    columns = [result.column("host_footprint", name) for name in ("machine", "memory_mib")]
    for name, memory in zip(*columns, strict=True):
        machine, used = str(name), float(memory or 0.0)
        have = hosts[machine].memory_gib * 1024.0 if machine in hosts else float("inf")
        if used > have:
            over[(round(used / 1024, 1), round(have / 1024, 1))].append(machine)
    return [f"footprint of {used:g} GiB on {_machines(machines)} exceeds its {have:g} GiB "
            "of memory" for (used, have), machines in over.items()]


def _saturated(result: Result) -> list[str]:
    columns = [result.column("workloads", name) for name in ("mode", "note")]
    notes = [str(note or "") for mode, note in zip(*columns, strict=True) if mode == "service"]
    services = notes
    saturated = sum(1 for note in notes if note.startswith("saturated"))
    if not saturated:
        return []
    return [f"{saturated} of {len(services)} services saturated: requests arrive faster "
            "than their share of the machine serves them (see the workloads table)"]


def _not_ready(result: Result, duration_s: float) -> list[str]:
    total = result.metrics.get("instances")
    if not isinstance(total, int) or total == 0:
        return []
    ready: set[object] = set()
    refused: set[object] = set()  # or ended (stopped, crashed) before it was ready
    columns = [result.column("instances", name)
               for name in ("instance", "kind", "ready_s", "ended_s")]
    for instance, kind, up, ended in zip(*columns, strict=True):
        if kind == "machine":
            continue
        if up is not None:
            ready.add(instance)
        elif ended is not None:
            refused.add(instance)
    missing = total - len(ready | refused)
    if missing <= 0:
        return []
    return [f"{missing} of {total} instances not ready when the run ended at {duration_s:g} s: "
            "lengthen duration_s or start fewer at once"]


def _machines(machines: list[str]) -> str:
    if len(machines) == 1:
        return machines[0]
    shown = ", ".join(machines[:3]) + (", ..." if len(machines) > 3 else "")
    return f"{len(machines)} machines ({shown})"
