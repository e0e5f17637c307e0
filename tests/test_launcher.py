"""The double-click rule and ``--version``: what a start with no arguments does, frozen or not."""

from __future__ import annotations

import io
import sys

import pytest
from click.testing import CliRunner

import codex_migrate
from codex_migrate import launcher
from codex_migrate.cli import cli


@pytest.mark.parametrize(
    ("args", "frozen", "stdin_tty", "own_console", "expected"),
    [
        ([], True, False, False, True),  # Linux file manager: no terminal at all
        ([], True, True, True, True),  # Windows Explorer: a console made for this program
        ([], True, True, False, False),  # typed in a terminal: help, as always
        (["scan"], True, False, False, False),  # any argument is a command line
        (["--help"], True, False, True, False),
        ([], False, False, False, False),  # pip-installed: never opens a browser by itself
        ([], False, True, True, False),
    ],
)
def test_opens_ui_only_for_a_double_clicked_executable(
    args: list[str], frozen: bool, stdin_tty: bool, own_console: bool, expected: bool
) -> None:
    got = launcher.opens_ui(args, frozen=frozen, stdin_tty=stdin_tty, own_console=own_console)
    assert got is expected


class _Stdin(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_command_line_frozen_without_terminal_is_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "stdin", _Stdin(tty=False))
    assert launcher.command_line([]) == ["ui"]
    assert launcher.command_line(["scan", "x"]) == ["scan", "x"]
    monkeypatch.setattr(sys, "stdin", None)  # a windowed start may have no stdin at all
    assert launcher.command_line([]) == ["ui"]


def test_command_line_frozen_in_a_terminal_is_help(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "stdin", _Stdin(tty=True))
    monkeypatch.setattr(launcher, "_own_console", lambda: False)
    assert launcher.command_line([]) == []
    result = CliRunner().invoke(cli, launcher.command_line([]))
    assert "Usage:" in result.output and "import" in result.output


def test_command_line_not_frozen_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setattr(sys, "stdin", _Stdin(tty=False))
    assert launcher.command_line([]) == []


def test_version_says_when_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = CliRunner().invoke(cli, ["--version"])
    assert plain.exit_code == 0
    assert plain.output == f"codex-migrate, version {codex_migrate.__version__}\n"
    frozen = launcher.version_message(frozen=True) % {"prog": "codex-migrate", "version": "9"}
    assert frozen.startswith("codex-migrate, version 9\nsingle-file executable for ")
    assert launcher.platform_tag() in frozen


def test_platform_tag_names_os_and_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(launcher.platform, "machine", lambda: "arm64")
    assert launcher.platform_tag() == "macos-arm64"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(launcher.platform, "machine", lambda: "AMD64")
    assert launcher.platform_tag() == "windows-amd64"
