"""Install pinned builds of the real Codex CLI from npm into a per-version cache folder.

The real-Codex tests must run against exact, known versions: the on-disk layout changes between
releases, so an unpinned ``npx codex`` would make the suite drift. Each version is installed
once into ``<cache>/<version>/`` and reused; a lock file makes concurrent pytest processes
(xdist workers, parallel CI jobs sharing a cache) wait for one another instead of racing npm.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

CODEX_NEW = "0.169.0"
"""Current Codex: SQLite state DB, paginated history, `codex archive`, `thread/name/set`."""

CODEX_OLD = "0.80.0"
"""Older Codex: enveloped rollouts, no SQLite, a much smaller app-server protocol."""

CODEX_BARE = "0.29.0"
"""2025 Codex: "bare" rollouts (no envelope), cwd only in text, no `exec resume`."""

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ENV = "CODEX_MIGRATE_TEST_CACHE"
NPM_MISSING_REASON = "npm not found: the real-Codex tests need Node.js and npm"
INSTALL_TIMEOUT_S = 600
_MARKER = ".codex-migrate-installed.json"


class NpmNotFoundError(RuntimeError):
    """npm is not on PATH; callers in tests turn this into a skip, never a failure."""

    def __init__(self) -> None:
        super().__init__(NPM_MISSING_REASON)


class CodexInstallError(RuntimeError):
    """npm ran but the install did not produce a usable binary: a real error, not a skip."""


def cache_root() -> Path:
    """Where versions are cached: ``$CODEX_MIGRATE_TEST_CACHE`` or ``<repo>/.cache/codex``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser().resolve() if env else REPO_ROOT / ".cache" / "codex"


def find_npm() -> str:
    """The npm executable, or raise :class:`NpmNotFoundError`."""
    npm = shutil.which("npm")
    if npm is None:
        raise NpmNotFoundError()
    return npm


def _bin_path(folder: Path) -> Path:
    bin_dir = folder / "node_modules" / ".bin"
    return bin_dir / ("codex.cmd" if sys.platform == "win32" else "codex")


@contextlib.contextmanager
def _file_lock(path: Path, timeout_s: float = INSTALL_TIMEOUT_S) -> Iterator[None]:
    """An exclusive OS-level lock; released by the OS even if the holder is killed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        deadline = time.monotonic() + timeout_s
        if sys.platform == "win32":
            import msvcrt

            while True:
                try:
                    fh.seek(0)
                    msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise CodexInstallError(f"timed out waiting for lock {path}") from None
                    time.sleep(0.2)
            try:
                yield
            finally:
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise CodexInstallError(f"timed out waiting for lock {path}") from None
                    time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _is_installed(folder: Path, version: str) -> bool:
    marker = folder / _MARKER
    if not marker.is_file() or not _bin_path(folder).exists():
        return False
    try:
        return json.loads(marker.read_text()).get("version") == version
    except ValueError:
        return False


def codex_binary(version: str, cache: Path | None = None) -> Path:
    """Return ``node_modules/.bin/codex`` for ``@openai/codex@version``, installing it if needed.

    Idempotent: a marker file written after a successful install makes later calls return at
    once; a half-finished folder (killed install) is wiped and installed again.
    """
    npm = find_npm()  # also needed later: the installed `codex` is a Node.js wrapper script
    root = cache if cache is not None else cache_root()
    folder = root / version
    if _is_installed(folder, version):
        return _bin_path(folder)
    with _file_lock(root / f"{version}.lock"):
        if _is_installed(folder, version):  # another process finished while we waited
            return _bin_path(folder)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(
            json.dumps({"name": "codex-migrate-test-codex", "private": True}) + "\n"
        )
        cmd = [
            npm,
            "install",
            "--save-exact",
            "--no-audit",
            "--no-fund",
            "--no-update-notifier",
            "--loglevel=error",
            f"@openai/codex@{version}",
        ]
        started = time.monotonic()
        try:
            proc = subprocess.run(
                cmd,
                cwd=folder,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            raise CodexInstallError(
                f"npm install @openai/codex@{version} timed out after {INSTALL_TIMEOUT_S}s"
            ) from exc
        binary = _bin_path(folder)
        if proc.returncode != 0 or not binary.exists():
            raise CodexInstallError(
                f"npm install @openai/codex@{version} failed (exit {proc.returncode}) in "
                f"{folder}:\n{proc.stderr.strip()}\n{proc.stdout.strip()}"
            )
        (folder / _MARKER).write_text(
            json.dumps({"version": version, "seconds": round(time.monotonic() - started, 1)})
        )
        return binary


def codex_version_output(binary: Path) -> str:
    """``codex --version`` text, to check that an install really runs."""
    proc = subprocess.run(
        [str(binary), "--version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise CodexInstallError(f"{binary} --version failed: {proc.stderr.strip()}")
    return proc.stdout.strip()
