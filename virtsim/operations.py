"""Operation mixes: a workload's demand composed from its operations and each layer's mechanisms.

A workload given as ``operations`` (:class:`~virtsim.profiles.Operation`) is a
mix: one transaction or request holds so many point SELECTs, so many GETs, so
many compiler runs, each with its CPU work, system calls by class, page
faults, execs, disk and network bytes and operations, fsyncs and round trips.
:func:`request_cost` prices one request through a stack (:class:`LayerCost`):

- **CPU**: user work at the stack's CPU efficiency, integer and floating point
  apart (an emulator translates floating point far worse); memory streamed at
  the stack's memory-bandwidth efficiency; each exec pays the layers' start
  cost of a new image (an emulator re-translates it).
- **System calls**: each costs the bare-metal kernel path (the ``native``
  layer's figure, at the stack's CPU speed: a guest kernel runs on a vCPU) plus
  what every other layer adds as host CPU: gVisor's interception by its
  platform and the Sentry's handling, a paravirtual guest's bounce through the
  hypervisor. Page faults the same way; each path look-up under gVisor's gofer
  pays an IPC round trip.
- **I/O**: bytes and operations on the host's disk, reads at the read figures
  and writes at the write figures, through the layers' efficiencies; host CPU
  per operation for VM exits and the backend; a single-queue VMM's serial
  device thread; the flush of each fsync.
- **Network**: bytes on the NIC, host CPU per packet (NAT's netfilter path,
  a VM's backend), and the layers' latency per round trip.

Host CPU is a throughput cost: it lands on the CPU column of the machine's
fluid pool, so a syscall-heavy service under gVisor serves fewer requests,
not only slower ones. The result keeps each mechanism's share
(:data:`CATEGORIES`) so experiments can show which mechanism costs what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from virtsim.layer_costs import DEMANDS, LayerCost
from virtsim.profiles import HostProfile, Operation, WorkloadProfile

CATEGORIES: tuple[str, ...] = ("cpu", "syscalls", "io", "network")
"""Mechanism categories of a request's cost, in the order figures stack them."""
SYSCALL_CLASSES: tuple[str, ...] = ("cheap", "file", "network", "mmap")
"""System-call classes an operation counts and a layer prices."""
_MB_PER_MIB = 1.048576
_CPU, _MEMORY, _RANDOM, _SEQ, _IOPS, _NET = range(len(DEMANDS))


@dataclass(frozen=True)
class RequestCost:
    """What one transaction or request costs through a stack, by resource and mechanism.

    Attributes:
        work: Work in native resource units, in :data:`DEMANDS` order (core-seconds,
            GB of memory traffic, M random updates, MiB of sequential disk as reads,
            random disk operations as reads, MiB on the network): what the
            machine's fluid pool serves.
        cpu_s: Host core-seconds per mechanism category.
        device_s: Busy seconds per category on the host's memory, disk and NIC alone.
        thread_s: Seconds on a serial device thread of the instance's VMM.
        latency_s: Pure delay per category (round trips, flushes), seconds.
    """

    work: np.ndarray
    cpu_s: Mapping[str, float]
    device_s: Mapping[str, float]
    thread_s: float
    latency_s: Mapping[str, float]

    @property
    def offload_s(self) -> float:
        """Host core-seconds spent outside the workload's own threads.

        Packets through NAT or a VM's network backend and disk requests through
        a VM's device backend are processed by host threads (softirq, vhost,
        dom0, a hosted VMM's process), not by the workload's threads: they load
        the machine's cores but do not queue behind the workload's own CPU work.
        """
        return float(self.cpu_s["network"] + self.cpu_s["io"])

    @property
    def delay_s(self) -> float:
        """Seconds of pure delay (no resource held) per request."""
        return float(sum(self.latency_s.values()))

    def seconds(self) -> dict[str, float]:
        """Time one request spends in each mechanism category, alone on an idle machine."""
        return {c: self.cpu_s[c] + self.device_s[c] + self.latency_s[c]
                + (self.thread_s if c == "io" else 0.0) for c in CATEGORIES}

    @property
    def alone_s(self) -> float:
        """Response time of one request alone (its work served one step after another)."""
        return float(sum(self.seconds().values()))


def has_mix(workload: WorkloadProfile) -> bool:
    """Whether the workload is given as an operation mix."""
    return bool(workload.operations)


def _sum(operations: tuple[Operation, ...], field: str) -> float:
    return float(sum(op.count * getattr(op, field) for op in operations))


def request_cost(workload: WorkloadProfile, costs: LayerCost, host: HostProfile) -> RequestCost:
    """One request of ``workload``'s mix through the layers ``costs`` on ``host``.

    Args:
        workload: A workload with ``operations``.
        costs: The composed cost of its layers, ``native`` included.
        host: The machine (disk read/write figures, NIC, memory bandwidth).

    Raises:
        ValueError: The workload has no operation mix.
    """
    if not workload.operations:
        raise ValueError(f"workload {workload.name!r} has no operations")
    ops = workload.operations
    eff, base, added = costs.efficiency, costs.base, costs.added
    cpu_eff = eff["cpu"]
    cpu: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
    device: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
    latency: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
    work = np.zeros(len(DEMANDS))

    user_us = sum(op.count * op.cpu_us * ((1 - op.fp_share) / cpu_eff
                                          + op.fp_share / eff.get("cpu_fp", cpu_eff))
                  for op in ops)
    execs = _sum(ops, "execs")
    cpu["cpu"] = user_us * 1e-6 + execs * (base["exec_ms"] / cpu_eff + added["exec_ms"]) * 1e-3
    memory_gb = _sum(ops, "memory_mb") / 1e3
    work[_MEMORY] = memory_gb / eff["memory_bw"]
    device["cpu"] = float(work[_MEMORY] / host.memory_bandwidth_gbs)

    calls_ns = 0.0
    for kind in SYSCALL_CLASSES:
        key = f"syscall_{kind}_ns"
        calls_ns += _sum(ops, f"syscalls_{kind}") * (base[key] / cpu_eff + added[key])
    calls_ns += _sum(ops, "page_faults") * (base["page_fault_ns"] / cpu_eff
                                            + added["page_fault_ns"])
    calls_ns += _sum(ops, "file_opens") * (base["file_open_us"] / cpu_eff
                                           + added["file_open_us"]) * 1e3
    cpu["syscalls"] = calls_ns * 1e-9

    read_ops, write_ops = _sum(ops, "disk_read_ops"), _sum(ops, "disk_write_ops")
    fsyncs = _sum(ops, "fsyncs")
    writes_as_reads = host.disk_read_iops / host.disk_write_iops
    work[_IOPS] = (read_ops / eff["disk_random"]
                   + (write_ops + fsyncs) * writes_as_reads / eff["disk_random_write"])
    mbs_ratio = host.disk_read_mbs / host.disk_write_mbs
    work[_SEQ] = (_sum(ops, "disk_read_kib") / 1024 / eff["disk_seq"]
                  + _sum(ops, "disk_write_kib") / 1024 * mbs_ratio / eff["disk_seq_write"])
    disk_ops = read_ops + write_ops + fsyncs
    cpu["io"] = disk_ops * (base["disk_op_cpu_us"] / cpu_eff + added["disk_op_cpu_us"]) * 1e-6
    device["io"] = float(work[_IOPS] / host.disk_read_iops
                         + work[_SEQ] * _MB_PER_MIB / host.disk_read_mbs)
    latency["io"] = fsyncs * (base["fsync_us"] + added["fsync_us"]) * 1e-6
    net_kib = _sum(ops, "net_kib")
    disk_kib = _sum(ops, "disk_read_kib") + _sum(ops, "disk_write_kib")
    thread_s = (disk_ops * (base["io_thread_us"] + added["io_thread_us"]) * 1e-6
                + disk_kib * (base["io_thread_ns_per_kib"] + added["io_thread_ns_per_kib"]) * 1e-9
                + net_kib * (base["net_thread_ns_per_kib"] + added["net_thread_ns_per_kib"])
                * 1e-9)

    work[_NET] = net_kib / 1024 / eff["net_stream"]
    cpu["network"] = _sum(ops, "packets") * (base["packet_ns"] / cpu_eff
                                             + added["packet_ns"]) * 1e-9
    device["network"] = float(work[_NET] * _MB_PER_MIB / (host.nic_gbps * 125.0))
    latency["network"] = _sum(ops, "round_trips") * costs.round_trip_us * 1e-6

    work[_CPU] = sum(cpu.values())
    return RequestCost(work, cpu, device, thread_s, latency)


