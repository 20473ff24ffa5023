"""Per-container kernel objects whose cost grows with how many already exist.

Starting a container makes kernel objects: a cgroup, a mount namespace (a
copy of the host's mount table), an IPC namespace (its mqueue mount), a
network namespace, a veth pair and, for a NAT-ed container, firewall rules.
Each is made under a global kernel lock (see :mod:`virtsim.locks`), and
several cost more as the host fills up:

- a mount-namespace copy walks every host mount (O(mounts)), and each
  running container adds mounts to the host (its overlay rootfs, its shm);
- a legacy ``iptables`` call copies the whole table out to user space and
  back (O(rules)), so the Nth container's rules cost N times the first's;
  nftables updates are incremental (O(1));
- the netns and mqueue paths cost ~30x more on kernels before the fix
  (``fix_version``);
- memory-cgroup reclaim walks every cgroup, so reading through the page
  cache costs more system time the more cgroups exist;
- the engine's per-container state: each running container's rootfs and
  shm mounts sit in the host's mount table, and the daemon and the runtime
  read and parse ``/proc/self/mountinfo`` several times per start (to check
  a rootfs is mounted, to find the cgroup mount points), each read
  O(mounts); this step (``mountinfo-scans``) costs only what the table has
  grown beyond an empty host's, since the measured create times include the
  reads of that base table. It holds no exclusive lock (readers of the
  mount table share ``namespace_sem``).

:class:`KernelObjects` is one kernel's population and the price of its next
object; :class:`ObjectCreation` makes a start's objects one after another,
each holding its lock while its CPU work runs on the host's pool, so
concurrent starts queue on the locks and share the CPU.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from virtsim.locks import Hold, LockTable, Ticket
from virtsim.profiles import EngineProfile, KernelCostProfile, RuntimeProfile
from virtsim.resolver import version_tuple
from virtsim.sharing import Activity, Chain, FluidPool, Piece

OBJECT_LOCKS: dict[str, str] = {
    "cgroup": "cgroup_mutex",
    "mount-namespace": "namespace_sem",
    "ipc-namespace": "namespace_sem",
    "network-namespace": "net_mutex",
    "veth": "rtnl",
    "nat-rules": "xtables",
    "mountinfo-scans": "",
}
"""The global kernel lock each object is made under (nftables commits take ``nfnl``;
"" for none)."""


@dataclass
class Population:
    """How many of each object one kernel holds."""

    cgroups: int = 0
    mounts: int = 0
    netns: int = 0
    links: int = 0
    nat_rules: int = 0
    containers: int = 0


@dataclass(frozen=True)
class ObjectStep:
    """One object a start makes: what, how many firewall rules and host mounts it adds
    (and for ``mountinfo-scans``, how many times the mount table is read)."""

    obj: str
    rules: int = 0
    mounts: int = 0
    firewall: str = "iptables"
    reads: int = 0

    @property
    def lock(self) -> str:
        """The lock it is made under."""
        if self.obj == "nat-rules" and self.firewall == "nftables":
            return "nfnl"
        return OBJECT_LOCKS[self.obj]


@dataclass
class KernelObjects:
    """One kernel's objects and what the next one costs.

    Args:
        costs: The kernel family's cost profile.
        version: The kernel's version (the netns and mqueue fixes).
    """

    costs: KernelCostProfile
    version: str
    population: Population = field(default_factory=Population)

    def __post_init__(self) -> None:
        if self.population.mounts == 0:
            self.population.mounts = self.costs.host_base_mounts
        self.fixed = version_tuple(self.version) >= version_tuple(self.costs.fix_version)
        self.chained: dict[ObjectCreation, None] = {}
        """Creations planned as one chain, in flight: their objects are counted when they
        end or split (:meth:`split_chains`), so whoever reads the population or takes a
        lock splits them first."""

    def split_chains(self) -> None:
        """Count the objects of planned creations begun by now; they go on object by object."""
        for creation in list(self.chained):
            creation.split()

    def cost_s(self, step: ObjectStep) -> float:
        """CPU-seconds to make ``step``'s object now, given what exists."""
        c, pop = self.costs, self.population
        if step.obj == "cgroup":
            return c.cgroup_create_s
        if step.obj == "mount-namespace":
            return c.mount_copy_per_mount_s * pop.mounts
        if step.obj == "ipc-namespace":
            return c.mqueue_mount_s if self.fixed else c.mqueue_mount_s_before_fix
        if step.obj == "network-namespace":
            return c.netns_create_s if self.fixed else c.netns_create_s_before_fix
        if step.obj == "veth":
            return c.veth_create_s
        if step.obj == "nat-rules":
            if step.firewall == "nftables":
                return c.nft_rule_s * step.rules
            # one iptables call per rule, each copying the whole table out and back
            existing = pop.nat_rules * step.rules + step.rules * (step.rules - 1) / 2
            return c.iptables_base_s * step.rules + c.iptables_per_rule_s * existing
        if step.obj == "mountinfo-scans":
            grown = max(0, pop.mounts - c.host_base_mounts)
            return c.mountinfo_per_mount_s * grown * step.reads
        raise ValueError(f"unknown kernel object {step.obj!r}")

    def add(self, step: ObjectStep) -> None:
        """Count ``step``'s object as made."""
        pop = self.population
        if step.obj == "cgroup":
            pop.cgroups += 1
        elif step.obj == "mount-namespace":
            pop.mounts += step.mounts
        elif step.obj == "network-namespace":
            pop.netns += 1
        elif step.obj == "veth":
            pop.links += 2
        elif step.obj == "nat-rules":
            pop.nat_rules += step.rules

    def remove(self, step: ObjectStep) -> None:
        """Count ``step``'s object as gone (its container was removed)."""
        self.split_chains()
        pop = self.population
        if step.obj == "cgroup":
            pop.cgroups = max(0, pop.cgroups - 1)
        elif step.obj == "mount-namespace":
            pop.mounts = max(self.costs.host_base_mounts, pop.mounts - step.mounts)
        elif step.obj == "network-namespace":
            pop.netns = max(0, pop.netns - 1)
        elif step.obj == "veth":
            pop.links = max(0, pop.links - 2)
        elif step.obj == "nat-rules":
            pop.nat_rules = max(0, pop.nat_rules - step.rules)

    def reclaim_cpu_s(self, read_mib: float) -> float:
        """Extra system CPU-seconds to reclaim page cache for ``read_mib`` (memcg walk).

        The base reclaim cost is part of every measured stage; what grows is
        the walk over the cgroups that exist (zero with none).
        """
        self.split_chains()
        c = self.costs
        growth: float = (self.population.cgroups / 100.0) ** c.reclaim_cgroup_exponent
        return read_mib / 1024.0 * c.reclaim_s_per_gib * c.reclaim_extra_at_100_cgroups * growth


def object_steps(runtime: RuntimeProfile, engine: EngineProfile,
                 network: str) -> tuple[ObjectStep, ...]:
    """The objects a container start makes, in order.

    The runtime makes its namespaces and cgroup (no network namespace with
    the host's network); an engine with a NAT network stage adds a veth pair
    and its NAT rules for ``network = "nat"`` only; the mount-namespace step
    also mounts the engine's per-container host mounts (rootfs, shm). First
    come the daemon's and the runtime's reads of the host's mount table
    (``mountinfo-scans``), where either reads it.
    """
    steps: list[ObjectStep] = []
    if reads := engine.mountinfo_reads_per_start + runtime.mountinfo_reads_per_create:
        steps.append(ObjectStep("mountinfo-scans", reads=reads))
    for obj in runtime.kernel_objects:
        if obj == "network-namespace" and network == "host":
            continue
        if obj == "veth" and network != "nat":
            continue
        mounts = engine.host_mounts_per_container if obj == "mount-namespace" else 0
        steps.append(ObjectStep(obj, mounts=mounts))
    if network == "nat" and any("nat" in stage.networks for stage in engine.api):
        if "veth" not in runtime.kernel_objects:
            steps.append(ObjectStep("veth"))
        if engine.nat_rules_per_container:
            steps.append(ObjectStep("nat-rules", rules=engine.nat_rules_per_container,
                                    firewall=engine.firewall))
    return tuple(steps)


Recorder = Callable[[str, float, float, float, float], None]
"""Called per object made: (object, asked_s, began_s, end_s, uncontended_s)."""
Row = Callable[[float, float, float], Sequence[float]]
"""A pool's work vector from CPU-seconds, MiB read and MiB fetched."""


def three_resources(cpu_s: float, read_mib: float, fetch_mib: float) -> list[float]:
    """The work vector of a (cpu, disk, net) pool."""
    return [cpu_s, read_mib, fetch_mib]


class ObjectCreation:
    """Make a start's objects one after another, each under its lock, CPU on the pool.

    Args:
        objects: The kernel's population and costs.
        locks: The kernel's locks.
        pool: The machine's resource pool (CPU first).
        steps: The objects to make.
        holder: Who makes them (an instance id), for lock logs.
        done: Called when the last object is made.
        record: Called for each object made (see :data:`Recorder`).
        row: The pool's work vector (see :data:`Row`).
    """

    __slots__ = (
        "activity",
        "asked",
        "began",
        "cancelled",
        "cost",
        "costs",
        "done",
        "fast_forward",
        "holder",
        "index",
        "locks",
        "objects",
        "pool",
        "record",
        "request",
        "row",
        "steps",
    )

    def __init__(self, objects: KernelObjects, locks: LockTable, pool: FluidPool,
                 steps: tuple[ObjectStep, ...], holder: str, done: Callable[[], object],
                 record: Recorder | None = None, row: Row = three_resources,
                 fast_forward: bool = False) -> None:
        self.objects = objects
        self.locks = locks
        self.pool = pool
        self.steps = steps
        self.holder = holder
        self.done = done
        self.record = record
        self.row = row
        self.index = 0
        self.asked = self.began = self.cost = 0.0
        self.request: Ticket | None = None
        self.activity: Activity | None = None
        self.cancelled = False
        self.fast_forward = fast_forward
        """Plan the objects as one chain while their locks are free and the pool uncontended
        (same records, lock holds and counts as object by object)."""
        self.costs: list[float] = []
        """The cost of each object of the chain in flight."""

    def cancel(self) -> None:
        """Its start was abandoned: leave the lock (or its queue) and the pool; no ``done``.

        An object already counted stays counted until its instance's objects are removed.
        """
        if self.cancelled:
            return
        if isinstance(self.activity, Chain):
            self.pool.cancel(self.activity)  # split: the objects made by now are recorded
        self.cancelled = True
        if self.activity is not None and not self.activity.finished:
            self.pool.cancel(self.activity)
        self.activity = None
        if self.request is not None:
            request, self.request = self.request, None
            request.release()

    def next(self) -> None:
        """Queue for the next object's lock, or call ``done`` after the last."""
        if self.cancelled:
            return
        if self.index == len(self.steps):
            self.done()
            return
        if self.fast_forward and self.pool.chains_allowed and self._chain():
            return
        step = self.steps[self.index]
        self.asked = float(self.locks.env.now)
        if not step.lock:
            self._locked(None)
            return
        ticket = self.locks[step.lock].take(self.holder, self._locked)
        if not ticket.granted:  # queued (a granted one may be made and released already)
            self.request = ticket

    def _locked(self, ticket: Ticket | None) -> None:
        if self.cancelled:
            return
        self.request = ticket
        step = self.steps[self.index]
        self.began = float(self.locks.env.now)
        if self.objects.chained:  # another start's objects, planned: count those begun by now
            self.objects.split_chains()
        self.cost = cost = self.objects.cost_s(step)
        self.objects.add(step)  # the next holder sees this one counted
        if cost <= 0:
            self._made()
            return
        self.activity = self.pool.start(self.row(cost, 0.0, 0.0), cap=1.0 / cost,
                                        on_done=self._made)

    def _made(self) -> None:
        if self.cancelled:
            return
        step = self.steps[self.index]
        self.activity = None
        if self.request is not None:
            request, self.request = self.request, None
            request.release()
        if self.record is not None and (step.lock or self.cost > 0):  # else: nothing happened
            self.record(step.obj, self.asked, self.began, float(self.locks.env.now), self.cost)
        self.index += 1
        self.next()

    # -- fast-forward: the objects as one chain --------------------------------
    def _chain(self) -> bool:
        """Plan the objects left as one chain on the pool, if each one's lock is free.

        Their costs are what object by object would find: each object is
        counted as it begins. Until the chain ends, anyone who takes one of the
        kernel's locks or reads its population splits it first
        (:meth:`KernelObjects.split_chains`), so the locks are held and the
        objects counted as object by object would have them.
        """
        steps = self.steps[self.index:]
        objects = self.objects
        if (len(steps) < 2 or objects.chained  # another's chain: taking a lock splits it
                or not all(not step.lock or self.locks[step.lock].free for step in steps)):
            return False
        saved = dataclasses.replace(objects.population)
        costs = []
        for step in steps:
            cost = objects.cost_s(step)
            if cost <= 0:  # made at once, without the pool: the chain stops before it
                break
            costs.append(cost)
            objects.add(step)
        objects.population = saved
        if len(costs) < 2:
            return False
        pieces: list[Piece] = [(list(self.row(cost, 0.0, 0.0)), 1.0 / cost, 0.0)
                               for cost in costs]
        chain = self.pool.chain(pieces, self._chain_done, self._chain_split, self.holder)
        if chain is None:
            return False
        self.activity = chain
        self.costs = costs
        objects.chained[self] = None
        if self.locks.before_take is None:
            self.locks.before_take = objects.split_chains
        return True

    def split(self) -> None:
        """Go on object by object from the one in flight (see :meth:`_chain`)."""
        if isinstance(self.activity, Chain):
            self.pool.split(self.activity)

    def _chain_made(self, chain: Chain, upto: int) -> None:
        """The chain's first ``upto`` objects: counted, their holds logged, recorded."""
        for k in range(upto):
            step = self.steps[self.index + k]
            self.objects.add(step)
            began, end = chain.starts[k], chain.bounds[k]
            if step.lock:
                lock = self.locks[step.lock]
                if lock.log is not None:
                    lock.log.append(Hold(lock.name, self.holder, began, end))
            if self.record is not None and (step.lock or self.costs[k] > 0):
                self.record(step.obj, began, began, end, self.costs[k])

    def _chain_done(self) -> None:
        chain = self.activity
        assert isinstance(chain, Chain)
        del self.objects.chained[self]
        self._chain_made(chain, len(chain.pieces))
        self.activity = None
        self.index += len(chain.pieces)
        self.next()

    def _chain_split(self, current: int, activity: Activity) -> None:
        chain = self.activity
        assert isinstance(chain, Chain)
        del self.objects.chained[self]
        self._chain_made(chain, current)
        self.index += current
        step = self.steps[self.index]
        self.asked = self.began = chain.starts[current]
        self.cost = self.costs[current]
        self.objects.add(step)
        if step.lock:
            self.request = self.locks[step.lock].take(self.holder, _granted)  # free: granted now
            self.request.since = self.began
        activity._on_done = self._made
        self.activity = activity


def _granted(_ticket: Ticket) -> None:
    """A lock granted to a chain that split (it held it since the object began)."""
