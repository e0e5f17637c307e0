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


def test_identities_stand_in_for_reading_back_only_in_their_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(tmp_path)
    for name in ("a", "b", "c"):
        (home.root / "sessions" / f"{name}.jsonl").write_bytes(name.encode())
    rels = [f"sessions/{n}.jsonl" for n in ("a", "b", "c")]
    stats = [(home.root / rel).stat() for rel in rels]
    written = dict.fromkeys(rels, "0" * 64)  # hashes that would not read back
    hashed: list[str] = []
    monkeypatch.setattr(verify, "sha256_file", lambda p: hashed.append(p) or "0" * 64)

    ids = verify.Identities()
    for rel, st in zip(rels, stats, strict=True):
        ids.add(rel, st.st_ino, st.st_size)
    assert verify.verify_written(home, written, [], home.root, ids) == []
    assert hashed == []  # none read back

    ids = verify.Identities()
    ids.add(rels[0], stats[0].st_ino, stats[0].st_size + 1)  # not the file hashed
    ids.add(rels[2], stats[2].st_ino, stats[2].st_size)  # b has none: b is read back
    got = verify.verify_written(home, written, [], home.root, ids)
    assert got == ["sessions/a.jsonl is not the file that was written and hashed"]
    assert [Path(p).name for p in hashed] == ["b.jsonl"]
