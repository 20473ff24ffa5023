"""Tests for the image/kernel compatibility resolver."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.paths import SCENARIOS
from virtsim.catalog import Catalog
from virtsim.compat import (
    FEATURE_ERRORS,
    PLACEMENTS,
    QEMU_USER,
    ROSETTA,
    Target,
    attack_surface,
    exec_in,
    matrix,
    place,
    resolve,
    version_lt,
)
from virtsim.profiles import ImageProfile, KernelProfile, LayerCostProfile

CASES = [
    ("alpine", "linux-6.8", "amd64", "native", "runs on linux-6.8"),
    ("debian", "linux-6.8", "arm64", "native", "linux/arm64"),
    ("centos-6", "linux-4.4", "amd64", "native", ""),
    ("centos-6", "kata-guest", "amd64", "impossible", "vsyscall attempted with vsyscall=none"),
    ("centos-6", "linux-6.8", "arm64", "emulated", "QEMU user-mode"),
    ("scratch-static", "linux-6.8", "arm64", "emulated", "binfmt_misc"),
    ("debian", "linux-3.11", "amd64", "native", ""),
    ("debian", "gvisor-sentry", "amd64", "native", ""),
    ("alpine", "windows-11", "amd64", "needs-vm", "a Linux VM (Docker Desktop, WSL 2)"),
    ("alpine", "darwin-24", "arm64", "needs-vm", 'image operating system "linux"'),
    ("nanoserver", "linux-6.8", "amd64", "needs-vm", "a Windows host or Hyper-V"),
    ("servercore", "windows-server-2022", "amd64", "native", ""),
    ("nanoserver", "windows-11", "amd64", "native", ""),
    ("nanoserver", "windows-11", "arm64", "impossible", "exec format error"),
]


@pytest.mark.parametrize(("image", "kernel", "arch", "outcome", "reason"), CASES)
def test_resolve_table(
    catalog: Catalog, image: str, kernel: str, arch: str, outcome: str, reason: str
) -> None:
    result = resolve(
        catalog.require(ImageProfile, image), catalog.require(KernelProfile, kernel), arch
    )
    assert result.outcome == outcome
    assert reason in result.reason
    assert result.emulator == ("qemu-user" if outcome == "emulated" else "")


def test_windows_image_on_linux_says_so(catalog: Catalog) -> None:
    result = resolve(
        catalog.require(ImageProfile, "servercore"),
        catalog.require(KernelProfile, "linux-5.15"),
        "amd64",
    )
    assert 'image operating system "windows" cannot be used on this platform' in result.reason


def test_foreign_arch_without_binfmt(catalog: Catalog) -> None:
    kernel = catalog.require(KernelProfile, "linux-6.8")
    single = resolve(catalog.require(ImageProfile, "scratch-static"), kernel, "arm64", binfmt=False)
    assert single.outcome == "impossible"
    assert "exec format error" in single.reason
    multi = resolve(catalog.require(ImageProfile, "nginx-alpine"), kernel, "riscv64", binfmt=False)
    assert multi.outcome == "impossible"
    assert "no matching manifest for linux/riscv64 in the manifest list entries" in multi.reason


def test_gvisor_has_no_binfmt(catalog: Catalog) -> None:
    result = resolve(
        catalog.require(ImageProfile, "scratch-static"),
        catalog.require(KernelProfile, "gvisor-sentry"),
        "arm64",
    )
    assert result.outcome == "impossible"


@pytest.mark.parametrize("kernel", ["linux-3.11", "linux-4.4"])
def test_kernel_too_old_for_newer_glibc_image(catalog: Catalog, kernel: str) -> None:
    debian = catalog.require(ImageProfile, "debian")
    newer = debian.model_copy(update={"min_kernel": "5.1"})
    k = catalog.require(KernelProfile, kernel)
    assert resolve(debian, k, "amd64").outcome == "native"
    result = resolve(newer, k, "amd64")
    assert result.outcome == "impossible"
    assert "FATAL: kernel too old" in result.reason
    ok = resolve(newer, catalog.require(KernelProfile, "linux-5.15"), "amd64")
    assert ok.outcome == "native"


def test_kernel_too_old_non_glibc(catalog: Catalog) -> None:
    image = catalog.require(ImageProfile, "alpine").model_copy(update={"min_kernel": "4.9"})
    result = resolve(image, catalog.require(KernelProfile, "linux-4.4"), "amd64")
    assert result.outcome == "impossible"
    assert "kernel too old" in result.reason
    assert "FATAL" not in result.reason


def test_missing_required_feature(catalog: Catalog) -> None:
    image = catalog.require(ImageProfile, "debian").model_copy(
        update={"required_features": ("io_uring",)}
    )
    result = resolve(image, catalog.require(KernelProfile, "linux-4.4"), "amd64")
    assert result.outcome == "impossible"
    assert "io_uring" in result.reason
    assert resolve(image, catalog.require(KernelProfile, "linux-6.8"), "amd64").outcome == "native"


def test_old_windows_kernel(catalog: Catalog) -> None:
    kernel = catalog.require(KernelProfile, "windows-server-2022").model_copy(
        update={"version": "10.0.17763"}
    )
    result = resolve(catalog.require(ImageProfile, "nanoserver"), kernel, "amd64")
    assert result.outcome == "impossible"
    assert "incompatible" in result.reason


def test_version_compare_is_numeric() -> None:
    assert version_lt("3.2", "5.15")
    assert version_lt("5.2", "5.15")
    assert not version_lt("5.15", "3.2")
    assert not version_lt("3.2", "3.2.0")
    assert version_lt("3.11", "4.4")


def test_exec_in_scratch_vs_alpine(catalog: Catalog) -> None:
    scratch = catalog.require(ImageProfile, "scratch-static")
    alpine = catalog.require(ImageProfile, "alpine")
    for cmd in ("sh", "ls"):
        res = exec_in(scratch, cmd)
        assert not res.ok
        assert res.message == f'exec: "{cmd}": executable file not found in $PATH'
    assert exec_in(alpine, "sh").ok
    assert exec_in(alpine, "/bin/sh").ok
    assert exec_in(scratch, "/app").ok
    assert exec_in(scratch, "app").ok
    assert not exec_in(alpine, "/bin/bash").ok
    assert exec_in(catalog.require(ImageProfile, "nanoserver"), "cmd").ok


def test_attack_surface_ordering(catalog: Catalog) -> None:
    scratch, alpine, debian = (
        attack_surface(catalog.require(ImageProfile, n))
        for n in ("scratch-static", "alpine", "debian")
    )
    assert set(scratch) == {"size_mib", "compressed_mib", "executables", "packages"}
    for key in ("size_mib", "compressed_mib", "executables", "packages"):
        assert scratch[key] <= alpine[key] <= debian[key]
    assert scratch["size_mib"] < alpine["size_mib"] < debian["size_mib"]


# -- kernel features, old and new kernels ------------------------------------------------

def test_missing_feature_prints_the_real_error(catalog: Catalog) -> None:
    result = resolve(catalog.require(ImageProfile, "tigerbeetle").model_copy(
        update={"min_kernel": "4.0"}), catalog.require(KernelProfile, "linux-4.4"), "amd64")
    assert result.outcome == "impossible"
    assert "io_uring_setup: Function not implemented (ENOSYS)" in result.reason
    assert "linux-4.4" in result.reason


def test_gvisor_lacks_io_uring(catalog: Catalog) -> None:
    result = resolve(catalog.require(ImageProfile, "tigerbeetle"),
                     catalog.require(KernelProfile, "gvisor-sentry"), "amd64")
    assert result.outcome == "impossible"


@pytest.mark.parametrize(("image", "old", "new"), [
    ("debian", "impossible", "native"), ("ubuntu", "impossible", "native"),
    ("fedora", "impossible", "native"), ("alpine", "native", "native"),
    ("centos-7", "native", "native"), ("centos-6", "native", "impossible"),
    ("centos-7-systemd", "native", "impossible"),
    ("tigerbeetle", "impossible", "native")])
def test_old_and_new_kernels_break_different_distributions(
        catalog: Catalog, image: str, old: str, new: str) -> None:
    profile = catalog.require(ImageProfile, image)
    assert resolve(profile, catalog.require(KernelProfile, "linux-2.6.32"), "amd64").outcome == old
    assert (resolve(profile, catalog.require(KernelProfile, "linux-6.12-debian"), "amd64").outcome
            == new)
    modern = resolve(profile, catalog.require(KernelProfile, "linux-6.8"), "amd64")
    assert modern.outcome == ("impossible" if image == "centos-7-systemd" else "native")


def test_systemd_219_needs_the_cgroup_v1_hierarchy(catalog: Catalog) -> None:
    image = catalog.require(ImageProfile, "centos-7-systemd")
    result = resolve(image, catalog.require(KernelProfile, "linux-6.8"), "amd64")
    assert "Failed to mount cgroup at /sys/fs/cgroup/systemd" in result.reason
    assert resolve(image, catalog.require(KernelProfile, "linux-4.4"), "amd64").outcome == "native"


def test_rosetta_replaces_qemu_where_the_kernel_registers_it(catalog: Catalog) -> None:
    image = catalog.require(ImageProfile, "scratch-static")
    rosetta = resolve(image, catalog.require(KernelProfile, "linux-6.12-desktop-rosetta"), "arm64")
    assert (rosetta.outcome, rosetta.emulator) == ("emulated", ROSETTA)
    assert "Rosetta 2" in rosetta.reason
    arm_only = catalog.require(ImageProfile, "app-arm64-only")
    on_amd64 = resolve(arm_only, catalog.require(KernelProfile, "linux-6.12-desktop-rosetta"),
                       "amd64")
    assert on_amd64.emulator == QEMU_USER  # Rosetta only translates amd64 on arm64


KERNELS = ["linux-2.6.32", "linux-3.11", "linux-4.4", "linux-5.15", "linux-6.8",
           "linux-6.12-debian", "kata-guest", "gvisor-sentry"]
IMAGES = ["alpine", "busybox", "debian", "ubuntu", "fedora", "centos-6", "centos-7",
          "centos-7-systemd", "tigerbeetle", "scratch-static", "app-arm64-only", "nanoserver"]


@given(image=st.sampled_from(IMAGES), kernel=st.sampled_from(KERNELS),
       arch=st.sampled_from(["amd64", "arm64"]),
       extra=st.sets(st.sampled_from(sorted(FEATURE_ERRORS)), max_size=4))
def test_more_kernel_features_never_break_an_image(
        catalog: Catalog, image: str, kernel: str, arch: str, extra: set[str]) -> None:
    img = catalog.require(ImageProfile, image)
    base = catalog.require(KernelProfile, kernel)
    richer = base.model_copy(update={"features": tuple(sorted(set(base.features) | extra))})
    before, after = resolve(img, base, arch), resolve(img, richer, arch)
    if before.outcome in ("native", "emulated"):
        assert after.outcome == before.outcome
    assert (after.outcome == "needs-vm") == (before.outcome == "needs-vm")


# -- placements and the matrix ------------------------------------------------------------

MATRIX = [
    ("alpine", Target("laptop"), "native", "native"),
    ("alpine", Target("macbook-arm64", platform="docker-desktop-mac"), "vm",
     "the docker-desktop-mac Linux VM on apple-vz"),
    ("debian", Target("windows-laptop", platform="docker-desktop-windows-wsl2"), "vm",
     "on wsl2"),
    ("nanoserver", Target("windows-server", platform="windows-server-hyperv-containers"), "vm",
     "Hyper-V isolation utility VM"),
    ("nanoserver", Target("windows-server", platform="windows-server-containers"), "native",
     "native"),
    ("app-arm64-only", Target("laptop"), "emulated", "qemu-user"),
    ("scratch-static", Target("macbook-arm64", platform="docker-desktop-mac-rosetta"),
     "emulated", "rosetta in the docker-desktop-mac-rosetta Linux VM"),
    ("nanoserver", Target("laptop"), "needs-vm", ""),
    ("alpine", Target("windows-server", platform="windows-server-containers"), "needs-vm", ""),
    ("nanoserver", Target("macbook-arm64", platform="docker-desktop-mac"), "needs-vm", ""),
    ("debian", Target("laptop", kernel="linux-2.6.32"), "impossible", ""),
    ("nanoserver", Target("windows-server", kernel="windows-server-2019"), "impossible", ""),
]


@pytest.mark.parametrize(("image", "target", "outcome", "how"), MATRIX,
                         ids=[f"{i}@{t.name}" for i, t, _, _ in MATRIX])
def test_place(catalog: Catalog, image: str, target: Target, outcome: str, how: str) -> None:
    record = place(catalog, catalog.require(ImageProfile, image), target)
    assert record["outcome"] == outcome
    assert how in str(record["how"])
    runs = outcome in ("native", "vm", "emulated")
    assert (record["slowdown_cpu"] is not None) == runs
    assert bool(record["layers"]) == runs


def test_matrix_covers_every_outcome(catalog: Catalog) -> None:
    targets = [t for _, t, _, _ in MATRIX]
    records = matrix(catalog, sorted({i for i, _, _, _ in MATRIX}), targets)
    assert len(records) == len(targets) * len({i for i, _, _, _ in MATRIX})
    assert {r["outcome"] for r in records} == set(PLACEMENTS)


def test_emulated_arm64_on_amd64_is_slower_by_the_calibrated_factor(catalog: Catalog) -> None:
    qemu = catalog.require(LayerCostProfile, QEMU_USER)
    emulated = place(catalog, catalog.require(ImageProfile, "app-arm64-only"), Target("laptop"))
    native = place(catalog, catalog.require(ImageProfile, "alpine"), Target("laptop"))
    assert emulated["slowdown_cpu"] == pytest.approx(1 / qemu.cpu)
    assert emulated["slowdown_memory_bw"] == pytest.approx(1 / qemu.memory_bw)
    assert emulated["slowdown_disk_seq"] == native["slowdown_disk_seq"] == 1.0


def test_emulation_inside_a_desktop_vm_pays_both(catalog: Catalog) -> None:
    mac = Target("macbook-arm64", platform="docker-desktop-mac")
    vm = place(catalog, catalog.require(ImageProfile, "alpine"), mac)
    emulated = place(catalog, catalog.require(ImageProfile, "scratch-static"), mac)
    rosetta = place(catalog, catalog.require(ImageProfile, "scratch-static"),
                    Target("macbook-arm64", platform="docker-desktop-mac-rosetta"))
    factor = 1 / catalog.require(LayerCostProfile, QEMU_USER).cpu
    assert float(emulated["slowdown_cpu"]) == pytest.approx(float(vm["slowdown_cpu"]) * factor)
    assert 1.0 < float(vm["slowdown_cpu"]) < float(rosetta["slowdown_cpu"]) < float(
        emulated["slowdown_cpu"])


def test_run_reports_compatibility_per_container(catalog: Catalog) -> None:
    import virtsim

    scenario = virtsim.load_scenario(SCENARIOS / "kernel-old-and-new.toml", catalog)
    result = virtsim.run_scenario(scenario, catalog)
    rows = {str(r["instance"]): r for r in result.table("compatibility")}
    assert rows["ubuntu2404/centos6"]["outcome"] == "native"
    assert rows["rhel6/debian"]["outcome"] == "impossible"
    assert "FATAL: kernel too old" in str(rows["rhel6/debian"]["message"])
    assert rows["debian13/centos6"]["outcome"] == "impossible"
    assert rows["rhel6/centos6"]["outcome"] == "native"
    assert rows["ubuntu2404/windows"]["outcome"] == "needs-vm"
    counts = result.metrics["compatibility"]
    assert sum(counts.values()) == len(rows)
    failed = result.metrics["failed_to_start"]
    assert set(failed) == {i for i, r in rows.items() if r["outcome"] in ("impossible", "needs-vm")}


def test_report_names_the_vm_and_the_emulator(catalog: Catalog) -> None:
    import virtsim

    scenario = virtsim.parse_scenario({"hosts": [{
        "name": "mac", "profile": "macbook-arm64", "platform": "docker-desktop-mac",
        "containers": [{"name": "amd64", "image": "scratch-static"},
                       {"name": "multi", "image": "alpine"}]}]}, catalog)
    rows = {str(r["instance"]): r for r in
            virtsim.run_scenario(scenario, catalog).table("compatibility")}
    assert rows["mac/docker-desktop/multi"]["outcome"] == "vm"
    assert rows["mac/docker-desktop/multi"]["how"] == "VM docker-desktop on apple-vz"
    assert rows["mac/docker-desktop/amd64"]["outcome"] == "emulated"
    assert rows["mac/docker-desktop/amd64"]["how"] == "qemu-user in VM docker-desktop on apple-vz"
    assert rows["mac/docker-desktop/amd64"]["host_kernel"] == "darwin-24"


def test_exec_in_windows_image_is_case_insensitive(catalog: Catalog) -> None:
    servercore = catalog.require(ImageProfile, "servercore")
    assert exec_in(servercore, "PowerShell").ok
    assert not exec_in(catalog.require(ImageProfile, "nanoserver"), "powershell").ok


def test_release_writes_a_patch_level_so_a_version_never_reads_as_a_number() -> None:
    from virtsim.compat import release

    assert [release(v) for v in ("6.10", "6.1", "24.0", "5", "2.6.32", "10.0.20348")] == [
        "6.10.0", "6.1.0", "24.0.0", "5.0.0", "2.6.32", "10.0.20348"]
    assert release("6.8-rc1") == "6.8-rc1"  # not dotted numbers: as it is


def test_compatibility_csv_keeps_kernel_versions_as_text(catalog: Catalog,
                                                         tmp_path: Path) -> None:
    """pandas reads the written table's kernel_version column as the text written:
    "6.12.0", never the number 6.12 (nor 6.10 as 6.1)."""
    import pandas as pd

    import virtsim
    from virtsim.result import write_table

    spec = virtsim.parse_scenario({"duration_s": 5, "hosts": [
        {"name": "old", "profile": "m5d-metal", "kernel": "linux-4.4",
         "containers": [{"name": "a", "image": "alpine"}]},
        {"name": "new", "profile": "m5d-metal", "kernel": "linux-6.12-debian",
         "containers": [{"name": "a", "image": "alpine"}]},
        {"name": "vm", "profile": "m5d-metal", "vms": [
            {"name": "v", "hypervisor": "kvm", "disk_image": "ubuntu-24.04-cloud",
             "memory_mib": 2048, "kernel": "linux-6.1-microvm",
             "containers": [{"name": "a", "image": "alpine"}]}]}]}, catalog)
    rows = virtsim.run_scenario(spec, catalog).table("compatibility")
    write_table(tmp_path / "compatibility.csv", rows)
    frame = pd.read_csv(tmp_path / "compatibility.csv")
    assert all(isinstance(v, str) for v in frame["kernel_version"])
    assert sorted(frame["kernel_version"]) == ["4.4.0", "6.1.0", "6.12.0"]


def test_containers_of_copied_machines_get_the_answers_walked_ones_do(catalog: Catalog) -> None:
    from virtsim.compat import CompatibilityReport
    from virtsim.graph import ResourceGraph
    from virtsim.scenario import parse_scenario
    from virtsim.simulation import Simulation
    from virtsim.stack import build_graph

    def group(image: str, runtime: str = "runc") -> dict[str, object]:
        return {"name": image, "image": image, "count": 2, "runtime": runtime}

    scenario = parse_scenario({"hosts": [
        {"name": "h", "profile": "m5d-metal", "count": 3,
         "containers": [group("alpine"), group("nginx-alpine", "runsc")],
         "vms": [{"name": "vm", "count": 2, "hypervisor": "kvm", "vmm": "qemu",
                  "disk_image": "ubuntu-24.04-cloud", "containers": [group("alpine")]}]},
        {"name": "g", "profile": "m5d-metal", "count": 2, "containers": [group("alpine")]},
    ]}, catalog)
    graph = build_graph(scenario, catalog)
    assert graph.copies  # machines stamped from their group's first
    stamped = Simulation(scenario, graph, catalog, 1)
    walked = Simulation(scenario, ResourceGraph(graph.graph), catalog, 1)
    for sim in (stamped, walked):
        CompatibilityReport().report(sim)
    assert stamped.result.tables == walked.result.tables
    assert len(stamped.result.rows("compatibility")) == 3 * 8 + 2 * 2
    hows = {str(row["how"]) for row in stamped.result.rows("compatibility")}
    assert "native" in hows and any("VM vm" in how for how in hows) and len(hows) >= 3
