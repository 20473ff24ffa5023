"""Lifecycle: how long until each instance is up, stage by stage, under contention.

Every instance starts through the stages of the profiles on its path:

- VM: VMM process start and guest firmware (VMM profile), bootloader (disk
  image), guest kernel (kernel profile), user space (disk image), the
  application (workload);
- container: the engine's API path (holding the engine's lock where the
  real daemon serialises), an image pull of the layers not yet on that
  kernel (fetched in parallel up to the engine's limit, then decompressed),
  the runtime's create, a sandbox boot where the runtime has one (gVisor's
  Sentry, Kata's microVM), the application;
- native process: the application.

A stage's uncontended duration is drawn from its distribution. The part of
it that is work on the host (CPU-seconds, MiB read, MiB fetched) runs as an
activity on the machine's :class:`~virtsim.sharing.FluidPool`, so starts
that overlap share CPU, disk and network fairly and a boot storm stretches
every start; the rest is latency that does not contend. Containers inside a
VM start once the VM is ready. Machines are up when the run starts unless
their host group says ``boot = true``: then they power on (firmware POST and
loader, a bare-metal hypervisor, host kernel, OS services) and everything on
them waits.

A machine reads each binary and kernel image from disk once (its page
cache): later starts wait for that first read and then skip the disk work.
A VM's own disk is read by each VM unless it is a linked clone.

A start is driven by callbacks, not a SimPy process: :class:`Start` runs its
steps (waits, API path, pull, stages) and :class:`StageRun` its stages, each
stage's work handed to the pool with its latency and a callback for when it
is done: a stage costs about one SimPy event instead of four or five.

Simplification: all start work, including work inside a VM, is charged to
the machine's pool (a guest's vCPUs are host threads).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from virtsim.catalog import Catalog
from virtsim.compat import Compatibility, resolve
from virtsim.graph import ResourceGraph
from virtsim.host_mechanisms import (
    HostMechanisms,
    admission_for,
    committed_mib,
    emulated,
    for_network,
    shape_vm_stages,
    user_emulator,
)
from virtsim.kernel_objects import ObjectCreation, object_steps
from virtsim.locks import Hold
from virtsim.profiles import (
    CodecProfile,
    DiskImageProfile,
    EngineProfile,
    HostProfile,
    ImageProfile,
    KernelProfile,
    Layer,
    RuntimeProfile,
    Stage,
    VmmProfile,
    WorkloadProfile,
)
from virtsim.pull_pipeline import HostIo, LayerStore
from virtsim.pull_pipeline import pull as pull_layers
from virtsim.sharing import FluidPool
from virtsim.simulation import Simulation

RESOURCES = ("cpu", "disk", "net")
STAGE_FIELDS = ("instance", "owner", "stage", "start_s", "end_s", "queued_s", "uncontended_s")
"""The columns of the ``stages`` table."""
INSTANCE_FIELDS = ("instance", "kind", "machine", "group", "requested_s", "ready_s", "restart",
                   "outcome", "reason")
"""The columns of the ``instances`` table."""
UTILISATION_FIELDS = ("machine", "resource", "window_s", "busy", "utilisation")
"""The columns of the ``host_utilisation`` table."""
MIB_PER_GBIT = 1000**3 / 8 / 2**20


def host_capacity(host: HostProfile) -> list[float]:
    """CPU cores, disk MiB/s and network MiB/s of a machine."""
    return [float(host.cores * host.threads_per_core), host.disk_read_mbs * 1e6 / 2**20,
            host.nic_gbps * MIB_PER_GBIT]


@dataclass
class MachineState:
    """Per-machine lifecycle state: shared resources, locks, layers on each kernel."""

    pool: FluidPool
    capacity: tuple[float, ...]
    """CPU cores, disk MiB/s and network MiB/s, as in :func:`host_capacity`."""
    locks: dict[str, simpy.Resource] = field(default_factory=dict)
    layers: dict[str, set[str]] = field(default_factory=dict)
    pulls: dict[tuple[str, str], simpy.Event] = field(default_factory=dict)
    page_cache: dict[tuple[object, ...], list[Callable[[], None]] | None] = field(
        default_factory=dict)
    """Files read once per machine: a later start reads them from memory. While the
    first read is in flight the entry holds what waits for it; once read, ``None``."""


class Lifecycle:
    """The start model: attaches one SimPy process per instance."""

    def __init__(self) -> None:
        self.machines: dict[str, MachineState] = {}
        self.ready: dict[str, simpy.Event] = {}
        self.first_ready: dict[str, float] = {}
        self.attempts: dict[str, int] = {}
        self.rng: np.random.Generator = np.random.default_rng(0)
        self.on_ready: list[Callable[[Simulation, str], None]] = []
        """Called with each instance the moment it (re)starts and is ready."""
        self._fits: dict[tuple[int, int, str], Compatibility] = {}
        self._api_calls: dict[tuple[int, str], list[tuple[str, Stage]]] = {}
        self._stages: dict[tuple[object, ...], StagePlan] = {}
        self.hosts: dict[str, HostMechanisms] = {}
        """Per machine: kernel objects and locks, memory admission, layer stores."""
        self.holds: list[Hold] | None = None
        """Set to a list to log every kernel-lock hold (tests of serialisation)."""
        self.catalog = Catalog({})
        self.codecs: dict[str, CodecProfile] = {}

    def api_calls(self, engine: EngineProfile, network: str = "nat") -> list[tuple[str, Stage]]:
        """The engine's API stages of a start on ``network``, in order."""
        key = (id(engine), network)  # profiles live in the catalogue for the whole run
        if key not in self._api_calls:
            self._api_calls[key] = for_network(
                [("engine", s) for s in engine.api if s.phase == "start"], network)
        return self._api_calls[key]

    def stages_of(self, graph: ResourceGraph, node: str, path: list[str]) -> StagePlan:
        """An instance's stages (start and teardown), once per shape of stack
        (:meth:`~virtsim.graph.ResourceGraph.stack_shape`)."""
        nodes = graph.data
        key = graph.stack_shape(node, path)
        plan = self._stages.get(key)
        if plan is None:
            kind = nodes[node]["kind"]
            if kind == "vm":
                stages = shape_vm_stages(self.vm_stages(graph, node), graph, node, self.catalog)
            elif kind == "container":
                stages = self.container_stages(graph, node)
                spec = nodes[node]["spec"]
                stages = for_network(stages, spec.network)
                if self._runs_emulated(graph, node, path):
                    stages = emulated(stages, user_emulator(self.catalog), frozenset({"app"}))
            else:
                stages = [("app", s) for s in nodes[node]["profile"].start]
            plan = self._stages[key] = StagePlan([x for x in stages if x[1].phase == "start"],
                                                 [x for x in stages if x[1].phase == "stop"])
        return plan

    def _runs_emulated(self, graph: ResourceGraph, node: str, path: list[str]) -> bool:
        """Whether a container's image runs through user-mode emulation on its kernel."""
        nodes = graph.data
        kernel = next(n for n in path if nodes[n]["kind"] == "kernel")
        fit = self.fit(nodes[node]["profile"], nodes[kernel]["profile"],
                       nodes[nodes[node]["machine"]]["profile"].arch)
        return fit.outcome == "emulated"

    def fit(self, image: ImageProfile, kernel: KernelProfile, arch: str) -> Compatibility:
        """:func:`~virtsim.compat.resolve`, once per image, kernel and architecture."""
        key = (id(image), id(kernel), arch)  # profiles live in the catalogue for the whole run
        if key not in self._fits:
            self._fits[key] = resolve(image, kernel, arch)
        return self._fits[key]

    # -- model hooks -------------------------------------------------------
    def attach(self, sim: Simulation) -> None:
        """Start every instance of the scenario at its ``start_at_s``."""
        self.machines.clear()
        self.ready.clear()
        self.first_ready.clear()
        self.attempts.clear()
        self._fits.clear()  # keyed by identity: valid for one run's catalogue and graph
        self._api_calls.clear()
        self._stages.clear()
        self.hosts.clear()
        self.catalog = sim.catalog
        self.codecs = {name: sim.catalog.require(CodecProfile, name)
                       for name in sim.catalog.names("codecs")}
        self.rng = sim.rng("lifecycle")
        graph = sim.graph
        for machine in graph.machines():
            host: HostProfile = graph.graph.nodes[machine]["profile"]
            capacity = host_capacity(host)
            state = MachineState(FluidPool(sim.env, RESOURCES, capacity), tuple(capacity))
            self.hosts[machine] = HostMechanisms(admission_for(sim.env, graph, machine, host))
            spec = graph.graph.nodes[machine]["spec"]
            state.layers[f"{machine}/kernel"] = {
                layer.digest for name in spec.cached_images
                for layer in sim.catalog.require(ImageProfile, name).layers}
            self.machines[machine] = state
            if spec.boot:
                self.ready[machine] = sim.env.event()
                sim.env.process(self.power_on(sim, machine))
        instances = list(graph.instances())
        for node in instances:
            self.ready[node] = sim.env.event()
        sim.env.timeout(0).callbacks.append(
            lambda _event: self._begin_all(sim, instances))

    def _begin_all(self, sim: Simulation, instances: list[str]) -> None:
        for node in instances:
            Start(self, sim, node).resume()

    def report(self, sim: Simulation) -> None:
        """Readiness percentiles and host utilisation during start."""
        ready: list[tuple[float, float]] = []  # first starts: (requested, ready)
        boots: list[float] = []
        failed: dict[str, str] = {}
        for r in sim.result.rows("instances"):
            if r["ready_s"] is None:
                failed[str(r["instance"])] = f"{r['outcome']}: {r['reason']}"
            elif r["restart"]:
                continue
            elif r["kind"] == "machine":
                boots.append(float(r["ready_s"]))
            else:
                ready.append((float(r["requested_s"]), float(r["ready_s"])))  # type: ignore[arg-type]
        if failed:
            sim.result.metrics["failed_to_start"] = failed
        if boots:
            sim.result.metrics["machine_boot_s"] = {"max": max(boots), "count": len(boots)}
        times = np.array([up - asked for asked, up in ready])
        if times.size:
            sim.result.metrics["time_to_ready_s"] = {
                "p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95)),
                "p99": float(np.percentile(times, 99)), "max": float(times.max()),
                "count": int(times.size)}
        makespan = max((up for _, up in ready), default=0.0)
        for machine, state in self.machines.items():
            state.pool.advance()
            busy_integral = state.pool.busy_integral.tolist()
            for busy, capacity, resource in zip(busy_integral, state.capacity, RESOURCES,
                                                strict=True):
                util = busy / (capacity * makespan) if makespan > 0 else 0.0
                sim.result.append("host_utilisation", UTILISATION_FIELDS,
                                  (machine, resource, makespan, busy, util))

    # -- procedures --------------------------------------------------------
    def start(self, sim: Simulation, node: str,
              restart: bool = False) -> Generator[simpy.Event, Any, None]:
        """Run one instance's start procedure as a SimPy process (see :class:`Start`).

        A restart (after a fault) begins at once, ignoring ``start_at_s``.
        """
        over = sim.env.event()
        Start(self, sim, node, restart, over.succeed).resume()
        yield over

    def stop(self, sim: Simulation, node: str) -> None:
        """A fault stopped ``node``: abandon any start in flight and re-arm its readiness.

        What waits for the node (a VM's containers, a machine's instances)
        keeps waiting on the same pending event until a new start succeeds it.
        """
        self.attempts[node] = self.attempts.get(node, 0) + 1
        event = self.ready.get(node)
        if event is None or event.triggered:
            self.ready[node] = sim.env.event()
        self.release(sim, node)

    def release(self, sim: Simulation, node: str) -> None:
        """``node`` stopped: its memory commitment and kernel objects go back to its host."""
        host = self.hosts.get(sim.graph.data[node]["machine"]) if node in sim.graph.data else None
        if host is None:
            return
        host.admission.release(node)
        made = host.made.pop(node, None)
        if made is not None:
            kernel, steps = made
            for step in steps:
                host.objects[kernel].remove(step)

    def is_up(self, node: str) -> bool:
        """Whether ``node`` (a machine or an instance) is running now."""
        event = self.ready.get(node)
        return event is None or event.triggered

    def power_on(self, sim: Simulation, machine: str) -> Generator[simpy.Event, Any, None]:
        """Firmware POST and loader, a bare-metal hypervisor, the host kernel and OS."""
        attempt = self.attempts[machine] = self.attempts.get(machine, 0) + 1
        self.machines[machine].page_cache.clear()  # a reboot starts with a cold page cache
        graph = sim.graph
        host: HostProfile = graph.graph.nodes[machine]["profile"]
        kernel: KernelProfile = graph.graph.nodes[f"{machine}/kernel"]["profile"]
        stages = [("firmware", s) for s in host.boot]
        for above in graph.graph.successors(machine):
            if graph.kind(above) == "hypervisor":
                stages += [("hypervisor", s) for s in graph.graph.nodes[above]["profile"].boot]
        stages += [("kernel", s) for s in kernel.boot]
        stages += [("os", s) for s in kernel.userspace]
        began = sim.now
        yield self.run_stages(sim, machine, stages)
        if attempt != self.attempts[machine] or self.ready[machine].triggered:
            return  # failed again while booting; the newer boot takes over
        sim.result.append("instances", INSTANCE_FIELDS, (
            machine, "machine", machine, graph.graph.nodes[machine]["name"], began, sim.now,
            began > 0, None, None))
        self.ready[machine].succeed()

    def vm_stages(self, graph: ResourceGraph, vm: str) -> list[tuple[str, Stage]]:
        """VMM start, firmware, bootloader, guest kernel, user space, application."""
        vmm: VmmProfile = graph.graph.nodes[graph.host(vm)]["profile"]
        image: DiskImageProfile = graph.graph.nodes[vm]["profile"]
        kernel: KernelProfile = graph.graph.nodes[f"{vm}/kernel"]["profile"]
        loader = [s for s in image.boot if s.name == "bootloader"]
        rest = [s for s in image.boot if s.name != "bootloader"]
        stages = [("vmm", s) for s in vmm.start] + [("disk-image", s) for s in loader]
        stages += [("kernel", s) for s in kernel.boot] + [("disk-image", s) for s in rest]
        workload = graph.graph.nodes[vm]["spec"].workload
        if workload:
            profile: WorkloadProfile = graph.graph.nodes[f"{vm}/{workload}"]["profile"]
            stages += [("app", s) for s in profile.start]
        return stages

    def container_stages(self, graph: ResourceGraph, node: str) -> list[tuple[str, Stage]]:
        """Runtime create, sandbox boot, application (after the API path and pull)."""
        runtime_node = _runtime_of(graph, node)
        runtime: RuntimeProfile = graph.graph.nodes[runtime_node]["profile"]
        stages = [("runtime", s) for s in runtime.create]
        for below in reversed(graph.path_to_machine(node)[1:]):
            role = graph.graph.nodes[below].get("role")
            if role != "sandbox":
                continue
            profile = graph.graph.nodes[below].get("profile")
            if isinstance(profile, VmmProfile):
                stages += [("sandbox-vmm", s) for s in profile.start]
            elif isinstance(profile, KernelProfile):
                stages += [("sandbox-kernel", s) for s in profile.boot]
        workload = graph.graph.nodes[node]["spec"].workload
        if workload:
            profile = graph.graph.nodes[f"{node}/{workload}"]["profile"]
            stages += [("app", s) for s in profile.start]
        engine: EngineProfile = graph.graph.nodes[runtime_node]["engine"]
        return stages + [("engine", s) for s in engine.api if s.phase == "stop"]

    def missing_layers(self, sim: Simulation, node: str) -> list[Layer]:
        """The layers of a container's image not yet on its engine's kernel.

        An engine that does not pull (a bare runtime) runs a bundle already on disk.
        """
        runtime_node = _runtime_of(sim.graph, node)
        if not sim.graph.data[runtime_node]["engine"].pulls:
            return []
        store = _layer_store(sim.graph, node)
        present = self.machines[sim.graph.machine(node)].layers.setdefault(store, set())
        image: ImageProfile = sim.graph.data[node]["profile"]
        return [layer for layer in image.layers if layer.digest not in present]

    def pull(self, sim: Simulation, node: str, engine: EngineProfile) -> simpy.Event | None:
        """Fetch and unpack the image layers not yet on this container's kernel.

        Returns the event of the pull in flight, or ``None`` when every layer is present.
        """
        if not self.missing_layers(sim, node):
            return None
        machine = sim.graph.machine(node)
        state, host = self.machines[machine], self.hosts[machine]
        store_node = _layer_store(sim.graph, node)
        store = host.stores.get(store_node)
        if store is None:
            store = host.stores[store_node] = LayerStore(present=state.layers[store_node])
        profile: HostProfile = sim.graph.data[machine]["profile"]
        objects = host.kernel(sim.env, sim.graph, sim.catalog, f"{machine}/kernel", self.holds)
        io = HostIo(write_cost=profile.disk_read_mbs / profile.disk_write_mbs,
                    extra_cpu_s=objects.reclaim_cpu_s if objects is not None else None)
        image: ImageProfile = sim.graph.data[node]["profile"]
        done = pull_layers(sim.env, state.pool, store, image.layers, engine, self.codecs, io)
        if done is None:
            return None
        began = sim.now
        done.callbacks.append(lambda _e: sim.result.add(
            "stages", instance=node, owner="engine", stage="image-pull", start_s=began,
            end_s=sim.now))
        return done

    def run_stages(self, sim: Simulation, node: str,
                   stages: list[tuple[str, Stage]]) -> simpy.Event:
        """Run ``stages`` one after another; the event succeeds after the last."""
        done = sim.env.event()
        StageRun(self, sim, node, stages, done.succeed).next()
        return done


@dataclass(frozen=True)
class StagePlan:
    """An instance's start stages and its teardown stages, each as (owner, stage)."""

    start: list[tuple[str, Stage]]
    stop: list[tuple[str, Stage]]


_PENDING = object()
"""A :class:`Start` step that has arranged to resume the start itself."""
_OVER = object()
"""A :class:`Start` step after which the start goes no further."""


class Start:
    """One instance's start procedure: a chain of steps, each resumed by a callback.

    The steps: wait for ``start_at_s``, for the machine and for the enclosing
    VM; for a container, the engine's first API call, the image pull, the rest
    of the API path and the runtime's compatibility check; the start stages;
    then the instance is up (recorded, readiness signalled, listeners called)
    and its teardown stages run. A step either is done at once or hands back
    what to wait for, so a start costs a few SimPy events, not a process
    resuming at every step.
    """

    __slots__ = ("attempt", "data", "engine", "index", "lifecycle", "network", "node", "outcome",
                 "over", "path", "requested", "restart", "sim", "stages", "steps")

    def __init__(self, lifecycle: Lifecycle, sim: Simulation, node: str, restart: bool = False,
                 over: Callable[[], object] | None = None) -> None:
        self.lifecycle = lifecycle
        self.sim = sim
        self.node = node
        self.restart = restart
        self.over = over
        self.attempt = lifecycle.attempts[node] = lifecycle.attempts.get(node, 0) + 1
        self.data = sim.graph.data[node]
        self.path = sim.graph.path_to_machine(node)
        spec = self.data.get("spec")
        self.requested = sim.now if restart else float(getattr(spec, "start_at_s", 0.0))
        self.steps = _INSTANCE_STEPS
        self.network = str(getattr(spec, "network", "nat"))
        if self.data["kind"] == "container":
            self.engine: EngineProfile = sim.graph.data[self._below("runtime")]["engine"]
            self.steps = _CONTAINER_STEPS
        self.outcome = "native"
        self.stages = self.lifecycle.stages_of(sim.graph, node, self.path)
        self.index = 0

    def resume(self, _event: object = None) -> None:
        """Run steps until one has to wait."""
        while self.index < len(self.steps):
            step = self.steps[self.index]
            self.index += 1
            wait = step(self)
            if wait is _PENDING:
                return
            if wait is _OVER:
                break
            if isinstance(wait, simpy.Event) and wait.callbacks is not None:
                wait.callbacks.append(self.resume)  # not processed yet: resume when it is
                return
        if self.over is not None:
            self.over()

    def _run(self, stages: list[tuple[str, Stage]]) -> object:
        if not stages:
            return None
        StageRun(self.lifecycle, self.sim, self.node, stages, self.resume).next()
        return _PENDING

    def _requested_time(self) -> object:
        now = self.sim.now
        return self.sim.env.timeout(self.requested - now) if self.requested > now else None

    def _machine_up(self) -> object:
        return self.lifecycle.ready.get(self.data["machine"])

    def _below(self, kind: str) -> str:
        """The nearest node of ``kind`` under this instance."""
        nodes = self.sim.graph.data
        return next(n for n in self.path[1:] if nodes[n]["kind"] == kind)

    def _vm_up(self) -> object:
        nodes = self.sim.graph.data
        for below in self.path[1:]:
            if nodes[below]["kind"] == "vm" and nodes[below].get("instance", True):
                return self.lifecycle.ready[below]
        return None

    def _admitted(self) -> object:
        """The host admits the memory this instance commits, or it waits or fails."""
        mib = committed_mib(self.sim.graph, self.node)
        if mib <= 0:
            return None
        host = self.lifecycle.hosts[self.data["machine"]]
        answer = host.admission.request(self.node, mib)
        if isinstance(answer, str):
            self.outcome = "refused"
            self._record(None, answer)
            return _OVER
        return answer

    def _api_path_at_once(self) -> object:
        """With nothing to pull and a kernel that fits, the API path runs straight into
        the kernel objects and the start stages (the usual case); otherwise the steps
        below run one by one."""
        if self.lifecycle.missing_layers(self.sim, self.node) or self._refusal() is not None:
            return None
        self.index = self.steps.index(Start._kernel_objects)
        return self._run(self.lifecycle.api_calls(self.engine, self.network))

    def _kernel_objects(self) -> object:
        """The runtime's and engine's kernel objects, each under its kernel lock."""
        graph, lifecycle = self.sim.graph, self.lifecycle
        runtime_node = self._below("runtime")
        kernel = graph.kernel_of(runtime_node)
        host = lifecycle.hosts[self.data["machine"]]
        objects = host.kernel(self.sim.env, graph, self.sim.catalog, kernel, lifecycle.holds)
        steps = object_steps(graph.data[runtime_node]["profile"], self.engine, self.network)
        if objects is None or not steps:
            return None
        host.made[self.node] = (kernel, steps)
        ObjectCreation(objects, host.locks[kernel], lifecycle.machines[self.data["machine"]].pool,
                       steps, self.node, self.resume, self._record_object).next()
        return _PENDING

    def _record_object(self, obj: str, asked: float, began: float, end: float,
                       cost: float) -> None:
        self.sim.result.append("stages", STAGE_FIELDS, (
            self.node, "kernel-objects", obj, began, end, began - asked, cost))

    def _refusal(self) -> str | None:
        """Why the runtime refuses this container's image on its kernel (None: it runs)."""
        nodes = self.sim.graph.data
        kernel = next(n for n in self.path if nodes[n]["kind"] == "kernel")
        fit = self.lifecycle.fit(self.data["profile"], nodes[kernel]["profile"],
                                 nodes[self.data["machine"]]["profile"].arch)
        self.outcome = fit.outcome
        return None if fit.outcome in ("native", "emulated") else fit.reason

    def _first_api_call(self) -> object:
        """The first API call reaches the daemon, which then pulls."""
        return self._run(self.lifecycle.api_calls(self.engine, self.network)[:1])

    def _pull(self) -> object:
        return self.lifecycle.pull(self.sim, self.node, self.engine)

    def _other_api_calls(self) -> object:
        return self._run(self.lifecycle.api_calls(self.engine, self.network)[1:])

    def _kernel_fits(self) -> object:
        reason = self._refusal()
        if reason is None:
            return None
        self._record(None, reason)  # the runtime refuses it, as docker does
        return _OVER

    def _start_stages(self) -> object:
        return self._run(self.stages.start)

    def _up(self) -> object:
        lifecycle, node = self.lifecycle, self.node
        if self.attempt != lifecycle.attempts[node]:
            return _OVER  # a fault hit this start and a restart superseded it
        self._record(self.sim.now, "")
        lifecycle.first_ready.setdefault(node, self.sim.now)
        lifecycle.ready[node].succeed()
        for listener in lifecycle.on_ready:
            listener(self.sim, node)
        StageRun(lifecycle, self.sim, node, self.stages.stop).next()
        return None

    def _record(self, ready_s: float | None, reason: str) -> None:
        self.sim.result.append("instances", INSTANCE_FIELDS, (
            self.node, self.data["kind"], self.data["machine"], self.data["name"],
            self.requested, ready_s, self.restart, self.outcome, reason))


_INSTANCE_STEPS: tuple[Callable[[Start], object], ...] = (
    Start._requested_time, Start._machine_up, Start._vm_up, Start._admitted, Start._start_stages,
    Start._up)
"""A VM's or a process's start (unbound, so a start holds no cycle back to itself)."""
_CONTAINER_STEPS: tuple[Callable[[Start], object], ...] = (
    Start._requested_time, Start._machine_up, Start._vm_up, Start._admitted,
    Start._api_path_at_once, Start._first_api_call, Start._pull, Start._other_api_calls,
    Start._kernel_fits, Start._kernel_objects, Start._start_stages, Start._up)
"""A container's start: the API path, pull and compatibility check before its stages."""


class StageRun:
    """One instance's stages in sequence, each stage: lock, latency, then work.

    A stage holds its lock (where the real daemon serialises), waits out its
    latency, then does its work on the machine's pool; the pool calls back
    when the work is done, so a run of stages costs the pool's moments, not a
    SimPy process resuming at every step.
    """

    __slots__ = ("asked", "began", "done", "first_read", "index", "lifecycle", "node", "owner",
                 "read_key", "request", "sim", "stage", "stages", "state", "uncontended")
    stage: Stage
    read_key: tuple[object, ...]

    def __init__(self, lifecycle: Lifecycle, sim: Simulation, node: str,
                 stages: list[tuple[str, Stage]],
                 done: Callable[[], object] | None = None) -> None:
        self.lifecycle = lifecycle
        self.sim = sim
        self.node = node
        self.stages = stages
        self.done = done
        self.state = lifecycle.machines[sim.graph.machine(node)]
        self.index = 0
        self.asked = self.began = 0.0
        self.request: simpy.resources.resource.Request | None = None
        self.first_read: list[Callable[[], None]] | None = None
        self.owner = ""
        self.uncontended = 0.0

    def next(self) -> None:
        """Begin the next stage, or call ``done`` after the last."""
        if self.index == len(self.stages):
            if self.done is not None:
                self.done()
            return
        self.owner, self.stage = self.stages[self.index]
        self.asked = float(self.sim.env.now)
        self.request = self.first_read = None
        if self.stage.lock:
            lock = self.state.locks.get(self.stage.lock)
            if lock is None:
                lock = self.state.locks[self.stage.lock] = simpy.Resource(self.sim.env, 1)
            self.request = lock.request()
            self.request.callbacks.append(self._locked)
        else:
            self._locked(None)

    def _locked(self, _event: simpy.Event | None) -> None:
        stage = self.stage
        self.began = float(self.sim.env.now)
        wall = stage.wall_s.sample(self.lifecycle.rng)
        _, disk, net = self.state.capacity
        self.uncontended = max(wall, stage.cpu_s, stage.read_mib / disk, stage.fetch_mib / net)
        read = stage.read_mib
        if read > 0:
            key = self.read_key = _file_key(self.sim.graph, self.node, self.owner, stage)
            cache = self.state.page_cache
            if key not in cache:
                self.first_read = cache[key] = []
                self._read(wall, read)
                return
            waiting = cache[key]  # another start read these files: wait for its read only
            if waiting is not None:
                waiting.append(lambda: self._work(wall))
                return
        self._work(wall)

    def _read(self, wall: float, read: float) -> None:
        """Read the stage's files from disk (the first start to need them), then tell
        whoever waits for them, then do the rest of the stage."""
        began = float(self.sim.env.now)
        host = self.lifecycle.hosts.get(self.sim.graph.machine(self.node))
        objects = host.objects.get(f"{self.sim.graph.machine(self.node)}/kernel") \
            if host is not None else None
        reclaim = objects.reclaim_cpu_s(read) if objects is not None else 0.0

        def read_done() -> None:
            waiters = self.first_read
            if waiters is not None:
                if self.state.page_cache.get(self.read_key) is waiters:  # not cleared by a reboot
                    self.state.page_cache[self.read_key] = None
                for waiter in waiters:
                    waiter()
            self._work(max(0.0, wall - (float(self.sim.env.now) - began)))

        self.state.pool.start((reclaim, read, 0.0), cap=1.0 / reclaim if reclaim > 0 else np.inf,
                              on_done=read_done)

    def _work(self, wall: float) -> None:
        """The stage's CPU and network work, after its latency (files already read)."""
        stage = self.stage
        _, _, net = self.state.capacity
        alone = max(stage.cpu_s, stage.fetch_mib / net)
        cap = 1.0 / stage.cpu_s if stage.cpu_s > 0 else np.inf  # one thread per stage
        self.state.pool.start((stage.cpu_s, 0.0, stage.fetch_mib), cap=cap,
                              delay=max(0.0, wall - alone), on_done=self._finished)

    def _finished(self) -> None:
        if self.request is not None:
            self.request.resource.release(self.request)
        self.sim.result.append("stages", STAGE_FIELDS, (
            self.node, self.owner, self.stage.name, self.began, float(self.sim.env.now),
            self.began - self.asked, self.uncontended))
        self.index += 1
        self.next()


def _file_key(graph: ResourceGraph, node: str, owner: str, stage: Stage) -> tuple[object, ...]:
    """What a stage reads, for the machine's page cache.

    Binaries and kernel images (a VMM, a kernel, an engine, a runtime, an
    application) are the same files for every instance of a profile; a VM's
    disk is its own unless it is a linked clone sharing a backing file.
    """
    if owner == "disk-image":
        spec = graph.graph.nodes[node].get("spec")
        if getattr(spec, "clone", "full") != "linked":
            return (node, owner, id(stage))
    return (owner, id(stage))  # stages live in the catalogue for the whole run


def _runtime_of(graph: ResourceGraph, node: str) -> str:
    for below in graph.ancestors(node):
        if graph.kind(below) == "runtime":
            return below
    raise ValueError(f"{node!r} has no runtime")


def _layer_store(graph: ResourceGraph, node: str) -> str:
    """Layers are stored per engine host: the kernel under the container's runtime."""
    return graph.kernel_of(_runtime_of(graph, node))

