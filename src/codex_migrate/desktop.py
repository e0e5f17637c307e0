"""Codex Desktop's project list: ``$CODEX_HOME/.codex-global-state.json``.

The Desktop groups sessions by the projects saved in this file (``electron-saved-workspace-roots``
and ``project-order``, at the top level and again inside ``electron-persisted-atom-state``), not
by SQLite. A migrated project missing there shows its sessions under no project. The file is
the Desktop's (closed source): we only add or replace root paths in those lists and keep every
other key, the key order and every value; a file that does not exist is never created, and
one we cannot read is left alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

GLOBAL_STATE = ".codex-global-state.json"
ROOT_KEYS = ("electron-saved-workspace-roots", "project-order")
ATOM_KEY = "electron-persisted-atom-state"
_INDENT = re.compile(r"\A\s*\{\r?\n([ \t]+)\S")


def _read(path: Path) -> tuple[str, dict[str, Any]] | None:
    try:
        text = path.read_text(encoding="utf-8")
        obj = json.loads(text)
    except (OSError, ValueError):
        return None
    return (text, obj) if isinstance(obj, dict) else None


def _dumps_like(obj: Any, original: str) -> str:
    """Serialise in the original's style (indented or compact, final newline or not)."""
    m = _INDENT.match(original)
    if m:
        out = json.dumps(obj, ensure_ascii=False, indent=m.group(1))
    else:
        out = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return out + ("\n" if original.endswith("\n") else "")


def _update_list(value: list[Any], add: list[str], replace: dict[str, str]) -> list[Any]:
    out: list[Any] = []
    for entry in value:
        new = replace.get(entry, entry) if isinstance(entry, str) else entry
        if new not in out:
            out.append(new)
    for root in add:
        if root not in out:
            out.append(root)
    return out


def _update_place(place: dict[str, Any], add: list[str], replace: dict[str, str]) -> None:
    for key in ROOT_KEYS:
        value = place.get(key)
        if value is None:
            if add:
                place[key] = list(add)
        elif isinstance(value, list):
            place[key] = _update_list(value, add, replace)
        # any other shape is the Desktop's business: left as it is


def updated_state(
    home_root: Path, *, add: Iterable[str] = (), replace: dict[str, str] | None = None
) -> bytes | None:
    """The new bytes of the Desktop's file with these roots added (and old roots replaced),
    or None when there is no file, it cannot be read, or nothing changes."""
    path = home_root / GLOBAL_STATE
    read = _read(path)
    if read is None:
        return None
    text, state = read
    adding = list(dict.fromkeys(add))
    swaps = dict(replace or {})
    new_state = json.loads(text)
    _update_place(new_state, adding, swaps)
    atom = new_state.get(ATOM_KEY)
    if isinstance(atom, dict):
        _update_place(atom, adding, swaps)
    if new_state == state:
        return None
    return _dumps_like(new_state, text).encode("utf-8")


def missing_in(home_root: Path, roots: Iterable[str]) -> list[str]:
    """Of ``roots``, those the Desktop's file does not list in both places (empty when
    there is no file: no Desktop here)."""
    read = _read(home_root / GLOBAL_STATE)
    if read is None:
        return []
    _text, state = read
    places = [state]
    if isinstance(state.get(ATOM_KEY), dict):
        places.append(state[ATOM_KEY])
    missing = []
    for root in roots:
        for place in places:
            if any(not (isinstance(place.get(k), list) and root in place[k]) for k in ROOT_KEYS):
                missing.append(root)
                break
    return missing
