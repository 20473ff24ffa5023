"""Claim experiments C1, C2, C3 and C6 at tiny size: their tables say what the claims need.

The generic smoke test (every experiment runs, draws and decides) lives in
``tests/test_experiments.py``; these check the numbers each of these four
experiments rests its verdict on, and that a seed gives byte-identical CSV.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from types import ModuleType

import pytest

from virtsim.experiment import VERDICTS, Tables, load_experiment
from virtsim.result import write_table

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
NAMES = ("c01_stack", "c02_footprint", "c03_startup", "c06_use_cases")


def experiment(name: str) -> ModuleType:
    return load_experiment(EXPERIMENTS / f"{name}.py")


_CACHE: dict[tuple[str, int], Tables] = {}


def tables(name: str, seed: int = 1) -> Tables:
    """Tiny-size tables, computed once per module and seed for the whole file."""
    if (name, seed) not in _CACHE:
        _CACHE[(name, seed)] = experiment(name).run("tiny", seed)
    return _CACHE[(name, seed)]


def csv_text(result: Tables, folder: Path) -> dict[str, str]:
    """Each table as the CSV text ``virtsim reproduce`` writes."""
    out = {}
    for table, records in result.items():
        write_table(folder / f"{table}.csv", records)
        out[table] = (folder / f"{table}.csv").read_text(encoding="utf-8")
    return out


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_identical_csv_with_plain_numbers(name: str, tmp_path: Path) -> None:
    first = csv_text(tables(name), tmp_path)
    again = csv_text(experiment(name).run("tiny", 1), tmp_path)
    assert first == again
    assert all("np." not in text for text in first.values())


@pytest.mark.parametrize("name", NAMES)
def test_verdict_and_figure_names_follow_the_contract(name: str) -> None:
    module = experiment(name)
    finding = module.findings(tables(name))
    assert finding.claim == module.CLAIM
    assert finding.verdict in VERDICTS
    assert finding.reason and finding.key_numbers
    prefix = f"c{int(module.CLAIM[1:]):02d}-"
    assert all(f.name.startswith(prefix) for f in module.figures())


def test_c01_vms_bring_a_kernel_and_runc_shares_the_host_kernel() -> None:
    stacks = {r["technology"]: r for r in tables("c01_stack")["stacks"]}
    assert stacks["vm"]["kernels"] == 2 and stacks["vm"]["nearest_kernel_role"] == "guest"
    assert stacks["microvm"]["own_kernel"] and stacks["microvm"]["hypervisor_on_path"]
    assert stacks["container"]["kernels"] == 1
    assert stacks["container"]["nearest_kernel_role"] == "host"
    assert stacks["gvisor"]["nearest_kernel_role"] == "sandbox"
    assert int(stacks["vm"]["layers_between"]) > int(stacks["container"]["layers_between"])  # type: ignore[arg-type]


def test_c02_footprint_grows_with_count_and_sharing_never_costs_more() -> None:
    rows = tables("c02_footprint")["sweep"]
    by_variant: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_variant.setdefault(str(row["variant"]), []).append(row)
    for points in by_variant.values():
        memory = [float(p["host_memory_mib"]) for p in points]  # type: ignore[arg-type]
        assert memory == sorted(memory)
        for point in points:
            assert float(point["host_disk_mib"]) <= float(point["unshared_disk_mib"]) + 1e-6  # type: ignore[arg-type]
    full = by_variant["vm-full"][-1]
    alpine = by_variant["container-alpine"][-1]
    assert float(full["instance_memory_mib"]) > 100 * float(alpine["instance_memory_mib"])  # type: ignore[arg-type]


def test_c03_vm_boots_slower_than_a_warm_container_and_storms_stretch_docker() -> None:
    result = tables("c03_startup")
    module = experiment("c03_startup")
    assert module._median(result, "vm-ubuntu") > 10 * module._median(result, "docker-warm")
    storm = [r for r in result["storm"] if r["variant"] == "docker-warm"]
    assert float(storm[-1]["p95_s"]) > float(storm[0]["p95_s"])  # type: ignore[arg-type]
    assert {r["variant"] for r in result["stages"]} >= {"vm-ubuntu", "docker-warm", "microvm"}


def test_c06_foreign_os_containers_are_refused_and_every_vm_runs() -> None:
    rows = tables("c06_use_cases")["os_mix"]
    for row in rows:
        if row["how"] == "VM":
            assert row["started"]
        elif row["how"] == "container on the host kernel":
            assert row["started"] == (row["workload_os"] == row["host_os"])
    fleet = {r["technology"]: r for r in tables("c06_use_cases")["replicas"]}
    assert int(fleet["container"]["hosts_for_fleet_reserved"]) < int(  # type: ignore[arg-type]
        fleet["vm"]["hosts_for_fleet_reserved"])  # type: ignore[arg-type]


def test_c02_vms_hold_what_they_touched_and_give_it_back_over_time() -> None:
    result = tables("c02_footprint")
    first = {str(r["variant"]): r for r in result["sweep"] if r["count"] == 1}
    ubuntu = first["vm-full"]
    assert float(ubuntu["instance_memory_mib"]) < float(ubuntu["instance_committed_mib"])  # type: ignore[arg-type]
    windows = first["vm-windows"]  # zeroes its RAM at boot: holds its whole commitment
    assert float(windows["instance_memory_mib"]) == pytest.approx(  # type: ignore[arg-type]
        float(windows["instance_committed_mib"]))  # type: ignore[arg-type]
    ages: dict[str, list[float]] = {}
    for row in result["resident_over_time"]:
        ages.setdefault(str(row["variant"]), []).append(float(row["host_memory_mib"]))  # type: ignore[arg-type]
    assert len(set(ages["Ubuntu VMs"])) == 1  # nothing gives memory back
    ksm = ages["Ubuntu VMs + KSM"]
    assert ksm[0] == ages["Ubuntu VMs"][0] and ksm[-1] < ksm[0]  # merged after two passes
    assert all(b <= a for a, b in pairwise(ksm))
    for row in result["density"]:
        assert int(row["count_committed"]) <= int(row["count_resident"])  # type: ignore[call-overload]


def test_c03_storm_names_the_mechanism_that_dominates() -> None:
    result = tables("c03_startup")
    assert result["storm_mechanisms"]
    docker = {int(r["concurrency"]): r for r in result["storm"]  # type: ignore[call-overload]
              if r["variant"] == "docker-warm"}
    assert docker[1]["dominant"] == "engine API path"
    assert all(r["dominant"] for r in result["storm"])
