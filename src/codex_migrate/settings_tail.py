"""The cwd of a rollout's last ``thread_settings_applied`` record, found from its end.

0.169 lists a paginated thread under the cwd of the last such record, so listing reads it from
the tail: backwards in blocks, linear in the bytes read however long the last lines are (a
64 MB last line costs one pass, not one per block), with memory bounded by one block plus the
one line that holds the record.
"""

from __future__ import annotations

import os
from typing import IO

from codex_migrate import safejson

SETTINGS_MARK = b'"thread_settings_applied"'
#: A line longer than this is not parsed (the same bound as :data:`rollout.HUGE_LINE_BYTES`).
MAX_LINE_BYTES = 256 * 1024 * 1024
_TAIL_BLOCK = 64 * 1024


def settings_in(data: bytes) -> str | None:
    """The cwd of the last thread_settings_applied line in a buffer of whole lines."""
    end = len(data)
    while (hit := data.rfind(SETTINGS_MARK, 0, end)) >= 0:
        start = data.rfind(b"\n", 0, hit) + 1
        stop = data.find(b"\n", hit)
        cwd = settings_cwd_of(data[start : len(data) if stop < 0 else stop])
        if cwd is not None:
            return cwd
        end = start
    return None


def settings_cwd_of(raw: bytes) -> str | None:
    try:
        obj = safejson.loads(raw, exact_ints=False)  # only a string is read
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    payload = obj.get("payload")
    if obj.get("type") != "event_msg" or not isinstance(payload, dict):
        return None
    if payload.get("type") != "thread_settings_applied":
        return None
    settings = payload.get("thread_settings")
    cwd = settings.get("cwd") if isinstance(settings, dict) else None
    return cwd if isinstance(cwd, str) else None


def tail_settings_cwd(f: IO[bytes]) -> str | None:
    """Read backwards in blocks from the end: a large rollout costs only its tail.

    Linear in the bytes read whatever the line lengths: each block is scanned once for line
    breaks and the marker (with a marker-sized overlap), and only a line that holds the marker
    is read whole, once, by its offsets. Memory stays at one block plus that line.
    """
    keep = len(SETTINGS_MARK) - 1
    pos = f.seek(0, os.SEEK_END)
    line_end = pos  # exclusive end of the line being assembled (right of the scan)
    line_head = b""  # its first ``keep`` bytes seen so far, for a marker across blocks
    marked = False
    while pos > 0:
        step = min(_TAIL_BLOCK, pos)
        pos -= step
        f.seek(pos)
        block = f.read(step)
        i = len(block)
        while True:
            nl = block.rfind(b"\n", 0, i)
            window = block[nl + 1 : i] + line_head
            marked = marked or SETTINGS_MARK in window
            line_head = window[:keep]
            if nl < 0:
                break
            cwd = _settings_cwd_at(f, pos + nl + 1, line_end) if marked else None
            if cwd is not None:
                return cwd
            line_end, line_head, marked, i = pos + nl, b"", False, nl
    return _settings_cwd_at(f, 0, line_end) if marked else None


def _settings_cwd_at(f: IO[bytes], start: int, end: int) -> str | None:
    if end - start > MAX_LINE_BYTES:
        return None
    f.seek(start)
    return settings_cwd_of(f.read(end - start))
