"""Server-side state between the steps of a screen, one record per browser session.

A single-user local app needs no database: the session cookie holds only a random id, and what
the user chose so far (source, selection, folder rules) lives here, next to a lock because
Starlette may run two requests of the same browser at once.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from codex_migrate.catalog import Catalog
from codex_migrate.home import CodexHome


@dataclass
class Binding:
    """Folder choices for a set of projects: ``OLD=NEW`` rules and history-only projects."""

    rules: list[tuple[str, str]] = field(default_factory=list)
    history_only: list[str] = field(default_factory=list)
    wsl: bool = False

    def rule_texts(self) -> list[str]:
        return [f"{old}={new}" for old, new in self.rules]

    def set_rule(self, old: str, new: str) -> None:
        self.rules = [(o, n) for o, n in self.rules if o != old]
        if old in self.history_only:
            self.history_only.remove(old)
        if new:
            self.rules.append((old, new))

    def set_history_only(self, old: str, on: bool) -> None:
        if on:
            self.rules = [(o, n) for o, n in self.rules if o != old]
            if old not in self.history_only:
                self.history_only.append(old)
        elif old in self.history_only:
            self.history_only.remove(old)


@dataclass
class MigrateState:
    """The migrate wizard: which source, which threads, which folders, which previewed plan."""

    source_path: str | None = None
    source_home: CodexHome | None = None
    source_catalog: Catalog | None = None
    #: The source's findings (:func:`codex_migrate.service.scan_home`): what ``scan`` says.
    source_scan: Any = None
    selected: list[str] | None = None
    binding: Binding = field(default_factory=Binding)
    #: Conflicting threads settled in the preview: id -> "keep-target" or "skip".
    conflict_choices: dict[str, str] = field(default_factory=dict)
    #: Changes with every source read: a preview is only shown for the source it was built from.
    source_token: str | None = None
    #: The read job opening a source (its id), and the ticket it must still hold to install it.
    read_job: str | None = None
    read_ticket: str | None = None
    #: The job building the preview of the current choices.
    preview_job: str | None = None
    #: The preview last shown, with the choices' key: its pages are served from it.
    shown_preview: Any = None
    _source_stack: contextlib.ExitStack | None = None

    def set_source(
        self,
        path: str,
        home: CodexHome,
        catalog: Catalog,
        stack: contextlib.ExitStack,
        scan: Any = None,
    ) -> None:
        same = path == self.source_path
        self.close()
        self.source_path, self.source_home, self.source_catalog = path, home, catalog
        self.source_scan = scan
        self.source_token = secrets.token_urlsafe(12)
        self._source_stack = stack
        if same:  # reading the same source again keeps the user's choices
            known = {t.id for t in catalog.threads}
            if self.selected is not None:
                self.selected = [t for t in self.selected if t in known]
            return
        self.selected = None
        self.binding = Binding()

    def close(self) -> None:
        """Release the source (an extracted archive is deleted)."""
        if self._source_stack is not None:
            self._source_stack.close()
            self._source_stack = None
        self.source_home = self.source_catalog = self.source_scan = None
        self.shown_preview = None


@dataclass
class Session:
    id: str
    csrf: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    migrate: MigrateState = field(default_factory=MigrateState)
    repair: Binding = field(default_factory=Binding)
    repair_all: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    #: Previews that may be confirmed, by one-time token (see ``ui.confirm``).
    confirms: dict[str, Any] = field(default_factory=dict)


class SessionStore:
    """Sessions by id; ids and CSRF tokens are 256-bit random values."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self) -> Session:
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))
        with self._lock:
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            return self._sessions.get(session_id)

    def close_all(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for s in sessions:
            s.migrate.close()
