"""verify_written: files and rows as planned, the DB's integrity checked on another thread."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from codex_migrate import verify
from codex_migrate.home import CodexHome, open_target

FIXTURE = Path(__file__).parent / "fixtures" / "codex-0.169.0" / "home"


@dataclass
class Item:
    id: str
    target_rel: str
    new_cwd: str | None


def _home(tmp_path: Path) -> CodexHome:
    root = tmp_path / "home"
    shutil.copytree(FIXTURE, root)
    return open_target(root)


def test_problems_of_rows_then_of_the_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _home(tmp_path)
    monkeypatch.setattr(verify, "integrity_problems", lambda db: [f"{db.name}: broken"])
    items = [Item("00000000-0000-0000-0000-000000000000", "sessions/x.jsonl", "/p")]
    got = verify.verify_written(home, {"sessions/x.jsonl": "0" * 64}, items, home.root)
    assert got == [
        "sessions/x.jsonl is missing after the move",
        "00000000-0000-0000-0000-000000000000: no DB row",
        "state_5.sqlite: broken",
    ]
    assert verify.verify_written(home, {}, [], home.root) == []  # no rows: no DB check


def test_an_error_of_the_db_check_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(tmp_path)

    def fails(db: Path) -> list[str]:
        raise OSError("disk gone")

    monkeypatch.setattr(verify, "integrity_problems", fails)
    items = [Item("00000000-0000-0000-0000-000000000000", "sessions/x.jsonl", "/p")]
    with pytest.raises(OSError, match="disk gone"):
        verify.verify_written(home, {}, items, home.root)


def test_the_real_check_passes_on_a_sound_db(tmp_path: Path) -> None:
    home = _home(tmp_path)
    assert home.state_db is not None
    assert verify.integrity_problems(home.state_db) == []


def test_an_interrupt_while_checking_files_waits_for_the_db_check_and_stays_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(tmp_path)
    finished: list[str] = []

    def slow_and_failing(db: Path) -> list[str]:
        time.sleep(0.3)
        finished.append(db.name)
        raise OSError("disk gone")

    def interrupted(*args: object) -> list[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr(verify, "integrity_problems", slow_and_failing)
    monkeypatch.setattr(verify, "_files_and_rows", interrupted)
    items = [Item("00000000-0000-0000-0000-000000000000", "sessions/x.jsonl", "/p")]
    with pytest.raises(KeyboardInterrupt):  # the user's Ctrl-C, not the check's error
        verify.verify_written(home, {}, items, home.root)
    assert finished == ["state_5.sqlite"]  # the reader was done before the rollback could start
