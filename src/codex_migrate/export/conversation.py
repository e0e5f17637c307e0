"""Turn one rollout into a neutral conversation: turns of messages, tool calls and notes.

A rollout records the same message several times (docs/STORAGE.md §2): as a ``response_item``
message (what the model saw), as a legacy ``event_msg`` ``user_message``/``agent_message``
(what the UI showed), and in paginated rollouts as an ``item_completed`` ``UserMessage`` /
``AgentMessage``. Showing more than one of them repeats every message, so the rule here is one
source for content, in every era:

* messages, reasoning and tool calls come **only** from ``response_item`` records (bare-era
  lines are the same items without the envelope);
* ``event_msg`` records never add content. They only *enrich*: turn boundaries and times
  (``task_started``/``task_complete``), token usage (``token_count``), and a tool call's exit
  code, output, duration, MCP server or search query (``item_completed`` ``CommandExecution``
  … and legacy ``exec_command_end`` …), matched to the call by ``call_id``.

Why ``response_item`` and not the events: measured on real 0.169 and 0.80 rollouts, both carry
the same texts, but only ``response_item`` embeds attached images as data URLs (0.169's
``UserMessage`` holds a ``local_image`` path that does not exist on another machine), and only
it exists in the bare era. Response items that carry an ``id`` already seen are skipped.

The reader streams: it yields one :class:`Turn` at a time and keeps no parsed JSON around.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

from codex_migrate.export.enrich import enrich_call, event_item, merge_output
from codex_migrate.export.model import (
    Conversation,
    Event,
    ImageRef,
    Message,
    Note,
    Reasoning,
    SessionInfo,
    TextFilter,
    TokenUsage,
    ToolCall,
    Turn,
)
from codex_migrate.export.parsing import (
    BUILTIN_CALLS,
    _parse_ts,
    _str,
    builtin_call,
    context_label,
    function_call,
    message_content,
    parse_output,
    reasoning_text,
    shell_command_text,
)
from codex_migrate.rollout import iter_lines, open_rollout

#: The model types are re-exported: callers read a conversation and its parts from here.
__all__ = [
    "Conversation",
    "ConversationReader",
    "ImageRef",
    "Message",
    "Note",
    "Reasoning",
    "SessionInfo",
    "TokenUsage",
    "ToolCall",
    "Turn",
    "parse_output",
    "read_conversation",
    "shell_command_text",
]


class ConversationReader:
    """Reads a rollout once, lazily: iterate :meth:`turns`; :attr:`info` fills as it goes.

    ``redact`` is applied to every text taken from the rollout (not to image data).
    """

    def __init__(
        self,
        path: Path,
        *,
        thread_id: str | None = None,
        redact: TextFilter | None = None,
    ) -> None:
        self.path = path
        self.thread_id = thread_id.lower() if thread_id else None
        self.info = SessionInfo(thread_id=self.thread_id)
        self._r: TextFilter = redact or (lambda s: s)
        self._turn: Turn | None = None
        self._count = 0
        self._seen_ids: set[str] = set()
        self._calls: dict[str, ToolCall] = {}
        self._usage: TokenUsage | None = None
        self._task_events = False
        self._ready: list[Turn] = []
        self._meta_id: str | None = None
        # Legacy rollouts have no turn events: context injected after a turn's chat usually
        # opens the next turn, so it waits here for the next user message.
        self._pending: list[Note] = []

    # -- turns ---------------------------------------------------------------------------
    def turns(self) -> Generator[Turn, None, None]:
        """Every turn in order; the file is streamed and each turn handed over when done."""
        with open_rollout(self.path) as stream:
            first = True
            for line in iter_lines(stream, self.info.issues):
                obj = line.obj
                if not isinstance(obj, dict):
                    continue
                if first:
                    first = False
                    if "type" in obj and "payload" in obj:
                        self.info.era = "paginated" if "ordinal" in obj else "legacy"
                    elif "id" in obj and "timestamp" in obj and "type" not in obj:
                        self.info.era = "bare"
                        self._bare_header(obj)
                        continue
                if self.info.era == "bare":
                    if "record_type" not in obj:
                        self._response_item(obj, None)
                else:
                    self._record(obj)
                yield from self._drain()
        if self._pending:
            self._current(None).events.extend(self._pending)
            self._pending.clear()
        self._close_turn()
        yield from self._drain()

    def _drain(self) -> Iterator[Turn]:
        while self._ready:
            yield self._ready.pop(0)

    def _open_turn(self, ts: str | None, turn_id: str | None = None) -> Turn:
        self._close_turn()
        self._count += 1
        self._turn = Turn(index=self._count, turn_id=turn_id, started_at=ts)
        self._turn._usage_start = self._usage
        self._turn.events.extend(self._pending)
        self._pending.clear()
        return self._turn

    def _close_turn(self) -> None:
        turn = self._turn
        if turn is None:
            return
        self._turn = None
        self._calls.clear()
        if self._usage is not None and self._usage != turn._usage_start:
            turn.usage = self._usage.minus(turn._usage_start)
        if turn.duration_ms is None:
            start, end = _parse_ts(turn.started_at), _parse_ts(turn.completed_at)
            if start and end and end >= start:
                turn.duration_ms = (end - start).total_seconds() * 1000.0
        if not turn.events:
            self._count -= 1
            return
        self._ready.append(turn)

    def _current(self, ts: str | None) -> Turn:
        return self._turn if self._turn is not None else self._open_turn(ts)

    def _add(self, event: Event, ts: str | None) -> None:
        turn = self._current(ts)
        if isinstance(event, Note) and event.note == "context":
            if not self._task_events and turn.has_chat():
                self._pending.append(event)
                return
        elif self._pending:
            turn.events.extend(self._pending)
            self._pending.clear()
        turn.events.append(event)
        if ts and not turn._closed:
            turn.completed_at = ts

    # -- records -------------------------------------------------------------------------
    def _bare_header(self, obj: dict[str, Any]) -> None:
        info = self.info
        info.thread_id = info.thread_id or (_str(obj.get("id")) or "").lower() or None
        info.created_at = _str(obj.get("timestamp"))
        git = obj.get("git")
        if isinstance(git, dict):
            info.git = {k: v for k, v in git.items() if isinstance(v, str) and v}

    def _record(self, obj: dict[str, Any]) -> None:
        rtype = obj.get("type")
        payload = obj.get("payload")
        ts = _str(obj.get("timestamp"))
        if ts:
            self.info.first_timestamp = self.info.first_timestamp or ts
            self.info.last_timestamp = ts
        if not isinstance(payload, dict):
            return
        if rtype == "response_item":
            self._response_item(payload, ts)
        elif rtype == "event_msg":
            self._event(payload, ts)
        elif rtype == "session_meta":
            self._session_meta(payload)
        elif rtype == "turn_context":
            model = _str(payload.get("model"))
            if model:
                self._note_model(model)
                turn = self._current(ts)
                turn.model = turn.model or model
        elif rtype == "compacted":
            text = _str(payload.get("message")) or ""
            self._add(Note("compacted", "Context compacted", self._r(text), ts), ts)
        elif rtype == "rollout_reference":
            ref = _str(payload.get("rollout_path")) or ""
            self._add(Note("reference", "Continued from another rollout", self._r(ref), ts), ts)

    def _note_model(self, model: str) -> None:
        if model not in self.info.models:
            self.info.models.append(model)

    def _session_meta(self, p: dict[str, Any]) -> None:
        pid = (_str(p.get("id")) or "").lower()
        # A forked file carries the parent's meta after its own: keep the one naming this file.
        if self._meta_id is not None and not (
            self.thread_id and pid == self.thread_id and self._meta_id != self.thread_id
        ):
            return
        self._meta_id = pid
        info = self.info
        info.thread_id = self.thread_id or pid or None
        info.created_at = _str(p.get("timestamp"))
        info.cwd = _str(p.get("cwd"))
        info.cli_version = _str(p.get("cli_version"))
        info.originator = _str(p.get("originator"))
        source = p.get("source")
        info.source = (
            source
            if isinstance(source, str)
            else (next(iter(source), None) if isinstance(source, dict) else None)
        )
        info.model_provider = _str(p.get("model_provider"))
        mode = _str(p.get("history_mode"))
        if mode:
            info.history_mode = mode
            if mode == "paginated":
                info.era = "paginated"
        git = p.get("git")
        if isinstance(git, dict):
            info.git = {k: v for k, v in git.items() if isinstance(v, str) and v}

    # -- response items: the one source of content ---------------------------------------
    def _response_item(self, p: dict[str, Any], ts: str | None) -> None:
        itype = p.get("type")
        item_id = _str(p.get("id"))
        if item_id and itype in ("message", "reasoning"):
            if item_id in self._seen_ids:
                return
            self._seen_ids.add(item_id)
        if itype == "message":
            self._message(p, ts)
        elif itype == "reasoning":
            self._reasoning(p, ts)
        elif itype in ("function_call", "custom_tool_call"):
            self._function_call(p, ts)
        elif itype in ("function_call_output", "custom_tool_call_output"):
            self._call_output(p, ts)
        elif itype in BUILTIN_CALLS:
            self._add_call(builtin_call(p, ts, self._r), ts)
        elif itype in ("compaction", "compaction_summary"):
            self._add(Note("compacted", "Context compacted"), ts)
        elif itype in ("ghost_snapshot",):
            return  # Codex's undo snapshots: internal bookkeeping
        elif isinstance(itype, str):
            body = json.dumps(p, ensure_ascii=False, indent=1)
            self._add(Note("other", f"Record: {itype}", self._r(body), ts), ts)

    def _message(self, p: dict[str, Any], ts: str | None) -> None:
        role = p.get("role")
        texts, images = self._content(p.get("content"))
        if role in ("developer", "system"):
            for text in texts or [""]:
                label = context_label(text) or (
                    "Developer instructions" if role == "developer" else "System instructions"
                )
                self._add(Note("context", label, self._r(text), ts), ts)
            return
        if role == "user":
            first_label = context_label(texts[0]) if texts else None
            if first_label is not None and not images:
                for text in texts:
                    label = context_label(text) or first_label
                    self._add(Note("context", label, self._r(text), ts), ts)
                return
            text = "\n\n".join(t for t in texts if t.strip())
            self._turn_for_user_message(ts)
            msg = Message("user", self._r(text), images, ts)
            self._add(msg, ts)
            return
        if role == "assistant":
            text = "\n\n".join(t for t in texts if t.strip())
            if text or images:
                self._add(Message("assistant", self._r(text), images, ts), ts)

    def _turn_for_user_message(self, ts: str | None) -> None:
        """A typed user message starts a turn, except in a turn that has no chat yet (opened by
        ``task_started`` or holding only context) or one still running (a message sent while
        Codex works: paginated rollouts mark turns with task events)."""
        turn = self._turn
        if turn is None:
            self._open_turn(ts)
        elif not turn.has_chat():
            turn.started_at = turn.started_at or ts
        elif not (self._task_events and not turn._closed):
            self._open_turn(ts)

    def _content(self, content: Any) -> tuple[list[str], list[ImageRef]]:
        return message_content(content, self._r)

    def _reasoning(self, p: dict[str, Any], ts: str | None) -> None:
        text = reasoning_text(p)
        if text:
            self._add(Reasoning(self._r(text), ts), ts)

    def _function_call(self, p: dict[str, Any], ts: str | None) -> None:
        self._add_call(function_call(p, ts, self._r), ts)

    def _add_call(self, call: ToolCall, ts: str | None) -> None:
        self._add(call, ts)
        if call.call_id:
            self._calls[call.call_id] = call

    def _call_output(self, p: dict[str, Any], ts: str | None) -> None:
        call_id = _str(p.get("call_id"))
        call = self._calls.get(call_id) if call_id else None
        out = parse_output(p.get("output"))
        if call is None:
            # An output whose call is not in this turn: keep it visible, folded.
            self._add(Note("other", "Tool output", self._r(out.text or "")), ts)
            return
        merge_output(call, out, self._r)
        turn = self._current(ts)
        if ts and not turn._closed:
            turn.completed_at = ts

    # -- events: enrichment and structure only -------------------------------------------
    def _event(self, p: dict[str, Any], ts: str | None) -> None:
        etype = p.get("type")
        if etype == "task_started":
            self._task_events = True
            turn = self._turn
            turn_id = _str(p.get("turn_id"))
            if turn is not None and not turn.has_chat() and not turn._closed:
                turn.turn_id = turn.turn_id or turn_id
                turn.started_at = turn.started_at or ts
            else:
                self._open_turn(ts, turn_id)
        elif etype in ("task_complete", "turn_complete"):
            turn = self._turn
            if turn is not None:
                dur = p.get("duration_ms")
                if isinstance(dur, (int, float)):
                    turn.duration_ms = float(dur)
                turn.completed_at = ts or turn.completed_at
                turn._closed = True
        elif etype == "token_count":
            info = p.get("info")
            if isinstance(info, dict):
                usage = TokenUsage.from_dict(info.get("total_token_usage"))
                if usage is not None:
                    self._usage = usage
                    self.info.total_usage = usage
        elif etype == "thread_settings_applied":
            settings = p.get("thread_settings")
            if isinstance(settings, dict) and _str(settings.get("model")):
                self._note_model(settings["model"])
        elif etype == "turn_aborted":
            reason = _str(p.get("reason")) or ""
            self._add(Note("aborted", "Turn aborted", self._r(reason), ts), ts)
        elif etype in ("error", "stream_error"):
            message = _str(p.get("message")) or ""
            self._add(Note("error", "Error", self._r(message), ts), ts)
        else:
            item = event_item(p)
            if item is not None:
                self._enrich(item)

    def _enrich(self, item: dict[str, Any]) -> None:
        """Add what an event knows to the call already read from a ``response_item``."""
        call = self._calls.get(_str(item.get("id")) or "")
        if call is not None:
            enrich_call(call, item, self._r)


def read_conversation(
    path: Path, *, thread_id: str | None = None, redact: TextFilter | None = None
) -> Conversation:
    """The whole conversation in memory: for tests and small files (exports stream)."""
    reader = ConversationReader(path, thread_id=thread_id, redact=redact)
    turns = list(reader.turns())
    return Conversation(reader.info, turns)
