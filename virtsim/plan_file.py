"""Plan files: a capacity-planning question as typed, validated data.

A plan file (TOML) names a workload mix, the host profiles to buy, the
technologies to compare and the constraints a plan must meet::

    name = "nginx: containers or VMs?"
    hosts = ["m5d-metal"]                    # candidate host profiles
    technologies = ["container", "vm"]       # default: all six

    [[workloads]]
    name = "web"
    workload = "nginx"                       # models/workloads/
    count = 50                               # or target_rps = 20000
    image = "nginx-alpine"                   # for containers
    disk_image = "ubuntu-24.04-cloud"        # for VMs (microVMs boot firecracker-rootfs)
    requests = { cpus = 0.25, memory_mib = 128 }   # what a container reserves (default: its limits)
    limits = { cpus = 2, memory_mib = 4096 }       # a container's cgroup limits
    vm = { vcpus = 2, memory_mib = 4096 }          # a VM's size (default: limits, else requests)

    [constraints]
    cold_start_s = 120                       # every instance up, nothing cached
    warm_start_s = 30                        # images already on the hosts
    blast_radius = 0.5                       # share of the fleet one fault may take
    headroom = 0.2                           # share of every host kept free
    cpu_overcommit = 1.0                     # vCPUs or CPU requests per hardware thread
    memory_overcommit = 1.0                  # memory promised per GiB of host memory

    [prices]                                 # optional, per host-hour
    m5d-metal = 5.42

Loading checks the shape (keys, types, ranges), every profile name against
the catalogue, and what a plan needs to mean something (a count or a target
load, a service to take a target load), and raises one
:class:`~virtsim.errors.InputError` on the first problem.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from virtsim.catalog import Catalog
from virtsim.datafile import dotted_key, find_line, read_toml, validate
from virtsim.errors import InputError, display_path
from virtsim.profiles import Model, WorkloadProfile
from virtsim.scenario import NAME_PATTERN

Technology = Literal["vm", "microvm", "container", "container-in-vm", "gvisor", "kata"]
TECHNOLOGIES: tuple[Technology, ...] = (
    "vm", "microvm", "container", "container-in-vm", "gvisor", "kata")
"""Every technology a plan can compare: KVM/QEMU VMs, Firecracker microVMs, runc
containers, containers inside node VMs, and the sandboxed containers (gVisor, Kata)."""


class Resources(Model):
    """CPU and memory of one instance: a request (reserved) or a limit (its size)."""

    cpus: float | None = Field(default=None, gt=0, le=1024)
    memory_mib: float | None = Field(default=None, gt=0, le=16 * 1024 * 1024)


class VmSize(Model):
    """The size of the VM (or microVM) each instance gets."""

    vcpus: int | None = Field(default=None, ge=1, le=1024)
    memory_mib: float | None = Field(default=None, ge=16, le=16 * 1024 * 1024)


class WorkloadMix(Model):
    """One group of identical instances of the mix."""

    name: str = Field(pattern=NAME_PATTERN)
    workload: str = Field(min_length=1, description="a workloads profile")
    count: int | None = Field(default=None, ge=1, le=10_000_000)
    target_rps: float | None = Field(default=None, gt=0, description="requests per second the "
                                     "group must serve; sets the count")
    rate_per_s: float | None = Field(default=None, gt=0, description="requests per second each "
                                     "instance serves; default: the profile's arrival rate")
    image: str = "alpine"
    disk_image: str = "ubuntu-24.04-cloud"
    requests: Resources = Resources()
    limits: Resources = Resources()
    vm: VmSize = VmSize()

    @model_validator(mode="after")
    def _count_or_target(self) -> WorkloadMix:
        if (self.count is None) == (self.target_rps is None):
            raise ValueError("either count or target_rps, not both and not neither")
        for key in ("cpus", "memory_mib"):
            asked, most = getattr(self.requests, key), getattr(self.limits, key)
            if asked is not None and most is not None and asked > most:
                raise ValueError(f"requests.{key} ({asked:g}) at most limits.{key} ({most:g})")
        return self


class Constraints(Model):
    """What every acceptable option must meet (omitted: not constrained)."""

    cold_start_s: float | None = Field(default=None, gt=0)
    warm_start_s: float | None = Field(default=None, gt=0)
    blast_radius: float | None = Field(default=None, gt=0, le=1, description="largest share of "
                                       "the fleet one host, kernel or hypervisor fault may take")
    p99_latency_ms: float | None = Field(default=None, gt=0)
    slowdown: float | None = Field(default=None, ge=1, description="largest slowdown against "
                                   "native of any group")
    headroom: float = Field(default=0.0, ge=0, lt=1)
    cpu_overcommit: float = Field(default=1.0, gt=0, le=64)
    memory_overcommit: float = Field(default=1.0, gt=0, le=16)


class NodeVm(Model):
    """The node VMs that ``container-in-vm`` carves every host into."""

    vcpus: int = Field(default=16, ge=1, le=1024)
    memory_mib: float = Field(default=65536.0, ge=256)
    disk_image: str = "ubuntu-24.04-cloud"


class PlanFile(Model):
    """A whole plan: the mix, the candidate hosts and technologies, the constraints."""

    name: str = "plan"
    description: str = ""
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    hosts: tuple[str, ...] = Field(min_length=1)
    technologies: tuple[Technology, ...] = Field(default=TECHNOLOGIES, min_length=1)
    workloads: tuple[WorkloadMix, ...] = Field(min_length=1)
    constraints: Constraints = Constraints()
    prices: dict[str, float] = Field(default_factory=dict)
    node_vm: NodeVm = NodeVm()

    @model_validator(mode="after")
    def _distinct(self) -> PlanFile:
        names = [w.name for w in self.workloads]
        for seen, name in enumerate(names):
            if name in names[:seen]:
                raise ValueError(f"workload names unique; '{name}' appears twice")
        for price in self.prices.values():
            if not (math.isfinite(price) and price >= 0):
                raise ValueError(f"prices non-negative, got {price}")
        return self


def load_plan(path: Path | str, catalog: Catalog) -> PlanFile:
    """Read, validate and cross-check a plan file.

    Raises:
        InputError: The file is malformed or names an unknown profile.
    """
    path = Path(path)
    data, text = read_toml(path)
    return parse_plan(data, catalog, display_path(path), text)


def parse_plan(data: dict[str, Any], catalog: Catalog, file: str = "<plan>",
               text: str = "") -> PlanFile:
    """Validate an already-parsed plan table (the Python API's entry point)."""
    plan = validate(PlanFile, data, file, text)
    _check_profiles(plan, catalog, file, text)
    return plan


def _check_profiles(plan: PlanFile, catalog: Catalog, file: str, text: str) -> None:
    def need(kind: str, name: str, loc: list[str | int]) -> None:
        if catalog.get(kind, name) is None:
            names = catalog.names(kind)
            listed = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            raise InputError(file, dotted_key(loc), f"a {kind} profile name ({listed})",
                             f"'{name}'", find_line(text, loc))

    for h, host in enumerate(plan.hosts):
        need("hosts", host, ["hosts", h])
    for name in plan.prices:
        if name not in plan.hosts:
            raise InputError(file, f"prices.{name}", f"a host of this plan "
                             f"({', '.join(plan.hosts)})", f"'{name}'",
                             find_line(text, ["prices", name]))
    need("disk_images", plan.node_vm.disk_image, ["node_vm", "disk_image"])
    for w, group in enumerate(plan.workloads):
        loc: list[str | int] = ["workloads", w]
        need("workloads", group.workload, [*loc, "workload"])
        need("images", group.image, [*loc, "image"])
        need("disk_images", group.disk_image, [*loc, "disk_image"])
        profile = catalog.require(WorkloadProfile, group.workload)
        rate = group.rate_per_s or profile.arrival_rate_per_s
        if group.target_rps is not None and (profile.mode != "service" or rate <= 0):
            raise InputError(file, dotted_key([*loc, "target_rps"]), "a service workload with "
                             "a rate per instance (rate_per_s or the profile's "
                             "arrival_rate_per_s) to take a target load",
                             f"'{profile.name}', a {profile.mode} workload at {rate:g}/s",
                             find_line(text, [*loc, "target_rps"]))


def group_count(group: WorkloadMix, catalog: Catalog) -> int:
    """Instances of a group: its count, or its target load over each instance's rate."""
    if group.count is not None:
        return group.count
    profile = catalog.require(WorkloadProfile, group.workload)
    rate = group.rate_per_s or profile.arrival_rate_per_s
    return max(1, math.ceil((group.target_rps or 0.0) / rate - 1e-9))
