"""`rebind` on hand-made homes: what it selects, what it repairs, and --dry-run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from codex_migrate.cli import cli
from tests.homes import make_state_db, tid, tree_state, write_rollout


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout if "--json" in args else result.output


def _home(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    here = tmp_path / "here"
    here.mkdir()
    a = write_rollout(home, 1, cwd="/Users/alex/Projects/app")
    b = write_rollout(home, 2, cwd=str(here))
    write_rollout(home, 3, cwd="/Users/alex/Projects/app/sub", era="legacy")
    make_state_db(
        home,
        [
            {
                "id": tid(1),
                "rollout_path": "/Users/alex/.codex/" + a.name,
                "cwd": "/Users/alex/Projects/app",
                "history_mode": "paginated",
            },
            {"id": tid(2), "rollout_path": str(b), "cwd": str(here), "history_mode": "paginated"},
            {"id": tid(8), "rollout_path": "/Users/alex/.codex/gone.jsonl", "cwd": "/x"},
        ],
    )
    conn = sqlite3.connect(home / "state_5.sqlite")
    conn.execute("UPDATE backfill_state SET status = 'running'")
    conn.commit()
    conn.close()
    (home / "session_index.jsonl").write_text(
        json.dumps({"id": tid(2), "thread_name": "Kept name", "updated_at": "t"}) + "\n"
    )
    return home, here


def test_dry_run_lists_everything_and_writes_nothing(tmp_path: Path) -> None:
    home, _ = _home(tmp_path)
    before = tree_state(home)
    code, out = run(
        "rebind",
        "--codex-home",
        str(home),
        "--map",
        f"/Users/alex/Projects={tmp_path}/new",
        "--dry-run",
    )
    assert code == 0, out
    assert "/Users/alex/Projects/app  (1 sessions)" in out
    assert f"cwd /Users/alex/Projects/app -> {tmp_path}/new/app" in out
    assert "path values rewritten in place" in out
    assert f"{tid(8)}  DB row dropped" in out
    assert "backfill_state" in out
    assert tree_state(home) == before


def test_rebind_repairs_rows_names_orphans_and_backfill(tmp_path: Path) -> None:
    home, here = _home(tmp_path)
    new = tmp_path / "new"
    code, out = run(
        "rebind",
        "--codex-home",
        str(home),
        "--map",
        f"/Users/alex/Projects={new}",
        "--yes",
        "--json",
    )
    assert code == 0, out
    conn = sqlite3.connect(home / "state_5.sqlite")
    rows = {r[0]: r[1:] for r in conn.execute("SELECT id, rollout_path, cwd, name FROM threads")}
    status = conn.execute("SELECT status FROM backfill_state").fetchone()[0]
    conn.close()
    assert set(rows) == {tid(1), tid(2), tid(3)}  # orphan dropped, missing row inserted
    assert rows[tid(1)][:2] == (
        str(next((home / "sessions").rglob(f"*{tid(1)}.jsonl"))),
        f"{new}/app",
    )
    assert rows[tid(2)][1:] == (str(here), "Kept name")  # existing folder left alone
    assert rows[tid(3)][1] == f"{new}/app/sub"
    assert status == "pending"
    code, out = run("scan", str(home), "--json")
    cwds = {t["id"]: t["rollout_cwd"] for t in json.loads(out)["threads"]}
    assert cwds[tid(1)] == f"{new}/app" and cwds[tid(3)] == f"{new}/app/sub"
    code, out = run(
        "rebind", "--codex-home", str(home), "--map", f"/Users/alex/Projects={new}", "--yes"
    )
    assert code == 0 and "Nothing to repair" in out


def test_home_without_db_rewrites_files_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    f = write_rollout(home, 1, cwd="C:\\Users\\alex\\app", era="legacy")
    mtime = f.stat().st_mtime
    code, out = run(
        "rebind",
        "--codex-home",
        str(home),
        "--map",
        f"C:\\Users\\alex={tmp_path}",
        "--yes",
        "--json",
    )
    assert code == 0, out
    assert json.loads(out)["report"]["files"] == 1
    assert f"{tmp_path}/app".encode() in f.read_bytes()
    assert f.stat().st_mtime == mtime
    assert not (home / "state_5.sqlite").exists()


def test_rebind_can_be_rolled_back(tmp_path: Path) -> None:
    home, _ = _home(tmp_path)
    files_before = {k: v[0] for k, v in tree_state(home).items() if k.endswith(".jsonl")}
    code, out = run(
        "rebind",
        "--codex-home",
        str(home),
        "--map",
        f"/Users/alex/Projects={tmp_path}/new",
        "--yes",
        "--json",
    )
    tx = json.loads(out)["report"]["transaction_id"]
    code, out = run("transactions", "rollback", tx, "--codex-home", str(home), "--yes")
    assert code == 0, out
    files_after = {
        k: v[0]
        for k, v in tree_state(home).items()
        if k.endswith(".jsonl") and not k.startswith("migration")
    }
    assert files_after == files_before


def test_rebind_rewrites_free_text_only_when_asked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    f = write_rollout(home, 1, cwd="/Users/alex/app", era="legacy")
    args = ["rebind", "--codex-home", str(home), "--map", f"/Users/alex={tmp_path}", "--yes"]
    assert run(*args)[0] == 0
    assert "<cwd>/Users/alex/app</cwd>" in f.read_text()
    assert run(*args, "--all", "--rewrite-text")[0] == 0
    assert f"<cwd>{tmp_path}/app</cwd>" in f.read_text()
