"""Bind threads that came in history-only, once a root covers their project.

A pull keeps a thread whose project lies outside every root under the path recorded on the
other machine, and notes it in the sync state (``unbound``: thread -> machine and path). When
both machines later name a root that covers that path, the next sync rebinds those threads
(the same rewrite as ``rebind``, one transaction per machine, previewed by ``--dry-run``), so
the user never has to find them and run ``rebind`` by hand. A thread whose project changed here
meanwhile (continued elsewhere, or rebound by hand) is left as it is and no longer tracked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from codex_migrate.catalog import ProgressFn
from codex_migrate.errors import CodexMigrateError
from codex_migrate.home import CodexHome, RolloutRef
from codex_migrate.pathmap import PathMapper, Rule, Status
from codex_migrate.paths import try_parse
from codex_migrate.rebind import apply_rebind, build_rebind_plan
from codex_migrate.sync.layout import CHUNK, SyncState
from codex_migrate.sync.pull import local_catalog, root_rules


@dataclass
class Bind:
    """One history-only thread a root now covers: ``old_cwd`` (as recorded there) -> here."""

    thread: str
    machine: str
    old_cwd: str
    new_cwd: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _mapper(their: dict[str, str], mine: dict[str, str]) -> PathMapper | None:
    try:
        return PathMapper(root_rules(their, mine))
    except ValueError:
        return None


def plan_binds(
    state: SyncState, their_roots: dict[str, dict[str, str]], my_roots: dict[str, str]
) -> list[Bind]:
    """The unbound threads that a root of both machines now covers (reads nothing else)."""
    out: list[Bind] = []
    for tid, entry in sorted(state.unbound.items()):
        machine, cwd = entry.get("machine"), entry.get("cwd")
        if not isinstance(machine, str) or not isinstance(cwd, str):
            continue
        mapper = _mapper(their_roots.get(machine, {}), my_roots)
        if mapper is None:
            continue
        got = mapper.resolve(cwd)
        if got.status is Status.MAPPED and got.new_path and got.new_path != cwd:
            out.append(Bind(tid, machine, cwd, got.new_path))
    return out


def track_unbound(home: CodexHome, state: SyncState, my_roots: dict[str, str]) -> None:
    """For a state kept before ``unbound`` was: the threads a pull wrote whose project lies
    outside every root of this machine came in history-only; note them (read once, kept by
    the next run's state)."""
    if state.tracked:
        return
    state.tracked = True
    came = {t: str(v["from"]) for t, v in state.installed.items() if v.get("from")}
    if not came:
        return
    try:
        mine = PathMapper([Rule.of(p, p) for p in my_roots.values()])
    except ValueError:
        return
    refs: dict[str, RolloutRef] = {}
    for ref in home.rollouts():
        if ref.thread_id in came:
            refs.setdefault(ref.thread_id, ref)
    for t in local_catalog(home, refs, set(refs)).threads:
        if t.cwd and try_parse(t.cwd) and mine.resolve(t.cwd).status is Status.UNMAPPED:
            state.unbound.setdefault(t.id, {"machine": came[t.id], "cwd": t.cwd})


def _sha256(path: Any) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def apply_binds(
    home: CodexHome,
    binds: list[Bind],
    state: SyncState,
    their_roots: dict[str, dict[str, str]],
    my_roots: dict[str, str],
    progress: ProgressFn | None = None,
) -> tuple[list[str], list[str]]:
    """Rebind ``binds``, one transaction per machine; returns (transaction ids, warnings).

    A copy a pull wrote and nobody touched since stays "not ours" for push afterwards (its
    new bytes are recorded as installed), so binding never publishes a thread back."""
    refs: dict[str, RolloutRef] = {}
    for ref in home.rollouts():
        refs.setdefault(ref.thread_id, ref)
    txs: list[str] = []
    warnings: list[str] = []
    for machine in sorted({b.machine for b in binds}):
        mine = [b for b in binds if b.machine == machine]
        mapper = _mapper(their_roots.get(machine, {}), my_roots)
        catalog = local_catalog(home, refs, {b.thread for b in mine})
        found = {t.id: t for t in catalog.threads}
        ready = []
        for b in mine:
            t = found.get(b.thread)
            if t is None or t.cwd != b.old_cwd:
                state.unbound.pop(b.thread, None)  # gone, or its project changed here
            else:
                ready.append(b.thread)
        if not ready or mapper is None:
            continue
        untouched = {}
        for tid in ready:
            got, st = state.installed.get(tid), found[tid].rollout_path.stat()
            if got and got.get("size") == st.st_size and got.get("mtime_ns") == st.st_mtime_ns:
                untouched[tid] = got
        try:
            plan = build_rebind_plan(catalog, mapper, thread_ids=ready)
            report = apply_rebind(plan, progress)
        except (CodexMigrateError, OSError) as exc:
            why = exc.message if isinstance(exc, CodexMigrateError) else str(exc)
            warnings.append(
                f"{len(ready)} thread(s) from {machine!r} wait to be moved under their root "
                f"(next sync): {why}"
            )
            continue
        if report.transaction_id:
            txs.append(report.transaction_id)
        for tid in ready:
            state.unbound.pop(tid, None)
            if tid in untouched:
                path = found[tid].rollout_path
                st = path.stat()
                state.installed[tid] = {
                    **untouched[tid],
                    "sha256": _sha256(path),
                    "size": st.st_size,
                    "mtime_ns": st.st_mtime_ns,
                }
    return txs, warnings
