"""Colours of layers, stages and outcomes: greys, hatches and words, never a technology's hue.

Technologies own the hues (:mod:`virtsim.palette`). Everything else a
figure colours, the layers of a stack diagram, the stages of a start, the
outcome of a run, is drawn in greys, from the machine (darkest, at the
bottom of a stack) to the process (lightest, at the top), with hatching
where two stages or outcomes need telling apart, and always with its name
written on or beside it. A grey reads the same to every eye, so these need no
colour-blind check beyond staying clear of the technology colours.
"""

from __future__ import annotations

from dataclasses import dataclass

LAYER_COLOURS: dict[str, str] = {
    "machine": "#2b2b2b",
    "kernel": "#474747",
    "hypervisor": "#5e5e5e",
    "vmm": "#767676",
    "vm": "#8f8f8f",
    "runtime": "#a8a8a8",
    "container": "#c4c4c4",
    "process": "#e0e0e0",
}
"""One grey per node kind of the resource graph, darker the nearer the machine."""

def layer_colour(kind: str) -> str:
    """The grey of a node kind (a mid grey for anything unnamed)."""
    return LAYER_COLOURS.get(kind, "#9a9a9a")


def text_colour(background: str) -> str:
    """Black or white, whichever reads on ``background``."""
    text = background.lstrip("#")
    luminance = sum(w * int(text[i:i + 2], 16) for w, i in ((0.299, 0), (0.587, 2), (0.114, 4)))
    return "black" if luminance > 140 else "white"


@dataclass(frozen=True)
class Style:
    """How one stage or outcome is filled: a grey, a hatch, and the words of its legend."""

    face: str
    hatch: str
    label: str


STAGE_STYLES: dict[str, Style] = {
    "vmm": Style(LAYER_COLOURS["vmm"], "", "VMM + firmware"),
    "kernel": Style(LAYER_COLOURS["kernel"], "", "guest kernel"),
    "disk-image": Style(LAYER_COLOURS["process"], "", "bootloader, guest user space"),
    "engine": Style("#ffffff", "//", "engine (daemon, pull)"),
    "runtime": Style(LAYER_COLOURS["runtime"], "\\\\", "OCI runtime"),
    "kernel-objects": Style(LAYER_COLOURS["hypervisor"], "..",
                            "kernel objects (cgroup, namespaces, veth, NAT rules)"),
    "sandbox-vmm": Style(LAYER_COLOURS["vmm"], "xx", "sandbox VMM"),
    "sandbox-kernel": Style(LAYER_COLOURS["kernel"], "xx", "sandbox kernel"),
    "app": Style("#ffffff", "..", "application"),
    "after-ready": Style("#ffffff", "", "after ready (exit, cleanup)"),
}
"""The stages of a start (C3's timeline), by the layer that owns them."""

OUTCOME_STYLES: dict[str, Style] = {
    "native": Style("#f2f2f2", "", "runs"),
    "vm": Style("#c8c8c8", "", "runs in a VM the platform adds"),
    "emulated": Style("#c8c8c8", "..", "runs emulated"),
    "needs-vm": Style("#7a7a7a", "//", "needs a VM"),
    "impossible": Style("#333333", "", "refused"),
}
"""What happens to an image on a kernel: runs (light) to refused (dark), with words."""

MECHANISM_STYLES: dict[str, Style] = {
    "cpu": Style("#474747", "", "CPU work (incl. emulation, exec)"),
    "syscalls": Style("#8f8f8f", "//", "system calls and faults"),
    "io": Style("#c4c4c4", "..", "disk I/O and flushes"),
    "network": Style("#ffffff", "xx", "network (packets, round trips)"),
}
"""Where a request's time goes (C4, C6), stacked: dark for CPU to white for the network."""

NEUTRAL_FACES: tuple[str, ...] = ("#333333", "#7a7a7a", "#bdbdbd", "#ffffff")
NEUTRAL_HATCHES: tuple[str, ...] = ("", "//", "..", "xx", "\\\\", "oo")


def neutral_styles(count: int) -> list[tuple[str, str]]:
    """``count`` fills told apart by grey and hatch (up to 24), for categories that are not
    technologies (the mechanisms of a start storm): darkest plain first (up to 24)."""
    combos = [(face, hatch) for hatch in NEUTRAL_HATCHES for face in NEUTRAL_FACES]
    if count > len(combos):
        raise ValueError(f"at most {len(combos)} neutral styles, {count} asked")
    return combos[:count]
