"""Finding a Codex binary where users have one, and saying which one we used.

Needed only for threads whose turn index could not be carried (see :mod:`turnindex`). People
run this tool from a fresh terminal, another user, or beside the Desktop app, so ``codex`` is
often not on PATH. Looked at in order: an explicit ``--codex-bin``, PATH, the npm global
prefix, then the Desktop app's bundled CLI (macOS: ``<App>.app/Contents/Resources/codex`` for
ChatGPT.app and Codex.app under /Applications and ~/Applications; Windows:
``%LOCALAPPDATA%\\OpenAI\\Codex\\bin[\\<hash>]\\codex.exe``, newest first).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FoundCodex:
    path: Path
    where: str  # "--codex-bin", "PATH", "npm global prefix", "Desktop app"

    def describe(self) -> str:
        return f"{self.path} ({self.where})"


def _npm_prefix() -> Path | None:
    npm = shutil.which("npm")
    if npm is None:
        return None
    try:
        out = subprocess.run(
            [npm, "prefix", "-g"],
            capture_output=True,
            text=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return Path(text) if out.returncode == 0 and text else None


def _npm_candidates(prefix: Path | None) -> list[Path]:
    if prefix is None:
        return []
    if sys.platform == "win32":
        return [prefix / "codex.cmd", prefix / "codex.exe"]
    return [prefix / "bin" / "codex"]


def _desktop_candidates(platform: str, env: dict[str, str], user_home: Path) -> list[Path]:
    if platform == "darwin":
        out = []
        for apps in (Path("/Applications"), user_home / "Applications"):
            for app in ("ChatGPT.app", "Codex.app"):
                out.append(apps / app / "Contents" / "Resources" / "codex")
        return out
    if platform == "win32":
        local = env.get("LOCALAPPDATA")
        if not local:
            return []
        bin_dir = Path(local) / "OpenAI" / "Codex" / "bin"
        hashed = []
        if bin_dir.is_dir():
            hashed = sorted(
                (d / "codex.exe" for d in bin_dir.iterdir() if d.is_dir()),
                key=lambda p: p.stat().st_mtime if p.exists() else 0,
                reverse=True,
            )
        return [bin_dir / "codex.exe", *hashed]
    return []  # no Desktop app on Linux


def _runnable(path: Path) -> bool:
    return path.is_file() and (sys.platform == "win32" or os.access(path, os.X_OK))


def locate_codex(
    explicit: Path | None = None,
    *,
    platform: str | None = None,
    env: dict[str, str] | None = None,
    user_home: Path | None = None,
    npm_prefix: Path | bool | None = True,
) -> FoundCodex | None:
    """The first Codex found, with where it came from; None when there is none anywhere.
    ``platform``/``env``/``user_home``/``npm_prefix`` are for tests (``True``: ask npm)."""
    if explicit is not None:
        return FoundCodex(explicit, "--codex-bin")
    env = dict(os.environ) if env is None else env
    on_path = shutil.which("codex", path=env.get("PATH"))
    if on_path:
        return FoundCodex(Path(on_path), "PATH")
    prefix = _npm_prefix() if npm_prefix is True else (npm_prefix or None)
    for cand in _npm_candidates(prefix if isinstance(prefix, Path) else None):
        if _runnable(cand):
            return FoundCodex(cand, "npm global prefix")
    home = user_home if user_home is not None else Path.home()
    for cand in _desktop_candidates(platform or sys.platform, env, home):
        if _runnable(cand):
            return FoundCodex(cand, "Desktop app")
    return None
