"""Finding a Codex home (or a copy or backup of one) and the files that matter in it.

Users point us at many things: ``~/.codex``, a copied folder, a ``Codex_backup/`` we wrote, a
legacy minimal ``Codex/`` folder, or the folder that holds one of those. We accept each and say
plainly what we found and what we did not.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from codex_migrate.errors import HomeNotFound
from codex_migrate.fsutil import check_regular, open_regular
from codex_migrate.rollout import ROLLOUT_NAME_RE

SESSIONS_DIR = "sessions"
ARCHIVED_DIR = "archived_sessions"
SESSION_INDEX = "session_index.jsonl"
HISTORY_JSONL = "history.jsonl"
HISTORY_DB = "thread_history_1.sqlite"
TRANSACTIONS_DIR = "migration_transactions"
BACKUP_DIR_NAMES = ("Codex_backup", "Codex")
_STATE_DB_RE = re.compile(r"^state_(\d+)\.sqlite$")
#: State DB versions whose layout we have measured; a newer one is read by schema inspection.
KNOWN_STATE_VERSIONS = (4, 5)


class RolloutRef(NamedTuple):
    """A rollout file on disk: where it is, and what its name says. Immutable; a named tuple,
    not a frozen dataclass, whose ``__init__`` cost three times as much (a listing makes one
    per file of the home). Its path is kept as text, as the folder listing spelled it: a
    ``Path`` per file (~0.4 KB with its parts) was the biggest part of a listing's memory at
    30 000 files, and a scan opens the file by its text anyway."""

    #: ``str(path)``: the file, as the folder listing spelled it (see :attr:`path`)
    text: str
    thread_id: str
    archived: bool
    compressed: bool
    #: False when the folder listing said it is no link (check_inside need not look again).
    link: bool | None = None

    @property
    def path(self) -> Path:
        """The file as a Path, made on demand (see the class)."""
        return Path(self.text)


@dataclass
class CodexHome:
    """A located home: the folder and the session files found in it."""

    root: Path
    kind: str  # "home" | "backup" | "legacy-backup"
    state_db: Path | None = None
    state_version: int | None = None
    history_db: Path | None = None
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: Files named like a Codex file that are not regular files (a FIFO, a folder): never
    #: opened, reported by name with the reason.
    unusable: list[dict[str, str]] = field(default_factory=list)
    #: Folders under sessions/ that could not be listed during the last :meth:`rollouts`.
    unreadable_dirs: list[dict[str, str]] = field(default_factory=list)
    #: For a backup: the home it was taken from (its DB rows name files there).
    origin: Path | None = None
    #: A temporary extraction (a backup archive opened for reading): never cached.
    temporary: bool = False

    @property
    def sessions_dir(self) -> Path:
        return self.root / SESSIONS_DIR

    @property
    def archived_dir(self) -> Path:
        return self.root / ARCHIVED_DIR

    @property
    def session_index(self) -> Path:
        return self.root / SESSION_INDEX

    @property
    def history_jsonl(self) -> Path:
        return self.root / HISTORY_JSONL

    @property
    def transactions_dir(self) -> Path:
        return self.root / TRANSACTIONS_DIR

    def rollouts(self) -> Iterator[RolloutRef]:
        """Every rollout file, active then archived; a plain ``.jsonl`` beats its ``.zst``.

        A ``sessions/`` or ``archived_sessions/`` that cannot be listed raises
        :class:`HomeNotFound` (saying "no sessions" would be a lie); a folder inside them that
        cannot be listed is recorded in :attr:`unreadable_dirs` and the walk goes on.
        """
        self.unreadable_dirs = []
        yield from _rollouts_in(self.sessions_dir, False, True, self.unreadable_dirs)
        yield from _rollouts_in(self.archived_dir, True, False, self.unreadable_dirs)


def _rollouts_in(
    base: Path, archived: bool, recursive: bool, problems: list[dict[str, str]]
) -> Iterator[RolloutRef]:
    if not base.is_dir():
        return

    def failed(exc: OSError) -> None:
        reason = f"folder cannot be read: {exc.strerror or exc}"
        if exc.filename is None or Path(exc.filename) == base:
            raise HomeNotFound(
                f"{base} cannot be read ({exc.strerror or exc}).",
                hint="Check that this user may read that folder and everything in it.",
                code="home-unreadable",
                params={"path": str(base)},
            )
        problems.append({"path": str(exc.filename), "reason": reason})

    match = ROLLOUT_NAME_RE.match
    for entries in _walk(base, recursive, failed):
        by_name = {e.name: e for e in entries}
        for name in sorted(by_name):
            m = match(name)  # parse_rollout_name, inlined: once per file of the home
            if m is None:
                continue
            thread_id, zst = m.group("id", "zst")
            compressed = bool(zst)
            if compressed and name[: -len(".zst")] in by_name:
                continue
            # Anything named like a rollout is yielded, even a directory or a dangling link:
            # reading it then fails with a message the scan reports.
            entry = by_name[name]
            yield RolloutRef(entry.path, thread_id.lower(), archived, compressed, _is_link(entry))


def _walk(
    top: Path, recursive: bool, failed: Callable[[OSError], None]
) -> Iterator[list[os.DirEntry[str]]]:
    """``os.walk`` top-down in sorted order, giving the entries themselves: whether a file
    is a link then costs no system call (the folder listing says). Iterative, so a hostile
    depth of folders cannot exhaust the stack. Folders go by their text (a Path each is
    parsing and memory no file needs)."""
    stack = [str(top)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            failed(exc)
            continue
        yield entries
        if recursive:
            subdirs = [e for e in entries if _is_dir(e) and not _is_link(e)]
            subdirs.sort(key=lambda e: e.name, reverse=True)
            stack.extend(e.path for e in subdirs)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return True  # unknown: check_inside looks again


class LinkOutOfHome(OSError):
    """A file in the home that is a symbolic link to somewhere outside it."""


def check_inside(home: CodexHome, path: Path | str, link: bool | None = None) -> None:
    """Refuse a rollout that is a link leading out of the home (to ``/etc/passwd``, another
    user's files): it is never read as a thread nor copied into a backup.

    Links that stay inside the home (or inside the real folder its ``sessions/`` or
    ``archived_sessions/`` link to, as when the sessions live on another disk) are followed:
    the file is the user's own either way. Raises :class:`LinkOutOfHome`, an OSError, so
    every reader reports it per file like any unreadable one. ``link=False`` (the folder
    listing said it is no link) saves looking again.
    """
    if link is False:
        return
    path = Path(path)
    if not path.is_symlink():
        return
    try:
        target = path.resolve()
    except (OSError, RuntimeError) as exc:  # a loop of links
        raise LinkOutOfHome(errno.ELOOP, "a link that leads nowhere (a loop)", str(path)) from exc
    for base in (home.root, home.sessions_dir, home.archived_dir):
        if target.is_relative_to(base.resolve()):
            return
    raise LinkOutOfHome(
        errno.EPERM, f"a link to {os.readlink(path)}, outside the home: never followed", str(path)
    )


def default_home() -> Path:
    """``$CODEX_HOME`` when set, else ``~/.codex``: the same rule Codex uses."""
    env = os.environ.get("CODEX_HOME")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".codex"


def _looks_like_home(path: Path) -> bool:
    try:
        if not path.is_dir():
            return False
        names = set(os.listdir(path))
    except OSError:
        return False
    if SESSIONS_DIR in names or ARCHIVED_DIR in names or SESSION_INDEX in names:
        return True
    return any(_STATE_DB_RE.match(n) for n in names)


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _unusable(path: Path) -> str | None:
    """Why a Codex file that exists cannot be used (not a regular file), else None."""
    try:
        check_regular(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _note_unusable(home: CodexHome, places: list[Path]) -> None:
    for place in places:
        for name in _listdir(place):
            if _STATE_DB_RE.match(name) and (why := _unusable(place / name)):
                home.unusable.append({"path": str(place / name), "reason": why})
    for special in (home.session_index, home.history_jsonl):
        if why := _unusable(special):
            home.unusable.append({"path": str(special), "reason": why})


def _find_state_db(root: Path) -> tuple[Path | None, int | None, list[Path]]:
    """The newest ``state_N.sqlite``: in the home, in ``sqlite/``, or in $CODEX_SQLITE_HOME."""
    places = [root, root / "sqlite"]
    env = os.environ.get("CODEX_SQLITE_HOME")
    if env:
        places.append(Path(env).expanduser())
    best: tuple[int, Path] | None = None
    for place in places:
        try:
            names = os.listdir(place)
        except OSError:
            continue
        for name in names:
            m = _STATE_DB_RE.match(name)
            if m and _regular(place / name):
                version = int(m.group(1))
                if best is None or version > best[0]:
                    best = (version, place / name)
    if best is None:
        return None, None, places
    return best[1], best[0], places


def open_home(source: Path | str | None = None) -> CodexHome:
    """Locate a home from what the user gave; raise :class:`HomeNotFound` with the reason."""
    given = Path(source).expanduser() if source is not None else default_home()
    path = given.absolute()
    if not path.exists():
        raise HomeNotFound(
            f"{path} does not exist.",
            hint="Pass the folder of a Codex home (default ~/.codex) or of a backup.",
            code="home-missing",
            params={"path": str(path)},
        )
    if not path.is_dir():
        raise HomeNotFound(
            f"{path} is not a folder.", code="home-not-folder", params={"path": str(path)}
        )
    if not os.access(path, os.R_OK | os.X_OK):
        raise HomeNotFound(
            f"{path} cannot be read (permission denied).",
            code="home-unreadable",
            params={"path": str(path)},
        )
    if not _looks_like_home(path):
        candidates = [p for p in _children(path) if _looks_like_home(p)]
        preferred = [p for p in candidates if p.name in (".codex", *BACKUP_DIR_NAMES)]
        if len(candidates) > 1 and len(preferred) == 1:
            candidates = preferred
        if len(candidates) == 1:
            path = candidates[0]
        elif len(candidates) > 1:
            listed = ", ".join(str(c) for c in candidates)
            raise HomeNotFound(
                f"{path} holds more than one Codex home: {listed}.",
                hint="Pass the one you mean.",
                code="home-ambiguous",
                params={"path": str(path), "homes": listed},
            )
        else:
            raise HomeNotFound(
                f"{path} is not a Codex home: it has no sessions/, archived_sessions/, "
                "session_index.jsonl or state database.",
                hint="Pass the folder of a Codex home (default ~/.codex) or of a backup.",
                code="not-a-home",
                params={"path": str(path)},
            )
    kind = "home"
    origin = None
    if path.name == "Codex_backup" or (path / "manifest.json").is_file():
        kind = "backup"
        origin = _backup_origin(path / "manifest.json")
    elif path.name == "Codex":
        kind = "legacy-backup"
    home = CodexHome(root=path, kind=kind, origin=origin)
    state_db, version, places = _find_state_db(path)
    home.state_db, home.state_version = state_db, version
    _note_unusable(home, places)
    for label, p in (
        ("sessions/", home.sessions_dir),
        ("archived_sessions/", home.archived_dir),
        (SESSION_INDEX, home.session_index),
        (HISTORY_JSONL, home.history_jsonl),
    ):
        (home.found if p.exists() else home.missing).append(label)
    if state_db is not None:
        home.found.append(f"state database {state_db}")
    else:
        where = ", ".join(str(p) for p in places)
        home.missing.append(f"state database (looked in {where})")
    history_db = state_db.parent / HISTORY_DB if state_db else path / HISTORY_DB
    if history_db.is_file():
        home.history_db = history_db
        home.found.append(HISTORY_DB)
    return home


def _backup_origin(manifest: Path) -> Path | None:
    """The home a backup was taken from, as its manifest says (None when unreadable)."""
    try:
        with open_regular(manifest, "r", encoding="utf-8") as f:
            first = f.read(64 * 1024)
        m = re.search(r'"source_home"\s*:\s*("(?:[^"\\]|\\.)*")', first)
        return Path(json.loads(m.group(1))) if m else None
    except (OSError, ValueError):
        return None


def _listdir(path: Path) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _children(path: Path) -> list[Path]:
    try:
        entries = sorted(os.listdir(path))
    except OSError:
        return []
    return [path / n for n in entries if (path / n).is_dir()]


def open_target(path: Path) -> CodexHome:
    """A home to write into: an existing one, or a folder that is new or empty (it becomes one)."""
    try:
        return open_home(path)
    except HomeNotFound:
        if path.is_dir() or not path.exists():
            home = CodexHome(root=path, kind="home")
            _note_unusable(home, [path, path / "sqlite"])
            return home
        raise
