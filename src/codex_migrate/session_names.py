"""Thread names from ``session_index.jsonl`` (what ``codex resume`` shows as a name)."""

from __future__ import annotations

from pathlib import Path

from codex_migrate import safejson
from codex_migrate.fsutil import open_regular


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
