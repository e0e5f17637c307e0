"""``codex-migrate --help`` lists the commands from ``LAZY_HELP`` without importing them, and
says exactly what it said when it imported every command for its short help."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from codex_migrate.cli import LAZY_COMMANDS, cli
from codex_migrate.cli.main import LAZY_HELP, Group


def _fresh(loaded: bool, width: int) -> str:
    """The group's --help at ``width``, from a new group with no command loaded yet, or
    with every command loaded first (what --help showed before ``LAZY_HELP``)."""
    group = Group(cli.name, params=cli.params, help=cli.help, context_settings=cli.context_settings)
    ctx = click.Context(
        group, info_name="codex-migrate", terminal_width=width, max_content_width=width
    )
    if loaded:
        for name in LAZY_COMMANDS:
            group.get_command(ctx, name)
        assert set(LAZY_COMMANDS) <= set(group.commands)
    else:
        assert group.commands == {}
    return group.get_help(ctx)


def test_the_table_is_each_commands_own_short_help() -> None:
    assert set(LAZY_HELP) == set(LAZY_COMMANDS)
    ctx = click.Context(cli)
    for name in LAZY_COMMANDS:
        real = cli.get_command(ctx, name)
        assert real is not None
        # listed from its help text alone: no short_help of its own, not deprecated
        assert real.short_help is None and not real.deprecated and not real.hidden, name
        assert LAZY_HELP[name] == real.get_short_help_str(10**6), f"update LAZY_HELP[{name!r}]"


@pytest.mark.parametrize("width", [30, 45, 60, 80, 100, 120, 250])
def test_help_is_byte_identical_with_or_without_the_commands_loaded(width: int) -> None:
    listed = _fresh(loaded=False, width=width)
    assert listed == _fresh(loaded=True, width=width)
    assert "recover " in listed and "verify-backup" in listed


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from codex_migrate.cli import cli\n"
        "r = CliRunner().invoke(cli, ['--help'])\n"
        "assert r.exit_code == 0 and 'verify-backup' in r.output, r.output\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('codex_migrate'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    commands = {spec.partition(":")[0] for spec in LAZY_COMMANDS.values()}
    assert not commands & set(out), out
    assert "codex_migrate.service" not in out and "codex_migrate.catalog" not in out


def test_a_command_still_runs_after_the_listing() -> None:
    """The listing's stand-ins are never kept: the real command loads when it is used."""
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    result = CliRunner().invoke(cli, ["recover", "--help"])
    assert result.exit_code == 0 and "--dry-run" in result.output
    assert cli.get_command(click.Context(cli), "recover").callback is not None  # type: ignore[union-attr]
