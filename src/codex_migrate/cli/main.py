"""The ``codex-migrate`` group: finds each command in its module, turns engine errors into exits."""

from __future__ import annotations

import codecs
import importlib
import json
import os
import sys
from typing import Any

import click

from codex_migrate import __version__, statedb
from codex_migrate.cli import collector, ending
from codex_migrate.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_NO_HOME, CodexMigrateError
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

#: Each lazy command's short help as ``--help`` lists it (the first sentence of its help,
#: before click shortens it to the width), so listing the commands imports none of them.
#: tests/test_cli_help.py checks it against each command's own help, and that ``--help``
#: is the same byte for byte either way.
LAZY_HELP = {
    "scan": "Show every session in a Codex home, copy or backup, grouped by project.",
    "demo": "Build a demo Codex home with sessions from a Mac, and scan it.",
    "import": "Merge sessions from SOURCE (a home, copy or backup) into a Codex home.",
    "rebind": "Repair a home that was copied or synced, in place.",
    "recover": "Roll back any transaction a crash or kill left unfinished in this home.",
    "transactions": "Inspect, undo or delete past transactions of a home.",
    "verify": "Check a home's rollouts against its state DB (read-only).",
    "backup": "Back up Codex conversation history into a folder or one archive file.",
    "verify-backup": "Check a backup folder or archive against its manifest.json.",
    "doctor": "Say for every thread and DB row whether the real Codex lists it, and if not, why.",
    "export-html": "Export conversations as self-contained HTML files, one per thread.",
    "export-md": "Export conversations as Markdown files, one per thread.",
    "ui": "Open the web UI: migrate, repair, back up, export and roll back, in your browser.",
    "sync": "Keep Codex history in step across machines through FOLDER, a folder that a sync "
    "engine (Syncthing, Dropbox, iCloud Drive, OneDrive, a network share) carries.",
}

_LISTING = "codex_migrate.listing"


class Group(click.Group):
    """Turns engine errors into a message and an exit status instead of a traceback, and
    loads the commands of :data:`LAZY_COMMANDS` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own listing, of :data:`LAZY_HELP` for the commands not loaded yet."""
        ctx.meta[_LISTING] = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            ctx.meta.pop(_LISTING, None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if ctx.meta.get(_LISTING) and cmd_name in LAZY_HELP and cmd_name not in self.commands:
            return click.Command(cmd_name, help=LAZY_HELP[cmd_name])  # listed, not loaded
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, _, attr = LAZY_COMMANDS[cmd_name].partition(":")
            with collector.paused():  # its modules: loaded once, kept to the end
                command = getattr(importlib.import_module(module), attr)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        as_json = "--json" in [*getattr(ctx, "_protected_args", []), *ctx.args]
        try:
            result = super().invoke(ctx)
            ending.finished(ctx.invoked_subcommand)
            return result
        except CodexMigrateError as exc:
            _fail(ctx, exc.message, exc.hint, exc.exit_code, as_json, kind=exc.code)
        except KeyboardInterrupt:
            # A write in progress rolls back before this point (and says so).
            _fail(
                ctx,
                "Interrupted. Any unfinished write was rolled back.",
                "`codex-migrate transactions list` shows what was committed.",
                EXIT_INTERRUPTED,
                as_json,
            )
        except BrokenPipeError:
            # `scan | head`: the reader has what it wanted; end quietly like any Unix tool.
            _silence_stdout()
            ctx.exit(0)
        except PermissionError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            _fail(
                ctx,
                f"Permission denied:{where}.",
                "Check that this user may read (and, to write, change) that file or folder.",
                EXIT_NO_HOME,
                as_json,
            )
        except (OSError, statedb.DBError) as exc:
            # Writes roll back before this point; say what failed, not where in our code.
            text = str(exc)
            if isinstance(exc, OSError) and exc.strerror:
                text = exc.strerror + (f": {exc.filename}" if exc.filename else "")
            _fail(
                ctx,
                text,
                "If a write was interrupted, `codex-migrate recover` finishes rolling it back.",
                EXIT_FAILURE,
                as_json,
            )
        except click.ClickException as exc:
            if not as_json:
                raise
            _fail(ctx, exc.format_message(), None, exc.exit_code, as_json)


def _fail(
    ctx: click.Context,
    message: str,
    hint: str | None,
    code: int,
    as_json: bool,
    *,
    kind: str | None = None,
) -> None:
    """One way to end with an error on stderr: plain text, or with --json one JSON object
    (stdout keeps only the command's own JSON, e.g. the plan a conflict refers to) whose
    ``code`` is the engine error's kind (see ``CodexMigrateError.code``)."""
    if as_json:
        error = {"code": kind, "message": message, "hint": hint, "exit_code": code}
        click.echo(json.dumps({"error": error}, ensure_ascii=False), err=True)
    else:
        click.secho(f"Error: {message}", fg="red", err=True)
        if hint:
            click.echo(f"Hint: {hint}", err=True)
    ctx.exit(code)


def _silence_stdout() -> None:
    """Point stdout at the null device, so the interpreter's final flush into the closed
    pipe does not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="codex-migrate", message=version_message())
@click.option(
    "--no-cache",
    is_flag=True,
    help="Read every session file, not the listing cache (also: CODEX_MIGRATE_CACHE=off).",
)
def cli(no_cache: bool) -> None:
    """Move OpenAI Codex conversation history between machines, and keep it usable there.

    Every command reads or writes a Codex home (default: $CODEX_HOME, else ~/.codex).
    """
    if no_cache:
        from codex_migrate.cachefiles import cache_off

        click.get_current_context().with_resource(cache_off())


def main() -> None:
    _tolerant_streams()
    try:
        cli(args=command_line(sys.argv[1:]), prog_name="codex-migrate")
    except SystemExit as exc:
        ending.end_now(exc.code)  # returns unless a scan or an import ended well
        raise
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(0)


def _tolerant_streams() -> None:
    """A title, path or message that the terminal's encoding cannot write (a "✓" on a
    Latin-1 console, a lone surrogate from a rollout) is written as a backslash escape, not
    raised from the middle of the output as a traceback. A stream that escapes surrogates
    (Python's choice under a C or C.UTF-8 locale) keeps writing an undecodable file name's
    bytes as they were; only what that cannot write (a lone U+D800 from a ``\\ud800`` in a
    rollout) is escaped."""
    for stream in (sys.stdout, sys.stderr):
        errors = getattr(stream, "errors", None)
        if errors in ("strict", "surrogateescape") and hasattr(stream, "reconfigure"):
            if errors == "surrogateescape":
                codecs.register_error(_ESCAPE_OR_REPLACE, _escape_or_replace)
            stream.reconfigure(errors=_TOLERANT[errors])


_ESCAPE_OR_REPLACE = "codex-migrate-surrogateescape-or-backslashreplace"
_TOLERANT = {"strict": "backslashreplace", "surrogateescape": _ESCAPE_OR_REPLACE}


def _escape_or_replace(exc: UnicodeError) -> tuple[str | bytes, int]:
    """``surrogateescape`` where it applies (U+DC80-U+DCFF: a byte a name was decoded
    from), else ``backslashreplace``, character by character."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = bytearray()
    for ch in exc.object[exc.start : exc.end]:
        n = ord(ch)
        if 0xDC80 <= n <= 0xDCFF:
            out.append(n - 0xDC00)
        else:
            out += (
                f"\\x{n:02x}" if n <= 0xFF else f"\\u{n:04x}" if n <= 0xFFFF else f"\\U{n:08x}"
            ).encode()
    return bytes(out), exc.end
