"""The fast half of the path rewrite: replacing whole value tokens found with ``bytes.find``.

:mod:`codex_migrate.rewrite` parses a line to learn which values are path-bearing and what
each becomes; locating their tokens in the raw text by walking the JSON costs most of the
time. Here they are found with ``bytes.find`` instead, when that is provably the same set of
tokens (see :func:`replace_tokens`); otherwise the caller walks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

__all__ = ["has_escapes", "replace_tokens", "token_pair", "value_token_starts"]

#: A ``\\u`` or ``\\/`` escape: one regex pass is ~3x faster than two ``in`` tests.
_ESCAPES = re.compile(rb"\\[u/]")

_NOT_AFTER_STRING = frozenset(b" \t\r\n,:]}")


_TOKENS: dict[tuple[str, str, Callable[[str, str, str], str]], tuple[bytes, bytes] | None] = {}
_TOKENS_MAX = 4096


def _tokens(
    old: str, new: str, encode_like: Callable[[str, str, str], str]
) -> tuple[bytes, bytes] | None:
    """The raw token of ``old`` and the one that replaces it, or None when ``old``'s token
    has a backslash or could be mistaken; memoised, since a rollout repeats its cwd on most
    of its lines."""
    key = (old, new, encode_like)
    try:
        return _TOKENS[key]
    except KeyError:
        pass
    token = json.dumps(old, ensure_ascii=False)
    raw = token.encode("utf-8", "surrogatepass")
    found = None
    if b"\\" not in raw and raw[1] not in _NOT_AFTER_STRING:
        found = (raw, encode_like(new, token, old).encode("utf-8"))
    if len(_TOKENS) >= _TOKENS_MAX:
        _TOKENS.clear()
    _TOKENS[key] = found
    return found


def token_pair(
    old: str, new: str, encode_like: Callable[[str, str, str], str]
) -> tuple[bytes, bytes] | None:
    """The raw token of ``old`` and the one that replaces it, as :func:`replace_tokens`
    finds and writes them; None when it would not replace ``old`` by a search."""
    return _tokens(old, new, encode_like)


def has_escapes(body: bytes) -> bool:
    """Whether ``body`` has a ``\\u`` or ``\\/`` escape: without one, every key and value
    of the line is spelled in it as parsed, apart from the escapes of ``"``, ``\\`` and
    control characters, which no path needle or path-bearing key contains."""
    # most lines have no "\\"; bytes.find, not ``in``, which first tries the needle as an int
    return body.find(b"\\") >= 0 and _ESCAPES.search(body) is not None


def replace_tokens(
    body: bytes,
    changes: list[tuple[str, str]],
    encode_like: Callable[[str, str, str], str],
    escapes: bool | None = None,
    terminator: bytes = b"",
) -> tuple[bytes, int] | None:
    """The rewrite done with ``bytes.find`` instead of a walk; None when it cannot be sure.

    Sure means: the line has no ``\\u`` or ``\\/`` escape (so each value has one spelling,
    the one ``json.dumps(ensure_ascii=False)`` gives, which is how serde writes it), that
    spelling has no backslash, and it occurs as a *value* token exactly as many times as the
    parsed record has path-bearing places holding that value. Then those occurrences are
    precisely the tokens the walk would find. Only called on a line that parsed as JSON.
    ``escapes``: :func:`has_escapes` of ``body``, when the caller knows it already.
    ``terminator``: appended to the new body (the line's own, so it is not copied twice).
    """
    if has_escapes(body) if escapes is None else escapes:
        return None
    if not changes:
        return body + terminator, 0
    old, new = changes[0]
    for other in changes:
        if other[0] != old:
            return _replace_many(body, changes, encode_like, terminator)
        if other[1] != new:
            return None
    # one value (a rollout's cwd, often twice: cwd and workspace roots): the common case
    tokens = _tokens(old, new, encode_like)
    if tokens is None:
        return None
    raw, replacement = tokens
    starts = _value_tokens(body, raw)
    if starts is None or len(starts) != len(changes):
        return None
    pieces: list[bytes] = []
    last = 0
    for start in starts:
        pieces.append(body[last:start])
        pieces.append(replacement)
        last = start + len(raw)
    pieces.append(body[last:])
    pieces.append(terminator)
    return b"".join(pieces), len(starts)


_WHITESPACE = frozenset(b" \t\r\n")


def _value_tokens(body: bytes, raw: bytes) -> list[int] | None:
    """Where ``raw`` (a string token) stands in ``body`` as a value; None when a token is
    followed by whitespace (Codex never writes it: be careful)."""
    return value_token_starts(body, raw, len(body))


def value_token_starts(line: bytes, raw: bytes, size: int) -> list[int] | None:
    """:func:`_value_tokens` of ``line[:size]`` (a line's body, without its terminator),
    without copying it out of the line."""
    starts: list[int] = []
    find = line.find
    pos = find(raw, 0, size)
    while pos >= 0:
        end = pos + len(raw)
        if pos == 0 or line[pos - 1] == 0x5C:  # ``\"``: a quote inside a longer string
            pass
        elif end < size and line[end] in _WHITESPACE:
            return None
        elif end < size and line[end] == 0x3A:  # ':' - an object key, not a value
            pass
        else:
            starts.append(pos)
        pos = find(raw, end, size)
    return starts


def _replace_many(
    body: bytes,
    changes: list[tuple[str, str]],
    encode_like: Callable[[str, str, str], str],
    terminator: bytes,
) -> tuple[bytes, int] | None:
    """:func:`replace_tokens` of several values."""
    by_old: dict[str, tuple[str, int]] = {}
    for old, new in changes:
        seen = by_old.get(old)
        if seen is not None and seen[0] != new:
            return None
        by_old[old] = (new, (seen[1] if seen else 0) + 1)
    spans: list[tuple[int, int, bytes]] = []
    for old, (new, count) in by_old.items():
        tokens = _tokens(old, new, encode_like)
        if tokens is None:
            return None
        raw, replacement = tokens
        starts = _value_tokens(body, raw)
        if starts is None or len(starts) != count:
            return None
        spans += [(start, start + len(raw), replacement) for start in starts]
    spans.sort()
    pieces: list[bytes] = []
    last = 0
    for start, end, replacement in spans:
        pieces.append(body[last:start])
        pieces.append(replacement)
        last = end
    pieces.append(body[last:])
    pieces.append(terminator)
    return b"".join(pieces), len(spans)
