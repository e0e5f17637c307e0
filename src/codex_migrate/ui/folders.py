"""The folder browser: a page cannot hand real paths to a server, so the server lists folders.

It lists directories only (names, never contents; file names only of backup files, when asked
for one), under a root the user chose
(a start place such as their home folder, or a path they typed). Navigation below the root is a
list of plain names: ``..``, ``.``, separators and NUL are refused, the result is resolved
(symlinks included) and must still be inside the resolved root, so neither a crafted request nor
a symlink can make it list anything the user did not choose. Nothing here writes.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

MAX_ENTRIES = 2000
#: Files the browser offers in "backup file" mode: what ``codex-migrate backup`` writes.
BACKUP_SUFFIXES = (".tar.zst", ".zip")
_BAD_CHARS = ("/", "\\", "\x00")


class BrowseError(Exception):
    """A refused or failed listing; ``code`` selects the translated message."""

    def __init__(self, code: str, path: str = "") -> None:
        super().__init__(f"{code}: {path}")
        self.code = code
        self.path = path


@dataclass
class Entry:
    name: str
    rel: str  # navigation value: "/"-joined plain names below the root
    link: bool = False
    followable: bool = True
    is_file: bool = False
    path: str = ""


@dataclass
class Listing:
    root: str
    rel: str
    path: str
    crumbs: list[tuple[str, str]] = field(default_factory=list)  # (name, rel)
    parent_rel: str | None = None
    entries: list[Entry] = field(default_factory=list)
    truncated: bool = False


def start_places(extra: list[Path] | None = None) -> list[str]:
    """Where browsing can begin: the user's home, drives or volumes, and app-specific places."""
    places: list[str] = []
    places += [str(p) for p in extra or []]
    places.append(str(Path.home()))
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import string

        places += [f"{d}:\\" for d in string.ascii_uppercase if os.path.isdir(f"{d}:\\")]
    elif sys.platform == "darwin":  # pragma: no cover - exercised on macOS only
        places.append("/Volumes")
    else:
        places.append("/")
    unique: list[str] = []
    for place in places:
        if place not in unique and os.path.isdir(place):
            unique.append(place)
    return unique


def check_root(root: str) -> str:
    """The resolved root for a typed or chosen absolute path; raise BrowseError if refused."""
    if not root or "\x00" in root:
        raise BrowseError("invalid", root)
    expanded = os.path.expanduser(root.strip())
    if not os.path.isabs(expanded):
        raise BrowseError("not_absolute", root)
    parts = expanded.replace("\\", "/").split("/")  # as typed: Path() would drop "."
    if any(p in ("..", ".") for p in parts):
        raise BrowseError("dotdot", root)
    real = os.path.realpath(expanded)
    if not os.path.isdir(real):
        raise BrowseError("not_a_folder", root)
    return real


def split_rel(rel: str) -> list[str]:
    """Plain names below the root; anything that could climb or jump is refused."""
    if not rel:
        return []
    names = rel.split("/")
    for name in names:
        if name in ("", ".", "..") or any(c in name for c in _BAD_CHARS):
            raise BrowseError("dotdot", rel)
        if sys.platform == "win32" and ":" in name:  # pragma: no cover - Windows drive jumps
            raise BrowseError("dotdot", rel)
    return names


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives
        return False


def resolve(root: str, rel: str) -> tuple[str, str, list[str]]:
    """(resolved root, resolved folder, names) for a request, or BrowseError."""
    real_root = check_root(root)
    names = split_rel(rel)
    target = os.path.realpath(os.path.join(real_root, *names)) if names else real_root
    if not _inside(target, real_root):
        raise BrowseError("outside", rel)
    if not os.path.isdir(target):
        raise BrowseError("not_a_folder", rel)
    return real_root, target, names


def nearest_folder(typed: str) -> tuple[str, str | None, str | None]:
    """Where to open the browser for what was typed: (folder, why it is not ``typed``, file).

    A typo or a folder that does not exist opens its nearest existing parent; a file opens
    the folder it is in (``file`` names it, for the backup-file mode). Raises BrowseError
    only when nothing of the path can be used (relative, ``..``)."""
    try:
        return check_root(typed), None, None
    except BrowseError as exc:
        if exc.code != "not_a_folder":
            raise
    expanded = os.path.expanduser(typed.strip())
    if os.path.isfile(expanded):
        return check_root(os.path.dirname(expanded)), "is_file", expanded
    parent = os.path.dirname(expanded.rstrip("/\\"))
    while parent and not os.path.isdir(parent):
        up = os.path.dirname(parent)
        if up == parent:
            break
        parent = up
    if not parent or not os.path.isdir(parent):
        raise BrowseError("not_a_folder", typed)
    return check_root(parent), "missing", None


def list_folder(root: str, rel: str = "", *, files: bool = False) -> Listing:
    """The sub-folders of ``root``/``rel``, sorted by name, hidden ones after the rest; with
    ``files``, also the backup files (``.tar.zst``/``.zip``) in it, never other files."""
    real_root, target, names = resolve(root, rel)
    listing = Listing(root=real_root, rel="/".join(names), path=target)
    listing.crumbs = [(real_root, "")]
    for n in range(len(names)):
        listing.crumbs.append((names[n], "/".join(names[: n + 1])))
    if names:
        listing.parent_rel = "/".join(names[:-1])
    try:
        with os.scandir(target) as it:
            found = []
            for entry in it:
                try:
                    is_link = entry.is_symlink()
                    if is_link:
                        dest = os.path.realpath(entry.path)
                        if not os.path.isdir(dest):
                            continue
                        followable = _inside(dest, real_root)
                    elif entry.is_dir(follow_symlinks=False):
                        followable = True
                    elif files and entry.name.lower().endswith(BACKUP_SUFFIXES):
                        if entry.is_file(follow_symlinks=False):
                            found.append(Entry(entry.name, "", is_file=True, path=entry.path))
                        continue
                    else:
                        continue  # other files are never listed
                except OSError:
                    continue
                child_rel = "/".join([*names, entry.name])
                found.append(Entry(entry.name, child_rel, is_link, followable))
                if len(found) >= MAX_ENTRIES:
                    listing.truncated = True
                    break
    except PermissionError as exc:
        raise BrowseError("permission", target) from exc
    except OSError as exc:
        raise BrowseError("unreadable", target) from exc
    found.sort(key=lambda e: (e.is_file, e.name.startswith("."), e.name.casefold()))
    listing.entries = found
    return listing
