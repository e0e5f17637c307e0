"""Options several commands share: path mapping, text rewriting, the Codex home."""

from __future__ import annotations

import ntpath
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from codex_migrate.catalog import cwd_exists
from codex_migrate.cli.common import F

if TYPE_CHECKING:
    from codex_migrate.pathmap import MappingPlan, PathMapper


def _mapper(maps: tuple[str, ...], history_only: tuple[str, ...], wsl: bool) -> PathMapper:
    # imported here, as in _absolute_rules: a scan without --map does not load the mapper
    from codex_migrate.pathmap import PathMapper

    try:
        return PathMapper(maps, history_only=history_only, wsl=wsl)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--map/--history-only") from exc


def _absolute_rules(maps: tuple[str, ...]) -> tuple[str, ...]:
    """NEW folders are folders on this machine: ``~`` is expanded, a relative one resolved
    and ``..`` folded away (every path we write is absolute and plain), and an existing file
    is refused (a project folder cannot be a file)."""
    from codex_migrate.paths import try_parse

    out = []
    for text in maps:
        old, sep, new = text.rpartition("=")
        if sep and new:
            if new.startswith("~"):
                new = os.path.expanduser(new)
            local = new.startswith("/") if os.name != "nt" else bool(ntpath.splitdrive(new)[0])
            if not try_parse(new) and not new.startswith(("\\", "/")):
                new, local = str(Path(new).absolute()), True
            if local:
                new = os.path.normpath(new)
                if os.path.exists(new) and not os.path.isdir(new):
                    raise click.BadParameter(
                        f"{new} is a file, not a folder: a project cannot be mapped to it.",
                        param_hint="--map",
                    )
            text = f"{old}={new}"
        out.append(text)
    return tuple(out)


def rewrite_text_option(f: F) -> F:
    return click.option(
        "--rewrite-text",
        is_flag=True,
        help="Also rewrite mapped paths inside free text (<environment_context>, image "
        "wrappers, AGENTS.md headers). Off by default: it is a record of what the model saw.",
    )(f)


def mapping_options(f: F) -> F:
    f = click.option(
        "--wsl",
        is_flag=True,
        help="Let a drive rule (D:\\x) also match its WSL mount (/mnt/d/x), and back.",
    )(f)
    f = click.option(
        "--history-only",
        "history_only",
        multiple=True,
        metavar="OLD",
        help="Keep this project (and all under it) with its recorded path.",
    )(f)
    f = click.option(
        "--map",
        "maps",
        multiple=True,
        metavar="OLD=NEW",
        help="Bind an old project folder (and everything under it) to a folder here.",
    )(f)
    return f


def bare_options(f: F) -> F:
    """``--upgrade-bare/--no-upgrade-bare`` and ``--bare-cwd`` (2025 rollouts, bare.py)."""
    return _bare_options(f, default=True)


def rebind_bare_options(f: F) -> F:
    """The same for a home's own files: converting in place is asked for, never implied."""
    return _bare_options(f, default=False)


def _bare_options(f: F, *, default: bool) -> F:
    f = click.option(
        "--bare-cwd",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        metavar="DIR",
        help="Project folder for 2025 sessions that record none (else they are kept as they are).",
    )(f)
    return click.option(
        "--upgrade-bare/--no-upgrade-bare",
        default=default,
        show_default=True,
        help="Convert 2025 (Codex <= 0.29) sessions so current Codex lists and resumes them.",
    )(f)


#: What the small home files we may update are, for people.
HOME_FILE_NAMES = {
    ".codex-global-state.json": "Codex Desktop's project list",
    "codex-migrate/choices.json": "history-only choices and mapped projects",
}


def print_home_files(files: list[str]) -> None:
    for rel in files:
        click.echo(f"  also updates {rel} ({HOME_FILE_NAMES.get(rel, 'ours')})")


def print_mapping(mapping: MappingPlan) -> None:
    click.secho("Where each project would go:", bold=True)
    for p in mapping.projects:
        if p.status.value == "mapped":
            where = "" if p.exists else click.style("  (folder does not exist here)", fg="yellow")
            click.echo(f"  {p.recorded}\n    -> {p.new_path}   [{p.rule}]{where}")
        elif p.status.value == "history_only":
            click.echo(f"  {p.recorded}\n    kept as recorded (history only)")
        elif cwd_exists(p.recorded):
            click.echo(f"  {p.recorded}\n    kept (exists on this machine)")
        else:
            click.echo(click.style(f"  {p.recorded}\n    NOT MAPPED", fg="yellow"))
    for rule in mapping.unused_rules:
        click.secho(f"  rule {rule} matches no project", fg="yellow")
