"""Tests for virtsim.provisioning: transfer, cloud placement, hydration, first boot."""

from __future__ import annotations

import pytest

from virtsim.catalog import Catalog
from virtsim.distributions import Constant
from virtsim.profiles import CloudProfile, DiskImageProfile, Stage
from virtsim.provisioning import provisioned_stages


def plan(image: DiskImageProfile) -> list[tuple[str, Stage]]:
    vmm = Stage(name="vmm", wall_s=Constant(dist="constant", value=0.1), read_mib=5, source="t")
    kernel = Stage(name="kernel", wall_s=Constant(dist="constant", value=1.0), read_mib=20,
                   source="t")
    return [("vmm", vmm), ("kernel", kernel), *(("disk-image", s) for s in image.boot)]


def test_cached_local_vm_is_unchanged(catalog: Catalog) -> None:
    image = catalog.require(DiskImageProfile, "ubuntu-24.04-cloud")
    stages = plan(image)
    assert provisioned_stages(stages, image) is stages


def test_cold_local_vm_transfers_its_image_first(catalog: Catalog) -> None:
    image = catalog.require(DiskImageProfile, "ubuntu-24.04-cloud")
    out = provisioned_stages(plan(image), image, cached=False)
    assert out[0][1].name == "image-transfer" and out[0][1].fetch_mib == image.file_mib


def test_cold_cloud_windows_hydrates_reads_and_runs_first_boot(catalog: Catalog) -> None:
    image = catalog.require(DiskImageProfile, "windows-server-2022-core")
    cloud = catalog.require(CloudProfile, "ec2")
    out = provisioned_stages(plan(image), image, cached=False, cloud=cloud)
    names = [s.name for _, s in out]
    assert names[:3] == ["placement", "volume-from-snapshot", "network-attach"]
    hydrations = [s for owner, s in out if s.name.startswith("disk-hydration")]
    guest_reads = sum(s.read_mib for owner, s in plan(image) if owner != "vmm")
    guest_reads += sum(s.read_mib for s in image.first_boot)
    assert sum(s.fetch_mib for s in hydrations) == pytest.approx(guest_reads)
    assert sum(s.wall_s.mean for s in hydrations) == pytest.approx(
        guest_reads / cloud.hydration_mibs)
    assert [n for n in names if not n.startswith("disk-hydration")][-3:] == [
        "specialize", "reboot", "oobe"]
    warm = provisioned_stages(plan(image), image, cached=True, cloud=cloud)
    assert not any(s.name in ("specialize",) or s.name.startswith("disk-hydration")
                   for _, s in warm)
