"""The staging pass over one block of a rollout's lines: one look at each line serves the
damage check, the path rewrite and the row facts.

An import parses every line it copies (the damage verdicts need it), so what costs is the
Python around each parse: here each line is sliced, parsed, judged, rewritten when its kind
holds path fields, and marked for the row facts in one loop, with no object per line but
the line and its record (:mod:`codex_migrate.staging` streams the blocks)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from codex_migrate.damage import DamageCount
from codex_migrate.pathmap import PathMapper
from codex_migrate.rewrite import candidate_lines, record_rewriter, rewrite_line
from codex_migrate.rewrite_fields import (
    ITEM_EVENT,
    PATH_RECORD_TYPES,
    holds_command,
    item_event,
)
from codex_migrate.rollout import (
    HEAD_MAX_RECORDS,
    HUGE_LINE_BYTES,
    block_depths,
    line_fits,
    parse_block,
    parse_careful,
)
from codex_migrate.rolloutfacts import (
    FACT_MARK,
    FACT_WITHIN,
    UNPARSED,
    RolloutFacts,
    is_user_message,
)

#: (old start, old end, new length) of each changed line in a block.
Change = tuple[int, int, int]

#: :func:`item_event` by an event's payload type (a rollout has a few dozen)
_EVENTS: dict[str, int] = {}
_EVENTS_MAX = 1024

_REWRITERS: weakref.WeakKeyDictionary[PathMapper, Callable[[bytes, Any], bytes]] = (
    weakref.WeakKeyDictionary()
)


def _rewriter(mapper: PathMapper) -> Callable[[bytes, Any], bytes]:
    """:func:`record_rewriter` of ``mapper``, made once, not once per block."""
    rewrite = _REWRITERS.get(mapper)
    if rewrite is None:
        rewrite = _REWRITERS[mapper] = record_rewriter(mapper)
    return rewrite


def rewrite_block(
    block: bytes,
    mapper: PathMapper,
    *,
    rewrite_text: bool = False,
    check: DamageCount | None = None,
    facts: RolloutFacts | None = None,
    offsets: dict[int, int] | None = None,
    at: tuple[int, int] = (0, 0),
) -> tuple[bytes, list[Change]]:
    """:func:`rewrite_line` over a buffer of whole lines; every byte it leaves is copied as a
    slice. Each line is parsed once, with :func:`rollout.parse_block`'s verdicts, and that
    parse serves the damage check (``check`` gets every line's verdict), the rewrite (only a
    record of a kind that has path fields is looked at, and only a line where one maps is
    searched: :func:`rewrite.rewrite_record`) and the row facts (``facts`` gets each new
    line, as :meth:`RolloutFacts.feed_lines` would). ``offsets`` gets each line's old start
    -> its new start, both counted from ``at`` (the block's old and new place in its file)."""
    if rewrite_text:
        out = _rewrite_text_block(block, mapper, check, facts)
        if offsets is not None:
            _add_offsets(offsets, block, out[1], *at)
        return out
    if facts is None:
        facts = RolloutFacts()
    rewrite = _rewriter(mapper)
    loads = orjson.loads
    find = block.find
    size = len(block)
    head, shallow = block_depths(block)
    path_kinds = PATH_RECORD_TYPES
    events = _EVENTS
    user = facts.has_user_event
    head_left = HEAD_MAX_RECORDS - facts.records
    marked: list[tuple[int, bytes, Any]] = []
    bad: list[tuple[int, str]] = []
    pieces: list[bytes] = []
    changes: list[Change] = []
    last = pos = index = 0
    old_at, new_at = at
    shift = new_at - old_at  # new start - old start of the next line
    while pos < size:
        if offsets is not None:
            offsets[old_at + pos] = shift + old_at + pos
        nl = find(b"\n", pos)
        end = size if nl < 0 else nl + 1
        line = new = block[pos:end]
        record: Any = UNPARSED
        if end - pos <= HUGE_LINE_BYTES:
            try:
                record = loads(line)
            except ValueError:
                pass
            else:
                if not ((shallow and end != head) or line_fits(line, record, end == head)):
                    record = UNPARSED
        if record is UNPARSED:
            record, problem = parse_careful(line, nl < 0)
            if problem is not None:
                bad.append((index, problem))
                record = UNPARSED  # for the facts: a line to parse (it is not JSON)
        if type(record) is dict:
            kind = record.get("type")
            if kind == "event_msg":  # most events hold no path: known by the payload's type
                payload = record.get("payload")
                event = payload.get("type") if type(payload) is dict else None
                if type(event) is str:
                    may = events.get(event)
                    if may is None:
                        if len(events) >= _EVENTS_MAX:  # hostile input: bounded
                            events.clear()
                        may = events[event] = item_event(event)
                    if may and (may != ITEM_EVENT or holds_command(payload)):
                        new = rewrite(line, record)
            elif type(kind) is str and kind in path_kinds:  # {"type": []} is JSON
                new = rewrite(line, record)
            if new is not line:
                pieces.append(block[last:pos])
                pieces.append(new)
                changes.append((pos, end, len(new)))
                shift += len(new) - (end - pos)
                last = end
        # the parse of the line before its paths changed serves the facts (see feed_lines)
        if new.find(FACT_MARK, 0, FACT_WITHIN) >= 0:
            marked.append((index, new, record))
        elif not user and index < head_left:
            user = is_user_message(new)
        index += 1
        pos = end
    if check is not None:
        check.add_block(index, bad)
    facts.feed_marked(index, marked, user)
    if not changes:
        return block, changes
    pieces.append(block[last:])
    return b"".join(pieces), changes


def _newlines(block: bytes) -> Iterator[int]:
    pos = block.find(b"\n")
    while pos >= 0:
        yield pos
        pos = block.find(b"\n", pos + 1)


def _add_offsets(
    offset_map: dict[int, int], block: bytes, changes: list[Change], old: int, new: int
) -> None:
    """Old line start -> new line start for every line of ``block``."""
    delta = 0
    todo = iter(changes)
    change = next(todo, None)
    start = 0
    for nl in (*_newlines(block), len(block) - 1):
        if start >= len(block):
            break
        offset_map[old + start] = new + start + delta
        if change is not None and change[0] == start:
            delta += change[2] - (change[1] - change[0])
            change = next(todo, None)
        start = nl + 1


def _rewrite_text_block(
    block: bytes, mapper: PathMapper, check: DamageCount | None, facts: RolloutFacts | None
) -> tuple[bytes, list[Change]]:
    """:func:`rewrite_block` with ``--rewrite-text``: free text may hold a path in any line,
    so the bytes are searched first, and a line is rewritten from its bytes."""
    lines, bad = parse_block(block)
    if check is not None:
        check.add_block(len(lines), bad)
    starts = candidate_lines(block, mapper)
    wanted = None if starts is None else set(starts)
    fed: list[tuple[bytes, Any]] = []
    feed = fed.append
    pieces: list[bytes] = []
    changes: list[Change] = []
    last = pos = 0
    for line, record, problem in lines:
        end = pos + len(line)
        new = line
        if problem is None and record is not None and (wanted is None or pos in wanted):
            new = rewrite_line(line, mapper, rewrite_text=True, record=record)
            if new is not line:
                pieces.append(block[last:pos])
                pieces.append(new)
                changes.append((pos, end, len(new)))
                last = end
        # a changed line may have changed any string (a model, an effort): parse it again
        feed((new, UNPARSED if problem is not None or new is not line else record))
        pos = end
    if facts is not None:
        facts.feed_lines(fed)
    if not changes:
        return block, changes
    pieces.append(block[last:])
    return b"".join(pieces), changes
