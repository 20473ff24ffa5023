"""Distributions: validation, printing, means and seeded sampling."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from virtsim.distributions import Constant, Distribution, LogNormal, Triangular, Uniform, Weibull

ADAPTER: TypeAdapter[Distribution] = TypeAdapter(Distribution)


@pytest.mark.parametrize(("spec", "mean"), [
    ({"dist": "constant", "value": 2.0}, 2.0),
    ({"dist": "uniform", "low": 1, "high": 3}, 2.0),
    ({"dist": "triangular", "low": 0, "mode": 3, "high": 3}, 2.0),
    ({"dist": "lognormal", "mean": 2.0, "cv": 0.5}, 2.0),
    ({"dist": "exponential", "mean": 2.0}, 2.0),
])
def test_sample_mean_matches_declared_mean(spec: dict[str, object], mean: float) -> None:
    dist = ADAPTER.validate_python(spec)
    assert dist.mean == pytest.approx(mean)
    draws = dist.sample_many(np.random.default_rng(0), 20_000)
    assert draws.mean() == pytest.approx(mean, rel=0.03)
    assert (draws >= 0).all()


def test_weibull_mean() -> None:
    dist = Weibull(shape=1.0, scale=3.0)
    assert dist.mean == pytest.approx(3.0)


@pytest.mark.parametrize("spec", [
    {"dist": "uniform", "low": 3, "high": 1},
    {"dist": "triangular", "low": 0, "mode": 5, "high": 3},
    {"dist": "lognormal", "mean": -1, "cv": 0.1},
    {"dist": "constant", "value": 1, "extra": 2},
    {"dist": "gamma", "shape": 1},
])
def test_invalid_specs_are_rejected(spec: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(spec)


def test_printing() -> None:
    assert str(LogNormal(mean=1.27, cv=0.2)) == "LogNormal(mean=1.27, cv=0.2)"
    assert str(Uniform(low=1, high=2)) == "Uniform(low=1, high=2)"
    assert str(Constant(value=3)) == "Constant(value=3)"
    assert str(Triangular(low=1, mode=2, high=3)) == "Triangular(low=1, mode=2, high=3)"


def test_same_generator_state_same_draw() -> None:
    dist = LogNormal(mean=1.0, cv=0.3)
    assert dist.sample(np.random.default_rng(9)) == dist.sample(np.random.default_rng(9))
