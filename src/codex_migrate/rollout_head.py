"""Reading the head of a rollout: what a listing needs (the ``session_meta``, the first real
user message, the last settings), read from a bounded prefix and, for the settings, a bounded
tail, so scanning thousands of sessions never reads whole files."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from codex_migrate.fsutil import open_regular_fd, open_regular_stat
from codex_migrate.head_lines import (
    _CODEX_KIND,
    _META_MARK,
    _cwd_settled,
    _may_matter_in,
    _slim_meta,
    _user_message_matters,
)
from codex_migrate.rollout import (
    _CHUNK,
    _HEAD_CHUNK,
    HEAD_MAX_BYTES,
    HEAD_MAX_RECORDS,
    HUGE_LINE_BYTES,
    LineIssues,
    _last_line_cut,
    _user_text,
    env_context_cwd,
    is_injected_text,
    iter_lines,
    last_settings_cwd,
    parse_line,
)
from codex_migrate.safejson import loads_utf8
from codex_migrate.settings_tail import settings_in, tail_settings_cwd
from codex_migrate.zst import open_zst


@dataclass(slots=True)
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


#: A plain rollout up to this size is read in one call and summarised from memory (most
#: are: a real session is tens of KB); a larger one streams its head and reads its tail.
WHOLE_MAX = 256 * 1024


def read_head(path: Path | str, thread_id: str | None = None) -> RolloutHead:
    """Summarise a rollout for listing without reading it whole; also its size and mtime
    (from the open file, so one path lookup serves both).

    Raises OSError only when the file cannot be opened or read at all.
    """
    head = RolloutHead()
    if os.fspath(path).endswith(".zst"):
        path = Path(path)
        raw_file, st = open_regular_stat(path)
        head.size, head.mtime = st.st_size, st.st_mtime
        with open_zst(raw_file, path, _CHUNK) as stream:
            first = stream.read(_HEAD_CHUNK)
            if not _read_records(head, _head_lines(first, stream), False, thread_id):
                head.empty = True
            elif head.era == "paginated":
                head.settings_cwd = last_settings_cwd(path) or head.settings_cwd
        return head
    fd, st = open_regular_fd(path)
    head.size, head.mtime = st.st_size, st.st_mtime
    try:
        if st.st_size <= WHOLE_MAX:
            data = os.read(fd, st.st_size + 1)
            if len(data) <= st.st_size:  # the whole file: it did not grow since the stat
                _summarise(head, data, None, thread_id)
                return head
            os.lseek(fd, 0, os.SEEK_SET)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        stream = os.fdopen(fd, "rb")
        fd = -1  # the stream owns it now
    finally:
        if fd >= 0:
            os.close(fd)
    with stream:
        first = stream.read(_HEAD_CHUNK)
        if len(first) < _HEAD_CHUNK:  # read() returns less only at the end: the whole file
            _summarise(head, first, _head_lines(first, stream), thread_id)
            return head
        if not _read_records(head, _head_lines(first, stream), True, thread_id):
            head.empty = True
            return head
        # Cheap crash check beyond the head: Codex ends every line with a newline.
        if head.issues.truncated == 0 and _last_line_cut(stream):
            head.issues.add("truncated", None)
        if head.era == "paginated":
            head.settings_cwd = tail_settings_cwd(stream) or head.settings_cwd
    return head


def _summarise(
    head: RolloutHead, data: bytes, lines: Iterator[bytes] | None, thread_id: str | None
) -> None:
    """Fill ``head`` from a whole plain file in ``data`` (its ``lines``, or None to cut
    them from ``data``); the last thread_settings_applied comes from its end, so the head
    need not decode those lines (they can only be overridden)."""
    if lines is None:
        read = _read_data(head, data, thread_id)
    else:
        read = _read_records(head, lines, True, thread_id)
    if not read:
        head.empty = True
        return
    if head.issues.truncated == 0 and not data.endswith(b"\n"):
        head.issues.add("truncated", None)
    if head.era == "paginated":
        head.settings_cwd = settings_in(data) or head.settings_cwd


def _read_records(
    head: RolloutHead, lines: Iterator[bytes], tail_settings: bool, thread_id: str | None
) -> int:
    """Fold the head's lines into ``head`` until it knows enough; the bytes read."""
    read = 0
    lineno = 0
    for raw in lines:
        lineno += 1
        size = len(raw)
        read += size
        if lineno != 1 and not _may_matter_in(raw, 0, size, head, tail_settings, thread_id):
            head.records_read += 1
            continue
        if not _take(head, raw, 0, size, lineno, thread_id):
            continue
        if (
            head.meta is not None
            and head.first_user_message is not None
            and (head.settings_cwd is not None or head.era != "paginated" or tail_settings)
        ):
            break
        if head.records_read >= HEAD_MAX_RECORDS or read >= HEAD_MAX_BYTES:
            break
    return read


def _read_data(head: RolloutHead, data: bytes, thread_id: str | None) -> int:
    """:func:`_read_records` of a whole file in memory (its last settings come from its end):
    each line judged where it lies in ``data`` (see :mod:`codex_migrate.head_lines`), and
    cut out only when it is decoded."""
    find = data.find
    match = _CODEX_KIND.match
    size = len(data)
    pos = lineno = 0
    while pos < size:
        nl = find(b"\n", pos)
        end = nl + 1 if nl >= 0 else size
        lineno += 1
        if lineno != 1:
            # most lines are judged by one match (its ``{`` and ``}`` are Codex's shape)
            kind = match(data, pos, end) if nl > pos and data[nl - 1] == 0x7D else None
            if kind is None:
                matters = _may_matter_in(data, pos, end, head, True, thread_id)
            elif (group := kind.lastgroup) == "skip":
                matters = False
            elif group == "turn":
                matters = head.turn_cwd is None and not _cwd_settled(head, thread_id)
            else:
                matters = _user_message_matters(data, pos, end, head, thread_id)
            if not matters:
                head.records_read += 1
                pos = end
                continue
        took = _take(head, data, pos, end, lineno, thread_id)
        pos = end
        if not took:
            continue
        if head.meta is not None and head.first_user_message is not None:
            break
        if head.records_read >= HEAD_MAX_RECORDS or end >= HEAD_MAX_BYTES:
            break
    return pos


def _take(
    head: RolloutHead, data: bytes, pos: int, end: int, lineno: int, thread_id: str | None
) -> bool:
    """Decode the head line ``data[pos:end]`` (it may matter) and fold it into ``head``;
    False for a blank line (neither a record nor a problem)."""
    # Of other records a listing reads only strings, so an int past 64 bits may stay a float
    # there (one search less per line; the verdict on the line is the same); a session_meta's
    # id is shown as written.
    exact = data.find(_META_MARK, pos, end if end < pos + 320 else pos + 320) >= 0
    slim = _slim_meta(data, pos, end) if exact and end - pos <= HUGE_LINE_BYTES else None
    exact = exact or lineno == 1
    line = data[pos:end] if slim is None else slim
    last = data[end - 1] != 0x0A  # no newline: the file's last line
    problem = None
    try:  # parse_line's common case, a readable line, in one call
        if len(line) > HUGE_LINE_BYTES:
            raise ValueError("huge")
        obj = loads_utf8(line, exact_ints=exact)
    except ValueError:
        obj, problem = parse_line(line, last=last, exact_ints=exact)
        if problem and slim is not None:  # the verdict on a bad line is the whole line's
            obj, problem = parse_line(data[pos:end], last=last, exact_ints=exact)
    if not exact and type(obj) is dict and obj.get("type") == "session_meta":
        obj, problem = parse_line(line, last=last)  # laid out otherwise
    if problem:
        head.issues.add(problem, lineno)
    if obj is None:
        return problem is not None
    head.records_read += 1
    _absorb(head, obj, thread_id)
    return True
