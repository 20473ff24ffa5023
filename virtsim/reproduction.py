"""What a ``virtsim reproduce`` run produced: figures, each experiment's outcome, the run.

Plain records shared by the runner (:mod:`virtsim.reproduce`) and the report
writer (:mod:`virtsim.report`), so neither imports the other to name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from virtsim.claims import CLAIM_IDS
from virtsim.experiment import Finding, Size

if TYPE_CHECKING:
    from virtsim.calibration import RoundTrip
    from virtsim.validation import Validation


@dataclass(frozen=True)
class FigureFile:
    """A figure written to disk: paths relative to the output folder."""

    name: str
    caption: str
    png: str
    svg: str


@dataclass(frozen=True)
class ExperimentOutcome:
    """What one experiment produced (or why it failed)."""

    experiment: str
    claim: str
    title: str
    seed: int
    finding: Finding | None = None
    figures: tuple[FigureFile, ...] = ()
    tables: tuple[str, ...] = ()
    error: str = ""
    elapsed_s: float = 0.0

    @property
    def failed(self) -> bool:
        """True when the experiment raised instead of reaching a finding."""
        return bool(self.error)


@dataclass
class Reproduction:
    """The outcome of a whole ``reproduce`` run."""

    out: Path
    size: Size
    seed: int
    outcomes: list[ExperimentOutcome] = field(default_factory=list)
    stacks: list[FigureFile] = field(default_factory=list)
    claim_ids: tuple[str, ...] = CLAIM_IDS
    elapsed_s: float = 0.0
    validation: Validation | None = None
    round_trips: list[RoundTrip] = field(default_factory=list)
    validation_figure: FigureFile | None = None

    @property
    def failed(self) -> list[ExperimentOutcome]:
        """The experiments that raised."""
        return [o for o in self.outcomes if o.failed]

    @property
    def report_html(self) -> Path:
        """The self-contained HTML report."""
        return self.out / "report.html"

    @property
    def report_md(self) -> Path:
        """The Markdown report."""
        return self.out / "report.md"
