"""What the real Codex lists after a write, for the result page (read-only, best effort).

``thread/list`` through ``codex app-server`` is what Codex's own UIs show. Builds differ in
which parameters they accept, so the richest request is tried first and simpler ones after; a
failure is reported on the page, never raised: the import itself already succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.codex_app import AppServerClient, CodexAppError

#: Every source kind current builds know; ``exec`` sessions are not listed without it.
SOURCE_KINDS = ["cli", "vscode", "exec", "appServer"]
PAGE = 100
MAX_PAGES = 200


@dataclass
class CodexListing:
    binary: str
    listed: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> cwd, archived
    not_listed: list[str] = field(default_factory=list)
    error: str | None = None


def _pages(client: AppServerClient, base: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        result = client.request("thread/list", {**base, "cursor": cursor})
        out += list((result or {}).get("data") or [])
        cursor = (result or {}).get("nextCursor")
        if not cursor:
            break
    return out


def list_in_codex(binary: Path, home: Path, thread_ids: list[str]) -> CodexListing:
    listing = CodexListing(binary=str(binary))
    attempts: list[list[dict[str, Any]]] = [
        [
            {"limit": PAGE, "modelProviders": [], "sourceKinds": SOURCE_KINDS, "archived": False},
            {"limit": PAGE, "modelProviders": [], "sourceKinds": SOURCE_KINDS, "archived": True},
        ],
        [{"limit": PAGE, "modelProviders": []}],
    ]
    try:
        with AppServerClient(binary, home) as client:
            last: Exception | None = None
            for attempt in attempts:
                try:
                    found: dict[str, dict[str, Any]] = {}
                    for params in attempt:
                        for t in _pages(client, params):
                            tid = str(t.get("id", "")).lower()
                            found[tid] = {
                                "cwd": t.get("cwd"),
                                "archived": params.get("archived"),
                            }
                    listing.listed = {k: v for k, v in found.items() if k in set(thread_ids)}
                    last = None
                    break
                except CodexAppError as exc:
                    last = exc
            if last is not None:
                raise last
    except (OSError, CodexAppError) as exc:
        listing.error = str(exc)
        return listing
    listing.not_listed = [t for t in thread_ids if t not in listing.listed]
    return listing
