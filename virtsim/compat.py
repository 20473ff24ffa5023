"""Compatibility: how a container image ends up on a host, as a platform sets it up.

:mod:`virtsim.resolver` answers whether an image's binaries run on one
kernel and architecture (``native``, ``emulated``, ``needs-vm``,
``impossible``, with the real tools' message). A *placement* answers the
user's question one level up: this image on this host, as a platform sets it
up (:class:`Target`). :func:`place` adds the outcome ``vm`` (it runs, inside
the platform's Linux VM or a Hyper-V utility VM), names how, and composes the
layer costs on the way, so the slowdown per demand type of a VM or an
emulator comes with it. :func:`matrix` tabulates images against targets.
:class:`CompatibilityReport` is the run hook that tells, for every container
of a scenario, how it runs.

This module is also the public face of the three for experiments: it
re-exports :func:`~virtsim.resolver.resolve` and what goes with it, and
:mod:`virtsim.image_contents`' :func:`exec_in` and :func:`attack_surface`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from virtsim.image_contents import ExecResult, attack_surface, exec_in
from virtsim.layer_costs import DEMANDS, compose, layer_cost_names
from virtsim.profiles import (
    HostProfile,
    ImageProfile,
    KernelProfile,
    LayerCostProfile,
    PlatformProfile,
    RuntimeProfile,
)
from virtsim.resolver import (
    FEATURE_ERRORS,
    LINUX_VM,
    QEMU_USER,
    QEMU_USER_ARCHES,
    ROSETTA,
    ROSETTA_FEATURE,
    WINDOWS_VM,
    Compatibility,
    Outcome,
    kernel_os,
    release,
    resolve,
    version_lt,
    version_tuple,
)
from virtsim.result import Record, Result, Scalar

__all__ = [
    "FEATURE_ERRORS", "LINUX_VM", "PLACEMENTS", "QEMU_USER", "QEMU_USER_ARCHES", "ROSETTA",
    "ROSETTA_FEATURE", "WINDOWS_VM", "Compatibility", "CompatibilityReport", "ExecResult",
    "Outcome", "Placement", "Target", "attack_surface", "container_placement", "exec_in",
    "matrix", "place", "release", "resolve", "slowdowns", "version_lt", "version_tuple",
]

if TYPE_CHECKING:
    from virtsim.catalog import Catalog
    from virtsim.graph import ResourceGraph
    from virtsim.simulation import Simulation

Placement = Literal["native", "vm", "emulated", "needs-vm", "impossible"]
PLACEMENTS: tuple[Placement, ...] = ("native", "vm", "emulated", "needs-vm", "impossible")
"""Every way an image can end up on a host, most direct first."""

# -- placements: an image on a host as a platform sets it up ---------------------------


@dataclass(frozen=True)
class Target:
    """Where an image is asked to run: a host profile, its kernel and a platform.

    Attributes:
        host: A ``hosts`` profile name (its architecture and default kernel).
        kernel: A ``kernels`` profile for the host OS ("" for the host's default).
        platform: A ``platforms`` profile ("" for containers straight on the host kernel).
        label: How tables name the target ("" for ``host[/kernel][+platform]``).
        arch: The machine's architecture ("" for the host profile's), as a scenario's
            ``overrides = { arch = "arm64" }`` would set it.
    """

    host: str
    kernel: str = ""
    platform: str = ""
    label: str = ""
    arch: str = ""

    @property
    def name(self) -> str:
        """The label, or one made from the parts."""
        if self.label:
            return self.label
        kernel = f"/{self.kernel}" if self.kernel else ""
        platform = f"+{self.platform}" if self.platform else ""
        arch = f"({self.arch})" if self.arch else ""
        return f"{self.host}{arch}{kernel}{platform}"


def _hypervisor_cost(catalog: Catalog, hypervisor: str) -> str:
    """The ``layer_costs`` profile of a VM on ``hypervisor`` (untuned where there is a choice)."""
    known = set(catalog.names(LayerCostProfile.kind))
    for name in (f"{hypervisor}-untuned", hypervisor):
        if name in known:
            return name
    raise KeyError(f"no layer_costs profile for hypervisor {hypervisor!r}")


def slowdowns(catalog: Catalog, layers: Sequence[str]) -> dict[str, float]:
    """Time through ``layers`` over native time, per demand type (1 = no loss)."""
    cost = compose(catalog, list(layers))
    return {d: 1.0 / cost.efficiency[d] for d in DEMANDS}


def place(catalog: Catalog, image: ImageProfile, target: Target) -> Record:
    """How ``image`` runs on ``target``: one flat record.

    Keys: image, distribution, image_os, arches, target, host, host_os, arch,
    platform, kernel (the one the image's system calls would reach: the
    platform VM's where there is one), kernel_os, kernel_version, outcome
    (one of :data:`PLACEMENTS`), how (``native``, the VM, the emulator),
    emulator, message, layers (the ``layer_costs`` profiles crossed) and
    ``slowdown_<demand>`` per demand type (None where the image cannot run).
    """
    host = catalog.require(HostProfile, target.host)
    if target.arch:
        host = host.model_copy(update={"arch": target.arch})
    host_kernel = catalog.require(KernelProfile, target.kernel or host.kernel)
    platform = (catalog.require(PlatformProfile, target.platform) if target.platform else None)
    runtime = catalog.require(RuntimeProfile, platform.runtime) if platform else None
    outcome: Placement
    layers = ["native"]
    if platform is not None and platform.hypervisor:  # the engine lives in the Linux VM
        kernel = catalog.require(KernelProfile, platform.kernel)
        fit = resolve(image, kernel, host.arch)
        layers.append(_hypervisor_cost(catalog, platform.hypervisor))
        where = f"the {platform.name} Linux VM on {platform.hypervisor}"
        outcome = "vm" if fit.outcome == "native" else fit.outcome
        how = {"vm": where, "emulated": f"{fit.emulator} in {where}"}.get(outcome, "")
    elif runtime is not None and runtime.isolation == "hyperv" and image.os == "windows":
        kernel = host_kernel  # the utility VM boots the host's own Windows build
        fit = resolve(image, kernel, host.arch)
        layers.append(_hypervisor_cost(catalog, runtime.sandbox_hypervisor))
        outcome = "vm" if fit.outcome == "native" else fit.outcome
        how = "a Hyper-V isolation utility VM per container" if outcome == "vm" else ""
    else:
        kernel = host_kernel
        fit = resolve(image, kernel, host.arch)
        outcome = fit.outcome
        how = {"native": "native", "emulated": fit.emulator}.get(outcome, "")
    if fit.emulator:
        layers.append(fit.emulator)
    record: Record = {
        "image": image.name, "distribution": image.distribution, "image_os": image.os,
        "arches": "/".join(image.arches), "target": target.name, "host": host.name,
        "host_os": host_kernel.family, "arch": host.arch,
        "platform": platform.name if platform else "", "kernel": kernel.name,
        "kernel_os": kernel_os(kernel), "kernel_version": release(kernel.version),
        "outcome": outcome, "how": how,
        "emulator": fit.emulator, "message": fit.reason,
        "layers": "+".join(layers) if outcome in ("native", "vm", "emulated") else "",
    }
    runs = outcome in ("native", "vm", "emulated")
    for demand, factor in slowdowns(catalog, layers).items():
        record[f"slowdown_{demand}"] = factor if runs else None
    return record


def matrix(catalog: Catalog, images: Iterable[str], targets: Iterable[Target]) -> list[Record]:
    """One :func:`place` record per (image, target), images outermost."""
    chosen = list(targets)
    return [place(catalog, catalog.require(ImageProfile, name), target)
            for name in images for target in chosen]


# -- the run hook ------------------------------------------------------------------------


def container_placement(graph: ResourceGraph,
                        container: str) -> tuple[Placement, str, Compatibility]:
    """How a container of a built stack runs: outcome, how, and the resolver's answer."""
    data = graph.graph.nodes
    kernel = data[graph.kernel_of(container)]
    fit = resolve(data[container]["profile"], kernel["profile"],
                  data[graph.machine(container)]["profile"].arch)
    outcome: Placement = fit.outcome
    how = fit.emulator or "native"
    if fit.outcome not in ("native", "emulated"):
        return outcome, "", fit
    if kernel["profile"].family == "gvisor":
        how = f"{how} on gVisor's Sentry"
    vm = next((a for a in graph.ancestors(container) if graph.kind(a) == "vm"), None)
    if vm is not None:
        hypervisor = next((str(data[a]["name"]) for a in graph.ancestors(vm)
                           if graph.kind(a) in ("hypervisor", "runtime")), "")
        inside = (f"sandbox VM of {hypervisor}" if data[vm].get("role") == "sandbox"
                  else f"VM {data[vm]['name']} on {hypervisor}")
        how = inside if how == "native" else f"{how} in {inside}"
        outcome = "vm" if fit.outcome == "native" else outcome
    return outcome, how, fit


Answer = tuple[tuple[str, ...], tuple[Scalar, ...], tuple[Scalar, ...]]
"""A container's ``compatibility`` record: its keys, the values before the machine and
those after it (the instance and machine go in between)."""


class CompatibilityReport:
    """Run hook: one ``compatibility`` record per container; counts per outcome in the metrics."""

    def attach(self, sim: Simulation) -> None:
        """Nothing to run: compatibility is a property of the built stack."""

    def report(self, sim: Simulation) -> None:
        """Table ``compatibility`` (instance, image, kernel, arch, outcome, how, message).

        Containers on stacks of the same shape
        (:meth:`~virtsim.graph.ResourceGraph.stack_shape`) get the same answer,
        worked out once; a container of a copied machine (see
        :class:`~virtsim.templates.Templates`) gets the answer of its place in the
        machine it copies, without walking its stack.
        """
        graph = sim.graph
        by_shape: dict[tuple[object, ...], Answer] = {}
        by_place: dict[tuple[str, str], Answer] = {}
        first_of = sim.templates.first
        data = graph.data
        for node in graph.nodes("container"):
            machine = data[node]["machine"]
            place = (first_of(machine), node[len(machine):])
            answer = by_place.get(place)
            if answer is None:
                shape = graph.stack_shape(node)
                answer = by_shape.get(shape)
                if answer is None:
                    image_fields, rest_fields = _compatibility_record(sim, node)
                    answer = by_shape[shape] = (
                        ("instance", *image_fields, "machine", *rest_fields),
                        tuple(image_fields.values()), tuple(rest_fields.values()))
                by_place[place] = answer
            keys, image, rest = answer
            sim.result.append("compatibility", keys, (node, *image, machine, *rest))


def compatibility_metrics(result: Result) -> None:
    """Containers per placement outcome (``compatibility``), from the run's table."""
    counts = Counter(str(outcome) for outcome in result.column("compatibility", "outcome"))
    if counts:
        result.metrics["compatibility"] = {o: counts[o] for o in PLACEMENTS if counts[o]}


def _compatibility_record(sim: Simulation, node: str) -> tuple[Record, Record]:
    """A container's ``compatibility`` record without its instance and machine: the
    fields before the machine and those after it."""
    graph = sim.graph
    data = graph.graph.nodes[node]
    outcome, how, fit = container_placement(graph, node)
    kernel: KernelProfile = graph.graph.nodes[graph.kernel_of(node)]["profile"]
    host_kernel: KernelProfile = graph.graph.nodes[f"{graph.machine(node)}/kernel"]["profile"]
    image: Record = {"image": data["profile"].name,
                     "distribution": data["profile"].distribution}
    rest: Record = {
        "host_kernel": host_kernel.name, "kernel": kernel.name,
        "kernel_version": release(kernel.version),
        "arch": graph.graph.nodes[graph.machine(node)]["profile"].arch,
        "outcome": outcome, "how": how, "emulator": fit.emulator, "message": fit.reason}
    return image, rest | _path_slowdowns(sim, node, outcome)


def _path_slowdowns(sim: Simulation, container: str, outcome: Placement) -> Record:
    """The layers under a container and its slowdown per demand type through them."""
    record: Record = {"layers": ""} | {f"slowdown_{d}": None for d in DEMANDS}
    if outcome not in ("native", "vm", "emulated"):
        return record
    try:
        layers = layer_cost_names(sim.graph, container, sim.catalog)
    except KeyError:  # a hypervisor without a layer cost profile: say nothing
        return record
    record["layers"] = "+".join(layers)
    record.update({f"slowdown_{d}": v for d, v in slowdowns(sim.catalog, layers).items()})
    return record


# -- image contents ----------------------------------------------------------------------
