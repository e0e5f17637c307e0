"""Asking the real Codex to finish what only it can do: projecting paginated history.

Measured (docs/STORAGE.md §5): a newly imported paginated thread lists fine but shows no turns
until Codex projects it into ``thread_history_1.sqlite``; ``thread/resume`` with
``excludeTurns`` through ``codex app-server`` does that and leaves the rollout byte-identical.
This is a minimal JSON-lines client for that one purpose.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import IO, Any

from codex_migrate import __version__
from codex_migrate.codexbin import locate_codex

TIMEOUT = 60.0


class CodexAppError(Exception):
    pass


def find_codex(explicit: Path | None) -> Path | None:
    """PATH, the npm global prefix, the Desktop app's CLI (see :mod:`codexbin`)."""
    found = locate_codex(explicit)
    return found.path if found else None


class AppServerClient:
    """``codex app-server`` on a home; the process always ends with the block."""

    def __init__(self, codex_bin: Path, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY",)}
        env["CODEX_HOME"] = str(home)
        self.proc = subprocess.Popen(
            [str(codex_bin), "app-server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=str(home),
        )
        self._next = 0

    def __enter__(self) -> AppServerClient:
        self.request(
            "initialize", {"clientInfo": {"name": "codex-migrate", "version": __version__}}
        )
        self._send({"method": "initialized"})
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _send(self, message: dict[str, Any]) -> None:
        stdin: IO[bytes] | None = self.proc.stdin
        if stdin is None:
            raise CodexAppError("app-server is not running")
        stdin.write(json.dumps(message).encode() + b"\n")
        stdin.flush()

    def request(self, method: str, params: dict[str, Any]) -> Any:
        self._next += 1
        rid = self._next
        self._send({"id": rid, "method": method, "params": params})
        deadline = time.monotonic() + TIMEOUT
        stdout = self.proc.stdout
        assert stdout is not None
        while time.monotonic() < deadline:
            raw = stdout.readline()
            if not raw:
                raise CodexAppError(f"app-server ended while waiting for {method}")
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if msg.get("id") == rid and "method" not in msg:
                if "error" in msg:
                    raise CodexAppError(f"{method}: {msg['error'].get('message', msg['error'])}")
                return msg.get("result")
        raise CodexAppError(f"app-server did not answer {method} in time")


def project_threads(
    codex_bin: Path,
    home: Path,
    thread_ids: list[str],
    archived: frozenset[str] = frozenset(),
    *,
    names: dict[str, str] | None = None,
) -> list[str]:
    """Resume each thread with ``excludeTurns`` so Codex projects its history; returns the
    ids that failed (a message each), never raises for one thread.

    Codex refuses to resume an archived thread, so those are unarchived, resumed and archived
    again (measured: same file, same bytes; the caller puts the times back). ``names`` are
    set through ``thread/name/set`` (for homes whose DB Codex is only now building)."""
    failed: list[str] = []
    with AppServerClient(codex_bin, home) as client:
        for tid in thread_ids:
            try:
                if tid in archived:
                    client.request("thread/unarchive", {"threadId": tid})
                try:
                    client.request("thread/resume", {"threadId": tid, "excludeTurns": True})
                finally:
                    if tid in archived:
                        client.request("thread/archive", {"threadId": tid})
            except CodexAppError as exc:
                failed.append(f"{tid}: {exc}")
        for tid, name in (names or {}).items():
            try:
                client.request("thread/name/set", {"threadId": tid, "name": name})
            except CodexAppError as exc:
                failed.append(f"{tid}: name not set: {exc}")
    return failed
