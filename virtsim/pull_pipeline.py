"""Image pulls as a pipeline: parallel downloads, then in-order decompress and unpack.

An engine pulls the layers of an image that its store lacks:

- **download** over the host's network, at most ``max_concurrent_downloads``
  layers at once across the whole daemon (Docker's default is 3);
- **decompress and unpack**, one layer at a time in the image's order (a
  layer is applied on top of its parent): one core decompresses at the
  codec's rate (gzip or zstd, from ``models/codecs``) while the engine
  extracts the tar stream (``decompress_mibs_per_core`` of compressed data
  per core: file creation, metadata) and writes the unpacked bytes to disk.

So a pull takes about the longer of the network time over the parallel
streams and the single-threaded decompress-and-unpack chain; both share the
host's network, CPU and disk with whatever else runs. A layer that another
pull is already fetching is waited for, not fetched twice.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy

from virtsim.kernel_objects import three_resources
from virtsim.profiles import CodecProfile, EngineProfile, Layer
from virtsim.sharing import FluidPool


@dataclass
class LayerStore:
    """The layers one engine holds on one kernel, and its pulls in flight."""

    present: set[str] = field(default_factory=set)
    unpacked: dict[str, simpy.Process] = field(default_factory=dict)
    """Layer digest -> the process that fetches and unpacks it (in flight or done)."""
    downloads: simpy.Resource | None = None
    """The daemon-wide download slots (made on the first pull)."""


@dataclass(frozen=True)
class HostIo:
    """How the pipeline's work maps onto a host's pool.

    Attributes:
        write_cost: Disk-pool units per MiB written (read rate / write rate).
        row: The pool's work vector from CPU-seconds, disk MiB and network MiB.
        extra_cpu_s: Extra CPU-seconds a MiB written through the page cache costs
            (memory-cgroup reclaim; 0 when nothing grows).
    """

    write_cost: float = 1.0
    extra_cpu_s: Callable[[float], float] | None = None
    row: Callable[[float, float, float], Sequence[float]] = three_resources


def layer_work(layer: Layer, engine: EngineProfile, codec: CodecProfile,
               io: HostIo) -> tuple[float, float]:
    """CPU-seconds (one thread) and disk-pool units to decompress and unpack one layer."""
    cpu = layer.size_mib / codec.decompress_mibs_per_core
    cpu += layer.compressed_mib / engine.decompress_mibs_per_core
    if io.extra_cpu_s is not None:
        cpu += io.extra_cpu_s(layer.size_mib)
    return cpu, layer.size_mib * io.write_cost


def pull(env: simpy.Environment, pool: FluidPool, store: LayerStore, layers: tuple[Layer, ...],
         engine: EngineProfile, codecs: Mapping[str, CodecProfile],
         io: HostIo = HostIo()) -> simpy.Event | None:
    """Start pulling the ``layers`` the store lacks; None when all are present.

    The returned event succeeds when the image's last layer is unpacked.
    """
    if all(layer.digest in store.present for layer in layers):
        return None
    if store.downloads is None:
        store.downloads = simpy.Resource(env, capacity=engine.max_concurrent_downloads)
    parent: simpy.Event | None = None
    for layer in layers:
        if layer.digest in store.present:
            continue
        event = store.unpacked.get(layer.digest)
        if event is None:
            fetched = env.process(_download(env, pool, store.downloads, layer, io))
            event = store.unpacked[layer.digest] = env.process(
                _unpack(env, pool, store, layer, fetched, parent, engine,
                        codecs[layer.codec], io))
        parent = event
    return parent


def abort(pool: FluidPool, store: LayerStore) -> None:
    """The machine went down: every pull in flight stops, its work leaves the pool, and
    the layers it had not finished stay absent (a later pull starts them again)."""
    for digest, process in list(store.unpacked.items()):
        if process.is_alive:
            process.interrupt("machine down")
        if digest not in store.present:
            del store.unpacked[digest]


def _download(env: simpy.Environment, pool: FluidPool, slots: simpy.Resource,
              layer: Layer, io: HostIo) -> Generator[simpy.Event, Any, None]:
    activity = None
    try:
        with slots.request() as slot:
            yield slot
            if layer.compressed_mib > 0:
                activity = pool.start(io.row(0.0, 0.0, layer.compressed_mib))
                yield activity.done
    except simpy.Interrupt:
        if activity is not None and not activity.finished:
            pool.cancel(activity)


def _unpack(env: simpy.Environment, pool: FluidPool, store: LayerStore, layer: Layer,
            fetched: simpy.Process, parent: simpy.Event | None, engine: EngineProfile,
            codec: CodecProfile, io: HostIo) -> Generator[simpy.Event, Any, None]:
    activity = None
    try:
        yield fetched
        if parent is not None:
            yield parent  # layers apply on top of their parent, one at a time
        cpu, disk = layer_work(layer, engine, codec, io)
        if cpu > 0 or disk > 0:
            activity = pool.start(io.row(cpu, disk, 0.0),
                                  cap=1.0 / cpu if cpu > 0 else float("inf"))
            yield activity.done
    except simpy.Interrupt:
        if fetched.is_alive:
            fetched.interrupt("machine down")
        if activity is not None and not activity.finished:
            pool.cancel(activity)
        return
    store.present.add(layer.digest)
