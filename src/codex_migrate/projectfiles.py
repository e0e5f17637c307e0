"""The per-project files an import or rebind updates beside the sessions.

Codex Desktop's project list (:mod:`desktop`) gains each project root the sessions now live
in (rebind replaces the old root), and our choices file (:mod:`choices`) records threads kept
as history and the projects we mapped. Both are computed fresh right before the transaction
and written inside it, so a rollback restores them byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from codex_migrate.catalog import cwd_exists
from codex_migrate.choices import CHOICES_REL, updated_choices
from codex_migrate.desktop import GLOBAL_STATE, updated_state
from codex_migrate.pathmap import PathMapper, Status

if TYPE_CHECKING:
    from codex_migrate.plan import ImportPlan
    from codex_migrate.rebind import RebindPlan

MOVED = ("import", "replace", "skip")


@dataclass
class _Seen:
    history: dict[str, str] = field(default_factory=dict)  # thread id -> recorded folder
    mapped: set[str] = field(default_factory=set)  # roots we mapped sessions to
    here: set[str] = field(default_factory=set)  # roots that exist on this machine
    released: list[str] = field(default_factory=list)  # threads no longer history-only
    replace: dict[str, str] = field(default_factory=dict)  # old root -> new root
    #: (cwd, new cwd) -> its status and whether the folder exists: thousands of threads
    #: share a few projects, each resolved and looked at once
    known: dict[tuple[str, str | None], tuple[Status, bool]] = field(default_factory=dict)

    def add(self, mapper: PathMapper, tid: str, cwd: str | None, new_cwd: str | None) -> None:
        if not cwd:
            return
        known = self.known.get((cwd, new_cwd))
        if known is None:
            status = mapper.resolve(cwd).status
            exists = status is not Status.HISTORY_ONLY and cwd_exists(new_cwd or cwd)
            known = self.known[(cwd, new_cwd)] = (status, exists)
        status, exists = known
        if status is Status.HISTORY_ONLY:
            self.history[tid] = cwd
            return
        self.released.append(tid)
        if status is Status.MAPPED and new_cwd:
            self.mapped.add(new_cwd)
        if exists:
            self.here.add(new_cwd or cwd)

    def files(self, root: Path) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        state = updated_state(root, add=sorted(self.here), replace=self.replace)
        if state is not None:
            out[GLOBAL_STATE] = state
        choices = updated_choices(
            root,
            history_only=self.history,
            mapped=sorted(self.mapped),
            no_longer_history=self.released,
        )
        if choices is not None:
            out[CHOICES_REL] = choices
        return out


def for_import(plan: ImportPlan) -> dict[str, bytes]:
    """Relative path -> new bytes, for the import's target home."""
    seen = _Seen()
    for item in plan.items:
        if item.action in MOVED:
            seen.add(plan.mapper, item.id, item.thread.cwd, item.new_cwd)
    return seen.files(plan.target.home.root)


def for_rebind(plan: RebindPlan) -> dict[str, bytes]:
    """Relative path -> new bytes, for the home being rebound (old roots replaced)."""
    seen = _Seen()
    items = {i.id: i for i in plan.items}
    for thread in plan.catalog.threads:
        item = items.get(thread.id)
        new_cwd = item.new_cwd if item else None
        if new_cwd and thread.cwd and new_cwd != thread.cwd:
            seen.replace[thread.cwd] = new_cwd
        seen.add(plan.mapper, thread.id, thread.cwd, new_cwd)
    # Only threads this rebind moved lose a history-only mark.
    seen.released = [t for t in seen.released if t in items]
    seen.here &= seen.mapped  # the Desktop learns the roots rebind moved sessions to
    return seen.files(plan.catalog.home.root)
