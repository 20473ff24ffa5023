"""Running scenarios: every bundled example runs, and the models report what they promise."""

from __future__ import annotations

from pathlib import Path

import pytest

import virtsim
from tests.paths import SCENARIOS
from virtsim.catalog import Catalog


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_bundled_scenario_runs(path: Path, catalog: Catalog) -> None:
    result = virtsim.run_scenario(virtsim.load_scenario(path, catalog), catalog)
    assert result.metrics["instances"] > 0
    assert result.table("nodes")
    assert result.table("host_footprint")
    assert "time_to_ready_s" in result.metrics or "failed_to_start" in result.metrics
