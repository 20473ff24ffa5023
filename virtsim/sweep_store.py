"""A sweep's output folder: one file per finished run, written so that a kill loses nothing.

Layout::

    OUT/sweep.json             the sweep's name and fingerprint (what --resume checks)
    OUT/runs/<point>-r<k>.json one file per finished run (its measures, or its error)
    OUT/runs.csv, groups.csv, summary.csv, failures.csv    the tables (virtsim.sweep_summary)
    OUT/figure.png, figure.svg the default figure (virtsim.sweep_figure)

A run's file is written to a temporary name in the same folder, flushed
to disk, then renamed over its final name: a rename is atomic, so after a
``kill -9`` at any moment a run's file is either whole or absent, and a
leftover temporary file is removed on resume. The tables are rebuilt from
the run files at the end of every invocation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from virtsim.errors import InputError, display_path
from virtsim.sweep_design import Sweep
from virtsim.sweep_summary import RunOutcome

MANIFEST = "sweep.json"
RUNS = "runs"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that it is either whole or absent after any crash."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


class RunStore:
    """The finished runs of one sweep in one folder."""

    def __init__(self, out: Path, sweep: Sweep) -> None:
        self.out = out
        self.sweep = sweep
        self.folder = out / RUNS

    def open(self, resume: bool) -> dict[str, RunOutcome]:
        """Prepare the folder; return the runs already finished (none unless resuming).

        Raises:
            InputError: The folder is a file, holds another sweep, or holds
                runs of this one and ``resume`` is false.
        """
        if self.out.exists() and not self.out.is_dir():
            raise InputError("--out", "", "a folder (existing or new)",
                             f"the file {display_path(self.out)}")
        manifest = self.out / MANIFEST
        if manifest.exists():
            self._check_manifest(manifest, resume)
        self.folder.mkdir(parents=True, exist_ok=True)
        for leftover in self.folder.glob(".*.tmp"):  # a write cut short by a kill
            leftover.unlink(missing_ok=True)
        write_atomically(manifest, json.dumps({
            "name": self.sweep.name, "file": self.sweep.file,
            "fingerprint": self.sweep.fingerprint, "points": len(self.sweep.points),
            "replications": self.sweep.replications, "runs": len(self.sweep.runs)},
            indent=1, sort_keys=True) + "\n")
        return self.finished() if resume else {}

    def _check_manifest(self, manifest: Path, resume: bool) -> None:
        try:
            earlier = json.loads(manifest.read_text(encoding="utf-8"))
            fingerprint = str(earlier["fingerprint"])
        except (OSError, ValueError, KeyError, TypeError):
            fingerprint = ""
        where = display_path(self.out)
        if fingerprint != self.sweep.fingerprint:
            raise InputError("--out", "", "a new folder, or one holding this same sweep",
                             f"{where} holding a different sweep (another file, base scenario "
                             "or version): choose another --out")
        done = len(self.finished())
        if not resume and done:
            raise InputError("--out", "", "a new folder, or --resume to continue the sweep "
                             "there", f"{where} with {done} of {len(self.sweep.runs)} runs "
                             "of this sweep done")

    def finished(self) -> dict[str, RunOutcome]:
        """Every run of this sweep whose file is whole, by run key."""
        wanted = {run.key for run in self.sweep.runs}
        found: dict[str, RunOutcome] = {}
        if not self.folder.is_dir():
            return found
        for path in sorted(self.folder.glob("*.json")):
            if path.stem not in wanted:
                continue
            try:
                outcome = RunOutcome.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not whole (it cannot be, being renamed in whole): run it again
            found[outcome.key] = outcome
        return found

    def save(self, outcome: RunOutcome) -> None:
        """Write one finished run's file, atomically."""
        write_atomically(self.folder / f"{outcome.key}.json",
                         json.dumps(outcome.to_json()) + "\n")
