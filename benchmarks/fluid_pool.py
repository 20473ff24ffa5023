"""Benchmark: the cost of one activity on a FluidPool against one bare SimPy timeout.

Every lifecycle stage's work runs as an activity on its machine's
:class:`virtsim.sharing.FluidPool`. This times, for a pool kept at ``k``
concurrent activities (a machine with ``k`` starts overlapping), the wall
time per activity from start to done, driven two ways: by SimPy processes
waiting on each activity's ``done`` event, and by a chain of callbacks
(``on_done=`` starts the next piece, after a latency, as the lifecycle's
stages do). Each is set against one bare ``env.timeout`` per activity, with
the time per ``max_min_rates`` call on ``k`` rows. Up to 16 concurrent
single-thread activities fit on the 16-core pool (the uncontended regime:
nothing is solved); at 64 they contend and rates are solved at every change.

Run: python benchmarks/fluid_pool.py [K ...]   (default 1 2 4 16 64)
Prints figures; asserts nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator

import numpy as np
import simpy

from virtsim.sharing import FluidPool, max_min_rates

ACTIVITIES = 20_000


def pool_run(concurrent: int) -> tuple[float, int]:
    """Seconds per activity and events when ``concurrent`` activities overlap at a time."""
    env = simpy.Environment()
    pool = FluidPool(env, ("cpu", "disk", "net"), (16.0, 2000.0, 1000.0))
    rng = np.random.default_rng(1)

    def worker(count: int) -> Generator[simpy.Event, None, None]:
        for work in rng.uniform(0.1, 1.0, count):
            yield pool.start([float(work), 10.0 * work, 0.0], cap=1.0 / work).done

    for _ in range(concurrent):
        env.process(worker(ACTIVITIES // concurrent))
    began = time.perf_counter()
    env.run()
    return (time.perf_counter() - began) / ACTIVITIES, int(repr(env._eid)[6:-1])


def chain_run(concurrent: int) -> tuple[float, int]:
    """As :func:`pool_run`, each worker a chain of callbacks with a latency before each piece."""
    env = simpy.Environment()
    pool = FluidPool(env, ("cpu", "disk", "net"), (16.0, 2000.0, 1000.0))
    works = iter(np.random.default_rng(1).uniform(0.1, 1.0, ACTIVITIES).tolist())

    def piece() -> None:
        work = next(works, None)
        if work is not None:
            pool.start([work, 10.0 * work, 0.0], cap=1.0 / work, delay=0.01, on_done=piece)

    for _ in range(concurrent):
        piece()
    began = time.perf_counter()
    env.run()
    return (time.perf_counter() - began) / ACTIVITIES, int(repr(env._eid)[6:-1])


def bare_run() -> float:
    """Seconds per activity as one bare timeout each."""
    env = simpy.Environment()
    rng = np.random.default_rng(1)

    def worker() -> Generator[simpy.Event, None, None]:
        for work in rng.uniform(0.1, 1.0, ACTIVITIES):
            yield env.timeout(float(work))

    env.process(worker())
    began = time.perf_counter()
    env.run()
    return (time.perf_counter() - began) / ACTIVITIES


def rates_call(rows: int) -> float:
    """Seconds per max_min_rates call on ``rows`` activities over three resources."""
    rng = np.random.default_rng(2)
    work = rng.uniform(0.0, 1.0, (rows, 3))
    capacity, weights, caps = np.array([16.0, 2000.0, 1000.0]), np.ones(rows), np.full(rows, 2.0)
    calls = 2000
    began = time.perf_counter()
    for _ in range(calls):
        max_min_rates(work, capacity, weights, caps)
    return (time.perf_counter() - began) / calls


def main() -> None:
    """Print per-activity and per-call figures for each concurrency."""
    bare = bare_run()
    print(f"bare SimPy timeout: {1e6 * bare:6.1f} us per activity")
    for arg in sys.argv[1:] or ["1", "2", "4", "16", "64"]:
        k = int(arg)
        for how, run in (("processes", pool_run), ("callbacks", chain_run)):
            per, events = run(k)
            print(f"FluidPool, {k:>3} concurrent, {how}: {1e6 * per:7.1f} us per activity "
                  f"({per / bare:5.1f}x bare), {events / ACTIVITIES:.1f} events per activity")
        print(f"max_min_rates on {k} rows: {1e6 * rates_call(k):6.1f} us per call")


if __name__ == "__main__":
    main()
