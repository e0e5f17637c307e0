"""The migrate preview's sessions, grouped by project, so a real history stays one small page.

A plan of a few hundred sessions is listed whole. A bigger one (3 000 sessions is 2 MB of
rows) shows one line per project with its counts, collapsed; the sessions of the project the
user opens are listed a page at a time. The counts and the Apply button always cover the
whole plan: only the listing is paged.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from codex_migrate.plan import ImportPlan, PlanItem

#: Plans up to this many sessions are listed whole.
SMALL = 200
#: Sessions listed per page of an opened project.
PAGE = 100


@dataclass
class Group:
    """One project of the plan: where its sessions go, what happens to them, which are shown."""

    cwd: str  # as recorded on the other computer ("" when a session recorded none)
    new_cwd: str | None
    items: list[PlanItem]
    counts: dict[str, int] = field(default_factory=dict)
    open: bool = False
    start: int = 0  # the first listed session (pages of PAGE) when open

    @property
    def anchor(self) -> str:
        return "p-" + hashlib.sha256(self.cwd.encode()).hexdigest()[:10]

    @property
    def rows(self) -> list[PlanItem]:
        return self.items[self.start : self.start + PAGE] if self.open else []

    @property
    def previous(self) -> int | None:
        return self.start - PAGE if self.open and self.start > 0 else None

    @property
    def next(self) -> int | None:
        end = self.start + PAGE
        return end if self.open and end < len(self.items) else None


def group_plan(plan: ImportPlan, opened: str | None = None, start: int = 0) -> list[Group]:
    """The plan's projects in recorded-path order; all open for a small plan, else only
    ``opened`` (at ``start``, clamped to a page boundary)."""
    by_cwd: dict[str, Group] = {}
    for item in plan.items:
        cwd = item.thread.cwd or ""
        group = by_cwd.get(cwd)
        if group is None:
            group = by_cwd[cwd] = Group(cwd, item.new_cwd, [])
        group.items.append(item)
    small = len(plan.items) <= SMALL
    groups = [by_cwd[k] for k in sorted(by_cwd)]
    for g in groups:
        g.counts = dict(Counter(i.action for i in g.items))
        g.open = small or g.cwd == opened
        if g.open and not small:
            last = max(len(g.items) - 1, 0)
            g.start = max(0, min(start, last)) // PAGE * PAGE
    return groups
