"""A tiny local mock of the OpenAI Responses API, enough for the real Codex CLI to run turns.

Loopback only, random port, server-sent events. A user prompt containing ``RUN: <command>``
makes the mock answer with one call of the shell tool the request advertises; once the tool
output comes back (or for any other prompt) it answers with a short assistant message.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    data = {"type": event, **data}
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _last_user_text(body: dict[str, Any]) -> str:
    for item in reversed(body.get("input") or []):
        if item.get("type") == "message" and item.get("role") == "user":
            parts = item.get("content") or []
            texts = [p.get("text", "") for p in parts if isinstance(p, dict)]
            return "\n".join(texts)
    return ""


def _shell_tool(body: dict[str, Any]) -> str | None:
    names = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
    for candidate in ("exec_command", "shell", "local_shell"):
        if candidate in names:
            return candidate
    return None


def _tool_args(tool: str, command: str) -> str:
    if tool == "exec_command":
        return json.dumps({"cmd": command})
    return json.dumps({"command": ["bash", "-lc", command]})


def reply_events(body: dict[str, Any]) -> list[bytes]:
    """The SSE events answering one POST /v1/responses body."""
    n = next(_ids)
    resp_id = f"resp_mock_{n}"
    events = [_sse("response.created", {"response": {"id": resp_id}})]
    inputs = body.get("input") or []
    last = inputs[-1] if inputs else {}
    user_text = _last_user_text(body)
    tool = _shell_tool(body)
    if "RUN:" in user_text and tool and last.get("type") == "message":
        command = user_text.split("RUN:", 1)[1].strip().splitlines()[0]
        item = {
            "type": "function_call",
            "id": f"fc_mock_{n}",
            "call_id": f"call_mock_{n}",
            "name": tool,
            "arguments": _tool_args(tool, command),
        }
        events.append(_sse("response.output_item.done", {"output_index": 0, "item": item}))
    else:
        if last.get("type") in ("function_call_output", "custom_tool_call_output"):
            text = "The command finished. Done."
        else:
            text = f"Mock answer {n}: I read your message."
        msg_id = f"msg_mock_{n}"
        empty = {"type": "message", "id": msg_id, "role": "assistant", "content": []}
        events.append(_sse("response.output_item.added", {"output_index": 0, "item": empty}))
        events.append(
            _sse(
                "response.output_text.delta",
                {"item_id": msg_id, "output_index": 0, "content_index": 0, "delta": text},
            )
        )
        full = {
            "type": "message",
            "id": msg_id,
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        events.append(_sse("response.output_item.done", {"output_index": 0, "item": full}))
    usage = {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 10,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 110,
    }
    events.append(_sse("response.completed", {"response": {"id": resp_id, "usage": usage}}))
    return events


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _MockServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.split("?")[0].endswith("/models"):
            self._json({"models": [], "data": [], "object": "list"})
        else:
            self._json({})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding") == "zstd":
            import zstandard

            raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        self.server.requests.append({"path": self.path, "body": body})
        if self.path.split("?")[0].endswith("/responses/compact"):
            self._json({"output": []})
            return
        payload = b"".join(reply_events(body))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _MockServer(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[dict[str, Any]]


@contextmanager
def mock_responses_api() -> Iterator[_MockServer]:
    """Run the mock on 127.0.0.1 at a random port for the duration of the block."""
    server = _MockServer(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def base_url(server: _MockServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"
