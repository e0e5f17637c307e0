"""`import` proven against the real Codex: it lists, reads and resumes migrated threads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from tests.harness.app_server import AppServer
from tests.harness.codex import CodexRunner
from tests.harness.scenario import Scenario
from tests.homes import tree_state

pytestmark = pytest.mark.codex


def _move_projects(scenario: Scenario, dest: Path) -> tuple[str, Path]:
    """Copy the scenario's project folders to ``dest``: the new machine's layout."""
    old_root = Path(next(iter(scenario.projects.values()))).parent
    shutil.copytree(old_root, dest, symlinks=True)
    return str(old_root), dest


def _import(src: Path, target: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["import", str(src), "--codex-home", str(target), "--yes", "--json", *extra]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _target_home(tmp_path: Path, version: str, mock_api_server: Any, binary: Path) -> Path:
    """A target that already has its own session and a complete DB."""
    target = tmp_path / "target-home"
    target.mkdir()
    own = tmp_path / "own-project"
    own.mkdir()
    CodexRunner(version, target, mock_api_server, binary=binary).exec("the target's own", own)
    return target


@pytest.mark.parametrize("which", ["new", "old"])
def test_import_is_listed_read_and_resumed_by_real_codex(
    which: str,
    request: pytest.FixtureRequest,
    codex_bin_new: Path,
    mock_api_server: Any,
    tmp_path: Path,
) -> None:
    source: Scenario = request.getfixturevalue(f"codex_home_{which}_copy")
    old_root, new_root = _move_projects(source, tmp_path / "moved-projects")
    target = _target_home(tmp_path, "0.169.0", mock_api_server, codex_bin_new)
    with AppServer(codex_bin_new, target) as server:
        own_ids = {t["id"] for t in server.list_threads()}
    before = tree_state(source.home)

    out = _import(
        source.home, target, "--map", f"{old_root}={new_root}", "--codex-bin", str(codex_bin_new)
    )

    assert tree_state(source.home) == before, "the source home must stay byte-identical"
    for t in source.threads.values():  # history keeps its own times
        mine = next((target / "sessions").rglob(f"*{t.id}.jsonl"), None) or next(
            (target / "archived_sessions").glob(f"*{t.id}.jsonl")
        )
        assert mine.stat().st_mtime == (source.home / t.rollout).stat().st_mtime, t.key
    assert out["plan"]["summary"]["import"] == len(source.threads)
    assert not out["codex_registration"]["failed"]
    with AppServer(codex_bin_new, target) as server:
        listed = {t["id"]: t for t in server.list_threads()}
        assert own_ids <= set(listed), "the target's own threads are still listed"
        for t in source.threads.values():
            if not t.listed:
                continue
            got = listed.get(t.id)
            assert got is not None, f"{t.key} not listed after import"
            assert got["cwd"] == t.cwd.replace(old_root, str(new_root)), t.key
            assert got["archived"] == t.archived, t.key
            assert got["name"] == t.name, t.key
            assert str(got["path"]).startswith(str(target)), t.key
            turns = server.list_turns(t.id)
            assert len(turns) == t.turns, (t.key, turns)
            read = server.read_thread(t.id, include_turns=True)
            assert len(read.get("turns") or []) == t.turns, t.key

    live = next(t for t in source.threads.values() if t.listed and not t.archived)
    new_cwd = Path(live.cwd.replace(old_root, str(new_root)))
    runner = CodexRunner("0.169.0", target, mock_api_server, binary=codex_bin_new)
    runner.resume(live.id, "continue after the move", new_cwd)
    migrated = target / live.rollout
    assert b"continue after the move" in migrated.read_bytes()
    assert b"continue after the move" not in (source.home / live.rollout).read_bytes()


def test_codex_rebuilds_a_deleted_db_and_still_lists_the_new_paths(
    codex_home_new_copy: Scenario,
    codex_bin_new: Path,
    mock_api_server: Any,
    tmp_path: Path,
) -> None:
    source = codex_home_new_copy
    old_root, new_root = _move_projects(source, tmp_path / "moved-projects")
    target = _target_home(tmp_path, "0.169.0", mock_api_server, codex_bin_new)
    _import(source.home, target, "--map", f"{old_root}={new_root}", "--no-codex")
    for p in target.glob("state_5.sqlite*"):
        p.unlink()
    with AppServer(codex_bin_new, target) as server:
        listed = {t["id"]: t for t in server.list_threads()}
    for t in source.threads.values():
        if t.listed:
            assert listed[t.id]["cwd"] == t.cwd.replace(old_root, str(new_root)), t.key


def test_import_refuses_while_codex_runs_on_the_target(
    codex_home_new_copy: Scenario, codex_bin_new: Path, mock_api_server: Any, tmp_path: Path
) -> None:
    source = codex_home_new_copy
    old_root, new_root = _move_projects(source, tmp_path / "moved-projects")
    target = _target_home(tmp_path, "0.169.0", mock_api_server, codex_bin_new)
    before = tree_state(target)
    with AppServer(codex_bin_new, target) as server:
        server.list_threads()  # Codex now holds the state DB open, idle
        result = CliRunner().invoke(
            cli,
            [
                "import",
                str(source.home),
                "--codex-home",
                str(target),
                "--yes",
                "--map",
                f"{old_root}={new_root}",
            ],
        )
        assert result.exit_code == 4, result.output
        assert "Codex is running" in result.output
    sessions = lambda t: {k: v for k, v in t.items() if k.startswith(("sessions", "archived"))}  # noqa: E731
    assert sessions(tree_state(target)) == sessions(before)


def test_registration_of_a_benchmark_home_through_one_pipelined_app_server(
    codex_bin_new: Path, mock_api_server: Any, tmp_path: Path
) -> None:
    """Many paginated threads (some archived) registered by one long-lived app-server with
    pipelined requests: none fails, the time is reported apart from the import's, and the
    threads are listed with their turns."""
    from benchmarks.real_home import make_home, map_args

    src = tmp_path / "src"
    shape = make_home(src, 24, seed=3)
    target = _target_home(tmp_path, "0.169.0", mock_api_server, codex_bin_new)
    out = _import(src, target, *map_args(tmp_path / "p"), "--codex-bin", str(codex_bin_new))
    reg = out["codex_registration"]
    assert reg["failed"] == [], reg["failed"][:3]
    assert reg["threads"] == shape.paginated
    assert reg["seconds"] > 0
    with AppServer(codex_bin_new, target) as server:
        listed = {t["id"]: t for t in server.list_threads()}
        imported = {t["id"]: t for t in out["plan"]["threads"]}
        both = sorted(set(imported) & set(listed))
        assert len(both) >= shape.paginated
        for tid in both:
            assert listed[tid]["archived"] == imported[tid]["archived"], tid
        for tid in both[:5]:
            assert server.list_turns(tid), tid
