"""`backup --dry-run`: says exactly what a backup would write, and writes nothing at all.

Every test snapshots the home and the output's parent before and after; a real backup with the
same arguments then proves the plan was exact.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from codex_migrate.backup import BackupError, BackupPlan, plan_backup, run_backup
from codex_migrate.backup.verify import verify_backup
from codex_migrate.cli import Group
from codex_migrate.cli.backup import backup_command
from codex_migrate.home import open_home
from codex_migrate.manifest import MANIFEST_NAME
from tests.homes import make_state_db, tid, tree_state, write_rollout


@click.group(cls=Group)
def cli() -> None:
    """The backup command on a group like the real one (same error handling)."""


cli.add_command(backup_command)

APP, SITE = "/Users/alex/Projects/app", "/Users/alex/Projects/site"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """Session data, indexes, a state DB whose newest pages are still in its WAL (a Codex is
    running), and things a default backup leaves out."""
    root = tmp_path / "codex-home"
    paths = {
        1: write_rollout(root, 1, cwd=APP),
        2: write_rollout(root, 2, cwd=APP, era="legacy"),
        3: write_rollout(root, 3, cwd=SITE, archived=True),
    }
    (root / "session_index.jsonl").write_text(
        "".join(json.dumps({"id": tid(n), "thread_name": f"name {n}"}) + "\n" for n in paths)
    )
    (root / "history.jsonl").write_text(
        "".join(json.dumps({"session_id": tid(n), "text": f"prompt {n}"}) + "\n" for n in paths)
    )
    db = make_state_db(
        root,
        [{"id": tid(n), "rollout_path": str(p), "cwd": APP} for n, p in paths.items()],
    )
    live = sqlite3.connect(db)
    live.execute("PRAGMA wal_autocheckpoint=0")
    live.execute("CREATE TABLE padding (x TEXT)")
    for _ in range(200):  # pages beyond the DB file's end, only in the WAL
        live.execute("INSERT INTO padding VALUES (?)", ("x" * 500,))
    live.commit()
    for rel, text in {
        "auth.json": '{"OPENAI_API_KEY": "sk-secret"}',
        "config.toml": 'model = "gpt-5"\n',
        "log/codex-tui.log": "log line",
        "notes/keep-me.txt": "user notes",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    try:
        yield root
    finally:
        live.close()


@contextmanager
def unchanged(*roots: Path) -> Iterator[None]:
    """Every file and folder under ``roots`` (content, mode, mtime) is the same afterwards."""
    before = {r: tree_state(r) for r in roots}
    yield
    assert {r: tree_state(r) for r in roots} == before


def _assert_writes_nothing(home: Path, watch: Path, **kw: Any) -> BackupPlan:
    """Plan a backup; the home and ``watch`` (the output's parent, or a folder above it) stay
    byte-, mode- and time-exact."""
    with unchanged(home, watch):
        return plan_backup(open_home(home), **kw)


def _manifest_files(path: Path) -> dict[str, tuple[int, str]]:
    report = verify_backup(path)
    assert report.ok and report.manifest is not None
    return {f.path: (f.size, f.role) for f in report.manifest.files}


CASES = [
    pytest.param("folder", {}, id="folder"),
    pytest.param("folder", {"threads": [tid(1)]}, id="folder-thread"),
    pytest.param("folder", {"full": True}, id="folder-full"),
    pytest.param("tar.zst", {"projects": [APP]}, id="tar.zst-project"),
    pytest.param("zip", {}, id="zip"),
]


@pytest.mark.parametrize("fmt,kw", CASES)
def test_plan_writes_nothing_and_matches_the_backup(
    home: Path, tmp_path: Path, fmt: str, kw: dict[str, Any]
) -> None:
    out = tmp_path / "out" / "nested"  # not there yet: a dry run must not create it
    target = {"output_parent": out} if fmt == "folder" else {"archive": out / f"b.{fmt}"}
    plan = _assert_writes_nothing(home, tmp_path, **target, **kw)
    assert not out.exists() and plan.creates_parent
    assert plan.format == fmt and not plan.renamed

    report = run_backup(open_home(home), **target, **kw)
    assert report.path == plan.path
    written = _manifest_files(report.path)
    assert {f.path: (f.size, f.role) for f in plan.files} == written
    assert plan.bytes == report.bytes and len(plan.files) == report.files
    assert (plan.rollouts, plan.threads) == (report.rollouts, report.threads)
    assert plan.left_out == report.left_out
    assert [(d["path"], d["method"]) for d in plan.databases] == [
        (d["path"], d["method"]) for d in report.databases
    ]
    assert plan.selection == report.selection
    assert MANIFEST_NAME not in written  # the manifest is named apart, as in the report


def test_snapshot_size_counts_what_is_still_in_the_wal(home: Path, tmp_path: Path) -> None:
    db = home / "state_5.sqlite"
    plan = _assert_writes_nothing(home, tmp_path, output_parent=tmp_path / "out")
    (entry,) = [f for f in plan.files if f.path == "state_5.sqlite"]
    assert entry.method == "snapshot" and entry.estimated
    assert entry.size > db.stat().st_size  # the WAL's pages are part of the snapshot
    assert plan.databases[0]["bytes"] == entry.size


def test_taken_names_give_the_dated_sibling_a_run_would_use(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "Codex_backup").mkdir(parents=True)
    (out / "b.tar.zst").write_bytes(b"an older backup")
    plan = _assert_writes_nothing(home, out, output_parent=out)
    assert plan.renamed and plan.requested_path == out / "Codex_backup"
    assert plan.path.parent == out and plan.path.name.startswith("Codex_backup-")
    assert not plan.creates_parent
    plan = _assert_writes_nothing(home, out, archive=out / "b.tar.zst")
    assert plan.renamed and plan.path.name.startswith("b-") and plan.path.name.endswith(".tar.zst")


def test_default_plan_says_what_is_left_out_and_why(home: Path, tmp_path: Path) -> None:
    plan = _assert_writes_nothing(home, tmp_path, output_parent=tmp_path / "out")
    reasons = plan.left_out_by_reason()
    assert reasons["credentials: never backed up"] == ["auth.json"]
    assert "config.toml" in reasons["settings that can hold secrets (only with --full)"]
    assert not any(f.path in ("auth.json", "config.toml") for f in plan.files)
    full = _assert_writes_nothing(home, tmp_path, output_parent=tmp_path / "out", full=True)
    assert {"config.toml", "notes/keep-me.txt", "log/codex-tui.log"} <= {f.path for f in full.files}
    assert "auth.json" in {item["path"] for item in full.left_out}


def test_selection_filters_the_indexes_to_the_chosen_threads(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan = _assert_writes_nothing(home, tmp_path, output_parent=out, threads=[tid(2)])
    by_path = {f.path: f for f in plan.files}
    line = json.dumps({"session_id": tid(2), "text": "prompt 2"}) + "\n"
    assert by_path["history.jsonl"].method == "filter"
    assert by_path["history.jsonl"].size == len(line.encode())
    assert plan.threads == 1 and plan.databases[0]["note"].startswith("the whole database")


def test_a_db_sqlite_cannot_read_is_planned_as_a_raw_copy(tmp_path: Path) -> None:
    root = tmp_path / "codex-home"
    write_rollout(root, 1)
    (root / "state_5.sqlite").write_bytes(b"not a database at all" * 10)
    out = tmp_path / "out"
    plan = _assert_writes_nothing(root, tmp_path, output_parent=out)
    assert plan.databases[0]["method"] == "raw-copy" and plan.warnings
    report = run_backup(open_home(root), output_parent=out)
    assert report.databases[0]["method"] == "raw-copy"
    assert {f.path: (f.size, f.role) for f in plan.files} == _manifest_files(report.path)


def test_bad_requests_fail_as_the_backup_would_and_create_nothing(
    home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(BackupError, match="no thread 0000dead"):
        plan_backup(open_home(home), output_parent=out, threads=["0000dead"])
    with pytest.raises(BackupError, match=r"\.tar\.zst"):
        plan_backup(open_home(home), archive=out / "b.tar.gz")
    with pytest.raises(BackupError, match="exactly one"):
        plan_backup(open_home(home))
    assert not out.exists()


def test_cli_dry_run_summary_and_json(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with unchanged(home, tmp_path):
        _cli_dry_runs(home, out)
    assert not out.exists()


def _cli_dry_runs(home: Path, out: Path) -> None:
    args = ["backup", "--codex-home", str(home), "--output-parent", str(out), "--dry-run"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert f"Dry run: a backup would be written to {out / 'Codex_backup'}" in text
    assert f"({out} would be created)" in text
    assert "6 files, about " in text and "3 rollout files of 3 threads" in text
    assert "Database state_5.sqlite: consistent snapshot" in text
    assert "credentials: never backed up (1): auth.json" in text
    assert "Nothing was written" in text
    result = CliRunner().invoke(cli, [*args, "--json", "--archive", str(out / "b.zip")])
    assert result.exit_code == 2  # both outputs: refused before anything else
    args[3:5] = ["--archive", str(out / "b.zip")]
    result = CliRunner().invoke(cli, [*args, "--json", "--full"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dry_run"] is True and data["format"] == "zip" and data["content"] == "full"
    assert data["path"] == str(out / "b.zip") and data["files_count"] == len(data["files"])
    assert {"path", "size", "role", "method", "source", "estimated"} <= set(data["files"][0])
    assert "WARNING: --full" in result.stderr


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_unreadable_output_parent_is_not_touched(home: Path, tmp_path: Path) -> None:
    """A dry run never needs to write beside the output, so a read-only parent is fine."""
    parent = tmp_path / "ro"
    parent.mkdir()
    os.chmod(parent, 0o555)
    try:
        plan = _assert_writes_nothing(home, parent, output_parent=parent)
    finally:
        os.chmod(parent, 0o755)
    assert plan.path == parent / "Codex_backup" and not plan.creates_parent
