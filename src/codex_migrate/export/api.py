"""Export selected threads of a catalog to HTML or Markdown files: the engine entry point.

Never prints and never prompts: it returns an :class:`ExportReport` for a face (CLI, UI) to show.
Each file is written to a temporary name and renamed into place, so a crash never leaves half a
document under the final name, and an existing file is only replaced when asked.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.catalog import Catalog, ProgressFn
from codex_migrate.catalog_thread import Thread
from codex_migrate.errors import EXIT_USAGE, CodexMigrateError
from codex_migrate.export.common import output_folder_error, safe_stem
from codex_migrate.export.conversation import ConversationReader, Message, ToolCall, Turn
from codex_migrate.export.header import first_user_text, header_for
from codex_migrate.export.html import render_html
from codex_migrate.export.images import ImageResolver
from codex_migrate.export.markdown import IMAGE_MODES, ImageWriter, render_markdown_doc
from codex_migrate.export.redact import Redactor
from codex_migrate.rollout import parse_rollout_name
from codex_migrate.selection import Selection as ThreadSelection

FORMATS = {"html": ".html", "md": ".md"}


class SelectionError(CodexMigrateError):
    """The selection names nothing, or something ambiguous: a usage problem."""

    exit_code = EXIT_USAGE
    code = "export-selection"


@dataclass(frozen=True)
class Selection:
    """Exactly one of: thread ids (or unique prefixes), project folders, or everything."""

    thread_ids: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    all: bool = False


@dataclass
class ExportedFile:
    thread_id: str
    title: str
    path: str
    bytes: int
    turns: int
    user_messages: int
    assistant_messages: int
    tool_calls: int
    images_embedded: int
    images_missing: int
    redactions: dict[str, int] = field(default_factory=dict)
    assets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SkippedThread:
    thread_id: str
    path: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ExportReport:
    format: str
    output_dir: str
    redact: bool
    files: list[ExportedFile] = field(default_factory=list)
    skipped: list[SkippedThread] = field(default_factory=list)
    redactions: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.skipped

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "output_dir": self.output_dir,
            "redact": self.redact,
            "files": [f.to_dict() for f in self.files],
            "skipped": [s.to_dict() for s in self.skipped],
            "redactions": dict(sorted(self.redactions.items())),
            "redactions_total": sum(self.redactions.values()),
        }


def unreadable_skips(catalog: Catalog) -> list[SkippedThread]:
    """Files named like rollouts that could not be read at all (a FIFO, a damaged ``.zst``,
    a link out of the home): an export of everything names them instead of passing over."""
    out = []
    for entry in catalog.unreadable:
        parsed = parse_rollout_name(Path(entry["path"]).name)
        out.append(SkippedThread(parsed[1] if parsed else "", entry["path"], entry["reason"]))
    return out


def select_threads(catalog: Catalog, selection: Selection) -> list[Thread]:
    """The threads a selection names, in catalog order (newest first), each once."""
    modes = sum(bool(x) for x in (selection.thread_ids, selection.projects, selection.all))
    if modes != 1:
        raise SelectionError(
            "Choose what to export with exactly one of --thread, --project or --all."
        )
    if selection.all:
        return list(catalog.threads)
    chosen = set(
        ThreadSelection(threads=selection.thread_ids, projects=selection.projects).resolve(catalog)
    )
    return [t for t in catalog.threads if t.id in chosen]


class _Counting:
    """Wraps the turn stream to count what was exported."""

    def __init__(self, turns: Iterator[Turn]) -> None:
        self._turns = turns
        self.turns = self.user = self.assistant = self.tools = 0

    def __iter__(self) -> Iterator[Turn]:
        for turn in self._turns:
            self.turns += 1
            for e in turn.events:
                if isinstance(e, Message):
                    if e.role == "user":
                        self.user += 1
                    else:
                        self.assistant += 1
                elif isinstance(e, ToolCall):
                    self.tools += 1
            yield turn


def _redaction_text(counts: Counter[str]) -> str:
    if not counts:
        return "none found"
    parts = [f"{name} {n}" for name, n in sorted(counts.items())]
    return f"{sum(counts.values())} ({', '.join(parts)})"


_ASSET_RE = re.compile(r"^image-\d{3,}\.[a-z]+$")


def _clear_assets(folder: Path) -> None:
    """Remove an earlier export's image folder, but only if it holds nothing else."""
    if not folder.is_dir():
        return
    names = os.listdir(folder)
    if all(_ASSET_RE.match(n) for n in names):
        shutil.rmtree(folder)


def _outputs(output_dir: Path, title: str | None, thread_id: str, fmt: str) -> tuple[Path, Path]:
    """A thread's document and the image folder beside it (used by Markdown only)."""
    stem = safe_stem(title, thread_id)
    return output_dir / f"{stem}{FORMATS[fmt]}", output_dir / f"{stem}_files"


def _in_the_way(target: Path, assets: Path, fmt: str) -> list[Path]:
    """What is already there under an export's names: skipped over, or replaced if asked."""
    return [p for p in (target, assets if fmt == "md" else None) if p and p.exists()]


def _exists_reason(in_the_way: list[Path]) -> str:
    return f"{in_the_way[0]} exists; pass --overwrite to replace it"


def _check_formats(fmt: str, md_images: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if md_images not in IMAGE_MODES:
        raise ValueError(f"unknown image mode {md_images!r}")


def export_thread(
    thread: Thread,
    fmt: str,
    output_dir: Path,
    *,
    redact: bool = False,
    overwrite: bool = False,
    md_images: str = "files",
    lang: str = "en",
) -> ExportedFile | SkippedThread:
    """Export one thread; a file in the way or an unreadable rollout gives a skip, not a raise.

    :func:`plan_thread` names the same files without writing them.
    """
    _check_formats(fmt, md_images)
    redactor = Redactor() if redact else None
    reader = ConversationReader(thread.rollout_path, thread_id=thread.id, redact=redactor)
    resolver = ImageResolver(base_dir=thread.cwd)
    writer: ImageWriter | None = None
    target, assets = _outputs(output_dir, thread.name or thread.title, thread.id, fmt)
    tmp: Path | None = None
    try:
        stream = reader.turns()
        # The first turn fills the session info (model, meta) and gives a clean title.
        first = next(stream, None)
        header = header_for(thread, reader.info, redactor, first_user_text(first))
        # The (already redacted) title names the file: a secret in a title stays out of it.
        target, assets = _outputs(output_dir, header.title, thread.id, fmt)
        stem = target.stem
        in_the_way = _in_the_way(target, assets, fmt)
        if in_the_way and not overwrite:
            stream.close()
            return SkippedThread(thread.id, str(target), _exists_reason(in_the_way))
        counting = _Counting(itertools.chain([first] if first else [], stream))

        def masked() -> str | None:
            return _redaction_text(redactor.counts) if redactor is not None else None

        tmp = output_dir / f".{stem}{FORMATS[fmt]}.part-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            if fmt == "html":
                render_html(
                    out,
                    header,
                    reader.info,
                    counting,
                    images=resolver,
                    redacted=masked,
                    source_name=thread.rel_path,
                    lang=lang,
                )
            else:
                if overwrite:
                    _clear_assets(assets)
                writer = ImageWriter(target, md_images, resolver)
                render_markdown_doc(
                    out,
                    header,
                    reader.info,
                    counting,
                    images=writer,
                    redacted=masked,
                    source_name=thread.rel_path,
                )
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        return SkippedThread(thread.id, str(target), f"could not export: {exc}")
    return ExportedFile(
        thread_id=thread.id,
        title=header.title,
        path=str(target),
        bytes=target.stat().st_size,
        turns=counting.turns,
        user_messages=counting.user,
        assistant_messages=counting.assistant,
        tool_calls=counting.tools,
        images_embedded=resolver.stats.embedded,
        images_missing=resolver.stats.missing,
        redactions=dict(redactor.counts) if redactor else {},
        assets=[str(p) for p in writer.written] if writer else [],
    )


def export_threads(
    catalog: Catalog,
    selection: Selection,
    fmt: str,
    output_dir: Path,
    *,
    redact: bool = False,
    overwrite: bool = False,
    md_images: str = "files",
    progress: ProgressFn | None = None,
    lang: str = "en",
) -> ExportReport:
    """Export every selected thread to ``output_dir`` (created if missing), one file each;
    HTML pages are written in ``lang`` (``en`` or ``zh_Hans``)."""
    threads = select_threads(catalog, selection)
    output_dir = Path(output_dir).absolute()
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_folder_error(output_dir, exc) from exc
    report = ExportReport(format=fmt, output_dir=str(output_dir), redact=redact)
    if selection.all:
        report.skipped.extend(unreadable_skips(catalog))
    total = len(threads)
    for done, thread in enumerate(threads, 1):
        result = export_thread(
            thread,
            fmt,
            output_dir,
            redact=redact,
            overwrite=overwrite,
            md_images=md_images,
            lang=lang,
        )
        if isinstance(result, SkippedThread):
            report.skipped.append(result)
        else:
            report.files.append(result)
            report.redactions.update(result.redactions)
        if progress:
            progress("export", done, total)
    return report
