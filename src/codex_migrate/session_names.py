"""Thread names from ``session_index.jsonl`` (what ``codex resume`` shows as a name)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from codex_migrate import safejson
from codex_migrate.fsutil import open_regular

if TYPE_CHECKING:
    from codex_migrate.catalog_thread import Thread


def read_session_index(path: Path) -> dict[str, str]:
    """Thread names from ``session_index.jsonl``: append-only, the last line per id wins."""
    names: dict[str, str] = {}
    try:
        with open_regular(path) as f:
            for raw in f:
                try:
                    obj = safejson.loads(raw)
                except ValueError:
                    continue
                if not isinstance(obj, dict):
                    continue
                tid, name = obj.get("id"), obj.get("thread_name")
                if isinstance(tid, str) and isinstance(name, str):
                    names[tid.lower()] = name
    except OSError:
        return {}
    return names


def index_lines(threads: Iterable[Thread]) -> list[bytes]:
    """The ``session_index.jsonl`` line that names each thread, as Codex writes it."""
    return [
        (
            json.dumps(
                {
                    "id": t.id,
                    "thread_name": t.name,
                    "updated_at": t.updated_at.replace("+00:00", "Z"),
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            + "\n"
        ).encode("utf-8", "backslashreplace")  # a lone surrogate: its JSON escape
        for t in threads
    ]
