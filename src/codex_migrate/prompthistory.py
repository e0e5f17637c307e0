"""The prompt-history entries (``history.jsonl``) an import appends to the target.

Codex keeps every prompt typed, by session, in one file per home; an import brings the
entries of the threads it moves that the target does not have yet, in the source's order.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, NamedTuple

import orjson

from codex_migrate import safejson
from codex_migrate.fsutil import open_regular

if TYPE_CHECKING:
    from codex_migrate.plan import ImportPlan


class NewEntries(NamedTuple):
    """The entries to append, as the one run of bytes they are appended as (each line ends
    in a newline): held from the plan to the append, a bytes object a line would cost 41
    bytes more each, and joining them at the append a second copy of them all at the
    import's peak (30 000 entries: 1.2 MB and 2.8 MB)."""

    data: bytes
    lines: int

    def __bool__(self) -> bool:
        return self.lines > 0


def history_lines(plan: ImportPlan, ids: set[str]) -> NewEntries:
    """Source prompt-history entries of the imported threads that the target lacks."""
    src = plan.source.home.history_jsonl
    if not ids or not src.is_file():
        return NewEntries(b"", 0)

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
    out = bytearray()
    count = 0
    with open_regular(src) as f:
        for raw in f:
            k = key(raw)
            if k is not None and k[0] in ids and k[1] not in have:
                have.add(k[1])
                out += raw
                if not raw.endswith(b"\n"):
                    out += b"\n"
                count += 1
    del have  # (its digests) before the copy
    return NewEntries(bytes(out), count)


def _text(entry: list[object]) -> bytes:
    text = json.dumps(entry, sort_keys=True, ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")
