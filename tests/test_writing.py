"""The one way to open a home for writing, and the structured findings of verify."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from codex_migrate.catalog import build_catalog
from codex_migrate.errors import CodexMigrateError, HomeInUse
from codex_migrate.fsutil import sha256_file
from codex_migrate.home import open_home
from codex_migrate.transaction import list_transactions
from codex_migrate.verify import verify_findings, verify_home
from codex_migrate.writing import open_for_writing
from tests.homes import make_state_db, tid, write_rollout


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    write_rollout(root, 1)
    return root


def test_the_lock_is_held_and_check_fresh_runs_under_it(home: Path, tmp_path: Path) -> None:
    seen: list[bool] = []
    target = open_home(home)

    def check() -> None:
        seen.append((target.transactions_dir / "lock").exists())

    write_rollout(tmp_path / "other", 2)
    with open_for_writing(target, "test", check_fresh=check) as writer:
        assert (target.transactions_dir / "lock").exists()
        with open_for_writing(target, "nested", writer=writer) as inner:
            assert inner is writer  # nested use shares the lock, no second lock taken
        with (
            pytest.raises(ValueError),
            open_for_writing(open_home(tmp_path / "other"), "wrong home", writer=writer),
        ):
            pass
    assert seen == [True]
    assert not (target.transactions_dir / "lock").exists()


def test_an_error_rolls_back_an_unfinished_transaction(home: Path) -> None:
    target = open_home(home)
    new = home / "sessions" / "made-by-the-test.txt"
    with pytest.raises(RuntimeError), open_for_writing(target, "test") as writer:
        tx = writer.transaction("test")
        rel = "sessions/made-by-the-test.txt"
        tx.will_create(rel)
        tx.prepare()
        staged = tx.staging / rel
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_text("half done")
        tx.will_install({rel: sha256_file(staged)})
        tx.set_state("applying")
        tx.install(rel)
        assert new.exists()
        raise RuntimeError("boom")
    assert not new.exists()
    states = [j.state for _, j in list_transactions(target.transactions_dir) if j]
    assert states and all(s == "rolled_back" for s in states)


def test_a_full_disk_is_one_clear_message(home: Path) -> None:
    with pytest.raises(CodexMigrateError) as exc, open_for_writing(open_home(home), "import"):
        raise OSError(errno.ENOSPC, "No space left on device", str(home))
    assert exc.value.message.startswith("the disk is full; the import was rolled back")


def test_another_command_holding_the_lock_is_a_kind_not_a_text(home: Path) -> None:
    target = open_home(home)
    lock = target.transactions_dir / "lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"pid": os.getppid(), "since": 0}))
    with pytest.raises(HomeInUse) as exc, open_for_writing(target, "import"):
        pass
    assert exc.value.reason == HomeInUse.OTHER_COMMAND


def test_verify_reports_structured_findings_in_doctor_codes(home: Path) -> None:
    make_state_db(
        home,
        [
            {"id": tid(1), "rollout_path": "/elsewhere/rollout.jsonl", "cwd": "/x"},
            {"id": tid(9), "rollout_path": str(home / "sessions" / "gone.jsonl"), "cwd": "/x"},
        ],
    )
    catalog = build_catalog(open_home(home))
    checks = {(c.code, c.thread) for c in verify_findings(catalog)}
    assert ("row-path-outside-home", tid(1)) in checks
    assert ("row-without-file", tid(9)) in checks
    data = verify_home(catalog)
    assert {f["code"] for f in data["findings"]} >= {"row-path-outside-home", "row-without-file"}
    assert all(f["severity"] and f["fix"] for f in data["findings"])
    assert len(data["problems"]) == len(data["findings"])
