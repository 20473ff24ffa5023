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
        '''The claim's statements with their verdicts, key numbers and comparisons.'''

    if __name__ == "__main__":  # main_for comes from virtsim.reproduce
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
from collections.abc import Callable, Iterable, Mapping
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
Verdict = Literal["supported", "partly supported", "contradicted"]
VERDICTS: tuple[Verdict, ...] = ("supported", "partly supported", "contradicted")
"""A statement holds in every case tested, in some, or in none."""


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
    simulated_by: str = ""
    """Which run gave ``simulated``: empty for the experiment's own, or the validation
    case that predicts the same figure (one value per figure in a report)."""


@dataclass(frozen=True)
class Statement:
    """One atomic statement of a claim, with the verdict the results give it.

    Attributes:
        text: The statement as the seed makes it, in plain words
            (``"A container adds megabytes per instance"``).
        verdict: One of :data:`VERDICTS`, decided by a rule over the results.
        reason: Why, with the numbers that decided it.
    """

    text: str
    verdict: Verdict
    reason: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


def overall(verdicts: Iterable[Verdict]) -> Verdict:
    """A claim's verdict from its statements': all alike gives that, a mix "partly supported"."""
    seen = set(verdicts)
    if not seen:
        raise ValueError("a claim needs at least one statement")
    return seen.pop() if len(seen) == 1 else "partly supported"


def over_cases(text: str, cases: Mapping[str, bool], because: str = "") -> Statement:
    """A statement tested case by case: every case holds, some do, or none does.

    ``cases`` maps a short description of each case (``"ubuntu-24.04-cloud:
    583 MiB"``) to whether the statement holds for it; the reason lists
    both sides. ``because`` is added to the reason (the mechanism).
    """
    if not cases:
        raise ValueError(f"no case to test {text!r} on")
    holds = [case for case, ok in cases.items() if ok]
    fails = [case for case, ok in cases.items() if not ok]
    verdict: Verdict = ("supported" if not fails else
                        "contradicted" if not holds else "partly supported")
    parts = []
    if holds:
        parts.append(f"holds for {'; '.join(holds)}")
    if fails:
        parts.append(f"{'but ' if holds else ''}not for {'; '.join(fails)}")
    reason = ", ".join(parts)
    reason = reason[0].upper() + reason[1:] + "."
    return Statement(text, verdict, f"{reason} {because}".strip())


def graded(text: str, value: float, strong: float, weak: float, reason: str) -> Statement:
    """A statement of degree: ``value`` at least ``strong`` supports it, above ``weak`` partly.

    For "much faster" or "much larger" the value is a ratio (``strong`` 10,
    ``weak`` 1: ten times supports, any gain partly, none contradicts).
    """
    if not weak < strong:
        raise ValueError(f"weak ({weak}) must be below strong ({strong})")
    verdict: Verdict = ("supported" if value >= strong else
                        "partly supported" if value > weak else "contradicted")
    return Statement(text, verdict, reason)


@dataclass(frozen=True)
class Finding:
    """What an experiment concludes about its claim, computed from its tables.

    Attributes:
        claim: The claim id (``"C2"``).
        statements: The claim's atomic statements, each with its own verdict.
        key_numbers: Short labelled numbers (``"Ubuntu VM ready: 16.4 s"``).
        comparisons: Published against simulated values, where a measurement exists.
    """

    claim: str
    statements: tuple[Statement, ...]
    key_numbers: tuple[str, ...] = ()
    comparisons: tuple[Comparison, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.statements:
            raise ValueError(f"{self.claim}: a finding needs at least one statement")

    @property
    def verdict(self) -> Verdict:
        """The claim's verdict: its statements' if they agree, else "partly supported"."""
        return overall(s.verdict for s in self.statements)

    @property
    def reason(self) -> str:
        """Each statement with its verdict and reason, in one paragraph."""
        return " ".join(f"{s.text} ({s.verdict}): {s.reason}" for s in self.statements)


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
