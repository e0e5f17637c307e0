r"""Rewrite the paths inside rollout JSONL lines and nothing else.

Codex formats its own JSON (floats, escapes, key order), and other tools keep byte offsets into
rollouts, so a line is never re-serialised: the known path-bearing string values are located in the
raw text and only their tokens are replaced. Every other byte, and the line terminator, stays.
A line that cannot be read (bad UTF-8, bad JSON, truncated) comes out unchanged; this module never
raises on data. Each line is handled on its own, so rewriting the first k lines of a file gives
the first k lines of the rewritten file.

Values rewritten (record envelope ``{"timestamp", ["ordinal",] "type", "payload", ...}``):

* ``session_meta``: ``payload.cwd``, ``payload.runtime_workspace_roots[]``;
* ``turn_context``: ``payload.cwd``, and inside ``payload.sandbox_policy`` and
  ``payload.permission_profile``: ``writable_roots[]``, ``readable_roots[]``,
  ``workspace_roots[]`` and ``{"type": "path", "path": ...}`` entries;
* ``event_msg`` ``thread_settings_applied``: the same fields under ``payload.thread_settings``;
* ``event_msg`` ``item_*`` whose ``payload.item.type`` is ``CommandExecution``:
  ``payload.item.cwd``, usually a ``file://`` URL, which is decoded, mapped and re-encoded
  (``%20`` style, as Codex writes it);
* ``event_msg`` ``exec_command_begin``/``exec_command_end``: ``payload.cwd``;
* ``world_state``: every ``cwd`` key anywhere under ``payload``.

Free text is left alone unless ``rewrite_text=True``; then, in every string value of the line
(bare-era lines included), a path is replaced where it is the whole content of
``<cwd>…</cwd>``, ``<root>…</root>``, an ``<image … path="…">`` attribute, or the rest of a
``# AGENTS.md instructions for …`` line.

A replaced token keeps the old token's escaping style: ``\uXXXX`` for non-ASCII if the old token
used it, ``\/`` if the old token used it; otherwise raw UTF-8 as Codex writes.

Speed: a line is parsed only if it contains a path-bearing key (or, with ``rewrite_text``, a text
marker) *and* one of :attr:`PathMapper.needles`; everything else is returned as the very same
object after a few ``bytes`` searches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from codex_migrate import safejson
from codex_migrate.pathmap import PathMapper
from codex_migrate.rewrite_fields import KeyPath, all_strings, path_strings, path_values
from codex_migrate.rewrite_quick import one_value_rewriter
from codex_migrate.rewrite_search import candidate_lines, rewriting_gate, worth_parsing
from codex_migrate.rewrite_tokens import has_escapes, replace_tokens
from codex_migrate.rewrite_values import map_path_value, map_text, value_memo

__all__ = [
    "NOT_PARSED",
    "RewriteStats",
    "ValueChange",
    "candidate_lines",
    "line_changes",
    "record_rewriter",
    "rewrite_line",
    "rewrite_lines",
    "rewrite_record",
]


_SURROGATE = re.compile("[\ud800-\udfff]")

_RAW_DECODE = json.JSONDecoder().raw_decode  # C scanner: reads or skips a whole value at once


@dataclass
class RewriteStats:
    """Counters a caller may pass in to learn what a rewrite did."""

    lines: int = 0
    lines_changed: int = 0
    values_changed: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class ValueChange:
    """One string value that a rewrite replaces, addressed by its key path in the record."""

    key_path: KeyPath
    old: str
    new: str
    text: bool = False  # found by the free-text option rather than as a path field


# -- locating tokens in the raw text ----------------------------------------------------------


def _find_spans(
    s: str, wanted: dict[KeyPath, tuple[str, str]], prefixes: set[KeyPath]
) -> list[tuple[int, int, KeyPath]]:
    """Exact spans of the string tokens at ``wanted`` key paths whose value is as expected.

    Only containers on the way to a wanted value are walked; everything else is skipped by the C
    decoder. Duplicate keys are checked by value, so only the token holding the old value moves.
    """
    spans: list[tuple[int, int, KeyPath]] = []

    def ws(pos: int) -> int:
        while s[pos] in " \t\n\r":
            pos += 1
        return pos

    def walk(pos: int, path: KeyPath) -> int:
        pos = ws(pos)
        c = s[pos]
        if c == '"' and path in wanted:
            value, end = _RAW_DECODE(s, pos)
            if value == wanted[path][0]:
                spans.append((pos, end, path))
            return end
        if path not in prefixes or (c != "{" and c != "["):
            return _RAW_DECODE(s, pos)[1]
        if c == "{":
            pos = ws(pos + 1)
            if s[pos] == "}":
                return pos + 1
            while True:
                if s[pos] != '"':
                    raise ValueError("expected a key")
                key, pos = _RAW_DECODE(s, pos)
                pos = ws(pos)
                if s[pos] != ":":
                    raise ValueError("expected ':'")
                pos = ws(walk(pos + 1, (*path, key)))
                if s[pos] == ",":
                    pos = ws(pos + 1)
                elif s[pos] == "}":
                    return pos + 1
                else:
                    raise ValueError("expected ',' or '}'")
        pos = ws(pos + 1)
        if s[pos] == "]":
            return pos + 1
        i = 0
        while True:
            pos = ws(walk(pos, (*path, i)))
            i += 1
            if s[pos] == ",":
                pos += 1
            elif s[pos] == "]":
                return pos + 1
            else:
                raise ValueError("expected ',' or ']'")

    walk(0, ())
    return spans


def _encode_like(value: str, old_token: str, old_value: str) -> str:
    """JSON token for ``value`` written the way ``old_token`` was written."""
    ascii_style = old_token.isascii() and not old_value.isascii()
    if not ascii_style and _SURROGATE.search(value):
        ascii_style = True  # a lone surrogate cannot be written as UTF-8
    token = json.dumps(value, ensure_ascii=ascii_style)
    if "\\/" in old_token:
        token = token.replace("/", "\\/")
    return token


# -- public API -------------------------------------------------------------------------------


def _split_terminator(line: bytes) -> tuple[bytes, bytes]:
    if line.endswith(b"\r\n"):
        return line[:-2], b"\r\n"
    if line.endswith(b"\n"):
        return line[:-1], b"\n"
    return line, b""


#: :func:`rewrite_line`'s ``record`` when the caller has not parsed the line.
NOT_PARSED: Any = object()


def _changes(
    body: bytes, mapper: PathMapper, rewrite_text: bool, record: Any = NOT_PARSED
) -> list[ValueChange] | None:
    if record is NOT_PARSED:
        try:
            record = safejson.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
    changes: list[ValueChange] = []
    values = path_values(record)
    for key_path, value in values:
        new = map_path_value(value, mapper)
        if new is not None:
            changes.append(ValueChange(key_path, value, new))
    if rewrite_text:
        targeted = {key_path for key_path, _ in values}
        for key_path, value in all_strings(record):
            if key_path in targeted:
                continue
            new = map_text(value, mapper)
            if new is not None:
                changes.append(ValueChange(key_path, value, new, text=True))
    return changes


def line_changes(
    line: bytes, mapper: PathMapper, *, rewrite_text: bool = False
) -> list[ValueChange]:
    """What :func:`rewrite_line` would change in ``line``, for dry runs and reports."""
    if not mapper.rules or not worth_parsing(line, mapper, rewrite_text):
        return []
    return _changes(_split_terminator(line)[0], mapper, rewrite_text) or []


def rewrite_line(
    line: bytes,
    mapper: PathMapper,
    *,
    rewrite_text: bool = False,
    stats: RewriteStats | None = None,
    record: Any = NOT_PARSED,
) -> bytes:
    """``line`` with its mapped path values replaced in place; the same object if none is.
    ``record``: the line already parsed (``safejson.loads`` of it) by a caller that needed
    it anyway, so it is not parsed twice."""
    if stats is not None:
        stats.lines += 1
    if not mapper.rules or not worth_parsing(line, mapper, rewrite_text):
        return line
    body, terminator = _split_terminator(line)
    changes = _changes(body, mapper, rewrite_text, record)
    if not changes:
        return line
    return _apply(line, body, terminator, changes, stats)


def _apply(
    line: bytes,
    body: bytes,
    terminator: bytes,
    changes: list[ValueChange],
    stats: RewriteStats | None,
    escapes: bool | None = None,
) -> bytes:
    pairs = [(c.old, c.new) for c in changes]
    quick = replace_tokens(body, pairs, _encode_like, escapes, terminator)
    if quick is not None:
        if stats is not None:
            stats.lines_changed += 1
            stats.values_changed += quick[1]
        return quick[0]
    return _rewrite_walking(line, body, changes, terminator, stats)


def rewrite_record(line: bytes, record: Any, mapper: PathMapper) -> bytes:
    """:func:`rewrite_line` (without ``rewrite_text``) of a line the caller has parsed: the
    same result, but the record's path fields are mapped first, and only a line where one
    maps is searched at all. Most lines of a real rollout are left after a few dict lookups."""
    return record_rewriter(mapper)(line, record)


_MISSING: Any = object()


def record_rewriter(mapper: PathMapper) -> Callable[[bytes, Any], bytes]:
    """:func:`rewrite_record` with ``mapper`` bound, for a caller rewriting many lines: the
    mapper's memo is looked up once, and a line's values are mapped before any key path is
    built (only a line the token search cannot do is walked, with :func:`_changes`)."""
    if not mapper.rules:
        return lambda line, record: line
    memo = value_memo(mapper)
    worth_rewriting = rewriting_gate(mapper)
    one_value = one_value_rewriter(mapper, _encode_like)

    def rewrite(line: bytes, record: Any) -> bytes:
        olds = path_strings(record)
        if not olds:
            return line
        quick = one_value(line, olds)
        if quick is not None:
            return quick
        return careful(line, record, olds)

    def careful(line: bytes, record: Any, olds: list[str]) -> bytes:
        pairs: list[tuple[str, str]] = []
        for old in olds:
            new = memo.get(old, _MISSING)
            if new is _MISSING:
                new = map_path_value(old, mapper)
            if new is not None:
                pairs.append((old, new))
        if not pairs:
            return line
        body, terminator = _split_terminator(line)
        escapes = has_escapes(body)
        # rewrite_line's own gate, so both change exactly the same lines
        if not worth_rewriting(line, [old for old, _ in pairs], escapes):
            return line
        quick = replace_tokens(body, pairs, _encode_like, escapes, terminator)
        if quick is not None:
            return quick[0]
        changes = _changes(body, mapper, False, record)  # the record is given: never None
        return _rewrite_walking(line, body, changes or [], terminator, None)

    return rewrite


def _rewrite_walking(
    line: bytes,
    body: bytes,
    changes: list[ValueChange],
    terminator: bytes,
    stats: RewriteStats | None,
) -> bytes:
    """The careful path: walk the raw text to the exact token of each changed value."""
    wanted = {c.key_path: (c.old, c.new) for c in changes}
    prefixes = {kp[:n] for kp in wanted for n in range(len(kp))}
    try:
        text = body.decode("utf-8")
        spans = _find_spans(text, wanted, prefixes)
        if not spans:
            return line
        spans.sort()
        pieces: list[str] = []
        last = 0
        for start, end, key_path in spans:
            old, new = wanted[key_path]
            pieces.append(text[last:start])
            pieces.append(_encode_like(new, text[start:end], old))
            last = end
        pieces.append(text[last:])
        out = "".join(pieces).encode("utf-8") + terminator
    except (ValueError, IndexError, RecursionError, UnicodeEncodeError):
        return line
    if stats is not None:
        stats.lines_changed += 1
        stats.values_changed += len(spans)
    return out


def rewrite_lines(
    lines: Iterable[bytes],
    mapper: PathMapper,
    *,
    rewrite_text: bool = False,
    stats: RewriteStats | None = None,
) -> Iterator[bytes]:
    """Rewrite a stream of lines as read from a binary file (each keeps its own terminator)."""
    for line in lines:
        yield rewrite_line(line, mapper, rewrite_text=rewrite_text, stats=stats)
