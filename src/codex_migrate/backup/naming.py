"""Naming the output: never overwrite, claim the final name only when everything is on disk."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

# -- naming -------------------------------------------------------------------------------------


def split_archive_name(name: str) -> tuple[str, str]:
    """``("codex", ".tar.zst")`` from ``codex.tar.zst``: where a suffix goes."""
    low = name.lower()
    for suffix in (".tar.zst", ".tzst", ".zip"):
        if low.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], name[-len(suffix) :]
    return name, ""


def free_path(path: Path) -> Path:
    """``path`` if nothing is there, else a dated sibling name that is free (never overwrite)."""
    if not os.path.lexists(path):
        return path
    stem, suffix = split_archive_name(path.name)
    base = f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"
    candidate = path.with_name(base + suffix)
    n = 2
    while os.path.lexists(candidate):
        candidate = path.with_name(f"{base}-{n}{suffix}")
        n += 1
    return candidate


def claim_final_path(tmp: Path, wanted: Path) -> Path:
    """Rename ``tmp`` to ``wanted`` (or a free sibling): never replaces anything."""
    while True:
        target = free_path(wanted)
        if tmp.is_dir():
            if os.name == "nt":
                try:
                    os.rename(tmp, target)  # Windows never renames over an existing name
                except FileExistsError:
                    continue
                return target
            try:
                # POSIX rename() replaces an empty folder; mkdir first makes the name ours.
                target.mkdir()
            except FileExistsError:
                continue
            os.replace(tmp, target)
            return target
        try:
            os.link(tmp, target)  # fails if target exists: an atomic "no replace" rename
        except FileExistsError:
            continue
        except OSError:
            # No hard links here (FAT, some network shares): the check above must do.
            if os.path.lexists(target):
                continue
            os.replace(tmp, target)
            return target
        os.unlink(tmp)
        return target
