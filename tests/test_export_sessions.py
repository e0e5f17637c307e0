"""Building rollouts in the shapes real Codex writes, and reading exported HTML back.

Shared by the ``test_export_*`` modules. The builders write every representation a real build
writes for the same content (measured on 0.169.0 and 0.80.0: a ``response_item`` *and* an
``event_msg``/``item_completed`` copy of each message, a ``CommandExecution`` item beside a
``function_call``), so a test that finds each text once proves the exporter picked one source.
"""

from __future__ import annotations

import base64
import json
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from codex_migrate.catalog import build_catalog
from codex_migrate.export.conversation import read_conversation
from codex_migrate.home import open_home

TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
TINY_PNG_URL = "data:image/png;base64," + base64.b64encode(TINY_PNG).decode()
ERAS = ("paginated", "legacy", "bare")
PATCH = (
    "*** Begin Patch\n*** Update File: src/main.py\n@@\n-print('hi')\n+print('hello')\n"
    "*** End Patch\n"
)


def tid(n: int) -> str:
    return f"019c0000-0000-7000-8000-{n:012x}"


class Rollout:
    """A rollout of one era, written record by record like the real Codex writes it."""

    def __init__(
        self,
        era: str,
        thread_id: str,
        cwd: str = "/Users/alex/Projects/app",
        *,
        model: str = "gpt-5",
    ) -> None:
        self.era = era
        self.id = thread_id
        self.cwd = cwd
        self.model = model
        self.lines: list[dict[str, Any]] = []
        self.seconds = 0
        self.calls = 0
        self.total = 0
        self.turn_id: str | None = None
        if era == "bare":
            self.lines.append(
                {"id": thread_id, "timestamp": "2025-08-01T10:00:00.000Z", "instructions": None}
            )
            self.lines.append({"record_type": "state"})
        else:
            meta: dict[str, Any] = {
                "id": thread_id,
                "timestamp": "2026-03-04T10:20:30.000Z",
                "cwd": cwd,
                "originator": "codex_cli_rs",
                "cli_version": "0.169.0" if era == "paginated" else "0.80.0",
                "source": "cli",
                "model_provider": "openai",
                "git": {"branch": "main", "commit_hash": "3f2c1e9abcdef"},
            }
            if era == "paginated":
                meta["history_mode"] = "paginated"
            self.record("session_meta", meta)
        self.item(
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": self._env()}],
            }
        )

    # -- low level -----------------------------------------------------------------------
    def _ts(self) -> str:
        self.seconds += 1
        m, s = divmod(self.seconds, 60)
        return f"2026-03-04T10:{20 + m:02d}:{s:02d}.000Z"

    def record(self, rtype: str, payload: dict[str, Any]) -> None:
        if self.era == "bare":
            return
        line: dict[str, Any] = {"timestamp": self._ts(), "type": rtype, "payload": payload}
        if self.era == "paginated":
            line = {"timestamp": line["timestamp"], "ordinal": len(self.lines), **line}
        self.lines.append(line)

    def item(self, payload: dict[str, Any]) -> None:
        if self.era == "bare":
            self.lines.append(payload)
        else:
            self.record("response_item", payload)

    def event(self, payload: dict[str, Any]) -> None:
        self.record("event_msg", payload)

    def _env(self) -> str:
        return f"<environment_context>\n  <cwd>{self.cwd}</cwd>\n</environment_context>"

    # -- content -------------------------------------------------------------------------
    def user(self, text: str, *, images: list[str] | None = None) -> Rollout:
        """A typed user message, opening a turn (``images``: data URLs or paths)."""
        if self.era == "paginated":
            self.turn_id = str(uuid.uuid4())
            self.event({"type": "task_started", "turn_id": self.turn_id})
            self.record(
                "turn_context", {"turn_id": self.turn_id, "cwd": self.cwd, "model": self.model}
            )
        # 0.169 puts images first, each wrapped in `<image …>` text parts; 0.80 puts text first.
        content: list[dict[str, Any]] = []
        if self.era != "paginated":
            content.append({"type": "input_text", "text": text})
        for n, url in enumerate(images or [], 1):
            if self.era == "paginated":
                where = url if not url.startswith("data:") else f"/tmp/img{n}.png"
                wrapper = f'<image name=[Image #{n}] path="{where}">'
                content.append({"type": "input_text", "text": wrapper})
            content.append({"type": "input_image", "image_url": url})
            if self.era == "paginated":
                content.append({"type": "input_text", "text": "</image>"})
        if self.era == "paginated":
            content.append({"type": "input_text", "text": text})
        self.item({"type": "message", "role": "user", "content": content})
        if self.era == "legacy":
            self.event({"type": "user_message", "message": text, "images": images or []})
            self.record("turn_context", {"cwd": self.cwd, "model": self.model})
        elif self.era == "paginated":
            self.event(
                {
                    "type": "item_completed",
                    "turn_id": self.turn_id,
                    "item": {
                        "type": "UserMessage",
                        "id": str(uuid.uuid4()),
                        "content": [{"type": "text", "text": text}],
                    },
                }
            )
        else:
            self.lines.append({"record_type": "state"})
        return self

    def assistant(self, text: str) -> Rollout:
        msg_id = f"msg_{uuid.uuid4().hex[:8]}"
        item = {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text}],
        }
        if self.era == "paginated":
            item["id"] = msg_id
            self.event(
                {
                    "type": "item_completed",
                    "turn_id": self.turn_id,
                    "item": {
                        "type": "AgentMessage",
                        "id": msg_id,
                        "content": [{"type": "Text", "text": text}],
                    },
                }
            )
            self.item(item)
        elif self.era == "legacy":
            self.event({"type": "agent_message", "message": text})
            self.item(item)
        else:
            self.item(item)
        return self

    def developer(self, text: str) -> Rollout:
        self.item(
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": text}],
            }
        )
        return self

    def reasoning(self, summary: str) -> Rollout:
        self.item(
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": summary}],
                "encrypted_content": "gAAAA" + "x" * 40,
            }
        )
        if self.era == "legacy":
            self.event({"type": "agent_reasoning", "text": summary})
        return self

    def _call_id(self) -> str:
        self.calls += 1
        return f"call_{self.calls}"

    def shell(self, command: str, output: str, exit_code: int = 0) -> Rollout:
        call_id = self._call_id()
        if self.era == "paginated":
            self.item(
                {
                    "type": "function_call",
                    "name": "exec_command",
                    "arguments": json.dumps({"cmd": command}),
                    "call_id": call_id,
                }
            )
            self.event(
                {
                    "type": "item_completed",
                    "turn_id": self.turn_id,
                    "item": {
                        "type": "CommandExecution",
                        "id": call_id,
                        "command": ["/bin/bash", "-lc", command],
                        "cwd": "file://" + self.cwd,
                        "status": "completed",
                        "aggregated_output": output,
                        "exit_code": exit_code,
                        "duration": {"secs": 1, "nanos": 500_000_000},
                    },
                }
            )
            text = (
                f"Chunk ID: 2d973f\nWall time: 1.5000 seconds\nProcess exited with code "
                f"{exit_code}\nOriginal token count: 15\nOutput:\n{output}"
            )
            self.item({"type": "function_call_output", "call_id": call_id, "output": text})
        else:
            self.item(
                {
                    "type": "function_call",
                    "name": "shell",
                    "arguments": json.dumps({"command": ["bash", "-lc", command]}),
                    "call_id": call_id,
                }
            )
            body = {"output": output, "metadata": {"exit_code": exit_code, "duration_seconds": 1.5}}
            self.item(
                {"type": "function_call_output", "call_id": call_id, "output": json.dumps(body)}
            )
        return self

    def patch(self, patch: str, *, success: bool = True) -> Rollout:
        call_id = self._call_id()
        self.item(
            {
                "type": "custom_tool_call",
                "status": "completed",
                "call_id": call_id,
                "name": "apply_patch",
                "input": patch,
            }
        )
        out = json.dumps(
            {
                "output": "Success. Updated the following files:\n",
                "metadata": {"exit_code": 0 if success else 1},
            }
        )
        self.item({"type": "custom_tool_call_output", "call_id": call_id, "output": out})
        return self

    def web_search(self, query: str) -> Rollout:
        self.item(
            {
                "type": "web_search_call",
                "status": "completed",
                "action": {"type": "search", "query": query},
            }
        )
        return self

    def mcp(self, server: str, tool: str, args: dict[str, Any], result: str) -> Rollout:
        call_id = self._call_id()
        self.item(
            {
                "type": "function_call",
                "name": f"mcp__{server}__{tool}",
                "arguments": json.dumps(args),
                "call_id": call_id,
            }
        )
        self.item({"type": "function_call_output", "call_id": call_id, "output": result})
        return self

    def end_turn(self, tokens: int = 110) -> Rollout:
        self.total += tokens
        usage = {
            "input_tokens": self.total - self.total // 10,
            "cached_input_tokens": 0,
            "output_tokens": self.total // 10,
            "reasoning_output_tokens": 0,
            "total_tokens": self.total,
        }
        self.event(
            {"type": "token_count", "info": {"total_token_usage": usage, "last_token_usage": usage}}
        )
        if self.era == "paginated":
            self.event({"type": "task_complete", "turn_id": self.turn_id, "duration_ms": 1234})
        return self

    def raw(self, line: dict[str, Any]) -> Rollout:
        self.lines.append(line)
        return self

    def text(self) -> str:
        return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in self.lines)

    def write(self, home: Path, *, name: str | None = None, archived: bool = False) -> Path:
        folder = (
            home / "archived_sessions" if archived else home / "sessions" / "2026" / "03" / "04"
        )
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"rollout-2026-03-04T10-20-30-{self.id}.jsonl"
        path.write_text(self.text(), encoding="utf-8")
        if name is not None:
            with (home / "session_index.jsonl").open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"id": self.id, "thread_name": name, "updated_at": "t"}) + "\n")
        return path


def full_session(era: str, n: int = 1, cwd: str = "/Users/alex/Projects/app") -> Rollout:
    """Two turns with every kind of content: image, reasoning, shell, patch, search, MCP."""
    r = Rollout(era, tid(n), cwd)
    r.developer("<permissions instructions>\nSandbox: read-only\n</permissions instructions>")
    r.user("Please look at this screenshot", images=[TINY_PNG_URL])
    r.reasoning("**Inspecting** the screenshot first")
    r.shell("ls -la src", "total 8\ndrwxr-xr-x 2 alex staff 64 main.py\n", 0)
    r.assistant("The folder holds `main.py`.\n\n- one\n- two")
    r.end_turn()
    r.user("Now fix the bug in main.py")
    r.patch(PATCH)
    r.web_search("python print function")
    r.mcp("docs", "lookup", {"topic": "print"}, "print() writes to stdout")
    r.shell("python -m pytest -q", "1 failed\n", 1)
    r.assistant("Fixed it; one test still fails.")
    r.end_turn()
    return r


def home_with(tmp_path: Path, *rollouts: Rollout, names: dict[str, str] | None = None) -> Path:
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    for r in rollouts:
        r.write(home, name=(names or {}).get(r.id))
    return home


def catalog_of(home: Path):  # type: ignore[no-untyped-def]
    return build_catalog(open_home(home))


# -- reading exported HTML back ------------------------------------------------------------
_VOID = {"img", "br", "hr", "meta", "link", "input", "wbr", "source"}


class ChatParser(HTMLParser):
    """Chat bubbles (role, text, image srcs) and tool blocks (classes, text) of an export."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []
        self.messages: list[dict[str, Any]] = []
        self.tools: list[dict[str, Any]] = []
        self.contexts: list[str] = []
        self.scripts = 0
        self.images: list[str] = []
        self._msg: dict[str, Any] | None = None
        self._msg_depth = -1
        self._tool: dict[str, Any] | None = None
        self._tool_depth = -1
        self._ctx: list[str] | None = None
        self._ctx_depth = -1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag == "script":
            self.scripts += 1
        if tag == "img":
            src = a.get("src") or ""
            self.images.append(src)
            if self._msg is not None:
                self._msg["images"].append(src)
            if self._tool is not None:
                self._tool["images"].append(src)
        if tag in _VOID:
            return
        self.stack.append((tag, classes))
        depth = len(self.stack)
        if tag == "div" and "msg" in classes:
            role = "user" if "user" in classes else "assistant"
            self._msg = {"role": role, "parts": [], "images": [], "in_md": 0}
            self._msg_depth = depth
        elif self._msg is not None and "md" in classes:
            self._msg["in_md"] = depth
        if tag == "details" and "tool" in classes:
            self._tool = {"classes": classes, "parts": [], "images": []}
            self._tool_depth = depth
        if tag == "details" and "context" in classes:
            self._ctx = []
            self._ctx_depth = depth

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not self.stack:
            return
        depth = len(self.stack)
        if self._msg is not None:
            if depth == self._msg["in_md"]:
                self._msg["in_md"] = 0
            if depth == self._msg_depth:
                text = " ".join("".join(self._msg["parts"]).split())
                self.messages.append(
                    {"role": self._msg["role"], "text": text, "images": self._msg["images"]}
                )
                self._msg = None
        if self._tool is not None and depth == self._tool_depth:
            self.tools.append(
                {
                    "classes": self._tool["classes"],
                    "text": "".join(self._tool["parts"]),
                    "images": self._tool["images"],
                }
            )
            self._tool = None
        if self._ctx is not None and depth == self._ctx_depth:
            self.contexts.append("".join(self._ctx))
            self._ctx = None
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._msg is not None and self._msg["in_md"]:
            self._msg["parts"].append(data)
        if self._tool is not None:
            self._tool["parts"].append(data)
        if self._ctx is not None:
            self._ctx.append(data)


def parse_export(html: str) -> ChatParser:
    parser = ChatParser()
    parser.feed(html)
    parser.close()
    return parser


def texts(parser: ChatParser, role: str) -> list[str]:
    return [m["text"] for m in parser.messages if m["role"] == role]


def norm(text: str) -> str:
    return " ".join(text.split())


# -- self-checks of the builders ------------------------------------------------------------
def test_builders_write_every_representation(tmp_path: Path) -> None:
    """The builders must duplicate messages the way real Codex does, or the dedup tests prove
    nothing: two copies of each message in the enveloped eras, one in the bare era."""
    for era in ERAS:
        r = full_session(era)
        raw = r.text()
        copies = raw.count("Now fix the bug in main.py")
        assert copies == (1 if era == "bare" else 2), era
        conv = read_conversation(r.write(tmp_path / era))
        assert [m.text for m in conv.messages("user")] == [
            "Please look at this screenshot",
            "Now fix the bug in main.py",
        ]
