"""JSON parsing that treats hostile nesting as a bad line, never as a crash.

Codex reads rollouts with serde_json, whose default recursion limit is 128: a record nested
deeper is a line Codex cannot read either. Python's own parser instead raises RecursionError
(not a ValueError) around depth 1000, and anything that walks a parsed record recursively can
overflow far sooner. :func:`loads` raises ``ValueError`` for both, so every caller that already
skips a line that is not JSON skips this one too.

Speed: an import parses every line it copies. orjson parses about 3x faster than ``json``, and
what it accepts ``json`` accepts too, with the same value; it refuses some text ``json`` takes
(``NaN``, a lone ``\\ud800``, a number out of float range), so those go on to ``json``, whose
verdict stays the one every caller has always had.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

#: serde_json's default recursion limit: what Codex itself can read.
MAX_DEPTH = 128


class TooDeep(ValueError):
    """A JSON value nested deeper than :data:`MAX_DEPTH`."""


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads`` that raises :class:`TooDeep` (a ValueError) for deep nesting."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            obj = json.loads(data)
        except RecursionError:
            raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    if isinstance(obj, (dict, list)) and _may_be_deep(data) and depth(obj) > MAX_DEPTH:
        raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels")
    return obj


def loads_utf8(data: bytes) -> Any:
    """:func:`loads` of UTF-8 bytes where orjson alone accepts them; raises ``ValueError``
    for everything else, which a caller that must give the exact verdict (bad UTF-8, ``NaN``,
    too deep) then hands to its careful path. The hot loop of a copy: no fallback here."""
    obj = orjson.loads(data)
    if isinstance(obj, (dict, list)) and _may_be_deep(data) and depth(obj) > MAX_DEPTH:
        raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels")
    return obj


def _may_be_deep(data: str | bytes | bytearray) -> bool:
    # Cheap: a value cannot be deeper than its count of opening brackets.
    if isinstance(data, str):
        return data.count("{") + data.count("[") > MAX_DEPTH
    return data.count(b"{") + data.count(b"[") > MAX_DEPTH


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
