"""The dry run of an export: which file each thread would get, and whether it would be
written, replaced or skipped, without writing anything (``export-html --dry-run``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.catalog import Catalog, ProgressFn
from codex_migrate.catalog_thread import Thread
from codex_migrate.export.api import (
    Selection,
    _check_formats,
    _exists_reason,
    _in_the_way,
    _outputs,
    select_threads,
    unreadable_skips,
)
from codex_migrate.export.common import output_folder_error
from codex_migrate.export.conversation import ConversationReader
from codex_migrate.export.header import display_title, first_user_text
from codex_migrate.export.redact import Redactor


@dataclass
class PlannedExport:
    """The file one thread would get, and whether it would be written, replaced or skipped."""

    thread_id: str
    title: str
    path: str
    action: str  # "write" | "replace" (with --overwrite) | "skip"
    reason: str | None = None
    images_dir: str | None = None  # Markdown with --images files; made only if there are images
    replaces: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ExportPlan:
    """What :func:`export_threads` would do; ``to_dict`` is the ``--dry-run --json`` output."""

    format: str
    output_dir: str
    creates_output_dir: bool
    redact: bool
    overwrite: bool
    md_images: str | None  # None for HTML, which always embeds images
    threads: list[PlannedExport] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for t in self.threads if t.action == action)

    @property
    def ok(self) -> bool:
        """Whether the export would succeed: the same test as :attr:`ExportReport.ok`."""
        return not self.count("skip")

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": True,
            "format": self.format,
            "output_dir": self.output_dir,
            "creates_output_dir": self.creates_output_dir,
            "redact": self.redact,
            "overwrite": self.overwrite,
            "images": self.md_images,
            "threads": [t.to_dict() for t in self.threads],
            "write": self.count("write"),
            "replace": self.count("replace"),
            "skip": self.count("skip"),
        }


def plan_thread(
    thread: Thread,
    fmt: str,
    output_dir: Path,
    *,
    redact: bool = False,
    overwrite: bool = False,
    md_images: str = "files",
) -> PlannedExport:
    """What :func:`export_thread` would do with one thread, writing nothing.

    Only the first turn is read: the title that names the file comes from it (redacted when
    asked, like the export). Nothing is rendered and no image is opened.
    """
    _check_formats(fmt, md_images)
    redactor = Redactor() if redact else None
    reader = ConversationReader(thread.rollout_path, thread_id=thread.id, redact=redactor)
    target, assets = _outputs(output_dir, thread.name or thread.title, thread.id, fmt)
    try:
        stream = reader.turns()
        first = next(stream, None)
        stream.close()
    except OSError as exc:
        title = display_title(thread, None, redactor)
        return PlannedExport(thread.id, title, str(target), "skip", f"could not export: {exc}")
    title = display_title(thread, first_user_text(first), redactor)
    target, assets = _outputs(output_dir, title, thread.id, fmt)
    images_dir = str(assets) if fmt == "md" and md_images == "files" else None
    in_the_way = _in_the_way(target, assets, fmt)
    if in_the_way and not overwrite:
        reason = _exists_reason(in_the_way)
        return PlannedExport(thread.id, title, str(target), "skip", reason, images_dir)
    action = "replace" if in_the_way else "write"
    replaces = [str(p) for p in in_the_way]
    return PlannedExport(thread.id, title, str(target), action, None, images_dir, replaces)


def _would_create(output_dir: Path) -> bool:
    """Whether an export would create ``output_dir``; raises as its ``mkdir`` would when a
    file stands where a folder must be."""
    probe = output_dir
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise output_folder_error(output_dir, f"{probe} is not a folder")
    return probe != output_dir


def plan_export(
    catalog: Catalog,
    selection: Selection,
    fmt: str,
    output_dir: Path,
    *,
    redact: bool = False,
    overwrite: bool = False,
    md_images: str = "files",
    progress: ProgressFn | None = None,
) -> ExportPlan:
    """What :func:`export_threads` would write, per selected thread; creates nothing, not even
    ``output_dir``."""
    _check_formats(fmt, md_images)
    threads = select_threads(catalog, selection)
    output_dir = Path(output_dir).absolute()
    plan = ExportPlan(
        format=fmt,
        output_dir=str(output_dir),
        creates_output_dir=_would_create(output_dir),
        redact=redact,
        overwrite=overwrite,
        md_images=md_images if fmt == "md" else None,
    )
    if selection.all:  # named as the export names them (its report's skipped)
        plan.threads.extend(
            PlannedExport(s.thread_id, "", s.path or "", "skip", s.reason)
            for s in unreadable_skips(catalog)
        )
    total = len(threads)
    for done, thread in enumerate(threads, 1):
        plan.threads.append(
            plan_thread(
                thread, fmt, output_dir, redact=redact, overwrite=overwrite, md_images=md_images
            )
        )
        if progress:
            progress("export", done, total)
    return plan
