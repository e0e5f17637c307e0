"""Staging rewritten rollouts, in one process or on all cores, gives the same files."""

from __future__ import annotations

from pathlib import Path

import pytest

import codex_migrate.staging as staging
from codex_migrate.pathmap import PathMapper
from codex_migrate.staging import StageJob, stage_many
from tests.homes import write_rollout


def _jobs(tmp_path: Path, out: str) -> list[StageJob]:
    jobs = []
    for n in range(1, 25):
        src = write_rollout(tmp_path / "src", n, cwd=f"/Users/alex/p{n % 3}", era="paginated")
        jobs.append(StageJob(src, tmp_path / out / src.name, 1_700_000_000.0 + n, offsets=True))
    return jobs


def test_parallel_staging_equals_sequential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapper = PathMapper(["/Users/alex=/home/alex"])
    seq = stage_many(_jobs(tmp_path, "seq"), mapper, total_bytes=0)
    monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(staging, "worker_count", lambda: 2)
    done: list[int] = []
    par = stage_many(_jobs(tmp_path, "par"), mapper, total_bytes=1, on_done=done.append)
    assert done == list(range(1, 25))
    for a, b in zip(seq, par, strict=True):
        assert a.sha256 == b.sha256 and a.size == b.size and a.offsets == b.offsets
        assert a.path.read_bytes() == b.path.read_bytes()
        assert b.path.stat().st_mtime == a.path.stat().st_mtime
        assert b"/home/alex/p" in b.path.read_bytes()
