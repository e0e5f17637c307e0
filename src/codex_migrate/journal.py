"""A transaction's journal: what it is about to change in its home, and how to tell our bytes.

The journal lives in ``<home>/migration_transactions/<ID>/journal.json`` and names every file
by its path relative to that home, never by an absolute path: a copied or synced home with an
unfinished journal is then recovered in place, and the home it came from is never touched.
Each change carries what recovery needs to recognise it as still ours (the SHA-256 of what we
wrote, of the original we replaced, of the bytes we appended), so recovery never undoes
anything written after us.

Version 1 journals (before this format) named the home absolutely and kept no hashes of
appends or DB rows; they are still read, and only their provably safe parts are undone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from codex_migrate.errors import CodexMigrateError
from codex_migrate.fsutil import fsync_dir
from codex_migrate.jsontext import compact

JOURNAL = "journal.json"
VERSION = 2
UNFINISHED = ("preparing", "prepared", "applying")


class UnsafeJournal(CodexMigrateError):
    """A journal names a path outside its home: it is not acted upon."""

    code = "unsafe-journal"


@dataclass
class Journal:
    id: str
    kind: str
    #: Where it was written, for people only: recovery acts on the home holding the journal.
    home: str = ""
    version: int = VERSION
    state: str = "preparing"
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    creates: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    #: rel -> SHA-256 of the file as it was before we replaced or removed it.
    originals: dict[str, str] = field(default_factory=dict)
    #: rel -> {"size": bytes before (None: we create it), "mtime_ns", and once known,
    #: "length" and "sha256" of the bytes we append, "sep": 1 when they start with a
    #: newline we added after a cut last line}.
    appends: dict[str, dict[str, Any]] = field(default_factory=dict)
    created_dirs: list[str] = field(default_factory=list)
    #: DB file name -> its safety copy under snapshot/ (kept for people; never restored).
    dbs: dict[str, str] = field(default_factory=dict)
    #: The row images of each DB write: {"db": DB file name, "file": name in this folder}.
    rowlogs: list[dict[str, str]] = field(default_factory=list)
    written: dict[str, str] = field(default_factory=dict)  # rel path -> sha256 we wrote
    threads: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: What a rollback could not undo safely and left in place, with the reason.
    left: list[str] = field(default_factory=list)
    #: Version 1 only: DB writes had started (its rows cannot be undone one by one).
    db_touched: bool = False

    @classmethod
    def load(cls, path: Path) -> Journal:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a journal")
        if "version" not in data:
            data = _from_v1(data)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def save(self, tx_dir: Path) -> None:
        """Durably replace the journal file (write aside, fsync, rename, fsync the folder)."""
        tmp = tx_dir / (JOURNAL + ".part")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                for piece in _pieces(self.to_dict()):
                    f.write(piece)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, tx_dir / JOURNAL)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk must not leave a half-written copy
            raise
        fsync_dir(tx_dir)


#: Entries of a long list or map encoded at a time when a journal is saved.
_CHUNK = 2000


def _pieces(data: dict[str, Any]) -> Iterator[str]:
    """The text of ``json.dumps(data, separators=(",", ":"))``, in pieces: long lists and
    maps (thousands of files) are encoded a few thousand entries at a time, so a save never
    holds the whole text and the encoder's parts of it at once. Each piece is encoded by
    ``json.dumps`` compact: only then does the C encoder run (``json.dump`` never uses it)."""
    yield "{"
    for n, (key, value) in enumerate(data.items()):
        yield ("," if n else "") + json.dumps(key) + ":"
        if isinstance(value, list) and len(value) > _CHUNK:
            yield "["
            for i in range(0, len(value), _CHUNK):
                yield ("," if i else "") + _dumps(value[i : i + _CHUNK])[1:-1]
            yield "]"
        elif isinstance(value, dict) and len(value) > _CHUNK:
            items = iter(value.items())  # not a list of them all (~70 bytes an entry)
            yield "{"
            for i in range(0, len(value), _CHUNK):
                yield ("," if i else "") + _dumps(dict(islice(items, _CHUNK)))[1:-1]
            yield "}"
        else:
            yield _dumps(value)
    yield "}"


def _dumps(value: Any) -> str:
    return compact(value)  # json.dumps(value, separators=(",", ":")), orjson's speed


def _from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Read a version 1 journal: appends were bare sizes, DB paths absolute."""
    mtimes = data.get("append_mtimes") or {}
    appends = {}
    for rel, size in (data.get("appends") or {}).items():
        appends[rel] = {"size": size, "mtime_ns": mtimes.get(rel), "length": None}
    data = {**data, "version": 1, "appends": appends}
    data["dbs"] = {Path(k).name: v for k, v in (data.get("dbs") or {}).items()}
    return data


def inside(home: Path, rel: str) -> Path:
    """The path ``rel`` names in ``home``; refuse what could land outside it: absolute
    paths, ``..``, drive letters, or a symbolic link on the way that leads out."""
    posix = PurePosixPath(rel)
    if (
        not rel
        or "\x00" in rel
        or posix.is_absolute()
        or PureWindowsPath(rel).drive
        or PureWindowsPath(rel).is_absolute()
        or any(part in ("..", "") for part in rel.replace("\\", "/").split("/"))
    ):
        raise UnsafeJournal(f"the journal names {rel!r}, which is not a path inside the home.")
    full = home / posix
    root = home.resolve()
    try:
        full.parent.resolve().relative_to(root)
    except ValueError:
        raise UnsafeJournal(
            f"the journal names {rel!r}, which leads outside the home through a link."
        ) from None
    return full


def check_paths(home: Path, journal: Journal) -> None:
    """Every path the journal names must stay inside ``home`` (and its own files inside
    its folder): otherwise nothing in it is acted upon."""
    for rel in [
        *journal.creates,
        *journal.replaces,
        *journal.removes,
        *journal.appends,
        *journal.created_dirs,
        *journal.written,
    ]:
        inside(home, rel)
    for entry in journal.rowlogs:
        name = str(entry.get("file", ""))
        if not name or Path(name).name != name or name in (".", ".."):
            raise UnsafeJournal(f"the journal names a row log {name!r} outside its folder.")
