"""Tests for virtsim.kernel_objects: costs that grow with the population, made under locks."""

from __future__ import annotations

import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st

from virtsim.catalog import Catalog
from virtsim.kernel_objects import KernelObjects, ObjectCreation, ObjectStep, object_steps
from virtsim.locks import Hold, LockTable, overlaps
from virtsim.profiles import EngineProfile, KernelCostProfile, RuntimeProfile
from virtsim.sharing import FluidPool


def costs(catalog: Catalog) -> KernelCostProfile:
    return catalog.require(KernelCostProfile, "linux")


def test_iptables_calibration_returns_the_component_figure(catalog: Catalog) -> None:
    """1,000 rules one call at a time: 4.8 s (go-iptables PR #124), within 5%."""
    objects = KernelObjects(costs(catalog), "6.8")
    total = 0.0
    for _ in range(1000):
        step = ObjectStep("nat-rules", rules=1)
        total += objects.cost_s(step)
        objects.add(step)
    assert total == pytest.approx(4.8, rel=0.05)


def test_nftables_rule_cost_does_not_grow(catalog: Catalog) -> None:
    objects = KernelObjects(costs(catalog), "6.8")
    step = ObjectStep("nat-rules", rules=3, firewall="nftables")
    first = objects.cost_s(step)
    for _ in range(500):
        objects.add(step)
    assert objects.cost_s(step) == first
    assert step.lock == "nfnl" and ObjectStep("nat-rules", rules=3).lock == "xtables"


def test_mount_copy_calibration_gives_the_measured_clone_rate(catalog: Catalog) -> None:
    """264 host mounts: 135-143 serialised clones per second (cocoonstack #30)."""
    objects = KernelObjects(costs(catalog), "6.8")
    objects.population.mounts = 264
    rate = 1.0 / objects.cost_s(ObjectStep("mount-namespace"))
    assert 135 * 0.95 <= rate <= 143 * 1.05


def test_old_kernels_pay_the_slow_netns_path(catalog: Catalog) -> None:
    old = KernelObjects(costs(catalog), "4.4")
    new = KernelObjects(costs(catalog), "6.8")
    step = ObjectStep("network-namespace")
    assert old.cost_s(step) == pytest.approx(0.0477)
    assert new.cost_s(step) == pytest.approx(0.0015)


def test_cgroup_reclaim_reproduces_the_measured_points(catalog: Catalog) -> None:
    """10 GB through the page cache: +9.1 s sys at 100 cgroups, +71 s at 300 (hush-house #22)."""
    objects = KernelObjects(costs(catalog), "6.8")
    gib = 10e9 / 2**20
    assert objects.reclaim_cpu_s(gib) == 0.0
    objects.population.cgroups = 100
    assert objects.reclaim_cpu_s(gib) == pytest.approx(19.0 - 9.9, rel=0.05)
    objects.population.cgroups = 300
    assert objects.reclaim_cpu_s(gib) == pytest.approx(80.9 - 9.9, rel=0.05)


def test_mountinfo_scan_calibration_returns_the_parse_slope(catalog: Catalog) -> None:
    """Reading 148 mount lines costs 217.5 us more than reading 35 (moby PR #36307), within 5%."""
    objects = KernelObjects(costs(catalog), "6.8")
    one_read = ObjectStep("mountinfo-scans", reads=1)
    objects.population.mounts = costs(catalog).host_base_mounts + (148 - 35)
    assert objects.cost_s(one_read) == pytest.approx(256.4e-6 - 38.9e-6, rel=0.05)


def test_mountinfo_scans_cost_what_the_engine_state_adds_to_the_mount_table(
        catalog: Catalog) -> None:
    """An empty host costs nothing extra (the measured create includes that read); each
    running Docker container's rootfs and shm mounts make all 73 reads of the next start
    longer: dockerd's one and runc's 72 (runc PR #2256)."""
    runc = catalog.require(RuntimeProfile, "runc")
    docker = catalog.require(EngineProfile, "docker")
    steps = object_steps(runc, docker, "nat")
    scan = steps[0]
    assert (scan.obj, scan.reads, scan.lock) == ("mountinfo-scans", 73, "")
    objects = KernelObjects(costs(catalog), "6.8")
    assert objects.cost_s(scan) == 0.0
    for _ in range(1000):
        for step in steps:
            objects.add(step)
    per_mount = costs(catalog).mountinfo_per_mount_s
    assert objects.cost_s(scan) == pytest.approx(73 * 2000 * per_mount)
    bare = catalog.require(EngineProfile, "none")
    assert all(s.obj != "mountinfo-scans" or s.reads == 72 for s in object_steps(runc, bare,
                                                                                "none"))


def test_a_step_without_a_lock_runs_at_once_and_holds_none(catalog: Catalog) -> None:
    env = simpy.Environment()
    pool = FluidPool(env, ("cpu", "disk", "net"), (4.0, 1000.0, 1000.0))
    log: list[Hold] = []
    locks = LockTable(env, "k", log)
    objects = KernelObjects(costs(catalog), "6.8")
    objects.population.mounts = 10_030
    scan = ObjectStep("mountinfo-scans", reads=10)
    done: list[float] = []
    for i in range(4):  # four cores: four scans side by side, none waits
        ObjectCreation(objects, locks, pool, (scan,), f"c{i}",
                       lambda: done.append(float(env.now))).next()
    env.run()
    assert done == [pytest.approx(10 * 10_000 * costs(catalog).mountinfo_per_mount_s)] * 4
    assert log == []


def test_steps_follow_network_mode(catalog: Catalog) -> None:
    runc = catalog.require(RuntimeProfile, "runc")
    docker = catalog.require(EngineProfile, "docker")
    bare = catalog.require(EngineProfile, "none")
    nat = [s.obj for s in object_steps(runc, docker, "nat")]
    assert nat == ["mountinfo-scans", "cgroup", "mount-namespace", "ipc-namespace",
                   "network-namespace", "veth", "nat-rules"]
    assert "network-namespace" not in [s.obj for s in object_steps(runc, docker, "host")]
    none = [s.obj for s in object_steps(runc, docker, "none")]
    assert "veth" not in none and "nat-rules" not in none and "network-namespace" in none
    assert "veth" not in [s.obj for s in object_steps(runc, bare, "nat")]


@given(n=st.integers(min_value=1, max_value=40))
def test_nth_object_never_cheaper_than_the_first(n: int) -> None:
    from virtsim.catalog import load_catalog

    catalog = load_catalog()
    objects = KernelObjects(costs(catalog), "6.8")
    steps = object_steps(catalog.require(RuntimeProfile, "runc"),
                         catalog.require(EngineProfile, "docker"), "nat")
    first = sum(objects.cost_s(s) for s in steps)
    for _ in range(n):
        for s in steps:
            objects.add(s)
    assert sum(objects.cost_s(s) for s in steps) >= first


@given(starts=st.lists(st.floats(min_value=0.0, max_value=0.05), min_size=1, max_size=25),
       cores=st.integers(min_value=1, max_value=8))
def test_objects_made_concurrently_never_overlap_on_a_lock(starts: list[float],
                                                           cores: int) -> None:
    from virtsim.catalog import load_catalog

    catalog = load_catalog()
    env = simpy.Environment()
    pool = FluidPool(env, ("cpu", "disk", "net"), (float(cores), 1000.0, 1000.0))
    log: list[Hold] = []
    locks = LockTable(env, "k", log)
    objects = KernelObjects(costs(catalog), "4.4")
    steps = object_steps(catalog.require(RuntimeProfile, "runc"),
                         catalog.require(EngineProfile, "docker"), "nat")
    finished: list[float] = []
    for i, at in enumerate(starts):
        def begin(_e: object, i: int = i) -> None:
            ObjectCreation(objects, locks, pool, steps, f"c{i}",
                           lambda: finished.append(float(env.now))).next()
        env.timeout(at).callbacks.append(begin)
    env.run()
    assert len(finished) == len(starts)
    assert len(log) == len(starts) * len([s for s in steps if s.lock])
    assert overlaps(log) == []


def test_concurrent_starts_queue_on_the_netns_lock(catalog: Catalog) -> None:
    """Ten netns creations at once on an old kernel take ten times one, whatever the cores."""
    env = simpy.Environment()
    pool = FluidPool(env, ("cpu", "disk", "net"), (64.0, 1000.0, 1000.0))
    locks = LockTable(env, "k")
    objects = KernelObjects(costs(catalog), "4.4")
    done: list[float] = []
    for i in range(10):
        ObjectCreation(objects, locks, pool, (ObjectStep("network-namespace"),), f"c{i}",
                       lambda: done.append(float(env.now))).next()
    env.run()
    assert max(done) == pytest.approx(10 * 0.0477)
    assert min(done) == pytest.approx(0.0477)


def test_a_cancelled_creation_leaves_its_lock_and_the_next_goes_on(catalog: Catalog) -> None:
    env = simpy.Environment()
    pool = FluidPool(env, ("cpu", "disk", "net"), (4.0, 1000.0, 1000.0))
    log: list[Hold] = []
    locks = LockTable(env, "k", log)
    objects = KernelObjects(costs(catalog), "4.4")
    steps = (ObjectStep("network-namespace"),)
    done: list[str] = []
    first = ObjectCreation(objects, locks, pool, steps, "a", lambda: done.append("a"))
    second = ObjectCreation(objects, locks, pool, steps, "b", lambda: done.append("b"))
    queued = ObjectCreation(objects, locks, pool, steps, "c", lambda: done.append("c"))
    first.next()
    second.next()
    queued.next()
    env.run(until=0.01)
    first.cancel()  # holding the lock mid-work
    queued.cancel()  # still in the queue
    env.run()
    assert done == ["b"]
    assert overlaps(log) == [] and [h.holder for h in log] == ["a", "b"]
    assert log[1].start_s == pytest.approx(0.01)
