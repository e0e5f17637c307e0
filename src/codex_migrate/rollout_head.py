"""Reading the head of a rollout: what a listing needs (the ``session_meta``, the first real
user message, the last settings), read from a bounded prefix and, for the settings, a bounded
tail, so scanning thousands of sessions never reads whole files."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from codex_migrate.fsutil import open_regular_stat
from codex_migrate.rollout import (
    _CHUNK,
    _HEAD_CHUNK,
    _INJECTED_PREFIXES,
    HEAD_MAX_BYTES,
    HEAD_MAX_RECORDS,
    HUGE_LINE_BYTES,
    LineIssues,
    _last_line_cut,
    _parse,
    _user_text,
    env_context_cwd,
    is_injected_text,
    iter_lines,
    last_settings_cwd,
)
from codex_migrate.settings_tail import (
    SETTINGS_MARK,
    settings_in,
    tail_settings_cwd,
)
from codex_migrate.zst import open_zst


@dataclass
class RolloutHead:
    """What listing needs from a rollout, read from its head (and tail for paginated ones)."""

    era: str = "unknown"  # bare | legacy | paginated | unknown
    meta: dict[str, Any] | None = None
    meta_id: str | None = None
    history_mode: str = "legacy"
    first_user_message: str | None = None
    env_cwd: str | None = None
    settings_cwd: str | None = None
    turn_cwd: str | None = None
    first_timestamp: str | None = None
    records_read: int = 0
    size: int = 0
    mtime: float = 0.0
    issues: LineIssues = field(default_factory=LineIssues)
    empty: bool = False

    @property
    def meta_cwd(self) -> str | None:
        cwd = (self.meta or {}).get("cwd")
        return cwd if isinstance(cwd, str) else None

    @property
    def cwd(self) -> str | None:
        """The cwd Codex would show for this rollout alone (no DB row): era-aware."""
        if self.era == "paginated":
            return self.settings_cwd or self.meta_cwd or self.turn_cwd
        if self.era == "bare":
            return self.env_cwd
        return self.meta_cwd or self.turn_cwd or self.env_cwd


def _note_user_message(head: RolloutHead, text: str) -> None:
    if head.first_user_message is None and text.strip() and not is_injected_text(text):
        head.first_user_message = text


def _absorb(head: RolloutHead, obj: Any, thread_id: str | None) -> None:
    """Fold one parsed record into the head summary."""
    if not isinstance(obj, dict):
        return
    if head.records_read == 1:
        if "type" in obj and "payload" in obj:
            head.era = "paginated" if "ordinal" in obj else "legacy"
        elif "id" in obj and "timestamp" in obj:
            head.era = "bare"
            head.meta = obj
            head.meta_id = str(obj.get("id", "")).lower() or None
            head.first_timestamp = obj.get("timestamp")
            return
    rtype = obj.get("type")
    payload = obj.get("payload")
    if head.first_timestamp is None and isinstance(obj.get("timestamp"), str):
        head.first_timestamp = obj["timestamp"]
    if head.era == "bare":
        # Bare items: messages at top level; state records carry no content we list.
        if rtype == "message" and obj.get("role") == "user":
            text = _user_text(obj.get("content"))
            head.env_cwd = head.env_cwd or env_context_cwd(text)
            _note_user_message(head, text)
        return
    if not isinstance(payload, dict):
        return
    if rtype == "session_meta":
        pid = str(payload.get("id", "")).lower()
        # A forked file carries the parent's meta after the child's: keep the one naming
        # this file, else the first one seen.
        if head.meta is None or (thread_id and pid == thread_id and head.meta_id != thread_id):
            head.meta = payload
            head.meta_id = pid or None
            mode = payload.get("history_mode")
            if isinstance(mode, str) and mode:
                head.history_mode = mode
                if mode == "paginated":
                    head.era = "paginated"
    elif rtype == "turn_context":
        if head.turn_cwd is None and isinstance(payload.get("cwd"), str):
            head.turn_cwd = payload["cwd"]
    elif rtype == "event_msg":
        ptype = payload.get("type")
        if ptype == "user_message" and isinstance(payload.get("message"), str):
            _note_user_message(head, payload["message"])
        elif ptype == "item_completed":
            item = payload.get("item")
            if isinstance(item, dict) and item.get("type") == "UserMessage":
                _note_user_message(head, _user_text(item.get("content")))
        elif ptype == "thread_settings_applied":
            settings = payload.get("thread_settings")
            if isinstance(settings, dict) and isinstance(settings.get("cwd"), str):
                head.settings_cwd = settings["cwd"]
    elif (
        rtype == "response_item"
        and payload.get("type") == "message"
        and payload.get("role") == "user"
    ):
        text = _user_text(payload.get("content"))
        head.env_cwd = head.env_cwd or env_context_cwd(text)
        _note_user_message(head, text)


class _Replay(io.RawIOBase):
    """A stream that gives ``first`` and then the rest of ``stream``: the head is read in
    one call and kept, so a small rollout (most are) is opened and read once."""

    def __init__(self, first: bytes, stream: IO[bytes]) -> None:
        self._first: bytes | None = first
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._first is not None:
            first, self._first = self._first, None
            if first:
                return first
        return self._stream.read(size)


def _head_lines(first: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    """The raw lines of the rollout: those whole in ``first`` by plain slicing (the common
    case: the head fits in the first chunk), then the rest streamed from ``stream``."""
    pos = 0
    find = first.find
    while (nl := find(b"\n", pos)) >= 0:
        yield first[pos : nl + 1]
        pos = nl + 1
    rest = cast(IO[bytes], _Replay(first[pos:], stream))
    for line in iter_lines(rest, None, _HEAD_CHUNK, parse=False):
        yield line.raw


def read_head(path: Path, thread_id: str | None = None) -> RolloutHead:
    """Summarise a rollout for listing without reading it whole; also its size and mtime
    (from the open file, so one path lookup serves both).

    Raises OSError only when the file cannot be opened or read at all.
    """
    head = RolloutHead()
    compressed = path.name.endswith(".zst")
    raw_file, st = open_regular_stat(path)
    head.size, head.mtime = st.st_size, st.st_mtime
    with open_zst(raw_file, path, _CHUNK) if compressed else raw_file as stream:
        first = stream.read(_HEAD_CHUNK)
        # A file shorter than one chunk was read whole (read() returns less only at the end).
        whole = len(first) < _HEAD_CHUNK
        # For a plain file the last thread_settings_applied is found from the tail below,
        # so the head need not decode those lines (they can only be overridden).
        tail_settings = not compressed
        if not _read_records(head, _head_lines(first, stream), tail_settings, thread_id):
            head.empty = True
            return head
        if compressed:
            if head.era == "paginated":
                head.settings_cwd = last_settings_cwd(path) or head.settings_cwd
            return head
        if whole:
            if head.issues.truncated == 0 and not first.endswith(b"\n"):
                head.issues.add("truncated", None)
            if head.era == "paginated":
                head.settings_cwd = settings_in(first) or head.settings_cwd
            return head
        # Cheap crash check beyond the head: Codex ends every line with a newline.
        if head.issues.truncated == 0 and _last_line_cut(stream):
            head.issues.add("truncated", None)
        if head.era == "paginated":
            head.settings_cwd = tail_settings_cwd(stream) or head.settings_cwd
    return head


def _read_records(
    head: RolloutHead, lines: Iterator[bytes], tail_settings: bool, thread_id: str | None
) -> int:
    """Fold the head's lines into ``head`` until it knows enough; the bytes read."""
    read = 0
    lineno = 0
    for raw in lines:
        lineno += 1
        read += len(raw)
        if lineno == 1 or _may_matter(raw, head, tail_settings, thread_id):
            slim = _slim(raw)
            obj, problem = _parse(slim, not raw.endswith(b"\n"))
            if problem and slim is not raw:  # the verdict on a bad line is the whole line's
                obj, problem = _parse(raw, not raw.endswith(b"\n"))
            if problem:
                head.issues.add(problem, lineno)
        else:
            head.records_read += 1
            continue
        if obj is None:
            if problem is None:
                continue
        else:
            head.records_read += 1
            _absorb(head, obj, thread_id)
        if (
            head.meta is not None
            and head.first_user_message is not None
            and (head.settings_cwd is not None or head.era != "paginated" or tail_settings)
        ):
            break
        if head.records_read >= HEAD_MAX_RECORDS or read >= HEAD_MAX_BYTES:
            break
    return read


#: Where a session_meta keeps the model's instructions (0.169: ``base_instructions.text``,
#: 0.80: ``instructions``): 3-20 KB of text that listing never reads.
_INSTRUCTION_KEYS = (b',"base_instructions":{"text":"', b',"instructions":"')
#: A string shorter than this is cheaper to decode than to cut out.
_SLIM_MIN = 1024


def _slim(raw: bytes) -> bytes:
    """A ``session_meta`` line with its instructions text cut to ``""``, so decoding it costs
    the metadata, not 20 KB of text; any other line unchanged.

    Listing never reads that string, and, like the lines the head skips unparsed, it is not
    checked beyond its bounds: the rest of the line is decoded as usual (a slimmed line that
    does not decode is decoded whole, so the verdict on a bad line is the whole line's). The
    key is matched with the comma before it and its quotes unescaped, so it is a key (the
    payload's, where Codex writes it), never text inside a string; none of the metadata the
    listing keeps is under such a key.
    """
    if b'"session_meta"' not in raw[:320] or len(raw) > HUGE_LINE_BYTES:
        return raw
    for key in _INSTRUCTION_KEYS:
        at = raw.find(key)
        if at >= 0:
            break
    else:
        return raw
    start = at + len(key)
    end = _string_end(raw, start)
    if end - start < _SLIM_MIN:
        return raw
    return raw[:start] + raw[end:]


def _string_end(raw: bytes, start: int) -> int:
    """The index of the quote that closes the JSON string whose text begins at ``start``
    (a quote preceded by an even number of backslashes), or -1."""
    find = raw.find
    pos = start
    while (pos := find(b'"', pos)) >= 0:
        back = pos
        while back > start and raw[back - 1] == 0x5C:  # a backslash
            back -= 1
        if (pos - back) % 2 == 0:
            return pos
        pos += 1
    return -1


def _may_matter(raw: bytes, head: RolloutHead, tail_settings: bool, thread_id: str | None) -> bool:
    """Whether a head line can change the listing facts; the rest (developer instructions,
    world state, tool output, a ``turn_context`` once its cwd cannot count, settings found
    from the tail anyway, context Codex injects as a user message once its cwd cannot count)
    are skipped unparsed. Anything not shaped like one JSON object is parsed anyway, so a
    bad line is still counted.

    The record's kind is read from its first ``"type":"`` when that is the top level's (no
    ``{`` before it), as Codex writes every line; otherwise by the words in its first bytes.
    """
    if not raw.startswith(b"{") or not raw.endswith(b"}\n"):
        body = raw.rstrip()  # rare: a line Codex did not write, or the last one
        if not body.startswith(b"{") or not body.endswith(b"}"):
            return bool(body)
    at = raw.find(_TYPE, 0, _LOOK)
    if at < 0 or raw.find(b"{", 1, at) >= 0:
        return _may_matter_by_words(raw, head, tail_settings, thread_id)
    at += len(_TYPE)
    kind = raw[at : raw.find(b'"', at, at + 40)]
    if kind == b"session_meta":
        return True
    if kind == b"turn_context":
        return head.turn_cwd is None and not _cwd_settled(head, thread_id)
    if kind == b"message":  # a bare-era (2025) item
        return _user_message_matters(raw, head, thread_id)
    if kind != b"event_msg" and kind != b"response_item":
        return False
    at += len(kind) + 1
    if not raw.startswith(_PAYLOAD_TYPE, at):
        return _may_matter_by_words(raw, head, tail_settings, thread_id)
    at += len(_PAYLOAD_TYPE)
    what = raw[at : raw.find(b'"', at, at + 40)]
    if kind == b"response_item":
        return what == b"message" and _user_message_matters(raw, head, thread_id)
    if what == b"user_message":
        return True
    if what == b"item_completed":
        return raw.find(b"UserMessage", at, _LOOK) >= 0
    return what == b"thread_settings_applied" and not tail_settings


_TYPE = b'"type":"'
_PAYLOAD_TYPE = b',"payload":{"type":"'
_LOOK = 320


def _may_matter_by_words(
    raw: bytes, head: RolloutHead, tail_settings: bool, thread_id: str | None
) -> bool:
    """:func:`_may_matter` for a line not laid out as Codex writes: by the words in it."""
    start = raw[:_LOOK]
    if b"session_meta" in start or b"user_message" in start or b"UserMessage" in start:
        return True
    if b"turn_context" in start:
        # its cwd counts only without a final session_meta cwd (one naming this file)
        return head.turn_cwd is None and not _cwd_settled(head, thread_id)
    if SETTINGS_MARK in start:
        return not tail_settings
    return b"message" in start and _user_message_matters(raw, head, thread_id)


def _user_message_matters(raw: bytes, head: RolloutHead, thread_id: str | None) -> bool:
    """A message that may be the user's: what Codex injects (AGENTS.md,
    <environment_context>) is never the first user message, and its <cwd> counts only where
    no settled cwd exists."""
    if raw.find(b'"user"', 0, _LOOK) < 0:
        return False
    if head.era == "bare" or not (head.era == "paginated" or _cwd_settled(head, thread_id)):
        return True
    return not _injected_context(raw)


def _cwd_settled(head: RolloutHead, thread_id: str | None) -> bool:
    return head.meta_cwd is not None and head.meta_id == thread_id


_USER_TEXT = b'"role":"user","content":[{"type":"input_text","text":"'
_INJECTED_TEXTS = tuple(_USER_TEXT + p.encode() for p in _INJECTED_PREFIXES)


def _injected_context(raw: bytes) -> bool:
    """A user message whose first text part is context Codex injects (as Codex writes it:
    anything else is decoded and judged by :func:`is_injected_text`)."""
    at = raw.find(_USER_TEXT, 0, 640)
    return at >= 0 and raw.startswith(_INJECTED_TEXTS, at)
