"""`scan` through the library and the CLI, on good homes and broken ones."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_migrate.catalog import build_catalog
from codex_migrate.cli import cli
from codex_migrate.errors import EXIT_NO_HOME
from codex_migrate.home import open_home
from tests.homes import make_state_db, tid, tree_state, write_rollout


def scan_json(source: Path) -> dict:
    result = CliRunner().invoke(cli, ["scan", str(source), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def codes(data: dict, thread_id: str) -> set[str]:
    """The finding codes scan --json reports for one thread (doctor's codes)."""
    return {f["code"] for f in data["findings"] if f["thread"] == thread_id}


def test_scan_groups_threads_into_projects(tmp_path: Path) -> None:
    (tmp_path / "real-project").mkdir()
    home = tmp_path / "home"
    write_rollout(home, 1, cwd="/Users/alex/Projects/app")
    write_rollout(home, 2, cwd="/Users/alex/Projects/app", era="legacy")
    write_rollout(home, 3, cwd=str(tmp_path / "real-project"), archived=True)
    (home / "session_index.jsonl").write_text(
        json.dumps({"id": tid(1), "thread_name": "old name", "updated_at": "t"})
        + "\n"
        + json.dumps({"id": tid(1), "thread_name": "new name", "updated_at": "t"})
        + "\n"
    )
    data = scan_json(home)
    threads = {t["id"]: t for t in data["threads"]}
    assert set(threads) == {tid(1), tid(2), tid(3)}
    assert threads[tid(1)]["name"] == "new name"
    assert threads[tid(1)]["history_mode"] == "paginated"
    assert threads[tid(2)]["history_mode"] == "legacy"
    assert threads[tid(3)]["archived"] is True
    assert threads[tid(3)]["rollout_path"].startswith("archived_sessions/")
    projects = {p["cwd"]: p for p in data["projects"]}
    assert projects["/Users/alex/Projects/app"]["exists"] is False
    assert sorted(projects["/Users/alex/Projects/app"]["thread_ids"]) == [tid(1), tid(2)]
    assert projects[str(tmp_path / "real-project")]["exists"] is True


def test_scan_table_output(tmp_path: Path) -> None:
    write_rollout(tmp_path, 1, cwd="/Users/alex/Projects/app")
    result = CliRunner().invoke(cli, ["scan", str(tmp_path), "--threads"])
    assert result.exit_code == 0
    assert "/Users/alex/Projects/app" in result.output
    assert "missing" in result.output
    assert tid(1) in result.output
    assert "1 threads in 1 projects" in result.output


def test_db_row_wins_and_mismatches_are_flagged(tmp_path: Path) -> None:
    p1 = write_rollout(tmp_path, 1, cwd="/rollout/cwd")
    write_rollout(tmp_path, 2, cwd="/b")
    make_state_db(
        tmp_path,
        [
            {
                "id": tid(1),
                "rollout_path": str(p1),
                "cwd": "/row/cwd",
                "name": "Row name",
                "archived": 1,
                "history_mode": "legacy",
            },
            {"id": tid(9), "rollout_path": "/elsewhere/rollout.jsonl", "cwd": "/x"},
        ],
    )
    data = scan_json(tmp_path)
    t1 = next(t for t in data["threads"] if t["id"] == tid(1))
    assert t1["cwd"] == "/row/cwd" and t1["rollout_cwd"] == "/rollout/cwd"
    assert t1["name"] == "Row name" and t1["archived"] is True
    assert {"cwd-mismatch", "history-mode-mismatch"} <= codes(data, tid(1))
    assert any("history_mode=legacy" in p for p in t1["problems"])
    assert "file-without-row" in codes(data, tid(2))
    assert [r["id"] for r in data["orphan_rows"]] == [tid(9)]
    assert codes(data, tid(9)) == {"row-without-file"}
    assert data["backfill_status"] == "complete"


def test_row_pointing_outside_the_home_or_relative(tmp_path: Path) -> None:
    write_rollout(tmp_path, 1)
    write_rollout(tmp_path, 2)
    make_state_db(
        tmp_path,
        [
            {"id": tid(1), "rollout_path": "/old/machine/.codex/sessions/x.jsonl", "cwd": "/a"},
            {"id": tid(2), "rollout_path": "sessions/x.jsonl", "cwd": "/a"},
        ],
    )
    data = scan_json(tmp_path)
    problems = {t["id"]: " ".join(t["problems"]) for t in data["threads"]}
    assert "row-path-missing" in codes(data, tid(1))
    assert "outside this home" in problems[tid(1)]
    assert "row-path-relative" in codes(data, tid(2))
    assert "is relative" in problems[tid(2)]


def test_scan_reads_wal_content_and_changes_nothing(tmp_path: Path) -> None:
    """Rows still in the -wal file are seen; not a byte of the home changes, -shm included."""
    path = write_rollout(tmp_path, 1)
    db = make_state_db(tmp_path, [])
    writer = sqlite3.connect(db)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute(
        "INSERT INTO threads (id, rollout_path, cwd, name) VALUES (?, ?, ?, ?)",
        (tid(1), str(path), "/from/wal", "in wal"),
    )
    writer.commit()
    assert (tmp_path / "state_5.sqlite-wal").stat().st_size > 0
    before = tree_state(tmp_path)
    data = scan_json(tmp_path)
    assert data["threads"][0]["name"] == "in wal"
    assert tree_state(tmp_path) == before
    writer.close()


def test_locked_db_is_still_read(tmp_path: Path) -> None:
    path = write_rollout(tmp_path, 1)
    db = make_state_db(tmp_path, [{"id": tid(1), "rollout_path": str(path), "cwd": "/a"}])
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        before = tree_state(tmp_path)
        data = scan_json(tmp_path)
        assert data["db_error"] is None
        assert data["threads"][0]["cwd"] == "/a"
        assert tree_state(tmp_path) == before
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_malformed_db_is_reported_and_rollouts_still_listed(tmp_path: Path) -> None:
    write_rollout(tmp_path, 1)
    (tmp_path / "state_5.sqlite").write_bytes(b"this is not a database" * 100)
    before = tree_state(tmp_path)
    data = scan_json(tmp_path)
    assert "cannot be read" in data["db_error"]
    assert [t["id"] for t in data["threads"]] == [tid(1)]
    assert tree_state(tmp_path) == before
    result = CliRunner().invoke(cli, ["scan", str(tmp_path)])
    assert result.exit_code == 0
    assert "State DB unreadable" in result.output


def test_newer_schema_without_threads_table(tmp_path: Path) -> None:
    write_rollout(tmp_path, 1)
    conn = sqlite3.connect(tmp_path / "state_9.sqlite")
    conn.execute("CREATE TABLE conversations (uuid TEXT)")
    conn.commit()
    conn.close()
    data = scan_json(tmp_path)
    assert data["state_db_version"] == 9
    assert "no threads table" in data["db_error"]
    assert len(data["threads"]) == 1


def test_broken_rollouts_are_reported_and_left_as_they_are(tmp_path: Path) -> None:
    good = write_rollout(tmp_path, 1)
    truncated = write_rollout(tmp_path, 2)
    truncated.write_bytes(truncated.read_bytes()[:-40])
    non_utf8 = write_rollout(tmp_path, 3, era="legacy")
    raw = non_utf8.read_bytes().split(b"\n")
    raw.insert(1, b"\xff\xfe\xfa garbage")
    non_utf8.write_bytes(b"\n".join(raw))
    no_meta = write_rollout(tmp_path, 4, era="legacy")
    no_meta.write_bytes(b"\n".join(no_meta.read_bytes().split(b"\n")[1:]))
    empty = write_rollout(tmp_path, 5)
    empty.write_bytes(b"")
    folder = good.parent / good.name.replace(tid(1), tid(6))
    folder.mkdir()
    dangling = good.parent / good.name.replace(tid(1), tid(7))
    os.symlink(tmp_path / "nowhere", dangling)
    before = tree_state(tmp_path)

    data = scan_json(tmp_path)

    assert tree_state(tmp_path) == before
    threads = {t["id"]: t for t in data["threads"]}

    def file_codes(n: int) -> set[str]:  # the rollouts' folder is not on this machine
        return codes(data, tid(n)) - {"cwd-missing"}

    assert file_codes(1) == set()
    assert threads[tid(2)]["bad_lines"] == {"truncated": 1}
    assert threads[tid(3)]["bad_lines"] == {"non_utf8": 1}
    assert file_codes(2) == file_codes(3) == {"unreadable-lines"}
    assert file_codes(4) == {"no-session-meta"}
    assert file_codes(5) == {"empty-file"}
    unreadable = {Path(u["path"]).name: u["reason"] for u in data["unreadable"]}
    assert "a folder, not a file" in unreadable[folder.name]
    assert "No such file" in unreadable[dangling.name]
    home_wide = {f["file"]: f for f in data["findings"] if f["thread"] is None}
    assert {f["code"] for f in home_wide.values()} == {"unreadable-file"}
    assert set(home_wide) == {str(p.relative_to(tmp_path)) for p in (folder, dangling)}, (
        "named relative to the home"
    )


def test_bare_era_rollout_is_listed_and_flagged(tmp_path: Path) -> None:
    write_rollout(tmp_path, 1, era="bare", cwd="/Users/alex/old")
    t = scan_json(tmp_path)["threads"][0]
    assert t["era"] == "bare" and t["cwd"] == "/Users/alex/old"
    assert any("bare-era" in p for p in t["problems"])


def test_unreadable_home_exits_non_zero_with_a_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["scan", str(tmp_path / "missing")])
    assert result.exit_code == EXIT_NO_HOME
    assert "Error:" in result.output and "does not exist" in result.output
    assert "Traceback" not in result.output


def test_progress_is_reported_through_the_callback(tmp_path: Path) -> None:
    for n in range(1, 451):
        write_rollout(tmp_path, n)
    calls: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    def progress(stage: str, done: int, total: int) -> None:
        with lock:
            calls.append((stage, done, total))

    catalog = build_catalog(open_home(tmp_path), progress)
    assert len(catalog.threads) == 450
    assert calls[-1] == ("scan", 450, 450)


def test_default_source_is_codex_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write_rollout(tmp_path, 1)
    monkeypatch.setenv("CODEX_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["scan", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["home"] == str(tmp_path)


def test_demo_builds_and_scans(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--path", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "/Users/alex/Projects/webshop" in result.output
    data = scan_json(tmp_path / "demo")
    assert {t["era"] for t in data["threads"]} == {"paginated", "legacy", "bare"}
    assert any(t["archived"] for t in data["threads"])
    assert any(t["name"] == "Checkout button" for t in data["threads"])


def test_demo_refuses_to_replace_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    result = CliRunner().invoke(cli, ["demo", "--path", str(tmp_path / "mine")])
    assert result.exit_code == 1
    assert "not a codex-migrate demo folder" in result.output
    assert (tmp_path / "mine").exists()


def test_demo_dry_run_writes_nothing_and_says_what_it_would_do(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--path", str(folder), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"Would build a demo Codex home at {folder / '.codex'}." in result.output
    assert not folder.exists()
    assert CliRunner().invoke(cli, ["demo", "--path", str(folder)]).exit_code == 0
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    result = CliRunner().invoke(cli, ["demo", "--path", str(folder), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "dry_run": True,
        "demo_home": str(folder / ".codex"),
        "replaces": True,
    }
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


def test_demo_dry_run_refuses_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    result = CliRunner().invoke(cli, ["demo", "--path", str(tmp_path / "mine"), "--dry-run"])
    assert result.exit_code == 1
    assert "not a codex-migrate demo folder" in result.output


def test_demo_json_is_the_scan_of_the_demo_home(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--path", str(tmp_path / "demo"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    home = tmp_path / "demo" / ".codex"
    assert next(iter(data)) == "demo_home" and data.pop("demo_home") == str(home)
    assert data == scan_json(home)


def test_module_entry_point() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "codex_migrate", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "codex-migrate" in out.stdout


def test_scan_previews_a_mapping(tmp_path: Path) -> None:
    write_rollout(tmp_path, 1, cwd="/Users/alex/Projects/app")
    write_rollout(tmp_path, 2, cwd="/Users/alex/elsewhere")
    result = CliRunner().invoke(
        cli, ["scan", str(tmp_path), "--json", "--map", "/Users/alex/Projects=D:\\Code"]
    )
    assert result.exit_code == 0, result.output
    mapping = json.loads(result.stdout)["mapping"]
    by_path = {p["recorded"]: p for p in mapping["projects"]}
    assert by_path["/Users/alex/Projects/app"]["new_path"] == "D:\\Code\\app"
    assert mapping["unmapped"] == ["/Users/alex/elsewhere"]
    result = CliRunner().invoke(cli, ["scan", str(tmp_path), "--map", "nonsense"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_scan_of_a_backup_does_not_flag_rows_naming_the_origin(tmp_path: Path) -> None:
    from codex_migrate.backup import run_backup

    home = tmp_path / "home"
    p = write_rollout(home, 1)
    cwd = "/Users/alex/Projects/app"
    row = {"id": tid(1), "rollout_path": str(p), "cwd": cwd, "history_mode": "paginated"}
    make_state_db(home, [row])
    run_backup(open_home(home), output_parent=tmp_path / "out")
    data = scan_json(tmp_path / "out" / "Codex_backup")
    assert data["kind"] == "backup"
    assert codes(data, tid(1)) == {"cwd-missing"}, "no row-path finding: the row is right"
    assert data["threads"][0]["cwd"] == cwd


def test_a_json_error_names_its_code(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["scan", str(tmp_path / "missing"), "--json"])
    assert result.exit_code == EXIT_NO_HOME
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "home-missing" and "does not exist" in error["message"]
