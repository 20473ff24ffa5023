"""Technology colours: one colour, marker and line style per technology, in every figure.

A VM is always the same blue, a container always the same orange, in every
figure and in the report's legend; no other meaning (a layer, a stage, an
outcome) uses these colours (those are in :mod:`virtsim.layer_palette`).

The colours are Okabe and Ito's palette for colour-blind readers, extended
with colours of Paul Tol's and chosen so that every pair stays apart
(CIE76 distance of at least :data:`MIN_DISTANCE`) for normal vision and as
seen with deuteranopia or protanopia, simulated with the matrices of
Machado, Oliveira and Fernandes (2009). Each technology also has its own
marker and line style, so series never depend on colour alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np

TECHNOLOGY_COLOURS: dict[str, str] = {
    "native": "#000000",
    "vm": "#0072B2",
    "microvm": "#56B4E9",
    "container": "#E69F00",
    "gvisor": "#CC79A7",
    "kata": "#009E73",
    "container-in-vm": "#FFB6C1",
    "desktop": "#D55E00",
    "emulated": "#882255",
    "windows-container": "#DDCC77",
    "scratch": "#332288",
    "alpine": "#661100",
    "distro": "#785EF0",
    "minimal": "#B6DBFF",
}
"""One colour per technology (and per image family in C2, C13 and C14)."""

TECHNOLOGY_LABELS: dict[str, str] = {
    "native": "native process",
    "vm": "VM (KVM/QEMU)",
    "microvm": "microVM (Firecracker)",
    "container": "container (runc)",
    "gvisor": "gVisor (runsc)",
    "kata": "Kata container",
    "container-in-vm": "containers in node VMs",
    "desktop": "Docker Desktop (Linux VM)",
    "emulated": "emulated (qemu-user)",
    "windows-container": "Windows container",
    "scratch": "scratch image",
    "alpine": "alpine image",
    "distro": "full distribution image",
    "minimal": "other minimal image",
}
"""The legend label of each technology."""

TECHNOLOGY_MARKERS: dict[str, str] = {
    "native": "X", "vm": "o", "microvm": "v", "container": "s", "gvisor": "P", "kata": "D",
    "container-in-vm": "H",
    "desktop": "h", "emulated": "*", "windows-container": "d", "scratch": "^", "alpine": "<",
    "distro": ">", "minimal": "p",
}
"""One marker per technology: a series is told apart in grey print too."""

UNKNOWN = "#999999"
"""The colour of anything that is not a technology of the palette."""

MIN_DISTANCE = 15.0
"""Least CIE76 distance between two technology colours, for any vision simulated."""


def colour(technology: str) -> str:
    """The technology's colour (grey for anything unnamed)."""
    return TECHNOLOGY_COLOURS.get(technology, UNKNOWN)


def label(technology: str) -> str:
    """The technology's legend label."""
    return TECHNOLOGY_LABELS.get(technology, technology)


def marker(technology: str) -> str:
    """The technology's marker."""
    return TECHNOLOGY_MARKERS.get(technology, "o")


# -- colour-vision deficiency --------------------------------------------------

DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968],
                         [0.280085, 0.672501, 0.047413],
                         [-0.011820, 0.042940, 0.968881]])
"""Machado et al. (2009), severity 1.0, on linear RGB."""

PROTANOPIA = np.array([[0.152286, 1.052583, -0.204868],
                       [0.114503, 0.786281, 0.099216],
                       [-0.003882, -0.048116, 1.051998]])
"""Machado et al. (2009), severity 1.0, on linear RGB."""


def rgb(hex_colour: str) -> np.ndarray:
    """``"#0072B2"`` -> sRGB in 0..1."""
    text = hex_colour.lstrip("#")
    return np.array([int(text[i:i + 2], 16) / 255 for i in (0, 2, 4)])


def _linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _gamma(linear: np.ndarray) -> np.ndarray:
    clipped: np.ndarray = np.clip(linear, 0.0, 1.0)
    return np.where(clipped <= 0.0031308, 12.92 * clipped, 1.055 * clipped ** (1 / 2.4) - 0.055)


def simulate(hex_colour: str, deficiency: np.ndarray) -> np.ndarray:
    """The sRGB colour as seen with a colour-vision deficiency (a Machado matrix)."""
    seen: np.ndarray = _gamma(deficiency @ _linear(rgb(hex_colour)))
    return seen


def lab(srgb: np.ndarray) -> np.ndarray:
    """sRGB (0..1) -> CIELAB under D65."""
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                       [0.0193, 0.1192, 0.9505]])
    xyz = to_xyz @ _linear(srgb) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """CIE76 colour difference of two sRGB colours."""
    return float(np.linalg.norm(lab(a) - lab(b)))


def closest_pair(colours: dict[str, str],
                 deficiency: np.ndarray | None = None) -> tuple[float, str, str]:
    """The two colours that look most alike (distance, name, name), optionally simulated."""
    def seen(hex_colour: str) -> np.ndarray:
        return rgb(hex_colour) if deficiency is None else simulate(hex_colour, deficiency)

    pairs: Iterable[tuple[tuple[str, str], tuple[str, str]]] = itertools.combinations(
        colours.items(), 2)
    return min((distance(seen(a), seen(b)), name_a, name_b)
               for (name_a, a), (name_b, b) in pairs)
