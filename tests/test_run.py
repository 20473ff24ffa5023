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


def test_progress_slices_change_nothing(catalog: Catalog) -> None:
    scenario = virtsim.load_scenario(SCENARIOS / "mixed-stack.toml", catalog)
    seen: list[float] = []
    sliced = virtsim.run_scenario(scenario, catalog, progress=seen.append)
    whole = virtsim.run_scenario(scenario, catalog)
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(scenario.duration_s)
    assert sliced.to_json() == whole.to_json()
    assert {k: list(v) for k, v in sliced.tables.items()} == {
        k: list(v) for k, v in whole.tables.items()}
