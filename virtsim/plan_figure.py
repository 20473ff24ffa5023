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
    for k, r in enumerate(rows):
        density.text(per_host[k], k, f" {r['per_host']} ({r['binding']})", va="center")
    density.set(title="Instances on the fullest host (binding resource)", xlabel="instances")
    density.set_xlim(0, max([*per_host, 1.0]) * 1.6)
    cold = [_num(r["cold_start_s"]) for r in rows]
    warm = [_num(r["warm_start_s"]) for r in rows]
    start.barh(y - 0.2, cold, height=0.4, color=colours, edgecolor=edges, linewidth=2,
               label="cold (images pulled)")
    start.barh(y + 0.2, warm, height=0.4, color=colours, alpha=0.5, edgecolor=edges,
               linewidth=2, hatch="//", label="warm (images cached)")
    limits = result.plan.constraints
    for limit, style in ((limits.cold_start_s, "--"), (limits.warm_start_s, ":")):
        if limit is not None:
            start.axvline(limit, color="black", linestyle=style, linewidth=1.5)
    start.set(title="Start of the whole fleet", xlabel="seconds")
    start.set_xscale("symlog", linthresh=1.0)
    start.legend(loc="lower right")
    for ax in (hosts, density, start):
        ax.grid(True, axis="x", alpha=0.3)
    hosts.invert_yaxis()
    try:
        save_figure(fig, path, dpi=110)  # atomic, no dates, fixed SVG ids
    finally:
        plt.close(fig)


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
