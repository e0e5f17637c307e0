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


def test_benchmarks_never_use_the_users_listing_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make bench`` runs outside pytest (no per-test cache folder): a benchmark that does
    not choose a cache folder itself measures cold, as before the cache, and never writes
    into the user's cache folder (here: a temp HOME's)."""
    monkeypatch.delenv("CODEX_MIGRATE_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user" / ".cache"))
    from benchmarks import bench_ui_preview

    bench_scan.run(sessions=20, scales=[1], repeat=1)
    bench_ui_preview.run(sessions=10)  # the web UI in this process
    assert not (tmp_path / "user" / ".cache" / "codex-migrate").exists()


@pytest.mark.slow
def test_scan_benchmark_full() -> None:
    rows = bench_scan.run(sessions=3000, scales=[1, 4, 16], repeat=3)
    for r in rows:
        print(r)


def test_real_shaped_benchmark_smoke() -> None:
    """bench_real end to end at a small size: every figure is there (ratios only, no timing
    is asserted)."""
    from benchmarks import bench_real

    r = bench_real.run(sessions=30, pairs=1, scans=1)
    assert r["sessions"] == 30 and r["day_folders"] > 20
    assert r["import"]["wall_s"] > 0 and r["import_over_durable_copy"] > 0
    assert "import / durable copy" in bench_real.table(r)
    # the listing cache: cold and warm figures, the warm ones from a filled cache
    assert r["scan_warm"]["cpu_s"] > 0 and r["preview_warm"]["cpu_s"] > 0
    assert r["import_warm_over_durable_copy"] > 0 and r["warm_cache_files"] == 1
    assert "scan --json, cache warm" in bench_real.table(r)
    # the Python floor, in the same pairs
    assert r["floor"]["wall_s"] > 0 and r["import_over_floor"] > 0
    assert "Python floor / durable copy" in bench_real.table(r)


def test_python_floor_copies_every_file_byte_for_byte(tmp_path: Path) -> None:
    """The floor is a baseline only if it does the copy's work: every file, same bytes
    (damaged lines included: it parses them, it does not judge them)."""
    from benchmarks.py_floor import copy_home

    source = tmp_path / "src"
    (source / "sessions" / "2026" / "01" / "02").mkdir(parents=True)
    rollout = source / "sessions" / "2026" / "01" / "02" / "rollout-x.jsonl"
    rollout.write_bytes(b'{"type":"session_meta"}\n{not json\n\xff\xfe\n')
    (source / "session_index.jsonl").write_bytes(b"")
    assert copy_home(str(source), str(tmp_path / "dest")) == 2
    copied = tmp_path / "dest" / "sessions" / "2026" / "01" / "02" / "rollout-x.jsonl"
    assert copied.read_bytes() == rollout.read_bytes()
    assert (tmp_path / "dest" / "session_index.jsonl").read_bytes() == b""


@pytest.mark.slow
def test_real_shaped_benchmark_full() -> None:
    from benchmarks import bench_real

    for n in (3000, 30000):
        print(bench_real.table(bench_real.run(sessions=n)))


def test_ui_preview_benchmark_smoke() -> None:
    from benchmarks import bench_ui_preview

    got = bench_ui_preview.run(sessions=30)
    assert got["preview_kb"] and got["render_preview_s"] >= 0


def test_ui_flow_benchmark_smoke() -> None:
    """The UI's three migrate steps and the CLI's, on the same home: both write the same."""
    from benchmarks import bench_ui_flow

    got = bench_ui_flow.run(sessions=30)
    assert got["same_sessions_written"] is True
    assert set(got["ui_over_cli"]) == {"scan", "preview", "apply"}
