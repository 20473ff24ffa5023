"""Tests for virtsim.plan_start: the analytic start of a fleet from stages and shared resources."""

from __future__ import annotations

import numpy as np
import pytest

from virtsim.catalog import Catalog
from virtsim.distributions import Constant
from virtsim.lifecycle import host_capacity
from virtsim.plan_stack import StartShape
from virtsim.plan_start import host_start
from virtsim.profiles import EngineProfile, HostProfile, Layer, Stage


def stage(name: str, wall: float, cpu: float = 0.0, read: float = 0.0,
          lock: str = "") -> tuple[str, Stage]:
    return ("app", Stage(name=name, wall_s=Constant(value=wall), cpu_s=cpu, read_mib=read,
                         lock=lock, source="test"))


@pytest.fixture
def host(catalog: Catalog) -> HostProfile:
    return catalog.require(HostProfile, "m5d-metal")


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_one_start_takes_its_stages(host: HostProfile) -> None:
    shape = StartShape((stage("a", 1.0), stage("b", 0.5, cpu=0.2)))
    cold, warm = host_start(host, [(shape, 1)], rng())
    assert cold.estimate_s == pytest.approx(1.5) and cold.bound == "longest start"
    assert warm == cold  # nothing to pull


def test_a_lock_serialises_and_cpu_is_shared(host: HostProfile) -> None:
    locked = StartShape((stage("create", 0.1, lock="dockerd"), stage("run", 0.2)))
    cold, _ = host_start(host, [(locked, 100)], rng())
    assert cold.estimate_s == pytest.approx(10.0) and cold.bound == "lock dockerd"
    assert cold.high_s == pytest.approx(10.0 + 0.3)
    busy = StartShape((stage("boot", 1.0, cpu=1.0),))
    cores = host_capacity(host)[0]
    cold, _ = host_start(host, [(busy, 480)], rng())
    assert cold.estimate_s == pytest.approx(480 / cores) and cold.bound == "cpu"


def test_a_file_is_read_once_per_machine_and_its_readers_wait_for_it(host: HostProfile) -> None:
    shape = StartShape((stage("load", 2.0, read=100.0),))
    one, _ = host_start(host, [(shape, 1)], rng())
    many, _ = host_start(host, [(shape, 10)], rng())
    assert one.estimate_s == pytest.approx(2.0)
    disk = host_capacity(host)[1]
    assert many.estimate_s == pytest.approx(100.0 / disk + 2.0)  # the read, then their own
    own = StartShape((stage("load", 2.0, read=100.0),), per_instance_reads=frozenset({"app"}))
    crowd, _ = host_start(host, [(own, 100)], rng())
    assert crowd.estimate_s == pytest.approx(max(2.0, 100 * 100.0 / disk))


def test_a_cold_start_pulls_each_layer_once_per_store(host: HostProfile, catalog: Catalog) -> None:
    engine = catalog.require(EngineProfile, "docker")
    layer = Layer(digest="sha256:big", compressed_mib=1000.0, size_mib=3000.0)
    shape = StartShape((stage("run", 0.1),), (layer,), engine)
    cold, warm = host_start(host, [(shape, 10)], rng())
    net = host_capacity(host)[2]
    assert warm.estimate_s == pytest.approx(0.1)
    pull = 1000.0 / net + 1000.0 / engine.decompress_mibs_per_core
    assert cold.estimate_s == pytest.approx(pull + 0.1)
    two, _ = host_start(host, [(shape, 10)], rng(), stores=2)
    assert two.estimate_s > cold.estimate_s


def test_more_hosts_make_the_longest_start_longer(host: HostProfile,
                                                  catalog: Catalog) -> None:
    from virtsim.profiles import DiskImageProfile

    image = catalog.require(DiskImageProfile, "ubuntu-24.04-cloud")
    shape = StartShape(tuple(("disk-image", s) for s in image.boot))
    one, _ = host_start(host, [(shape, 10)], rng(), hosts=1)
    fifty, _ = host_start(host, [(shape, 10)], rng(), hosts=50)
    assert fifty.estimate_s > one.estimate_s  # the slowest of 500 draws, not of 10
    assert one.low_s <= one.estimate_s <= one.high_s
