"""Lockstep: partitions that share an orchestrator's scope advance window by window.

A run whose orchestrator scope is cut across partitions (:mod:`virtsim.scope`)
keeps each partition open in its own worker (a local process, a Dask actor,
or this process) and advances them all together, conservatively:

- partitions affect each other only through an orchestrator's decisions,
  and a decision comes exactly the orchestrator's *lookahead* (detection,
  eviction, restart delay) after the host failure that causes it. Host
  failures come from faults whose times are known before the clock starts
  (scheduled, or drawn from the failure rates at attach), so every instant
  at which a decision may come is known to the partition that will take it
  from the start (:attr:`~virtsim.orchestration.Recovery.expected`), and
  all partitions stop at each;
- between two such instants the partitions run without hearing from each
  other: nothing one does there can reach another before the next;
- a window ends *inside* its instant, after that instant's ordinary events
  and before its decisions (:data:`~virtsim.scope.LATE`). The partitions
  then hear each other's up/down transitions, and the instant's decisions
  are taken one by one in the scenario order of their instances, each by
  the partition that runs the instance, each placement told to the
  partitions of its scope (which book it, and start the replica if it is
  theirs), exactly as one process takes them at the end of that instant.

Nothing is simulated twice; the windows cost a few messages per instant at
which a decision may come. A partition that meets what this exchange does
not carry stops the run (:attr:`~virtsim.scope.Notes.fallback`): a fault
aimed at an instance after it was moved to another partition's machine, or
a decision at an instant nobody foresaw (none is known). The caller then
runs it again with every orchestrator's scope whole in one partition, as a
run whose orchestrators have no lookahead always is
(:func:`virtsim.partition.units`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

from virtsim.errors import InputError
from virtsim.scope import Placement, Rank
from virtsim.workers import die_with_parent


@dataclass
class Step:
    """What a partition reports at the end of a window.

    Attributes:
        expected: Instants at which a decision may now come (new ones).
        requests: Decisions waiting at this instant, by the rank of their instance.
        transitions: Up/down transitions of its scope machines since the last window.
        fallback: Why the run cannot go on cut (None: it can).
    """

    expected: list[float] = field(default_factory=list)
    requests: list[Rank] = field(default_factory=list)
    transitions: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)
    fallback: str | None = None


class Session(Protocol):
    """One partition held open between windows (:class:`virtsim.run.Session`)."""

    def foreseen(self) -> list[float]:
        """The instants at which its orchestrators may decide (from its faults' times)."""

    def advance(self, until: float) -> Step | InputError:
        """Run to ``until``'s decisions (every other event of that instant done)."""

    def tell(self, transitions: dict[str, list[tuple[float, bool]]]) -> None:
        """Hear other partitions' machines go up or down."""

    def decide(self, rank: Rank) -> Placement | None:
        """Take this instant's decision for the instance of ``rank``."""

    def adopt(self, placement: Placement) -> None:
        """Book another partition's decision (and start its replica if it is placed here)."""

    def finish(self) -> Any:
        """Run to the end, report, and hand back the partition's result."""


@dataclass
class Lockstep:
    """How a cut run went: shown by ``virtsim run`` (never part of the result).

    Attributes:
        partitions: How many partitions ran.
        windows: How many windows they advanced in together (0: no scope was cut).
        decided: Decision instants settled together.
        placements: Placements told across partitions.
        fallback: Why the run was simulated again with its scopes whole ("": it was not).
    """

    partitions: int = 1
    windows: int = 0
    decided: int = 0
    placements: int = 0
    fallback: str = ""

    def describe(self) -> str:
        """One line for the run's summary."""
        line = f"{self.partitions} partition{'s' if self.partitions != 1 else ''}"
        if self.windows:
            line += (f" in lockstep: {_count(self.windows, 'window')}, "
                     f"{_count(self.decided, 'decision instant')}, "
                     f"{_count(self.placements, 'placement')} told across")
        if self.fallback:
            line += f"; scopes then run whole ({self.fallback})"
        return line


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


class Sessions(Protocol):
    """Open partitions somewhere, called by index."""

    def call(self, index: int, method: str, *args: Any) -> Any:
        """One partition's method, its result."""

    def call_all(self, method: str, *args: Any) -> list[Any]:
        """Every partition's method at once, their results in order."""

    def close(self) -> None:
        """Let the partitions go."""


def lockstep(sessions: Sessions, count: int, duration_s: float,
             reach: Sequence[frozenset[str]], went: Lockstep,
             progress: Callable[[float], None] | None = None) -> list[Any]:
    """Advance ``count`` open partitions together to the end (see the module docs).

    Args:
        sessions: The open partitions.
        count: How many.
        duration_s: The run's end.
        reach: Per partition, the machines of the scopes it shares.
        went: Filled in with how it went.
        progress: Called with the simulated time each window reaches.

    Returns:
        Each partition's :meth:`Session.finish`, or an :class:`InputError` to raise; an
        empty list when a partition asked for the scopes to run whole (``went.fallback``).
    """
    now, expected = 0.0, {t for times in sessions.call_all("foreseen") for t in times}
    while True:
        until = min((e for e in expected if e > now), default=duration_s)
        if until >= duration_s:
            break
        steps = sessions.call_all("advance", until)
        went.windows += 1
        for step in steps:
            if isinstance(step, InputError):
                return [step]
        reason = next((s.fallback for s in steps if s.fallback), None)
        if reason:
            went.fallback = reason
            return []
        for step in steps:
            expected.update(step.expected)
        _tell(sessions, steps, reach)
        requests = sorted((rank, index) for index, step in enumerate(steps)
                          for rank in step.requests)
        went.decided += bool(requests)
        for rank, owner in requests:
            placement = sessions.call(owner, "decide", rank)
            if placement is None:
                continue
            for other in range(count):
                if other != owner and placement.to_machine in reach[other]:
                    sessions.call(other, "adopt", placement)
                    went.placements += 1
        now = until
        if progress is not None:
            progress(now)
    finished = list(sessions.call_all("finish"))
    reason = next((f.notes.fallback for f in finished
                   if getattr(getattr(f, "notes", None), "fallback", None)), None)
    if reason:
        went.fallback = reason
        return []
    return finished


def _tell(sessions: Sessions, steps: list[Step], reach: Sequence[frozenset[str]]) -> None:
    """Each partition hears the transitions of the others' machines in its scopes."""
    for index in range(len(steps)):
        told = {machine: changes for other, step in enumerate(steps) if other != index
                for machine, changes in step.transitions.items() if machine in reach[index]}
        if told:
            sessions.call(index, "tell", told)


def reach_of(machines: Sequence[str], scopes: Sequence[frozenset[str]]) -> frozenset[str]:
    """The machines of every scope that a partition's machines belong to (its own too)."""
    mine = set(machines)
    out: set[str] = set()
    for scope in scopes:
        if scope & mine:
            out |= scope
    return frozenset(out)


# -- where the sessions live ------------------------------------------------------------

Factory = Callable[[Any], Any]
"""Opens one partition from its job (a class picklable by reference)."""


class InProcessSessions:
    """Every partition in this process, called in turn; with ``pickled``, every argument
    and result goes through pickle as it would to a worker."""

    def __init__(self, factory: Factory, jobs: Sequence[Any], pickled: bool = False) -> None:
        self.pickled = pickled
        self.items = [factory(self._trip(job)) for job in jobs]

    def _trip(self, value: Any) -> Any:
        return pickle.loads(pickle.dumps(value)) if self.pickled else value

    def call(self, index: int, method: str, *args: Any) -> Any:
        """One partition's method."""
        return self._trip(getattr(self.items[index], method)(*self._trip(args)))

    def call_all(self, method: str, *args: Any) -> list[Any]:
        """Each partition's method in turn."""
        return [self.call(index, method, *args) for index in range(len(self.items))]

    def close(self) -> None:
        """Nothing held."""


def _serve(factory: Factory, job: Any, conn: Connection, parent: int) -> None:
    """A worker process: open the partition, then answer calls until told to stop."""
    die_with_parent(parent)
    session = factory(job)
    while True:
        message = conn.recv()
        if message is None:
            return
        method, args = message
        try:
            conn.send((True, getattr(session, method)(*args)))
        except BaseException as exc:  # sent back whole, raised where the run began
            conn.send((False, exc))


class ProcessSessions:
    """One local worker process per partition, each holding its partition open."""

    def __init__(self, factory: Factory, jobs: Sequence[Any]) -> None:
        context = multiprocessing.get_context()
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for job in jobs:
            mine, theirs = context.Pipe()
            proc = context.Process(target=_serve, args=(factory, job, theirs, os.getpid()),
                                   daemon=True)
            proc.start()
            self.conns.append(mine)
            self.procs.append(proc)

    def _answer(self, index: int) -> Any:
        try:
            ok, value = self.conns[index].recv()
        except EOFError as exc:
            from virtsim.sweep_executor import WorkerLost

            raise WorkerLost(f"the worker process of partition {index} died") from exc
        if not ok:
            raise value
        return value

    def call(self, index: int, method: str, *args: Any) -> Any:
        """One partition's method, in its worker."""
        self.conns[index].send((method, args))
        return self._answer(index)

    def call_all(self, method: str, *args: Any) -> list[Any]:
        """Every partition's method at once (they run in parallel)."""
        for conn in self.conns:
            conn.send((method, args))
        return [self._answer(index) for index in range(len(self.conns))]

    def close(self) -> None:
        """Stop the workers."""
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


class DaskSessions:
    """One Dask actor per partition, on the workers of a cluster."""

    def __init__(self, client: Any, factory: Factory, jobs: Sequence[Any]) -> None:
        futures = [client.submit(factory, job, actor=True, pure=False) for job in jobs]
        self.futures = futures
        self.actors = [future.result() for future in futures]

    def call(self, index: int, method: str, *args: Any) -> Any:
        """One partition's method, on its actor."""
        return getattr(self.actors[index], method)(*args).result()

    def call_all(self, method: str, *args: Any) -> list[Any]:
        """Every partition's method at once."""
        pending = [getattr(actor, method)(*args) for actor in self.actors]
        return [future.result() for future in pending]

    def close(self) -> None:
        """Release the actors."""
        for future in self.futures:
            future.cancel()
