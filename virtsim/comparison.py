"""Side by side: one fault of each kind against the same workload as VMs and as containers.

:func:`equal_density` builds a scenario in which the same service runs as
``count`` containers on one host and as ``count`` VMs on another, equal
hosts (each container limited to the VM's vCPUs and memory), with one
fault of each kind aimed at each technology where it applies.
:func:`side_by_side` runs every fault of a scenario *alone* on a fresh copy
of its fleet (so one fault's recovery never overlaps another's) and
reports, per fault, the blast radius, the share of that technology's fleet
it took, the time to full recovery and the downtime, all from the
lifecycle's start procedures.
"""

from __future__ import annotations

from typing import Any

from virtsim.catalog import Catalog
from virtsim.result import Record
from virtsim.run import run_scenario
from virtsim.scenario import Scenario

CONTAINER_FAULTS: tuple[tuple[str, str, str | None], ...] = (
    ("container-crash", "{host}/web-1", None),
    ("oom-kill", "{host}/web-2", None),
    ("engine-crash", "{host}/web-0", None),
    ("container-escape", "{host}/web-3", "cve-2024-21626"),
    ("host-kernel-panic", "{host}", None),
    ("machine-failure", "{host}", None),
)
VM_FAULTS: tuple[tuple[str, str, str | None], ...] = (
    ("guest-kernel-panic", "{host}/web-1", None),
    ("vmm-crash", "{host}/web-2", None),
    ("oom-kill", "{host}/web-4", None),
    ("vm-escape", "{host}/web-3", "cve-2015-3456"),
    ("hypervisor-crash", "{host}", None),
    ("host-kernel-panic", "{host}", None),
    ("machine-failure", "{host}", None),
)
"""The faults of each technology: (kind, target pattern, exploit)."""


def equal_density(count: int = 8, host_profile: str = "m5d-metal", vcpus: int = 2,
                  memory_mib: float = 2048.0, at_s: float = 60.0,
                  duration_s: float = 600.0, machine_repair_s: float = 300.0,
                  seed: int = 0) -> dict[str, Any]:
    """The side-by-side scenario as a dict (see the module docs).

    Every instance has ``restart = "always"``. ``machine_repair_s``
    replaces the catalogue's repair time so a machine failure recovers
    within the run.
    """
    containers = {"name": "containers", "profile": host_profile, "cached_images": ["nginx-alpine"],
                  "containers": [{"name": "web", "count": count, "image": "nginx-alpine",
                                  "cpus": float(vcpus), "memory_mib": memory_mib,
                                  "restart": "always"}]}
    vms = {"name": "vms", "profile": host_profile,
           "vms": [{"name": "web", "count": count, "hypervisor": "kvm", "vmm": "qemu",
                    "disk_image": "ubuntu-24.04-cloud", "vcpus": vcpus, "memory_mib": memory_mib,
                    "restart": "always"}]}
    faults = []
    for host, plan in (("containers", CONTAINER_FAULTS), ("vms", VM_FAULTS)):
        for kind, target, exploit in plan:
            if count < 5 and not target.endswith("}"):
                target = target.split("/")[0] + "/web-0"
            fault: dict[str, Any] = {"kind": kind, "target": target.format(host=host),
                                     "at_s": at_s}
            if count == 1:
                fault["target"] = fault["target"].replace("/web-0", "/web")
            if exploit:
                fault["exploit"] = exploit
            if kind == "machine-failure":
                fault["repair_s"] = machine_repair_s
            faults.append(fault)
    return {"name": f"side-by-side-{count}", "duration_s": duration_s, "seed": seed,
            "description": f"The same service as {count} containers and as {count} VMs at "
                           "equal density on equal hosts; one fault of each kind.",
            "hosts": [containers, vms], "faults": faults}


def side_by_side(scenario: Scenario, catalog: Catalog, seed: int | None = None) -> list[Record]:
    """Run each fault of ``scenario`` alone on a fresh copy of its fleet; one row per fault.

    Columns: ``technology`` (the host group of the fault's target), ``kind``,
    ``target``, ``instances`` lost or compromised, ``of`` (instances of that
    host group), ``share``, ``effect``, ``time_to_recover_s`` (None if some
    instance was still down at the end), ``downtime_s`` (summed over
    instances), ``availability`` and ``compromised``.
    """
    groups = {}
    for host in scenario.hosts:
        per_member = sum(v.count * (1 + sum(c.count for c in v.containers)
                                    + sum(p.count for p in v.processes)) for v in host.vms)
        per_member += sum(c.count for c in host.containers) + sum(p.count for p in host.processes)
        groups[host.name] = (host.count, per_member)
    rows: list[Record] = []
    for index, fault in enumerate(scenario.faults):
        alone = scenario.model_copy(update={"faults": (fault,), "random_faults": None})
        result = run_scenario(alone, catalog, seed)
        hit = next(r for r in result.table("faults") if r["fault"] == "0")
        machine = fault.target.split("/", 1)[0]
        group = next((h.name for h in scenario.hosts
                      if machine == h.name or machine.startswith(f"{h.name}-")), machine)
        members, per_member = groups.get(group, (1, 0))
        fleet = members * per_member
        down = sum(_num(r["downtime_s"]) for r in result.table("downtime"))
        rows.append({"fault": index, "technology": group, "kind": fault.kind,
                     "target": fault.target, "exploit": fault.exploit or "",
                     "effect": hit["effect"], "crossed": hit["crossed"],
                     "instances": hit["instances"], "of": fleet,
                     "share": _num(hit["instances"]) / fleet if fleet else 0.0,
                     "survived": hit["survived"], "time_to_recover_s": hit["time_to_recover_s"],
                     "downtime_s": down,
                     "availability": result.metrics.get("availability", 1.0),
                     "compromised": result.metrics.get("compromised_instances", 0)})
    return rows


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
