"""The ``export-html`` and ``export-md`` commands: a thin face over :mod:`codex_migrate.export`.

Registered on the main group with ``cli.add_command``; shared helpers come from
:mod:`codex_migrate.cli.common`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from codex_migrate.cli.common import codex_home_option, emit_json, progress_bar
from codex_migrate.errors import EXIT_FAILURE
from codex_migrate.export.html import LANGS
from codex_migrate.export.markdown import IMAGE_MODES
from codex_migrate.service.tools import (
    ExportPlan,
    ExportReport,
    Selection,
    export_threads,
    plan_export,
)

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_OUTPUT = "codex-export"


def _common_options(f: F) -> F:
    """Options both formats share (applied bottom-up, so listed here in reverse)."""
    decorators = [
        codex_home_option("Codex home, copy or backup to read", "home"),
        click.option(
            "--thread",
            "thread_ids",
            multiple=True,
            metavar="ID",
            help="Export this thread (full id or a unique prefix). Repeatable.",
        ),
        click.option(
            "--project",
            "projects",
            multiple=True,
            metavar="CWD",
            help="Export every thread of this project folder. Repeatable.",
        ),
        click.option("--all", "all_threads", is_flag=True, help="Export every thread."),
        click.option(
            "--output",
            "-o",
            "output",
            type=click.Path(path_type=Path, file_okay=False),
            default=Path(DEFAULT_OUTPUT),
            show_default=True,
            help="Folder to write the files to (created if missing).",
        ),
        click.option(
            "--redact",
            is_flag=True,
            help="Mask API keys, tokens, passwords in URLs, private keys and similar secrets.",
        ),
        click.option(
            "--overwrite",
            is_flag=True,
            help="Replace files from an earlier export instead of skipping them.",
        ),
        click.option(
            "--dry-run",
            is_flag=True,
            help="List the files that would be written or skipped; write nothing.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def _run(
    fmt: str,
    home: Path | None,
    thread_ids: tuple[str, ...],
    projects: tuple[str, ...],
    all_threads: bool,
    output: Path,
    redact: bool,
    overwrite: bool,
    as_json: bool,
    md_images: str = "files",
    dry_run: bool = False,
    lang: str = "en",
) -> None:
    from codex_migrate.home import open_home
    from codex_migrate.service.reading import home_catalog

    chosen = sum(bool(x) for x in (thread_ids, projects, all_threads))
    if chosen != 1:
        raise click.UsageError(
            "Choose what to export with exactly one of --thread, --project or --all."
        )
    codex_home = open_home(home)
    with progress_bar("Reading sessions") as progress:
        catalog = home_catalog(codex_home, progress)
    selection = Selection(thread_ids=thread_ids, projects=projects, all=all_threads)
    if dry_run:
        with progress_bar("Planning") as progress:
            plan = plan_export(
                catalog,
                selection,
                fmt,
                output,
                redact=redact,
                overwrite=overwrite,
                md_images=md_images,
                progress=progress,
            )
        if as_json:
            emit_json(plan.to_dict())
        else:
            print_plan(plan)
        if not plan.ok:  # the exit status the export would have
            click.get_current_context().exit(EXIT_FAILURE)
        return
    with progress_bar("Exporting") as progress:
        report = export_threads(
            catalog,
            selection,
            fmt,
            output,
            redact=redact,
            overwrite=overwrite,
            md_images=md_images,
            progress=progress,
            lang=lang,
        )
    if as_json:
        emit_json(report.to_dict())
    else:
        print_report(report)
    if not report.ok:
        click.get_current_context().exit(EXIT_FAILURE)


def print_report(report: ExportReport) -> None:
    kind = "HTML" if report.format == "html" else "Markdown"
    n = len(report.files)
    click.secho(
        f"Exported {n} thread{'s' if n != 1 else ''} as {kind} to {report.output_dir}", bold=True
    )
    for f in report.files:
        images = ""
        if f.images_embedded or f.images_missing:
            images = f", {f.images_embedded} image(s)"
            if f.images_missing:
                images += f", {f.images_missing} not embedded"
        click.echo(f"  {Path(f.path).name}  ({f.turns} turns{images})")
    if report.skipped:
        click.secho(f"Skipped {len(report.skipped)}:", fg="yellow")
        for s in report.skipped:
            click.echo(f"  {s.thread_id}: {s.reason}")
    if report.redact:
        total = sum(report.redactions.values())
        if total:
            click.echo(f"Masked {total} secret{'s' if total != 1 else ''}:")
            for name, count in sorted(report.redactions.items()):
                click.echo(f"  {name}: {count}")
        else:
            click.echo("Masked 0 secrets: none of the known secret patterns were found.")


def print_plan(plan: ExportPlan) -> None:
    kind = "HTML" if plan.format == "html" else "Markdown"
    n = len(plan.threads)
    created = " (the folder would be created)" if plan.creates_output_dir else ""
    click.secho(
        f"Dry run: {n} thread{'s' if n != 1 else ''} as {kind} to {plan.output_dir}{created}",
        bold=True,
    )
    for t in plan.threads:
        line = f"  {t.action:<8} {Path(t.path).name}"
        if t.images_dir and t.action != "skip":
            line += f"  (images, if any, in {Path(t.images_dir).name}/)"
        if t.reason:
            line += f"  ({t.reason})"
        click.echo(line)
    counts = ", ".join(f"{plan.count(a)} to {a}" for a in ("write", "replace", "skip"))
    click.echo(f"{counts}. Nothing was written (dry run).")


@click.command("export-html")
@_common_options
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    default="en",
    show_default=True,
    help="The language of the page's own words (the conversation stays as it was written).",
)
def export_html(
    home: Path | None,
    thread_ids: tuple[str, ...],
    projects: tuple[str, ...],
    all_threads: bool,
    output: Path,
    redact: bool,
    overwrite: bool,
    dry_run: bool,
    as_json: bool,
    lang: str,
) -> None:
    """Export conversations as self-contained HTML files, one per thread.

    Each file opens offline in any browser: styles inline, images embedded, no scripts,
    nothing loaded from the network. Files are named from the thread's name and id; an
    existing file is never replaced unless --overwrite is given.
    """
    _run(
        "html",
        home,
        thread_ids,
        projects,
        all_threads,
        output,
        redact,
        overwrite,
        as_json,
        dry_run=dry_run,
        lang=lang,
    )


@click.command("export-md")
@_common_options
@click.option(
    "--images",
    "md_images",
    type=click.Choice(IMAGE_MODES),
    default="files",
    show_default=True,
    help="Write images as files beside each document, or inline them as data URLs.",
)
def export_md(
    home: Path | None,
    thread_ids: tuple[str, ...],
    projects: tuple[str, ...],
    all_threads: bool,
    output: Path,
    redact: bool,
    overwrite: bool,
    dry_run: bool,
    as_json: bool,
    md_images: str,
) -> None:
    """Export conversations as Markdown files, one per thread.

    Tool calls go into fenced blocks; images are written to a `<name>_files/` folder beside
    each file (or inlined with --images inline). An existing file is never replaced unless
    --overwrite is given.
    """
    _run(
        "md",
        home,
        thread_ids,
        projects,
        all_threads,
        output,
        redact,
        overwrite,
        as_json,
        md_images,
        dry_run=dry_run,
    )
