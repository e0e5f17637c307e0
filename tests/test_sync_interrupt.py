"""`sync` killed with SIGKILL at any point, then `recover`: the home is exactly as before or as
after, the folder never passes a half file off as whole, and the next sync converges."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
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
from tests.homes import make_state_db, tid, write_rollout
from tests.test_import import _journal_states, _unfinished_journal

MAC_ROOT = "/Users/alex/code"
B_ROOT = "/home/bob/code"  # recorded only: B's copies live in several temp folders
THREADS = 40


def _sync_args(base: Path, machine: str, root: str) -> list[str]:
    return [
        "sync",
        str(base / "Sync"),
        "--codex-home",
        str(base / "home"),
        "--machine",
        machine,
        "--root",
        f"code={root}",
        "--yes",
        "--json",
        "--no-codex",
    ]


def _sync(base: Path, machine: str, root: str, code: int = 0) -> dict[str, Any]:
    result = CliRunner().invoke(cli, _sync_args(base, machine, root))
    assert result.exit_code == code, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _spawn(base: Path, machine: str, root: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "codex_migrate", *_sync_args(base, machine, root)]
    return subprocess.Popen(
        cmd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _state(base: Path) -> dict[str, Any]:
    """What a user of the home sees: session files (bytes and times) and the DB's rows."""
    home = base / "home"
    files = {}
    for place in ("sessions", "archived_sessions"):
        for p in sorted((home / place).rglob("*")):
            if p.is_file():
                st = p.stat()
                files[p.relative_to(home).as_posix()] = (p.read_bytes(), st.st_mtime_ns)
    for name in ("session_index.jsonl", "history.jsonl"):
        if (home / name).exists():
            files[name] = ((home / name).read_bytes(), 0)
    conn = sqlite3.connect(home / "state_5.sqlite")
    try:
        rows = sorted(
            tuple(str(v).replace(str(base), "<BASE>") for v in row)
            for row in conn.execute("SELECT * FROM threads")
        )
    finally:
        conn.close()
    return {"files": files, "rows": rows}


def _mac(tmp_path: Path) -> Path:
    """Side A: many Mac-recorded threads, pushed once; its folder is what B receives."""
    a = tmp_path / "A"
    (a / "Sync").mkdir(parents=True)
    for n in range(1, THREADS + 1):
        write_rollout(
            a / "home", n, cwd=f"{MAC_ROOT}/p{n % 5}", turns=[("q" * 300, "a" * 3000)] * 30
        )
    _sync(a, "mac", MAC_ROOT)
    return a


def _linux(tmp_path: Path, a: Path, name: str) -> Path:
    """Side B with its own thread and DB, and A's push delivered into its folder."""
    b = tmp_path / name
    (b / "home").mkdir(parents=True)
    own = write_rollout(b / "home", 900, cwd=f"{B_ROOT}/own")
    make_state_db(b / "home", [{"id": tid(900), "rollout_path": str(own), "cwd": f"{B_ROOT}/own"}])
    shutil.copytree(a / "Sync", b / "Sync")
    return b


def _rebase(src: Path, dest: Path) -> None:
    """A copy of a side under another folder, its DB paths following (as a fresh start)."""
    shutil.copytree(src, dest, symlinks=True)
    conn = sqlite3.connect(dest / "home" / "state_5.sqlite")
    conn.execute(
        "UPDATE threads SET rollout_path = replace(rollout_path, ?, ?)", (str(src), str(dest))
    )
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def story(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, dict[str, Any], dict[str, Any]]:
    """A pushed; B's state before and (from an uninterrupted run on a copy) after its sync.
    Shared by the tests of this module: each works on its own copy of B (and of A)."""
    tmp_path = tmp_path_factory.mktemp("sync-story")
    a = _mac(tmp_path)
    pristine = _linux(tmp_path, a, "B-pristine")
    ref = tmp_path / "B-ref"
    _rebase(pristine, ref)
    before = _state(ref)
    out = _sync(ref, "linux", B_ROOT)
    assert out["pull"][0]["summary"]["import"] == THREADS
    return a, pristine, before, _state(ref)


def _check_converges(b: Path, after: dict[str, Any]) -> None:
    out = _sync(b, "linux", B_ROOT)
    assert out["in_flight"] == [] and out["conflicts"] == []
    assert _state(b) == after
    again = _sync(b, "linux", B_ROOT)
    assert not again["wrote"], "a second sync writes nothing"


POINTS = [
    "sync-push-staged",
    "sync-push-files",
    "sync-push-manifest",
    "prepared",
    "staged",
    "installed-first",
    "files",
    "db",
    "appended",
]


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_each_step_then_recover(
    story: tuple[Path, Path, dict[str, Any], dict[str, Any]], tmp_path: Path, point: str
) -> None:
    _a, pristine, before, after = story
    b = tmp_path / "B"
    _rebase(pristine, b)
    proc = _spawn(b, "linux", B_ROOT, {CRASH_ENV: point})
    proc.communicate(timeout=120)
    assert proc.returncode == 137, point
    result = CliRunner().invoke(cli, ["recover", "--codex-home", str(b / "home")])
    assert result.exit_code == 0, result.output
    assert _state(b) in (before, after), point
    _check_converges(b, after)


def test_kill_at_random_times_on_either_side(
    story: tuple[Path, Path, dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    """B's sync killed at random moments: twice anywhere from its start (push, pull, any
    outcome), then inside the pull's import transaction (after its journal says prepared)
    until two pulls were rolled back. A kill that lands after the commit leaves the whole
    pull, which recover keeps; the next kill then comes earlier."""
    a, pristine, before, after = story  # the last user of A: it may change it
    rng = random.Random(1616)
    outcomes, rolled_back, window = {"before": 0, "after": 0}, 0, 0.4
    for k in range(12):
        inside = k >= 2
        if inside and rolled_back >= 2:
            break
        b = tmp_path / f"B{k}"
        _rebase(pristine, b)
        proc = _spawn(b, "linux", B_ROOT, {})
        if inside:
            deadline = time.monotonic() + 60
            while proc.poll() is None and not _unfinished_journal(b / "home"):
                assert time.monotonic() < deadline, "the pull never started its transaction"
                time.sleep(0.005)
            delay = rng.uniform(0, window)
        else:
            delay = rng.uniform(0.05, 1.5)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        states = list(_journal_states(b / "home").values())
        result = CliRunner().invoke(cli, ["recover", "--codex-home", str(b / "home")])
        assert result.exit_code == 0, result.output
        now = _state(b)
        if states == ["committed"]:  # too late: the pull was whole, recover keeps it
            assert now == after and "Rolled back" not in result.output, result.output
            window = delay / 2 if inside else window  # kill earlier next time
        elif inside:  # killed inside the transaction: rolled back to before
            assert proc.returncode == -signal.SIGKILL
            assert now == before and "Rolled back" in result.output, result.output
            rolled_back += 1
        else:
            assert now == before, states  # killed before the pull committed (or began)
        assert set(_journal_states(b / "home").values()) <= {"committed", "rolled_back"}
        outcomes["before" if now == before else "after"] += 1
        _check_converges(b, after)
    assert rolled_back >= 2, (rolled_back, outcomes)
    # The push side: A, killed while publishing its grown threads, never shows a half file.
    for n in range(1, 6):
        with open(next((a / "home" / "sessions").rglob(f"*{tid(n)}.jsonl")), "a") as f:
            f.write(json.dumps({"type": "event_msg", "payload": {"type": "x", "n": n}}) + "\n")
    for _ in range(3):
        proc = _spawn(a, "mac", MAC_ROOT, {})
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        b = tmp_path / "B0"
        shutil.rmtree(b / "Sync" / "machines" / "mac")
        shutil.copytree(a / "Sync" / "machines" / "mac", b / "Sync" / "machines" / "mac")
        out = _sync(b, "linux", B_ROOT)
        assert out["conflicts"] == []  # a half-published file is in flight, never imported
    _sync(a, "mac", MAC_ROOT)
    b = tmp_path / "B0"
    shutil.rmtree(b / "Sync" / "machines" / "mac")
    shutil.copytree(a / "Sync" / "machines" / "mac", b / "Sync" / "machines" / "mac")
    out = _sync(b, "linux", B_ROOT)
    assert out["in_flight"] == []
    for n in range(1, 6):
        mine = next((b / "home" / "sessions").rglob(f"*{tid(n)}.jsonl")).read_bytes()
        assert f'"n": {n}'.encode() in mine
