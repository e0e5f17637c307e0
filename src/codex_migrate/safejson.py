"""JSON parsing that treats hostile nesting as a bad line, never as a crash.

Codex reads rollouts with serde_json, whose default recursion limit is 128: a record nested
deeper is a line Codex cannot read either. Python's own parser instead raises RecursionError
(not a ValueError) around depth 1000, and anything that walks a parsed record recursively can
overflow far sooner. :func:`loads` raises ``ValueError`` for both, so every caller that already
skips a line that is not JSON skips this one too.

Speed: an import parses every line it copies. orjson parses about 3x faster than ``json``, and
what it accepts ``json`` accepts too, with the same value, with one exception: an integer past
64 bits comes back as a float. It refuses some text ``json`` takes (``NaN``, a lone
``\\ud800``, a number out of float range). So text orjson refuses, and text with a run of 19
digits (the shortest an integer past 64 bits can be), go on to ``json``, whose value and
verdict stay the ones every caller has always had.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

#: serde_json's default recursion limit: what Codex itself can read.
MAX_DEPTH = 128


class TooDeep(ValueError):
    """A JSON value nested deeper than :data:`MAX_DEPTH`."""


def loads(data: str | bytes | bytearray, *, exact_ints: bool = True) -> Any:
    """``json.loads`` that raises :class:`TooDeep` (a ValueError) for deep nesting.
    ``exact_ints=False``: orjson's value even where an integer past 64 bits may have become a
    float, for a caller that reads only strings (no search for long digit runs)."""
    try:
        obj = orjson.loads(data)
        exact = not exact_ints or not may_hold_big_int(data)  # else an int may be a float
    except orjson.JSONDecodeError:
        exact = False
    if not exact:
        try:
            obj = json.loads(data)
        except RecursionError:
            raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    if isinstance(obj, (dict, list)) and _may_be_deep(data) and depth(obj) > MAX_DEPTH:
        raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels")
    return obj


def loads_utf8(data: bytes, *, exact_ints: bool = True) -> Any:
    """:func:`loads` of UTF-8 bytes where orjson alone accepts them; raises ``ValueError``
    for everything else, which a caller that must give the exact verdict (bad UTF-8, ``NaN``,
    too deep) then hands to its careful path. The hot loop of a copy: no fallback here.
    ``exact_ints=False``: skip the search for long digit runs, for a caller that reads only
    the record's strings (an integer past 64 bits may come back as a float)."""
    obj = orjson.loads(data)
    if exact_ints:  # both checks from one pass over the bytes: digits to 9, [ to {
        seen = data.translate(_DIGITS_TO_9_OPENERS_TO_BRACE)
        if _RUN_BYTES in seen:
            raise ValueError("an integer past 64 bits: json keeps it exact")
        may_be_deep = seen.count(b"{") > MAX_DEPTH
    else:  # (bytes: _may_be_deep's count, without its call and type test per line)
        may_be_deep = data.count(b"{") + data.count(b"[") > MAX_DEPTH
    if may_be_deep and isinstance(obj, (dict, list)) and depth(obj) > MAX_DEPTH:
        raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels")
    return obj


_DIGITS_TO_9 = bytes(0x39 if 0x30 <= b <= 0x39 else b for b in range(256))
_DIGITS_TO_9_OPENERS_TO_BRACE = _DIGITS_TO_9.replace(b"[", b"{")
_DIGITS_TO_9_STR = {c: "9" for c in range(0x30, 0x3A)}
_RUN_BYTES = b"9" * 19
_RUN_STR = "9" * 19


def may_hold_big_int(data: str | bytes | bytearray) -> bool:
    """Whether ``data`` has a run of 19 digits (in a number or not): every integer past
    64 bits has one. One ``translate`` and one search, both in C."""
    if isinstance(data, str):
        return _RUN_STR in data.translate(_DIGITS_TO_9_STR)
    return _RUN_BYTES in data.translate(_DIGITS_TO_9)


#: Every byte but ``{`` and ``[``: deleting them leaves a text's opening brackets.
NOT_OPENERS = bytes(b for b in range(256) if b not in b"{[")


def _may_be_deep(data: str | bytes | bytearray) -> bool:
    # Cheap: a value cannot be deeper than its count of opening brackets (two counts: about
    # 7.6 instructions a byte, where a translate that deletes the other bytes costs 12).
    if isinstance(data, str):
        return data.count("{") + data.count("[") > MAX_DEPTH
    return data.count(b"{") + data.count(b"[") > MAX_DEPTH


_CONTAINERS = frozenset((dict, list))


def within_depth(obj: Any, budget: int) -> bool | None:
    """``depth(obj) <= MAX_DEPTH`` of a parsed value (exact dicts and lists), found one level
    at a time; None when that means looking at more than ``budget`` values. Cheaper than
    counting a line's brackets when its bytes are mostly text in few containers (a 17 KB
    ``session_meta`` has about 30 values); a type test, not ``isinstance``, which costs
    more when it fails (it then looks for a ``__class__`` attribute)."""
    containers = _CONTAINERS
    level = [obj] if type(obj) in containers else []
    levels = 0
    while level:
        levels += 1
        if levels > MAX_DEPTH:
            return False
        below: list[Any] = []
        push = below.append
        for container in level:
            budget -= len(container)
            if budget < 0:
                return None
            for value in container.values() if type(container) is dict else container:
                if type(value) in containers:
                    push(value)
        level = below
    return True


def depth(obj: Any) -> int:
    """Nesting depth of a parsed value, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in value)
    return deepest
