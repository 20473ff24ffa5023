"""Tests for the image/kernel compatibility resolver."""

from __future__ import annotations

import pytest

from virtsim.catalog import Catalog
from virtsim.compat import attack_surface, exec_in, resolve, version_lt
from virtsim.profiles import ImageProfile, KernelProfile

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
