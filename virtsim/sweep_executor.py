"""Where a sweep's runs execute: this process, local worker processes, or a Dask cluster.

An executor takes a function and a list of jobs and yields ``(index,
outcome)`` as each job finishes, in whatever order they finish. Results
never depend on that order: each job carries its own seed, and the sweep
sorts what comes back. Three kinds:

- :class:`InProcess`: one job after another in this process (``--workers 1``);
- :class:`LocalProcesses`: a :class:`concurrent.futures.ProcessPoolExecutor`
  of N worker processes (the default);
- :class:`DaskCluster`: the workers of a running ``dask.distributed``
  scheduler, given its address (``tcp://host:8786``); needs the optional
  ``virtsim[dask]`` extra, and virtsim installed on every worker.

Experiments run their scenarios through whichever executor is current
(:func:`current_executor`, set with :func:`using_executor`), so
``virtsim reproduce --scheduler ADDRESS`` sends their runs to a cluster.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from virtsim.errors import InputError
from virtsim.workers import worker_pool

J = TypeVar("J")
R = TypeVar("R")


class WorkerLost(RuntimeError):
    """A worker died (killed, out of memory) and took its job with it."""


class Executor(Protocol):
    """Runs jobs and yields each one's ``(index, outcome)`` as it finishes."""

    description: str

    def run(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[tuple[int, R]]:
        """Yield ``(index into jobs, fn(job))`` as jobs finish."""
        ...


class InProcess:
    """Every job in this process, in order."""

    description = "this process"

    def run(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[tuple[int, R]]:
        """Run each job in turn."""
        for index, job in enumerate(jobs):
            yield index, fn(job)


class LocalProcesses:
    """A pool of local worker processes, at most ``workers`` jobs at once."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError('"workers" must be >= 1')
        self.workers = workers
        self.description = f"{workers} local worker processes"

    def run(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[tuple[int, R]]:
        """Keep at most twice as many jobs queued as workers, so an interrupt loses little."""
        if not jobs:
            return
        pool = worker_pool(min(self.workers, len(jobs)))  # workers that die with this process
        pending: dict[Future[R], int] = {}
        queue = iter(enumerate(jobs))
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    item = next(queue, None)
                    if item is None:
                        break
                    pending[pool.submit(fn, item[1])] = item[0]
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=pending.__getitem__):
                    index = pending.pop(future)
                    yield index, _outcome(future)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _outcome(future: Future[R]) -> R:
    try:
        return future.result()
    except Exception as exc:  # BrokenProcessPool: a worker died mid-job
        raise WorkerLost(f"a worker process died ({type(exc).__name__}: {exc})") from exc


class DaskCluster:
    """The workers of a running Dask distributed scheduler."""

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise InputError("--scheduler", "", "the dask extra installed "
                             "(pip install 'virtsim[dask]')", "no dask.distributed") from None
        _check_address(address)
        try:
            self.client: Any = Client(address, timeout=5, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError("--scheduler", "", "the address of a running Dask scheduler "
                             "(tcp://host:8786)", f"'{address}' ({exc})") from None
        self.address = address
        self.description = f"the Dask cluster at {address}"

    def run(self, fn: Callable[[J], R], jobs: Sequence[J]) -> Iterator[tuple[int, R]]:
        """Submit every job (pure=False: each is a fresh run) and yield as they finish."""
        from distributed import as_completed

        finished: Any = as_completed
        futures = [self.client.submit(fn, job, pure=False) for job in jobs]
        index = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in finished(futures, loop=self.client.loop):
                try:
                    outcome = future.result()
                except Exception as exc:  # KilledWorker, or a worker that cannot import virtsim
                    raise WorkerLost(f"a Dask worker failed the job ({type(exc).__name__}: "
                                     f"{exc})") from exc
                yield index[future.key], outcome
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """Leave the cluster (the cluster itself keeps running)."""
        self.client.close()


def _check_address(address: str) -> None:
    """A scheduler address must name a host and port (a Client half-built from a bad one
    prints a traceback when it is collected)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise InputError("--scheduler", "", "the address of a running Dask scheduler "
                         "(tcp://host:8786)", f"'{address}' ({exc})") from None


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """A Dask executor given a scheduler address; else local processes (one: in-process)."""
    if scheduler:
        return DaskCluster(scheduler)
    count = workers or default_workers()
    return InProcess() if count <= 1 else LocalProcesses(count)


def default_workers() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def close_executor(executor: Executor) -> None:
    """Release what an executor holds (a Dask client's connection)."""
    close: Any = getattr(executor, "close", None)
    if close is not None:
        close()


_CURRENT: contextvars.ContextVar[Executor | None] = contextvars.ContextVar(
    "virtsim_executor", default=None)


def current_executor() -> Executor:
    """The executor experiments run their scenarios on (in-process unless one is set)."""
    return _CURRENT.get() or InProcess()


@contextmanager
def using_executor(executor: Executor) -> Iterator[Executor]:
    """Run the enclosed code's scenario batches on ``executor``."""
    token = _CURRENT.set(executor)
    try:
        yield executor
    finally:
        _CURRENT.reset(token)
