"""docs/CLI.md is the CLI's own --help, and a command without help text fails the check."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import click
import pytest

from codex_migrate.cli import LAZY_COMMANDS, cli

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gen_cli_docs.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date() -> None:
    gen = _script()
    assert gen.missing_help() == []
    assert gen.main(["--check"]) == 0, "run `make docs`"


def test_a_command_without_help_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    @click.command()
    @click.option("--flag", is_flag=True)
    def bare() -> None:
        pass

    monkeypatch.setitem(LAZY_COMMANDS, "bare", f"{__name__}:_never")
    monkeypatch.setitem(cli.commands, "bare", bare)
    problems = _script().missing_help()
    assert "`bare` has no help text" in problems
    assert "`bare` option --flag has no help text" in problems
