"""Tests for virtsim.overload: a run that asks more than its machines have says so."""

from __future__ import annotations

from pathlib import Path

from tests.paths import SCENARIOS
from virtsim.catalog import Catalog
from virtsim.run import run_scenario
from virtsim.scenario import load_scenario, parse_scenario


def test_too_many_services_on_one_host_warn_of_placement_and_saturation(
        catalog: Catalog) -> None:
    scenario = parse_scenario({"duration_s": 60, "hosts": [{
        "name": "node", "profile": "m5d-metal", "cached_images": ["nginx-alpine"],
        "containers": [{"name": "web", "count": 300, "image": "nginx-alpine",
                        "workload": "web-service"}]}]}, catalog)
    warnings = run_scenario(scenario, catalog).metrics["warnings"]
    assert isinstance(warnings, list)
    text = "\n".join(warnings)
    assert "300 'web' placed on node where" in text and "cpu-demand" in text
    assert "services saturated" in text


def test_a_scenario_that_fits_has_no_warnings(catalog: Catalog) -> None:
    result = run_scenario(load_scenario(SCENARIOS / "alpine-warm.toml", catalog), catalog)
    assert "warnings" not in result.metrics


def test_the_command_line_warns_on_stderr_and_in_the_summary(
        catalog: Catalog, tmp_path: Path) -> None:
    from tests.test_cli import virtsim

    path = tmp_path / "crowded.toml"
    path.write_text('duration_s = 3\n[[hosts]]\nname = "node"\nprofile = "laptop"\n'
                    '[[hosts.containers]]\nname = "web"\ncount = 200\nimage = "alpine"\n'
                    'workload = "web-service"\ncpus = 1\n', encoding="utf-8")
    proc = virtsim("run", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "virtsim: warning: 200 'web' placed on node" in proc.stderr
    assert "  warning: 200 'web' placed on node" in proc.stdout
    assert "instances not ready when the run ended at 3 s" in proc.stderr
