"""Sweep summaries: Student-t quantiles, intervals, and warnings counted per point."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtsim.sweep_summary import RunOutcome, interval, point_warning, t_quantile, t_within

# Two-sided 95% and one-sided 95% critical values of Student's t (standard tables).
TABLE = {1: (12.706205, 6.313752), 2: (4.302653, 2.919986), 3: (3.182446, 2.353363),
         5: (2.570582, 2.015048), 10: (2.228139, 1.812461), 30: (2.042272, 1.697261)}


@pytest.mark.parametrize("df", sorted(TABLE))
def test_t_quantiles_match_the_tables(df: int) -> None:
    two_sided, one_sided = TABLE[df]
    assert t_quantile(0.975, df) == pytest.approx(two_sided, abs=1e-6)
    assert t_quantile(0.95, df) == pytest.approx(one_sided, abs=1e-6)
    assert t_quantile(0.025, df) == pytest.approx(-two_sided, abs=1e-6)


def test_t_tends_to_the_normal() -> None:
    normal = statistics.NormalDist().inv_cdf(0.975)
    assert t_quantile(0.975, 5000) == pytest.approx(normal, abs=1e-3)


@given(st.integers(1, 200), st.floats(0.0, 50.0))
def test_t_within_is_a_probability_rising_with_t(df: int, t: float) -> None:
    low, high = t_within(t, df), t_within(t + 1.0, df)
    assert 0.0 <= low <= high + 1e-12 and high <= 1.0


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30), st.floats(0.5, 0.99))
def test_the_interval_holds_the_mean(values: list[float], confidence: float) -> None:
    mean, std, low, high = interval(values, confidence)
    assert low <= mean + 1e-6 * (1 + abs(mean)) and mean <= high + 1e-6 * (1 + abs(mean))
    assert mean == pytest.approx(math.fsum(values) / len(values))
    if len(values) == 1:
        assert std == 0.0 and low == high == mean


def test_interval_of_known_sample() -> None:
    mean, std, low, high = interval([1.0, 2.0, 3.0], 0.95)
    half = 4.302653 * 1.0 / math.sqrt(3)
    assert (mean, std) == (2.0, 1.0)
    assert (low, high) == pytest.approx((2.0 - half, 2.0 + half), abs=1e-6)


def test_point_warning_counts_runs_per_kind() -> None:
    def run(*warnings: str) -> RunOutcome:
        return RunOutcome("k", "p", 0, 1, warnings=warnings)

    text = point_warning([run("3 of 9 instances not ready when the run ended at 5 s: x"),
                          run("1 of 9 instances not ready when the run ended at 5 s: x",
                              "2 of 4 services saturated: y"), run()])
    assert text == ("2 of 3 runs: ended before all instances were ready (lengthen "
                    "duration_s); 1 of 3 runs: services saturated")
