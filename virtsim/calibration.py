"""Calibration: the published figures that set the catalogue's parameters, and their round trip.

``models/calibration.toml`` lists every published figure the catalogue was
built from, one ``[[figure]]`` each: its id (``<publication>:<figure>``),
citation, where in the publication, the value, which parameters it set
(``sets``, as ``kind/profile.key``) and how it comes back out:

- ``parameters``: the catalogue keys whose sum (times ``scale``) is the
  figure, for a figure that is itself a parameter (a default, a size); a
  term ``a*b`` multiplies keys or numbers (a count by a cost each, a unit change);
- or ``[figure.measure]`` (with an optional scenario and ``[figure.per]``,
  as a validation case's): the simulated quantity that must reproduce it.

A calibration figure must come back within :data:`ROUND_TRIP_TOLERANCE`;
the suite checks each. A figure that sets a parameter is never a
validation case (``validation/``): :func:`overlap` finds any figure id that
is both, and the suite keeps it empty.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from virtsim.catalog import Catalog, load_catalog, shipped_models_dir
from virtsim.datafile import read_toml
from virtsim.datafile import validate as validate_data
from virtsim.errors import InputError, display_path
from virtsim.validation import Case, Measured, Runner, measure

ROUND_TRIP_TOLERANCE = 0.05
"""A calibration figure must come back within 5%."""

REGISTRY = "calibration.toml"
"""The registry's file name inside the catalogue folder."""

FIGURE_ID = r"^[a-z0-9.-]+:[a-z0-9.-]+$"


class CalibrationFigure(Measured):
    """One published figure that set parameters (see the module docs)."""

    id: str = Field(pattern=FIGURE_ID)
    citation: str = Field(min_length=10)
    where: str = Field(min_length=3)
    sets: tuple[str, ...] = Field(min_length=1)
    parameters: tuple[str, ...] = ()
    note: str = ""

    @model_validator(mode="after")
    def _one_round_trip(self) -> CalibrationFigure:
        if bool(self.parameters) == (self.measure is not None):
            raise ValueError("exactly one of 'parameters' or a [measure] table")
        return self

    @property
    def publication(self) -> str:
        """The publication part of the id."""
        return self.id.split(":", 1)[0]


@dataclass(frozen=True)
class RoundTrip:
    """One calibration figure beside the value the model gives back."""

    figure: CalibrationFigure
    simulated: float | None
    error: str = ""

    @property
    def ratio(self) -> float | None:
        """Simulated over published."""
        if self.simulated is None or not math.isfinite(self.simulated):
            return None
        return self.simulated / self.figure.published

    @property
    def within(self) -> bool:
        """True when it comes back within :data:`ROUND_TRIP_TOLERANCE`."""
        return self.ratio is not None and abs(self.ratio - 1.0) <= ROUND_TRIP_TOLERANCE


def registry_path(models: Path | None = None) -> Path:
    """The registry file of a catalogue folder (default: the shipped one)."""
    return (models or shipped_models_dir()) / REGISTRY


@cache
def load_figures(path: Path | None = None) -> tuple[CalibrationFigure, ...]:
    """Every calibration figure of the registry, in file order."""
    path = path or registry_path()
    data, text = read_toml(path)
    items = data.get("figure", [])
    if not isinstance(items, list):
        raise InputError(display_path(path), "figure", "an array of tables [[figure]]",
                         type(items).__name__)
    figures = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        figure = validate_data(CalibrationFigure, item,
                               f"{display_path(path)} figure[{index}]", text)
        if figure.id in seen:
            raise InputError(display_path(path), f"figure[{index}].id",
                             "ids unique in the registry", f"'{figure.id}' twice")
        seen.add(figure.id)
        figures.append(figure)
    return tuple(figures)


def calibration_ids(figures: Iterable[CalibrationFigure] | None = None) -> frozenset[str]:
    """The ids of every calibration figure."""
    return frozenset(f.id for f in (load_figures() if figures is None else figures))


CALIBRATION_INPUT = "calibration input"
HELD_OUT = "held out"


def role(figure: str, figures: Iterable[CalibrationFigure] | None = None) -> str:
    """``"calibration input"`` when the figure set parameters, else ``"held out"``."""
    return CALIBRATION_INPUT if figure and figure in calibration_ids(figures) else HELD_OUT


def overlap(figures: Iterable[CalibrationFigure], cases: Iterable[Case]) -> list[str]:
    """Figure ids that are both a calibration input and a validation case (must be none)."""
    calibration = {f.id for f in figures}
    return sorted(c.source.figure for c in cases if c.source.figure in calibration)


# -- parameters ------------------------------------------------------------------

_KEY = re.compile(r"^(?P<kind>[a-z_]+)/(?P<name>[A-Za-z0-9_.-]+?)\.(?P<key>[A-Za-z_].*)$")
_PART = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_]*)(\[(?P<pick>[^\]]+)\])?$")


def parameter_value(path: str, models: Path | None = None) -> Any:
    """The raw value of one catalogue key, ``kind/profile.key.sub[stage].field``.

    A ``[name]`` picks the item of a list of tables by its ``name`` (or an
    index); the profile file is read as written, so this is the number in
    the catalogue, not one derived from it.

    Raises:
        KeyError: No such profile or key.
    """
    match = _KEY.match(path)
    if match is None:
        raise KeyError(f"'{path}' is not kind/profile.key")
    file = (models or shipped_models_dir()) / match["kind"] / f"{match['name']}.toml"
    if not file.is_file():
        raise KeyError(f"no profile {match['kind']}/{match['name']}")
    node: Any = tomllib.loads(file.read_text(encoding="utf-8"))
    for part in match["key"].split("."):
        piece = _PART.match(part)
        if piece is None or not isinstance(node, dict) or piece["field"] not in node:
            raise KeyError(f"no key '{match['key']}' in {match['kind']}/{match['name']}")
        node = node[piece["field"]]
        if piece["pick"] is not None:
            node = _pick(node, piece["pick"], path)
    return node


def _pick(items: Any, pick: str, path: str) -> Any:
    if not isinstance(items, list):
        raise KeyError(f"'{path}': not a list to pick '{pick}' from")
    if pick.isdigit() and int(pick) < len(items):
        return items[int(pick)]
    for item in items:
        if isinstance(item, dict) and item.get("name") == pick:
            return item
    raise KeyError(f"'{path}': no item named '{pick}'")


def _term(term: str, folder: Path) -> float:
    """One term of a parameter sum: a key, or keys and numbers multiplied (``0.001*a.x``)."""
    return math.prod(_factor(part.strip(), folder) for part in term.split("*"))


def _factor(part: str, folder: Path) -> float:
    try:
        return float(part)
    except ValueError:
        return float(parameter_value(part, folder))


# -- the round trip ----------------------------------------------------------------

def round_trip(figures: Sequence[CalibrationFigure], seed: int = 2024,
               catalog: Catalog | None = None, models: Path | None = None) -> list[RoundTrip]:
    """Each figure beside what the catalogue (or a run of it) gives back; never raises."""
    folder = models or shipped_models_dir()
    runner = Runner(catalog or load_catalog(), seed, "full")
    out = []
    for figure in figures:
        try:
            if figure.parameters:
                value = figure.scale * math.fsum(_term(p, folder) for p in figure.parameters)
            else:
                value = measure(figure, runner, folder)
            out.append(RoundTrip(figure, value))
        except Exception as exc:  # reported in the row, like a validation case
            out.append(RoundTrip(figure, None, f"{type(exc).__name__}: {exc}"))
    return out
