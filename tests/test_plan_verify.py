"""Tests for virtsim.plan_verify: on small cases the analytic plan agrees with a simulated run."""

from __future__ import annotations

from typing import Any

import pytest

from virtsim.catalog import Catalog
from virtsim.plan_verify import START_SLACK, verify
from virtsim.planning import plan


def small(technology: str, count: int = 12) -> dict[str, Any]:
    return {"name": "small", "hosts": ["m5d-metal"], "technologies": [technology],
            "workloads": [{"name": "web", "workload": "nginx", "count": count,
                           "image": "nginx-alpine", "vm": {"vcpus": 1, "memory_mib": 1024}}]}


@pytest.mark.parametrize("technology", ["container", "vm", "microvm", "kata"])
def test_small_plans_agree_with_their_simulation(catalog: Catalog, technology: str) -> None:
    result = plan(small(technology), catalog)
    rows = verify(result, catalog)
    measures = {r["measure"]: r for r in rows}
    for label in ("cold", "warm"):
        row = measures[f"{label} start of the fleet (s)"]
        assert row["agrees"], row  # within the analytic bounds, widened by START_SLACK
        assert row["simulated"] is not None
    assert measures["fits a host (density table)"]["agrees"]
    assert measures["overload warnings"]["simulated"] == 0
    assert measures["'web' saturated"]["agrees"]
    assert measures["'web' p99 latency (ms)"]["agrees"], measures["'web' p99 latency (ms)"]
    assert 0 < START_SLACK < 1


def test_verify_reports_a_difference_it_finds(catalog: Catalog) -> None:
    spec = small("container", 6)
    spec["workloads"][0]["rate_per_s"] = 200_000  # more than one nginx worker can serve
    result = plan(spec, catalog)
    assert result.chosen is None and "saturates" in result.verdicts["container on m5d-metal"]
    rows = {r["measure"]: r for r in verify(result, catalog)}
    assert rows["'web' saturated"]["analytic"] is True
    assert rows["'web' saturated"]["simulated"] is True
