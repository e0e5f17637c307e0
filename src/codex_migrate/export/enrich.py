"""Enriching tool calls from events: exit codes, output, durations, MCP servers, queries.

Events never add content (see :mod:`codex_migrate.export.conversation`); they only fill in what
the call read from a ``response_item`` lacks, matched by ``call_id``.
"""

from __future__ import annotations

from typing import Any

from codex_migrate.export.model import TextFilter, ToolCall
from codex_migrate.export.parsing import ToolOutput, _dict, _duration_ms, _pretty, _str

#: Legacy ``*_end`` events and the item type each one stands for.
_LEGACY_ENDS = {
    "exec_command_end": "CommandExecution",
    "patch_apply_end": "FileChange",
    "mcp_tool_call_end": "McpToolCall",
    "web_search_end": "WebSearch",
}


def event_item(p: dict[str, Any]) -> dict[str, Any] | None:
    """The item an ``event_msg`` carries (``item_completed``, or a legacy ``*_end``), or None."""
    etype = p.get("type")
    if etype == "item_completed":
        item = p.get("item")
        return item if isinstance(item, dict) else None
    kind = _LEGACY_ENDS.get(etype) if isinstance(etype, str) else None
    if kind is None:
        return None
    base = _dict(p.get("invocation")) if kind == "McpToolCall" else {}
    return {**base, **p, "type": kind, "id": p.get("call_id")}


def enrich_call(call: ToolCall, item: dict[str, Any], r: TextFilter) -> None:
    """Add what an event item knows to the call already read from a ``response_item``."""
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
            call.output = r(out)
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
            out = "".join(s for s in (item.get("stdout"), item.get("stderr")) if isinstance(s, str))
            call.output = r(out) if out else None
    elif itype == "McpToolCall":
        server, tool = _str(item.get("server")), _str(item.get("tool"))
        if server:
            call.tool, call.server = "mcp", r(server)
        if tool:
            call.name = tool
        dur = _duration_ms(item.get("duration"))
        if dur is not None:
            call.duration_ms = dur
        call.status = _str(item.get("status")) or call.status
        if call.output is None:
            result = item.get("result", item.get("error"))
            if result is not None:
                call.output = r(_pretty(result, None))
    elif itype == "WebSearch":
        query = _str(item.get("query"))
        if query and not call.input:
            call.input = r(query)


def merge_output(call: ToolCall, out: ToolOutput, r: TextFilter) -> None:
    """Fill a call from its ``function_call_output``; what the call already has wins."""
    if call.exit_code is None:
        call.exit_code = out.exit_code
    if call.duration_ms is None:
        call.duration_ms = out.duration_ms
    if call.output is None and out.text is not None:
        call.output = r(out.text)
    call.images.extend(out.images)
    if out.success is False and call.status is None:
        call.status = "failed"
