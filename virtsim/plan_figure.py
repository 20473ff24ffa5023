"""The plan figure: hosts and cost, density against what binds it, and fleet start time.

Three panels, one bar per option, coloured by technology
(:data:`virtsim.plotting.TECHNOLOGY_COLOURS`), drawn from the answer's
tables only: hosts needed (the cost per hour written on each bar where the
plan gives prices), instances on the fullest host with the binding resource
named, and the start of the whole fleet cold and warm with the plan's limits
as dashed lines. The chosen option is outlined.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from virtsim.planning import PlanResult
from virtsim.plotting import SLIDE_STYLE, colour, label, save_figure


def draw_plan(result: PlanResult, path: Path) -> None:
    """Draw the answer's three panels to ``path`` (.png or .svg), written atomically."""
    rows = result.tables()["options"]
    names = [f"{label(str(r['technology']))}\n{r['host']}" if len(result.plan.hosts) > 1
             else label(str(r["technology"])) for r in rows]
    colours = [colour(str(r["technology"])) for r in rows]
    edges = ["black" if r["chosen"] else "none" for r in rows]
    y = np.arange(len(rows))
    with plt.rc_context(cast(Any, SLIDE_STYLE)):  # the stubs want literal rcParams keys
        fig, (hosts, density, start) = plt.subplots(1, 3, figsize=(18, 1.2 * len(rows) + 3),
                                                    sharey=True, layout="constrained")
    fig.suptitle(f"{result.plan.name}: {result.answer()}", fontsize=15)
    counts = [float(r["hosts"] or 0) for r in rows]
    hosts.barh(y, counts, color=colours, edgecolor=edges, linewidth=2)
    for k, r in enumerate(rows):
        text = f"{r['hosts']}" + (f"  ({r['cost_per_hour']:,.2f}/h)"
                                  if r["cost_per_hour"] is not None else "")
        hosts.text(counts[k], k, " " + (text if r["hosts"] else "does not fit"), va="center")
    hosts.set(title="Hosts needed (cost per hour)", xlabel="hosts", yticks=y)
    hosts.set_yticklabels(names)
    hosts.set_xlim(0, max([*counts, 1.0]) * 1.45)
    per_host = [float(r["per_host"] or 0) for r in rows]
    density.barh(y, per_host, color=colours, edgecolor=edges, linewidth=2)
    groups = result.tables()["groups"]
    alone = [float(g["density_alone"] or 0) for g in groups] if len(result.plan.workloads) == 1 \
        else []
    if alone:  # one group: how many would fit, beside how many the plan puts there
        density.barh(y, alone, color="none", edgecolor=colours, linewidth=2, linestyle="--")
        for k, g in enumerate(groups):
            density.text(max(alone[k], per_host[k]), k, f" {g['density_alone']} fit "
                         f"({g['binding_alone']}); {rows[k]['per_host']} placed", va="center")
        density.set_title("Instances per host: fit (dashed) and placed")
    else:
        for k, r in enumerate(rows):
            density.text(per_host[k], k, f" {r['per_host']} ({r['binding']})", va="center")
        density.set_title("Instances on the fullest host (binding resource)")
    top = max([*per_host, *alone, 1.0])
    if top > 20 * max(min(v for v in [*per_host, *alone] if v > 0) if any(per_host) else 1, 1):
        density.set_xscale("log")
        density.set_xlim(1, top * 30)
    else:
        density.set_xlim(0, top * 1.6)
    density.set_xlabel("instances")
    cold = [_num(r["cold_start_s"]) for r in rows]
    warm = [_num(r["warm_start_s"]) for r in rows]
    start.barh(y - 0.2, cold, height=0.4, color=colours, edgecolor=edges, linewidth=2)
    start.barh(y + 0.2, warm, height=0.4, color=colours, alpha=0.5, edgecolor=edges,
               linewidth=2, hatch="//")
    handles: list[Any] = [Patch(facecolor="#999999", label="cold (images pulled)"),
                          Patch(facecolor="#cccccc", hatch="//", label="warm (images cached)")]
    limits = result.plan.constraints
    for limit, style, what in ((limits.cold_start_s, "--", "cold"),
                               (limits.warm_start_s, ":", "warm")):
        if limit is not None:
            handles.append(start.axvline(limit, color="black", linestyle=style, linewidth=1.5,
                                         label=f"{what} limit {limit:g} s"))
    start.set(title="Start of the whole fleet", xlabel="seconds (log above 1 s)")
    start.set_xscale("symlog", linthresh=1.0)
    start.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    for ax in (hosts, density, start):
        ax.grid(True, axis="x", alpha=0.3)
    hosts.invert_yaxis()
    try:
        save_figure(fig, path, dpi=110)  # atomic, no dates, fixed SVG ids
    finally:
        plt.close(fig)


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
