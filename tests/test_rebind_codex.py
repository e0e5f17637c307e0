"""`rebind` repairs a copied home so the real Codex lists, reads and resumes every thread."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
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

pytestmark = pytest.mark.codex


def _copied_home(scenario: Scenario, tmp_path: Path) -> tuple[Path, str, Path]:
    """A plain copy of the home (rows still name the original), the original removed, and
    the projects copied to a new place."""
    copy = tmp_path / "synced" / ".codex"
    shutil.copytree(scenario.home, copy)
    shutil.rmtree(scenario.home)
    old_root = Path(next(iter(scenario.projects.values()))).parent
    new_root = tmp_path / "new machine projects"
    shutil.copytree(old_root, new_root)
    return copy, str(old_root), new_root


def _rebind(home: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["rebind", "--codex-home", str(home), "--yes", "--json", *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _line_starts(path: Path) -> set[int]:
    starts, pos = {0}, 0
    for line in path.read_bytes().splitlines(keepends=True):
        pos += len(line)
        starts.add(pos)
    return starts


def test_rebind_repairs_a_copied_0169_home(
    codex_home_new_copy: Scenario, codex_bin_new: Path, mock_api_server: Any, tmp_path: Path
) -> None:
    scenario = codex_home_new_copy
    home, old_root, new_root = _copied_home(scenario, tmp_path)
    probe = tmp_path / "probe"
    shutil.copytree(home, probe)
    with AppServer(codex_bin_new, probe) as server:
        assert server.list_threads() == [], "a copied home lists nothing (docs/STORAGE.md §4)"

    out = _rebind(home, "--all", "--map", f"{old_root}={new_root}")
    assert out["report"]["files"] >= 1
    assert out["report"]["rows"] == len(scenario.threads)
    assert out["report"]["offsets_translated"] > 0
    assert out["report"]["projections_dropped"] == 0

    with AppServer(codex_bin_new, home) as server:
        listed = {t["id"]: t for t in server.list_threads()}
        for t in scenario.threads.values():
            got = listed[t.id]
            assert got["cwd"] == t.cwd.replace(old_root, str(new_root)), t.key
            assert got["name"] == t.name, t.key
            assert got["archived"] == t.archived, t.key
            assert str(got["path"]).startswith(str(home)), t.key
            if not t.archived:
                assert len(server.list_turns(t.id)) == t.turns, t.key
    conn = sqlite3.connect(home / "thread_history_1.sqlite")
    for t in scenario.threads.values():
        starts = _line_starts(home / t.rollout)
        for start, end in conn.execute(
            "SELECT rollout_byte_offset, rollout_end_byte_offset FROM thread_turns"
            " WHERE thread_id = ?",
            (t.id,),
        ):
            assert start in starts and (end is None or end in starts), t.key
        for (nxt,) in conn.execute(
            "SELECT next_rollout_byte_offset FROM thread_history_projection_state"
            " WHERE thread_id = ?",
            (t.id,),
        ):
            assert nxt in starts, t.key
    conn.close()

    live = next(t for t in scenario.threads.values() if not t.archived)
    cwd = Path(live.cwd.replace(old_root, str(new_root)))
    CodexRunner("0.169.0", home, mock_api_server, binary=codex_bin_new).resume(
        live.id, "after the rebind", cwd
    )
    assert b"after the rebind" in (home / live.rollout).read_bytes()


def test_rebind_rewrites_a_0080_home_without_db(
    codex_home_old_copy: Scenario, codex_bin_old: Path, tmp_path: Path
) -> None:
    scenario = codex_home_old_copy
    home, old_root, new_root = _copied_home(scenario, tmp_path)
    out = _rebind(home, "--all", "--map", f"{old_root}={new_root}")
    assert out["report"]["files"] == len(scenario.threads)
    with AppServer(codex_bin_old, home) as server:
        listed = {t["id"]: t for t in server.list_threads()}
    for t in scenario.threads.values():
        if t.listed:
            assert listed[t.id]["cwd"] == t.cwd.replace(old_root, str(new_root)), t.key


@pytest.mark.parametrize("point", ["prepared", "staged", "files", "db"])
def test_kill_during_rebind_then_recover_restores_the_exact_state(
    codex_home_new_copy: Scenario, tmp_path: Path, point: str
) -> None:
    home, old_root, new_root = _copied_home(codex_home_new_copy, tmp_path)
    before = tree_state(home)
    conn = sqlite3.connect(home / "state_5.sqlite")
    rows_before = sorted(conn.execute("SELECT * FROM threads"))
    conn.close()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "codex_migrate",
            "rebind",
            "--codex-home",
            str(home),
            "--all",
            "--map",
            f"{old_root}={new_root}",
            "--yes",
        ],
        env={**os.environ, CRASH_ENV: point},
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 137, proc.stdout + proc.stderr
    result = CliRunner().invoke(cli, ["recover", "--codex-home", str(home)])
    assert result.exit_code == 0 and "Rolled back" in result.output
    after = tree_state(home)
    files = lambda t: {  # noqa: E731
        k: v[0]
        for k, v in t.items()
        if v[0] and "sqlite" not in k and not k.startswith("migration_transactions")
    }
    assert files(after) == files(before)
    conn = sqlite3.connect(home / "state_5.sqlite")
    assert sorted(conn.execute("SELECT * FROM threads")) == rows_before
    conn.close()
