"""The budget of a run: how big its stack, how many events, how much memory and time.

A scenario a loader accepts can still be far beyond the machine that would
run it: a million hosts, a thousand VMs of a thousand containers each on one
host, random faults scaled a trillion times. :func:`estimate` reads the
scenario's counts (nothing is built) and predicts the resource graph's
nodes, the instances, the SimPy events, the peak memory and the wall time;
:func:`check_budget` refuses, with an :class:`~virtsim.errors.InputError`,
a run whose memory would exceed what the machine has free or whose time
would exceed :data:`TIME_LIMIT_S` (the command line's ``--force`` skips it).

The coefficients are fitted to the figures measured by ``benchmarks/``
(see its README) and to a run of 100,000 one-container hosts: a machine
costs work of its own (``PER_MACHINE_S``) plus work that grows with the
instances on it (``PER_INSTANCE_S``) and, since every change re-shares the
machine's pools among what runs there, with their square (``CROWDING_S``);
memory is a base plus a cost per machine, graph node and instance. They err
on the high side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from virtsim.catalog import Catalog
from virtsim.errors import InputError
from virtsim.profiles import FailureRateProfile, RuntimeProfile
from virtsim.scenario import ContainerSpec, HostSpec, ProcessSpec, Scenario

BASE_MIB = 150.0
"""Memory of the interpreter, the libraries and the catalogue (benchmarks: ~64 MiB idle)."""

NODE_KIB = 1.5
"""Memory per graph node (attributes, edges, interned id): hyperscale, 1.3 M nodes."""

INSTANCE_KIB = 3.0
"""Memory per instance (lifecycle state, stage records, footprint rows): hyperscale, 1 M."""

MACHINE_KIB = 4.0
"""Memory per machine (pools, power and footprint state): 100,000 hosts of one container
each peaked at 1,442 MiB."""

EVENTS_PER_INSTANCE = 10.0
"""SimPy events per instance start (hyperscale: 9.4 M events for 1 M containers)."""

EVENTS_PER_MACHINE = 5.0
"""Events per machine (boot, pools)."""

PER_MACHINE_S = 3e-4
"""CPU seconds per machine (100,000 hosts of one container each: 60 s)."""

PER_INSTANCE_S = 3e-4
"""CPU seconds per instance on an uncrowded machine (hyperscale: 286 s for 100,000
machines and 1 M containers)."""

CROWDING_S = 2.5e-6
"""Wall seconds per pair of instances on one machine (boot storm: 4,000 in 30 s)."""

TIME_LIMIT_S = 3600.0
"""Longest estimated run started without ``--force``."""

SECONDS_PER_YEAR = 365.25 * 86400


@dataclass(frozen=True)
class Budget:
    """What a run is predicted to take."""

    machines: int
    nodes: int
    instances: int
    most_on_a_machine: int
    random_faults: float
    events: float
    memory_mib: float
    seconds: float

    def describe(self) -> str:
        """One line: the counts and the estimates."""
        return (f"{self.machines:,} machines, {self.instances:,} instances (up to "
                f"{self.most_on_a_machine:,} on one machine), {self.nodes:,} graph nodes, "
                f"~{self.random_faults:,.0f} random faults: ~{self.events:,.0f} events, "
                f"~{self.memory_mib:,.0f} MiB, ~{_duration(self.seconds)}")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:,.0f} days"


@dataclass(frozen=True)
class _Shape:
    """One machine of a host group: its nodes, instances and fault components."""

    nodes: int = 0
    instances: int = 0
    vms: int = 0
    runtimes: int = 0
    containers: int = 0

    def __add__(self, other: _Shape) -> _Shape:
        return _Shape(self.nodes + other.nodes, self.instances + other.instances,
                      self.vms + other.vms, self.runtimes + other.runtimes,
                      self.containers + other.containers)

    def times(self, count: int) -> _Shape:
        return _Shape(self.nodes * count, self.instances * count, self.vms * count,
                      self.runtimes * count, self.containers * count)


def machine_nodes(host: HostSpec, catalog: Catalog) -> int:
    """Nodes of the resource graph one machine of ``host``'s group has."""
    return _machine(host, catalog).nodes


def _machine(host: HostSpec, catalog: Catalog) -> _Shape:
    hypervisors = len({vm.hypervisor for vm in host.vms})
    shape = _Shape(nodes=2 + hypervisors)  # the machine, its kernel, its hypervisors
    for vm in host.vms:
        inside = _guests(vm.containers, vm.processes, catalog)
        one = _Shape(nodes=3 + (1 if vm.workload else 0), instances=1, vms=1) + inside
        shape = shape + one.times(vm.count)
    return shape + _guests(host.containers, host.processes, catalog)


def _guests(containers: tuple[ContainerSpec, ...], processes: tuple[ProcessSpec, ...],
            catalog: Catalog) -> _Shape:
    runtimes = len({(c.engine, c.runtime) for c in containers})
    shape = _Shape(nodes=runtimes, runtimes=runtimes)
    for spec in containers:
        runtime = catalog.get("runtimes", spec.runtime)
        isolation = runtime.isolation if isinstance(runtime, RuntimeProfile) else "namespaces"
        sandbox = {"user-kernel": 1, "microvm": 3, "hyperv": 3}.get(isolation, 0)
        one = _Shape(nodes=1 + sandbox + (1 if spec.workload else 0), instances=1,
                     containers=1)
        shape = shape + one.times(spec.count)
    for process in processes:
        shape = shape + _Shape(nodes=process.count, instances=process.count)
    return shape


def estimate(scenario: Scenario, catalog: Catalog) -> Budget:
    """Predict a run's size and cost from the scenario's counts (nothing is built)."""
    machines = nodes = instances = most = 0
    events = memory_kib = seconds = faults = 0.0
    rates = _fault_rates(scenario, catalog)
    for host in scenario.hosts:
        one = _machine(host, catalog)
        count = host.count
        machines += count
        nodes += one.nodes * count
        instances += one.instances * count
        most = max(most, one.instances)
        per_machine_s = (PER_MACHINE_S + PER_INSTANCE_S * one.instances
                         + CROWDING_S * one.instances ** 2)
        components = {"machine": 1, "kernel": 1, "hypervisor": len({v.hypervisor
                                                                    for v in host.vms}),
                      "vmm": one.vms, "vm": one.vms, "runtime": one.runtimes,
                      "container": one.containers}
        per_machine_faults = sum(rate * components.get(kind, 0) for kind, rate in rates)
        # A fault restarts what runs on the machine: its instances start again.
        fault_s = per_machine_faults * (per_machine_s + 1e-3)
        faults += per_machine_faults * count
        events += count * (EVENTS_PER_MACHINE + EVENTS_PER_INSTANCE * one.instances
                           * (1 + per_machine_faults))
        seconds += count * (per_machine_s + fault_s)
        memory_kib += count * (MACHINE_KIB + NODE_KIB * one.nodes + INSTANCE_KIB * one.instances)
    return Budget(machines=machines, nodes=nodes, instances=instances, most_on_a_machine=most,
                  random_faults=faults, events=events, memory_mib=BASE_MIB + memory_kib / 1024,
                  seconds=seconds)


def _fault_rates(scenario: Scenario, catalog: Catalog) -> list[tuple[str, float]]:
    """(component kind, expected faults per component over the run) per random fault kind."""
    spec = scenario.random_faults
    if spec is None:
        return []
    names = spec.kinds or tuple(catalog.names("failure_rates"))
    rates: list[tuple[str, float]] = []
    for name in names:
        profile = catalog.get("failure_rates", name)
        if isinstance(profile, FailureRateProfile):
            expected = profile.per_year * spec.rate_scale * scenario.duration_s / SECONDS_PER_YEAR
            rates.append((profile.component, expected))
    return rates


def available_memory_mib() -> float:
    """Memory the machine has free now (Linux: MemAvailable), else its total."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (ValueError, OSError, AttributeError):
        return float("inf")


def check_budget(budget: Budget, file: str, memory_mib: float | None = None,
                 time_limit_s: float = TIME_LIMIT_S) -> None:
    """Refuse a run beyond the machine.

    Raises:
        InputError: The estimated memory exceeds what is free (``memory_mib``,
            default: :func:`available_memory_mib`) or the estimated time
            exceeds ``time_limit_s``.
    """
    free = available_memory_mib() if memory_mib is None else memory_mib
    if budget.memory_mib > free:
        raise InputError(file, "", f"a run that fits in the {free:,.0f} MiB of memory free "
                         "(use --force to run anyway; or lower counts)",
                         budget.describe())
    if budget.seconds > time_limit_s:
        raise InputError(file, "", f"a run of at most ~{_duration(time_limit_s)} (use --force "
                         "to run anyway; or lower counts, crowding or rate_scale)",
                         budget.describe())
