"""Platforms: Docker Desktop builds its Linux VM; the native engine does not."""

from __future__ import annotations

from typing import Any

import pytest

import virtsim
from tests.paths import SCENARIOS
from virtsim.catalog import Catalog
from virtsim.errors import InputError
from virtsim.profiles import LayerCostProfile, PlatformProfile


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


def run_workload(catalog: Catalog, profile: str, platform: str) -> virtsim.Result:
    host: dict[str, Any] = {"name": "h", "profile": profile, "platform": platform,
                            "cached_images": ["alpine"],
                            "containers": [{"name": "c", "count": 2, "image": "alpine",
                                            "workload": "linpack"}]}
    scenario = {"duration_s": 10_000, "hosts": [host]}  # long enough for Linpack to finish
    return virtsim.run_scenario(virtsim.parse_scenario(scenario, catalog), catalog)


@pytest.mark.parametrize(("profile", "platform"), [
    ("macbook-arm64", "docker-desktop-mac"), ("macbook-intel", "docker-desktop-mac-hyperkit"),
    ("windows-laptop", "docker-desktop-windows-wsl2"),
    ("windows-laptop", "docker-desktop-windows-hyperv"), ("laptop", "docker-desktop-linux")])
def test_desktop_costs_more_in_start_memory_and_performance(
        profile: str, platform: str, catalog: Catalog) -> None:
    native, desktop = run(catalog, "laptop", "docker-engine-linux"), run(catalog, profile, platform)
    assert (desktop.metrics["time_to_ready_s"]["max"]
            > native.metrics["time_to_ready_s"]["max"])
    assert desktop.metrics["footprint_mib"]["memory"] > native.metrics["footprint_mib"]["memory"]
    native = run_workload(catalog, "laptop", "docker-engine-linux")
    desktop = run_workload(catalog, profile, platform)
    assert (desktop.metrics["slowdown_vs_native"]["mean"]
            > native.metrics["slowdown_vs_native"]["mean"])
    assert desktop.metrics["compatibility"] == {"vm": 2}
    assert native.metrics["compatibility"] == {"native": 2}


def test_hyperv_isolation_pays_a_vm_and_contains_an_escape(catalog: Catalog) -> None:
    scenario = virtsim.load_scenario(SCENARIOS / "windows-containers.toml", catalog)
    result = virtsim.run_scenario(scenario, catalog)
    ready = {str(r["instance"]): float(r["ready_s"]) for r in result.table("instances")
             if r["ready_s"] is not None and not r["restart"]}
    process = [t for i, t in ready.items() if "/process-" in i]
    hyperv = [t for i, t in ready.items() if "/hyperv-" in i]
    assert len(process) == len(hyperv) == 4
    assert min(hyperv) > max(process) * 0.5 and sum(hyperv) > sum(process)
    memory: dict[str, float] = {}
    for row in result.table("instance_footprint"):
        memory[str(row["instance"])] = float(row["memory_mib"])  # type: ignore[arg-type]
    # the utility VM holds what its kernel and boot touched, still several times a process
    assert memory["winsrv/hyperv-0"] > 5 * memory["winsrv/process-0"]
    faults = {str(r["target"]): int(r["instances"]) for r in result.table("faults")}
    assert faults == {"winsrv/hyperv-0": 1, "winsrv/process-0": 8}
    outcomes = {str(r["instance"]): r["outcome"] for r in result.table("compatibility")}
    assert outcomes["winsrv/hyperv-0"] == "vm" and outcomes["winsrv/process-0"] == "native"


def test_windows_image_on_a_newer_build_only(catalog: Catalog) -> None:
    host = {"name": "w", "profile": "windows-server", "kernel": "windows-server-2019",
            "platform": "windows-server-containers",
            "containers": [{"name": "c", "image": "nanoserver"}]}
    result = virtsim.run_scenario(virtsim.parse_scenario({"hosts": [host]}, catalog), catalog)
    assert "incompatible with a 10.0.17763 host" in result.metrics["failed_to_start"]["w/c"]


def test_every_platform_resolves_its_profiles(catalog: Catalog) -> None:
    layer_costs = set(catalog.names("layer_costs"))
    for name in catalog.names("platforms"):
        platform = catalog.require(PlatformProfile, name)
        assert platform.engine in catalog.names("engines")
        assert platform.runtime in catalog.names("runtimes")
        if platform.hypervisor:
            assert platform.kernel in catalog.names("kernels")
            assert platform.disk_image in catalog.names("disk_images")
        if platform.file_sharing:
            assert platform.file_sharing in layer_costs
            assert catalog.require(LayerCostProfile, platform.file_sharing).disk_seq < 1


def test_catalog_lists_platforms(capsys: pytest.CaptureFixture[str]) -> None:
    from virtsim.cli import main

    assert main(["catalog", "platforms"]) == 0
    out = capsys.readouterr().out
    for name in ("docker-desktop-mac", "docker-desktop-windows-wsl2", "docker-engine-linux",
                 "windows-server-containers", "windows-server-hyperv-containers"):
        assert f"  {name} " in out
