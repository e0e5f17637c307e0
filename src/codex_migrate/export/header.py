"""The head of an exported page: the thread's title (which names its file too, so an export
and its dry run both take it from here) and the facts shown above the conversation."""

from __future__ import annotations

import os
from pathlib import Path

from codex_migrate import safejson
from codex_migrate.catalog_thread import Thread
from codex_migrate.export.common import N_, fmt_time
from codex_migrate.export.conversation import Message, SessionInfo, Turn
from codex_migrate.export.html import Header
from codex_migrate.export.redact import Redactor
from codex_migrate.fsutil import open_regular

TITLE_MAX = 120
_TAIL_BYTES = 256 * 1024


def last_record_time(path: Path) -> str | None:
    """The timestamp of a rollout's last record, from its tail, so the header can show it
    before the body is read (the file's mtime changes when files are copied)."""
    if path.name.endswith(".zst"):
        return None
    try:
        with open_regular(path) as f:
            end = f.seek(0, os.SEEK_END)
            start = max(0, end - _TAIL_BYTES)
            f.seek(start)
            lines = f.read().split(b"\n")
    except OSError:
        return None
    if start > 0:
        lines = lines[1:]  # the first piece may be the end of a longer line
    for raw in reversed(lines):
        if b'"timestamp"' not in raw:
            continue
        try:
            obj = safejson.loads(raw)
        except ValueError:
            continue
        ts = obj.get("timestamp") if isinstance(obj, dict) else None
        if isinstance(ts, str):
            return ts
    return None


def first_user_text(turn: Turn | None) -> str | None:
    """The first typed user message of a turn (context blocks and image wrappers excluded)."""
    if turn is None:
        return None
    for event in turn.events:
        if isinstance(event, Message) and event.role == "user" and event.text.strip():
            return event.text
    return None


def thread_title(thread: Thread, first_message: str | None = None) -> str:
    """The thread's name, else its first message (as read here: the catalog's preview may
    include image wrapper text), else the catalog's title."""
    title = thread.name or first_message or thread.title or "Untitled session"
    title = " ".join(title.split())
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


def display_title(
    thread: Thread, first_message: str | None = None, redact: Redactor | None = None
) -> str:
    """The page title, redacted when asked: it also names the file, so an export and its dry
    run must both take it from here."""
    title = thread_title(thread, first_message)
    return redact(title) if redact is not None else title


def header_for(
    thread: Thread, info: SessionInfo, redact: Redactor | None, first_message: str | None = None
) -> Header:
    """Title and facts for the page head, from the catalog record and the rollout."""
    r = redact or (lambda s: s)
    fields: list[tuple[str, str]] = []

    def add(label: str, value: str | None) -> None:
        if value:
            fields.append((label, r(value)))

    add(N_("Project"), thread.cwd or info.cwd or N_("unknown"))
    add(N_("Started"), fmt_time(info.created_at or thread.created_at))
    last = last_record_time(thread.rollout_path) if info.era != "bare" else None
    add(N_("Last activity"), fmt_time(last or thread.updated_at))
    add(N_("Model"), ", ".join(info.models) or N_("not recorded"))
    add(N_("Codex CLI"), info.cli_version or thread.cli_version or N_("not recorded"))
    client = info.source or thread.source
    if info.originator:
        client = f"{client} ({info.originator})" if client else info.originator
    add(N_("Client"), client)
    add(N_("Provider"), info.model_provider or thread.model_provider)
    git = info.git
    if git:
        branch = git.get("branch")
        commit = (git.get("commit_hash") or "")[:12]
        add(N_("Git"), " @ ".join(x for x in (branch, commit) if x))
        add(N_("Repository"), git.get("repository_url"))
    add(N_("Thread"), thread.id)
    if thread.archived:
        add(N_("Archived"), N_("yes"))
    era = {"paginated": "paginated (0.153+)", "legacy": "legacy", "bare": "bare (2025)"}
    add(N_("Rollout format"), era.get(info.era, info.era))
    return Header(title=display_title(thread, first_message, redact), fields=fields)
