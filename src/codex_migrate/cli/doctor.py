"""``codex-migrate doctor``: why the real Codex does or does not list each thread, and the fix.

Read-only; the exit status says whether problems were found (0 none, 1 problems, 3 the home
cannot be read). Notes (views that hide a thread by design) do not fail the run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from codex_migrate.cli.common import (
    codex_home_option,
    emit_json,
    json_option,
    progress_bar,
    shorten,
)
from codex_migrate.errors import EXIT_USAGE
from codex_migrate.home import open_home
from codex_migrate.service.reading import home_catalog
from codex_migrate.service.tools import PROBLEM, Diagnosis, DoctorReport, diagnose

#: Per-thread lines printed before pointing at --json.
MAX_THREAD_LINES = 200


@click.command("doctor")
@codex_home_option("The home to check; a copy or backup works too")
@click.option(
    "--thread",
    "threads",
    multiple=True,
    metavar="ID",
    help="Check only this thread (a full id or a unique prefix); may be repeated.",
)
@json_option
def doctor(codex_home: Path | None, threads: tuple[str, ...], as_json: bool) -> None:
    """Say for every thread and DB row whether the real Codex lists it, and if not, why.

    Each finding comes with its fix. Problems hide a thread, stop it from opening, or tie it
    to a place that is wrong here; notes are views that hide a thread by design (e.g. `codex
    exec` sessions need `codex resume --all`). Nothing is written. Exit 1 when a problem is
    found, 0 otherwise.
    """
    home = open_home(codex_home)
    with progress_bar("Reading sessions") as progress:
        catalog = home_catalog(home, progress)
    report = diagnose(catalog, thread_ids=list(threads) if threads else None)
    if as_json:
        emit_json(report.to_dict())
    else:
        print_report(report)
    if any(f.code == "not-found" for d in report.threads for f in d.findings):
        sys.exit(EXIT_USAGE)  # an unknown --thread: the same status as in every command
    if report.exit_code:
        sys.exit(report.exit_code)


def _listed_label(d: Diagnosis) -> str:
    if d.listed is True:
        return click.style("listed", fg="green")
    if d.listed is False:
        return click.style("HIDDEN", fg="red")
    return click.style("unsure", fg="yellow")


def _short(text: str, width: int) -> str:
    """A title on one line (its whitespace runs made one space), cut as listings cut them."""
    return shorten(" ".join(text.split()), width)


def print_report(report: DoctorReport) -> None:
    """Findings grouped by code (count, what it means, the fix), then one line per thread."""
    click.secho(f"Codex home: {report.home}", bold=True)
    if report.state_db:
        status = f" (backfill {report.backfill_status})" if report.backfill_status else ""
        click.echo(f"State DB:   {Path(report.state_db).name}{status}")
    else:
        click.echo("State DB:   none (Codex builds it from the rollouts)")
    p = report.providers
    where = "config.toml" if p.found else "no config.toml"
    click.echo(f"Providers:  default {p.default!r}; known {', '.join(sorted(p.known))} ({where})")
    click.echo("")

    groups = report.by_code()
    for severity, label, colour in ((PROBLEM, "Problems", "red"), ("note", "Notes", "cyan")):
        chosen = {c: g for c, g in groups.items() if g["severity"] == severity}
        if not chosen:
            continue
        total = sum(g["count"] for g in chosen.values())
        click.secho(f"{label} ({total}):", fg=colour, bold=True)
        for code, g in chosen.items():
            click.echo(f"  {code} × {g['count']}: {g['summary']}")
            for fix in g["fixes"][:10]:
                click.echo(f"    fix: {fix}")
            if len(g["fixes"]) > 10:
                click.echo(f"    … and {len(g['fixes']) - 10} more fixes (see --json)")
        click.echo("")

    for f in report.home_findings:
        click.echo(f"  home: [{f.code}] {f.message}")
    if report.home_findings:
        click.echo("")

    flagged = [d for d in report.diagnoses if d.findings]
    if flagged:
        click.secho("Threads with findings:", bold=True)
        for d in flagged[:MAX_THREAD_LINES]:
            what = "(DB row) " if d.kind == "row" else ""
            title = _short(d.title or "(untitled)", 48)
            click.echo(f"  {d.id}  {_listed_label(d)}  {what}{title}")
            for f in d.findings:
                mark = "!" if f.severity == PROBLEM else "-"
                click.echo(f"      {mark} {f.code}: {f.message}")
        if len(flagged) > MAX_THREAD_LINES:
            click.echo(f"  … and {len(flagged) - MAX_THREAD_LINES} more (see --json)")
        click.echo("")

    data = report.to_dict()["summary"]
    line = (
        f"{data['threads']} threads: {data['listed']} listed, {data['hidden']} hidden, "
        f"{data['unknown']} unsure; {data['rows_without_file']} DB rows without a file. "
        f"{data['problems']} problems, {data['notes']} notes."
    )
    click.secho(line, fg="red" if data["problems"] else "green")
