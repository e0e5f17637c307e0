"""Small runs of the benchmark scripts, so they keep working; full runs are marked slow."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bench_scan
from benchmarks.grow_home import grow_home
from codex_migrate.catalog import build_catalog
from codex_migrate.home import open_home


def test_grown_home_is_a_valid_home(tmp_path: Path) -> None:
    files, size = grow_home(tmp_path / "home", 25)
    catalog = build_catalog(open_home(tmp_path / "home"))
    assert len(catalog.threads) == files == 25
    assert size > 0
    assert sum(t.archived for t in catalog.threads) == 2
    assert all(not t.problems for t in catalog.threads)


def test_scan_benchmark_smoke() -> None:
    rows = bench_scan.run(sessions=20, scales=[1, 2], repeat=1)
    assert [r["sessions"] for r in rows] == [20, 20]


@pytest.mark.slow
def test_scan_benchmark_full() -> None:
    rows = bench_scan.run(sessions=3000, scales=[1, 4, 16], repeat=3)
    for r in rows:
        print(r)


def test_sync_benchmark_smoke() -> None:
    from benchmarks import bench_sync

    r = bench_sync.run(sessions=30, changed=3)
    assert r["sessions"] == 30 and set(r["seconds"]) == {
        "first push (A)",
        "first pull (B)",
        "second push (A)",
        "second pull (B)",
    }


@pytest.mark.slow
def test_sync_benchmark_full() -> None:
    from benchmarks import bench_sync

    print(bench_sync.run(sessions=3000, changed=10))
