"""The heads read on all cores give the very catalog one process reads, errors included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import codex_migrate.catalog_thread as catalog_thread
import codex_migrate.catalog_workers as catalog_workers
from codex_migrate.catalog import _read_all, build_catalog
from codex_migrate.catalog_thread import META_KEYS
from codex_migrate.catalog_workers import read_all_parallel
from codex_migrate.home import open_home
from tests.homes import write_rollout


@pytest.fixture
def on_all_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_workers, "PARALLEL_MIN_FILES", 0)
    monkeypatch.setattr(catalog_workers, "worker_count", lambda: 2)
    monkeypatch.setattr(catalog_workers, "_busy", lambda workers: False)


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    for n in range(1, 41):
        era = ("paginated", "legacy", "bare")[n % 3]
        write_rollout(home, n, era=era, cwd=f"/Users/alex/p{n % 4}", archived=n % 7 == 0)
    write_rollout(home, 41, text="")  # empty
    write_rollout(home, 42, text='{"type":"session_meta",\n{not json}\n')  # damaged
    outside = tmp_path / "outside.jsonl"
    outside.write_text("secret\n")
    link = write_rollout(home, 43, text="")
    link.unlink()
    os.symlink(outside, link)  # a link out of the home: a reason, never read
    return home


@pytest.mark.usefixtures("on_all_cores")
def test_same_threads_in_the_same_order(tmp_path: Path) -> None:
    home = open_home(_home(tmp_path))
    refs = list(home.rollouts())
    alone = list(_read_all(home, refs))
    pooled = list(read_all_parallel(home, refs))
    assert pooled == alone
    assert sum(isinstance(r, str) for r in pooled) == 1  # the link
    threads = [t for t in pooled if not isinstance(t, str)]
    assert all(t.home_root is threads[0].home_root for t in threads)  # shared, as in one process
    for a in threads:
        for b in threads:
            if a.rollout_cwd == b.rollout_cwd:
                assert a.rollout_cwd is b.rollout_cwd
            if a.kept_meta == b.kept_meta and len(a.kept_meta or ()) < len(META_KEYS):
                assert a.kept_meta is b.kept_meta  # keptmeta's one shared tuple
    assert build_catalog(home, None, read_all_parallel).to_dict() == build_catalog(home).to_dict()


@pytest.mark.usefixtures("on_all_cores")
def test_an_error_is_raised_as_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = open_home(_home(tmp_path))
    refs = list(home.rollouts())
    real = catalog_thread.read_thread

    def fails(home_: object, ref: catalog_thread.RolloutRef, root: str | None = None) -> object:
        if ref is refs[30] or ref.thread_id == refs[30].thread_id:
            raise RuntimeError("a bug in reading one head")
        return real(home_, ref, root)  # type: ignore[arg-type]

    monkeypatch.setattr(catalog_thread, "read_thread", fails)
    with pytest.raises(RuntimeError, match="a bug in reading one head"):
        list(read_all_parallel(home, refs))


def test_few_files_are_read_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = open_home(_home(tmp_path))
    refs = list(home.rollouts())
    assert len(refs) < catalog_workers.PARALLEL_MIN_FILES
    monkeypatch.setattr(catalog_workers, "process_pool", None)  # never started
    assert list(read_all_parallel(home, refs)) == list(_read_all(home, refs))


def test_a_busy_machine_reads_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = open_home(_home(tmp_path))
    refs = list(home.rollouts())
    monkeypatch.setattr(catalog_workers, "PARALLEL_MIN_FILES", 0)
    monkeypatch.setattr(catalog_workers, "worker_count", lambda: 2)
    monkeypatch.setattr(catalog_workers.os, "getloadavg", lambda: (7.0, 6.0, 5.0))
    monkeypatch.setattr(catalog_workers, "process_pool", None)  # never started
    assert list(read_all_parallel(home, refs)) == list(_read_all(home, refs))
