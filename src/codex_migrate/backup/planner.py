"""Listing what a backup will hold: the planner and the helpers that pick files and lines."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from codex_migrate import safejson
from codex_migrate.backup.select import (
    _CLI_VERSION_RE,
    LEFT_OUT_REASONS,
    ROLLOUT_ROLES,
    SQLITE_SIDE_SUFFIXES,
    BackupError,
    PlanItem,
    _is_lock_or_temp,
    _is_sqlite,
    is_credential,
    select_threads,
)
from codex_migrate.catalog import ProgressFn, build_catalog
from codex_migrate.errors import HomeNotFound
from codex_migrate.fsutil import check_regular, open_regular
from codex_migrate.home import ARCHIVED_DIR, SESSIONS_DIR, CodexHome, check_inside
from codex_migrate.manifest import (
    INCOMPLETE_TAG,
    format_for_name,
)
from codex_migrate.rollout import iter_lines, open_rollout, parse_rollout_name
from codex_migrate.statedb import is_inside

# -- the engine ---------------------------------------------------------------------------------


class _Planner:
    """Builds the list of files, and the list of what was deliberately left out."""

    def __init__(self, home: CodexHome, selected: set[str] | None, full: bool) -> None:
        self.home = home
        self.root = home.root
        self.selected = selected
        self.full = full
        self.items: dict[str, PlanItem] = {}
        self.left_out: list[dict[str, str]] = []
        self.handled_sources: set[Path] = set()
        self.skip_paths: set[Path] = set()

    def add(self, item: PlanItem) -> None:
        if item.rel not in self.items:
            self.items[item.rel] = item
            self.handled_sources.add(item.src)

    def leave_out(self, rel: str, reason: str) -> None:
        self.left_out.append({"path": rel, "reason": reason})

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def sessions(self) -> None:
        """Rollouts (``.jsonl`` and ``.jsonl.zst``) of the chosen threads, in their layout."""
        for base, role in ((SESSIONS_DIR, "rollout"), (ARCHIVED_DIR, "archived-rollout")):
            top = self.root / base
            if not top.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(top, onerror=self._unlistable(top)):
                dirnames.sort()
                for name in sorted(filenames):
                    path = Path(dirpath) / name
                    if not name.endswith((".jsonl", ".jsonl.zst")):
                        continue
                    parsed = parse_rollout_name(name)
                    if self.selected is not None and (
                        parsed is None or parsed[1] not in self.selected
                    ):
                        continue
                    if reason := _unreadable(self.home, path):
                        self.leave_out(self.rel(path), reason)
                        continue
                    self.add(PlanItem(self.rel(path), path, role))

    def _unlistable(self, top: Path) -> Callable[[OSError], None]:
        """A folder of rollouts that cannot be listed: the whole ``sessions/`` is an error
        (a backup without it would pass for complete), a folder inside it is left out and
        named."""

        def failed(exc: OSError) -> None:
            why = f"folder cannot be read: {exc.strerror or exc}"
            if exc.filename is None or Path(exc.filename) == top:
                raise HomeNotFound(
                    f"{top} cannot be read ({exc.strerror or exc}); nothing was backed up.",
                    hint="Check that this user may read that folder and everything in it.",
                    code="home-unreadable",
                    params={"path": str(top)},
                )
            self.leave_out(self.rel(Path(exc.filename)) + "/", why)

        return failed

    def referenced_segments(self) -> None:
        """Selecting threads: also the earlier rollouts they continue (``rollout_reference``
        records name them by absolute path), so a selected thread is whole in the backup."""
        queue = [i for i in self.items.values() if i.role in ROLLOUT_ROLES]
        while queue:
            item = queue.pop()
            for target in _referenced_rollouts(item.src):
                if not is_inside(target, self.root):
                    continue
                path = Path(target)
                if not path.is_file() or _unreadable(self.home, path):
                    continue
                rel = self.rel(path)
                if rel in self.items:
                    continue
                role = "archived-rollout" if rel.startswith(ARCHIVED_DIR + "/") else "rollout"
                self.add(PlanItem(rel, path, role))
                queue.append(self.items[rel])

    def jsonl_index(self, path: Path, role: str, key: str) -> None:
        if not os.path.lexists(path):
            return
        if reason := _unreadable(self.home, path):
            self.leave_out(self.rel(path), reason)
            return
        if self.selected is None:
            self.add(PlanItem(self.rel(path), path, role))
        else:
            self.add(PlanItem(self.rel(path), path, role, kind="filter", filter_key=key))

    def everything_else(self, outputs: list[Path]) -> None:
        """``--full``: the rest of the home, minus credentials, locks, temp and side files."""
        skip = {p.resolve() for p in outputs if p is not None}
        handled = {p.resolve() for p in self.handled_sources}
        for dirpath, dirnames, filenames in os.walk(self.root):
            here = Path(dirpath)
            keep_dirs = []
            for d in sorted(dirnames):
                path = here / d
                rel = self.rel(path)
                if path.resolve() in skip or INCOMPLETE_TAG in d:
                    continue
                if is_credential(d):
                    self.leave_out(rel + "/", "looks like credentials or tokens: never backed up")
                elif path.is_symlink():
                    self.leave_out(rel + "/", "a link to a folder: not followed")
                elif rel == ".tmp":
                    self.leave_out(rel + "/", "temporary files: never backed up")
                else:
                    keep_dirs.append(d)
            dirnames[:] = keep_dirs
            for name in sorted(filenames):
                path = here / name
                rel = self.rel(path)
                if rel in self.items or path.resolve() in handled or path.resolve() in skip:
                    continue
                if self._governed_by_selection(rel, name):
                    continue
                if is_credential(name):
                    reason = LEFT_OUT_REASONS.get(rel, "looks like credentials or tokens")
                    self.leave_out(rel, reason.split(":")[0] + ": never backed up")
                elif name.endswith(SQLITE_SIDE_SUFFIXES) and (here / _side_base(name)).exists():
                    continue  # part of its DB's snapshot
                elif _is_lock_or_temp(name):
                    self.leave_out(rel, "lock or temporary file")
                elif why := _unreadable(self.home, path):
                    self.leave_out(rel, why)
                elif _is_sqlite(path):
                    self.add(PlanItem(rel, path, "sqlite", kind="sqlite"))
                else:
                    self.add(PlanItem(rel, path, "other"))

    def _governed_by_selection(self, rel: str, name: str) -> bool:
        """Rollouts are chosen by :meth:`sessions` (and the selection), never by ``--full``."""
        return rel.startswith((SESSIONS_DIR + "/", ARCHIVED_DIR + "/")) and name.endswith(
            (".jsonl", ".jsonl.zst")
        )

    def default_left_out(self) -> None:
        """Name the top-level things a sessions-only backup leaves out, and why."""
        try:
            names = sorted(os.listdir(self.root))
        except OSError:
            return
        taken_top = {rel.split("/", 1)[0] for rel in self.items}
        for name in names:
            if name in taken_top or name.endswith(SQLITE_SIDE_SUFFIXES):
                continue
            if name in (SESSIONS_DIR, ARCHIVED_DIR) or INCOMPLETE_TAG in name:
                continue
            reason = LEFT_OUT_REASONS.get(name)
            if reason is None:
                if is_credential(name):
                    reason = "looks like credentials or tokens: never backed up"
                elif name.startswith("logs_") or name == "log":
                    reason = "logs (only with --full)"
                else:
                    reason = "not session data (only with --full)"
            is_dir = (self.root / name).is_dir()
            self.leave_out(name + ("/" if is_dir else ""), reason)


_REFERENCE_MARK = b'"rollout_reference"'


def _referenced_rollouts(path: Path) -> list[str]:
    """``rollout_path`` values of the ``rollout_reference`` records in a rollout."""
    found: list[str] = []
    try:
        with open_rollout(path) as stream:
            for line in iter_lines(stream):
                if _REFERENCE_MARK not in line.raw or not isinstance(line.obj, dict):
                    continue
                payload = line.obj.get("payload")
                if line.obj.get("type") == "rollout_reference" and isinstance(payload, dict):
                    target = payload.get("rollout_path")
                    if isinstance(target, str) and target:
                        found.append(target)
    except Exception:  # unreadable or a damaged .zst: the file itself is still backed up
        return found
    return found


def _side_base(name: str) -> str:
    for suffix in SQLITE_SIDE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _db_rel(home: CodexHome, db: Path) -> str:
    """Where a DB goes in the backup: its place in the home, or the top when it lives
    outside (``$CODEX_SQLITE_HOME``)."""
    try:
        return db.relative_to(home.root).as_posix()
    except ValueError:
        return db.name


def _unreadable(home: CodexHome, path: Path) -> str | None:
    """Why a file is not backed up although it is in the home: a link out of it, or not a
    regular file (a FIFO would block the copy). None when it can be copied."""
    try:
        check_inside(home, path)
        check_regular(path)
    except OSError as exc:
        return exc.strerror or "cannot be read"
    return None


def _filtered_lines(src: Path, key: str, keep: set[str]) -> Iterator[bytes]:
    """The lines of a JSONL index that belong to the chosen threads, bytes untouched.

    One generator for the backup and its dry run, so both size the filtered file the same.
    """
    with open_regular(src) as f:
        for raw in f:
            try:
                obj = safejson.loads(raw)
            except ValueError:
                continue
            value = obj.get(key) if isinstance(obj, dict) else None
            if isinstance(value, str) and value.lower() in keep:
                yield raw if raw.endswith(b"\n") else raw + b"\n"


def _filtered(src: Path, key: str, keep: set[str]) -> IO[bytes]:
    """:func:`_filtered_lines` as a stream the writers can read."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    for line in _filtered_lines(src, key, keep):
        out.write(line)
    out.seek(0)
    return out


def _cli_version(head: bytes, compressed: bool) -> str | None:
    if compressed:
        try:
            import zstandard

            head = zstandard.ZstdDecompressor().decompressobj().decompress(head)
        except Exception:
            return None
    first = head.split(b"\n", 1)[0]
    m = _CLI_VERSION_RE.search(first)
    return m.group(1).decode("utf-8", "replace") if m else None


def _target(output_parent: Path | None, archive: Path | None, name: str) -> tuple[str, Path]:
    """The format and the path a backup asks for, checked the same for a run and a dry run."""
    if (output_parent is None) == (archive is None):
        raise BackupError(
            "Give exactly one of --output-parent and --archive.", code="backup-destination"
        )
    if archive is not None:
        archive = Path(archive).expanduser().absolute()
        fmt = format_for_name(archive) or ""
        if not fmt:
            raise BackupError(
                f"{archive.name}: an archive must end in .tar.zst (or .tzst) or .zip.",
                code="archive-name",
                params={"name": archive.name},
            )
        return fmt, archive
    assert output_parent is not None
    output_parent = Path(output_parent).expanduser().absolute()
    if output_parent.exists() and not output_parent.is_dir():
        raise BackupError(
            f"{output_parent} is not a folder.",
            code="backup-not-folder",
            params={"path": str(output_parent)},
        )
    return "folder", output_parent / name


def _selection(
    home: CodexHome, threads: list[str], projects: list[str], progress: ProgressFn | None
) -> tuple[set[str] | None, dict[str, Any] | None]:
    """``(None, None)`` for the whole home, else the chosen thread ids and their record."""
    if not threads and not projects:
        return None, None
    catalog = build_catalog(home, progress)
    return select_threads(catalog, threads, projects)


#: How a DB becomes backup files: ``(db, rel, role) -> items``. The real run snapshots it,
#: the dry run predicts what the snapshot will be.
DbItems = Callable[[Path, str, str], list[PlanItem]]


def _collect(
    home: CodexHome,
    selected: set[str] | None,
    full: bool,
    outputs: list[Path],
    db_items: DbItems,
) -> _Planner:
    """Decide every file of a backup: the one code path behind both a backup and its dry run.

    DBs come first: for a real run, every row a snapshot holds then has its rollout among the
    files listed after it.
    """
    planner = _Planner(home, selected, full)
    for db, role in ((home.state_db, "state-db"), (home.history_db, "history-db")):
        if db is not None:
            for item in db_items(db, _db_rel(home, db), role):
                planner.add(item)
    planner.sessions()
    if selected is not None:
        planner.referenced_segments()
    planner.jsonl_index(home.session_index, "session-index", "id")
    planner.jsonl_index(home.history_jsonl, "history", "session_id")
    if full:
        planner.everything_else(outputs)
        for rel, item in list(planner.items.items()):
            if item.kind == "sqlite":
                del planner.items[rel]
                for db_item in db_items(item.src, rel, "sqlite"):
                    planner.items[db_item.rel] = db_item
    else:
        planner.default_left_out()
    return planner
