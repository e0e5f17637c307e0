"""Where a Codex binary is looked for: PATH, the npm global prefix, the Desktop app."""

from __future__ import annotations

import os
from pathlib import Path

from codex_migrate.codexbin import locate_codex


def _exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    os.chmod(path, 0o755)
    return path


def test_explicit_wins(tmp_path: Path) -> None:
    found = locate_codex(tmp_path / "x", env={"PATH": ""}, npm_prefix=None)
    assert found is not None and found.where == "--codex-bin"


def test_path_then_npm_prefix_then_nothing(tmp_path: Path) -> None:
    on_path = _exe(tmp_path / "bin" / "codex")
    found = locate_codex(env={"PATH": str(on_path.parent)}, npm_prefix=None, platform="linux")
    assert found is not None and (found.path, found.where) == (on_path, "PATH")
    npm = _exe(tmp_path / "npm" / "bin" / "codex")
    found = locate_codex(env={"PATH": ""}, npm_prefix=tmp_path / "npm", platform="linux")
    assert found is not None and (found.path, found.where) == (npm, "npm global prefix")
    assert locate_codex(env={"PATH": ""}, npm_prefix=None, platform="linux") is None


def test_desktop_app_on_macos_and_windows(tmp_path: Path) -> None:
    app = _exe(tmp_path / "Applications" / "ChatGPT.app" / "Contents" / "Resources" / "codex")
    found = locate_codex(env={"PATH": ""}, npm_prefix=None, platform="darwin", user_home=tmp_path)
    assert found is not None and (found.path, found.where) == (app, "Desktop app")
    win = _exe(tmp_path / "local" / "OpenAI" / "Codex" / "bin" / "b99306303521e97e" / "codex.exe")
    env = {"PATH": "", "LOCALAPPDATA": str(tmp_path / "local")}
    found = locate_codex(env=env, npm_prefix=None, platform="win32", user_home=tmp_path)
    assert found is not None and found.path == win
