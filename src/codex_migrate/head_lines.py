"""Which lines of a rollout's head can matter to a listing, judged from their first bytes, and
the ``session_meta`` line with its instructions cut out: the head read decodes only what can
change what it reports (see :func:`codex_migrate.rollout_head.read_head`).

Lines are judged where they lie, by their offsets in the buffer that holds them (``data``,
``pos``, ``end``: the line is ``data[pos:end]``), so a whole file read in one call is never cut
into a copy per line; :func:`_slim` is :func:`_slim_at` for one line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from codex_migrate.rollout import _INJECTED_PREFIXES, HUGE_LINE_BYTES
from codex_migrate.settings_tail import SETTINGS_MARK

if TYPE_CHECKING:
    from codex_migrate.rollout_head import RolloutHead

#: Where a session_meta keeps the model's instructions (0.169: ``base_instructions.text``,
#: 0.80: ``instructions``): 3-20 KB of text that listing never reads.
_INSTRUCTION_KEYS = (b',"base_instructions":{"text":"', b',"instructions":"')
#: A string shorter than this is cheaper to decode than to cut out.
_SLIM_MIN = 1024
_META_MARK = b'"session_meta"'
#: Instruction texts already cut (through their closing quote), by their first bytes: most
#: sessions of a home carry one of a few texts (one per Codex version), and comparing with a
#: known one costs a ``memcmp`` where finding its end costs a call per escaped quote in it.
_KNOWN_TEXTS: dict[bytes, bytes] = {}
_KNOWN_MAX = 32
_PROBE = 64


def _slim(raw: bytes) -> bytes:
    """:func:`_slim_at` of one line: the line itself when nothing is cut."""
    slim = _slim_at(raw, 0, len(raw))
    return raw if slim is None else slim


def _slim_at(data: bytes, pos: int, end: int) -> bytes | None:
    """A ``session_meta`` line with its instructions text cut to ``""``, so decoding it costs
    the metadata, not 20 KB of text; None for any other line (nothing to cut).

    Listing never reads that string, and, like the lines the head skips unparsed, it is not
    checked beyond its bounds: the rest of the line is decoded as usual (a slimmed line that
    does not decode is decoded whole, so the verdict on a bad line is the whole line's). The
    key is matched with the comma before it and its quotes unescaped, so it is a key (the
    payload's, where Codex writes it), never text inside a string; none of the metadata the
    listing keeps is under such a key.
    """
    if end - pos > HUGE_LINE_BYTES or data.find(_META_MARK, pos, min(pos + 320, end)) < 0:
        return None
    return _slim_meta(data, pos, end)


def _slim_meta(data: bytes, pos: int, end: int) -> bytes | None:
    """:func:`_slim_at` of a line known to name ``session_meta`` in its first bytes."""
    for key in _INSTRUCTION_KEYS:
        at = data.find(key, pos, end)
        if at >= 0:
            break
    else:
        return None
    start = at + len(key)
    probe = data[start : start + _PROBE]
    known = _KNOWN_TEXTS.get(probe)
    if known is not None and start + len(known) <= end and data.startswith(known, start):
        stop = start + len(known) - 1  # the same bytes through a quote: the same end
    else:
        stop = _string_end(data, start, end)
        if stop - start >= _SLIM_MIN:
            if len(_KNOWN_TEXTS) >= _KNOWN_MAX:
                _KNOWN_TEXTS.clear()
            _KNOWN_TEXTS[probe] = data[start : stop + 1]
    if stop - start < _SLIM_MIN:
        return None
    return data[pos:start] + data[stop:end]


def _string_end(raw: bytes, start: int, end: int | None = None) -> int:
    """The index of the quote that closes the JSON string whose text begins at ``start``
    (a quote preceded by an even number of backslashes) before ``end``, or -1. Only a quote
    with a backslash before it costs a second look."""
    find = raw.find
    stop = len(raw) if end is None else end
    pos = find(b'"', start, stop)
    while pos > start and raw[pos - 1] == 0x5C:  # a backslash
        # the common case, one backslash (an escaped quote), settled by one more look
        if pos - 1 > start and raw[pos - 2] == 0x5C:
            back = pos - 2
            while back > start and raw[back - 1] == 0x5C:
                back -= 1
            if (pos - back) % 2 == 0:
                return pos
        pos = find(b'"', pos + 1, stop)
    return pos


def _may_matter_in(
    data: bytes, pos: int, end: int, head: RolloutHead, tail_settings: bool, thread_id: str | None
) -> bool:
    """Whether the head line ``data[pos:end]`` can change the listing facts; the rest
    (developer instructions, world state, tool output, a ``turn_context`` once its cwd cannot
    count, settings found from the tail anyway, context Codex injects as a user message once
    its cwd cannot count) are skipped unparsed. Anything not shaped like one JSON object is
    parsed anyway, so a bad line is still counted.

    The record's kind is read from its first ``"type":"`` when that is the top level's (no
    ``{`` before it), as Codex writes every line; otherwise by the words in its first bytes.
    """
    # shaped as Codex writes a line: ``{`` ... ``}`` and its newline (ints: no slice made)
    if data[pos] != 0x7B or data[end - 1] != 0x0A or data[end - 2] != 0x7D:
        body = data[pos:end].rstrip()  # rare: a line Codex did not write, or the last one
        if not body.startswith(b"{") or not body.endswith(b"}"):
            return bool(body)
    m = _CODEX_LINE.match(data, pos, end)
    if m is None:  # the kind is not where Codex writes it, or is cut short: look closer
        return _may_matter_at(data[pos:end], head, tail_settings, thread_id)
    kind, what = m.groups()
    verdict = _by_kind(kind, data, pos, end, head, thread_id)
    if verdict is not None:
        return verdict
    if what is None:
        return _may_matter_at(data[pos:end], head, tail_settings, thread_id)
    return _by_payload_type(kind, what, data, pos, end, m.start(2), head, tail_settings, thread_id)


def _by_kind(
    kind: bytes, data: bytes, pos: int, end: int, head: RolloutHead, thread_id: str | None
) -> bool | None:
    """Whether a line of this kind matters; None for ``event_msg`` and ``response_item``,
    where the payload's type decides (:func:`_by_payload_type`)."""
    if kind == b"event_msg" or kind == b"response_item":
        return None
    if kind == b"session_meta":
        return True
    if kind == b"turn_context":
        return head.turn_cwd is None and not _cwd_settled(head, thread_id)
    if kind == b"message":  # a bare-era (2025) item
        return _user_message_matters(data, pos, end, head, thread_id)
    return False


def _by_payload_type(
    kind: bytes,
    what: bytes,
    data: bytes,
    pos: int,
    end: int,
    at: int,
    head: RolloutHead,
    tail_settings: bool,
    thread_id: str | None,
) -> bool:
    """Whether an ``event_msg`` or ``response_item`` line matters, by its payload's type
    ``what`` (which starts at ``at``)."""
    if kind == b"response_item":
        return what == b"message" and _user_message_matters(data, pos, end, head, thread_id)
    if what == b"user_message":
        return True
    if what == b"item_completed":
        return data.find(b"UserMessage", at, min(pos + _LOOK, end)) >= 0
    return what == b"thread_settings_applied" and not tail_settings


def _may_matter_at(
    raw: bytes, head: RolloutHead, tail_settings: bool, thread_id: str | None
) -> bool:
    """:func:`_may_matter_in` of a line shaped like one JSON object, step by step: for the lines
    :data:`_CODEX_LINE` does not read (each of its steps is a call, which is what costs)."""
    at = raw.find(_TYPE, 0, _LOOK)
    if at < 0 or raw.find(b"{", 1, at) >= 0:
        return _may_matter_by_words(raw, head, tail_settings, thread_id)
    at += len(_TYPE)
    kind = raw[at : raw.find(b'"', at, at + 40)]
    size = len(raw)
    verdict = _by_kind(kind, raw, 0, size, head, thread_id)
    if verdict is not None:
        return verdict
    at += len(kind) + 1
    if not raw.startswith(_PAYLOAD_TYPE, at):
        return _may_matter_by_words(raw, head, tail_settings, thread_id)
    at += len(_PAYLOAD_TYPE)
    what = raw[at : raw.find(b'"', at, at + 40)]
    return _by_payload_type(kind, what, raw, 0, size, at, head, tail_settings, thread_id)


_TYPE = b'"type":"'
_PAYLOAD_TYPE = b',"payload":{"type":"'
_LOOK = 320
#: What :func:`_may_matter_at` reads of a line as Codex writes it (a timestamp, an ordinal in
#: paginated files, then the type), in one match: the kind up to its quote within 40 bytes
#: and, right after it, the payload's type likewise (None when the payload is not next or its
#: type is cut short: then the steps decide). Nothing before this ``"type":"`` can hold
#: another one or a ``{``, and it starts well within ``_LOOK``, as the steps require.
_CODEX_LINE = re.compile(
    rb'\{"timestamp":"[^"{]{0,100}",(?:"ordinal":[0-9]{1,20},)?"type":"([^"]{0,39})"'
    rb'(?:,"payload":\{"type":"([^"]{0,39})")?'
)

#: One match judges most lines of a head as :func:`_may_matter_at`'s steps do, for a whole
#: file (its settings come from its end): ``skip``, a line that cannot matter (an event other
#: than a user message or a completed item, a response item other than a message, any kind
#: that never matters); ``message``, a response item message (:func:`_user_message_matters`
#: decides); ``turn``, a turn_context (the head decides). No match: :func:`_may_matter_in`
#: judges the line. The kind and payload type are read as the steps read them: each up to a
#: quote within 40 bytes, right where :data:`_CODEX_LINE` finds them (after a timestamp as
#: Codex writes it, whose bytes a charset tests at one step each).
_CODEX_KIND = re.compile(
    rb'\{"timestamp":"[-.:0-9TZ]{0,100}",(?:"ordinal":[0-9]{1,20},)?"type":"(?:'
    rb'(?P<skip>event_msg","payload":\{"type":"(?!user_message"|item_completed")'
    rb'|response_item","payload":\{"type":"(?!message")'
    rb'|(?!event_msg"|response_item"|session_meta"|turn_context"|message")[^"]{0,39}")'
    rb'|(?P<message>response_item","payload":\{"type":"message")'
    rb'|(?P<turn>turn_context"))'
)


def _may_matter_by_words(
    raw: bytes, head: RolloutHead, tail_settings: bool, thread_id: str | None
) -> bool:
    """:func:`_may_matter_in` for a line not laid out as Codex writes: by the words in it."""
    start = raw[:_LOOK]
    if b"session_meta" in start or b"user_message" in start or b"UserMessage" in start:
        return True
    if b"turn_context" in start:
        # its cwd counts only without a final session_meta cwd (one naming this file)
        return head.turn_cwd is None and not _cwd_settled(head, thread_id)
    if SETTINGS_MARK in start:
        return not tail_settings
    return b"message" in start and _user_message_matters(raw, 0, len(raw), head, thread_id)


def _user_message_matters(
    data: bytes, pos: int, end: int, head: RolloutHead, thread_id: str | None
) -> bool:
    """A message that may be the user's: what Codex injects (AGENTS.md,
    <environment_context>) is never the first user message, and its <cwd> counts only where
    no settled cwd exists."""
    if data.find(b'"user"', pos, end if end < pos + _LOOK else pos + _LOOK) < 0:
        return False
    if head.era == "bare" or not (head.era == "paginated" or _cwd_settled(head, thread_id)):
        return True
    return not _injected_context(data, pos, end)


def _cwd_settled(head: RolloutHead, thread_id: str | None) -> bool:
    return head.meta_cwd is not None and head.meta_id == thread_id


_USER_TEXT = b'"role":"user","content":[{"type":"input_text","text":"'
_INJECTED_TEXTS = tuple(_USER_TEXT + p.encode() for p in _INJECTED_PREFIXES)


def _injected_context(data: bytes, pos: int, end: int) -> bool:
    """A user message whose first text part is context Codex injects (as Codex writes it:
    anything else is decoded and judged by :func:`is_injected_text`)."""
    at = data.find(_USER_TEXT, pos, end if end < pos + 640 else pos + 640)
    # (the texts hold no newline: a match that starts in the line ends in it)
    return at >= 0 and data.startswith(_INJECTED_TEXTS, at)
