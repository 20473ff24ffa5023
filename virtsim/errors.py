"""Input errors: the one kind of failure a user can fix by editing a file or a flag.

Every check at the edge (scenario files, catalogue profiles, command-line
flags) raises :class:`InputError`. It carries the file, the key (a dotted
path such as ``hosts[0].vms[1].memory_mib``), the line where the parser
gives one, what was expected and what was found, and prints as one line.
The command line turns it into exit status 2 without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(eq=False)  # not frozen: Python sets __traceback__ on an exception as it propagates
class InputError(Exception):
    """A problem in user input, described well enough to fix it.

    Attributes:
        file: The file the problem is in, or a description such as ``"--seed"``.
        key: Dotted path of the offending key, empty when the whole file is wrong.
        expected: What a valid value would be.
        found: What was actually there.
        line: 1-based line number when the parser reports one.
    """

    file: str
    key: str
    expected: str
    found: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" key '{self.key}':" if self.key else ""
        return f"{where}:{key} expected {self.expected}, found {self.found}"


def display_path(path: Path | str) -> str:
    """Return a path as the user typed it, or relative to the cwd when shorter."""
    text = str(path)
    try:
        relative = str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return text
    return relative if len(relative) < len(text) else text
