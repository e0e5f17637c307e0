"""JSON text of our journals and row logs, encoded by orjson where its bytes are exactly the
standard library's, and by ``json`` everywhere else.

Why exact: a row's digest is a hash over its JSON text, and a rollback compares the digest of
the row it finds with the one the log keeps, which an older codex-migrate may have written
with ``json``; the journal and row log are read back by recovery and are kept the same text
they always were. orjson is several times faster on the thousands of rows and paths of a large
import, and writes the same text for what those hold: strings, integers, None and booleans.
It differs for floats (``1e+16`` against ``1e16``) and, in ASCII output, for every non-ASCII
character and DEL (the standard library escapes them), and refuses lone surrogates and
integers past 64 bits: all of those go to ``json``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_ATOMS = frozenset({str, int, bool, type(None)})


def _flat(value: Any) -> bool:
    """A value orjson writes as ``json`` does (up to escaping): an atom, or a list or map of
    them (floats and nested containers are left to ``json``)."""
    kind = type(value)
    if kind is list or kind is tuple:
        return _ATOMS.issuperset(map(type, value))
    if kind is dict:
        return _ATOMS.issuperset(map(type, value.values()))
    return kind in _ATOMS


def compact(value: Any) -> str:
    """``json.dumps(value, separators=(",", ":"))``, the same text."""
    if _flat(value):
        try:
            out = orjson.dumps(value)
        except TypeError:  # orjson.JSONEncodeError: a surrogate, a huge int, a key not a str
            pass
        else:
            if out.isascii() and b"\x7f" not in out:
                return out.decode("ascii")
    return json.dumps(value, separators=(",", ":"))


def sorted_utf8(row: dict[str, Any], *, keys_sorted: bool = False) -> bytes:
    """``json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded
    as UTF-8 (lone surrogates passed through), the same bytes: what a row digest hashes.
    ``keys_sorted``: ``row``'s keys are in sorted order already (no sort again)."""
    if _ATOMS.issuperset(map(type, row.values())):
        try:
            return orjson.dumps(row, option=0 if keys_sorted else orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")
