"""`import` on hand-made homes: plan, merge rules, transaction, refusal and crash recovery."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from codex_migrate.errors import EXIT_CONFLICT, EXIT_IN_USE, EXIT_UNMAPPED
from codex_migrate.transaction import CRASH_ENV
from tests.homes import make_state_db, tid, tree_state, write_rollout

OLD = "/Users/alex/Projects"


def _tree(home: Path) -> dict[str, tuple[str, int, int]]:
    """The home's files (bytes, mode, mtime), without our own transaction folder; folders
    count by name only (creating and removing a file changes a folder's mtime)."""
    return {
        k: v if v[0] else ("dir", 0, 0)
        for k, v in tree_state(home).items()
        if not k.startswith("migration_transactions")
    }


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "source"
    write_rollout(src, 1, cwd=f"{OLD}/app", turns=[("First question", "First answer")])
    write_rollout(src, 2, cwd=f"{OLD}/app/sub", era="legacy")
    write_rollout(src, 3, cwd=f"{OLD}/other", archived=True)
    (src / "session_index.jsonl").write_text(
        json.dumps({"id": tid(1), "thread_name": "Named one", "updated_at": "t"}) + "\n"
    )
    (src / "history.jsonl").write_text(
        json.dumps({"session_id": tid(1), "ts": 1, "text": "First question"})
        + "\n"
        + json.dumps({"session_id": "someone-else", "ts": 2, "text": "not imported"})
        + "\n"
    )
    return src


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    # JSON goes to stdout; messages and errors to stderr
    return result.exit_code, result.stdout if "--json" in args else result.output


def test_import_into_a_new_home(tmp_path: Path) -> None:
    src = _source(tmp_path)
    new_root = tmp_path / "Projects"
    (new_root / "app").mkdir(parents=True)
    target = tmp_path / "target"
    before = tree_state(src)

    code, out = run(
        "import",
        str(src),
        "--codex-home",
        str(target),
        "--map",
        f"{OLD}={new_root}",
        "--yes",
        "--json",
    )
    assert code == 0, out
    report = json.loads(out)
    assert report["plan"]["summary"]["import"] == 3
    assert tree_state(src) == before  # the source is never touched

    code, out = run("scan", str(target), "--json")
    threads = {t["id"]: t for t in json.loads(out)["threads"]}
    assert threads[tid(1)]["cwd"] == f"{new_root}/app"
    assert threads[tid(2)]["cwd"] == f"{new_root}/app/sub"
    assert threads[tid(3)]["archived"] is True
    assert threads[tid(1)]["name"] == "Named one"
    # history keeps its own times: the file's mtime is the source's
    for n in (1, 2, 3):
        src_file = next(src.rglob(f"*{tid(n)}.jsonl"))
        dst_file = next(target.rglob(f"*{tid(n)}.jsonl"))
        assert dst_file.stat().st_mtime == src_file.stat().st_mtime
        assert dst_file.relative_to(target) == src_file.relative_to(src)
    # only the path values changed, line by line
    a = next(src.rglob(f"*{tid(1)}.jsonl")).read_bytes().splitlines()
    b = next(target.rglob(f"*{tid(1)}.jsonl")).read_bytes().splitlines()
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if f"{OLD}/app".encode() in x and (b"session_meta" in x or b"turn_context" in x):
            assert x != y
        if OLD.encode() not in x:
            assert x == y
    hist = (target / "history.jsonl").read_text().splitlines()
    assert [json.loads(h)["session_id"] for h in hist] == [tid(1)]
    assert (target / "history.jsonl").stat().st_mode & 0o777 == 0o600
    assert not (target / "state_5.sqlite").exists()  # Codex builds it itself


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = tmp_path / "target"
    write_rollout(target, 9)
    before = tree_state(target)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--dry-run"
    )
    assert code == 0, out
    assert "Plan: 3 import" in out and "Dry run" in out
    assert tree_state(target) == before


def test_unmapped_projects_stop_before_any_write(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = tmp_path / "target"
    write_rollout(target, 9)
    before = tree_state(target)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}/app=/new/app", "--yes"
    )
    assert code == EXIT_UNMAPPED
    assert f"{OLD}/other" in out and "--history-only" in out
    assert tree_state(target) == before
    code, out = run(
        "import",
        str(src),
        "--codex-home",
        str(target),
        "--map",
        f"{OLD}/app=/new/app",
        "--history-only",
        f"{OLD}/other",
        "--yes",
    )
    assert code == 0, out


def test_selection_by_project_and_thread(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = tmp_path / "target"
    code, out = run(
        "import",
        str(src),
        "--codex-home",
        str(target),
        "--map",
        f"{OLD}=/n",
        "--project",
        f"{OLD}/app",
        "--thread",
        tid(3),
        "--exclude-thread",
        tid(1),
        "--dry-run",
        "--json",
    )
    assert code == 0, out
    ids = [t["id"] for t in json.loads(out)["plan"]["threads"]]
    assert sorted(ids) == [tid(3)]  # app/sub is its own project; tid(1) excluded
    code, out = run("import", str(src), "--codex-home", str(target), "--thread", "nope")
    assert code != 0 and "no thread with id" in out


def test_refuses_without_yes_when_no_terminal(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = tmp_path / "target"
    code, out = run("import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/n")
    assert code == 1 and "no terminal" in out
    assert not any(target.rglob("*.jsonl"))


def _merge_setup(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    src = tmp_path / "source"
    target = tmp_path / "target"
    s = write_rollout(src, 1, cwd="/same", turns=[("a", "b"), ("c", "d"), ("e", "f")])
    t = write_rollout(target, 1, cwd="/same", turns=[("a", "b"), ("c", "d"), ("e", "f")])
    return src, target, s, t


def _plan_action(src: Path, target: Path) -> dict:
    code, out = run(
        "import",
        str(src),
        "--codex-home",
        str(target),
        "--history-only",
        "/same",
        "--dry-run",
        "--json",
    )
    assert code in (0, EXIT_CONFLICT), out
    return json.loads(out)["plan"]["threads"][0]


def test_merge_identical_is_skipped(tmp_path: Path) -> None:
    src, target, _, _ = _merge_setup(tmp_path)
    assert _plan_action(src, target)["action"] == "skip"


def test_merge_target_prefix_is_replaced_by_longer_source(tmp_path: Path) -> None:
    src, target, s, t = _merge_setup(tmp_path)
    lines = t.read_bytes().splitlines(keepends=True)
    t.write_bytes(b"".join(lines[:-4]))
    assert _plan_action(src, target)["action"] == "replace"
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--history-only", "/same", "--yes"
    )
    assert code == 0, out
    assert t.read_bytes() == s.read_bytes()


def test_merge_source_prefix_keeps_target(tmp_path: Path) -> None:
    src, target, s, t = _merge_setup(tmp_path)
    s.write_bytes(b"".join(s.read_bytes().splitlines(keepends=True)[:-3]))
    before = t.read_bytes()
    assert _plan_action(src, target)["action"] == "keep"
    run("import", str(src), "--codex-home", str(target), "--history-only", "/same", "--yes")
    assert t.read_bytes() == before


def test_merge_divergent_is_a_conflict_and_nothing_is_written(tmp_path: Path) -> None:
    src, target, s, t = _merge_setup(tmp_path)
    write_rollout(src, 2, cwd="/same")  # a new thread that would import
    lines = t.read_bytes().splitlines(keepends=True)
    lines[-2] = lines[-2].replace(b'"f"', b'"something else"')
    t.write_bytes(b"".join(lines))
    before = tree_state(target)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--history-only", "/same", "--yes"
    )
    assert code == EXIT_CONFLICT
    assert f"first difference at line {len(lines) - 1}" in out
    assert str(s) in out and str(t) in out
    assert tree_state(target) == before


@pytest.mark.parametrize("choice", ["keep-target", "skip"])
def test_on_conflict_keeps_this_computers_version_and_imports_the_rest(
    tmp_path: Path, choice: str
) -> None:
    src, target, _s, t = _merge_setup(tmp_path)
    new = write_rollout(src, 2, cwd="/same")  # a new thread: imported either way
    lines = t.read_bytes().splitlines(keepends=True)
    lines[-2] = lines[-2].replace(b'"f"', b'"something else"')
    t.write_bytes(b"".join(lines))
    mine = t.read_bytes()
    code, out = run(
        "import",
        str(src),
        "--codex-home",
        str(target),
        "--history-only",
        "/same",
        "--on-conflict",
        choice,
        "--yes",
    )
    assert code == 0, out
    assert t.read_bytes() == mine, "this computer's version is never replaced or spliced"
    assert (target / new.relative_to(src)).read_bytes() == new.read_bytes()
    rollouts = sorted(p.name for p in target.rglob("rollout-*.jsonl"))
    assert len(rollouts) == 2, rollouts  # no invented id, no second copy


def test_merge_cut_last_line_is_not_a_prefix(tmp_path: Path) -> None:
    src, target, _, t = _merge_setup(tmp_path)
    t.write_bytes(t.read_bytes()[:-25])
    assert _plan_action(src, target)["action"] == "conflict"


def test_rows_are_written_into_an_existing_db(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = tmp_path / "target"
    own = write_rollout(target, 9, cwd="/mine")
    db = make_state_db(target, [{"id": tid(9), "rollout_path": str(own), "cwd": "/mine"}])
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
    )
    assert code == 0, out
    conn = sqlite3.connect(db)
    rows = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT id, rollout_path, cwd, name, archived, history_mode, title FROM threads"
        )
    }
    conn.close()
    assert rows[tid(9)][1] == "/mine"
    path, cwd, name, archived, mode, title = rows[tid(1)]
    assert path == str(next(target.rglob(f"*{tid(1)}.jsonl")))
    assert os.path.isabs(path)
    assert (cwd, name, archived, mode, title) == (
        "/new/app",
        "Named one",
        0,
        "paginated",
        "First question",
    )
    assert rows[tid(2)][4] == "legacy"
    assert rows[tid(3)][3] == 1
    code, out = run("verify", "--codex-home", str(target))
    assert code == 0, out


def test_locked_target_is_refused_and_untouched(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = tmp_path / "target"
    write_rollout(target, 9)
    db = make_state_db(target, [])
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        before = _tree(target)
        code, out = run(
            "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
        )
        assert code == EXIT_IN_USE, out
        assert "locked" in out and "Close Codex" in out
        assert _tree(target) == before
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_committed_import_can_be_rolled_back(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = tmp_path / "target"
    own = write_rollout(target, 9, cwd="/mine")
    make_state_db(target, [{"id": tid(9), "rollout_path": str(own), "cwd": "/mine"}])
    (target / "session_index.jsonl").write_text("")
    before = _tree(target)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes", "--json"
    )
    tx = json.loads(out)["report"]["transaction_id"]
    code, out = run("transactions", "list", "--codex-home", str(target))
    assert tx in out and "committed" in out
    code, out = run("transactions", "rollback", tx, "--codex-home", str(target), "--yes")
    assert code == 0, out
    after = _tree(target)
    assert {k for k in after if k.endswith(".jsonl")} == {k for k in before if k.endswith(".jsonl")}
    conn = sqlite3.connect(target / "state_5.sqlite")
    assert [r[0] for r in conn.execute("SELECT id FROM threads")] == [tid(9)]
    conn.close()


def test_rollback_refused_when_a_thread_changed_since(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = tmp_path / "target"
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes", "--json"
    )
    tx = json.loads(out)["report"]["transaction_id"]
    f = next(target.rglob(f"*{tid(1)}.jsonl"))
    with open(f, "a") as fh:
        fh.write('{"timestamp":"t","type":"event_msg","payload":{"type":"x"}}\n')
    before = _tree(target)
    code, out = run("transactions", "rollback", tx, "--codex-home", str(target), "--yes")
    assert code != 0 and "changed after" in out
    assert _tree(target) == before


CRASH_POINTS = ["prepared", "staged", "installed-first", "files", "db", "appended"]


def _import_subprocess(src: Path, target: Path, env_extra: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, **env_extra}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "codex_migrate",
            "import",
            str(src),
            "--codex-home",
            str(target),
            "--map",
            f"{OLD}=/new",
            "--yes",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _target_with_db(tmp_path: Path) -> Path:
    target = tmp_path / "target"
    own = write_rollout(target, 9, cwd="/mine")
    make_state_db(target, [{"id": tid(9), "rollout_path": str(own), "cwd": "/mine"}])
    (target / "session_index.jsonl").write_text('{"id":"x","thread_name":"y"}\n')
    (target / "history.jsonl").write_text('{"session_id":"x","ts":1,"text":"y"}\n')
    # one thread the import will replace (a prefix of the source's)
    src_like = write_rollout(
        tmp_path / "scratch", 1, cwd="/new/app", turns=[("First question", "First answer")]
    )
    dest = target / src_like.relative_to(tmp_path / "scratch")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(b"".join(src_like.read_bytes().splitlines(keepends=True)[:2]))
    return target


def _db_rows(target: Path) -> list[tuple]:
    conn = sqlite3.connect(target / "state_5.sqlite")
    try:
        return sorted(conn.execute("SELECT * FROM threads"))
    finally:
        conn.close()


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_at_each_step_then_recover_restores_everything(tmp_path: Path, point: str) -> None:
    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    before, rows_before = _tree(target), _db_rows(target)
    proc = _import_subprocess(src, target, {CRASH_ENV: point})
    proc.communicate(timeout=60)
    assert proc.returncode == 137
    code, out = run("recover", "--codex-home", str(target))
    assert code == 0 and "Rolled back" in out, out
    assert _db_rows(target) == rows_before
    after = _tree(target)
    # the DB files' bytes may differ after a restore through SQLite; their rows do not
    strip = lambda t: {k: v for k, v in t.items() if "sqlite" not in k}  # noqa: E731
    assert strip(after) == strip(before)
    # and the same import then completes
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
    )
    assert code == 0, out
    assert len(_db_rows(target)) == 4


def _journal_states(target: Path) -> dict[str, str]:
    """Each transaction's state by its ID (a journal being replaced right now is skipped)."""
    states = {}
    for journal in (target / "migration_transactions").glob("*/journal.json"):
        try:
            states[journal.parent.name] = json.loads(journal.read_text())["state"]
        except (OSError, ValueError):
            continue
    return states


def _unfinished_journal(target: Path) -> bool:
    return any(s in ("prepared", "applying") for s in _journal_states(target).values())


def test_kill_at_random_times_then_recover(tmp_path: Path) -> None:
    """SIGKILL at random moments inside the transaction (after the journal says prepared),
    without any cooperation from the process; every time, recover restores the target.

    A kill that lands after the commit (the import was done, only its clean-up and output
    were left) must leave the whole import in place, and recover must not touch it; the
    test then undoes it with ``transactions rollback`` and kills earlier next time."""
    import random

    rng = random.Random(20261125)
    src = tmp_path / "source"
    for n in range(1000, 1300):  # ids the target does not have
        write_rollout(src, n, cwd=f"{OLD}/p{n % 7}", turns=[("q" * 500, "a" * 2000)] * 20)
    target = _target_with_db(tmp_path)
    before, rows_before = _tree(target), _db_rows(target)
    strip = lambda t: {k: v for k, v in t.items() if "sqlite" not in k}  # noqa: E731
    rolled_back, committed, window = 0, 0, 0.4
    for _ in range(8):
        known = set(_journal_states(target))
        proc = _import_subprocess(src, target, {})
        deadline = time.monotonic() + 30
        while proc.poll() is None and not _unfinished_journal(target):
            assert time.monotonic() < deadline, "the import never started its transaction"
            time.sleep(0.005)
        delay = rng.uniform(0, window)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        (tx_id,) = set(_journal_states(target)) - known
        if _journal_states(target)[tx_id] == "committed":
            # Too late: the import was whole. Recover leaves a committed import alone.
            committed += 1
            code, out = run("recover", "--codex-home", str(target))
            assert code == 0 and "Rolled back" not in out, out
            assert len(_db_rows(target)) == len(rows_before) + 300
            code, out = run("transactions", "rollback", tx_id, "--codex-home", str(target), "--yes")
            assert code == 0, out
            window = delay / 2  # kill earlier next time: a fast import still gets rollbacks
        else:
            assert proc.returncode == -signal.SIGKILL
            code, out = run("recover", "--codex-home", str(target))
            assert code == 0, out
            rolled_back += "Rolled back" in out
        assert _db_rows(target) == rows_before
        assert strip(_tree(target)) == strip(before)
    assert rolled_back >= 4, (rolled_back, committed)
    survivors = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if str(target) in " ".join(p.info["cmdline"] or [])
    ]
    assert survivors == [], "worker processes outlived the killed import"
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
    )
    assert code == 0, out


def test_target_db_of_a_newer_schema_gets_only_its_own_columns(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = tmp_path / "target"
    target.mkdir()
    db = make_state_db(target, [])
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE threads ADD COLUMN future_flag INTEGER NOT NULL DEFAULT 7")
    conn.execute("ALTER TABLE threads ADD COLUMN future_note TEXT")
    conn.commit()
    conn.close()
    code, out = run("import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/n", "--yes")
    assert code == 0, out
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT DISTINCT future_flag, future_note FROM threads").fetchall() == [
        (7, None)
    ]
    conn.close()


def test_target_db_without_threads_table_is_refused_untouched(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = tmp_path / "target"
    target.mkdir()
    conn = sqlite3.connect(target / "state_9.sqlite")
    conn.execute("CREATE TABLE conversations (uuid TEXT)")
    conn.commit()
    conn.close()
    before = _tree(target)
    code, out = run("import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/n", "--yes")
    assert code == 1 and "cannot be used" in out and "Traceback" not in out
    assert _tree(target) == before


def test_disk_full_rolls_back_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import codex_migrate.staging as staging

    src = _source(tmp_path)
    target = tmp_path / "target"
    own = write_rollout(target, 9, cwd="/mine")
    make_state_db(target, [{"id": tid(9), "rollout_path": str(own), "cwd": "/mine"}])
    before, rows_before = _tree(target), _db_rows(target)
    real = staging.stage_rewritten
    calls = {"n": 0}

    def full_disk(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(args[1]))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(staging, "stage_rewritten", full_disk)
    code, out = run("import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/n", "--yes")
    assert code == 1 and "disk is full" in out and "rolled back" in out
    assert _tree(target) == before
    assert _db_rows(target) == rows_before


def test_a_full_disk_under_the_state_db_rolls_back_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the disk fills under the state DB's write (SQLITE_FULL), SQLite rolls that
    transaction back itself: the user must read that the disk is full and everything was
    rolled back, not the error of a ROLLBACK that found no transaction left (seen on a
    real full disk: "cannot rollback - no transaction is active")."""
    import contextlib

    from codex_migrate import transaction

    src = _source(tmp_path)
    for n in range(10, 40):
        write_rollout(src, n, cwd=f"{OLD}/app", turns=[("q" * 500, "a" * 2000)] * 5)
    target = _target_with_db(tmp_path)
    before, rows_before = _tree(target), _db_rows(target)
    real = transaction.write_transaction

    @contextlib.contextmanager
    def no_room(db: Path, *args: Any, **kwargs: Any) -> Iterator[sqlite3.Connection]:
        with real(db, *args, **kwargs) as conn:
            (pages,) = conn.execute("PRAGMA page_count").fetchone()
            conn.execute(f"PRAGMA max_page_count = {pages}")  # the DB may not grow: full
            conn.execute("PRAGMA cache_size = 1")  # pages go to the file as rows go in
            yield conn

    monkeypatch.setattr(transaction, "write_transaction", no_room)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
    )
    assert code == 1 and "disk is full" in out and "rolled back" in out, out
    assert "no transaction is active" not in out, out
    assert _db_rows(target) == rows_before
    strip = lambda t: {k: v for k, v in t.items() if "sqlite" not in k}  # noqa: E731
    assert strip(_tree(target)) == strip(before)


def test_symlinked_rollout_and_dotdot_in_paths_stay_inside_the_target(tmp_path: Path) -> None:
    src = tmp_path / "source"
    real = write_rollout(tmp_path / "elsewhere", 1, cwd=f"{OLD}/app")
    link_dir = src / "sessions" / "2026" / "03" / "04"
    link_dir.mkdir(parents=True)
    (link_dir / real.name).symlink_to(real)
    target = tmp_path / "target"
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/n/../x", "--yes"
    )
    assert code == 0, out
    # A rollout that is a link out of the source home is never read as a thread.
    assert "outside the home: never followed" in out and real.name in out
    written = [p for p in target.rglob("*.jsonl") if "migration_transactions" not in str(p)]
    assert written == []
    assert real.read_bytes().count(b"/n/../x/app") == 0  # the source is untouched


def test_free_text_is_rewritten_only_when_asked(tmp_path: Path) -> None:
    src = _source(tmp_path)
    for flag, expected in (([], 0), (["--rewrite-text"], 1)):
        target = tmp_path / f"target{len(flag)}"
        code, out = run(
            "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/n", "--yes", *flag
        )
        assert code == 0, out
        text = next(target.rglob(f"*{tid(1)}.jsonl")).read_text()
        assert text.count("<cwd>/n/app</cwd>") == expected
        assert text.count(f"<cwd>{OLD}/app</cwd>") == 1 - expected


def test_a_failure_while_staging_leaves_the_db_and_files_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows go into the state DB's open write as their rollouts come back from staging: a
    failure part way (a full disk after the first file) rolls them back with the files."""
    import errno

    from codex_migrate import importer, threadrow

    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    before, rows_before = _tree(target), _db_rows(target)
    staged = importer.iter_staged

    def full_disk_after_one(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for n, result in enumerate(staged(*args, **kwargs)):
            if n == 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            yield result

    monkeypatch.setattr(importer, "iter_staged", full_disk_after_one)
    monkeypatch.setattr(threadrow.RowWriter, "BATCH", 1)  # the first row is in the DB already
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
    )
    assert code != 0 and "disk is full" in out, out
    assert _db_rows(target) == rows_before
    strip = lambda t: {k: v for k, v in t.items() if "sqlite" not in k}  # noqa: E731
    assert strip(_tree(target)) == strip(before)


def test_an_error_while_staging_on_all_cores_stops_the_workers_before_the_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error in the main process while the workers stage (here: making a row) must stop
    them, and the writeback thread, before the rollback starts: no worker may still be
    writing into the transaction the rollback is undoing."""
    import multiprocessing
    import threading

    import codex_migrate.staging as staging
    import codex_migrate.writeback as writeback
    from codex_migrate import importer
    from codex_migrate.transaction import Transaction

    src = _source(tmp_path)
    for n in range(10, 40):
        write_rollout(src, n, cwd=f"{OLD}/app")
    target = _target_with_db(tmp_path)
    before, rows_before = _tree(target), _db_rows(target)
    monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(staging, "worker_count", lambda: 2)
    monkeypatch.setattr(staging, "AHEAD_PER_WORKER", 8)  # chunks still queued at the error
    monkeypatch.setattr(writeback, "FLUSH_EVERY_BYTES", 1)
    monkeypatch.setattr(writeback.sys, "platform", "linux")
    real_row, calls = importer.row_for, {"n": 0}

    def failing_row(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(5, "Input/output error")
        return real_row(*args, **kwargs)

    monkeypatch.setattr(importer, "row_for", failing_row)
    seen: list[tuple[int, bool]] = []
    real_rollback = Transaction.rollback

    def rollback(self: Transaction, *args: Any, **kwargs: Any) -> Any:
        workers = len(multiprocessing.active_children())
        writing = any(t.name == "codex-migrate-writeback" for t in threading.enumerate())
        seen.append((workers, writing))
        return real_rollback(self, *args, **kwargs)

    monkeypatch.setattr(Transaction, "rollback", rollback)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
    )
    assert code != 0 and "rolled back" in out, out
    assert seen == [(0, False)]  # no worker process, no writeback thread left running
    assert _db_rows(target) == rows_before
    strip = lambda t: {k: v for k, v in t.items() if "sqlite" not in k}  # noqa: E731
    assert strip(_tree(target)) == strip(before)


def test_an_error_while_checking_damage_on_all_cores_stops_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan's damage read on all cores: an error in its loop (here: judging a result)
    stops the workers before the error leaves the plan, instead of leaving them reading
    every queued rollout while the error is reported."""
    import multiprocessing

    import codex_migrate.damage as damage
    from codex_migrate import plan as plan_module
    from codex_migrate.service import importing

    src = _source(tmp_path)
    for n in range(10, 40):
        write_rollout(src, n, cwd=f"{OLD}/app")
    monkeypatch.setattr(damage, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(damage, "worker_count", lambda: 2)

    def failing_check(*args: Any, **kwargs: Any) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(plan_module, "_check_damage", failing_check)
    seen: list[int] = []
    real_build = importing.build_import_plan

    def build(*args: Any, **kwargs: Any) -> Any:
        try:
            return real_build(*args, **kwargs)
        except OSError:
            seen.append(len(multiprocessing.active_children()))
            raise

    monkeypatch.setattr(importing, "build_import_plan", build)
    code, out = run("import", str(src), "--codex-home", str(tmp_path / "t"), "--map", f"{OLD}=/n")
    assert code != 0 and seen == [0], (seen, out)
