"""Imported and rebound threads open at once in the real Codex, with no Codex binary reachable.

The turn index (``thread_history_1.sqlite``) comes with each paginated thread, offsets
translated through the rewrite: ``thread/read`` with turns and ``thread/turns/list`` return
every turn right after the import, archived threads included, with no Codex run by our tool.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from tests.harness.app_server import AppServer
from tests.harness.codex import CodexRunner
from tests.harness.scenario import Scenario

pytestmark = pytest.mark.codex


def _no_codex_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PATH without any codex, and an npm global prefix without one either."""
    keep = [
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and not (Path(p) / "codex").exists()
    ]
    monkeypatch.setenv("PATH", os.pathsep.join(keep))
    monkeypatch.setenv("NPM_CONFIG_PREFIX", str(tmp_path / "empty-npm-prefix"))
    assert shutil.which("codex") is None


def _run(args: list[str]) -> dict[str, Any]:
    result = CliRunner().invoke(cli, [*args, "--yes", "--json"])
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _assert_opens(
    server: AppServer, scenario: Scenario, old_root: str, new_root: Path, home: Path
) -> None:
    listed = {t["id"]: t for t in server.list_threads()}
    for t in scenario.threads.values():
        got = listed.get(t.id)
        assert got is not None, f"{t.key} not listed"
        assert got["cwd"] == t.cwd.replace(old_root, str(new_root)), t.key
        assert got["name"] == t.name, t.key
        assert got["archived"] == t.archived, t.key
        assert str(got["path"]).startswith(str(home)), t.key
        assert len(server.list_turns(t.id)) == t.turns, t.key
        read = server.read_thread(t.id, include_turns=True)
        assert len(read.get("turns") or []) == t.turns, t.key


def _project_root(scenario: Scenario) -> str:
    return str(Path(next(iter(scenario.projects.values()))).parent)


def test_import_opens_every_thread_without_a_codex_binary(
    codex_home_new_copy: Scenario,
    codex_bin_new: Path,
    mock_api_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = codex_home_new_copy
    old_root = _project_root(source)
    new_root = tmp_path / "moved projects"
    shutil.copytree(old_root, new_root)
    target = tmp_path / "target-home"
    own = tmp_path / "own-project"
    own.mkdir()
    CodexRunner("0.169.0", target, mock_api_server, binary=codex_bin_new).exec("mine", own)

    with monkeypatch.context() as m:
        _no_codex_path(m, tmp_path)
        mapping = f"{old_root}={new_root}"
        out = _run(["import", str(source.home), "--codex-home", str(target), "--map", mapping])
    reg = out["codex_registration"]
    assert reg["codex"] is None, "no Codex was reachable, none may have run"
    assert reg["index_carried"] == len(source.threads)
    with sqlite3.connect(target / "thread_history_1.sqlite") as conn:
        cwds = [r[0] for r in conn.execute("SELECT item_json FROM thread_items")]
    assert not any(old_root in c for c in cwds), "item paths are mapped too"

    with AppServer(codex_bin_new, target) as server:
        _assert_opens(server, source, old_root, new_root, target)

    live = source.threads["multi_turn"]
    runner = CodexRunner("0.169.0", target, mock_api_server, binary=codex_bin_new)
    runner.resume(
        live.id, "continue after the move", Path(live.cwd.replace(old_root, str(new_root)))
    )
    assert b"continue after the move" in (target / live.rollout).read_bytes()

    # Codex rebuilds a deleted state DB; the carried index still opens every thread.
    for p in target.glob("state_5.sqlite*"):
        p.unlink()
    with AppServer(codex_bin_new, target) as server:
        listed = {t["id"]: t for t in server.list_threads()}
        for t in source.threads.values():
            assert listed[t.id]["cwd"] == t.cwd.replace(old_root, str(new_root)), t.key
            want = t.turns + (1 if t.key == "multi_turn" else 0)
            assert len(server.list_turns(t.id)) == want, t.key
            read = server.read_thread(t.id, include_turns=True)
            assert len(read.get("turns") or []) == want, t.key
    runner.resume(live.id, "and once more", Path(live.cwd.replace(old_root, str(new_root))))
    assert b"and once more" in (target / live.rollout).read_bytes()


def test_rebind_opens_every_thread_without_a_codex_binary(
    codex_home_new_copy: Scenario,
    codex_bin_new: Path,
    mock_api_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = codex_home_new_copy
    home = tmp_path / "synced" / ".codex"
    shutil.copytree(scenario.home, home)
    shutil.rmtree(scenario.home)
    old_root = _project_root(scenario)
    new_root = tmp_path / "new machine projects"
    shutil.copytree(old_root, new_root)

    with monkeypatch.context() as m:
        _no_codex_path(m, tmp_path)
        out = _run(
            ["rebind", "--codex-home", str(home), "--all", "--map", f"{old_root}={new_root}"]
        )
    assert out["report"]["projections_dropped"] == 0

    with AppServer(codex_bin_new, home) as server:
        _assert_opens(server, scenario, old_root, new_root, home)
    live = scenario.threads["multi_turn"]
    runner = CodexRunner("0.169.0", home, mock_api_server, binary=codex_bin_new)
    runner.resume(
        live.id, "continue after the sync", Path(live.cwd.replace(old_root, str(new_root)))
    )
    assert b"continue after the sync" in (home / live.rollout).read_bytes()


def test_a_fresh_target_gets_the_index_when_imported_again_after_codex_ran_once(
    codex_home_new_copy: Scenario,
    codex_bin_new: Path,
    mock_api_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A home where Codex never ran a session has no turn index DB to carry into: the import
    says so; after a first session there, importing again carries the skipped threads' index."""
    source = codex_home_new_copy
    old_root = _project_root(source)
    new_root = tmp_path / "moved projects"
    shutil.copytree(old_root, new_root)
    target = tmp_path / "fresh-home"
    target.mkdir()
    mapping = f"{old_root}={new_root}"
    with monkeypatch.context() as m:
        _no_codex_path(m, tmp_path)
        first = _run(["import", str(source.home), "--codex-home", str(target), "--map", mapping])
    assert first["codex_registration"]["index_carried"] == 0
    runner = CodexRunner("0.169.0", target, mock_api_server, binary=codex_bin_new)
    with AppServer(codex_bin_new, target) as server:
        server.list_threads()
    # measured: listing alone does not create the turn index DB; a first session does
    assert not (target / "thread_history_1.sqlite").exists()
    own = tmp_path / "own"
    own.mkdir()
    runner.exec("the first session on this machine", own)
    assert (target / "thread_history_1.sqlite").exists()

    with monkeypatch.context() as m:
        _no_codex_path(m, tmp_path)
        again = _run(["import", str(source.home), "--codex-home", str(target), "--map", mapping])
    assert again["plan"]["summary"]["skip"] == len(source.threads)
    assert again["codex_registration"]["index_carried"] == len(source.threads)
    with AppServer(codex_bin_new, target) as server:
        _assert_opens(server, source, old_root, new_root, target)
