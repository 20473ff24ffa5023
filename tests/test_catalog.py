"""The shipped catalogue: it loads, every number is sourced, every reference resolves."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from virtsim.catalog import Catalog, load_catalog, shipped_models_dir, unsourced_keys
from virtsim.errors import InputError
from virtsim.profiles import (
    DiskImageProfile,
    HostProfile,
    HypervisorProfile,
    KernelProfile,
    RuntimeProfile,
)

FILES = sorted(shipped_models_dir().glob("*/*.toml"))


def test_issue_profiles_are_present(catalog: Catalog) -> None:
    expected = {
        "hosts": {"felter-server", "m5d-metal", "laptop"},
        "hypervisors": {"kvm", "xen", "esxi", "hyper-v", "virtualbox", "vmware-workstation",
                        "hyperkit", "apple-vz", "wsl2", "qemu-tcg"},
        "vmms": {"qemu", "firecracker", "cloud-hypervisor"},
        "runtimes": {"runc", "crun", "runsc", "kata"},
        "images": {"scratch-static", "busybox", "alpine", "distroless-static", "debian-slim",
                   "debian", "ubuntu", "nanoserver", "servercore"},
        "disk_images": {"ubuntu-24.04-cloud", "windows-server-2022-core"},
    }
    for kind, names in expected.items():
        assert names <= set(catalog.names(kind)), kind


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_number_has_a_source(path: Path) -> None:
    data = tomllib.loads(path.read_text())
    assert unsourced_keys(data) == []
    assert data.get("description"), "every profile describes itself"


def test_cross_references_resolve(catalog: Catalog) -> None:
    kernels = set(catalog.names("kernels"))
    vmms = set(catalog.names("vmms"))
    for name in catalog.names("hosts"):
        assert catalog.require(HostProfile, name).kernel in kernels
    for name in catalog.names("disk_images"):
        assert catalog.require(DiskImageProfile, name).kernel in kernels
    for name in catalog.names("hypervisors"):
        hyper = catalog.require(HypervisorProfile, name)
        assert set(hyper.vmms) <= vmms
        if hyper.management_kernel:
            assert hyper.management_kernel in kernels
    for name in catalog.names("runtimes"):
        runtime = catalog.require(RuntimeProfile, name)
        if runtime.isolation in ("user-kernel", "microvm", "hyperv"):
            assert runtime.sandbox_kernel in kernels
        if runtime.isolation in ("microvm", "hyperv"):
            assert runtime.sandbox_vmm in vmms


def test_profiles_are_typed(catalog: Catalog) -> None:
    kernel = catalog.require(KernelProfile, "linux-6.8")
    assert isinstance(kernel.memory_mib, float)
    assert catalog.require(HostProfile, "felter-server").cores == 16


def test_user_folder_overrides_shipped_profile(tmp_path: Path) -> None:
    (tmp_path / "hosts").mkdir()
    text = (shipped_models_dir() / "hosts" / "laptop.toml").read_text()
    (tmp_path / "hosts" / "laptop.toml").write_text(text.replace("description =",
                                                                 "description = 'mine' #"))
    catalog = load_catalog([tmp_path])
    assert catalog.require(HostProfile, "laptop").description == "mine"


def test_unknown_kind_folder_in_user_models_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "planets").mkdir()
    with pytest.raises(InputError, match="planets"):
        load_catalog([tmp_path])


def test_name_key_must_match_file(tmp_path: Path) -> None:
    (tmp_path / "hosts").mkdir()
    text = (shipped_models_dir() / "hosts" / "laptop.toml").read_text()
    (tmp_path / "hosts" / "box.toml").write_text("name = 'other'\n" + text)
    with pytest.raises(InputError, match="the file name"):
        load_catalog([tmp_path])


def test_unsourced_keys_finds_missing_sources() -> None:
    raw = {"cores": 4, "memory_gib": 8.0, "boot": [{"name": "x", "source": "y"}],
           "wall_s": {"dist": "constant", "value": 1}, "sources": {"cores": "datasheet"}}
    assert unsourced_keys(raw) == ["memory_gib", "wall_s"]
