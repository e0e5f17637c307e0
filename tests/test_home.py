"""Finding a home from what the user points at."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from codex_migrate.errors import HomeNotFound
from codex_migrate.home import default_home, open_home
from tests.homes import tid, write_rollout


def _db(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT)")
    conn.commit()
    conn.close()


def test_default_home_follows_codex_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h"
    monkeypatch.delenv("CODEX_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_home() == tmp_path / ".codex"


def test_a_home_and_what_was_found(tmp_path: Path) -> None:
    write_rollout(tmp_path, 1)
    _db(tmp_path / "state_5.sqlite")
    home = open_home(tmp_path)
    assert home.root == tmp_path
    assert home.kind == "home"
    assert home.state_db == tmp_path / "state_5.sqlite"
    assert home.state_version == 5
    assert "sessions/" in home.found
    assert "archived_sessions/" in home.missing
    assert [r.thread_id for r in home.rollouts()] == [tid(1)]


def test_state_db_in_sqlite_subfolder_and_newest_version_wins(tmp_path: Path) -> None:
    write_rollout(tmp_path, 1)
    _db(tmp_path / "state_4.sqlite")
    _db(tmp_path / "sqlite" / "state_5.sqlite")
    home = open_home(tmp_path)
    assert home.state_db == tmp_path / "sqlite" / "state_5.sqlite"


def test_state_db_from_codex_sqlite_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home_dir = tmp_path / "home"
    write_rollout(home_dir, 1)
    _db(tmp_path / "dbs" / "state_5.sqlite")
    monkeypatch.setenv("CODEX_SQLITE_HOME", str(tmp_path / "dbs"))
    assert open_home(home_dir).state_db == tmp_path / "dbs" / "state_5.sqlite"


@pytest.mark.parametrize("child", [".codex", "Codex_backup", "Codex", "anything"])
def test_parent_folder_holding_one_home(tmp_path: Path, child: str) -> None:
    write_rollout(tmp_path / child, 1)
    home = open_home(tmp_path)
    assert home.root == tmp_path / child
    expected = {"Codex_backup": "backup", "Codex": "legacy-backup"}.get(child, "home")
    assert home.kind == expected


def test_parent_with_two_homes_is_refused(tmp_path: Path) -> None:
    write_rollout(tmp_path / "a", 1)
    write_rollout(tmp_path / "b", 2)
    with pytest.raises(HomeNotFound, match="more than one"):
        open_home(tmp_path)


def test_parent_with_two_homes_prefers_the_codex_named_one(tmp_path: Path) -> None:
    write_rollout(tmp_path / ".codex", 1)
    write_rollout(tmp_path / "other", 2)
    assert open_home(tmp_path).root == tmp_path / ".codex"


def test_missing_file_and_non_home_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(HomeNotFound, match="does not exist"):
        open_home(tmp_path / "nope")
    (tmp_path / "f").write_text("x")
    with pytest.raises(HomeNotFound, match="not a folder"):
        open_home(tmp_path / "f")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HomeNotFound, match="not a Codex home"):
        open_home(tmp_path / "empty")


def test_plain_jsonl_wins_over_its_zst_sibling(tmp_path: Path) -> None:
    path = write_rollout(tmp_path, 1)
    path.with_name(path.name + ".zst").write_bytes(b"")
    refs = list(open_home(tmp_path).rollouts())
    assert len(refs) == 1 and not refs[0].compressed


def test_archived_sessions_are_flat_and_flagged(tmp_path: Path) -> None:
    write_rollout(tmp_path, 1)
    write_rollout(tmp_path, 2, archived=True)
    (tmp_path / "archived_sessions" / "deeper").mkdir()
    write_rollout(tmp_path / "archived_sessions" / "deeper", 3)
    refs = {r.thread_id: r.archived for r in open_home(tmp_path).rollouts()}
    assert refs == {tid(1): False, tid(2): True}
