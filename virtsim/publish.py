"""Publishing a result folder whole: staged beside it, swapped in at once, with a manifest.

``virtsim reproduce`` and the ``--out`` of ``run``, ``validate`` and ``plan``
never write into the folder a user reads (:func:`publish_to`). They write
into a staging folder beside it (``.NAME.virtsim-staging-PID-TOKEN``),
finish with ``manifest.json`` (the command, seed, virtsim version, and every
file with its size and SHA-256), and then swap the staging folder in with
two renames. A reader sees the previous complete result or the new complete
one, never a report of one seed beside tables of another, and no symlink
planted in the output folder is ever written through (nothing is written
into it).

A run killed before the swap leaves only its staging folder; the next run
to the same place removes it once its owner's process is gone. A run
killed between the two renames leaves the previous result under
``.NAME.virtsim-old-PID-TOKEN``; the next run puts it back first.

An existing output folder is replaced only if it is empty or virtsim
published it (it holds ``manifest.json``): pointing ``--out`` at a folder
of one's own files is refused, never emptied.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from virtsim import __version__
from virtsim.errors import InputError, display_path

MANIFEST = "manifest.json"
"""The file that lists what a published folder holds."""

_OWNED = re.compile(r"^\.(?P<name>.+)\.virtsim-(?P<role>staging|old)-(?P<pid>\d+)-[0-9a-f]+$")


def check_output_folder(out: Path, flag: str = "--out") -> None:
    """Refuse an output path that cannot be replaced whole, safely.

    Raises:
        InputError: ``out`` is a symlink, a file, or a folder of files virtsim did
            not publish.
    """
    if out.is_symlink():
        raise InputError(flag, "", "a real folder (results are never written through a "
                         "symlink)", f"the symlink {display_path(out)}")
    if out.exists() and not out.is_dir():
        raise InputError(flag, "", "a folder (existing or new)", f"the file {display_path(out)}")
    if out.is_dir() and not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise InputError(flag, "", f"a new or empty folder, or one virtsim wrote (it holds "
                         f"{MANIFEST}); it is replaced whole", f"{display_path(out)}, a folder "
                         "of other files")


def owner_alive(pid: int) -> bool:
    """Whether process ``pid`` still exists."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def clean_stale(out: Path) -> list[Path]:
    """Remove what killed runs left beside ``out``; put back a result lost mid-swap.

    Returns:
        The paths removed or restored.
    """
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        return []
    touched = []
    for entry in sorted(parent.iterdir()):
        match = _OWNED.match(entry.name)
        if (match is None or match["name"] != out.name or entry.is_symlink()
                or not entry.is_dir() or owner_alive(int(match["pid"]))):
            continue
        if match["role"] == "old" and not out.exists() and not out.is_symlink():
            os.replace(entry, out)  # the previous result, moved aside by a swap that died
        else:
            shutil.rmtree(entry, ignore_errors=True)
        touched.append(entry)
    return touched


@dataclass
class Staging:
    """A folder a result is written into before it is published at ``out``."""

    out: Path
    path: Path

    def publish(self, **facts: Any) -> Path:
        """Write the manifest (``facts`` plus every file) and swap the folder in.

        Returns:
            The published folder.
        """
        write_manifest(self.path, facts)
        parent = self.path.parent
        for _ in range(5):  # another run may publish between our two renames: try again
            aside = None
            if self.out.exists() or self.out.is_symlink():
                aside = parent / f".{self.out.name}.virtsim-old-{os.getpid()}-{_token()}"
                os.replace(self.out, aside)
            try:
                os.replace(self.path, self.out)
            except OSError:
                if aside is not None and not self.out.exists():
                    os.replace(aside, self.out)
                continue
            if aside is not None:
                _remove(aside)
            return self.out
        raise OSError(f"could not publish {self.out}: another run keeps replacing it")

    def discard(self) -> None:
        """Remove the staging folder (a run that failed publishes nothing)."""
        _remove(self.path)


def stage(out: Path, flag: str = "--out") -> Staging:
    """Check ``out``, clean what killed runs left beside it, and make a staging folder."""
    check_output_folder(out, flag)
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(flag, "", "a folder that can be created",
                         f"{display_path(parent)} ({exc.strerror or exc})") from None
    clean_stale(out)
    path = parent / f".{out.name}.virtsim-staging-{os.getpid()}-{_token()}"
    try:
        path.mkdir()
    except OSError as exc:
        raise InputError(flag, "", "a folder virtsim can write in",
                         f"{display_path(parent)} ({exc.strerror or exc})") from None
    return Staging(out, path)


def publish_to(out: Path, write: Callable[[Path], object], flag: str = "--out",
               **facts: Any) -> Path:
    """Stage ``out``, let ``write`` fill the staging folder, then publish it whole.

    What every command with ``--out`` does (``run``, ``validate``, ``plan``):
    a ``write`` that fails, or a process killed before the swap, publishes
    nothing and leaves ``out`` as it was; the staging folder is removed now
    (a failure) or by the next run to the same place (a kill).

    Args:
        out: The folder to publish.
        write: Writes the result's files into the folder it is given.
        flag: The option ``out`` came from, for error messages.
        facts: What the manifest records beside the files (command, seed, ...).

    Returns:
        The published folder.
    """
    staging = stage(out, flag)
    try:
        write(staging.path)
        return staging.publish(**facts)
    finally:
        staging.discard()


def _token() -> str:
    return secrets.token_hex(4)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


def write_manifest(folder: Path, facts: Mapping[str, Any]) -> None:
    """``manifest.json``: the facts given, virtsim's version and every file's size and hash."""
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        relative = path.relative_to(folder).as_posix()
        if relative == MANIFEST:
            continue
        data = path.read_bytes()
        files.append({"path": relative, "bytes": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {"virtsim": __version__, **facts, "files": files}
    text = json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False) + "\n"
    (folder / MANIFEST).write_text(text, encoding="utf-8")


def verify_manifest(folder: Path) -> list[str]:
    """Files whose size or hash differs from the manifest (empty: the folder is whole)."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    bad = []
    for entry in manifest["files"]:
        path = folder / entry["path"]
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            bad.append(entry["path"])
    listed = {entry["path"] for entry in manifest["files"]} | {MANIFEST}
    bad += sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.relative_to(folder).as_posix() not in listed)
    return bad
