"""The default figure of a sweep: each measure against the swept factor, one line per technology.

One panel per measure. The x axis is the sweep's ``figure.x`` factor (by
default the first numeric one; a factor of names is drawn at evenly spaced
positions), on a log scale when its levels are log-spaced. Each line is an
instance group's measure (or a whole-run measure) for one combination of
the other factors, drawn in its technology's colour
(:data:`virtsim.plotting.TECHNOLOGY_COLOURS`) with its confidence band
across replications; each group has its own line style. A point whose
runs carry a warning (the run ended before all instances were ready,
services saturated) is drawn hollow.

The figure reads the summary table only; it never re-runs anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from virtsim.plotting import SLIDE_STYLE, colour, label
from virtsim.result import Record
from virtsim.sweep_design import Factor, Sweep

DEFAULT_MEASURES = ("all_ready_s", "ready_p99_s", "memory_mib", "density", "service_p99_ms",
                    "slowdown_vs_native")
"""Group measures drawn when the sweep file names none (those the runs produced)."""

LINE_STYLES = ("-", "--", ":", "-.")
"""One line style per instance group (the colour is its technology's)."""

UNITS = {"_per_s": "per s", "_ms": "ms", "_mib": "MiB", "_s": "s"}
"""Unit of a measure by its name's ending (longest ending first)."""
TITLES = {"all_ready_s": "time until the whole group is ready",
          "ready_p50_s": "median time to ready", "ready_p99_s": "p99 time to ready",
          "memory_mib": "memory per instance", "density": "instances per host (density)",
          "service_p99_ms": "service p99 latency", "throughput_per_s": "throughput",
          "slowdown_vs_native": "batch slowdown against native"}


def x_factor(sweep: Sweep) -> Factor:
    """The factor on the x axis: the named one, else the first numeric, else the first."""
    if sweep.figure.x is not None:
        return next(f for f in sweep.factors if f.name == sweep.figure.x)
    return next((f for f in sweep.factors if f.numeric), sweep.factors[0])


def chosen_measures(sweep: Sweep, summary: Sequence[Record]) -> list[str]:
    """The measures to draw: the file's, else the default group measures that are there."""
    present = list(dict.fromkeys(str(r["measure"]) for r in summary))
    if sweep.figure.measures:
        return [m for m in sweep.figure.measures if m in present]
    return [m for m in DEFAULT_MEASURES if m in present] or present[:4]


def sweep_figure(sweep: Sweep, summary: Sequence[Record]) -> Figure:
    """Draw the sweep's figure from its summary table."""
    import matplotlib.pyplot as plt

    x = x_factor(sweep)
    measures = chosen_measures(sweep, summary) or ["(no measures)"]
    columns = 2 if len(measures) == 4 else min(len(measures), 3)
    rows = math.ceil(len(measures) / columns)
    with plt.rc_context(SLIDE_STYLE):  # type: ignore[arg-type]
        fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.4 * rows + 0.8),
                                 layout="constrained", squeeze=False)
    splits = [f.name for f in sweep.factors if f.name != x.name
              and (sweep.figure.lines is None or f.name in sweep.figure.lines)]
    for ax, measure in zip(axes.flat, measures, strict=False):
        _panel(ax, x, measure, [r for r in summary if r["measure"] == measure], splits)
    for ax in list(axes.flat)[len(measures):]:
        ax.set_visible(False)
    fig.suptitle(f"{sweep.name}: mean and {sweep.confidence:.0%} interval over "
                 f"{sweep.replications} replication{'s' if sweep.replications > 1 else ''}",
                 fontsize=SLIDE_STYLE["axes.titlesize"])
    handles, labels = _legend(axes)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3),
                   fontsize=SLIDE_STYLE["legend.fontsize"], frameon=False)
    return fig


def _panel(ax: Any, x: Factor, measure: str, rows: list[Record], splits: list[str]) -> None:
    positions = ({level: float(level) for level in x.levels} if x.numeric
                 else {level: float(i) for i, level in enumerate(x.levels)})
    series: dict[tuple[Any, ...], list[Record]] = {}
    for row in rows:
        key = (row["group"], row["technology"], *(row[s] for s in splits))
        series.setdefault(key, []).append(row)
    groups = list(dict.fromkeys(str(key[0]) for key in series))
    for (group, technology, *others), points in series.items():
        points.sort(key=lambda r: positions[r[x.name]])  # type: ignore[index]
        xs = [positions[r[x.name]] for r in points]  # type: ignore[index]
        mean = [float(r["mean"]) for r in points]  # type: ignore[arg-type]
        tech = str(technology) or "mixed"
        name = label(tech) + (f", {group}" if group else "")
        name += "".join(f", {s}={v}" for s, v in zip(splits, others, strict=True))
        style = LINE_STYLES[groups.index(str(group)) % len(LINE_STYLES)]
        ax.plot(xs, mean, marker="o", lw=2, ls=style, color=colour(tech), label=name)
        ax.fill_between(xs, [float(r["ci_low"]) for r in points],  # type: ignore[arg-type]
                        [float(r["ci_high"]) for r in points],  # type: ignore[arg-type]
                        color=colour(tech), alpha=0.18, lw=0)
        warned = [(px, m) for px, m, r in zip(xs, mean, points, strict=True) if r["warning"]]
        if warned:
            ax.plot(*zip(*warned, strict=True), ls="none", marker="o", ms=11, mfc="white",
                    mec=colour(tech), mew=2)
    if x.spacing == "log" and x.numeric:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
    means = [float(r["mean"]) for r in rows]  # type: ignore[arg-type]
    if means and min(means) > 0 and max(means) / min(means) > 30:
        ax.set_yscale("log")
    if not x.numeric or len(x.levels) <= 12:
        ax.set_xticks(list(positions.values()), [str(v) for v in positions])
        ax.minorticks_off()
    ax.set_title(TITLES.get(measure, measure), fontsize=SLIDE_STYLE["axes.labelsize"])
    ax.set_xlabel(x.name)
    ax.set_ylabel(_unit(measure))
    ax.grid(True, alpha=0.3)


def _unit(measure: str) -> str:
    for suffix, unit in UNITS.items():
        if measure.endswith(suffix) or f"{suffix}." in measure:
            return f"{measure} ({unit})"
    return measure


def _legend(axes: Any) -> tuple[list[Any], list[str]]:
    found: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            found.setdefault(text, handle)
    return list(found.values()), list(found)
