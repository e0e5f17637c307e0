"""The shared folder's layout, and reading and writing it without ever trusting a half file.

``FOLDER/machines/<machine>/`` is written by that machine only. It holds the machine's
sessions in the Codex home layout (the same as ``backup``: ``sessions/YYYY/MM/DD/``,
``archived_sessions/``, ``session_index.jsonl``, ``history.jsonl``), then ``manifest.json``
(the backup manifest format, with a ``sync`` section) written last, and ``sync-state.json``,
what this machine has taken in from the others. A file counts only when its size and SHA-256
match the manifest; anything else (a delivery still under way, a temp file, a sync engine's
"conflicted copy") is *in flight*: skipped this time and reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.errors import CodexMigrateError
from codex_migrate.fsutil import fsync_dir
from codex_migrate.home import ARCHIVED_DIR, HISTORY_JSONL, SESSION_INDEX, SESSIONS_DIR
from codex_migrate.manifest import MANIFEST_NAME, OS_JUNK, FileEntry, Manifest
from codex_migrate.rollout import parse_rollout_name

MACHINES_DIR = "machines"
STATE_NAME = "sync-state.json"
TMP_SUFFIX = ".codex-sync-tmp"
CHUNK = 1024 * 1024
#: Names sync engines give files they are still writing, or copies they made in a conflict.
_ENGINE_LEFTOVER = re.compile(
    r"(^\.syncthing\.|^~syncthing~|\.sync-conflict-|conflicted copy|\(conflict|"
    r"\.tmp$|\.part$|\.partial$|\.!sync$|\.crdownload$|^~\$|" + re.escape(TMP_SUFFIX) + r"$)",
    re.IGNORECASE,
)


class SyncFolderError(CodexMigrateError):
    """The shared folder cannot be used (missing, unreadable, or a machine's part is not ours)."""

    code = "sync-folder"


def machine_dir(folder: Path, machine: str) -> Path:
    return folder / MACHINES_DIR / machine


def other_machines(folder: Path, me: str) -> list[str]:
    base = folder / MACHINES_DIR
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    return [n for n in names if n != me and not n.startswith(".") and (base / n).is_dir()]


def thread_of(rel: str) -> str | None:
    """The thread id of a rollout's path in the layout, ``None`` for any other file."""
    parts = rel.split("/")
    if parts[0] not in (SESSIONS_DIR, ARCHIVED_DIR):
        return None
    parsed = parse_rollout_name(parts[-1])
    return parsed[1] if parsed else None


SIDE_FILES = (SESSION_INDEX, HISTORY_JSONL)


# -- the manifest ---------------------------------------------------------------------------


def read_manifest(mdir: Path) -> Manifest | None:
    """A machine's manifest, ``None`` when it has none yet; an unreadable one raises
    :class:`ManifestError` naming the file (the caller reports it and goes on)."""
    path = mdir / MANIFEST_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return Manifest.from_bytes(data, str(mdir))


def sync_info(manifest: Manifest) -> dict[str, Any]:
    info = manifest.extra.get("sync")
    return info if isinstance(info, dict) else {}


def write_atomic(path: Path, data: bytes) -> None:
    """Temp name in the same folder, fsync, rename, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(3)}{TMP_SUFFIX}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_manifest(mdir: Path, manifest: Manifest) -> None:
    write_atomic(mdir / MANIFEST_NAME, manifest.to_bytes())


# -- this machine's record of what it took in ----------------------------------------------


@dataclass
class SyncState:
    """``pulled``: machine -> thread -> the SHA-256 of their file we last settled (imported,
    skipped, kept); ``installed``: thread -> what our copy looked like when a pull wrote it
    (so push does not publish it back); ``conflicts``: found at the last run; ``unbound``:
    thread -> the machine and project path it came in history-only with (see :mod:`.bind`)."""

    pulled: dict[str, dict[str, str]] = field(default_factory=dict)
    installed: dict[str, dict[str, Any]] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    unbound: dict[str, dict[str, str]] = field(default_factory=dict)
    #: ``False`` for a state written before ``unbound`` was kept (see :func:`.bind.track_unbound`)
    tracked: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "codex-migrate-sync-state",
            "pulled": {m: dict(sorted(t.items())) for m, t in sorted(self.pulled.items())},
            "installed": dict(sorted(self.installed.items())),
            "conflicts": self.conflicts,
            "unbound": dict(sorted(self.unbound.items())),
        }


def read_state(mdir: Path) -> SyncState:
    """Our state; a missing or damaged one is empty (it only saves work, it is not truth)."""
    try:
        obj = json.loads((mdir / STATE_NAME).read_bytes())
    except (OSError, ValueError):
        return SyncState()
    if not isinstance(obj, dict):
        return SyncState()
    pulled = obj.get("pulled")
    pulled = pulled if isinstance(pulled, dict) else {}
    installed = obj.get("installed")
    installed = installed if isinstance(installed, dict) else {}
    conflicts = obj.get("conflicts")
    conflicts = conflicts if isinstance(conflicts, list) else []
    unbound = obj.get("unbound")
    unbound = unbound if isinstance(unbound, dict) else {}
    return SyncState(
        pulled={m: dict(t) for m, t in pulled.items() if isinstance(t, dict)},
        installed={t: dict(v) for t, v in installed.items() if isinstance(v, dict)},
        conflicts=[c for c in conflicts if isinstance(c, dict)],
        unbound={t: dict(v) for t, v in unbound.items() if isinstance(v, dict)},
        tracked="unbound" in obj,
    )


def write_state(mdir: Path, state: SyncState) -> bool:
    """Write only when it changed (a run with nothing new writes nothing)."""
    data = (json.dumps(state.to_dict(), indent=1, ensure_ascii=False) + "\n").encode()
    path = mdir / STATE_NAME
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    write_atomic(path, data)
    return True


# -- files in flight ------------------------------------------------------------------------


def leftovers(mdir: Path) -> list[str]:
    """Temp and conflicted-copy files a sync engine (or an interrupted push) left in a
    machine's folder, relative to it: never read, only reported."""
    found: list[str] = []
    base = str(mdir)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, base).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else rel_dir + "/"
        top = prefix.split("/", 1)[0]
        in_sessions = top in (SESSIONS_DIR, ARCHIVED_DIR)
        for name in sorted(filenames):
            if name in OS_JUNK:
                continue
            stray = in_sessions and parse_rollout_name(name) is None
            if stray or _ENGINE_LEFTOVER.search(name):
                found.append(prefix + name)
    return found


def delay(code: str, reason: str, **values: str) -> dict[str, str]:
    """Why a published file is not taken yet: ``reason`` in English, plus its ``code`` and the
    values it names, so a face can say it in its own language."""
    return {"reason": reason, "code": code, **values}


def copy_verified(src: Path, dest: Path, entry: FileEntry) -> dict[str, str] | None:
    """Copy ``src`` to ``dest`` only if its bytes are exactly what the manifest says; return
    why not otherwise (a :func:`delay`; ``dest`` then does not exist). Hashing the copy, not
    the original, means a file the engine replaces meanwhile can never slip in unchecked."""
    try:
        size = src.stat().st_size
    except FileNotFoundError:
        return delay("not-delivered", "not delivered yet")
    except OSError as exc:
        why = str(exc.strerror or exc)
        return delay("unreadable", f"unreadable ({why})", error=why)
    if size != entry.size:
        have, want = str(size), str(entry.size)
        return delay("partial", f"{have} of {want} bytes", have=have, want=want)
    dest.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    try:
        with open(src, "rb") as r, open(dest, "wb") as w:
            for block in iter(lambda: r.read(CHUNK), b""):
                h.update(block)
                w.write(block)
    except OSError as exc:
        dest.unlink(missing_ok=True)
        why = str(exc.strerror or exc)
        return delay("unreadable", f"unreadable ({why})", error=why)
    if h.hexdigest() != entry.sha256:
        dest.unlink(missing_ok=True)
        return delay("differs", "content differs from the manifest")
    os.utime(dest, ns=(entry.mtime_ns, entry.mtime_ns))
    return None
