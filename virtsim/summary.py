"""What ``virtsim run`` prints: a run's headline numbers in human units, group by group.

A person reads this, a script reads ``--json`` or the CSV tables: so times
are rounded to what a stopwatch would show (``0.153 s``, ``2 min 5 s``),
memory to MiB or GiB (``19.5 GiB``), counts get thousands separators, and
each instance group gets one line: how many became ready, the median and
p99 time to ready, when the whole group was ready and what one instance
holds in memory.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from virtsim.result import Result, Scalar


def seconds(value: float | None) -> str:
    """A duration for people: ``0.0153 s``, ``1.38 s``, ``16.4 s``, ``2 min 5 s``, ``3 h 2 min``."""
    if value is None or not math.isfinite(value):
        return "-"
    if value < 60:
        return f"{value:.3g} s"
    if value < 3600:
        minutes, rest = divmod(round(value), 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(round(value / 60), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def mebibytes(value: float | None) -> str:
    """A size for people: ``67.9 MiB``, ``1,583 MiB``, ``19.5 GiB``, ``3.2 TiB``."""
    if value is None or not math.isfinite(value):
        return "-"
    for unit, size in (("TiB", 1024.0 ** 2), ("GiB", 1024.0)):
        if value >= 10 * size:
            return f"{_three(value / size)} {unit}"
    return f"{_three(value)} MiB"


def _three(value: float) -> str:
    """Three significant digits, never an exponent: ``4.9``, ``67.9``, ``1,583``."""
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def number(value: Any) -> str:
    """A count or measure for people: ``80,096``, ``1.6``, ``0.0235``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def group_rows(result: Result) -> list[dict[str, str]]:
    """One row per instance group: ready count, median and p99 time to ready, all ready, memory."""
    ready: dict[str, list[float]] = defaultdict(list)
    kinds: dict[str, str] = {}
    total: dict[str, int] = defaultdict(int)
    # read column by column: a hyperscale run has a million instances (no dict per row)
    columns = [result.column("instances", name)
               for name in ("restart", "group", "kind", "ready_s", "requested_s")]
    for restart, name, kind, ready_s, requested_s in zip(*columns, strict=True):
        if restart:
            continue
        group = str(name)
        kinds[group] = str(kind)
        total[group] += 1
        if ready_s is not None:
            ready[group].append(_float(ready_s) - _float(requested_s or 0.0))
    memory: dict[str, list[float]] = defaultdict(list)
    members: dict[str, int] = defaultdict(int)
    columns = [result.column("instance_footprint", name)
               for name in ("group", "kind", "memory_mib")]
    for name, kind, memory_mib in zip(*columns, strict=True):
        group = str(name)
        kinds.setdefault(group, str(kind))
        members[group] += 1
        memory[group].append(_float(memory_mib))
    rows = []
    for group in sorted(kinds, key=lambda g: (min(ready[g], default=math.inf), g)):
        times = ready[group]
        count = max(total[group], members[group])
        all_ready = seconds(max(times)) if times and len(times) == count else "not all"
        rows.append({
            "group": group, "kind": kinds[group], "ready": f"{len(times):,} of {count:,}",
            "median": seconds(float(np.median(times))) if times else "-",
            "p99": seconds(float(np.percentile(times, 99))) if times else "-",
            "all ready": all_ready,
            "memory each": mebibytes(float(np.median(memory[group]))) if memory[group] else "-"})
    return rows


def _float(value: Scalar) -> float:
    return float(value)  # type: ignore[arg-type]


def table(rows: Iterable[Mapping[str, str]], indent: str = "  ") -> list[str]:
    """Rows of text as aligned columns under a header (numbers right-aligned)."""
    rows = list(rows)
    if not rows:
        return []
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    left = {k for k in keys if all(not r[k][:1].isdigit() for r in rows)}

    def line(cells: Mapping[str, str]) -> str:
        return indent + "  ".join(cells[k].ljust(widths[k]) if k in left
                                  else cells[k].rjust(widths[k]) for k in keys).rstrip()

    return [line({k: k for k in keys}), *(line(r) for r in rows)]


def run_summary(name: str, seed: Any, duration_s: float, result: Result) -> str:
    """The lines ``virtsim run`` prints about a finished run."""
    metrics = result.metrics
    instances = metrics.get("instances", 0)
    machines = metrics.get("nodes", {}).get("machine", 0)
    lines = [f"scenario '{name}': seed {seed}, {seconds(duration_s)} simulated, "
             f"{number(instances)} instance{'s' if instances != 1 else ''} on "
             f"{number(machines)} machine{'s' if machines != 1 else ''}"]
    lines += table(group_rows(result))
    footprint = metrics.get("footprint_mib")
    if isinstance(footprint, Mapping):
        cache = footprint.get("page_cache")
        held = f" (of which {mebibytes(cache)} page cache, reclaimable)" if cache else ""
        lines.append(f"  host footprint: memory {mebibytes(footprint.get('memory'))}{held}, "
                     f"disk {mebibytes(footprint.get('disk'))}")
    density = metrics.get("density")
    if isinstance(density, Mapping) and density:
        lines.append("  fits one host: " + _densities(density))
    service = metrics.get("service_p99_ms")
    if isinstance(service, Mapping) and service.get("count"):
        lines.append(f"  services: p99 latency mean {number(service.get('mean'))} ms, worst "
                     f"{number(service.get('max'))} ms ({number(service.get('count'))} services)")
    compatibility = metrics.get("compatibility")
    if isinstance(compatibility, Mapping) and compatibility:
        lines.append("  how instances run: " + ", ".join(
            f"{number(n)} {how}" for how, n in compatibility.items()))
    shown = {"scenario", "seed", "duration_s", "instances", "nodes", "time_to_ready_s",
             "footprint_mib", "density", "service_p99_ms", "compatibility", "warnings"}
    for key, value in metrics.items():
        if key not in shown:
            lines.append(f"  {key.replace('_', ' ')}: {_flat(value)}")
    return "\n".join(lines)


def _densities(density: Mapping[str, Any]) -> str:
    """Each group's density once, with how many machines share it (a line, not one per host)."""
    alike: dict[tuple[str, Any, Any], int] = {}
    for key, value in density.items():
        fit = (key.split("/")[-1], value.get("count"), value.get("binding"))
        alike[fit] = alike.get(fit, 0) + 1
    return ", ".join(f"{group} {number(count)} ({binding}-bound)"
                     + (f" on each of {number(machines)} machines" if machines > 1 else "")
                     for (group, count, binding), machines in alike.items())


def _flat(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_flat(v)}" for k, v in value.items() if v not in (0, None))
    return number(value)
