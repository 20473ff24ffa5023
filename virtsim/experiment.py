"""Claim experiments: the contract between ``experiments/``, ``virtsim reproduce`` and the report.

An experiment is a module in ``experiments/`` (shipped in the wheel as
``virtsim/experiments``) named ``cNN_<topic>.py``. It tests one claim of the
seed text by running simulations through the public API and exposes::

    CLAIM = "C2"                      # the claim it tests (see virtsim.claims)
    TITLE = "Footprint: VMs are GB-scale, containers MB-scale"

    def run(size: Size, seed: int) -> Tables:
        '''Run the simulations; return tidy tables (name -> records).'''

    def figures() -> list[Figure]:
        '''The figures, each drawn from the tables only (never re-simulating).'''

    def findings(tables: Tables) -> Finding:
        '''The verdict, key numbers and calibration comparisons, computed from tables.'''

    if __name__ == "__main__":
        raise SystemExit(main_for(__name__))

``size`` scales the work: ``"tiny"`` for the test suite (a second or so),
``"quick"`` for ``virtsim reproduce --quick`` (all experiments together under
30 s on two cores) and ``"full"`` (all together under 5 minutes). The same
``seed`` and size must give byte-identical tables whatever the number of
workers: draw randomness only from the seed passed in (through scenarios'
``seed`` or :func:`virtsim.simulation.component_rng`-style derivation), never
from global state or the clock.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from virtsim.result import Record

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

Size = Literal["tiny", "quick", "full"]
SIZES: tuple[Size, ...] = ("tiny", "quick", "full")
Tables = dict[str, list[Record]]
Verdict = Literal["supported", "supported with nuance", "contradicted"]
VERDICTS: tuple[Verdict, ...] = ("supported", "supported with nuance", "contradicted")


@dataclass(frozen=True)
class Figure:
    """One figure of an experiment.

    Attributes:
        name: File stem, unique across experiments (``"c02-footprint"``).
        caption: What the figure shows and the mechanism behind it, in plain words.
        draw: Builds the matplotlib figure from the experiment's tables only.
    """

    name: str
    caption: str
    draw: Callable[[Mapping[str, list[Record]]], MplFigure]


@dataclass(frozen=True)
class Comparison:
    """A published measurement beside the simulated value of the same quantity.

    ``figure`` is the published figure's id (``"felter2014:linpack-kvm-tuned"``):
    when ``models/calibration.toml`` lists it, the figure set parameters and the
    row is a *calibration input* (it checks the plumbing); otherwise the row is
    *held out* (a prediction). See :func:`virtsim.calibration.role`.
    """

    measure: str
    published: float
    simulated: float
    unit: str
    source: str
    figure: str = ""


@dataclass(frozen=True)
class Finding:
    """What an experiment concludes about its claim, computed from its tables.

    Attributes:
        claim: The claim id (``"C2"``).
        verdict: One of :data:`VERDICTS`, decided by a rule over the results.
        reason: One or two sentences: why this verdict (the nuance, if any).
        key_numbers: Short labelled numbers (``"Ubuntu VM ready: 16.4 s"``).
        comparisons: Published against simulated values, where a measurement exists.
    """

    claim: str
    verdict: Verdict
    reason: str
    key_numbers: tuple[str, ...] = ()
    comparisons: tuple[Comparison, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


def experiments_dir() -> Path:
    """The folder of claim experiments: shipped in the wheel, or the source tree's."""
    here = Path(__file__).resolve().parent
    shipped = here / "experiments"
    return shipped if shipped.is_dir() else here.parent / "experiments"


def experiment_paths() -> list[Path]:
    """Every claim experiment module, in claim order."""
    return sorted(experiments_dir().glob("c[0-9][0-9]_*.py"))


def load_experiment(path: Path) -> ModuleType:
    """Import one experiment module from its file."""
    name = f"virtsim_experiment_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always loads
        raise ImportError(f"cannot load experiment {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main_for(module_name: str) -> int:
    """Run one experiment module as a script: ``python experiments/c02_footprint.py``.

    Accepts ``--size``, ``--seed`` and ``--out``; writes the experiment's
    CSVs, figures and a one-claim report through ``virtsim reproduce``'s
    machinery.
    """
    from virtsim.reproduce import run_single

    return run_single(sys.modules[module_name], sys.argv[1:])
