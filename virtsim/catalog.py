"""The catalogue: calibrated profiles read from ``models/`` folders.

The shipped catalogue lives in the package (``virtsim/models`` when
installed, ``models/`` in a source checkout). Users add folders of their own
with the same layout (``hosts/``, ``kernels/``, ...); a profile in a later
folder replaces a shipped one of the same kind and name. Every file is read
through :mod:`virtsim.datafile`, so a bad profile fails like a bad scenario.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from virtsim.datafile import read_toml, validate
from virtsim.errors import InputError, display_path
from virtsim.profiles import PROFILE_KINDS, Profile

P = TypeVar("P", bound=Profile)

USER_MODELS_ENV = "VIRTSIM_MODELS"
"""Environment variable naming extra profile folders, separated like PATH."""


def shipped_models_dir() -> Path:
    """The catalogue folder that ships with virtsim."""
    installed = Path(str(resources.files("virtsim"))) / "models"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True)
class Catalog:
    """Profiles by kind and name, with the file each came from."""

    profiles: Mapping[str, Mapping[str, Profile]]
    files: Mapping[tuple[str, str], Path] = field(default_factory=dict)

    def get(self, kind: str, name: str) -> Profile | None:
        """The profile of ``kind`` called ``name``, or None."""
        return self.profiles.get(kind, {}).get(name)

    def require(self, cls: type[P], name: str) -> P:
        """The profile of ``cls``'s kind called ``name``; KeyError if absent."""
        profile = self.profiles.get(cls.kind, {}).get(name)
        if not isinstance(profile, cls):
            raise KeyError(f"no {cls.kind} profile named {name!r}")
        return profile

    def names(self, kind: str) -> list[str]:
        """Sorted names of the profiles of one kind."""
        return sorted(self.profiles.get(kind, {}))

    def kinds(self) -> list[str]:
        """Every kind the catalogue knows, in a stable order."""
        return list(PROFILE_KINDS)

    def expected_name(self, kind: str, name: str) -> str:
        """What an error about an unknown ``kind`` profile ``name`` says was expected.

        The closest names first ("did you mean"), then every name when they
        are few, or where to list them when they are many: never a list cut
        off in the middle.
        """
        return expected_one_of(f"a profile name from {kind}", self.names(kind), name,
                               f"virtsim catalog {kind}")

    def __iter__(self) -> Iterator[Profile]:
        for kind in self.kinds():
            yield from (self.profiles.get(kind, {})[n] for n in self.names(kind))


LISTED_NAMES = 16
"""Up to this many names are listed in an error; beyond, the error says how to list them."""


def expected_one_of(what: str, names: Sequence[str], found: str, listing: str) -> str:
    """``what`` with the nearest of ``names`` to ``found`` and all names or how to list them."""
    close = difflib.get_close_matches(found, names, n=3, cutoff=0.6)
    close += [n for n in names if found and found.lower() in n.lower() and n not in close][:3]
    hint = f"did you mean {' or '.join(repr(n) for n in close[:3])}? " if close else ""
    if len(names) <= LISTED_NAMES:
        return f"{what} ({hint}one of {', '.join(names)})"
    return f"{what} ({hint}{len(names)} names; `{listing}` lists them)"


def load_catalog(extra_dirs: Iterable[Path | str] = ()) -> Catalog:
    """Load the shipped catalogue plus user folders (and ``$VIRTSIM_MODELS``).

    Raises:
        InputError: A profile file is malformed, or a folder does not exist.
    """
    env_dirs = [d for d in os.environ.get(USER_MODELS_ENV, "").split(os.pathsep) if d]
    dirs = (shipped_models_dir(), *map(Path, extra_dirs), *map(Path, env_dirs))
    return _load(tuple(d.resolve() if d.exists() else d for d in dirs))


@cache
def _load(dirs: tuple[Path, ...]) -> Catalog:
    profiles: dict[str, dict[str, Profile]] = {kind: {} for kind in PROFILE_KINDS}
    files: dict[tuple[str, str], Path] = {}
    for index, folder in enumerate(dirs):
        if not folder.is_dir():
            raise InputError(display_path(folder), "", "a folder of profiles", "no such folder")
        for kind, path in _profile_files(folder, strict=index > 0):
            profile = load_profile(kind, path)
            profiles[kind][profile.name] = profile
            files[(kind, profile.name)] = path
    return Catalog(profiles, files)


def _profile_files(folder: Path, strict: bool) -> Iterator[tuple[str, Path]]:
    subfolders = (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    for sub in sorted(subfolders):
        if sub.name not in PROFILE_KINDS:
            if strict:
                raise InputError(
                    display_path(sub), "", f"a folder named one of {', '.join(PROFILE_KINDS)}",
                    f"'{sub.name}'",
                )
            continue
        for path in sorted(sub.glob("*.toml")):
            yield sub.name, path


def load_profile(kind: str, path: Path) -> Profile:
    """Read and validate one profile file of ``kind``; its name is the file's stem."""
    data, text = read_toml(path)
    if "name" in data and data["name"] != path.stem:
        raise InputError(display_path(path), "name", f"'{path.stem}' (the file name)",
                         f"'{data['name']}'")
    data = {**data, "name": path.stem}
    return validate(PROFILE_KINDS[kind], data, display_path(path), text)


def unsourced_keys(data: Mapping[str, Any]) -> list[str]:
    """Numeric keys of a raw profile table that have no entry in its ``sources``.

    Stage tables and list items carry their own ``source``; nested tables are
    checked key by key with a dotted name (``sandbox.memory_mib``).
    """
    sources = data.get("sources", {})
    missing: list[str] = []

    def walk(table: Mapping[str, Any], prefix: str) -> None:
        for key, value in table.items():
            dotted = f"{prefix}{key}"
            if key == "sources":
                continue
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float) and dotted not in sources and key not in sources:
                missing.append(dotted)
            elif isinstance(value, Mapping):
                if "dist" in value:
                    if dotted not in sources and key not in sources:
                        missing.append(dotted)
                else:
                    walk(value, f"{dotted}.")
            elif isinstance(value, list) and dotted not in sources and key not in sources:
                for item in value:
                    if isinstance(item, Mapping) and "source" not in item:
                        walk(item, f"{dotted}.")

    walk(data, "")
    return missing
