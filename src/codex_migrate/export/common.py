"""Formatting shared by the HTML and Markdown exports, so both say the same things."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from codex_migrate.errors import CodexMigrateError
from codex_migrate.export.conversation import TokenUsage

SLUG_MAX = 60


def N_(message: str) -> str:
    """Mark an English word for the catalog; the HTML page translates it for its language."""
    return message


#: Values the page translates (the rest of a header's values are the user's own data).
VALUE_WORDS = frozenset({"unknown", "not recorded", "yes"})


def fmt_time(ts: str | None) -> str:
    """``2026-11-25 07:41:40 UTC`` from an ISO stamp (unparseable ones are shown as they are)."""
    if not ts:
        return ""
    try:
        t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return ts
    if t.tzinfo is None:
        return t.strftime("%Y-%m-%d %H:%M:%S")
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_clock(ts: str | None) -> str:
    """Just the time of day, for a turn inside a session whose date is in the header."""
    full = fmt_time(ts)
    parts = full.split(" ")
    return parts[1] if len(parts) >= 2 else full


def fmt_duration(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms < 1:
        return "<1 ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def fmt_count(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def fmt_tokens(usage: TokenUsage | None) -> str:
    """``1 234 tokens: 1 000 in (200 cached), 234 out (30 reasoning)``."""
    if usage is None or usage.total_tokens <= 0:
        return ""
    inp = f"{fmt_count(usage.input_tokens)} in"
    if usage.cached_input_tokens:
        inp += f" ({fmt_count(usage.cached_input_tokens)} cached)"
    out = f"{fmt_count(usage.output_tokens)} out"
    if usage.reasoning_output_tokens:
        out += f" ({fmt_count(usage.reasoning_output_tokens)} reasoning)"
    return f"{fmt_count(usage.total_tokens)} tokens: {inp}, {out}"


def diff_lines(patch: str) -> list[tuple[str, str]]:
    """``(css class, line)`` for an ``apply_patch`` body or a unified diff."""
    rows: list[tuple[str, str]] = []
    for line in patch.splitlines():
        if line.startswith(("*** ", "+++ ", "--- ", "diff --git")):
            cls = "file"
        elif line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        else:
            cls = "ctx"
        rows.append((cls, line))
    return rows


def slugify(text: str, limit: int = SLUG_MAX) -> str:
    """ASCII letters, digits and single dashes: a file name part safe on every OS."""
    ascii_text = (
        unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    )
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0] or slug[:limit]
    return slug.strip("-")


def safe_stem(title: str | None, thread_id: str) -> str:
    """``<slug of title>-<thread id>``; the id keeps names unique and avoids reserved names
    (``CON``, ``NUL``…) on Windows; only ``[a-z0-9-]`` plus the id's hex and dashes."""
    slug = slugify(title or "")
    tid = re.sub(r"[^0-9a-zA-Z-]", "", thread_id)[:64] or "thread"
    return f"{slug}-{tid}" if slug else f"thread-{tid}"


def output_folder_error(output_dir: Path, why: object) -> CodexMigrateError:
    """The export's folder cannot be made (the dry run and the export say it the same way)."""
    return CodexMigrateError(
        f"Cannot create the output folder {output_dir}: {why}",
        code="output-folder",
        params={"path": str(output_dir)},
    )
