"""Turn one rollout into a neutral conversation: turns of messages, tool calls and notes.

A rollout records the same message several times (FORMAT.md §2): as a ``response_item``
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
import re
import shlex
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from codex_migrate.rollout import LineIssues, iter_lines, open_rollout

#: ``redact(text) -> text``; identity when not redacting.
TextFilter = Callable[[str], str]

# Context Codex injects as user/developer messages: shown folded, never as chat.
_CONTEXT_LABELS: tuple[tuple[str, str], ...] = (
    ("<environment_context>", "Environment context"),
    ("<user_instructions>", "Project instructions"),
    ("# AGENTS.md instructions", "Project instructions (AGENTS.md)"),
    ("<INSTRUCTIONS>", "Instructions"),
    ("<permissions instructions>", "Permissions instructions"),
    ("<turn_aborted>", "Turn aborted"),
    ("<user_shell_command>", "User shell command"),
    ("<skills_instructions>", "Skills instructions"),
    ("<collaboration_mode>", "Collaboration mode"),
    ("<developer_instructions>", "Developer instructions"),
    ("<apps_instructions>", "Apps instructions"),
    ("<model_switch>", "Model switch"),
    ("<personality_spec>", "Personality"),
)
# 0.169 wraps an attached image in text parts `<image name=[Image #1] path="…">` … `</image>`.
_IMAGE_WRAPPER_RE = re.compile(r"^\s*</?(?:image|local_image|user_image)\b[^>]*>\s*$", re.DOTALL)
_IMAGE_PATH_RE = re.compile(r'\bpath="([^"]*)"')
_EXIT_RE = re.compile(r"(?:Process exited with code|Exit code:)\s*(-?\d+)")
_WALL_RE = re.compile(r"Wall time:\s*([0-9.]+)\s*seconds")
_SHELLS = {"bash", "sh", "zsh", "dash", "fish", "pwsh", "powershell", "powershell.exe", "cmd"}
SHELL_TOOLS = {"shell", "container.exec", "exec_command", "shell_command", "local_shell"}
PATCH_TOOLS = {"apply_patch"}
WEB_TOOLS = {"web_search", "web.run"}


@dataclass
class ImageRef:
    """An image as recorded. ``data_url`` is embedded as it is; ``path`` (a local file) is read
    at export time; ``remote`` is never fetched (an export makes no network requests)."""

    data_url: str | None = None
    path: str | None = None
    remote: str | None = None
    label: str = ""


@dataclass
class Message:
    role: str  # "user" | "assistant"
    text: str
    images: list[ImageRef] = field(default_factory=list)
    timestamp: str | None = None
    kind: str = "message"


@dataclass
class Reasoning:
    text: str
    timestamp: str | None = None
    kind: str = "reasoning"


@dataclass
class ToolCall:
    """One tool invocation with what came back; ``tool`` picks how it is drawn."""

    tool: str  # shell | patch | web_search | mcp | function | image_generation | other
    name: str
    call_id: str | None = None
    input: str = ""
    output: str | None = None
    exit_code: int | None = None
    duration_ms: float | None = None
    status: str | None = None
    server: str | None = None
    workdir: str | None = None
    images: list[ImageRef] = field(default_factory=list)
    timestamp: str | None = None
    kind: str = "tool"

    @property
    def title(self) -> str:
        """One line for the folded summary."""
        first = self.input.strip().splitlines()[0] if self.input.strip() else ""
        if self.tool == "patch":
            files = patch_files(self.input)
            return ", ".join(files[:3]) + (f" (+{len(files) - 3})" if len(files) > 3 else "")
        if self.tool == "mcp":
            return f"{self.server}.{self.name}" if self.server else self.name
        if self.tool in ("shell", "web_search"):
            return first
        return self.name

    @property
    def failed(self) -> bool:
        if self.exit_code is not None:
            return self.exit_code != 0
        return self.status in ("failed", "error", "declined")


@dataclass
class Note:
    """Something that is not chat: folded context, a compaction, an abort, an error."""

    note: str  # context | compacted | aborted | error | reference | other
    label: str
    text: str = ""
    timestamp: str | None = None
    kind: str = "note"


Event = Message | Reasoning | ToolCall | Note


@dataclass
class TokenUsage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_output_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_dict(cls, data: Any) -> TokenUsage | None:
        if not isinstance(data, dict):
            return None
        return cls(**{k: _int(data.get(k)) for k in cls.__dataclass_fields__})

    def minus(self, other: TokenUsage | None) -> TokenUsage:
        if other is None:
            return self
        return TokenUsage(
            **{k: getattr(self, k) - getattr(other, k) for k in self.__dataclass_fields__}
        )

    def to_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Turn:
    index: int
    turn_id: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    duration_ms: float | None = None
    model: str | None = None
    usage: TokenUsage | None = None
    events: list[Event] = field(default_factory=list)
    # Set while reading, not part of the result.
    _usage_start: TokenUsage | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def contexts(self) -> list[Note]:
        return [e for e in self.events if isinstance(e, Note) and e.note == "context"]

    @property
    def body(self) -> list[Event]:
        """Everything but folded context, in order."""
        return [e for e in self.events if not (isinstance(e, Note) and e.note == "context")]

    def has_chat(self) -> bool:
        return any(isinstance(e, (Message, ToolCall, Reasoning)) for e in self.events)


@dataclass
class SessionInfo:
    """What the header shows; filled while reading (complete once the turns are consumed).

    Values are as recorded, not redacted: the header redacts what it shows, so each masked
    secret is counted once."""

    thread_id: str | None = None
    era: str = "unknown"
    history_mode: str = "legacy"
    created_at: str | None = None
    cwd: str | None = None
    cli_version: str | None = None
    originator: str | None = None
    source: str | None = None
    model_provider: str | None = None
    models: list[str] = field(default_factory=list)
    git: dict[str, str] = field(default_factory=dict)
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    total_usage: TokenUsage | None = None
    issues: LineIssues = field(default_factory=LineIssues)


@dataclass
class Conversation:
    info: SessionInfo
    turns: list[Turn]

    def messages(self, role: str | None = None) -> list[Message]:
        return [
            e
            for t in self.turns
            for e in t.events
            if isinstance(e, Message) and (role is None or e.role == role)
        ]


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def context_label(text: str) -> str | None:
    """The label of an injected context block, or None for text the user typed."""
    stripped = text.lstrip()
    for prefix, label in _CONTEXT_LABELS:
        if stripped.startswith(prefix):
            return label
    return None


def shell_command_text(command: Any) -> str:
    """A readable command line: ``["bash","-lc",script]`` shows the script itself."""
    if isinstance(command, str):
        return command
    if isinstance(command, list) and all(isinstance(c, str) for c in command):
        shell = command[0].rsplit("/", 1)[-1] if command else ""
        if len(command) >= 3 and shell in _SHELLS and command[1] in ("-lc", "-c", "-Command", "/c"):
            return command[2]
        return shlex.join(command)
    return json.dumps(command, ensure_ascii=False) if command is not None else ""


def patch_files(patch: str) -> list[str]:
    """File names an ``apply_patch`` body touches (``*** Update File: x`` lines)."""
    files = []
    for line in patch.splitlines():
        m = re.match(r"\*\*\* (?:Add|Update|Delete) File: (.+)$", line)
        if m:
            files.append(m.group(1).strip())
    return files


def _apply_patch_body(command_text: str) -> str | None:
    """The patch of a shell call that runs ``apply_patch`` (older Codex), else None."""
    text = command_text.lstrip()
    if not text.startswith("apply_patch"):
        return None
    start = text.find("*** Begin Patch")
    if start < 0:
        return None
    end = text.find("*** End Patch", start)
    return text[start : end + len("*** End Patch")] if end >= 0 else text[start:]


def _duration_ms(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) * 1000.0
    if isinstance(value, dict):
        secs, nanos = value.get("secs"), value.get("nanos")
        if isinstance(secs, (int, float)):
            return float(secs) * 1000.0 + (float(nanos) / 1e6 if isinstance(nanos, int) else 0)
    if isinstance(value, str):
        m = re.match(r"^([0-9.]+)(ms|s)$", value.strip())
        if m:
            return float(m.group(1)) * (1.0 if m.group(2) == "ms" else 1000.0)
    return None


def _parse_ts(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def _image_from_url(url: str, label: str = "") -> ImageRef:
    if url.startswith("data:"):
        return ImageRef(data_url=url, label=label)
    if url.startswith(("http://", "https://")):
        return ImageRef(remote=url, label=label)
    path = url[len("file://") :] if url.startswith("file://") else url
    return ImageRef(path=path, label=label or path)


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
        elif itype == "local_shell_call":
            action = _dict(p.get("action"))
            command = shell_command_text(action.get("command"))
            self._add_call(
                ToolCall(
                    "shell",
                    "local_shell",
                    _str(p.get("call_id")) or _str(p.get("id")),
                    input=self._r(command),
                    status=_str(p.get("status")),
                    timestamp=ts,
                ),
                ts,
            )
        elif itype in ("function_call_output", "custom_tool_call_output"):
            self._call_output(p, ts)
        elif itype == "web_search_call":
            action = _dict(p.get("action"))
            query = _str(action.get("query")) or _str(action.get("url")) or ""
            queries = action.get("queries")
            if not query and isinstance(queries, list):
                query = "\n".join(q for q in queries if isinstance(q, str))
            if action.get("type") == "find_in_page" and _str(action.get("pattern")):
                query = f"{query}  find: {action['pattern']}"
            self._add_call(
                ToolCall(
                    "web_search",
                    "web_search",
                    _str(p.get("id")),
                    input=self._r(query),
                    status=_str(p.get("status")),
                    timestamp=ts,
                ),
                ts,
            )
        elif itype == "image_generation_call":
            call = ToolCall(
                "image_generation",
                "image_generation",
                _str(p.get("id")),
                input=self._r(_str(p.get("revised_prompt")) or ""),
                status=_str(p.get("status")),
                timestamp=ts,
            )
            result = _str(p.get("result"))
            if result:
                url = result if result.startswith("data:") else f"data:image/png;base64,{result}"
                call.images.append(ImageRef(data_url=url, label="generated image"))
            self._add_call(call, ts)
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
        """Texts and images of a message; 0.169's image wrapper parts name the image."""
        if isinstance(content, str):
            return [content], []
        texts: list[str] = []
        images: list[ImageRef] = []
        pending_label = ""
        if not isinstance(content, list):
            return texts, images
        for part in content:
            if not isinstance(part, dict):
                continue
            ptype = part.get("type")
            text = part.get("text")
            if isinstance(text, str) and ptype in (
                "input_text",
                "output_text",
                "text",
                "summary_text",
                "reasoning_text",
                None,
            ):
                if _IMAGE_WRAPPER_RE.match(text):
                    m = _IMAGE_PATH_RE.search(text)
                    pending_label = self._r(m.group(1)) if m else ""
                    continue
                texts.append(text)
            elif ptype == "input_image":
                url = part.get("image_url")
                if isinstance(url, str) and url:
                    ref = _image_from_url(url, pending_label)
                    if ref.path is not None or ref.remote is not None:
                        ref.label = self._r(ref.label)
                        ref.remote = self._r(ref.remote) if ref.remote else None
                    images.append(ref)
                    pending_label = ""
            elif ptype == "refusal" and isinstance(part.get("refusal"), str):
                texts.append(part["refusal"])
        return texts, images

    def _reasoning(self, p: dict[str, Any], ts: str | None) -> None:
        parts: list[str] = []
        summary = p.get("summary")
        if isinstance(summary, list):
            parts = [
                s["text"] for s in summary if isinstance(s, dict) and isinstance(s.get("text"), str)
            ]
        if not parts:
            content = p.get("content")
            if isinstance(content, list):
                parts = [
                    c["text"]
                    for c in content
                    if isinstance(c, dict) and isinstance(c.get("text"), str)
                ]
        text = "\n\n".join(t for t in parts if t.strip())
        if text:
            self._add(Reasoning(self._r(text), ts), ts)

    def _function_call(self, p: dict[str, Any], ts: str | None) -> None:
        name = _str(p.get("name")) or "tool"
        call_id = _str(p.get("call_id")) or _str(p.get("id"))
        raw_args = p.get("arguments") if p.get("type") == "function_call" else p.get("input")
        args: Any = None
        if isinstance(raw_args, str):
            try:
                args = json.loads(raw_args)
            except ValueError:
                args = None
        elif isinstance(raw_args, dict):
            args = raw_args
        call = ToolCall("function", name, call_id, status=_str(p.get("status")), timestamp=ts)
        if name in SHELL_TOOLS and isinstance(args, dict):
            command = shell_command_text(args.get("command", args.get("cmd")))
            patch = _apply_patch_body(command)
            if patch is not None:
                call.tool, call.input = "patch", patch
            else:
                call.tool, call.input = "shell", command
                workdir = _str(args.get("workdir")) or _str(args.get("cwd"))
                call.workdir = self._r(workdir) if workdir else None
        elif name in PATCH_TOOLS:
            call.tool = "patch"
            if isinstance(args, dict) and isinstance(args.get("input"), str):
                call.input = args["input"]
            elif isinstance(raw_args, str):
                call.input = raw_args
        elif name.startswith("mcp__") and name.count("__") >= 2:
            _, server, tool = name.split("__", 2)
            call.tool, call.name, call.server = "mcp", tool, server
            call.input = _pretty(args, raw_args)
        elif name in WEB_TOOLS:
            call.tool = "web_search"
            query = args.get("query") if isinstance(args, dict) else None
            call.input = query if isinstance(query, str) else _pretty(args, raw_args)
        else:
            call.input = _pretty(args, raw_args)
        call.input = self._r(call.input)
        call.server = self._r(call.server) if call.server else None
        self._add_call(call, ts)

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
        if call.exit_code is None:
            call.exit_code = out.exit_code
        if call.duration_ms is None:
            call.duration_ms = out.duration_ms
        if call.output is None and out.text is not None:
            call.output = self._r(out.text)
        call.images.extend(out.images)
        if out.success is False and call.status is None:
            call.status = "failed"
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
        elif etype == "item_completed":
            item = p.get("item")
            if isinstance(item, dict):
                self._enrich(item)
        elif etype == "exec_command_end":
            self._enrich({**p, "type": "CommandExecution", "id": p.get("call_id")})
        elif etype == "patch_apply_end":
            self._enrich({**p, "type": "FileChange", "id": p.get("call_id")})
        elif etype == "mcp_tool_call_end":
            inv = _dict(p.get("invocation"))
            self._enrich({**inv, **p, "type": "McpToolCall", "id": p.get("call_id")})
        elif etype == "web_search_end":
            self._enrich({**p, "type": "WebSearch", "id": p.get("call_id")})

    def _enrich(self, item: dict[str, Any]) -> None:
        """Add what an event knows to the call already read from a ``response_item``."""
        call = self._calls.get(_str(item.get("id")) or "")
        if call is None:
            return
        itype = item.get("type")
        if itype == "CommandExecution":
            code = item.get("exit_code", item.get("exitCode"))
            if isinstance(code, int):
                call.exit_code = code
            out = item.get("aggregated_output", item.get("aggregatedOutput"))
            if not isinstance(out, str):
                stdout, stderr = item.get("stdout"), item.get("stderr")
                if isinstance(stdout, str) or isinstance(stderr, str):
                    out = (stdout or "") + (stderr or "")
            if isinstance(out, str):
                call.output = self._r(out)
            dur = _duration_ms(item.get("duration", item.get("duration_ms")))
            if dur is not None:
                call.duration_ms = dur
            call.status = _str(item.get("status")) or call.status
        elif itype == "FileChange":
            status = _str(item.get("status"))
            success = item.get("success")
            if status:
                call.status = status
            elif isinstance(success, bool):
                call.status = "completed" if success else "failed"
            if call.output is None:
                out = "".join(
                    s for s in (item.get("stdout"), item.get("stderr")) if isinstance(s, str)
                )
                call.output = self._r(out) if out else None
        elif itype == "McpToolCall":
            server, tool = _str(item.get("server")), _str(item.get("tool"))
            if server:
                call.tool, call.server = "mcp", self._r(server)
            if tool:
                call.name = tool
            dur = _duration_ms(item.get("duration"))
            if dur is not None:
                call.duration_ms = dur
            call.status = _str(item.get("status")) or call.status
            if call.output is None:
                result = item.get("result", item.get("error"))
                if result is not None:
                    call.output = self._r(_pretty(result, None))
        elif itype == "WebSearch":
            query = _str(item.get("query"))
            if query and not call.input:
                call.input = self._r(query)


def _pretty(value: Any, raw: Any) -> str:
    if value is not None:
        return json.dumps(value, ensure_ascii=False, indent=2)
    return raw if isinstance(raw, str) else ""


@dataclass
class ToolOutput:
    text: str | None = None
    images: list[ImageRef] = field(default_factory=list)
    success: bool | None = None
    exit_code: int | None = None
    duration_ms: float | None = None


def parse_output(output: Any) -> ToolOutput:
    """A tool output in any of its recorded shapes: a plain string; legacy shell's JSON string
    ``{"output", "metadata": {"exit_code", "duration_seconds"}}``; 0.169 ``exec_command``'s
    text with a ``Process exited with code N`` / ``Output:`` header; ``{"content","success"}``;
    or a list of content items (text and images)."""
    result = ToolOutput()
    if isinstance(output, dict):
        success = output.get("success")
        result.success = success if isinstance(success, bool) else None
        output = output.get("content", output.get("output"))
    if isinstance(output, list):
        texts: list[str] = []
        for part in output:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "input_image" and isinstance(part.get("image_url"), str):
                result.images.append(_image_from_url(part["image_url"]))
        result.text = "\n".join(texts)
        return result
    if not isinstance(output, str):
        return result
    result.text = output
    if output.startswith("{") and '"output"' in output[:200]:
        try:
            data = json.loads(output)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("output"), str):
            meta = _dict(data.get("metadata"))
            code = meta.get("exit_code")
            result.exit_code = code if isinstance(code, int) else None
            result.duration_ms = _duration_ms(meta.get("duration_seconds"))
            result.text = data["output"]
            return result
    head, sep, rest = output.partition("\nOutput:\n")
    if sep and len(head) < 2000 and ("Process exited" in head or "Wall time" in head):
        m = _EXIT_RE.search(head)
        result.exit_code = int(m.group(1)) if m else None
        w = _WALL_RE.search(head)
        result.duration_ms = float(w.group(1)) * 1000.0 if w else None
        result.text = rest
    return result


def read_conversation(
    path: Path, *, thread_id: str | None = None, redact: TextFilter | None = None
) -> Conversation:
    """The whole conversation in memory: for tests and small files (exports stream)."""
    reader = ConversationReader(path, thread_id=thread_id, redact=redact)
    turns = list(reader.turns())
    return Conversation(reader.info, turns)
