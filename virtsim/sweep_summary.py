"""Sweep tables: every run's measures, and per point the mean and its confidence interval.

From the finished runs of a sweep (:mod:`virtsim.sweep_store`) this builds
tidy tables, each sorted by point and replication so they are the same
whatever executed the runs and in whatever order they finished:

- ``runs``: one row per run, group and measure (``group`` is empty for a
  measure of the whole run);
- ``groups``: one row per run and instance group, the group measures side
  by side, with the binding resource;
- ``summary``: one row per point, group and measure: replications, mean,
  standard deviation and a Student-t confidence interval of the mean
  across replications, the most frequent binding resource for ``density``,
  and a warning when some runs ended before all their instances were ready
  or saturated their services;
- ``failures``: one row per run that raised, with its error.

The t quantile is computed here, from the exact distribution function for
whole degrees of freedom, so SciPy is not needed.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from virtsim.result import Record, Scalar
from virtsim.sweep_design import Sweep

GROUP_MEASURES = ("instances", "ready", "all_ready_s", "ready_p50_s", "ready_p99_s",
                  "memory_mib", "density",
                  "service_p99_ms", "throughput_per_s", "slowdown_vs_native")
"""Numeric group measures, in the order tables show them."""


@dataclass(frozen=True)
class RunOutcome:
    """What one run of a sweep produced, as stored in its file."""

    key: str
    point: str
    replication: int
    seed: int
    measures: dict[str, float] = field(default_factory=dict)
    groups: dict[str, dict[str, Scalar]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """As a JSON object."""
        return {"key": self.key, "point": self.point, "replication": self.replication,
                "seed": self.seed, "measures": self.measures, "groups": self.groups,
                "warnings": list(self.warnings), "error": self.error}

    def normalised(self) -> RunOutcome:
        """The outcome as it reads back from its file (so fresh and resumed runs agree)."""
        return RunOutcome.from_json(json.loads(json.dumps(self.to_json())))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunOutcome:
        """Back from :meth:`to_json`."""
        return cls(key=str(data["key"]), point=str(data["point"]),
                   replication=int(data["replication"]), seed=int(data["seed"]),
                   measures={str(k): float(v) for k, v in data["measures"].items()},
                   groups={str(k): dict(v) for k, v in data["groups"].items()},
                   warnings=tuple(data["warnings"]), error=str(data["error"]))


def t_within(t: float, df: int) -> float:
    """P(-t < T < t) for Student's t with ``df`` degrees of freedom (``t`` >= 0).

    The finite series for whole degrees of freedom (Abramowitz and Stegun
    26.7.3 and 26.7.4), in the angle ``atan(t / sqrt(df))``.
    """
    theta = math.atan(t / math.sqrt(df))
    cos2 = math.cos(theta) ** 2
    term, total = 1.0, 1.0
    if df % 2:  # odd: 2/pi (theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...))
        if df == 1:
            return min(1.0, 2 * theta / math.pi)
        for k in range(1, (df - 1) // 2):
            term *= cos2 * (2 * k) / (2 * k + 1)
            total += term
        return min(1.0, 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total))
    for k in range(1, df // 2):  # even: sin (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...)
        term *= cos2 * (2 * k - 1) / (2 * k)
        total += term
    return min(1.0, math.sin(theta) * total)  # rounding may pass 1 far in the tail


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (by bisection)."""
    if df < 1:
        raise ValueError('"df" must be >= 1')
    if not 0 < p < 1:
        raise ValueError('"p" must be between 0 and 1')
    if p < 0.5:
        return -t_quantile(1 - p, df)
    target = 2 * p - 1
    low, high = 0.0, 1.0
    while t_within(high, df) < target:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if t_within(middle, df) < target:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * high:
            break
    return (low + high) / 2


def interval(values: Sequence[float], confidence: float) -> tuple[float, float, float, float]:
    """Mean, sample standard deviation and the two ends of the t interval of the mean.

    One value has no spread: its interval is the value itself (std 0).
    """
    mean = math.fsum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0, mean, mean
    std = statistics.stdev(values)
    half = t_quantile(0.5 + confidence / 2, len(values) - 1) * std / math.sqrt(len(values))
    return mean, std, mean - half, mean + half


def _factor_columns(sweep: Sweep, point: str) -> Record:
    found = next(p for p in sweep.points if p.id == point)
    return {"point": found.index, "point_id": found.id, **dict(found.values)}


def ordered(sweep: Sweep, outcomes: Iterable[RunOutcome]) -> list[RunOutcome]:
    """Outcomes in the sweep's order: point by point, replication by replication."""
    order = {run.key: i for i, run in enumerate(sweep.runs)}
    return sorted((o for o in outcomes if o.key in order), key=lambda o: order[o.key])


def _finished(sweep: Sweep, outcomes: Sequence[RunOutcome]
              ) -> Iterable[tuple[RunOutcome, Record]]:
    """Each run that finished, with the columns that name it (factors, replication, seed)."""
    for outcome in outcomes:
        if not outcome.error:
            yield outcome, {**_factor_columns(sweep, outcome.point),
                            "replication": outcome.replication, "seed": outcome.seed}


def runs_table(sweep: Sweep, outcomes: Sequence[RunOutcome]) -> list[Record]:
    """One row per run, group and measure."""
    rows: list[Record] = []
    for outcome, head in _finished(sweep, outcomes):
        for measure, value in outcome.measures.items():
            rows.append({**head, "group": "", "technology": "", "measure": measure,
                         "value": value})
        for group, record in outcome.groups.items():
            for measure in GROUP_MEASURES:
                level = record.get(measure)
                if level is not None:
                    rows.append({**head, "group": group, "technology": record["technology"],
                                 "measure": measure, "value": level})
    return rows


def groups_table(sweep: Sweep, outcomes: Sequence[RunOutcome]) -> list[Record]:
    """One row per run and group: its measures side by side."""
    rows: list[Record] = []
    for outcome, head in _finished(sweep, outcomes):
        for group, record in outcome.groups.items():
            rows.append({**head, "group": group, "technology": record["technology"],
                         "kind": record["kind"],
                         **{m: record.get(m) for m in GROUP_MEASURES},
                         "binding": record.get("binding")})
    return rows


def summary_table(sweep: Sweep, outcomes: Sequence[RunOutcome]) -> list[Record]:
    """Per point, group and measure: mean and confidence interval across replications."""
    rows: list[Record] = []
    by_point: dict[str, list[RunOutcome]] = {}
    for outcome in outcomes:
        if not outcome.error:
            by_point.setdefault(outcome.point, []).append(outcome)
    for point in sweep.points:
        runs = by_point.get(point.id, [])
        if not runs:
            continue
        head = {**_factor_columns(sweep, point.id), "runs": len(runs)}
        warning = point_warning(runs)
        for (group, technology, measure), values, binding in _series(runs):
            mean, std, low, high = interval(values, sweep.confidence)
            rows.append({**head, "group": group, "technology": technology, "measure": measure,
                         "n": len(values), "mean": mean, "std": std, "ci_low": low,
                         "ci_high": high, "binding": binding, "warning": warning})
    return rows


def _series(runs: Sequence[RunOutcome]
            ) -> list[tuple[tuple[str, str, str], list[float], str]]:
    values: dict[tuple[str, str, str], list[float]] = {}
    bindings: dict[str, Counter[str]] = {}
    for run in runs:
        for measure, value in run.measures.items():
            values.setdefault(("", "", measure), []).append(value)
        for group, record in run.groups.items():
            technology = str(record["technology"])
            for measure in GROUP_MEASURES:
                level = record.get(measure)
                if isinstance(level, int | float) and math.isfinite(level):
                    values.setdefault((group, technology, measure), []).append(float(level))
            if record.get("binding"):
                bindings.setdefault(group, Counter())[str(record["binding"])] += 1
    series = []
    for key, found in values.items():
        counts = bindings.get(key[0]) if key[2] == "density" else None
        binding = min(counts, key=lambda b: (-counts[b], b)) if counts else ""
        series.append((key, found, binding))
    return series


def point_warning(runs: Sequence[RunOutcome]) -> str:
    """The point's warnings, each with how many of its runs it concerns."""
    counts: Counter[str] = Counter()
    for run in runs:
        for text in dict.fromkeys(_kind(w) for w in run.warnings):
            counts[text] += 1
    return "; ".join(f"{n} of {len(runs)} runs: {text}" for text, n in sorted(counts.items()))


WARNING_KINDS = (("not ready when the run ended", "ended before all instances were ready "
                  "(lengthen duration_s)"),
                 ("saturated", "services saturated"),
                 ("where", "more instances placed than fit"),
                 ("exceeds its", "footprint exceeds the host's memory"))
"""A fragment of each overload finding (virtsim.overload) and what the summary calls it."""


def _kind(warning: str) -> str:
    """A warning without its run-specific counts, so the runs of one point add up."""
    return next((kind for fragment, kind in WARNING_KINDS if fragment in warning), warning)


def failures_table(sweep: Sweep, outcomes: Sequence[RunOutcome]) -> list[Record]:
    """One row per run that raised."""
    return [{**_factor_columns(sweep, o.point), "replication": o.replication, "seed": o.seed,
             "error": o.error} for o in outcomes if o.error]
