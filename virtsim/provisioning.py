"""VM provisioning: what happens before a VM's first instruction, and its first boot.

A VM on a local hypervisor with its disk image already on the host boots at
once. Otherwise its start begins earlier:

- **cold image, local hypervisor**: the disk image file is copied from an
  image store over the host's network before the VMM starts
  (``image-transfer``);
- **cloud**: the control plane places the instance and makes its volume
  from a snapshot (the cloud profile's ``placement`` stages), attaches its
  network, then boots it; the volume's blocks come from object storage on
  first touch, so every boot stage that reads the disk fetches those bytes at
  the volume's ``hydration_mibs`` (a ``disk-hydration`` stage before it);
- **generalized image, first boot**: a fresh copy of a generalized image
  (Windows after Sysprep) runs its ``first_boot`` stages after user space
  (the specialize pass, its reboots, OOBE).

:func:`provisioned_stages` turns a VM's local boot plan into its provisioned
one; the stages stay ordinary :class:`~virtsim.profiles.Stage` objects, so
contention on the host's network and CPU applies as to any other stage.
"""

from __future__ import annotations

from virtsim.distributions import Constant
from virtsim.profiles import CloudProfile, DiskImageProfile, Stage

OwnedStage = tuple[str, Stage]
"""A stage and the part of the stack that owns it (``vmm``, ``kernel``...)."""
GUEST_DISK_OWNERS = frozenset({"kernel", "disk-image", "first-boot"})
"""Owners whose reads come from the VM's own disk (the VMM's binary is the host's)."""


def image_transfer(image: DiskImageProfile) -> Stage:
    """Copying a disk image file to the host over its network (a cold local start)."""
    return Stage(name="image-transfer", wall_s=Constant(dist="constant", value=0.0),
                 fetch_mib=image.file_mib,
                 source=f"the {image.name} file ({image.file_mib:,.0f} MiB) fetched at the "
                        "host's network rate")


def hydration(stage: Stage, cloud: CloudProfile) -> Stage:
    """The blocks ``stage`` reads, fetched from object storage at the volume's rate."""
    return Stage(name=f"disk-hydration:{stage.name}",
                 wall_s=Constant(dist="constant", value=stage.read_mib / cloud.hydration_mibs),
                 fetch_mib=stage.read_mib,
                 source=f"{stage.read_mib:g} MiB fetched on first touch at "
                        f"{cloud.hydration_mibs:g} MiB/s ({cloud.name} hydration_mibs)")


def provisioned_stages(stages: list[OwnedStage], image: DiskImageProfile, *,
                       cached: bool = True, cloud: CloudProfile | None = None) -> list[OwnedStage]:
    """A VM's start stages with provisioning and first boot around its local boot.

    Args:
        stages: The local boot plan (VMM, firmware, kernel, user space, app).
        image: The VM's disk image.
        cached: Whether the image (or the VM's volume) is already on the host.
        cloud: The cloud that provisions the VM (None: a local hypervisor).
    """
    if cached and cloud is None:
        return stages
    out: list[OwnedStage] = []
    if cloud is not None:
        out += [("cloud", s) for s in (*cloud.placement, *cloud.network_attach)]
    elif not cached:
        out.append(("provisioning", image_transfer(image)))
    last = _last_image_stage(stages)
    for owner, stage in stages:
        out += _hydrated(owner, stage, cached, cloud)
        if not cached and owner == "disk-image" and stage is last:
            for first in image.first_boot:
                out += _hydrated("first-boot", first, cached, cloud)
    return out


def _hydrated(owner: str, stage: Stage, cached: bool,
              cloud: CloudProfile | None) -> list[OwnedStage]:
    """The stage, after the hydration of what it reads from a cold cloud volume."""
    if cloud is not None and not cached and owner in GUEST_DISK_OWNERS and stage.read_mib > 0:
        return [("cloud", hydration(stage, cloud)), (owner, stage)]
    return [(owner, stage)]


def _last_image_stage(stages: list[OwnedStage]) -> Stage | None:
    image_stages = [s for owner, s in stages if owner == "disk-image"]
    return image_stages[-1] if image_stages else None
