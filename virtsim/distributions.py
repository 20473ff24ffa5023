"""Probability distributions for calibrated quantities (stage times, rates).

A distribution is a small frozen object that validates its own parameters,
prints as ``LogNormal(mean=1.27, cv=0.2)`` and knows its mean. In a
catalogue file it is written as an inline table with a ``dist`` key::

    kernel_s = { dist = "lognormal", mean = 1.27, cv = 0.2 }

Sampling always takes the caller's :class:`numpy.random.Generator`; there is
no global random state.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from functools import cached_property
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SMALLEST = 1e-9
"""Smallest magnitude of a non-zero decimal input: below it, dividing by it overflows."""

LARGEST = 1e12
"""Largest magnitude of a decimal input: products of a few stay finite and fit an int64."""


def check_magnitude(value: Any) -> Any:
    """``value`` if it is not a float, 0, or of a magnitude in [SMALLEST, LARGEST].

    Raises:
        ValueError: A float of another magnitude (``5e-324``, ``1e308``).
    """
    if isinstance(value, float) and value != 0 and not SMALLEST <= abs(value) <= LARGEST:
        raise ValueError(f"0 or a number of magnitude from {SMALLEST:g} to {LARGEST:g}")
    return value


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _sane_magnitude(cls, value: Any) -> Any:
        return check_magnitude(value)

    @property
    @abstractmethod
    def mean(self) -> float:
        """The distribution's mean."""

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value."""
        return float(self.sample_many(rng, 1)[0])

    @abstractmethod
    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values as a float array."""

    def __str__(self) -> str:
        fields = ", ".join(f"{k}={v:g}" for k, v in self.model_dump().items() if k != "dist")
        return f"{type(self).__name__}({fields})"


class Constant(_Dist):
    """Always the same value (use only where the source gives no spread)."""

    dist: Literal["constant"] = "constant"
    value: float = Field(ge=0)

    @property
    def mean(self) -> float:
        return self.value

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class Uniform(_Dist):
    """Uniform on ``[low, high]``: a published range with nothing known inside it."""

    dist: Literal["uniform"] = "uniform"
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"'high' ({self.high}) must be >= 'low' ({self.low})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Triangular(_Dist):
    """Triangular on ``[low, high]`` with its peak at ``mode`` (typical and range known)."""

    dist: Literal["triangular"] = "triangular"
    low: float = Field(ge=0)
    mode: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError("need low <= mode <= high")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.low == self.high:
            return np.full(n, self.low)
        return rng.triangular(self.low, self.mode, self.high, n)


class LogNormal(_Dist):
    """Log-normal with a given mean and coefficient of variation: positive, right-skewed.

    Service and boot times are skewed to the right; a log-normal keeps them
    positive and has a long tail like the measured p99s.
    """

    dist: Literal["lognormal"] = "lognormal"
    mean_value: float = Field(gt=0, alias="mean")
    cv: float = Field(ge=0, le=5)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, strict=True,
                              allow_inf_nan=False)

    @property
    def mean(self) -> float:
        return self.mean_value

    @cached_property
    def _sigma_mu(self) -> tuple[float, float]:
        sigma2 = math.log1p(self.cv**2)
        return math.sqrt(sigma2), math.log(self.mean_value) - sigma2 / 2

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value (the same draw as ``sample_many(rng, 1)[0]``, without an array)."""
        sigma, mu = self._sigma_mu
        return float(rng.lognormal(mu, sigma))

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        sigma, mu = self._sigma_mu
        return rng.lognormal(mu, sigma, n)

    def __str__(self) -> str:
        return f"LogNormal(mean={self.mean_value:g}, cv={self.cv:g})"


class Exponential(_Dist):
    """Exponential with a given mean: memoryless waits such as failure arrivals."""

    dist: Literal["exponential"] = "exponential"
    mean_value: float = Field(gt=0, alias="mean")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, strict=True,
                              allow_inf_nan=False)

    @property
    def mean(self) -> float:
        return self.mean_value

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_value, n)

    def __str__(self) -> str:
        return f"Exponential(mean={self.mean_value:g})"


class Weibull(_Dist):
    """Weibull with a shape and a scale: times between failures with a changing hazard."""

    dist: Literal["weibull"] = "weibull"
    shape: float = Field(ge=0.1, le=100, description="below 0.1 the mean and the draws "
                         "overflow (published failure-time shapes lie within 0.5-5)")
    scale: float = Field(gt=0)

    @property
    def mean(self) -> float:
        return self.scale * math.gamma(1 + 1 / self.shape)

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.scale * rng.weibull(self.shape, n)


Distribution = Annotated[
    Constant | Uniform | Triangular | LogNormal | Exponential | Weibull,
    Field(discriminator="dist"),
]
"""Any distribution, chosen in a file by its ``dist`` key."""
