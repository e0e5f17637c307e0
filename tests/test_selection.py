"""One way to name threads and projects: the engine's rule, and every command that takes it."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from codex_migrate.catalog import build_catalog
from codex_migrate.cli import cli
from codex_migrate.errors import EXIT_USAGE
from codex_migrate.home import open_home
from codex_migrate.selection import Selection, SelectionError, resolve_id
from tests.homes import tid, write_rollout

APP = "/Users/alex/Projects/app"
OTHER = "/Users/alex/Projects/other"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    write_rollout(root, 1, cwd=APP)
    write_rollout(root, 2, cwd=APP)
    write_rollout(root, 0x30, cwd=OTHER)
    return root


def test_full_id_unique_prefix_and_ambiguous_prefix(home: Path) -> None:
    catalog = build_catalog(open_home(home))
    assert Selection(threads=(tid(1).upper(),)).resolve(catalog) == [tid(1)]
    unique = tid(0x30)[:-1]  # only thread 0x30 has "...03" here
    assert Selection(threads=(unique,)).resolve(catalog) == [tid(0x30)]
    with pytest.raises(SelectionError) as exc:
        Selection(threads=(tid(1)[:-1],)).resolve(catalog)
    assert set(exc.value.candidates) == {tid(1), tid(2)}
    assert tid(1) in exc.value.message and tid(2) in exc.value.message
    assert exc.value.exit_code == EXIT_USAGE
    with pytest.raises(SelectionError, match="no thread with id"):
        Selection(threads=("0000dead",)).resolve(catalog)
    with pytest.raises(SelectionError):
        resolve_id("019", [tid(1)])  # too short to be taken as a prefix


def test_projects_by_recorded_path_and_exclusions(home: Path) -> None:
    catalog = build_catalog(open_home(home))
    assert sorted(Selection(projects=(APP + "/",)).resolve(catalog)) == [tid(1), tid(2)]
    assert Selection(projects=(APP,), exclude=(tid(1),)).resolve(catalog) == [tid(2)]
    assert sorted(Selection().resolve(catalog)) == sorted([tid(1), tid(2), tid(0x30)])
    with pytest.raises(SelectionError, match="no project"):
        Selection(projects=("/nowhere",)).resolve(catalog)


def _thread_commands() -> list[str]:
    """Every command (and subcommand) of the CLI that has a ``--thread`` option."""
    ctx = click.Context(cli)
    out = []
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None
        if any("--thread" in getattr(p, "opts", ()) for p in command.params):
            out.append(name)
    return out


def _args(command: str, home: Path, tmp: Path, selector: str) -> list[str]:
    target = tmp / f"target-{command}"
    per_command = {
        "import": [str(home), "--codex-home", str(target), "--no-codex", "--dry-run"],
        "rebind": ["--codex-home", str(home), "--dry-run"],
        "backup": ["--codex-home", str(home), "--output-parent", str(tmp / "out"), "--dry-run"],
        "export-md": ["--codex-home", str(home), "--dry-run"],
        "export-html": ["--codex-home", str(home), "--dry-run"],
        "doctor": ["--codex-home", str(home)],
    }
    return [command, *per_command[command], "--thread", selector]


def test_every_command_accepts_the_same_thread_selectors(home: Path, tmp_path: Path) -> None:
    commands = _thread_commands()
    assert {"import", "rebind", "backup", "export-md", "export-html", "doctor"} <= set(commands)
    runner = CliRunner()
    for command in commands:
        for selector in (tid(1), tid(1).upper(), tid(0x30)[:-1]):
            result = runner.invoke(cli, _args(command, home, tmp_path, selector))
            assert result.exit_code != EXIT_USAGE, (command, selector, result.output)
        ambiguous = runner.invoke(cli, _args(command, home, tmp_path, tid(1)[:-1]))
        assert ambiguous.exit_code == EXIT_USAGE, (command, ambiguous.output)
        assert tid(1) in ambiguous.output and tid(2) in ambiguous.output, command
        unknown = runner.invoke(cli, _args(command, home, tmp_path, "0000dead"))
        if command != "doctor":  # the doctor diagnoses an unknown id as `not-found` (exit 1)
            assert unknown.exit_code == EXIT_USAGE, (command, unknown.output)
