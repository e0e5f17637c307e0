"""A small run of the backup benchmark, so it keeps working; the full run is marked slow."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from benchmarks import bench_backup
from benchmarks.grow_home import grow_home


def test_bench_home_has_its_newest_rows_only_in_the_wal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    grow_home(home, 10)
    assert bench_backup.add_state_db(home) == 10
    assert (home / "state_5.sqlite-wal").stat().st_size > 0
    alone = tmp_path / "alone.sqlite"
    alone.write_bytes((home / "state_5.sqlite").read_bytes())
    assert sqlite3.connect(alone).execute("SELECT count(*) FROM threads").fetchone()[0] == 5


def test_backup_benchmark_smoke() -> None:
    rows = bench_backup.run(sessions=20, scales=[1], repeat=1)
    assert [r["sessions"] for r in rows] == [20]
    assert rows[0]["archive_s"] > 0 and rows[0]["archive_mb"] > 0


@pytest.mark.slow
def test_backup_benchmark_full() -> None:
    bench_backup.print_table(bench_backup.run(sessions=3000, scales=[1, 4, 16], repeat=3))
