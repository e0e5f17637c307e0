"""The path rewrite of the commonest path-bearing line in a few lookups: a line whose path
fields all hold one value (a session's cwd, on every turn_context, thread_settings_applied
and session_meta line), with no ``\\u`` or ``\\/`` escape.

What :func:`codex_migrate.rewrite.record_rewriter` would do with such a line is decided by
the value alone (whether it maps, its tokens, whether it holds a needle) and by where its
token stands in the line: so the value's part is worked out once per value, and only the
token search is done per line. Any other line gets None: the caller takes the general path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codex_migrate.pathmap import PathMapper
from codex_migrate.rewrite_search import needle_in_value
from codex_migrate.rewrite_tokens import has_escapes, token_pair, value_token_starts
from codex_migrate.rewrite_values import map_path_value

__all__ = ["one_value_rewriter"]

#: What is known of a value: its token and the token replacing it, None when the general
#: path must decide, or :data:`_KEEP`.
_Entry = tuple[bytes, bytes] | None
#: A value that maps to nothing (told apart by identity): a line whose path values are all
#: such is left as it is.
_KEEP: _Entry = (b"", b"")
_UNKNOWN: Any = object()
_MEMO_MAX = 4096

EncodeLike = Callable[[str, str, str], str]


def one_value_rewriter(
    mapper: PathMapper, encode_like: EncodeLike
) -> Callable[[bytes, list[str]], bytes | None]:
    """``quick(line, olds)``: the rewritten line (or ``line`` itself) of a parsed line whose
    path values (``rewrite_fields.path_strings``, not empty) are ``olds``, exactly as the
    general path gives it; None when this shortcut cannot tell (the caller then takes it).

    Per value, remembered: ``_KEEP`` when it maps to nothing; else its token and the token
    replacing it (``rewrite_tokens``' ones), or None when the general path must decide (a
    token with a backslash, or a value holding none of the mapper's needles, which the
    general path's gate then looks for in the whole line)."""
    hit = needle_in_value(mapper)
    known: dict[str, _Entry] = {}

    def learn(old: str) -> _Entry:
        new = map_path_value(old, mapper)
        entry = _KEEP
        if new is not None:
            entry = token_pair(old, new, encode_like) if hit(old) else None
        if len(known) >= _MEMO_MAX:
            known.clear()
        known[old] = entry
        return entry

    def quick(line: bytes, olds: list[str]) -> bytes | None:
        first = olds[0]
        entry = known.get(first, _UNKNOWN)
        if entry is _UNKNOWN:
            entry = learn(first)
        for other in olds:
            if other != first:
                if entry is _KEEP and all(_keeps(known, learn, old) for old in olds):
                    return line  # no value maps: the general path leaves it too
                return None
        if entry is _KEEP:
            return line
        if entry is None or has_escapes(line):
            return None
        raw, replacement = entry
        stop = len(line)
        if line.endswith(b"\n"):
            stop -= 2 if line.endswith(b"\r\n") else 1
        starts = value_token_starts(line, raw, stop)
        if starts is None or len(starts) != len(olds):
            return None
        pieces: list[bytes] = []
        last = 0
        size = len(raw)
        for start in starts:
            pieces.append(line[last:start])
            pieces.append(replacement)
            last = start + size
        pieces.append(line[last:])
        return b"".join(pieces)

    return quick


def _keeps(known: dict[str, _Entry], learn: Callable[[str], _Entry], old: str) -> bool:
    entry = known.get(old, _UNKNOWN)
    return (learn(old) if entry is _UNKNOWN else entry) is _KEEP
