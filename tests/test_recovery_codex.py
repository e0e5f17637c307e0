"""Recovery property, proven with the real Codex 0.169: an import killed at any journal step,
then a day of Codex use in the target (a new thread, a rename, prompt history), then
`recover` and the same import again. The killed import is gone, every change Codex made after
it is still there, and the real app-server lists everything."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from codex_migrate.transaction import CRASH_ENV
from tests.harness.app_server import AppServer
from tests.harness.codex import CodexRunner
from tests.harness.scenario import Scenario
from tests.homes import tree_state
from tests.test_import import CRASH_POINTS
from tests.test_import_codex import _import, _move_projects, _target_home

pytestmark = pytest.mark.codex

NEW_NAME = "Renamed after the crash"
PROMPT = "A new thread, started after the crash"


def _bytes(p: Path) -> bytes:
    return p.read_bytes() if p.exists() else b""


def _sessions(home: Path) -> dict[str, str]:
    """Rollout files by path, with their content hash."""
    return {
        k: v[0]
        for k, v in tree_state(home).items()
        if k.startswith(("sessions/", "archived_sessions/")) and v[0]
    }


def _row(home: Path, thread_id: str) -> dict[str, Any] | None:
    conn = sqlite3.connect(home / "state_5.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        got = conn.execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
        return dict(got) if got else None
    finally:
        conn.close()


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_recover_keeps_what_codex_did_after_an_import_was_killed(
    point: str,
    codex_home_new_copy: Scenario,
    codex_bin_new: Path,
    mock_api_server: Any,
    tmp_path: Path,
) -> None:
    source = codex_home_new_copy
    old_root, new_root = _move_projects(source, tmp_path / "moved-projects")
    target = _target_home(tmp_path, "0.169.0", mock_api_server, codex_bin_new)
    with AppServer(codex_bin_new, target) as server:
        own_ids = {t["id"] for t in server.list_threads()}
    own_id = next(iter(own_ids))
    index, history = target / "session_index.jsonl", target / "history.jsonl"
    index_before, history_before = _bytes(index), _bytes(history)
    sessions_before = _sessions(target)

    # 1. the import is killed at this journal step
    proc = subprocess.run(
        [sys.executable, "-m", "codex_migrate", "import", str(source.home), "--codex-home",
         str(target), "--map", f"{old_root}={new_root}", "--yes", "--no-codex"],
        env={**os.environ, CRASH_ENV: point},
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 137, proc.stdout + proc.stderr
    index_at_crash, history_at_crash = _bytes(index), _bytes(history)

    # 2. a day of Codex use in the target: a new thread, a rename, prompt history
    runner = CodexRunner("0.169.0", target, mock_api_server, binary=codex_bin_new)
    new_id = runner.exec(PROMPT, tmp_path / "own-project")
    with AppServer(codex_bin_new, target, user_home=runner.user_home) as server:
        server.set_name(own_id, NEW_NAME)
    if _bytes(history) == history_at_crash:
        # Headless Codex (exec, app-server) records no prompt recall; the TUI appends one
        # line per prompt in this format, with one O_APPEND write. Do as it does.
        line = {"session_id": new_id, "ts": int(time.time()), "text": PROMPT}
        fd = os.open(history, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)
    index_now, history_now = _bytes(index), _bytes(history)
    assert index_now.startswith(index_at_crash) and history_now.startswith(history_at_crash)
    codex_index, codex_history = (
        index_now[len(index_at_crash) :],
        history_now[len(history_at_crash) :],
    )
    assert codex_index and codex_history
    codex_sessions = {k: v for k, v in _sessions(target).items() if k not in sessions_before}
    codex_sessions = {k: v for k, v in codex_sessions.items() if new_id in k}
    assert codex_sessions, "Codex wrote the new thread's rollout"
    sessions_after_codex = _sessions(target)

    # 3. recover: the killed import goes, Codex's work stays, byte for byte
    result = CliRunner().invoke(cli, ["recover", "--codex-home", str(target)])
    assert result.exit_code == 0 and "Rolled back" in result.output, result.output
    assert _bytes(index) == index_before + codex_index
    assert _bytes(history) == history_before + codex_history
    sessions = _sessions(target)
    for t in source.threads.values():
        assert not any(t.id in k for k in sessions), f"{t.key}: the killed import left it"
    for rel, digest in sessions_after_codex.items():
        if not any(t.id in rel for t in source.threads.values()):
            assert sessions.get(rel) == digest, f"{rel} was changed by recovery"
    assert (_row(target, own_id) or {}).get("name") == NEW_NAME
    assert _row(target, new_id) is not None
    with AppServer(codex_bin_new, target) as server:
        listed = {t["id"]: t for t in server.list_threads()}
    assert own_ids | {new_id} <= set(listed)
    assert listed[own_id]["name"] == NEW_NAME
    assert not {t.id for t in source.threads.values()} & set(listed)

    # 4. the same import again completes, and Codex lists everything
    out = _import(
        source.home, target, "--map", f"{old_root}={new_root}", "--codex-bin", str(codex_bin_new)
    )
    assert out["report"]["recovered"] == []
    assert _bytes(history).startswith(history_before + codex_history)
    with AppServer(codex_bin_new, target) as server:
        listed = {t["id"]: t for t in server.list_threads()}
    assert own_ids | {new_id} <= set(listed)
    assert listed[own_id]["name"] == NEW_NAME
    for t in source.threads.values():
        if t.listed:
            assert t.id in listed, f"{t.key} not listed after the second import"
            assert listed[t.id]["name"] == t.name, t.key
            assert listed[t.id]["cwd"] == t.cwd.replace(old_root, str(new_root)), t.key
