"""Talk to ``codex app-server`` (JSON lines over stdio) to see a home the way Codex's UIs do.

``thread/list`` is the ground truth for "does Codex show this thread, under which cwd, archived
or not, with which name" — the properties a migration must preserve. The protocol differs
between versions, so the supported methods and ``thread/list`` parameters are read from
``codex app-server generate-json-schema`` for the binary in use rather than hard-coded.

Opening a home with the app-server changes it (it creates and back-fills SQLite files), so
checks that must leave a home untouched go through :func:`list_threads_of_copy`.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import json
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from .codex import clean_env, kill_tree, make_user_home, popen_kwargs, run_process
from .homes import copy_home

DEFAULT_TIMEOUT_S = 60.0
CLIENT_NAME = "codex-migrate-tests"
CLIENT_VERSION = "0.1.0"
PAGE_SIZE = 50


class AppServerError(RuntimeError):
    """The app-server answered with an error, died, or did not answer in time."""

    def __init__(self, message: str, *, code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


@dataclass(frozen=True)
class Protocol:
    """What one Codex build's app-server understands, read from its generated JSON schema."""

    methods: frozenset[str]
    thread_list_params: frozenset[str]
    source_kinds: tuple[str, ...]

    def supports(self, method: str) -> bool:
        return method in self.methods


@functools.cache
def protocol(codex_bin: Path) -> Protocol:
    """Methods, ``thread/list`` parameters and ``ThreadSourceKind`` values of this binary."""
    with tempfile.TemporaryDirectory(prefix="codex-schema-") as tmp:
        out = Path(tmp) / "schema"
        home = Path(tmp) / "home"
        home.mkdir()
        user_home = Path(tmp) / "user"
        user_home.mkdir()
        cmd = [str(codex_bin), "app-server", "generate-json-schema", "--out", str(out)]
        proc = run_process(cmd, Path(tmp), clean_env(home, user_home), 60)
        if proc.returncode != 0:
            raise AppServerError(f"generate-json-schema failed: {proc.stderr.strip()}")
        schema = json.loads((out / "ClientRequest.json").read_text(encoding="utf-8"))
    methods: set[str] = set()
    for variant in schema.get("oneOf", []):
        methods.update(variant.get("properties", {}).get("method", {}).get("enum", []))
    defs = schema.get("definitions", {})
    list_params = frozenset(defs.get("ThreadListParams", {}).get("properties", {}))
    kinds = tuple(defs.get("ThreadSourceKind", {}).get("enum", []))
    return Protocol(frozenset(methods), list_params, kinds)


def _thread_summary(thread: dict[str, Any], archived: bool | None) -> dict[str, Any]:
    """The fields tests compare, plus the raw object for anything else."""
    return {
        "id": thread.get("id"),
        "cwd": thread.get("cwd"),
        "archived": archived,
        "name": thread.get("name"),
        "preview": thread.get("preview"),
        "path": thread.get("path"),
        "source": thread.get("source"),
        "model_provider": thread.get("modelProvider"),
        "raw": thread,
    }


class AppServer:
    """``codex app-server`` as a context manager; the process is always killed on exit.

    ``user_home`` is the ``HOME`` of the child (a private temp folder by default), so the real
    ``~/.codex`` is never involved.
    """

    def __init__(
        self,
        codex_bin: Path,
        home: Path,
        *,
        user_home: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.codex_bin = Path(codex_bin)
        self.home = Path(home).resolve()
        self.user_home = user_home if user_home is not None else make_user_home(self)
        self.timeout = timeout
        self.protocol = protocol(self.codex_bin)
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=200)
        self._ids = itertools.count(1)
        self.notifications: list[dict[str, Any]] = []
        self.initialize_result: dict[str, Any] | None = None

    # -- process lifecycle -------------------------------------------------------------------

    def __enter__(self) -> AppServer:
        self.home.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [str(self.codex_bin), "app-server"],
            cwd=self.home,
            env=clean_env(self.home, self.user_home),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **popen_kwargs(),
        )
        threading.Thread(target=self._read_stdout, args=(self._proc,), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self._proc,), daemon=True).start()
        try:
            self.initialize_result = self.request(
                "initialize",
                {"clientInfo": {"name": CLIENT_NAME, "version": CLIENT_VERSION}},
            )
            self.notify("initialized")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close stdin (a polite shutdown), then kill the process group whatever happened."""
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        kill_tree(proc)
        for stream in (proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()

    def _read_stdout(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                self._lines.put(line)
        except (OSError, ValueError):
            pass
        self._lines.put(None)

    def _read_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        try:
            for line in proc.stderr:
                self._stderr.append(line.decode("utf-8", "replace").rstrip())
        except (OSError, ValueError):
            pass

    def stderr_text(self) -> str:
        return "\n".join(self._stderr)

    # -- JSON-RPC ----------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise AppServerError("app-server is not running")
        try:
            proc.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
            proc.stdin.flush()
        except OSError as exc:
            raise AppServerError(
                f"app-server stdin closed ({exc}); stderr:\n{self.stderr_text()}"
            ) from exc

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification (no id, no answer)."""
        message: dict[str, Any] = {"method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def _next_message(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        """The next JSON object from the server; answers server->client requests with an error."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AppServerError(
                    f"{waiting_for}: no answer in time; stderr:\n{self.stderr_text()}"
                )
            try:
                raw = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if raw is None:
                self._lines.put(None)  # keep the end marker for later callers
                raise AppServerError(
                    f"{waiting_for}: app-server exited; stderr:\n{self.stderr_text()}"
                )
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            if "method" in msg and "id" in msg:  # approval or other server request: refuse
                self._send({"id": msg["id"], "error": {"code": -32601, "message": "not supported"}})
                continue
            if "method" in msg:
                self.notifications.append(msg)
            return msg

    def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """Send a request and wait for its response, keeping notifications that arrive meanwhile."""
        request_id = next(self._ids)
        message: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self._send(message)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            msg = self._next_message(deadline, method)
            if "method" in msg or msg.get("id") != request_id:
                continue
            if "error" in msg:
                err = msg["error"] or {}
                raise AppServerError(
                    f"{method} failed: {err.get('message')} (code {err.get('code')})",
                    code=err.get("code"),
                    data=err.get("data"),
                )
            return msg.get("result")

    def wait_for_notification(
        self,
        method: str,
        *,
        since: int = 0,
        match: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The first notification ``method`` (at index >= ``since``) matching ``match``."""
        deadline = time.monotonic() + (timeout or self.timeout)
        index = since
        while True:
            while index < len(self.notifications):
                note = self.notifications[index]
                index += 1
                if note.get("method") == method and (match is None or match(note)):
                    return note
            self._next_message(deadline, f"waiting for {method}")

    def _require(self, method: str) -> None:
        if not self.protocol.supports(method):
            raise AppServerError(f"this Codex app-server has no {method!r} method")

    # -- thread methods ----------------------------------------------------------------------

    def list_page(
        self, *, archived: bool | None = None, cursor: str | None = None, limit: int = PAGE_SIZE
    ) -> dict[str, Any]:
        """One raw ``thread/list`` page with every source kind and every provider."""
        params: dict[str, Any] = {"limit": limit, "cursor": cursor, "modelProviders": []}
        known = self.protocol.thread_list_params
        if "sourceKinds" in known:
            params["sourceKinds"] = list(self.protocol.source_kinds)
        if archived is not None:
            if "archived" not in known:
                raise AppServerError("this Codex app-server cannot list archived threads")
            params["archived"] = archived
        result = self.request("thread/list", params)
        assert isinstance(result, dict)
        return result

    def list_threads(self) -> list[dict[str, Any]]:
        """Every thread Codex lists, live then archived, every page.

        Each item has ``id, cwd, archived, name, preview, path, source, model_provider, raw``.
        ``archived`` says which listing the thread came from. On builds whose ``thread/list``
        has no ``archived`` filter (0.80), only the one listing exists and ``archived`` is
        ``None``: those builds do not list archived threads at all.
        """
        modes: list[bool | None] = (
            [False, True] if "archived" in self.protocol.thread_list_params else [None]
        )
        threads: list[dict[str, Any]] = []
        for archived in modes:
            cursor: str | None = None
            seen_cursors: set[str] = set()
            while True:
                page = self.list_page(archived=archived, cursor=cursor)
                threads += [_thread_summary(t, archived) for t in page.get("data") or []]
                cursor = page.get("nextCursor")
                if not cursor or cursor in seen_cursors:
                    break
                seen_cursors.add(cursor)
        return threads

    def read_thread(self, thread_id: str, include_turns: bool = True) -> dict[str, Any]:
        """``thread/read``: the thread object, with its turns when asked (0.169 only)."""
        self._require("thread/read")
        result = self.request("thread/read", {"threadId": thread_id, "includeTurns": include_turns})
        return result["thread"]

    def list_turns(self, thread_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """``thread/turns/list``, every page, oldest first (0.169 only)."""
        self._require("thread/turns/list")
        turns: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {
                "threadId": thread_id,
                "limit": limit,
                "cursor": cursor,
                "sortDirection": "asc",
            }
            page = self.request("thread/turns/list", params)
            turns += page.get("data") or []
            cursor = page.get("nextCursor")
            if not cursor:
                return turns

    def resume(self, thread_id: str, exclude_turns: bool = True) -> dict[str, Any]:
        """``thread/resume``: loads the thread (0.169 projects paginated history doing so)."""
        params: dict[str, Any] = {"threadId": thread_id}
        if exclude_turns and self.protocol.supports("thread/read"):
            params["excludeTurns"] = True  # 0.80 has no such parameter
        return self.request("thread/resume", params)

    def set_name(self, thread_id: str, name: str) -> None:
        """``thread/name/set`` (0.169; 0.80 has no way to name a thread)."""
        self._require("thread/name/set")
        self.request("thread/name/set", {"threadId": thread_id, "name": name})

    def start_thread(
        self,
        cwd: Path,
        prompt: str,
        *,
        image: Path | None = None,
        timeout: float | None = None,
    ) -> str:
        """``thread/start`` in ``cwd`` plus one finished turn; returns the thread id.

        Threads started this way are recorded with an interactive source (``vscode`` in 0.80,
        ``appServer`` in 0.169), which is what 0.80's ``thread/list`` needs to show them: it has
        no ``sourceKinds`` parameter and hides ``exec`` sessions. Needs the mock API running.
        """
        result = self.request("thread/start", {"cwd": str(cwd)})
        thread_id = result["thread"]["id"]
        self.run_turn(thread_id, prompt, image=image, timeout=timeout)
        return thread_id

    def run_turn(
        self,
        thread_id: str,
        prompt: str,
        *,
        image: Path | None = None,
        timeout: float | None = None,
    ) -> None:
        """``turn/start`` on a loaded thread and wait for its ``turn/completed``.

        ``image`` is sent as a ``localImage`` input, which Codex embeds as a data URL.
        """
        since = len(self.notifications)
        inputs: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
        if image is not None:
            inputs.append({"type": "localImage", "path": str(image)})
        params = {"threadId": thread_id, "input": inputs}
        self.request("turn/start", params)
        done = self.wait_for_notification(
            "turn/completed",
            since=since,
            match=lambda n: (n.get("params") or {}).get("threadId") in (None, thread_id),
            timeout=timeout,
        )
        turn = (done.get("params") or {}).get("turn") or {}
        if turn.get("status") not in (None, "completed"):
            raise AppServerError(f"turn on {thread_id} ended {turn.get('status')}: {turn}")

    def archive(self, thread_id: str) -> None:
        """``thread/archive``: moves the rollout into ``archived_sessions/`` (both versions)."""
        self._require("thread/archive")
        self.request("thread/archive", {"threadId": thread_id})


def list_threads_of_copy(
    codex_bin: Path, home: Path, *, scratch: Path | None = None
) -> list[dict[str, Any]]:
    """List a home's threads without changing it: the app-server runs on a throwaway copy.

    The copy is made with :func:`copy_home` (DB rows re-pointed at the copy, so Codex cannot
    touch the original's files), and ``path`` values in the result are mapped back to ``home``
    so tests can compare them with the original. ``home`` must not be open in a running Codex.
    """
    tmp_parent = Path(tempfile.mkdtemp(prefix="codex-listcopy-", dir=scratch))
    try:
        copy = copy_home(home, tmp_parent / "home")
        with AppServer(codex_bin, copy) as server:
            threads = server.list_threads()
        copy_prefix = str(copy)
        original = str(Path(home).resolve())
        for t in threads:
            path = t.get("path")
            if isinstance(path, str) and path.startswith(copy_prefix):
                t["path"] = original + path[len(copy_prefix) :]
        return threads
    finally:
        shutil.rmtree(tmp_parent, ignore_errors=True)
