"""Backups proven against the real Codex (0.169.0 and 0.80.0 from npm, driven offline).

* While Codex runs, with the DB's newest rows still only in ``state_5.sqlite-wal``, and
  right after a ``codex exec`` finished, the backup's DB holds every thread; credentials,
  config and skills placed in the home are left out. (Whether Codex checkpoints its WAL when
  it exits varies from run to run, so the WAL-only premise is checked while it runs.)
* A home restored from the archive is listed by ``codex app-server`` exactly like the
  original: once by plain extraction, once through ``codex-migrate import``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.backup import run_backup
from codex_migrate.backup.verify import verify_backup
from codex_migrate.cli import cli as main_cli
from codex_migrate.home import open_home
from codex_migrate.source import open_source
from tests.harness.app_server import AppServer, protocol
from tests.harness.codex import CodexRunner
from tests.harness.homes import repoint_rollout_paths
from tests.harness.install import codex_binary
from tests.harness.scenario import Scenario, listing_problems

pytestmark = pytest.mark.codex

NEVER_IN_A_BACKUP = ("auth.json", ".credentials.json", "config.toml", "installation_id", "skills")


def _thread_ids(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM threads")}
    finally:
        conn.close()


def _main_file_alone(db: Path, scratch: Path) -> set[str]:
    """Thread ids in the ``.sqlite`` file by itself: what a plain file copy would keep."""
    scratch.mkdir()
    alone = scratch / db.name
    shutil.copyfile(db, alone)
    try:
        return _thread_ids(alone)
    except sqlite3.DatabaseError:
        return set()  # not even the schema made it out of the WAL yet


def _check_backups(home: Path, expected: set[str], scratch: Path) -> None:
    """Back up ``home`` as a folder and as an archive; each DB must hold ``expected``."""
    targets: list[dict[str, Any]] = [
        {"output_parent": scratch / "out"},
        {"archive": scratch / "b.tar.zst"},
    ]
    for target in targets:
        report = run_backup(open_home(home), **target)
        assert verify_backup(report.path).ok
        assert report.codex_versions == {"0.169.0": len(expected)}
        with open_source(report.path, tmp_parent=scratch / "extract") as backup:
            assert _thread_ids(backup.root / "state_5.sqlite") == expected
            assert backup.history_db is not None
            for name in NEVER_IN_A_BACKUP:
                assert not (backup.root / name).exists(), name
            assert not list(backup.root.glob("*.sqlite-*")), "no WAL or SHM file in a backup"
        left_out = {item["path"] for item in report.left_out}
        assert {"auth.json", ".credentials.json", "config.toml", "skills/"} <= left_out


def test_backup_right_after_codex_ran_holds_every_thread(
    codex_home_new_copy: Scenario,
    codex_runner: Callable[[Scenario], CodexRunner],
    tmp_path: Path,
) -> None:
    scenario = codex_home_new_copy
    home = scenario.home
    runner = codex_runner(scenario)
    (home / "auth.json").write_text('{"OPENAI_API_KEY": "sk-not-a-real-key"}')
    (home / ".credentials.json").write_text('{"mcp": {"access_token": "not-real"}}')
    (home / "skills" / "mine").mkdir(parents=True, exist_ok=True)
    (home / "skills" / "mine" / "SKILL.md").write_text("# a skill\n")
    assert (home / "config.toml").is_file()
    expected = {t.id for t in scenario.threads.values()}

    # 1. While Codex runs: its newest rows exist only in the WAL (the premise is checked).
    with AppServer(runner.binary, home, user_home=runner.user_home) as server:
        live = server.start_thread(scenario.projects["my_app"], "Started while backing up.")
        expected.add(live)
        assert (home / "state_5.sqlite-wal").stat().st_size > 0
        assert live not in _main_file_alone(home / "state_5.sqlite", tmp_path / "alone")
        _check_backups(home, expected, tmp_path / "while-running")

    # 2. Right after a `codex exec` finished (whether or not it checkpointed on exit).
    expected.add(runner.exec("One more, right before the backup.", home))
    _check_backups(home, expected, tmp_path / "after-exit")


def _binary(scenario: Scenario) -> Path:
    return codex_binary(scenario.version)


def _check_listing(scenario: Scenario, restored: Path) -> None:
    binary = _binary(scenario)
    can_filter_archived = "archived" in protocol(binary).thread_list_params
    with AppServer(binary, restored) as server:
        listed = server.list_threads()
    problems = listing_problems(
        scenario.with_home(restored), listed, can_filter_archived=can_filter_archived
    )
    assert problems == []


def test_restore_by_extracting_archive_lists_same_threads(
    codex_home_any_copy: Scenario, tmp_path: Path
) -> None:
    """Plain restore: extract the archive into a fresh home (what a user can do by hand)."""
    scenario = codex_home_any_copy
    archive = tmp_path / "codex.tar.zst"
    run_backup(open_home(scenario.home), archive=archive)
    shutil.rmtree(scenario.home)  # nothing may still come from the original

    fresh = tmp_path / "fresh-home"
    report = verify_backup(archive, extract_to=fresh)
    assert report.ok, report.problems
    # The DB's rollout_path values are absolute (docs/STORAGE.md §3); a restore in another place
    # re-points them, as `import` does. A 0.80 home has no DB and needs nothing.
    repoint_rollout_paths(fresh, str(scenario.home))
    _check_listing(scenario, fresh)


@pytest.mark.parametrize("fresh", ["codex-started-once", "never-started"])
def test_import_of_archive_into_fresh_home_lists_same_threads(
    codex_home_any_copy: Scenario,
    mock_api_server: Any,
    tmp_path: Path,
    fresh: str,
    request: pytest.FixtureRequest,
) -> None:
    """Restore through `codex-migrate import`, whose SOURCE is the archive via open_source.

    Once `import` routes SOURCE through ``open_source``, pass ``archive`` to it directly
    instead of the extracted folder (the only line to change).
    """
    scenario = codex_home_any_copy
    archive = tmp_path / "codex.tar.zst"
    run_backup(open_home(scenario.home), archive=archive)
    shutil.rmtree(scenario.home)

    # The new machine: Codex installed and configured (config.toml is never in a backup; it
    # must know the provider the threads used), no sessions yet.
    target = tmp_path / "fresh-home"
    CodexRunner(scenario.version, target, mock_api_server, binary=_binary(scenario))
    if fresh == "codex-started-once":
        with AppServer(_binary(scenario), target) as server:
            assert server.list_threads() == []
    out = _import(archive, target, _binary(scenario))
    assert out["plan"]["summary"]["import"] == len(scenario.threads)
    assert not out["codex_registration"]["failed"]
    _check_listing(scenario, target)


def _import(source: Path, target: Path, binary: Path) -> dict[str, Any]:
    args = ["import", str(source), "--codex-home", str(target), "--yes", "--json"]
    result = CliRunner().invoke(main_cli, [*args, "--codex-bin", str(binary)])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data
