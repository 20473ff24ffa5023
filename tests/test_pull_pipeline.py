"""Tests for virtsim.pull_pipeline: parallel downloads, in-order unpack, per-codec rates."""

from __future__ import annotations

import pytest
import simpy

from virtsim.catalog import Catalog
from virtsim.profiles import CodecProfile, EngineProfile, Layer
from virtsim.pull_pipeline import HostIo, LayerStore, layer_work, pull
from virtsim.sharing import FluidPool


def codecs(catalog: Catalog) -> dict[str, CodecProfile]:
    return {name: catalog.require(CodecProfile, name) for name in ("gzip", "zstd")}


def run_pull(catalog: Catalog, layers: tuple[Layer, ...], net_mibs: float = 100.0,
             cores: float = 8.0) -> tuple[float, LayerStore]:
    env = simpy.Environment()
    pool = FluidPool(env, ("cpu", "disk", "net"), (cores, 1e6, net_mibs))
    store = LayerStore()
    done = pull(env, pool, store, layers, catalog.require(EngineProfile, "docker"),
                codecs(catalog))
    assert done is not None
    env.run(done)
    return float(env.now), store


def test_at_most_three_downloads_at_once(catalog: Catalog) -> None:
    """Six equal layers on a 100 MiB/s link: two rounds of three, each at a third of it
    (done at 3 s and 6 s); each unpack (x s of extraction) waits for its download and
    for the layer before: 3 + 3x, then the last three one after another."""
    layers = tuple(Layer(digest=f"d{i}", compressed_mib=100, size_mib=0) for i in range(6))
    x = 100 / catalog.require(EngineProfile, "docker").decompress_mibs_per_core
    took, store = run_pull(catalog, layers)
    assert took == pytest.approx(max(3 + 3 * x, 6) + 3 * x, rel=1e-6)
    assert store.present == {f"d{i}" for i in range(6)}


def test_unpack_is_in_layer_order_on_one_core(catalog: Catalog) -> None:
    """With an instant network, unpacks of two layers add up (never in parallel)."""
    engine = catalog.require(EngineProfile, "docker")
    layer = Layer(digest="a", compressed_mib=50, size_mib=200)
    cpu, _ = layer_work(layer, engine, codecs(catalog)["gzip"], HostIo())
    took, _ = run_pull(catalog, (layer, Layer(digest="b", compressed_mib=50, size_mib=200)),
                       net_mibs=1e9)
    assert took == pytest.approx(2 * cpu, rel=1e-6)


def test_zstd_decompresses_faster_than_gzip(catalog: Catalog) -> None:
    engine = catalog.require(EngineProfile, "docker")
    gz = Layer(digest="a", compressed_mib=50, size_mib=200)
    zs = Layer(digest="a", compressed_mib=50, size_mib=200, codec="zstd")
    assert layer_work(zs, engine, codecs(catalog)["zstd"], HostIo())[0] < \
        layer_work(gz, engine, codecs(catalog)["gzip"], HostIo())[0]


def test_present_layers_are_not_pulled_and_shared_layers_not_twice(catalog: Catalog) -> None:
    env = simpy.Environment()
    pool = FluidPool(env, ("cpu", "disk", "net"), (8.0, 1e6, 100.0))
    store = LayerStore(present={"a"})
    engine = catalog.require(EngineProfile, "docker")
    assert pull(env, pool, store, (Layer(digest="a", compressed_mib=1, size_mib=1),),
                engine, codecs(catalog)) is None
    shared = (Layer(digest="b", compressed_mib=100, size_mib=0),)
    first = pull(env, pool, store, shared, engine, codecs(catalog))
    second = pull(env, pool, store, shared, engine, codecs(catalog))
    assert first is second
    env.run()
    assert env.now == pytest.approx(1.0 + 100 / engine.decompress_mibs_per_core)


def test_an_aborted_pull_leaves_the_pool_and_its_layers_absent(catalog: Catalog) -> None:
    from virtsim.pull_pipeline import abort

    env = simpy.Environment()
    pool = FluidPool(env, ("cpu", "disk", "net"), (8.0, 1e6, 100.0))
    store = LayerStore()
    engine = catalog.require(EngineProfile, "docker")
    layers = (Layer(digest="a", compressed_mib=10, size_mib=10),
              Layer(digest="b", compressed_mib=500, size_mib=500))
    done = pull(env, pool, store, layers, engine, codecs(catalog))
    assert done is not None
    env.run(until=2.0)
    assert "a" in store.present and "b" not in store.present
    abort(pool, store)
    env.run(until=3.0)
    assert not pool.activities and "b" not in store.present and "b" not in store.unpacked
    again = pull(env, pool, store, layers, engine, codecs(catalog))
    assert again is not None
    env.run(again)
    assert store.present == {"a", "b"}
