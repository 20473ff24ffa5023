"""Platforms: Docker Desktop builds its Linux VM; the native engine does not."""

from __future__ import annotations

from typing import Any

import pytest

import virtsim
from virtsim.catalog import Catalog
from virtsim.errors import InputError


def run(catalog: Catalog, profile: str, platform: str) -> virtsim.Result:
    host: dict[str, Any] = {"name": "h", "profile": profile, "platform": platform,
                            "containers": [{"name": "c", "count": 3, "image": "alpine"}]}
    return virtsim.run_scenario(virtsim.parse_scenario({"hosts": [host]}, catalog), catalog)


def test_desktop_nests_containers_in_a_linux_vm(catalog: Catalog) -> None:
    scenario = virtsim.parse_scenario({"hosts": [{
        "name": "h", "profile": "macbook-arm64", "platform": "docker-desktop-mac",
        "containers": [{"name": "c", "image": "alpine"}]}]}, catalog)
    graph = virtsim.build_graph(scenario, catalog)
    assert graph.kernel_of("h/docker-desktop/c") == "h/docker-desktop/kernel"
    assert "h/apple-vz" in graph.ancestors("h/docker-desktop/c")


@pytest.mark.parametrize(("profile", "platform"), [
    ("macbook-arm64", "docker-desktop-mac"), ("windows-laptop", "docker-desktop-windows-wsl2"),
    ("laptop", "docker-desktop-linux")])
def test_desktop_costs_more_than_the_native_engine(profile: str, platform: str,
                                                   catalog: Catalog) -> None:
    native = run(catalog, "laptop", "docker-engine-linux")
    desktop = run(catalog, profile, platform)
    assert (desktop.metrics["time_to_ready_s"]["max"]
            > native.metrics["time_to_ready_s"]["max"])
    assert desktop.metrics["footprint_mib"]["memory"] > native.metrics["footprint_mib"]["memory"]


def test_windows_server_runs_windows_containers_natively(catalog: Catalog) -> None:
    host = {"name": "w", "profile": "windows-server", "platform": "windows-server-containers",
            "containers": [{"name": "c", "image": "nanoserver"}]}
    result = virtsim.run_scenario(virtsim.parse_scenario({"hosts": [host]}, catalog), catalog)
    assert "failed_to_start" not in result.metrics


def test_platform_for_another_os_is_an_input_error(catalog: Catalog) -> None:
    with pytest.raises(InputError, match=r"hosts\[0\].platform"):
        virtsim.parse_scenario({"hosts": [{"name": "h", "profile": "laptop",
                                           "platform": "docker-desktop-mac"}]}, catalog)
