"""Write docs/CLI.md from the CLI's own ``--help``, or check that it is up to date.

python scripts/gen_cli_docs.py          # rewrite docs/CLI.md
python scripts/gen_cli_docs.py --check  # exit 1 if it is stale, or a command or option
                                        # has no help text (run by `make lint`)
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from codex_migrate.cli import cli

OUT = Path(__file__).resolve().parents[1] / "docs" / "CLI.md"
WIDTH = 100
HEADER = """# Command-line reference

Generated from `codex-migrate --help` by `scripts/gen_cli_docs.py`; `make lint` fails when it
is out of date or a command or option has no help text. Do not edit by hand.
"""


def _commands(
    group: click.Group, ctx: click.Context, path: list[str]
) -> list[tuple[list[str], click.Command, click.Context]]:
    out = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = click.Context(
            command, info_name=name, parent=ctx, terminal_width=WIDTH, max_content_width=WIDTH
        )
        out.append(([*path, name], command, sub))
        if isinstance(command, click.Group):
            out += _commands(command, sub, [*path, name])
    return out


def _root() -> click.Context:
    """The group's context as ``codex-migrate`` makes it (``-h`` too), at a fixed width."""
    settings = {**cli.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    return click.Context(cli, info_name="codex-migrate", **settings)


def missing_help() -> list[str]:
    """Commands and options that would show no help text."""
    root = _root()
    problems = []
    for path, command, _ctx in _commands(cli, root, []):
        name = " ".join(path)
        if not (command.help or command.short_help):
            problems.append(f"`{name}` has no help text")
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and not param.help:
                problems.append(f"`{name}` option {'/'.join(param.opts)} has no help text")
    return problems


def render() -> str:
    root = _root()
    parts = [HEADER, "## codex-migrate\n", "```text", cli.get_help(root), "```\n"]
    for path, command, ctx in _commands(cli, root, []):
        parts += [f"## codex-migrate {' '.join(path)}\n", "```text", command.get_help(ctx), "```\n"]
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    problems = missing_help()
    for p in problems:
        print(f"gen_cli_docs: {p}", file=sys.stderr)
    text = render()
    if "--check" in argv:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
            print(f"gen_cli_docs: {OUT} is out of date: run `make docs`", file=sys.stderr)
            return 1
        return 1 if problems else 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
