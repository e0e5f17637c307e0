"""One self-contained HTML file per conversation: inline CSS, data-URL images, no script.

Safety rests on three things. Every value from the rollout goes through Jinja2's autoescape;
message Markdown is rendered by markdown-it-py with raw HTML disabled, unsafe link schemes
refused (its ``validateLink``) and images turned into text (a Markdown image would be a remote
request); and a Content-Security-Policy meta tag allows nothing but our own stylesheet (by
hash) and ``data:`` images, so even a rendering bug could not run a script or load anything.
The page is written as it renders, one turn at a time, so memory stays flat for long sessions.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any, TextIO

from jinja2 import Environment, PackageLoader, Template, select_autoescape
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

from codex_migrate import __version__
from codex_migrate.export.common import (
    N_,
    VALUE_WORDS,
    diff_lines,
    fmt_duration,
    fmt_time,
    fmt_tokens,
)
from codex_migrate.export.conversation import ImageRef, SessionInfo, ToolCall, Turn
from codex_migrate.export.images import ImageResolver

TOOL_LABELS = {
    "shell": N_("Shell"),
    "patch": N_("Patch"),
    "web_search": N_("Web search"),
    "mcp": "MCP",
    "function": N_("Tool"),
    "image_generation": N_("Image"),
}
#: Languages a page can be written in (the web UI's catalogs); English needs none.
LANGS = ("en", "zh_Hans")


@dataclass
class Header:
    """The page head: a title and labelled facts (project, dates, model, CLI version…)."""

    title: str
    fields: list[tuple[str, str]] = field(default_factory=list)


def _markdown(breaks: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": breaks, "linkify": False})
    md.enable(["table", "strikethrough"])

    # Render rules are bound to the renderer, hence the leading ``renderer`` argument.
    def image(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        # An <img> pointing anywhere would be a network request: show the reference as text.
        token = tokens[idx]
        alt = "".join(c.content for c in (token.children or [])) or "image"
        src = str(token.attrGet("src") or "")
        shown = src if len(src) <= 120 else src[:117] + "…"
        return str(escape(f"[image: {alt}] ({shown})"))

    def link_open(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("image", image)
    md.add_render_rule("link_open", link_open)
    return md


_MD_ASSISTANT = _markdown(breaks=False)
_MD_USER = _markdown(breaks=True)


def render_markdown(text: str, role: str = "assistant") -> Markup:
    """Message Markdown as safe HTML: raw HTML is escaped, unsafe links are left as text."""
    md = _MD_USER if role == "user" else _MD_ASSISTANT
    return Markup(md.render(text))


@lru_cache(maxsize=1)
def _assets() -> tuple[str, str]:
    """The stylesheet and its CSP hash."""
    css = resources.files("codex_migrate.export").joinpath("templates/style.css").read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return css, f"'sha256-{digest}'"


def content_security_policy() -> str:
    _, style_hash = _assets()
    return (
        "default-src 'none'; img-src data:; "
        f"style-src {style_hash}; base-uri 'none'; form-action 'none'"
    )


def _translations(lang: str) -> Any:
    """The UI's gettext catalog for ``lang`` (the same translations the app shows)."""
    import gettext

    if lang == "en":
        return gettext.NullTranslations()
    from codex_migrate.translations import translations

    return translations(lang)


@lru_cache(maxsize=4)
def _template(lang: str = "en") -> Template:
    env = Environment(
        loader=PackageLoader("codex_migrate.export", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(_translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals["html_lang"] = "zh-Hans" if lang == "zh_Hans" else "en"
    env.globals["VALUE_WORDS"] = VALUE_WORDS
    return env.get_template("page.html.j2")


def _tool_label(call: ToolCall) -> str:
    return TOOL_LABELS.get(call.tool, "Tool")


def _image_block(resolve: ImageResolver, gettext: Any) -> Callable[[ImageRef], Markup]:
    def block(ref: ImageRef) -> Markup:
        image = resolve(ref)
        if image.ok:
            caption = (
                Markup("<figcaption>{}</figcaption>").format(image.label) if image.label else ""
            )
            return Markup('<figure class="image"><img src="{}" alt="{}">{}</figure>').format(
                image.src, image.label or gettext("attached image"), caption
            )
        return Markup('<div class="image-missing">{} {}</div>').format(
            gettext("Image not embedded:"), image.problem
        )

    return block


def render_html(
    out: TextIO,
    header: Header,
    info: SessionInfo,
    turns: Iterable[Turn],
    *,
    images: ImageResolver,
    redacted: Callable[[], str | None] = lambda: None,
    source_name: str = "",
    lang: str = "en",
) -> None:
    """Write the page to ``out`` while ``turns`` is consumed; ``info`` may still be filling.
    Its words are in ``lang``; the conversation itself stays as it was written."""
    css, _ = _assets()
    lang = lang if lang in LANGS else "en"
    gettext = _translations(lang).gettext
    stream = _template(lang).generate(
        csp=content_security_policy(),
        css=Markup(css),
        version=__version__,
        header=header,
        info=info,
        turns=turns,
        md=render_markdown,
        image_block=_image_block(images, gettext),
        tool_label=lambda call: gettext(_tool_label(call)),
        diff_lines=diff_lines,
        fmt_time=fmt_time,
        fmt_duration=fmt_duration,
        fmt_tokens=fmt_tokens,
        redacted=redacted,
        exported_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        source_name=source_name,
    )
    buffer: list[str] = []
    size = 0
    for chunk in stream:
        buffer.append(chunk)
        size += len(chunk)
        if size >= 256 * 1024:
            out.write("".join(buffer))
            buffer.clear()
            size = 0
    out.write("".join(buffer))
