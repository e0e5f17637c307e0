"""Bringing a 2025 "bare" rollout (Codex <= 0.29) back into current Codex.

Measured (docs/STORAGE.md §8): Codex 0.169 lists none of the sessions 0.29 wrote. Converted to the
enveloped ``legacy`` shape below, the same sessions are listed with the right cwd, read with
their turns, and resumed with the model receiving the earlier conversation. The conversion is
the smallest that gave all three; every item keeps its exact bytes as a ``response_item``
payload. Only shapes we measured are converted: anything else is refused, never guessed.

1. the header ``{id, timestamp, instructions?, git?}`` becomes ``session_meta`` (with cwd,
   originator, cli_version and source ``cli``; no model_provider, so the target's default
   is used);
2. ``{"record_type":"state"}`` markers are dropped (they carry no data);
3. every item becomes ``{"timestamp":T,"type":"response_item","payload":<its bytes>}``;
4. a real user message is followed by an ``event_msg`` ``user_message``; an assistant message
   is preceded by an ``event_msg`` ``agent_message`` (without them Codex lists nothing).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_migrate import safejson
from codex_migrate.catalog_thread import Thread
from codex_migrate.merge import raw_lines
from codex_migrate.rollout import env_context_cwd

ORIGINATOR = "codex_cli_rs"
CLI_VERSION = "0.29.0"
#: Item types 0.2x wrote as bare lines (ResponseItem variants); others are refused.
ITEM_TYPES = frozenset(
    {
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "local_shell_call",
        "custom_tool_call",
        "custom_tool_call_output",
        "web_search_call",
    }
)
HEADER_KEYS = frozenset({"id", "timestamp", "instructions", "git"})
_INJECTED = ("<environment_context>", "<user_instructions>")
#: Where we keep the original bytes of converted files: outside ``sessions/`` and
#: ``archived_sessions/``, which Codex scans for rollouts.
ORIGINALS_DIR = "codex-migrate/bare-originals"


class BareShapeError(ValueError):
    """A line of a bare rollout that is not one of the measured shapes."""


@dataclass(frozen=True)
class BareInfo:
    """What converting a bare file needs: its recorded cwd, or why it cannot be converted."""

    cwd: str | None
    problem: str | None = None
    lines: int = 0


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _kind(obj: Any, first: bool) -> str:
    if not isinstance(obj, dict):
        raise BareShapeError("a line that is not a JSON object")
    if first:
        if "id" in obj and "timestamp" in obj and set(obj) <= HEADER_KEYS:
            return "header"
        raise BareShapeError(f"an unknown first line (keys {sorted(obj)})")
    if "record_type" in obj:
        if obj == {"record_type": "state"}:
            return "state"
        raise BareShapeError(f"an unknown record {obj.get('record_type')!r} with data")
    if obj.get("type") in ITEM_TYPES:
        return "item"
    raise BareShapeError(f"an unknown item type {obj.get('type')!r}")


def _parts(content: Any, kind: str, key: str) -> list[str]:
    if not isinstance(content, list):
        return []
    return [
        p[key]
        for p in content
        if isinstance(p, dict) and p.get("type") == kind and isinstance(p.get(key), str)
    ]


def _events(obj: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The ``event_msg`` to put before and after this item, if any."""
    if obj.get("type") != "message":
        return None, None
    content = obj.get("content")
    if obj.get("role") == "user":
        text = "\n".join(_parts(content, "input_text", "text"))
        if text.lstrip().startswith(_INJECTED):
            return None, None
        images = _parts(content, "input_image", "image_url")
        return None, {"type": "user_message", "message": text, "images": images}
    if obj.get("role") == "assistant":
        return {
            "type": "agent_message",
            "message": "".join(_parts(content, "output_text", "text")),
        }, None
    return None, None


def upgrade_lines(lines: Iterable[bytes], cwd: str) -> Iterator[bytes]:
    """The enveloped lines for a bare rollout whose sessions ran in ``cwd``.

    Raises :class:`BareShapeError` on a shape we did not measure: check with :func:`inspect`
    first, so a transaction never starts on a file that would be refused."""
    stamp: str | None = None
    first = True
    for raw in lines:
        body = raw.strip()
        if not body:
            continue
        try:
            obj = safejson.loads(body)
        except ValueError as exc:
            raise BareShapeError("a line that is not valid JSON (cut or damaged)") from exc
        kind = _kind(obj, first)
        first = False
        if kind == "header":
            stamp = obj["timestamp"]
            meta: dict[str, Any] = {
                "id": obj["id"],
                "timestamp": stamp,
                "cwd": cwd,
                "originator": ORIGINATOR,
                "cli_version": CLI_VERSION,
            }
            if "instructions" in obj:
                meta["instructions"] = obj["instructions"]
            meta["source"] = "cli"
            if "git" in obj:
                meta["git"] = obj["git"]
            yield _dumps({"timestamp": stamp, "type": "session_meta", "payload": meta}) + b"\n"
            continue
        if kind == "state":
            continue
        before, after = _events(obj)
        envelope = _dumps(stamp)
        if before is not None:
            yield (
                b'{"timestamp":'
                + envelope
                + b',"type":"event_msg","payload":'
                + _dumps(before)
                + b"}\n"
            )
        yield b'{"timestamp":' + envelope + b',"type":"response_item","payload":' + body + b"}\n"
        if after is not None:
            yield (
                b'{"timestamp":'
                + envelope
                + b',"type":"event_msg","payload":'
                + _dumps(after)
                + b"}\n"
            )


def inspect(path: Path) -> BareInfo:
    """Read a whole bare rollout: its recorded cwd (raw text of ``<cwd>``, never
    XML-unescaped: 0.29 wrote it literally) and whether every line has a measured shape."""
    cwd = None
    n = 0
    try:
        first = True
        for raw in raw_lines(path):
            body = raw.strip()
            if not body:
                continue
            n += 1
            try:
                obj = safejson.loads(body)
            except ValueError:
                return BareInfo(cwd, f"line {n} is not valid JSON (cut or damaged)", n)
            try:
                kind = _kind(obj, first)
            except BareShapeError as exc:
                return BareInfo(cwd, f"line {n} is {exc}", n)
            first = False
            if cwd is None and kind == "item" and obj.get("role") == "user":
                cwd = env_context_cwd("\n".join(_parts(obj.get("content"), "input_text", "text")))
    except OSError as exc:
        return BareInfo(None, f"cannot be read: {exc.strerror or exc}")
    if n == 0:
        return BareInfo(None, "the file is empty")
    return BareInfo(cwd, None, n)


def original_rel(rel_path: str) -> str:
    """Where the original bytes of a converted rollout are kept, relative to the home (with
    a suffix, so no tool that looks for ``rollout-*.jsonl`` takes it for a session)."""
    return f"{ORIGINALS_DIR}/{rel_path}.orig"


def bare_choice(thread: Thread, bare_cwd: str | None) -> tuple[str | None, str | None]:
    """For a bare thread: the cwd to record when converting (None: keep it as it is) and
    the message that says why it is kept."""
    info = inspect(thread.rollout_path)
    if info.problem:
        return None, f"kept in the 2025 format, not converted: {info.problem}"
    if info.cwd:
        return info.cwd, None
    if bare_cwd:
        return bare_cwd, None
    return None, (
        "kept in the 2025 format: it records no project folder; pass --bare-cwd DIR to "
        "bring it back under DIR"
    )


def keep_original(source: Path, dest: Path) -> str:
    """Copy the original bytes of a converted rollout (kept outside the scanned folders);
    returns their sha256. The caller syncs and installs ``dest`` in its transaction."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(dest, "wb") as out:
        for raw in raw_lines(source):
            out.write(raw)
            digest.update(raw)
    return digest.hexdigest()
