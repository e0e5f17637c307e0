"""The prompt-history entries (``history.jsonl``) an import appends to the target.

Codex keeps every prompt typed, by session, in one file per home; an import brings the
entries of the threads it moves that the target does not have yet, in the source's order.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import orjson

from codex_migrate import safejson
from codex_migrate.fsutil import open_regular

if TYPE_CHECKING:
    from codex_migrate.plan import ImportPlan


def history_lines(plan: ImportPlan, ids: set[str]) -> list[bytes]:
    """Source prompt-history entries of the imported threads that the target lacks."""
    src = plan.source.home.history_jsonl
    if not ids or not src.is_file():
        return []

    def key(raw: bytes) -> tuple[str, bytes] | None:
        """(session, a digest of the entry): the set of those seen holds 16 bytes an entry,
        not every prompt's text a second time."""
        try:
            obj = safejson.loads(raw)
        except ValueError:
            return None
        if not isinstance(obj, dict):
            return None
        ts = obj.get("ts")
        if isinstance(ts, float) and ts.is_integer():
            ts = int(ts)  # 1.0 and 1 are the same time
        sid = str(obj.get("session_id", "")).lower()
        entry = [sid, ts, obj.get("text")]
        if type(entry[2]) is str and (ts is None or type(ts) is int):
            try:  # the common entry, by orjson (several times faster; used only within a run)
                data = orjson.dumps(entry)
            except TypeError:  # a lone surrogate, an int past 64 bits
                data = _text(entry)
        else:  # floats (NaN) and nested values as json writes them
            data = _text(entry)
        return sid, hashlib.blake2b(data, digest_size=16).digest()

    have: set[bytes] = set()
    tgt = plan.target.home.history_jsonl
    if tgt.is_file():
        with open_regular(tgt) as f:
            have = {k[1] for k in map(key, f) if k is not None}
    out = []
    with open_regular(src) as f:
        for raw in f:
            k = key(raw)
            if k is not None and k[0] in ids and k[1] not in have:
                have.add(k[1])
                out.append(raw if raw.endswith(b"\n") else raw + b"\n")
    return out


def _text(entry: list[object]) -> bytes:
    text = json.dumps(entry, sort_keys=True, ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")
