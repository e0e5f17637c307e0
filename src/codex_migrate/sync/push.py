"""Push: publish this machine's new and grown threads into its own part of the shared folder.

Only rollouts (active and archived), and the names and prompt history of the published threads,
leave the machine: never auth, config, skills, plugins, logs, caches or the state DBs. A thread
this machine got from another and never changed is not published back. Each file goes to a temp
name, is made durable and renamed; the manifest is written last, so another machine never
takes a file the manifest does not vouch for. A rollout Codex is appending to right now is
published up to its last whole line.
"""

from __future__ import annotations

import hashlib
import os
import platform
import secrets
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codex_migrate import __version__, safejson
from codex_migrate.catalog import ProgressFn
from codex_migrate.fsutil import fsync_dir, open_regular, sync_files
from codex_migrate.home import ARCHIVED_DIR, HISTORY_JSONL, SESSION_INDEX, CodexHome
from codex_migrate.manifest import FileEntry, Manifest
from codex_migrate.sync.layout import (
    CHUNK,
    TMP_SUFFIX,
    SyncState,
    thread_of,
    write_atomic,
    write_manifest,
)
from codex_migrate.transaction import crash_point

SYNC_FORMAT = 1


@dataclass
class PushItem:
    """One rollout to publish: ``length`` bytes (its whole lines) of ``source`` at ``rel``."""

    thread_id: str
    rel: str
    source: Path
    length: int
    mtime_ns: int
    reason: str  # "new" | "grown" | "changed" | "moved"

    def to_dict(self) -> dict[str, Any]:
        return {
            "thread": self.thread_id,
            "path": self.rel,
            "bytes": self.length,
            "why": self.reason,
        }


@dataclass
class PushPlan:
    machine: str
    mdir: Path
    info: dict[str, Any]
    current: Manifest | None
    items: list[PushItem] = field(default_factory=list)
    #: Entries whose bytes are unchanged but whose time moved (no copy, manifest only).
    retimed: dict[str, int] = field(default_factory=dict)
    side: dict[str, bytes] = field(default_factory=dict)
    installed_seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    published_ids: set[str] = field(default_factory=set)

    @property
    def needed(self) -> bool:
        return bool(self.items or self.retimed or self.side or self._info_changed)

    @property
    def _info_changed(self) -> bool:
        if self.current is None:
            return True
        old = self.current.extra.get("sync")
        return not isinstance(old, dict) or {**old, "pushed_at": None} != {
            **self.info,
            "pushed_at": None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "threads": [i.to_dict() for i in self.items],
            "side_files": sorted(self.side),
            "write": self.needed,
        }


def whole_length(path: Path, size: int) -> int:
    """Bytes up to and including the last newline (a ``.zst`` file counts whole)."""
    if path.name.endswith(".zst") or size == 0:
        return size
    with open(path, "rb") as f:
        pos = size
        while pos > 0:
            start = max(0, pos - 64 * 1024)
            f.seek(start)
            block = f.read(pos - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                return start + cut + 1
            pos = start
    return 0


def hash_prefix(path: Path, length: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        left = length
        while left:
            block = f.read(min(CHUNK, left))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def _filtered(path: Path, key: str, ids: set[str]) -> bytes:
    """The lines of a home's JSONL index that belong to ``ids`` (bytes kept verbatim)."""
    out: list[bytes] = []
    try:
        with open_regular(path) as f:
            for raw in f:
                try:
                    obj = safejson.loads(raw)
                except ValueError:
                    continue
                if isinstance(obj, dict) and str(obj.get(key, "")).lower() in ids:
                    out.append(raw if raw.endswith(b"\n") else raw + b"\n")
    except OSError:
        return b""
    return b"".join(out)


def plan_push(
    home: CodexHome,
    mdir: Path,
    machine: str,
    roots: dict[str, str],
    state: SyncState,
    current: Manifest | None,
    progress: ProgressFn | None = None,
) -> PushPlan:
    """What to publish; reads only. Unchanged files are known by size and time alone.
    ``current``: this machine's manifest as the caller read it (``None``: publish afresh)."""
    info = {
        "format": SYNC_FORMAT,
        "machine": machine,
        "hostname": socket.gethostname(),
        "home": str(home.root),
        "roots": dict(sorted(roots.items())),
        "pushed_at": None,
    }
    plan = PushPlan(machine, mdir, info, current)
    by_thread: dict[str, FileEntry] = {}
    for e in current.files if current else []:
        tid = thread_of(e.path)
        if tid:
            by_thread[tid] = e
    plan.published_ids = set(by_thread)
    refs = list(home.rollouts())
    for n, ref in enumerate(refs, 1):
        if progress and (n % 500 == 0 or n == len(refs)):
            progress("push", n, len(refs))
        path = ref.path
        try:
            st = path.stat()
        except OSError:
            continue
        if not path.is_file():
            continue
        rel = path.relative_to(home.root).as_posix()
        tid = ref.thread_id
        cur = by_thread.get(tid)
        if cur and cur.path == rel and cur.size == st.st_size and cur.mtime_ns == st.st_mtime_ns:
            continue
        # A copy a pull wrote is not published back, unless this machine published the thread
        # before: its part of the folder then follows its copy (so an old version of ours
        # never stands against the one we took in).
        got = state.installed.get(tid) if cur is None else None
        if got and got.get("size") == st.st_size and got.get("mtime_ns") == st.st_mtime_ns:
            continue  # a copy a pull wrote, untouched since
        length = whole_length(path, st.st_size)
        if length == 0:
            continue  # nothing whole to publish yet
        sha = hash_prefix(path, length)
        if got and got.get("sha256") == sha and length == st.st_size:
            plan.installed_seen[tid] = {**got, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
            continue
        if cur and cur.sha256 == sha and cur.path == rel:
            if length == st.st_size:
                plan.retimed[rel] = st.st_mtime_ns
            continue
        if cur is None:
            reason = "new"
        elif cur.path != rel:
            reason = "moved"
        elif length > cur.size:
            reason = "grown"
        else:
            reason = "changed"
        plan.items.append(PushItem(tid, rel, path, length, st.st_mtime_ns, reason))
        plan.published_ids.add(tid)
    _plan_side_files(home, plan)
    return plan


def _plan_side_files(home: CodexHome, plan: PushPlan) -> None:
    entries = {e.path: e for e in plan.current.files} if plan.current else {}
    for name, key in ((SESSION_INDEX, "id"), (HISTORY_JSONL, "session_id")):
        data = _filtered(home.root / name, key, plan.published_ids)
        old = entries.get(name)
        if old is None and not data:
            continue
        if old is None or old.sha256 != hashlib.sha256(data).hexdigest():
            plan.side[name] = data


def _copy_prefix(src: Path, dest: Path, length: int, mtime_ns: int) -> tuple[int, str]:
    h = hashlib.sha256()
    written = 0
    with open(src, "rb") as r, open(dest, "wb") as w:
        while written < length:
            block = r.read(min(CHUNK, length - written))
            if not block:
                break
            h.update(block)
            w.write(block)
            written += len(block)
    os.utime(dest, ns=(mtime_ns, mtime_ns))
    return written, h.hexdigest()


def clear_own_temp_files(mdir: Path) -> None:
    """Temp files an interrupted push of ours left behind."""
    for dirpath, _dirs, files in os.walk(mdir):
        for name in files:
            if name.endswith(TMP_SUFFIX):
                Path(dirpath, name).unlink(missing_ok=True)


def apply_push(plan: PushPlan, progress: ProgressFn | None = None) -> int:
    """Publish: files to temp names, one flush, renames, side files, then the manifest; the
    old copy of a thread that moved (archived here) goes last. Returns bytes written."""
    if not plan.needed:
        return 0
    mdir = plan.mdir
    mdir.mkdir(parents=True, exist_ok=True)
    clear_own_temp_files(mdir)
    entries = {e.path: e for e in plan.current.files} if plan.current else {}
    by_thread = {tid: e.path for e in entries.values() if (tid := thread_of(e.path))}
    staged: list[tuple[Path, Path, FileEntry]] = []
    total = 0
    for n, item in enumerate(plan.items, 1):
        dest = mdir / item.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(3)}{TMP_SUFFIX}")
        size, sha = _copy_prefix(item.source, tmp, item.length, item.mtime_ns)
        role = "archived-rollout" if item.rel.startswith(ARCHIVED_DIR + "/") else "rollout"
        staged.append((tmp, dest, FileEntry(item.rel, size, sha, item.mtime_ns, None, role)))
        total += size
        if progress:
            progress("publish", n, len(plan.items))
    sync_files([t for t, _d, _e in staged])
    crash_point("sync-push-staged")
    stale: list[str] = []
    for tmp, dest, entry in staged:
        os.replace(tmp, dest)
        old = by_thread.get(thread_of(entry.path) or "")
        if old and old != entry.path:
            stale.append(old)
            entries.pop(old, None)
        entries[entry.path] = entry
    for folder in {d.parent for _t, d, _e in staged}:
        fsync_dir(folder)
    crash_point("sync-push-files")
    for rel, mtime_ns in plan.retimed.items():
        e = entries[rel]
        os.utime(mdir / rel, ns=(mtime_ns, mtime_ns))
        entries[rel] = FileEntry(e.path, e.size, e.sha256, mtime_ns, e.mode, e.role)
    for name, data in plan.side.items():
        write_atomic(mdir / name, data)
        role = "session-index" if name == SESSION_INDEX else "history"
        entries[name] = FileEntry(name, len(data), hashlib.sha256(data).hexdigest(), 0, None, role)
        total += len(data)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    manifest = Manifest(
        tool_version=__version__,
        created_at=now,
        source_home=plan.info["home"],
        source_platform=platform.system().lower(),
        content="sessions",
        files=sorted(entries.values(), key=lambda e: e.path),
        extra={"sync": {**plan.info, "pushed_at": now}},
    )
    write_manifest(mdir, manifest)
    crash_point("sync-push-manifest")
    for rel in stale:
        (mdir / rel).unlink(missing_ok=True)
    return total
