"""Run the real Codex CLI (``codex exec``) offline against the mock Responses API.

Every run gets a clean environment: ``CODEX_HOME`` is the home under test, ``HOME`` is a private
temp folder, ``OPENAI_API_KEY`` is unset and nothing else from the caller's environment leaks in
except what a process needs to start (PATH, locale, Windows system variables). So a test can
never read or write the developer's real ``~/.codex``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .install import codex_binary
from .mock_api import base_url

MOCK_ENV_KEY = "CODEX_MIGRATE_MOCK_API_KEY"
DEFAULT_TIMEOUT_S = 120.0

# Variables a child process may need to start at all; everything else is dropped.
_PASSTHROUGH_ENV = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
    "SYSTEMDRIVE",
    "WINDIR",
    "COMSPEC",
    "PATHEXT",
    "PROGRAMDATA",
)


class CodexError(RuntimeError):
    """A Codex command failed or timed out; the message carries its stderr."""


def config_toml(server_url: str) -> str:
    """The ``config.toml`` pointing Codex at the mock provider (docs/STORAGE.md §7)."""
    return f"""# Written by tests/harness: offline mock provider, never a real API.
model_provider = "mock"
model = "gpt-5"
approval_policy = "never"
sandbox_mode = "read-only"

[model_providers.mock]
name = "mock"
base_url = "{server_url}"
wire_api = "responses"
env_key = "{MOCK_ENV_KEY}"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

# No background network: 0.169 otherwise syncs curated plugins from GitHub. 0.80 ignores these.
[features]
plugins = false
remote_plugin = false
apps = false
"""


def write_config(home: Path, server_url: str) -> Path:
    """Create the home if needed and (over)write its ``config.toml`` for the mock provider."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(config_toml(server_url), encoding="utf-8")
    return path


def clean_env(home: Path, user_home: Path) -> dict[str, str]:
    """A minimal environment for a Codex child process that cannot reach the real ``~/.codex``."""
    env = {k: os.environ[k] for k in _PASSTHROUGH_ENV if k in os.environ}
    env.update(
        CODEX_HOME=str(home),
        HOME=str(user_home),
        USERPROFILE=str(user_home),
        XDG_CONFIG_HOME=str(user_home / ".config"),
        XDG_DATA_HOME=str(user_home / ".local" / "share"),
        XDG_STATE_HOME=str(user_home / ".local" / "state"),
        XDG_CACHE_HOME=str(user_home / ".cache"),
        NO_COLOR="1",
        RUST_BACKTRACE="0",
        NO_UPDATE_NOTIFIER="1",
    )
    env[MOCK_ENV_KEY] = "mock-key-not-secret"
    return env


def make_user_home(owner: object) -> Path:
    """A private temp folder used as ``HOME``, removed when ``owner`` is garbage collected."""
    path = Path(tempfile.mkdtemp(prefix="codex-user-home-"))
    weakref.finalize(owner, shutil.rmtree, path, True)
    return path


def popen_kwargs() -> dict[str, Any]:
    """Start children in their own process group, so a timeout kills the npm wrapper's child too."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def kill_tree(proc: subprocess.Popen[Any]) -> None:
    """Kill a child started with :func:`popen_kwargs` and everything it spawned."""
    if proc.poll() is not None and sys.platform == "win32":
        return
    try:
        if sys.platform == "win32":
            subprocess.run(
                ["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                capture_output=True,
                check=False,
            )
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def run_process(
    cmd: Sequence[str], cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run with stdin closed; on timeout kill the whole process group and raise CodexError."""
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        **popen_kwargs(),
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        out, err = proc.communicate()
        raise CodexError(
            f"timed out after {timeout}s: {_fmt(cmd)} (cwd {cwd})\n"
            f"stderr:\n{_tail(err)}\nstdout:\n{_tail(out)}"
        ) from None
    finally:
        if proc.poll() is None:
            kill_tree(proc)
    if sys.platform != "win32":
        # The native binary is a child of the npm wrapper; make sure nothing outlives the call.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def _fmt(cmd: Sequence[str]) -> str:
    return " ".join(repr(c) if " " in c else c for c in cmd)


def _tail(text: str | None, limit: int = 4000) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def parse_events(stdout: str) -> list[dict[str, Any]]:
    """The JSON events ``codex exec --json`` printed, skipping any non-JSON noise."""
    events = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


@dataclass
class ExecResult:
    """One finished ``codex exec`` run."""

    thread_id: str
    events: list[dict[str, Any]]
    stdout: str
    stderr: str


class CodexRunner:
    """Drive one Codex version in one home, offline, against a running mock server.

    Writes the mock-provider ``config.toml`` into ``home`` on creation (so a copied home is
    pointed at the current mock). ``mock_server`` is the object yielded by
    :func:`tests.harness.mock_api.mock_responses_api`; it must keep running while turns run.
    ``None`` is allowed for calls that need no model (archiving): turns then fail fast.
    """

    def __init__(
        self,
        version: str,
        home: Path,
        mock_server: Any,
        *,
        binary: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        user_home: Path | None = None,
    ) -> None:
        self.version = version
        self.home = Path(home).resolve()
        self.mock_server = mock_server
        self.binary: Path = binary if binary is not None else codex_binary(version)
        self.timeout = timeout
        self.user_home: Path = user_home if user_home is not None else make_user_home(self)
        server_url = base_url(mock_server) if mock_server is not None else _DEAD_URL
        write_config(self.home, server_url)

    @property
    def env(self) -> dict[str, str]:
        """The clean environment every command of this runner gets."""
        return clean_env(self.home, self.user_home)

    def run(
        self, args: Sequence[str], cwd: Path, *, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``codex ARGS`` in ``cwd``; raise CodexError (with stderr) on a non-zero exit."""
        cmd = [str(self.binary), *args]
        proc = run_process(cmd, Path(cwd), self.env, timeout or self.timeout)
        if proc.returncode != 0:
            raise CodexError(
                f"codex {self.version} exited {proc.returncode}: {_fmt(cmd)} (cwd {cwd})\n"
                f"stderr:\n{_tail(proc.stderr)}\nstdout:\n{_tail(proc.stdout)}"
            )
        return proc

    def _turn(self, args: list[str], cwd: Path) -> ExecResult:
        proc = self.run(args, cwd)
        events = parse_events(proc.stdout)
        started = [e for e in events if e.get("type") == "thread.started"]
        failed = [e for e in events if e.get("type") in ("turn.failed", "error")]
        if not started or failed:
            raise CodexError(
                f"codex {self.version}: no thread.started or a failed turn for {args}\n"
                f"events: {failed or events}\nstderr:\n{_tail(proc.stderr)}"
            )
        return ExecResult(started[0]["thread_id"], events, proc.stdout, proc.stderr)

    def exec_full(self, prompt: str, cwd: Path, *, image: Path | None = None) -> ExecResult:
        """``codex exec`` a new session; the full result including every JSON event."""
        args = ["exec", "--json", "--skip-git-repo-check"]
        if image is not None:
            args += ["-i", str(image)]
        return self._turn([*args, "--", prompt], cwd)

    def exec(self, prompt: str, cwd: Path, *, image: Path | None = None) -> str:
        """Start a new session in ``cwd`` with one turn; return its thread id."""
        return self.exec_full(prompt, cwd, image=image).thread_id

    def resume_full(
        self, thread_id: str, prompt: str, cwd: Path, *, image: Path | None = None
    ) -> ExecResult:
        """``codex exec resume``; the full result including every JSON event."""
        args = ["exec", "resume", "--json", "--skip-git-repo-check"]
        if image is not None:
            args += ["-i", str(image)]
        return self._turn([*args, "--", thread_id, prompt], cwd)

    def resume(self, thread_id: str, prompt: str, cwd: Path, *, image: Path | None = None) -> str:
        """Run one more turn of an existing session from ``cwd``; return the thread id."""
        return self.resume_full(thread_id, prompt, cwd, image=image).thread_id

    def archive(self, thread_id: str) -> None:
        """Archive a session the way this Codex version does it.

        0.169 has ``codex archive ID``. Older builds (0.80) have no archive command, but their
        app-server has ``thread/archive``, which moves the rollout, unchanged, into the flat
        ``archived_sessions/`` folder; that is what is used there.
        """
        if self.has_archive_command():
            self.run(["archive", thread_id], self.home)
            return
        from .app_server import AppServer  # late import: app_server imports this module

        with AppServer(self.binary, self.home, user_home=self.user_home) as server:
            server.archive(thread_id)

    def has_archive_command(self) -> bool:
        """Whether ``codex archive`` exists (0.169 yes, 0.80 no), from ``codex --help``."""
        return _has_subcommand(self.binary, "archive")


@functools.cache
def _has_subcommand(binary: Path, command: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="codex-help-") as tmp:
        env = clean_env(Path(tmp) / "home", Path(tmp))
        proc = run_process([str(binary), "--help"], Path(tmp), env, 60)
    return any(line.strip().startswith(command + " ") for line in proc.stdout.splitlines())


_DEAD_URL = "http://127.0.0.1:9/v1"  # discard port: any model call fails fast
