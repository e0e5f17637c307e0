"""The neutral conversation: turns of messages, reasoning, tool calls and notes (no parsing)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codex_migrate.rollout import LineIssues

#: ``redact(text) -> text``; identity when not redacting.
TextFilter = Callable[[str], str]


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def patch_files(patch: str) -> list[str]:
    """File names an ``apply_patch`` body touches (``*** Update File: x`` lines)."""
    files = []
    for line in patch.splitlines():
        m = re.match(r"\*\*\* (?:Add|Update|Delete) File: (.+)$", line)
        if m:
            files.append(m.group(1).strip())
    return files


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
