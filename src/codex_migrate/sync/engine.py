"""One ``sync`` run: push this machine's threads, then pull every other machine's.

The run reads everything first (what would go out, what would come in); ``--dry-run`` and
``--status`` stop there and write nothing. A real run records this machine and its roots in
``codex-sync.toml`` when they are new, pushes, then pulls machine by machine, each planned
against the home as the previous one left it (so a longer history from one machine is never
replaced by a shorter one from another). Nothing is written when nothing changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.catalog import ProgressFn
from codex_migrate.codexbin import FoundCodex
from codex_migrate.errors import CodexMigrateError, HomeInUse
from codex_migrate.home import CodexHome, RolloutRef, open_target
from codex_migrate.inuse import HomeLock
from codex_migrate.manifest import Manifest, ManifestError
from codex_migrate.merge import KEEP
from codex_migrate.sync.bind import Bind, apply_binds, plan_binds, track_unbound
from codex_migrate.sync.config import (
    CONFIG_NAME,
    config_copies,
    load_config,
    parse_root,
    resolve_machine,
    save_config,
    updated_config,
)
from codex_migrate.sync.layout import (
    SyncFolderError,
    SyncState,
    machine_dir,
    other_machines,
    read_manifest,
    read_state,
    sync_info,
    write_state,
)
from codex_migrate.sync.pull import MachinePull, apply_pull, plan_pull
from codex_migrate.sync.push import PushPlan, apply_push, plan_push
from codex_migrate.writing import HomeWriter, open_for_writing


@dataclass
class SyncOptions:
    folder: Path
    home: Path
    machine: str | None = None
    roots: list[str] = field(default_factory=list)
    #: the Codex that registers pulled threads (``None``: none is run)
    codex: FoundCodex | None = None


@dataclass
class SyncReport:
    folder: Path
    home: Path
    machine: str
    roots: dict[str, str]
    dry_run: bool
    push: PushPlan
    pulls: list[MachinePull] = field(default_factory=list)
    last_push: str | None = None
    config_written: bool = False
    pushed_bytes: int = 0
    state_written: bool = False
    warnings: list[str] = field(default_factory=list)
    my_conflicts: list[dict[str, Any]] = field(default_factory=list)
    #: history-only threads a root now covers: moved under it (see :mod:`.bind`)
    binds: list[Bind] = field(default_factory=list)
    bind_transactions: list[str] = field(default_factory=list)

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        return [c for p in self.pulls for c in p.conflicts]

    @property
    def has_work(self) -> bool:
        return bool(self.push.needed or self.binds) or any(
            p.plan is not None and (p.plan.writes or p.plan.items) for p in self.pulls
        )

    @property
    def wrote(self) -> bool:
        return bool(
            self.config_written
            or self.pushed_bytes
            or self.state_written
            or self.bind_transactions
            or any(p.report and p.report.transaction_id for p in self.pulls)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "home": str(self.home),
            "machine": self.machine,
            "roots": self.roots,
            "dry_run": self.dry_run,
            "last_push": self.last_push,
            "push": self.push.to_dict(),
            "pushed_bytes": self.pushed_bytes,
            "pull": [p.to_dict() for p in self.pulls],
            "conflicts": self.conflicts,
            "in_flight": [{"machine": p.machine, **f} for p in self.pulls for f in p.in_flight],
            "bind": [b.to_dict() for b in self.binds],
            "bind_transactions": self.bind_transactions,
            "config_written": self.config_written,
            "state_written": self.state_written,
            "wrote": self.wrote,
            "warnings": self.warnings,
        }


@dataclass
class _Context:
    folder: Path
    home: CodexHome
    machine: str
    given_roots: dict[str, str]
    my_roots: dict[str, str]
    their_roots: dict[str, dict[str, str]]
    state: SyncState
    last_push: str | None
    own: Manifest | None
    warnings: list[str] = field(default_factory=list)


def open_context(opts: SyncOptions) -> _Context:
    folder = opts.folder.expanduser().absolute()
    if not folder.is_dir():
        raise SyncFolderError(
            f"{folder} is not a folder.",
            hint="Create it inside the folder your sync engine (Syncthing, Dropbox, a share) "
            "carries, then run sync again on each machine.",
        )
    home = open_target(opts.home.expanduser().absolute())
    _refuse_overlap(folder, home.root)
    cfg = load_config(folder)
    machine = resolve_machine(cfg, opts.machine, home.root)
    given = dict(parse_root(r) for r in opts.roots)
    mdir = machine_dir(folder, machine)
    warnings: list[str] = []
    try:
        own = read_manifest(mdir)
    except ManifestError as exc:  # our own part: publish it afresh rather than stop
        own = None
        warnings.append(f"{exc.message}; this machine's threads are published afresh")
    info = sync_info(own) if own else {}
    if info.get("home") and info["home"] != str(home.root):
        raise SyncFolderError(
            f"{mdir} is written by the home {info['home']} "
            f"(host {info.get('hostname') or '?'}), not by {home.root}.",
            hint="Each home needs its own --machine NAME.",
        )
    got = info.get("roots")
    manifest_roots: dict[str, str] = dict(got) if isinstance(got, dict) else {}
    my_roots = {**manifest_roots, **cfg.roots_of(machine), **given}
    their: dict[str, dict[str, str]] = {}
    for other in other_machines(folder, machine):
        recorded: dict[str, str] = {}
        try:
            theirs = read_manifest(machine_dir(folder, other))
            got = sync_info(theirs).get("roots") if theirs else None
            recorded = dict(got) if isinstance(got, dict) else {}
        except ManifestError:
            pass  # reported by the pull
        their[other] = {**recorded, **cfg.roots_of(other)}
    state = read_state(mdir)
    track_unbound(home, state, my_roots)
    return _Context(
        folder,
        home,
        machine,
        given,
        my_roots,
        their,
        state,
        info.get("pushed_at"),
        own,
        warnings,
    )


def _refuse_overlap(folder: Path, home: Path) -> None:
    """The shared folder and the home must be apart: a sync engine carrying the home itself
    would carry its credentials and live DBs, which is what `sync` exists to avoid."""
    f, h = folder.resolve(), home.resolve()
    if f == h or f.is_relative_to(h) or h.is_relative_to(f):
        raise SyncFolderError(
            f"{folder} and the Codex home {home} overlap.",
            hint="Give sync a folder of its own outside the home (e.g. ~/Sync/codex-history), "
            "and do not let the sync engine carry the home itself.",
        )


def _local_refs(home: CodexHome) -> dict[str, RolloutRef]:
    refs: dict[str, RolloutRef] = {}
    for ref in home.rollouts():
        refs.setdefault(ref.thread_id, ref)
    return refs


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """Private snapshots of the files being pulled (outside the home and the folder)."""
    path = Path(tempfile.mkdtemp(prefix="codex-migrate-sync-scratch-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _run_lock(home: Path) -> Iterator[None]:
    """One sync per home at a time (the import inside takes the home's own lock too); the
    lock's folder goes with it, so runs leave nothing in the temp folder."""
    key = hashlib.sha256(str(home).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"codex-migrate-sync-lock-{key}"
    try:
        with HomeLock(folder):
            yield
    finally:
        with contextlib.suppress(OSError):
            folder.rmdir()


def plan_all(
    ctx: _Context, scratch: Path, progress: ProgressFn | None, *, pulls: bool = True
) -> SyncReport:
    """The push plan, and (when ``pulls``) what each other machine would bring in."""
    mdir = machine_dir(ctx.folder, ctx.machine)
    push = plan_push(ctx.home, mdir, ctx.machine, ctx.my_roots, ctx.state, ctx.own, progress)
    report = SyncReport(
        ctx.folder, ctx.home.root, ctx.machine, ctx.my_roots, True, push, last_push=ctx.last_push
    )
    local = _local_refs(ctx.home) if pulls else {}
    for other, roots in ctx.their_roots.items() if pulls else ():
        report.pulls.append(_plan_pull(ctx, other, roots, local, scratch / "preview" / other))
    report.warnings += ctx.warnings
    for name, path in ctx.my_roots.items():
        if not Path(path).is_dir():
            report.warnings.append(f"root {name!r}: {path} does not exist on this machine")
    for name in config_copies(ctx.folder):
        report.warnings.append(
            f"the sync engine left {name} beside {CONFIG_NAME} (both were edited at once): "
            f"merge what you need into {CONFIG_NAME} and delete it; each machine's manifest "
            "keeps its own roots meanwhile"
        )
    report.my_conflicts = list(ctx.state.conflicts)
    report.binds = plan_binds(ctx.state, ctx.their_roots, ctx.my_roots)
    return report


def _plan_pull(
    ctx: _Context,
    other: str,
    roots: dict[str, str],
    local: dict[str, RolloutRef],
    snapshot: Path,
) -> MachinePull:
    """What ``other`` brings in, planned against this home, its roots and its sync state (the
    preview and the run plan each pull the same way)."""
    mdir = machine_dir(ctx.folder, other)
    return plan_pull(ctx.home, mdir, other, (roots, ctx.my_roots), ctx.state, local, snapshot)


def _pull_all(
    ctx: _Context, opts: SyncOptions, scratch: Path, progress: ProgressFn | None
) -> list[MachinePull]:
    """Each other machine in turn, planned against the home as the previous one left it.
    The home is opened for writing once, at the first pull that may write; while Codex
    runs on it, nothing is taken in (publishing was safe) and each pull says so."""
    local: dict[str, RolloutRef] | None = None
    pulls: list[MachinePull] = []
    writer: HomeWriter | None = None
    blocked: str | None = None
    with contextlib.ExitStack() as stack:
        for other, roots in ctx.their_roots.items():
            if local is None:
                local = _local_refs(ctx.home)
            pull = _plan_pull(ctx, other, roots, local, scratch / "pull" / other)
            pulls.append(pull)
            if pull.plan is None:
                continue
            try:
                if blocked is None and writer is None:
                    writer = stack.enter_context(open_for_writing(ctx.home, "sync"))
            except HomeInUse as exc:
                blocked = exc.message
            if blocked is not None or writer is None:
                _defer(pull, ctx.state, blocked)
                continue
            apply_pull(pull, ctx.state, opts.codex, writer, progress)
            if pull.report and pull.report.transaction_id:
                local = None
    return pulls


def _defer(pull: MachinePull, state: SyncState, why: str | None) -> None:
    """The home cannot be written now. Threads longer here are settled all the same (they
    need no write); anything else waits for the next run, and only a pull that would bring
    something in counts as held up."""
    plan = pull.plan
    assert plan is not None
    keep = {i.id: pull.settled[i.id] for i in plan.items if i.action == KEEP}
    state.pulled.setdefault(pull.machine, {}).update(keep)
    if plan.writes:
        pull.error = f"nothing taken in: {why}"
        pull.blocked = True
    pull.plan = None
    pull.settled = keep


def run_sync(
    opts: SyncOptions,
    *,
    confirm: Callable[[SyncReport], bool] | None = None,
    progress: ProgressFn | None = None,
) -> SyncReport:
    """Push, then pull from each machine; ``confirm(preview)`` may decline before any write."""
    home_path = opts.home.expanduser().absolute()
    with _run_lock(home_path), scratch_dir() as scratch:
        ctx = open_context(opts)
        # Without a question to ask, the pulls are planned once, each just before it runs.
        report = plan_all(ctx, scratch, progress, pulls=confirm is not None)
        if confirm is not None and report.has_work and not confirm(report):
            raise CodexMigrateError("sync cancelled; nothing was written.")
        shutil.rmtree(scratch / "preview", ignore_errors=True)
        report.dry_run = False
        cfg = updated_config(ctx.folder, ctx.machine, ctx.home.root, ctx.given_roots)
        if cfg is not None:
            save_config(ctx.folder, cfg)
            report.config_written = True
        report.pushed_bytes = apply_push(report.push, progress)
        ctx.state.installed.update(report.push.installed_seen)
        report.pulls = _pull_all(ctx, opts, scratch, progress)
        report.binds = plan_binds(ctx.state, ctx.their_roots, ctx.my_roots)
        if report.binds:
            txs, warnings = apply_binds(
                ctx.home, report.binds, ctx.state, ctx.their_roots, ctx.my_roots, progress
            )
            report.bind_transactions, report.warnings = txs, report.warnings + warnings
        ctx.state.conflicts = sorted(
            report.conflicts, key=lambda c: (str(c["machine"]), str(c["thread"]))
        )
        report.my_conflicts = ctx.state.conflicts
        mdir = machine_dir(ctx.folder, ctx.machine)
        if mdir.is_dir() or ctx.state.pulled or ctx.state.installed or ctx.state.conflicts:
            report.state_written = write_state(mdir, ctx.state)
        return report
