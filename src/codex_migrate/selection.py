"""Which threads a command or screen is about: one rule for every ``--thread`` and ``--project``.

* a thread is named by its full id or by a prefix that names exactly one thread (at least
  :data:`MIN_PREFIX` characters); a prefix naming several is refused with the candidates
  listed, one naming none is refused too: a typo never silently selects nothing or the
  wrong thread;
* a project is named by the folder recorded in its threads (``cwd``), compared with the
  rules of its path family (case and separators on Windows, ``~`` and ``..`` resolved), so a
  copied home's project is found by the path it had on the old machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from codex_migrate.catalog import Catalog
from codex_migrate.catalog_thread import Thread
from codex_migrate.errors import UsageError
from codex_migrate.paths import try_parse

#: A shorter prefix would match by accident (ids share their first, time-based characters).
MIN_PREFIX = 4
#: How many candidates an "ambiguous" error lists.
SHOWN = 8


class SelectionError(UsageError):
    """A selector names nothing, or more than one thread (``candidates``): exit status 2."""

    code = "thread-not-found"

    def __init__(
        self,
        message: str,
        *,
        candidates: list[str] | None = None,
        hint: str | None = None,
        code: str | None = None,
        params: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, code=code, params=params)
        self.candidates = candidates or []


def resolve_id(given: str, known: Iterable[str], where: str = "this home") -> str:
    """The one id ``given`` names among ``known``: itself, or the only one it prefixes.
    ``known`` as a dict (``dict.fromkeys(ids)``), for a caller resolving many: an exact id is
    then one lookup, not a pass over every id (the web UI names thousands)."""
    want = given.strip().lower()
    ids = known if isinstance(known, dict) else dict.fromkeys(known)
    if want in ids:
        return want
    matches = [k for k in ids if len(want) >= MIN_PREFIX and k.startswith(want)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(matches[:SHOWN]) + (" …" if len(matches) > SHOWN else "")
        raise SelectionError(
            f"{given!r} matches several threads in {where}: {shown}.",
            candidates=matches,
            hint="Give more characters of the id.",
            code="thread-ambiguous",
            params={"id": given},
        )
    raise SelectionError(
        f"no thread with id {given!r} in {where}.",
        hint="`codex-migrate scan --threads` lists the ids.",
        code="thread-not-found",
        params={"id": given},
    )


def same_place(recorded: str, given: str) -> bool:
    """A recorded project folder and a folder the user typed name the same place."""
    a, b = try_parse(recorded), try_parse(given)
    if a is not None and b is not None:
        return a == b
    return recorded.rstrip("/\\") == given.rstrip("/\\")


def _spellings(given: str) -> list[str]:
    """What the user typed, and (for a local path) where it resolves to here."""
    out = [given]
    with contextlib.suppress(OSError, RuntimeError, ValueError):
        resolved = str(Path(given).expanduser().resolve())
        if resolved != given:
            out.append(resolved)
    return out


def in_project(thread: Thread, given: str) -> bool:
    recorded = [c for c in (thread.cwd, thread.rollout_cwd) if c]
    return any(same_place(r, g) for r in recorded for g in _spellings(given))


@dataclass(frozen=True)
class Selection:
    """Threads by id (or unique prefix) and by project, minus excluded ones; empty = all."""

    threads: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.threads or self.projects)

    def resolve(self, catalog: Catalog, *, extra_ids: Iterable[str] = ()) -> list[str]:
        """The ids selected in ``catalog``, newest first; every selector must name something.
        ``extra_ids``: ids that are not threads but may be named (a DB row without a file)."""
        where = str(catalog.home.root)
        known = dict.fromkeys([*(t.id for t in catalog.threads), *extra_ids])
        ids = {resolve_id(g, known, where) for g in self.threads}
        for project in self.projects:
            hits = {t.id for t in catalog.threads if in_project(t, project)}
            if not hits:
                listed = ", ".join(p.cwd for p in catalog.projects[:SHOWN] if p.cwd)
                raise SelectionError(
                    f"no project {project!r} in {where}.",
                    hint=f"Projects there: {listed}" if listed else None,
                    code="project-not-found",
                    params={"project": project},
                )
            ids |= hits
        excluded = {resolve_id(g, known, where) for g in self.exclude}
        order = known
        if self.empty:
            return [i for i in order if i not in excluded and catalog.thread(i) is not None]
        return [i for i in order if i in ids and i not in excluded]

    def threads_of(self, catalog: Catalog) -> list[Thread]:
        """:meth:`resolve` as the catalog's threads."""
        wanted = set(self.resolve(catalog))
        return [t for t in catalog.threads if t.id in wanted]
