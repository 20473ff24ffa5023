"""``virtsim catalog`` as a reader sees it: one table per kind with the values that matter.

Each kind of profile shows a few key values in human units (cores and
memory of a host, the memory and mean start time of a VMM, the size of an
image) and a description cut to fit; ``--wide`` adds every other number and
the whole description. The values are read from the typed profiles, so the
table always shows what a simulation uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from virtsim.catalog import Catalog
from virtsim.profiles import Profile, Stage
from virtsim.summary import mebibytes, number, seconds, table

Column = tuple[str, Callable[[Any], str]]


def _stages_s(stages: Sequence[Stage]) -> str:
    """The mean time of a start procedure: its stages' means, added."""
    return seconds(sum(stage.wall_s.mean for stage in stages)) if stages else "-"


def _mib(value: float) -> str:
    return mebibytes(value) if value else "-"


def _gib(value: float) -> str:
    return mebibytes(value * 1024) if value else "-"


def _words(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "-"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


COLUMNS: dict[str, tuple[Column, ...]] = {
    "hosts": (("arch", lambda p: p.arch),
              ("cores", lambda p: f"{p.cores} (SMT {'on' if p.threads_per_core > 1 else 'off'})"),
              ("memory", lambda p: _gib(p.memory_gib)), ("disk", lambda p: _gib(p.disk_gib)),
              ("network", lambda p: f"{number(p.nic_gbps)} Gb/s"),
              ("boot", lambda p: _stages_s(p.boot))),
    "kernels": (("family", lambda p: p.family), ("version", lambda p: p.version),
                ("memory", lambda p: _mib(p.memory_mib)), ("boot", lambda p: _stages_s(p.boot))),
    "hypervisors": (("placement", lambda p: p.placement),
                    ("memory", lambda p: _mib(p.memory_mib)),
                    ("boot", lambda p: _stages_s(p.boot))),
    "vmms": (("microVM", lambda p: _yes(p.microvm)), ("memory", lambda p: _mib(p.memory_mib)),
             ("per vCPU", lambda p: _mib(p.memory_per_vcpu_mib)),
             ("start", lambda p: _stages_s(p.start))),
    "engines": (("daemon", lambda p: _yes(p.daemon)), ("memory", lambda p: _mib(p.memory_mib)),
                ("shim", lambda p: _mib(p.shim_memory_mib)),
                ("API call", lambda p: _stages_s(p.api))),
    "runtimes": (("isolation", lambda p: p.isolation), ("memory", lambda p: _mib(p.memory_mib)),
                 ("create", lambda p: _stages_s(p.create))),
    "images": (("os", lambda p: p.os), ("distribution", lambda p: p.distribution or "-"),
               ("size", lambda p: _mib(sum(layer.size_mib for layer in p.layers))),
               ("download", lambda p: _mib(sum(layer.compressed_mib for layer in p.layers))),
               ("packages", lambda p: number(p.packages))),
    "disk_images": (("os", lambda p: p.os), ("format", lambda p: p.format),
                    ("file", lambda p: _mib(p.file_mib)),
                    ("virtual", lambda p: _gib(p.virtual_gib)),
                    ("boot", lambda p: _stages_s(p.boot))),
    "workloads": (("mode", lambda p: p.mode), ("threads", lambda p: number(p.threads)),
                  ("memory", lambda p: _mib(p.memory_mib)),
                  ("CPU", lambda p: f"{number(p.cpu_core_s)} core-s")),
    "layer_costs": (("cpu", lambda p: number(p.cpu)),
                    ("disk random", lambda p: number(p.disk_random)),
                    ("network", lambda p: number(p.net_stream)),
                    ("round trip", lambda p: f"+{number(p.round_trip_us)} us")),
    "exploits": (("crosses", lambda p: p.crosses), ("CVSS", lambda p: number(p.cvss))),
    "platforms": (("hypervisor", lambda p: p.hypervisor or "-"),
                  ("engine", lambda p: p.engine or "-"),
                  ("VM memory", lambda p: f"{p.memory_fraction:.0%}" if p.hypervisor else "-")),
    "orchestrators": (("scope", lambda p: p.scope), ("manages", lambda p: _words(p.manages)),
                      ("node dead after", lambda p: seconds(p.node_failure_detection_s))),
    "failure_rates": (("component", lambda p: p.component),
                      ("per year", lambda p: number(p.per_year)),
                      ("repair", lambda p: seconds(p.repair_s.mean) if p.repair_s else "-")),
    "codecs": (("decompress", lambda p: f"{number(p.decompress_mibs_per_core)} MiB/s per core"),),
    "emulation": (("mode", lambda p: p.mode),
                  ("integer", lambda p: f"{number(p.integer)}x native time"),
                  ("floating point", lambda p: f"{number(p.float_factor)}x")),
    "clouds": (("placement", lambda p: _stages_s(p.placement)),
               ("network attach", lambda p: _stages_s(p.network_attach)),
               ("volume hydration", lambda p: f"{number(p.hydration_mibs)} MiB/s")),
    "kernel_costs": (("netns create", lambda p: seconds(p.netns_create_s)),
                     ("veth create", lambda p: seconds(p.veth_create_s)),
                     ("cgroup create", lambda p: seconds(p.cgroup_create_s))),
    "residency": (("page", lambda p: f"{number(p.page_kib)} KiB"),
                  ("balloon", lambda p: f"{number(p.balloon_mibs)} MiB/s")),
}
"""The key values shown for each kind of profile, in order; other kinds show name and
description (``--wide`` adds every value)."""

SKIPPED = {"name", "description", "sources"}


def _extra(profile: Profile) -> dict[str, str]:
    """Every other plain number or word of a profile, by field name (for ``--wide``)."""
    out = {}
    for field in type(profile).model_fields:
        value = getattr(profile, field)
        if field in SKIPPED or not isinstance(value, int | float | str) or value in ("", None):
            continue
        out[field] = number(value) if not isinstance(value, str) else value
    return out


def rows(catalog: Catalog, kind: str, wide: bool = False,
         description_chars: int = 60) -> list[dict[str, str]]:
    """One row of text cells per profile of ``kind``."""
    columns = COLUMNS.get(kind, ())
    out = []
    for name in catalog.names(kind):
        profile = catalog.profiles[kind][name]
        row = {"name": name}
        row.update({header: cell(profile) for header, cell in columns})
        if wide:
            shown = set(row)
            row.update({k: v for k, v in _extra(profile).items() if k not in shown})
        text = " ".join(profile.description.split())
        if not wide and len(text) > description_chars:
            text = text[:description_chars - 1].rsplit(" ", 1)[0] + "…"
        row["description"] = text
        out.append(row)
    keys = list(dict.fromkeys(k for r in out for k in r))
    return [{k: r.get(k, "-") for k in keys} for r in out]


def render(catalog: Catalog, kinds: Sequence[str], wide: bool = False,
           width: int = 120) -> str:
    """The tables of ``kinds``, each under its name, fitted to ``width`` unless ``wide``."""
    parts = []
    for kind in kinds:
        if not catalog.names(kind):
            continue
        cells = rows(catalog, kind, wide)
        if not wide:
            fixed = max(len(line) for line in table([{k: v for k, v in r.items()
                                                      if k != "description"} for r in cells]))
            cells = rows(catalog, kind, wide, description_chars=max(20, width - fixed - 2))
        parts.append(f"{kind}: {len(cells)} profile{'s' if len(cells) != 1 else ''}")
        parts += table(cells)
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"
