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

A stage's uncontended duration is drawn from its distribution, from the
random stream of the instance (or machine) it belongs to, so one host's
draws never depend on another's. The part of it that is work on the host
(CPU-seconds, MiB read, MiB fetched) runs as an activity on the machine's
one pool (:mod:`virtsim.machines`), the same pool its running workloads
use: starts that overlap share CPU, disk and network fairly with each other
and with the services already running, so a boot storm stretches every
start and slows the services; the rest is latency that does not contend.

Each instance moves through the registry's states (:mod:`virtsim.instances`):
requested, pulling (a container missing layers), starting, ready. A
container whose main process exits (it has no workload, or its batch job
completed) goes on to stopping, runs its teardown stages (the engine's exit
and cleanup) and is stopped; a service keeps running. A start in flight is
held for its instance, so a crash or stop cancels its stage on the pool and
any lock request at once. Containers inside a
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
the machine's pool, not to the VM's vCPU column (each stage is one thread).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from virtsim.catalog import Catalog
from virtsim.graph import HostCapacity, ResourceGraph
from virtsim.host_mechanisms import (
    HostMechanisms,
    admission_for,
    committed_mib,
    emulated,
    for_network,
    shape_vm_stages,
    user_emulator,
)
from virtsim.instances import State, Transition
from virtsim.kernel_objects import ObjectCreation, object_steps
from virtsim.locks import Hold, SerialLock, Ticket
from virtsim.machines import CPU, DISK_SEQ, NET, MachinePool
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
from virtsim.pull_pipeline import abort as abort_pulls
from virtsim.pull_pipeline import pull as pull_layers
from virtsim.resolver import Compatibility, resolve
from virtsim.result import Result
from virtsim.sharing import Activity, Chain, FluidPool, Piece
from virtsim.simulation import Simulation

FAST_FORWARD = True
"""Default of :attr:`Lifecycle.fast_forward` (a switch for tests and benchmarks)."""
RESOURCES = ("cpu", "disk", "net")
"""What start-up work uses, as ``host_utilisation`` names it."""
_COLUMNS = (CPU, DISK_SEQ, NET)
STAGE_FIELDS = ("instance", "owner", "stage", "start_s", "end_s", "queued_s", "uncontended_s")
"""The columns of the ``stages`` table."""
INSTANCE_FIELDS = ("instance", "kind", "machine", "group", "requested_s", "ready_s", "restart",
                   "outcome", "reason", "state", "ended_s")
"""The columns of the ``instances`` table: one row per start attempt of every instance
(and per machine boot), whether or not it became ready."""
UTILISATION_FIELDS = ("machine", "resource", "window_s", "busy", "utilisation")
"""The columns of the ``host_utilisation`` table."""


def host_capacity(host: HostProfile) -> list[float]:
    """CPU cores, disk MiB/s and network MiB/s that start-up work shares on a machine
    (from :class:`~virtsim.graph.HostCapacity`, the one capacity definition)."""
    capacity = HostCapacity.of(host)
    return [capacity.cpu_cores, capacity.disk_mib_s, capacity.nic_mib_s]


@dataclass(slots=True)
class MachineState:
    """Per-machine lifecycle state: its shared pool, locks, layers on each kernel."""

    machine: MachinePool
    capacity: HostCapacity
    machine_id: str = ""
    locks: dict[str, SerialLock] = field(default_factory=dict)
    layers: dict[str, set[str]] = field(default_factory=dict)
    pulls: dict[tuple[str, str], simpy.Process] = field(default_factory=dict)
    page_cache: dict[tuple[object, ...], list[Callable[[], None]] | None] = field(
        default_factory=dict)
    """Files read once per machine: a later start reads them from memory. While the
    first read is in flight the entry holds what waits for it; once read, ``None``."""
    busy: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    """Start-up work done so far: CPU-seconds, MiB read, MiB fetched."""
    last_ready_s: float = 0.0
    """When the last first start on it became ready (its start-up window)."""
    boot: StageRun | None = None
    """The power-on in flight, if any."""

    pool: FluidPool = field(init=False)
    """The machine's one pool (``machine.pool``)."""

    def __post_init__(self) -> None:
        self.pool = self.machine.pool

    def forget_page_cache(self) -> None:
        """Empty the page cache. A chain of stages was planned on files being cached:
        split it, so its later stages look at the cache when they start."""
        self.pool.split_chains()
        self.page_cache.clear()


class Lifecycle:
    """The start model: starts every instance through its stages, driven by the registry.

    It registers the scenario's instances in :attr:`Simulation.instances`, moves
    each through requested, pulling, starting and ready, and, for one whose main
    process exits, stopping and stopped. It subscribes to the registry: an
    instance that crashes or stops has its start in flight cancelled (the
    registry cancels what it holds) and its readiness re-armed, so what waits
    for it (a VM's containers, an orchestrator) waits for its next start.
    """

    sim: Simulation

    def __init__(self, fast_forward: bool | None = None) -> None:
        self.fast_forward = FAST_FORWARD if fast_forward is None else fast_forward
        """Plan a run of plain stages on an uncontended pool as one piece of work
        (:meth:`StageRun.next`); off, every stage is its own piece (same records)."""
        self.machines: dict[str, MachineState] = {}
        self.ready: dict[str, simpy.Event] = {}
        self.first_ready: dict[str, float] = {}
        self.attempts: dict[str, int] = {}
        self.on_ready: list[Callable[[Simulation, str], None]] = []
        """Called with each instance the moment it (re)starts and is ready (prefer
        subscribing to the registry's ``ready`` transitions)."""
        self.exits: set[str] = set()
        """Instances whose main process exits once ready (no workload: ``docker run alpine
        true``); a batch workload's end is told by the performance model."""
        self._rows: dict[str, list[tuple[Any, ...]]] = {}
        """Instance -> its ended attempts' ``instances`` rows."""
        self._boots: list[tuple[Any, ...]] = []
        self._outcomes: dict[str, str] = {}
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
        """Register every instance and start each at its ``start_at_s``."""
        self.machines.clear()
        self.ready.clear()
        self.first_ready.clear()
        self.attempts.clear()
        self.exits.clear()
        self._rows.clear()
        self._boots.clear()
        self._outcomes.clear()
        self._fits.clear()  # keyed by identity: valid for one run's catalogue and graph
        self._api_calls.clear()
        self._stages.clear()
        self.hosts.clear()
        self.catalog = sim.catalog
        self.codecs = {name: sim.catalog.require(CodecProfile, name)
                       for name in sim.catalog.names("codecs")}
        self.sim = sim
        graph = sim.graph
        for machine in graph.machines():
            spec = graph.data[machine]["spec"]
            host: HostProfile = graph.data[machine]["profile"]
            state = MachineState(sim.pools.of(graph, machine), graph.capacity(machine), machine)
            self.hosts[machine] = HostMechanisms(admission_for(sim.env, graph, machine, host))
            state.layers[f"{machine}/kernel"] = {
                layer.digest for name in spec.cached_images
                for layer in sim.catalog.require(ImageProfile, name).layers}
            self.machines[machine] = state
            if spec.boot:
                self.ready[machine] = sim.env.event()
                sim.env.process(self.power_on(sim, machine))
        instances = list(graph.instances())
        for node in instances:
            self.register(sim, node)
        sim.instances.subscribe(self._ended, "stopped", "crashed", "moved")
        sim.instances.subscribe(self._stopping, "stopping")
        sim.env.timeout(0).callbacks.append(
            lambda _event: self._begin_all(sim, instances))

    def register(self, sim: Simulation, node: str, logical: str | None = None) -> None:
        """Add an instance of ``sim.graph`` (a replica names what it replaces) to the registry."""
        sim.instances.add(node, sim.graph, logical)
        self.ready[node] = sim.env.event()
        data = sim.graph.data[node]
        if (data["kind"] == "container" and not getattr(data.get("spec"), "workload", None)
                and exits_at_once(data["profile"])):
            self.exits.add(node)

    def _begin_all(self, sim: Simulation, instances: list[str]) -> None:
        for node in instances:
            Start(self, sim, node).resume()

    def report(self, sim: Simulation) -> None:
        """One ``instances`` row per attempt; start-up utilisation (metrics:
        :func:`start_metrics`)."""
        for state in self.machines.values():  # stages done by now in chains still in flight
            state.pool.split_chains()
        for row in self._boots:
            sim.result.append("instances", INSTANCE_FIELDS, row)
        for instance in sim.instances:
            for row in self._rows.get(instance.node, ()):
                sim.result.append("instances", INSTANCE_FIELDS, row)
            if instance.state is None:  # its start_at_s lies beyond the run
                spec = instance.graph.data[instance.node].get("spec")
                sim.result.append("instances", INSTANCE_FIELDS, (
                    instance.node, instance.kind, instance.machine, instance.group,
                    float(getattr(spec, "start_at_s", 0.0)), None, False, "", "",
                    "not requested", None))
            elif instance.state not in ("stopped", "crashed", "moved"):
                sim.result.append("instances", INSTANCE_FIELDS,
                                  self._row(instance.node, sim, None))
        for machine, state in self.machines.items():
            window = state.last_ready_s
            for busy, capacity, resource in zip(state.busy, self._capacity(state), RESOURCES,
                                                strict=True):
                util = busy / (capacity * window) if window > 0 else 0.0
                sim.result.append("host_utilisation", UTILISATION_FIELDS,
                                  (machine, resource, window, busy, util))

    @staticmethod
    def _capacity(state: MachineState) -> tuple[float, float, float]:
        capacity = state.capacity
        return capacity.cpu_cores, capacity.disk_mib_s, capacity.nic_mib_s

    def _row(self, node: str, sim: Simulation, ended_s: float | None) -> tuple[Any, ...]:
        instance = sim.instances[node]
        return (node, instance.kind, instance.machine, instance.group, instance.requested_s,
                instance.ready_s, instance.attempt > 1 or instance.logical != node,
                self._outcomes.get(node, "native"),
                instance.reason, instance.state, ended_s)

    # -- transitions -------------------------------------------------------
    def _ended(self, change: Transition) -> None:
        """An attempt ended (stopped, crashed or moved): keep its row, re-arm readiness."""
        node = change.instance
        sim = self.sim
        if change.before not in ("stopped", "crashed", "moved"):
            self._rows.setdefault(node, []).append(self._row(node, sim, change.at_s))
        else:  # crashed -> moved: the attempt's row says where it went
            rows = self._rows[node]
            rows[-1] = (*rows[-1][:9], "moved", rows[-1][10])
        event = self.ready.get(node)
        if event is None or event.triggered:
            self.ready[node] = sim.env.event()
        if change.before not in ("stopped", "crashed", "moved"):
            self.release(sim, node)

    def _stopping(self, change: Transition) -> None:
        """Its main process exited: run the teardown stages, then it is stopped."""
        node = change.instance
        instance = self.sim.instances[node]
        if instance.kind == "process":  # a native process has no teardown stages
            self.sim.instances.move(node, "stopped", cause=change.cause)
            return
        sim = self._view(node)
        plan = self.stages_of(instance.graph, node, instance.graph.path_to_machine(node))
        if not plan.stop:
            sim.instances.move(node, "stopped", cause=change.cause)
            return
        run = StageRun(self, sim, node, plan.stop,
                       lambda: sim.instances.move(node, "stopped", cause=change.cause))
        run.held = node
        run.next()

    def _view(self, node: str) -> Simulation:
        """The run as seen from the graph ``node`` lives in (a replica's grown graph)."""
        sim = self.sim
        graph = sim.instances[node].graph
        return sim if graph is sim.graph else dataclasses.replace(sim, graph=graph)

    # -- procedures --------------------------------------------------------
    def start(self, sim: Simulation, node: str,
              restart: bool = False) -> Generator[simpy.Event, Any, None]:
        """Run one instance's start procedure as a SimPy process (see :class:`Start`).

        A restart (after a fault) begins at once, ignoring ``start_at_s``.
        """
        over = sim.env.event()
        Start(self, sim, node, restart, over.succeed).resume()
        yield over

    def exited(self, sim: Simulation, node: str, cause: str = "exited") -> None:
        """The instance's main process exited (its batch job completed): tear it down."""
        instance = sim.instances.get(node)
        if instance is not None and instance.state == "ready":
            sim.instances.move(node, "stopping", cause=cause)

    def machine_down(self, sim: Simulation, machine: str) -> None:
        """A machine failed: its boot and pulls in flight stop, its page cache is gone.

        Its instances are crashed by whoever failed it (each through the registry);
        what waits for the machine keeps waiting until a power-on succeeds it.
        """
        self.attempts[machine] = self.attempts.get(machine, 0) + 1
        event = self.ready.get(machine)
        if event is None or event.triggered:
            self.ready[machine] = sim.env.event()
        state = self.machines[machine]
        if state.boot is not None:
            state.boot.cancel()
            state.boot = None
        host = self.hosts.get(machine)
        if host is not None:
            for store in host.stores.values():
                abort_pulls(state.pool, store)
        state.forget_page_cache()

    def release(self, sim: Simulation, node: str) -> None:
        """``node`` stopped: its memory commitment and kernel objects go back to its host."""
        graph = sim.instances[node].graph if node in sim.instances else sim.graph
        host = self.hosts.get(graph.data[node]["machine"]) if node in graph.data else None
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
        state = self.machines[machine]
        state.forget_page_cache()  # a reboot starts with a cold page cache
        graph = sim.graph
        host: HostProfile = graph.data[machine]["profile"]
        kernel: KernelProfile = graph.data[f"{machine}/kernel"]["profile"]
        stages = [("firmware", s) for s in host.boot]
        for above in graph.graph.successors(machine):
            if graph.kind(above) == "hypervisor":
                stages += [("hypervisor", s) for s in graph.data[above]["profile"].boot]
        stages += [("kernel", s) for s in kernel.boot]
        stages += [("os", s) for s in kernel.userspace]
        began = sim.now
        done = sim.env.event()
        state.boot = StageRun(self, sim, machine, stages, done.succeed)
        state.boot.next()
        yield done
        state.boot = None
        if attempt != self.attempts[machine] or self.ready[machine].triggered:
            return  # failed again while booting; the newer boot takes over
        self._boots.append((machine, "machine", machine, graph.data[machine]["name"], began,
                            sim.now, began > 0, None, None, "ready", None))
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
        runtime_node = graph.runtime_of(node)
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
        runtime_node = sim.graph.runtime_of(node)
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
                    extra_cpu_s=objects.reclaim_cpu_s if objects is not None else None,
                    row=state.machine.row)
        image: ImageProfile = sim.graph.data[node]["profile"]
        done = pull_layers(sim.env, state.pool, store, image.layers, engine, self.codecs, io)
        if done is None:
            return None
        began = sim.now
        done.callbacks.append(lambda _e: self._pulled(sim, node, began))
        return done

    @staticmethod
    def _pulled(sim: Simulation, node: str, began: float) -> None:
        if sim.instances.state(node) == "pulling":  # not crashed while it pulled
            sim.result.add("stages", instance=node, owner="engine", stage="image-pull",
                           start_s=began, end_s=sim.now)

    def run_stages(self, sim: Simulation, node: str,
                   stages: list[tuple[str, Stage]]) -> simpy.Event:
        """Run ``stages`` one after another; the event succeeds after the last."""
        done = sim.env.event()
        StageRun(self, sim, node, stages, done.succeed).next()
        return done


SHELLS = frozenset({"sh", "ash", "bash", "cmd.exe", "powershell.exe", "python", "python3"})
"""Entrypoints that read commands from a terminal: run without one (``docker run alpine``),
they find end of input and exit at once."""


def start_metrics(result: Result) -> None:
    """Readiness metrics from a finished run's ``instances`` table: failures to start,
    machine boots, and time-to-ready percentiles of first starts."""
    ready: list[float] = []  # first starts: ready less requested
    boots: list[float] = []
    failed: dict[str, str] = {}
    columns = [result.column("instances", name) for name in (
        "instance", "kind", "requested_s", "ready_s", "restart", "state", "outcome", "reason")]
    for instance, kind, asked, up, restart, state, outcome, reason in zip(*columns, strict=True):
        if up is None:
            if state == "stopped":  # its runtime refused it
                failed[str(instance)] = f"{outcome}: {reason}"
        elif restart:
            continue
        elif kind == "machine":
            boots.append(float(up))
        else:
            ready.append(float(up) - float(asked))
    if failed:
        result.metrics["failed_to_start"] = failed
    if boots:
        result.metrics["machine_boot_s"] = {"max": max(boots), "count": len(boots)}
    times = np.array(ready)
    if times.size:
        result.metrics["time_to_ready_s"] = {
            "p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95)),
            "p99": float(np.percentile(times, 99)), "max": float(times.max()),
            "count": int(times.size)}


def exits_at_once(image: ImageProfile) -> bool:
    """Whether a container of ``image`` run with no command and no workload exits at once.

    Its entrypoint is a shell or an interpreter waiting for input (alpine's
    ``/bin/sh``): without a terminal it exits, and the engine cleans up. A
    server (nginx) or an application runs until it is stopped.
    """
    return image.entrypoint.replace("\\", "/").rsplit("/", 1)[-1] in SHELLS


@dataclass(frozen=True)
class StagePlan:
    """An instance's start stages and its teardown stages, each as (owner, stage)."""

    start: list[tuple[str, Stage]]
    stop: list[tuple[str, Stage]]


_UNREAD = object()
"""Not in the page cache (neither read nor being read)."""
_PENDING = object()
"""A :class:`Start` step that has arranged to resume the start itself."""
_OVER = object()
"""A :class:`Start` step after which the start goes no further."""


class Start:
    """One instance's start procedure: a chain of steps, each resumed by a callback.

    The steps: wait for ``start_at_s``, for the machine and for the enclosing
    VM; for a container, the engine's first API call, the image pull, the rest
    of the API path and the runtime's compatibility check; the start stages;
    then the instance is ready (the registry's transition: every subscribed
    model hears of it). A step either is done at once or hands back what to
    wait for, so a start costs a few SimPy events, not a process resuming at
    every step. The start is held for its instance: a crash or stop cancels
    it (:meth:`cancel`), and every later callback finds it cancelled.
    """

    __slots__ = ("cancelled", "creation", "data", "engine", "index", "lifecycle", "network",
                 "node", "over", "path", "requested", "restart", "run", "sim", "stages", "steps")

    def __init__(self, lifecycle: Lifecycle, sim: Simulation, node: str, restart: bool = False,
                 over: Callable[[], object] | None = None) -> None:
        self.lifecycle = lifecycle
        self.sim = sim
        self.node = node
        self.restart = restart
        self.over = over
        self.cancelled = False
        self.run: StageRun | None = None
        self.creation: ObjectCreation | None = None
        lifecycle.attempts[node] = lifecycle.attempts.get(node, 0) + 1
        self.data = sim.graph.data[node]
        self.path = sim.graph.path_to_machine(node)
        spec = self.data.get("spec")
        self.requested = sim.now if restart else float(getattr(spec, "start_at_s", 0.0))
        self.steps = _INSTANCE_STEPS
        self.network = str(getattr(spec, "network", "nat"))
        if self.data["kind"] == "container":
            self.engine: EngineProfile = sim.graph.data[sim.graph.runtime_of(node)]["engine"]
            self.steps = _CONTAINER_STEPS
        lifecycle._outcomes[node] = "native"
        self.stages = self.lifecycle.stages_of(sim.graph, node, self.path)
        self.index = 0

    def cancel(self) -> None:
        """Its instance stopped or crashed: stop the stage in flight, go no further."""
        if self.run is not None:
            self.run.cancel()
            self.run = None
        if self.creation is not None:  # leave the kernel lock (or its queue) and the pool
            self.creation.cancel()  # (a chain of objects records those made by now)
            self.creation = None
        self.cancelled = True

    def resume(self, _event: object = None) -> None:
        """Run steps until one has to wait."""
        while self.index < len(self.steps):
            if self.cancelled:
                return
            step = self.steps[self.index]
            self.index += 1
            wait = step(self)
            if wait is _PENDING:
                return
            if wait is _OVER:
                break
            # SimPy sets a processed event's callbacks to None (untyped there: read as Any)
            callbacks = getattr(wait, "callbacks", None) if isinstance(wait, simpy.Event) else None
            if callbacks is not None:
                callbacks.append(self.resume)  # not processed yet: resume when it is
                return
        if self.over is not None and not self.cancelled:
            self.over()

    def _run(self, stages: list[tuple[str, Stage]]) -> object:
        if not stages:
            return None
        self.run = StageRun(self.lifecycle, self.sim, self.node, stages, self.resume)
        self.run.next()
        return _PENDING

    def _move(self, state: State) -> None:
        if self.sim.instances.state(self.node) != state:
            self.sim.instances.move(self.node, state)

    def _requested_time(self) -> object:
        now = self.sim.now
        return self.sim.env.timeout(self.requested - now) if self.requested > now else None

    def _request(self) -> object:
        """The instance is asked for (at its ``start_at_s``, or now for a restart)."""
        self.sim.instances.move(self.node, "requested",
                                cause="restart" if self.restart else "start")
        self.sim.instances.hold(self.node, self)
        return None

    def _machine_up(self) -> object:
        return self.lifecycle.ready.get(self.data["machine"])

    def _vm_up(self) -> object:
        vm = self.sim.graph.enclosing_instance(self.node)
        return self.lifecycle.ready[vm] if vm is not None else None

    def _admitted(self) -> object:
        """The host admits the memory this instance commits, or it waits or fails."""
        mib = committed_mib(self.sim.graph, self.node)
        if mib <= 0:
            return None
        host = self.lifecycle.hosts[self.data["machine"]]
        answer = host.admission.request(self.node, mib)
        if isinstance(answer, str):  # it can never fit: refused, as the VMM or kernel does
            self.lifecycle._outcomes[self.node] = "refused"
            self.sim.instances.move(self.node, "stopped", cause=answer)
            return _OVER
        return answer

    def _api_path_at_once(self) -> object:
        """With nothing to pull and a kernel that fits, the API path runs straight into
        the kernel objects and the start stages (the usual case); otherwise the steps
        below run one by one."""
        if self.lifecycle.missing_layers(self.sim, self.node) or self._refusal() is not None:
            return None
        self.index = self.steps.index(Start._kernel_objects)
        self._move("starting")
        return self._run(self.lifecycle.api_calls(self.engine, self.network))

    def _kernel_objects(self) -> object:
        """The runtime's and engine's kernel objects, each under its kernel lock."""
        graph, lifecycle = self.sim.graph, self.lifecycle
        runtime_node = graph.runtime_of(self.node)
        kernel = graph.kernel_of(runtime_node)
        host = lifecycle.hosts[self.data["machine"]]
        objects = host.kernel(self.sim.env, graph, self.sim.catalog, kernel, lifecycle.holds)
        steps = object_steps(graph.data[runtime_node]["profile"], self.engine, self.network)
        if objects is None or not steps:
            return None
        host.made[self.node] = (kernel, steps)
        state = lifecycle.machines[self.data["machine"]]
        self.creation = ObjectCreation(objects, host.locks[kernel], state.pool, steps, self.node,
                                       self._objects_made, self._record_object,
                                       row=state.machine.row,
                                       fast_forward=lifecycle.fast_forward)
        self.creation.next()
        return _PENDING

    def _objects_made(self) -> None:
        self.creation = None
        self.resume()

    def _record_object(self, obj: str, asked: float, began: float, end: float,
                       cost: float) -> None:
        if self.cancelled:
            return
        self.sim.result.append("stages", STAGE_FIELDS, (
            self.node, "kernel-objects", obj, began, end, began - asked, cost))

    def _refusal(self) -> str | None:
        """Why the runtime refuses this container's image on its kernel (None: it runs)."""
        nodes = self.sim.graph.data
        kernel = self.sim.graph.kernel_of(self.node)
        fit = self.lifecycle.fit(self.data["profile"], nodes[kernel]["profile"],
                                 nodes[self.data["machine"]]["profile"].arch)
        self.lifecycle._outcomes[self.node] = fit.outcome
        return None if fit.outcome in ("native", "emulated") else fit.reason

    def _first_api_call(self) -> object:
        """The first API call reaches the daemon, which then pulls."""
        return self._run(self.lifecycle.api_calls(self.engine, self.network)[:1])

    def _pull(self) -> object:
        pull = self.lifecycle.pull(self.sim, self.node, self.engine)
        if pull is not None:
            self._move("pulling")
        return pull

    def _other_api_calls(self) -> object:
        self._move("starting")
        return self._run(self.lifecycle.api_calls(self.engine, self.network)[1:])

    def _kernel_fits(self) -> object:
        reason = self._refusal()
        if reason is None:
            return None
        self._move("starting")
        self.sim.instances.move(self.node, "stopped", cause=reason)  # refused, as docker does
        return _OVER

    def _start_stages(self) -> object:
        self._move("starting")
        return self._run(self.stages.start)

    def _up(self) -> object:
        lifecycle, node, sim = self.lifecycle, self.node, self.sim
        self.run = None
        sim.instances.release(node, self)
        self._move("starting")
        lifecycle.first_ready.setdefault(node, sim.now)
        if not self.restart:
            state = lifecycle.machines[self.data["machine"]]
            state.last_ready_s = max(state.last_ready_s, sim.now)
        lifecycle.ready[node].succeed()
        sim.instances.move(node, "ready")
        for listener in lifecycle.on_ready:
            listener(sim, node)
        if node in lifecycle.exits:
            lifecycle.exited(sim, node)
        return None


_INSTANCE_STEPS: tuple[Callable[[Start], object], ...] = (
    Start._requested_time, Start._request, Start._machine_up, Start._vm_up, Start._admitted,
    Start._start_stages, Start._up)
"""A VM's or a process's start (unbound, so a start holds no cycle back to itself)."""
_CONTAINER_STEPS: tuple[Callable[[Start], object], ...] = (
    Start._requested_time, Start._request, Start._machine_up, Start._vm_up, Start._admitted,
    Start._api_path_at_once, Start._first_api_call, Start._pull, Start._other_api_calls,
    Start._kernel_fits, Start._kernel_objects, Start._start_stages, Start._up)
"""A container's start: the API path, pull and compatibility check before its stages."""


class StageRun:
    """One instance's (or machine's) stages in sequence, each stage: lock, latency, then work.

    A stage holds its lock (where the real daemon serialises), waits out its
    latency, then does its work on the machine's pool; the pool calls back
    when the work is done, so a run of stages costs the pool's moments, not a
    SimPy process resuming at every step. Its latency is drawn from the
    random stream of ``node``. :meth:`cancel` withdraws the stage in flight.
    """

    __slots__ = ("activity", "ahead", "ahead_from", "asked", "began", "cancelled", "chained",
                 "done", "first_read", "held", "index", "lifecycle", "node", "owner", "read_key",
                 "request", "saved", "saved_from", "sim", "stage", "stages", "state",
                 "uncontended")
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
        self.request: Ticket | None = None
        self.first_read: list[Callable[[], None]] | None = None
        self.activity: Activity | None = None
        self.owner = ""
        self.uncontended = 0.0
        self.cancelled = False
        self.held: str | None = None
        """The instance that holds this run (its teardown), if any."""
        self.ahead: list[float] = []
        """Latencies drawn ahead for a chain (stages ``ahead_from`` on) not yet begun."""
        self.ahead_from = 0
        self.saved: Mapping[str, Any] | None = None
        """The random stream's state before the draws ahead (stage ``saved_from`` on)."""
        self.saved_from = 0
        self.chained: tuple[list[float], list[float]] | None = None
        """The chain in flight: each stage's latency and uncontended time."""

    def next(self) -> None:
        """Begin the next stage, or call ``done`` after the last."""
        if self.cancelled:
            return
        if self.index == len(self.stages):
            if self.held is not None:
                self.sim.instances.release(self.held, self)
            if self.done is not None:
                self.done()
            return
        if self.index == 0 and self.held is not None:
            self.sim.instances.hold(self.held, self)
        if (self.lifecycle.fast_forward and self.index + 1 < len(self.stages)
                and self.state.pool.chains_allowed and self._chain()):
            return
        self.owner, self.stage = self.stages[self.index]
        self.asked = float(self.sim.env.now)
        self.request = self.first_read = None
        if self.stage.lock:
            lock = self.state.locks.get(self.stage.lock)
            if lock is None:
                lock = self.state.locks[self.stage.lock] = SerialLock(
                    self.sim.env, f"{self.state.machine_id}:{self.stage.lock}")
            ticket = lock.take(self.node, self._locked)
            if not ticket.granted:  # queued (a granted one may be done with it already)
                self.request = ticket
        else:
            self._locked(None)

    def cancel(self) -> None:
        """Withdraw the stage in flight from the pool and its lock; run no more stages."""
        if self.cancelled:
            return
        if isinstance(self.activity, Chain) and not self.activity.finished:
            self.state.pool.cancel(self.activity)  # split: the stages done are recorded
        self.cancelled = True
        self._rewind()
        activity, self.activity = self.activity, None
        if activity is not None and not activity.finished:
            self.state.pool.cancel(activity)
            self._account(activity.progress)
        if self.request is not None:
            request, self.request = self.request, None
            request.release()
        if self.first_read is not None:  # others wait for this read: let them go on
            key = self.read_key
            if self.state.page_cache.get(key) is self.first_read:
                del self.state.page_cache[key]
            for waiter in self.first_read:
                waiter()
            self.first_read = None

    def _locked(self, ticket: Ticket | None) -> None:
        if self.cancelled:
            return
        self.request = ticket
        stage = self.stage
        self.began = float(self.sim.env.now)
        if self.ahead and self.ahead_from == self.index:  # drawn for a chain that split
            wall = self.ahead.pop(0)
            self.ahead_from += 1
            if not self.ahead:
                self.saved = None
        else:
            wall = stage.wall_s.sample(self.sim.stream(self.node))
        capacity = self.state.capacity
        self.uncontended = max(wall, stage.cpu_s, stage.read_mib / capacity.disk_mib_s,
                               stage.fetch_mib / capacity.nic_mib_s)
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
        machine = self.sim.graph.machine(self.node)
        host = self.lifecycle.hosts.get(machine)
        objects = host.objects.get(f"{machine}/kernel") if host is not None else None
        reclaim = objects.reclaim_cpu_s(read) if objects is not None else 0.0

        def read_done() -> None:
            self._account(1.0)
            self.activity = None
            waiters, self.first_read = self.first_read, None
            if waiters is not None:
                if self.state.page_cache.get(self.read_key) is waiters:  # not cleared by a reboot
                    self.state.page_cache[self.read_key] = None
                for waiter in waiters:
                    waiter()
            self._work(max(0.0, wall - (float(self.sim.env.now) - began)))

        self.activity = self.state.pool.start(
            self.state.machine.row(reclaim, read, 0.0),
            cap=1.0 / reclaim if reclaim > 0 else np.inf, on_done=read_done, owner=self.node)

    def _work(self, wall: float) -> None:
        """The stage's CPU and network work, after its latency (files already read)."""
        if self.cancelled:
            return
        stage = self.stage
        alone = max(stage.cpu_s, stage.fetch_mib / self.state.capacity.nic_mib_s)
        cap = 1.0 / stage.cpu_s if stage.cpu_s > 0 else np.inf  # one thread per stage
        self.activity = self.state.pool.start(
            self.state.machine.row(stage.cpu_s, 0.0, stage.fetch_mib), cap=cap,
            delay=max(0.0, wall - alone), on_done=self._finished, owner=self.node)

    def _account(self, progress: float) -> None:
        activity = self.activity
        if activity is None:
            return
        busy, row = self.state.busy, activity.row
        for k, column in enumerate(_COLUMNS):
            busy[k] += row[column] * progress

    def _finished(self) -> None:
        self._account(1.0)
        self.activity = None
        if self.request is not None:
            request, self.request = self.request, None
            request.release()
        self.sim.result.append("stages", STAGE_FIELDS, (
            self.node, self.owner, self.stage.name, self.began, float(self.sim.env.now),
            self.began - self.asked, self.uncontended))
        self.index += 1
        self.next()


    # -- fast-forward: a run of plain stages as one piece of work -------------
    def _plain_run(self) -> int:
        """How many stages from the next one are plain: no lock, and no disk read
        (or their files are in the page cache already); 0 if fewer than two."""
        stages, cache, end = self.stages, self.state.page_cache, self.index
        while end < len(stages):
            owner, stage = stages[end]
            if stage.lock:
                break
            if stage.read_mib > 0 and cache.get(
                    _file_key(self.sim.graph, self.node, owner, stage), _UNREAD) is not None:
                break
            end += 1
        count = end - self.index
        return count if count >= 2 else 0

    def _chain(self) -> bool:
        """Plan the plain stages from the next one as one chain on the pool, if it can.

        The latencies are drawn ahead (and, should the chain split or be
        cancelled, used or rewound, so the stream gives the same draws as
        stage by stage). Returns whether a chain was started.
        """
        count = self._plain_run()
        if not count:
            return False
        first = self.index
        stream = self.sim.stream(self.node)
        if not self.ahead:
            self.saved, self.saved_from, self.ahead_from = stream.bit_generator.state, first, first
        while len(self.ahead) < count:
            stage = self.stages[self.ahead_from + len(self.ahead)][1]
            self.ahead.append(stage.wall_s.sample(stream))
        capacity, row = self.state.capacity, self.state.machine.row
        pieces: list[Piece] = []
        walls, uncontended = self.ahead[:count], []
        for (_, stage), wall in zip(self.stages[first:first + count], walls, strict=True):
            alone = max(stage.cpu_s, stage.fetch_mib / capacity.nic_mib_s)
            pieces.append((row(stage.cpu_s, 0.0, stage.fetch_mib),
                           1.0 / stage.cpu_s if stage.cpu_s > 0 else np.inf,
                           max(0.0, wall - alone)))
            uncontended.append(max(wall, stage.cpu_s, stage.read_mib / capacity.disk_mib_s,
                                   stage.fetch_mib / capacity.nic_mib_s))
        chain = self.state.pool.chain(pieces, self._chain_done, self._chain_split, self.node)
        if chain is None:
            return False  # stage by stage, with the latencies drawn ahead
        del self.ahead[:count]  # the chain's, begun as it goes (the stream stays saved)
        self.ahead_from += count
        self.activity = chain
        self.chained = (walls, uncontended)
        return True

    def _chain_record(self, chain: Chain, upto: int) -> None:
        """Record the chain's first ``upto`` stages as done, as stage by stage would."""
        assert self.chained is not None
        uncontended = self.chained[1]
        busy = self.state.busy
        for k in range(upto):
            owner, stage = self.stages[self.index + k]
            row = chain.pieces[k][0]
            for c, column in enumerate(_COLUMNS):
                busy[c] += row[column]
            start = chain.starts[k]
            self.sim.result.append("stages", STAGE_FIELDS, (
                self.node, owner, stage.name, start, chain.bounds[k], 0.0, uncontended[k]))

    def _chain_done(self) -> None:
        chain = self.activity
        assert isinstance(chain, Chain) and self.chained is not None
        count = len(chain.pieces)
        self._chain_record(chain, count)
        self.activity = None
        self.chained = None
        if not self.ahead:
            self.saved = None
        self.index += count
        self.next()

    def _chain_split(self, current: int, activity: Activity) -> None:
        """The chain split: its first ``current`` stages are done; go on stage by stage."""
        chain = self.activity
        assert isinstance(chain, Chain) and self.chained is not None
        walls, uncontended = self.chained
        self._chain_record(chain, current)
        self.index += current
        self.owner, self.stage = self.stages[self.index]
        self.asked = self.began = chain.starts[current]
        self.uncontended = uncontended[current]
        later = walls[current + 1:]
        self.ahead[:0] = later  # drawn, not begun: the next stages use them
        self.ahead_from = self.index + 1
        activity._on_done = self._finished
        self.activity = activity
        self.chained = None

    def _rewind(self) -> None:
        """Cancelled with latencies drawn ahead: put the stream where stage by stage
        leaves it (after the draws of the stages begun)."""
        if not self.ahead or self.saved is None:
            return
        stream = self.sim.stream(self.node)
        stream.bit_generator.state = self.saved
        for _, stage in self.stages[self.saved_from:self.ahead_from]:
            stage.wall_s.sample(stream)
        self.ahead.clear()
        self.saved = None

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


def _layer_store(graph: ResourceGraph, node: str) -> str:
    """Layers are stored per engine host: the kernel under the container's runtime."""
    return graph.kernel_of(graph.runtime_of(node))

