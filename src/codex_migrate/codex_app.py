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
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from codex_migrate import __version__
from codex_migrate.codexbin import locate_codex

TIMEOUT = 60.0
#: How many requests are sent ahead of their answers.
WINDOW = 32


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
        [(result, error)] = self.pipeline([(method, params)], window=1)
        if error is not None:
            raise CodexAppError(error)
        return result

    def pipeline(
        self,
        calls: list[tuple[str, dict[str, Any]]],
        *,
        window: int = WINDOW,
        on_answer: Callable[[int], None] | None = None,
    ) -> list[tuple[Any, str | None]]:
        """Send ``calls`` with up to ``window`` unanswered at a time and return, in order,
        ``(result, None)`` or ``(None, error message)`` for each: thousands of threads then
        cost one round trip per window instead of one each. Raises CodexAppError only when
        the server ends or stops answering."""
        out: list[tuple[Any, str | None]] = [(None, None)] * len(calls)
        pending: dict[int, int] = {}  # request id -> index in calls
        sent = done = 0
        stdout = self.proc.stdout
        assert stdout is not None
        while done < len(calls):
            while sent < len(calls) and len(pending) < max(1, window):
                method, params = calls[sent]
                self._next += 1
                pending[self._next] = sent
                self._send({"id": self._next, "method": method, "params": params})
                sent += 1
            deadline = time.monotonic() + TIMEOUT
            while True:
                if time.monotonic() > deadline:
                    method = calls[min(pending.values())][0]
                    raise CodexAppError(f"app-server did not answer {method} in time")
                raw = stdout.readline()
                if not raw:
                    method = calls[min(pending.values())][0]
                    raise CodexAppError(f"app-server ended while waiting for {method}")
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(msg, dict) or "method" in msg or msg.get("id") not in pending:
                    continue  # a notification, or an answer to someone else
                index = pending.pop(msg["id"])
                method = calls[index][0]
                if "error" in msg:
                    err = msg["error"]
                    text = err.get("message", err) if isinstance(err, dict) else err
                    out[index] = (None, f"{method}: {text}")
                else:
                    out[index] = (msg.get("result"), None)
                done += 1
                if on_answer:
                    on_answer(done)
                break
        return out


def project_threads(
    codex_bin: Path,
    home: Path,
    thread_ids: list[str],
    archived: frozenset[str] = frozenset(),
    *,
    names: dict[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Resume each thread with ``excludeTurns`` so Codex projects its history; returns the
    ids that failed (a message each), never raises for one thread.

    One ``codex app-server`` serves all of them, requests pipelined (:meth:`pipeline`).
    Codex refuses to resume an archived thread, so those are unarchived, resumed and archived
    again (measured: same file, same bytes; the caller puts the times back): each step for
    all threads before the next, so a thread's own steps stay in order. ``names`` are set
    through ``thread/name/set`` (for homes whose DB Codex is only now building).
    ``progress(done, total)`` counts answers."""
    failed: list[str] = []
    names = names or {}
    unarchive = [t for t in thread_ids if t in archived]
    total = len(unarchive) * 2 + len(thread_ids) + len(names)
    done = 0

    def step(method: str, params: dict[str, dict[str, Any]], note: str = "") -> list[str]:
        """Run one step for each thread id in ``params``; returns those that succeeded."""
        nonlocal done
        base = done
        tick = (lambda n: progress(base + n, total)) if progress else None
        calls = [(method, p) for p in params.values()]
        answers = client.pipeline(calls, on_answer=tick)
        done = base + len(calls)
        ok = []
        for tid, (_, error) in zip(params, answers, strict=True):
            if error is None:
                ok.append(tid)
            else:
                failed.append(f"{tid}: {note}{error}")
        return ok

    with AppServerClient(codex_bin, home) as client:
        unarchived = set(step("thread/unarchive", {t: {"threadId": t} for t in unarchive}))
        ready = [t for t in thread_ids if t not in archived or t in unarchived]
        done += len(thread_ids) - len(ready)
        step("thread/resume", {t: {"threadId": t, "excludeTurns": True} for t in ready})
        done += len(unarchive) - len(unarchived)
        step("thread/archive", {t: {"threadId": t} for t in unarchive if t in unarchived})
        named = {t: {"threadId": t, "name": n} for t, n in names.items()}
        step("thread/name/set", named, note="name not set: ")
    return failed
