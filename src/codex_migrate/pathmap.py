r"""Rules that say where each old project lives on this machine.

A :class:`Rule` ``OLD=NEW`` maps OLD and everything under it (component-wise, so ``/a/proj`` does
not cover ``/a/project2``); the rest of the path is kept and re-spelled in NEW's family, so
``/Users/alex/p=C:\src\p`` turns ``/Users/alex/p/a b/c`` into ``C:\src\p\a b\c``. The rule with
the longest OLD (most components) wins, and an exact project binding is simply a rule whose OLD
is that project. Windows rules also match the other spellings of the same place (``c:/x``,
``\\?\C:\x``, any case).

With ``wsl=True`` a drive rule also covers that drive's WSL mount and a mount rule covers the
drive (``D:\Projects`` and ``/mnt/d/Projects``). Those comparisons are case-insensitive, as the
drive is NTFS whichever side looks at it.

``history_only`` entries name projects to keep at their recorded path: they and everything under
them are reported, never changed. They compete with rules on length, so a history-only project
inside a mapped tree stays put, and a rule inside a history-only tree still maps.

Two entries for the same place (``C:\x=/a`` and ``c:/x=/b``, or a rule and a history-only entry)
are a ``ValueError``: which one wins must not depend on the order they were given in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from codex_migrate.paths import (
    Family,
    ProjectPath,
    from_wsl_mount,
    parse,
    to_wsl_mount,
    try_parse,
)

__all__ = [
    "MappingPlan",
    "PathMapper",
    "ProjectPlan",
    "Resolution",
    "Rule",
    "Status",
]


@dataclass(frozen=True)
class Rule:
    """``OLD=NEW``: OLD and every path below it move to NEW."""

    old: ProjectPath
    new: ProjectPath

    @classmethod
    def parse(cls, text: str) -> Rule:
        """Read ``OLD=NEW``, splitting at the first ``=`` that leaves two absolute paths.

        POSIX names may contain ``=``, so ``/a=b/c=/d`` is ``/a=b/c`` → ``/d`` (the first ``=``
        would leave the relative ``b/c=/d``). When several splits are valid, the first wins:
        ``/a=/b=/c`` is ``/a`` → ``/b=/c``; use :meth:`of` to give the two sides separately.
        Nothing is stripped: a space around ``=`` belongs to the path.
        """
        if not isinstance(text, str):
            raise TypeError(f"rule must be str, not {type(text).__name__}")
        if "=" not in text:
            raise ValueError(
                f"rule {text!r} has no '=': expected OLD=NEW, e.g. /Users/a/p=/home/a/p"
            )
        first_error = ""
        for m in re.finditer("=", text):
            left, right = text[: m.start()], text[m.end() :]
            try:
                old = parse(left)
            except ValueError as exc:
                first_error = first_error or f"OLD: {exc}"
                continue
            try:
                new = parse(right)
            except ValueError as exc:
                first_error = first_error or f"NEW: {exc}"
                continue
            return cls(old, new)
        raise ValueError(
            f"rule {text!r}: no '=' splits it into two absolute paths OLD=NEW ({first_error})"
        )

    @classmethod
    def of(cls, old: str | ProjectPath, new: str | ProjectPath) -> Rule:
        """Build from two sides, for callers (config files) that never had them joined."""
        return cls(_as_path(old), _as_path(new))

    def __str__(self) -> str:
        return f"{self.old}={self.new}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": str(self.old),
            "new": str(self.new),
            "old_family": self.old.family.value,
            "new_family": self.new.family.value,
        }


def _as_path(value: str | ProjectPath) -> ProjectPath:
    return value if isinstance(value, ProjectPath) else parse(value)


class Status(StrEnum):
    """What a mapper decided for one path."""

    MAPPED = "mapped"
    HISTORY_ONLY = "history_only"
    UNMAPPED = "unmapped"
    INVALID = "invalid"


@dataclass(frozen=True)
class Resolution:
    """The decision for one recorded path, with the entry that made it."""

    recorded: str
    status: Status
    new_path: str | None = None
    rule: Rule | None = None
    history_entry: ProjectPath | None = None

    @property
    def changed(self) -> bool:
        return self.status is Status.MAPPED and self.new_path != self.recorded

    def to_dict(self) -> dict[str, Any]:
        return _where_dict(self)


@dataclass(frozen=True)
class ProjectPlan:
    """One project in a :class:`MappingPlan`; ``exists`` is ``None`` when it was not checked."""

    recorded: str
    status: Status
    new_path: str | None
    rule: Rule | None
    history_entry: ProjectPath | None
    exists: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {**_where_dict(self), "exists": self.exists}


def _where_dict(where: Resolution | ProjectPlan) -> dict[str, Any]:
    """Where a recorded path goes, as the JSON of a resolution and of a plan's project says."""
    return {
        "recorded": where.recorded,
        "status": where.status.value,
        "new_path": where.new_path,
        "rule": None if where.rule is None else str(where.rule),
        "history_entry": None if where.history_entry is None else str(where.history_entry),
    }


@dataclass
class MappingPlan:
    """What a migration would do to each project, for review before anything is written."""

    projects: list[ProjectPlan] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    unused_rules: list[Rule] = field(default_factory=list)
    wsl: bool = False

    @property
    def missing(self) -> list[str]:
        """New paths that were checked and do not exist here (likely a typo in a rule)."""
        return [p.new_path for p in self.projects if p.exists is False and p.new_path is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "projects": [p.to_dict() for p in self.projects],
            "unmapped": list(self.unmapped),
            "invalid": list(self.invalid),
            "missing": self.missing,
            "unused_rules": [str(r) for r in self.unused_rules],
            "wsl": self.wsl,
        }


@dataclass(frozen=True)
class _Entry:
    rule: Rule | None
    history: ProjectPath | None

    @property
    def old(self) -> ProjectPath:
        if self.rule is not None:
            return self.rule.old
        assert self.history is not None
        return self.history

    def describe(self) -> str:
        return str(self.rule) if self.rule is not None else f"history-only {self.history}"


def _depth(view: ProjectPath) -> int:
    """Specificity comparable across the two views of a WSL drive (``D:\\x`` ~ ``/mnt/d/x``)."""
    if view.family is Family.DRIVE or view.family is Family.EXTENDED:
        return len(view.parts) + 2
    return len(view.parts)


class PathMapper:
    """Applies rules and history-only entries to recorded paths; pure, never prints.

    Treat an instance as immutable: lookups and the rewriter's needles are built once from the
    rules given to the constructor.
    """

    def __init__(
        self,
        rules: Iterable[Rule | str] = (),
        *,
        history_only: Iterable[str | ProjectPath] = (),
        wsl: bool = False,
    ) -> None:
        self.wsl = wsl
        entries: list[_Entry] = []
        seen_rules: list[Rule] = []
        for r in rules:
            rule = r if isinstance(r, Rule) else Rule.parse(r)
            if any(rule.old == s.old and str(rule.new) == str(s.new) for s in seen_rules):
                continue  # the same rule given twice is harmless
            seen_rules.append(rule)
            entries.append(_Entry(rule, None))
        seen_hist: list[ProjectPath] = []
        for h in history_only:
            path = _as_path(h)
            if path in seen_hist:
                continue
            seen_hist.append(path)
            entries.append(_Entry(None, path))
        self.rules: tuple[Rule, ...] = tuple(seen_rules)
        self.history_only: tuple[ProjectPath, ...] = tuple(seen_hist)
        self._index: dict[tuple[str, ...], tuple[_Entry, ProjectPath]] = {}
        for entry in entries:
            for view in self._views(entry.old):
                other = self._index.get(view.key)
                if other is not None and other[0] is not entry:
                    raise ValueError(
                        f"{entry.describe()} and {other[0].describe()} name the same place"
                        f" ({view}); keep one of them"
                    )
                self._index[view.key] = (entry, view)

    def _views(self, path: ProjectPath) -> list[ProjectPath]:
        """The spellings under which ``path`` is matched (both sides of WSL when asked)."""
        if self.wsl:
            if path.family is Family.WSL_MOUNT:
                return [path, from_wsl_mount(path)]
            if path.family is Family.DRIVE or path.family is Family.EXTENDED:
                return [path, to_wsl_mount(path)]
        return [path]

    def _match(self, path: ProjectPath) -> tuple[_Entry, ProjectPath, ProjectPath] | None:
        best: tuple[int, _Entry, ProjectPath, ProjectPath] | None = None
        index = self._index
        for view in self._views(path):
            key = view.key
            # shortest possible key is namespace + anchor, i.e. a root
            floor = 1 if key[0] == "posix" else (3 if key[0] == "unc" else 2)
            for n in range(len(key), floor - 1, -1):
                hit = index.get(key[:n])
                if hit is not None:
                    score = _depth(hit[1])
                    if best is None or score > best[0]:
                        best = (score, hit[0], hit[1], view)
                    break
        return None if best is None else best[1:]

    def resolve(self, path: str | ProjectPath) -> Resolution:
        """Decide for one path; strings that are not absolute paths are ``INVALID``."""
        if isinstance(path, ProjectPath):
            recorded, parsed = str(path), path
        else:
            recorded = path
            maybe = try_parse(path)
            if maybe is None:
                return Resolution(recorded, Status.INVALID)
            parsed = maybe
        found = self._match(parsed)
        if found is None:
            return Resolution(recorded, Status.UNMAPPED)
        entry, old_view, path_view = found
        if entry.rule is None:
            return Resolution(recorded, Status.HISTORY_ONLY, recorded, history_entry=entry.history)
        new = entry.rule.new.joined(path_view.relative_parts(old_view))
        return Resolution(recorded, Status.MAPPED, str(new), rule=entry.rule)

    def map(self, path: str) -> str | None:
        """New spelling of ``path``; unchanged for history-only; ``None`` when nothing covers it."""
        return self.resolve(path).new_path

    def plan(
        self,
        project_cwds: Iterable[str],
        *,
        exists: Callable[[str], bool] | None = None,
    ) -> MappingPlan:
        """Per-project report; ``exists`` is injected so planning never touches the disk itself."""
        plan = MappingPlan(wsl=self.wsl)
        used: set[int] = set()
        seen: set[str] = set()
        for cwd in project_cwds:
            if cwd in seen:
                continue
            seen.add(cwd)
            res = self.resolve(cwd)
            if res.rule is not None:
                used.add(id(res.rule))
            there: bool | None = None
            if exists is not None and res.new_path is not None:
                there = bool(exists(res.new_path))
            plan.projects.append(
                ProjectPlan(cwd, res.status, res.new_path, res.rule, res.history_entry, there)
            )
            if res.status is Status.UNMAPPED:
                plan.unmapped.append(cwd)
            elif res.status is Status.INVALID:
                plan.invalid.append(cwd)
        plan.unused_rules = [r for r in self.rules if id(r) not in used]
        return plan

    @cached_property
    def needles(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
        """For the rewriter's fast path: byte strings of which every value a rule changes
        holds one, (exact, lower-case); see :func:`pathmap_needles.needles_of`."""
        from codex_migrate.pathmap_needles import needles_of  # an import's rewriter alone asks

        return needles_of((rule.old for rule in self.rules), self._views)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": [r.to_dict() for r in self.rules],
            "history_only": [str(h) for h in self.history_only],
            "wsl": self.wsl,
        }
