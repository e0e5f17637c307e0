"""The listing cache's memory: what a warm thread shares, how the cache file is written."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

import codex_migrate.catalog_cache as cc
from codex_migrate.catalog import build_catalog
from codex_migrate.catalog_cache import cached_catalog
from codex_migrate.home import open_home
from tests.homes import write_rollout


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache reads as if 10 s had passed since the files were written: none is racy."""
    clock = time.time_ns
    monkeypatch.setattr(cc.time, "time_ns", lambda: clock() + 10_000_000_000)


def home_of(tmp_path: Path, n: int = 4) -> Path:
    home = tmp_path / ".codex"
    for i in range(1, n + 1):
        write_rollout(home, i, era="paginated" if i % 2 else "legacy", cwd=f"/p/{i % 2}")
    write_rollout(home, 99, archived=True)
    return home


def test_a_warm_thread_shares_its_repeated_texts_as_a_read_one_does(
    tmp_path: Path, later: None
) -> None:
    """At 30 000 threads a copy per thread of "paginated", the CLI version or the provider
    is megabytes: a thread from the cache keeps the kept values' objects, as read_thread."""
    home = home_of(tmp_path)
    truth = build_catalog(open_home(home))
    cached_catalog(open_home(home))  # cold
    warm = cached_catalog(open_home(home))
    assert [t.to_dict() for t in warm.threads] == [t.to_dict() for t in truth.threads]
    for t in warm.threads:
        assert t.era is sys.intern(t.era) and t.history_mode is sys.intern(t.history_mode)
        if t.kept_meta is not None:
            assert t.created_at is t.kept_meta[0] or t.created_at != t.kept_meta[0]
            for field, at in (("source", 1), ("model_provider", 2), ("cli_version", 3)):
                value = getattr(t, field)
                if value == t.kept_meta[at]:
                    assert value is t.kept_meta[at]
