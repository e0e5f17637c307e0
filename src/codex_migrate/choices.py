"""What the user chose, recorded in the home by our tool: ``codex-migrate/choices.json``.

A thread kept as history (``--history-only``: its folder is not on this machine) is a choice,
not a problem: doctor and the UI report it as a note. Projects we mapped are recorded too, so
doctor can tell when one is missing from Codex Desktop's project list. The file is ours,
outside the folders Codex scans, and written inside the import's or rebind's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from codex_migrate import safejson
from codex_migrate.fsutil import open_regular

CHOICES_REL = "codex-migrate/choices.json"
VERSION = 1


@dataclass
class Choices:
    """What the user chose for this home's threads (kept as history, mapped projects)."""

    #: thread id -> the recorded folder it was kept at
    history_only: dict[str, str] = field(default_factory=dict)
    #: project roots on this machine that an import or rebind mapped sessions to
    mapped_projects: list[str] = field(default_factory=list)
    error: str | None = None

    def to_bytes(self) -> bytes:
        data = {
            "version": VERSION,
            "history_only": dict(sorted(self.history_only.items())),
            "mapped_projects": sorted(set(self.mapped_projects)),
        }
        # a lone surrogate (a path read from a "\\ud800" escape) has no UTF-8: outside its
        # strings JSON is ASCII, so backslashreplace writes it as that very JSON escape
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        return text.encode("utf-8", "backslashreplace")


def load_choices(home_root: Path) -> Choices:
    """The recorded choices; empty when there are none, with ``error`` when unreadable."""
    path = home_root / CHOICES_REL
    if not path.exists():
        return Choices()
    try:
        with open_regular(path, "r", encoding="utf-8") as f:
            data = safejson.loads(f.read())
    except (OSError, ValueError) as exc:
        return Choices(error=f"{path} cannot be read: {exc}")
    if not isinstance(data, dict):
        return Choices(error=f"{path} is not a JSON object")
    hist = data.get("history_only")
    mapped = data.get("mapped_projects")
    return Choices(
        history_only={
            str(k).lower(): str(v) for k, v in (hist.items() if isinstance(hist, dict) else ())
        },
        mapped_projects=[str(p) for p in mapped] if isinstance(mapped, list) else [],
    )


def updated_choices(
    home_root: Path,
    *,
    history_only: dict[str, str] | None = None,
    mapped: Iterable[str] = (),
    no_longer_history: Iterable[str] = (),
) -> bytes | None:
    """The new file with these choices added (threads now mapped lose their history-only
    mark); None when nothing changes, or when the file is unreadable (left alone)."""
    current = load_choices(home_root)
    if current.error:
        return None
    new = Choices(dict(current.history_only), list(current.mapped_projects))
    for tid in no_longer_history:
        new.history_only.pop(tid.lower(), None)
    for tid, cwd in (history_only or {}).items():
        new.history_only[tid.lower()] = cwd
    for root in mapped:
        if root not in new.mapped_projects:
            new.mapped_projects.append(root)
    if (new.history_only, sorted(set(new.mapped_projects))) == (
        current.history_only,
        sorted(set(current.mapped_projects)),
    ):
        return None
    return new.to_bytes()
