"""Reading rollout JSONL files of every Codex era, without ever failing on a bad line.

Rollouts are the source of truth. Three eras live on users' disks (see docs/STORAGE.md §2):
``bare`` (2025, no envelope), ``legacy`` (``{"timestamp","type","payload"}``) and
``paginated`` (the same plus ``ordinal``). Listing needs only a head read plus, for paginated
threads, the last ``thread_settings_applied`` record, found by reading backwards from the end.
Later stages use :func:`iter_lines`, a streaming read that yields every line's raw bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from codex_migrate import safejson
from codex_migrate.fsutil import open_regular
from codex_migrate.settings_tail import (
    SETTINGS_MARK,
    settings_cwd_of,
    tail_settings_cwd,
)
from codex_migrate.zst import open_zst

UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ROLLOUT_NAME_RE = re.compile(
    r"^rollout-(?P<stamp>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})-(?P<id>" + UUID_RE + r")"
    r"\.jsonl(?P<zst>\.zst)?$"
)

#: A line longer than this is reported as ``huge`` and not parsed (its bytes are still copied).
HUGE_LINE_BYTES = 256 * 1024 * 1024
#: How far the head read looks for metadata and the first user message. Codex itself only
#: looks near the head, so a thread without a user message there is hidden from listings.
HEAD_MAX_RECORDS = 64
HEAD_MAX_BYTES = 4 * 1024 * 1024
_CHUNK = 1024 * 1024
_HEAD_CHUNK = 64 * 1024

# Wrappers Codex puts around injected context; they are not what the user typed.
_INJECTED_PREFIXES = (
    "<environment_context>",
    "<user_instructions>",
    "# AGENTS.md instructions",
    "<INSTRUCTIONS>",
    "<permissions instructions>",
    "<turn_aborted>",
    "<user_shell_command>",
    "<skills_instructions>",
    "<collaboration_mode>",
)
_ENV_CWD_RE = re.compile(r"<cwd>(.*?)</cwd>", re.DOTALL)


@dataclass(slots=True)
class LineIssues:
    """Counts of lines that could not be read, by reason; never fatal."""

    truncated: int = 0
    non_utf8: int = 0
    not_json: int = 0
    huge: int = 0
    first_bad_line: int | None = None

    def add(self, reason: str, lineno: int | None) -> None:
        setattr(self, reason, getattr(self, reason) + 1)
        if self.first_bad_line is None and lineno is not None:
            self.first_bad_line = lineno

    @property
    def total(self) -> int:
        return self.truncated + self.non_utf8 + self.not_json + self.huge

    def to_dict(self) -> dict[str, int]:
        return {
            k: v
            for k, v in (
                ("truncated", self.truncated),
                ("non_utf8", self.non_utf8),
                ("not_json", self.not_json),
                ("huge", self.huge),
            )
            if v
        }


@dataclass(slots=True)
class Line:
    """One physical line: its raw bytes (terminator included) and, when readable, its JSON."""

    lineno: int
    offset: int
    raw: bytes
    obj: Any = None
    problem: str | None = None


def parse_rollout_name(name: str) -> tuple[str, str, bool] | None:
    """``(stamp, thread_id, compressed)`` from a rollout file name, or None."""
    m = ROLLOUT_NAME_RE.match(name)
    if not m:
        return None
    return m.group("stamp"), m.group("id").lower(), bool(m.group("zst"))


def open_rollout(path: Path) -> IO[bytes]:
    """A binary stream of the rollout's JSONL, decompressing ``.jsonl.zst`` on the fly.

    Raises OSError for anything but a regular file (a FIFO would block) and for a damaged or
    truncated ``.zst`` (see :mod:`codex_migrate.zst`), so callers skip the file by name."""
    raw = open_regular(path)
    if path.name.endswith(".zst"):
        return open_zst(raw, path, _CHUNK)
    return raw


def decode_line(raw: bytes, lineno: int, offset: int, *, last: bool) -> Line:
    """Parse one raw line; a problem is recorded on the line, never raised."""
    return _decode(raw, Line(lineno, offset, raw), last)


def _decode(raw: bytes, line: Line, last: bool) -> Line:
    line.obj, line.problem = _parse(raw, last)
    return line


def _parse(raw: bytes, last: bool, exact_ints: bool = True) -> tuple[Any, str | None]:
    if len(raw) <= HUGE_LINE_BYTES:
        try:  # the common case, a readable line: one call (see safejson)
            return safejson.loads_utf8(raw, exact_ints=exact_ints), None
        except ValueError:
            pass  # the careful path gives the exact verdict
    return parse_careful(raw, last)


def parse_careful(raw: bytes, last: bool) -> tuple[Any, str | None]:
    """``(record, problem)`` of a line the exact, slow way: for a line orjson refused, or
    one the fast check cannot vouch for (too long, too deep)."""
    body = raw.rstrip(b"\r\n")
    if not body.strip():
        return None, None
    if len(body) > HUGE_LINE_BYTES:
        return None, "huge"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, "non_utf8"
    try:
        return safejson.loads(text), None
    except ValueError:
        # A last line without its newline is what a crash mid-write leaves behind.
        return None, "truncated" if last and not raw.endswith(b"\n") else "not_json"


_NOT_OPENERS_NOR_NEWLINES = safejson.NOT_OPENERS.replace(b"\n", b"")
#: A block's first line this long has its depth checked by its record, not its bytes.
_WALK_BYTES = 8192

#: One line of a block: its bytes, its record (None when unreadable) and its problem.
ParsedLine = tuple[bytes, Any, "str | None"]


def block_depths(block: bytes) -> tuple[int, bool]:
    """For :func:`parse_block`'s depth check of a buffer of whole lines: where a long first
    line ends (0 when it is short), and whether each of the other lines has at most
    ``MAX_DEPTH`` opening brackets, so none is too deep (see :func:`line_fits`).

    A value is no deeper than its count of opening brackets: counted for every line at once
    (the brackets and newlines a translate leaves, split at the newlines), a real rollout's
    lines need no count of their own. A long first line (a rollout's session_meta, 38 % of
    its bytes, mostly text in a few containers) is left out: its record is cheaper to look at."""
    head = block.find(b"\n") + 1 or len(block)
    if head < _WALK_BYTES:
        head = 0
    kept = (block[head:] if head else block).translate(None, _NOT_OPENERS_NOR_NEWLINES)
    deep = safejson.MAX_DEPTH
    return head, len(kept) <= deep or max(map(len, kept.split(b"\n"))) <= deep


def line_fits(line: bytes, record: Any, walk: bool) -> bool:
    """Whether a line orjson parsed is no deeper than Codex reads, when :func:`block_depths`
    did not settle it; ``walk``: look at the record first (the long first line)."""
    deep = safejson.MAX_DEPTH
    if walk:
        fits = safejson.within_depth(record, len(line) >> 7)
        if fits is not None:
            return fits
    return len(line.translate(None, safejson.NOT_OPENERS)) <= deep or safejson.depth(record) <= deep


def parse_block(block: bytes) -> tuple[list[ParsedLine], list[tuple[int, str]]]:
    """:func:`parse_line` (``exact_ints=False``) of every line of a buffer of whole lines
    (the last may lack its newline), and the (index, problem) of each unreadable one.

    The same verdicts and records as :func:`_parse`, in one loop with no call per line but
    orjson's: an import parses every line it copies, and the calls around the parse cost
    more than the parse itself. An integer past 64 bits may come back as a float (see
    ``safejson.loads_utf8``): for callers that read only a record's strings."""
    lines: list[ParsedLine] = []
    bad: list[tuple[int, str]] = []
    append = lines.append
    loads = orjson.loads
    find = block.find
    head, shallow = block_depths(block)
    pos = 0
    size = len(block)
    while pos < size:
        nl = find(b"\n", pos)
        end = size if nl < 0 else nl + 1
        line = block[pos:end]
        pos = end
        if len(line) <= HUGE_LINE_BYTES:
            try:
                record = loads(line)
            except ValueError:
                pass
            else:
                if (shallow and end != head) or line_fits(line, record, end == head):
                    append((line, record, None))
                    continue
        record, problem = parse_careful(line, nl < 0)
        if problem is not None:
            bad.append((len(lines), problem))
        append((line, record, problem))
    return lines, bad


def parse_line(raw: bytes, *, last: bool, exact_ints: bool = True) -> tuple[Any, str | None]:
    """``(record, problem)`` of one raw line, as :func:`decode_line` finds them.
    ``exact_ints=False``: for a caller that reads only strings (see ``safejson.loads_utf8``)."""
    return _parse(raw, last, exact_ints)


def line_blocks(stream: IO[bytes], block_bytes: int = _CHUNK) -> Iterator[bytes]:
    """Whole lines in blocks of about ``block_bytes`` (a longer line makes a longer block);
    the last block may end without a newline. Memory: a block plus the longest line."""
    pending: list[bytes] = []
    while chunk := stream.read(block_bytes):
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            pending.append(chunk)
            continue
        yield b"".join([*pending, chunk[:cut]]) if pending else chunk[:cut]
        pending = [chunk[cut:]] if cut < len(chunk) else []
    if pending:
        yield b"".join(pending)


def iter_lines(
    stream: IO[bytes],
    issues: LineIssues | None = None,
    chunk_size: int = _CHUNK,
    *,
    parse: bool = True,
) -> Iterator[Line]:
    """Stream every line of a rollout with its byte offset; memory stays bounded by the chunk
    size plus the longest line (lines over :data:`HUGE_LINE_BYTES` are passed on unparsed).
    With ``parse=False`` only the raw bytes are yielded (copying needs no JSON)."""
    offset = 0
    lineno = 0
    pending = bytearray()

    def emit(raw: bytes, last: bool) -> Line:
        if not parse:
            return Line(lineno, offset, raw)
        line = decode_line(raw, lineno, offset, last=last)
        if line.problem and issues is not None:
            issues.add(line.problem, lineno)
        return line

    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        start = 0
        nl = chunk.find(b"\n")
        while nl >= 0:
            if pending:
                pending += chunk[start : nl + 1]
                raw = bytes(pending)
                pending.clear()
            else:
                raw = chunk[start : nl + 1]
            lineno += 1
            yield emit(raw, last=False)
            offset += len(raw)
            start = nl + 1
            nl = chunk.find(b"\n", start)
        pending += chunk[start:]
    if pending:
        lineno += 1
        yield emit(bytes(pending), last=True)


def _user_text(content: Any) -> str:
    """What the user typed: text parts, without the wrappers Codex puts around images."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                text = part["text"]
                bare = text.strip()  # (only an empty text or a tag can be a wrapper)
                if not bare or (bare[0] == "<" and _IMAGE_WRAPPER_RE.fullmatch(bare)):
                    continue
                parts.append(text)
    return "\n".join(parts)


_IMAGE_WRAPPER_RE = re.compile(r"(<image\b[^>]*>\s*)?(</image>)?", re.DOTALL)


def is_injected_text(text: str) -> bool:
    """True for the context blocks Codex injects as ``user`` messages."""
    return text.lstrip().startswith(_INJECTED_PREFIXES)


def env_context_cwd(text: str) -> str | None:
    if "<environment_context>" not in text:
        return None
    m = _ENV_CWD_RE.search(text)
    return m.group(1).strip() if m else None


def _last_line_cut(f: IO[bytes]) -> bool:
    if f.seek(0, os.SEEK_END) == 0:
        return False
    f.seek(-1, os.SEEK_END)
    return f.read(1) != b"\n"


def last_settings_cwd(path: Path) -> str | None:
    """The cwd of the last ``thread_settings_applied`` record: what 0.169 lists.

    Plain files are read backwards in blocks from the end, so a large rollout costs only its
    tail; compressed files have no random access and are streamed.
    """
    if path.name.endswith(".zst"):
        found = None
        with open_rollout(path) as stream:
            for line in iter_lines(stream):
                if SETTINGS_MARK in line.raw:
                    found = settings_cwd_of(line.raw) or found
        return found
    with open_regular(path) as f:
        return tail_settings_cwd(f)
