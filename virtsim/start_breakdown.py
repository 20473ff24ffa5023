"""Where start time goes: a run's stage records summed by mechanism.

A start's time to ready is the sum of its steps: engine API stages (and
the wait for the engine's lock), the image pull, kernel objects (and the
wait for each kernel lock), the runtime's create, a sandbox or guest boot,
the application. :func:`start_breakdown` reads the ``stages`` and
``instances`` tables of a run and returns the mean seconds per started
instance spent in each, so a figure can say which mechanism dominates at
which count. It reads result tables only; it runs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from virtsim.kernel_objects import OBJECT_LOCKS

OWNER_MECHANISMS: dict[str, str] = {
    "engine": "engine API path",
    "runtime": "OCI runtime create",
    "sandbox-vmm": "sandbox boot",
    "sandbox-kernel": "sandbox boot",
    "vmm": "VMM and firmware",
    "kernel": "guest kernel",
    "disk-image": "guest user space",
    "first-boot": "first boot (specialize)",
    "cloud": "cloud provisioning",
    "provisioning": "image transfer",
    "app": "application",
}
"""Stage owner -> the mechanism its time is counted under."""
OBJECT_MECHANISMS: dict[str, str] = {
    "mountinfo-scans": "engine state: mount-table reads",
}
"""Kernel-object steps counted under another name than ``kernel object: <step>``."""


def _num(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key)
    return float(value) if value is not None else 0.0


def start_breakdown(stages: Iterable[Mapping[str, Any]],
                    instances: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Mean seconds per started instance in each mechanism, up to its first ready.

    Lock waits are their own mechanisms ("wait: dockerd lock", "wait: rtnl"),
    separate from the work done holding the lock; stages after an instance
    was ready (teardown) are left out.
    """
    ready = {str(r["instance"]): _num(r, "ready_s") for r in instances
             if r.get("ready_s") is not None and not r.get("restart")}
    totals: dict[str, float] = {}

    def add(key: str, seconds: float) -> None:
        if seconds > 0:
            totals[key] = totals.get(key, 0.0) + seconds

    for row in stages:
        instance = str(row["instance"])
        if instance not in ready or _num(row, "start_s") >= ready[instance]:
            continue
        owner, stage = str(row["owner"]), str(row["stage"])
        took = _num(row, "end_s") - _num(row, "start_s")
        if owner == "kernel-objects":
            add(f"wait: {OBJECT_LOCKS.get(stage, stage)}", _num(row, "queued_s"))
            add(OBJECT_MECHANISMS.get(stage, f"kernel object: {stage}"), took)
        elif stage == "image-pull":
            add("image pull", took)
        else:
            if owner == "engine":
                add("wait: engine lock", _num(row, "queued_s"))
            add(OWNER_MECHANISMS.get(owner, owner), took)
    count = max(len(ready), 1)
    return {key: value / count for key, value in sorted(totals.items())}


def dominant(breakdown: Mapping[str, float]) -> str:
    """The mechanism with the most time (``""`` when there is none)."""
    return max(breakdown, key=lambda key: breakdown[key]) if breakdown else ""
