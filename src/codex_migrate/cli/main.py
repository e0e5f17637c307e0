"""The ``codex-migrate`` group: finds each command in its module, turns engine errors into exits."""

from __future__ import annotations

import importlib
import sqlite3
import sys
from typing import Any

import click

from codex_migrate import __version__
from codex_migrate.errors import EXIT_FAILURE, EXIT_INTERRUPTED, CodexMigrateError
from codex_migrate.launcher import command_line, version_message

#: Every command lives in a module of its own, imported only when used, so `scan` does not
#: pay for the web UI's or the exporter's imports. name -> "module:attribute".
LAZY_COMMANDS = {
    "scan": "codex_migrate.cli.scan:scan",
    "demo": "codex_migrate.cli.scan:demo",
    "import": "codex_migrate.cli.importing:import_",
    "rebind": "codex_migrate.cli.rebind:rebind",
    "recover": "codex_migrate.cli.transactions:recover",
    "transactions": "codex_migrate.cli.transactions:transactions",
    "verify": "codex_migrate.cli.transactions:verify",
    "backup": "codex_migrate.cli.backup:backup_command",
    "verify-backup": "codex_migrate.cli.backup:verify_backup_command",
    "doctor": "codex_migrate.cli.doctor:doctor",
    "export-html": "codex_migrate.cli.export:export_html",
    "export-md": "codex_migrate.cli.export:export_md",
    "ui": "codex_migrate.cli.ui:ui_command",
    "sync": "codex_migrate.cli.sync:sync_command",
}


class Group(click.Group):
    """Turns engine errors into a message and an exit status instead of a traceback, and
    loads the commands of :data:`LAZY_COMMANDS` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, _, attr = LAZY_COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CodexMigrateError as exc:
            click.secho(f"Error: {exc.message}", fg="red", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            # Writes roll back before this point (and say so); planning writes nothing.
            click.secho("Interrupted: nothing was written.", fg="red", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (OSError, sqlite3.Error) as exc:
            # Writes roll back before this point; say what failed, not where in our code.
            click.secho(f"Error: {exc}", fg="red", err=True)
            click.echo("Hint: nothing was left half-done; see `codex-migrate recover`.", err=True)
            ctx.exit(EXIT_FAILURE)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="codex-migrate", message=version_message())
def cli() -> None:
    """Move OpenAI Codex conversation history between machines, and keep it usable there.

    Every command reads or writes a Codex home (default: $CODEX_HOME, else ~/.codex).
    """


def main() -> None:
    cli(args=command_line(sys.argv[1:]), prog_name="codex-migrate")
