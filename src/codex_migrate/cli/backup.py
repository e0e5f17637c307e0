"""``backup`` and ``verify-backup``: the command-line face of :mod:`codex_migrate.backup`.

Registered on the main group with ``cli.add_command``. Like the rest of the CLI this module
parses, asks (only on a terminal), calls the engine and prints; the work is in the engine.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from codex_migrate.catalog import ProgressFn
from codex_migrate.cli.common import codex_home_option, emit_json, json_option
from codex_migrate.errors import EXIT_FAILURE
from codex_migrate.home import open_home
from codex_migrate.manifest import BACKUP_DIR_NAME, MANIFEST_NAME
from codex_migrate.service.tools import (
    BackupPlan,
    BackupReport,
    VerifyReport,
    free_path,
    plan_backup,
    run_backup,
    verify_backup,
)

#: Below this many bytes a progress bar only flickers.
PROGRESS_MIN_BYTES = 32 * 1024 * 1024
PROGRESS_MIN_ITEMS = 300

FULL_WARNING = (
    "WARNING: --full also backs up config.toml, logs and every other file in the Codex home "
    "except credential and token files (auth.json, .credentials.json, …). Config and logs can "
    "hold secrets: API keys in settings, tokens in MCP server settings, prompts and command "
    "output in logs. Keep this backup private."
)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover - unreachable


@contextmanager
def stage_progress(labels: dict[str, str]) -> Iterator[ProgressFn]:
    """A ProgressFn drawing one bar per stage on stderr, only on a terminal and for long work.

    Stage ``backup``/``verify`` counts bytes, ``scan`` counts rollouts.
    """
    state: dict[str, Any] = {"bar": None, "stage": None, "done": 0}
    interactive = sys.stderr.isatty()

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
            state["bar"] = None

    def report(stage: str, done: int, total: int) -> None:
        if not interactive:
            return
        threshold = PROGRESS_MIN_ITEMS if stage == "scan" else PROGRESS_MIN_BYTES
        if total < threshold:
            return
        if state["stage"] != stage:
            close()
            state["stage"], state["done"] = stage, 0
            bar = click.progressbar(length=total, label=labels.get(stage, stage), file=sys.stderr)
            bar.__enter__()
            state["bar"] = bar
        state["bar"].update(done - state["done"])
        state["done"] = done

    try:
        yield report
    finally:
        close()


def _interactive(as_json: bool) -> bool:
    return not as_json and sys.stdin.isatty() and sys.stdout.isatty()


def _choose_target(wanted: Path, as_json: bool) -> Path:
    """Never overwrite: on a terminal ask for another name, else take a dated sibling."""
    if not wanted.exists():
        return wanted
    if not _interactive(as_json):
        return wanted  # the engine takes a dated sibling name, and the summary says so
    suggestion = free_path(wanted)
    click.secho(f"{wanted} already exists; it will not be overwritten.", fg="yellow", err=True)
    while True:
        name = click.prompt("Name for the new backup", default=suggestion.name, err=True)
        candidate = wanted.with_name(name.strip())
        if name.strip() and "/" not in name and "\\" not in name and not candidate.exists():
            return candidate
        click.secho(f"{candidate} is not a free name here.", fg="yellow", err=True)


@click.command("backup")
@codex_home_option("The home to back up")
@click.option(
    "--output-parent",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIR",
    help="Write the folder DIR/Codex_backup/ (a dated name if that exists).",
)
@click.option(
    "--archive",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write one compressed file instead: FILE.tar.zst (recommended) or FILE.zip.",
)
@click.option(
    "--thread",
    "threads",
    multiple=True,
    metavar="ID",
    help="Only this thread (full id or a unique prefix of 8+ characters). Repeatable.",
)
@click.option(
    "--project",
    "projects",
    multiple=True,
    metavar="CWD",
    help="Only threads of this project folder, as `scan` lists it. Repeatable.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Everything in the home except credential and token files (config and logs too).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Say what would be written (files, databases, what is left out, where); write nothing.",
)
@json_option
def backup_command(
    codex_home: Path | None,
    output_parent: Path | None,
    archive: Path | None,
    threads: tuple[str, ...],
    projects: tuple[str, ...],
    full: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Back up Codex conversation history into a folder or one archive file.

    By default only session data, in the same layout as a Codex home so that a text editor
    can read it: sessions/, archived_sessions/, session_index.jsonl, history.jsonl, and
    consistent copies of the state databases (safe while Codex runs). Never included:
    auth.json, .credentials.json and other credential or token files. Left out unless
    --full: config.toml, installation_id, skills/, plugins/, logs, caches.

    A manifest.json lists a SHA-256 for every file; check it with `verify-backup`.
    Nothing is overwritten, and an interrupted backup never looks complete.
    With --dry-run nothing at all is written, not even the output folder.
    """
    if (output_parent is None) == (archive is None):
        raise click.UsageError("Give exactly one of --output-parent DIR and --archive FILE.")
    home = open_home(codex_home)
    if full:
        click.secho(FULL_WARNING, fg="red", bold=True, err=True)
    if dry_run:
        # No prompt for another name: the plan shows the dated name a run would fall back to.
        with stage_progress({"scan": "Reading sessions"}) as progress:
            plan = plan_backup(
                home,
                output_parent=output_parent,
                archive=archive,
                threads=threads,
                projects=projects,
                full=full,
                progress=progress,
            )
        if as_json:
            emit_json(plan.to_dict())
        else:
            print_backup_plan(plan)
        return
    name = BACKUP_DIR_NAME
    if archive is not None:
        archive = _choose_target(archive.expanduser().absolute(), as_json)
    else:
        assert output_parent is not None
        target = _choose_target(output_parent.expanduser().absolute() / BACKUP_DIR_NAME, as_json)
        output_parent, name = target.parent, target.name
    labels = {"scan": "Reading sessions", "backup": "Backing up"}
    with stage_progress(labels) as progress:
        report = run_backup(
            home,
            output_parent=output_parent,
            archive=archive,
            threads=threads,
            projects=projects,
            full=full,
            name=name,
            progress=progress,
        )
    if as_json:
        emit_json(report.to_dict())
    else:
        print_backup(report)


def print_backup(report: BackupReport) -> None:
    kind = "folder" if report.format == "folder" else f"{report.format} archive"
    click.secho(f"Backup written: {report.path}", bold=True, nl=False)
    click.echo(f"  ({kind})")
    if report.renamed:
        click.echo(f"  ({report.requested_path.name} already existed; nothing was overwritten)")
    size = human_bytes(report.bytes)
    if report.format != "folder":
        size += f", {human_bytes(report.output_bytes)} compressed"
    click.echo(
        f"  {report.files} files, {size}, {report.rollouts} rollout files of "
        f"{report.threads} threads, in {report.seconds:.1f} s"
    )
    for db in report.databases:
        what = "consistent snapshot" if db.get("method", "").startswith("sqlite") else "raw copy"
        threads = f", {db['threads']} thread rows" if db.get("threads") is not None else ""
        note = f"; {db['note']}" if db.get("note") else ""
        click.echo(f"  Database {db['path']}: {what}{threads}{note}")
    if report.codex_versions:
        seen = ", ".join(f"{v} ({n})" for v, n in sorted(report.codex_versions.items()))
        click.echo(f"  Codex versions seen: {seen}")
    if report.left_out:
        shown = report.left_out[:12]
        click.echo("  Left out:")
        for item in shown:
            click.echo(f"    {item['path']}: {item['reason']}")
        if len(report.left_out) > len(shown):
            click.echo(f"    … and {len(report.left_out) - len(shown)} more (see --json)")
    for warning in report.warnings:
        click.secho(f"  Warning: {warning}", fg="yellow")
    if report.content == "full":
        click.secho(
            "  This is a --full backup: it can hold secrets from config and logs. Keep it private.",
            fg="red",
            bold=True,
        )
    click.echo(f"  Check it any time with: codex-migrate verify-backup {report.path}")


def print_backup_plan(plan: BackupPlan) -> None:
    kind = "folder" if plan.format == "folder" else f"{plan.format} archive"
    click.secho(f"Dry run: a backup would be written to {plan.path}", bold=True, nl=False)
    click.echo(f"  ({kind})")
    if plan.renamed:
        click.echo(
            f"  ({plan.requested_path.name} already exists and is never overwritten: a run asks "
            "for a name on a terminal, else takes a dated one like this)"
        )
    if plan.creates_parent:
        click.echo(f"  ({plan.path.parent} would be created)")
    size = ("about " if any(f.estimated for f in plan.files) else "") + human_bytes(plan.bytes)
    if plan.format != "folder":
        size += " before compression"
    click.echo(
        f"  {len(plan.files)} files, {size}, {plan.rollouts} rollout files of "
        f"{plan.threads} threads, plus {MANIFEST_NAME}"
    )
    roles: dict[str, int] = {}
    for f in plan.files:
        roles[f.role] = roles.get(f.role, 0) + 1
    if roles:
        click.echo("  " + ", ".join(f"{role} {n}" for role, n in sorted(roles.items())))
    for db in plan.databases:
        if db["method"] == "raw-copy":
            what = "raw copy"
        else:
            what = f"consistent snapshot, about {human_bytes(db['bytes'])}"
        note = f"; {db['note']}" if db.get("note") else ""
        click.echo(f"  Database {db['path']}: {what}{note}")
    grouped = plan.left_out_by_reason()
    if grouped:
        click.echo("  Left out:")
        for reason, paths in grouped.items():
            shown = ", ".join(paths[:6])
            more = f", … and {len(paths) - 6} more" if len(paths) > 6 else ""
            click.echo(f"    {reason} ({len(paths)}): {shown}{more}")
    for warning in plan.warnings:
        click.secho(f"  Warning: {warning}", fg="yellow")
    click.echo("  Nothing was written (dry run); --json lists every file.")


@click.command("verify-backup")
@click.argument("path", type=click.Path(path_type=Path))
@json_option
@click.pass_context
def verify_backup_command(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Check a backup folder or archive against its manifest.json.

    Every file's size and SHA-256 is compared; a missing, changed or extra file, or a missing
    manifest (an interrupted backup), is reported and the exit status is 1.
    """
    with stage_progress({"verify": "Verifying"}) as progress:
        report = verify_backup(path, progress)
    if as_json:
        emit_json(report.to_dict())
    else:
        print_verify(report)
    if not report.ok:
        ctx.exit(EXIT_FAILURE)


def print_verify(report: VerifyReport) -> None:
    m = report.manifest
    if report.ok and m is not None:
        click.secho(f"OK: {report.path}", fg="green", bold=True)
        click.echo(
            f"  {report.files_checked} files, {human_bytes(report.bytes_checked)} match the "
            f"manifest ({report.seconds:.1f} s)."
        )
        click.echo(
            f"  Made {m.created_at} by codex-migrate {m.tool_version} from {m.source_home} "
            f"({m.content})."
        )
        return
    click.secho(f"FAILED: {report.path}", fg="red", bold=True)
    for problem in report.problems[:50]:
        click.echo(f"  {problem['path']}: {problem['problem']}")
    if len(report.problems) > 50:
        click.echo(f"  … and {len(report.problems) - 50} more (see --json)")
    if m is None:
        click.echo(
            "  The backup is incomplete (interrupted or damaged) or not a codex-migrate one."
        )
    else:
        click.echo(f"  {report.files_checked} of {len(m.files)} files were read.")
