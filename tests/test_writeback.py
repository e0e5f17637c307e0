"""Early writeback: staged files start going to disk during staging, from a thread that
never fails the staging and is always stopped with it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import codex_migrate.staging as staging
import codex_migrate.writeback as writeback
from codex_migrate.pathmap import PathMapper
from codex_migrate.staging import StageJob, stage_many
from codex_migrate.writeback import EarlyWriteback
from tests.homes import write_rollout


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def test_flushes_the_staged_files_file_system_every_so_many_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writeback.sys, "platform", "linux")
    flushed: list[Path] = []
    done = threading.Event()

    def fake_syncfs(folder: Path) -> bool:
        flushed.append(folder)
        done.set()
        return True

    monkeypatch.setattr(writeback, "syncfs", fake_syncfs)
    with EarlyWriteback(every=100) as early:
        early.staged(tmp_path / "a", 60)
        assert "codex-migrate-writeback" not in _threads()  # nothing due yet
        early.staged(tmp_path / "b", 60)
        assert done.wait(5)
    assert flushed[0] == tmp_path
    assert "codex-migrate-writeback" not in _threads()  # stopped with the block


@pytest.mark.parametrize("failure", ["false", "oserror"])
def test_a_failing_flush_stops_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    monkeypatch.setattr(writeback.sys, "platform", "linux")
    calls: list[Path] = []

    def failing_syncfs(folder: Path) -> bool:
        calls.append(folder)
        if failure == "oserror":
            raise OSError(5, "I/O error", str(folder))
        return False

    monkeypatch.setattr(writeback, "syncfs", failing_syncfs)
    with EarlyWriteback(every=1) as early:
        early.staged(tmp_path / "first", 10)
        for thread in threading.enumerate():  # it ends itself at its first failure
            if thread.name == "codex-migrate-writeback":
                thread.join(60)
        assert "codex-migrate-writeback" not in _threads()
        assert calls == [tmp_path]
        for n in range(50):  # later files: nothing left to wake, and no error
            early.staged(tmp_path / str(n), 10)
    assert calls == [tmp_path]


def test_nothing_is_started_without_syncfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writeback.sys, "platform", "darwin")
    with EarlyWriteback(every=1) as early:
        early.staged(tmp_path / "a", 10)
        assert "codex-migrate-writeback" not in _threads()


def test_parallel_staging_flushes_as_it_goes_and_stops_on_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On all cores the staged files' folder is flushed during staging; a consumer that
    stops early (an error) stops the thread too."""
    monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(staging, "worker_count", lambda: 2)
    monkeypatch.setattr(writeback, "FLUSH_EVERY_BYTES", 1)
    flushed: list[Path] = []
    monkeypatch.setattr(writeback, "syncfs", lambda folder: flushed.append(folder) or True)
    monkeypatch.setattr(writeback.sys, "platform", "linux")
    mapper = PathMapper(["/Users/alex=/home/alex"])
    jobs = []
    for n in range(1, 13):
        src = write_rollout(tmp_path / "src", n, cwd="/Users/alex/p", era="paginated")
        jobs.append(StageJob(src, tmp_path / "out" / src.name, 1_700_000_000.0 + n))
    staged = stage_many(jobs, mapper, total_bytes=1)
    assert len(staged) == 12 and all(p == tmp_path / "out" for p in flushed)
    assert "codex-migrate-writeback" not in _threads()

    results = staging.iter_staged(iter(jobs), mapper, count=len(jobs), total_bytes=1)
    next(results)
    results.close()  # what an exception in the consumer does to the generator
    assert "codex-migrate-writeback" not in _threads()
