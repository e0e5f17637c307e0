"""Parsing the parts of a rollout record: context labels, shell commands, tool output, images."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from codex_migrate import safejson
from codex_migrate.export.model import ImageRef, TextFilter, ToolCall

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
            data = safejson.loads(output)
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


def message_content(content: Any, r: TextFilter) -> tuple[list[str], list[ImageRef]]:
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
                pending_label = r(m.group(1)) if m else ""
                continue
            texts.append(text)
        elif ptype == "input_image":
            url = part.get("image_url")
            if isinstance(url, str) and url:
                ref = _image_from_url(url, pending_label)
                if ref.path is not None or ref.remote is not None:
                    ref.label = r(ref.label)
                    ref.remote = r(ref.remote) if ref.remote else None
                images.append(ref)
                pending_label = ""
        elif ptype == "refusal" and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
    return texts, images


def reasoning_text(p: dict[str, Any]) -> str:
    """The reasoning summary (or, without one, its content) as one text."""
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
                c["text"] for c in content if isinstance(c, dict) and isinstance(c.get("text"), str)
            ]
    return "\n\n".join(t for t in parts if t.strip())


def function_call(p: dict[str, Any], ts: str | None, r: TextFilter) -> ToolCall:
    """A ``function_call``/``custom_tool_call`` item as a :class:`ToolCall` (texts redacted)."""
    name = _str(p.get("name")) or "tool"
    call_id = _str(p.get("call_id")) or _str(p.get("id"))
    raw_args = p.get("arguments") if p.get("type") == "function_call" else p.get("input")
    args: Any = None
    if isinstance(raw_args, str):
        try:
            args = safejson.loads(raw_args)
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
            call.workdir = r(workdir) if workdir else None
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
    call.input = r(call.input)
    call.server = r(call.server) if call.server else None
    return call


#: Tool calls Codex runs itself (no ``function_call``): shell, web search, image generation.
BUILTIN_CALLS = ("local_shell_call", "web_search_call", "image_generation_call")


def builtin_call(p: dict[str, Any], ts: str | None, r: TextFilter) -> ToolCall:
    """One of :data:`BUILTIN_CALLS` as a :class:`ToolCall` (texts redacted)."""
    itype = p.get("type")
    if itype == "local_shell_call":
        action = _dict(p.get("action"))
        command = shell_command_text(action.get("command"))
        return ToolCall(
            "shell",
            "local_shell",
            _str(p.get("call_id")) or _str(p.get("id")),
            input=r(command),
            status=_str(p.get("status")),
            timestamp=ts,
        )
    if itype == "web_search_call":
        action = _dict(p.get("action"))
        query = _str(action.get("query")) or _str(action.get("url")) or ""
        queries = action.get("queries")
        if not query and isinstance(queries, list):
            query = "\n".join(q for q in queries if isinstance(q, str))
        if action.get("type") == "find_in_page" and _str(action.get("pattern")):
            query = f"{query}  find: {action['pattern']}"
        return ToolCall(
            "web_search",
            "web_search",
            _str(p.get("id")),
            input=r(query),
            status=_str(p.get("status")),
            timestamp=ts,
        )
    call = ToolCall(
        "image_generation",
        "image_generation",
        _str(p.get("id")),
        input=r(_str(p.get("revised_prompt")) or ""),
        status=_str(p.get("status")),
        timestamp=ts,
    )
    result = _str(p.get("result"))
    if result:
        url = result if result.startswith("data:") else f"data:image/png;base64,{result}"
        call.images.append(ImageRef(data_url=url, label="generated image"))
    return call
