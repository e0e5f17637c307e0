"""One Markdown file per conversation, with the same content as the HTML export.

Messages are Markdown already and go in as written. Everything else from the rollout (commands,
outputs, patches, context blocks) goes into fenced blocks whose fence is longer than any
backtick run inside, so no content can close its fence and turn into live Markdown. Images are
written beside the file (``<stem>_files/image-001.png``) or inlined as data URLs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from codex_migrate import __version__
from codex_migrate.export.common import fmt_duration, fmt_time, fmt_tokens
from codex_migrate.export.conversation import (
    ImageRef,
    Message,
    Note,
    Reasoning,
    SessionInfo,
    ToolCall,
    Turn,
)
from codex_migrate.export.html import TOOL_LABELS, Header
from codex_migrate.export.images import ImageResolver, ResolvedImage, sniff_image, whole_image

IMAGE_MODES = ("files", "inline")
_MD_SPECIAL_RE = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


def md_escape(text: str) -> str:
    """Text that Markdown shows literally (one line)."""
    return _MD_SPECIAL_RE.sub(r"\\\1", " ".join(text.split()))


def code_span(text: str) -> str:
    """Inline code showing ``text`` literally (one line), whatever backticks it holds."""
    line = " ".join(text.split())
    longest = max((len(m) for m in re.findall(r"`+", line)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{ticks}{pad}{line}{pad}{ticks}"


def fence(text: str, lang: str = "") -> str:
    """A fenced block that ``text`` cannot break out of."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{ticks}{lang}\n{body}{ticks}\n"


class ImageWriter:
    """Places images for a Markdown file: files in ``<stem>_files/`` or data URLs."""

    def __init__(self, md_path: Path, mode: str, resolver: ImageResolver) -> None:
        self.dir = md_path.parent / f"{md_path.stem}_files"
        self.mode = mode
        self.resolver = resolver
        self.count = 0
        self.written: list[Path] = []

    def __call__(self, ref: ImageRef) -> str:
        image = self.resolver(ref)
        alt = md_escape(image.label or "image")
        if image.ok and (why := _unsafe_image(image)):
            # SVG can carry scripts, and a "PNG" with more after it is not only an image:
            # neither is written beside a document meant to be shared.
            self.resolver.stats.embedded -= 1
            self.resolver.stats.missing += 1
            image = ResolvedImage(image.label, problem=f"{why}: {image.label or 'image'}")
        if not image.ok:
            return f"> Image not embedded: {md_escape(image.problem or '')}\n"
        if self.mode == "inline":
            return f"![{alt}]({image.src})\n"
        self.count += 1
        name = f"image-{self.count:03d}.{image.extension}"
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.dir / name
        target.write_bytes(image.data())
        self.written.append(target)
        return f"![{alt}]({self.dir.name}/{name})\n"


def _unsafe_image(image: ResolvedImage) -> str | None:
    if image.mime == "image/svg+xml":
        return "SVG image not embedded (it can carry scripts)"
    data = image.data()
    if sniff_image(data[:32]) != image.mime or not whole_image(data, image.mime or ""):
        return "image data is not one whole image of its type"
    return None


_FENCE_RE = re.compile(r"^( {0,3})(`{3,}|~{3,})", re.MULTILINE)
_CODE_SPAN_RE = re.compile(r"(`+)(?:.+?)(?<!`)\1(?!`)", re.DOTALL)
_LINK_DEST_RE = re.compile(r"(\]\(\s*<?)([^)\s>]*)|^( {0,3}\[[^\]]+\]:\s*<?)(\S*)", re.MULTILINE)
_SAFE_SCHEMES = ("http:", "https:", "mailto:", "#")


def safe_markdown(text: str) -> str:
    """A message's Markdown with no live HTML and no script links, code left as written.

    Messages are Markdown and stay so, but ``<script>``, ``<img onerror=…>`` or a
    ``javascript:`` link in a message must not become live in whatever renders the export.
    Outside code blocks and code spans, ``&`` and ``<`` are written as entities (so no tag
    or entity trick survives) and a link destination with any scheme but http(s)/mailto is
    replaced by ``#``.
    """
    out: list[str] = []
    pos = 0
    for start, end in _code_ranges(text):
        out.append(_neutralise(text[pos:start]))
        out.append(text[start:end])
        pos = end
    out.append(_neutralise(text[pos:]))
    return "".join(out)


def _code_ranges(text: str) -> list[tuple[int, int]]:
    """Fenced blocks and code spans, whose content Markdown shows literally anyway."""
    ranges: list[tuple[int, int]] = []
    pos = 0
    while True:
        m = _FENCE_RE.search(text, pos)
        span = _CODE_SPAN_RE.search(text, pos)
        if span is not None and (m is None or span.start() < m.start()):
            ranges.append((span.start(), span.end()))
            pos = span.end()
            continue
        if m is None:
            break
        marker = m.group(2)
        close = re.compile(rf"^ {{0,3}}{marker[0]}{{{len(marker)},}}\s*$", re.MULTILINE)
        line_end = text.find("\n", m.end())
        end_m = close.search(text, line_end + 1) if line_end >= 0 else None
        end = end_m.end() if end_m else len(text)
        ranges.append((m.start(), end))
        pos = end
    return ranges


def _neutralise(part: str) -> str:
    part = part.replace("&", "&amp;").replace("<", "&lt;")

    def dest(m: re.Match[str]) -> str:
        lead = m.group(1) if m.group(1) is not None else m.group(3)
        url = m.group(2) if m.group(1) is not None else m.group(4)
        plain = "".join(ch for ch in url if ch > " ").lower()
        if ":" in plain.split("/", 1)[0] and not plain.startswith(_SAFE_SCHEMES):
            return lead + "#"
        return lead + url

    return _LINK_DEST_RE.sub(dest, part)


def _tool_block(call: ToolCall) -> str:
    label = TOOL_LABELS.get(call.tool, "Tool")
    facts = [f"**{label}**"]
    if call.tool == "mcp":
        facts.append(code_span(call.title))
    elif call.tool == "function":
        facts.append(md_escape(call.name))
    if call.exit_code is not None:
        facts.append(f"exit {call.exit_code}")
    elif call.status:
        facts.append(md_escape(call.status))
    if call.duration_ms is not None:
        facts.append(fmt_duration(call.duration_ms))
    parts = [" · ".join(facts) + "\n"]
    if call.workdir:
        parts.append(f"in {code_span(call.workdir)}\n")
    if call.tool == "shell":
        parts.append(fence("$ " + call.input, "sh"))
    elif call.tool == "patch":
        parts.append(fence(call.input, "diff"))
    elif call.tool in ("mcp", "function"):
        parts.append(fence(call.input, "json" if call.input.lstrip().startswith("{") else ""))
    elif call.input:
        parts.append(fence(call.input, "text"))
    if call.output:
        parts.append(fence(call.output, "text"))
    elif call.output is not None:
        parts.append("_(no output)_\n")
    return "\n".join(parts)


def render_markdown_doc(
    out: TextIO,
    header: Header,
    info: SessionInfo,
    turns: Iterable[Turn],
    *,
    images: Callable[[ImageRef], str],
    redacted: Callable[[], str | None] = lambda: None,
    source_name: str = "",
) -> None:
    """Write the document to ``out`` while ``turns`` is consumed."""
    out.write(f"# {md_escape(header.title)}\n\n")
    for label, value in header.fields:
        out.write(f"- **{label}:** {code_span(value)}\n")
    out.write("\n")
    any_turn = False
    for turn in turns:
        any_turn = True
        facts = [f"Turn {turn.index}"]
        if turn.started_at:
            facts.append(fmt_time(turn.started_at))
        if turn.duration_ms is not None:
            facts.append(f"took {fmt_duration(turn.duration_ms)}")
        if turn.model:
            facts.append(md_escape(turn.model))
        if turn.usage:
            facts.append(fmt_tokens(turn.usage))
        out.write("---\n\n## " + " · ".join(facts) + "\n\n")
        contexts = turn.contexts
        if contexts:
            out.write(
                "<details><summary>Instructions and context Codex added "
                f"({len(contexts)})</summary>\n\n"
            )
            for note in contexts:
                out.write(f"{md_escape(note.label)}\n\n{fence(note.text, 'text')}\n")
            out.write("</details>\n\n")
        for event in turn.body:
            out.write(_event(event, images))
            out.write("\n")
    if not any_turn:
        out.write("_This session has no messages._\n\n")
    out.write("---\n\n")
    total = fmt_tokens(info.total_usage)
    if total:
        out.write(f"Session total: {total}.\n\n")
    masked = redacted()
    if masked is not None:
        out.write(f"Secrets masked in this export: {md_escape(masked)}.\n\n")
    if info.issues.total:
        out.write(f"{info.issues.total} unreadable line(s) in the rollout were skipped.\n\n")
    out.write(f"_Exported by codex-migrate {__version__} from {md_escape(source_name)}._\n")


def _event(event: Message | Reasoning | ToolCall | Note, images: Callable[[ImageRef], str]) -> str:
    if isinstance(event, Message):
        who = "You" if event.role == "user" else "Codex"
        parts = [f"**{who}:**\n"]
        if event.text:
            parts.append(safe_markdown(event.text.rstrip()) + "\n")
        parts.extend(images(ref) for ref in event.images)
        return "\n".join(parts)
    if isinstance(event, Reasoning):
        return (
            "<details><summary>Reasoning summary</summary>\n\n"
            + safe_markdown(event.text.rstrip())
            + "\n\n</details>\n"
        )
    if isinstance(event, ToolCall):
        block = _tool_block(event)
        extra = "".join(images(ref) for ref in event.images)
        return block + ("\n" + extra if extra else "")
    if event.note == "other":
        return f"**{md_escape(event.label)}**\n\n{fence(event.text, 'text')}"
    text = f"\n{fence(event.text, 'text')}" if event.text else ""
    return f"> **{md_escape(event.label)}**\n{text}"
