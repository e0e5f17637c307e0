"""The listing cache's memory: what a warm thread shares, how the cache file is written."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

import codex_migrate.catalog_cache as cc
import codex_migrate.catalog_thread as catalog_thread
from codex_migrate.cachefiles import lines_at
from codex_migrate.catalog import build_catalog
from codex_migrate.catalog_cache import cached_catalog, open_cache
from codex_migrate.catalog_thread import Thread
from codex_migrate.home import open_home
from tests.homes import tid, write_rollout
from tests.test_catalog_cache import home_of


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
        if t.kept is not None:
            assert t.created_at is t.kept[0] or t.created_at != t.kept[0]
            for field, at in (("source", 1), ("model_provider", 2), ("cli_version", 3)):
                value = getattr(t, field)
                if value == t.kept[at]:
                    assert value is t.kept[at]


def _chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1 << 20])
def test_lines_at_finds_lines_at_the_ends_and_across_chunks(size: int) -> None:
    data = b"head\nfirst line\n\nx\nlast line\n"
    starts = [0, 5, 16, 17, 19]
    want = [b"head\n", b"first line\n", b"\n", b"x\n", b"last line\n"]
    assert list(lines_at(_chunked(data, size), starts)) == want
    assert list(lines_at(_chunked(data, size), [5, 19])) == [b"first line\n", b"last line\n"]
    assert list(lines_at(_chunked(data, size), [])) == []


@pytest.mark.parametrize("size", [1, 4, 1 << 20])
def test_lines_at_refuses_a_line_cut_short_or_starts_going_back(size: int) -> None:
    with pytest.raises(ValueError):
        list(lines_at(_chunked(b"one\ntwo, cut sh", size), [0, 4]))
    with pytest.raises(ValueError):
        list(lines_at(_chunked(b"one\ntwo\n", size), [0, 8]))  # at the end: no line there
    with pytest.raises(ValueError):
        list(lines_at(_chunked(b"one\ntwo\n", size), [4, 0]))


def _cache_file() -> Path:
    folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    (path,) = [p for p in folder.iterdir() if p.suffix == ".json"]
    return path


def _entries(path: Path) -> dict[str, list[object]]:
    head, *lines, tail = path.read_bytes().split(b"\n")[:-1]
    assert orjson.loads(head)["version"] == cc.TAG
    assert orjson.loads(tail)["entries"] == len(lines)
    return {orjson.loads(r): orjson.loads(rec) for r, _, rec in (x.partition(b"\t") for x in lines)}


def test_a_changed_home_keeps_every_unchanged_line_and_the_next_listing_reads_nothing(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old lines are copied from the old file read again (in its order), then the new
    ones written as they come: the same records, and a third listing opens no rollout."""
    home = home_of(tmp_path, 6)
    truth = [t.to_dict() for t in build_catalog(open_home(home)).threads]
    cached_catalog(open_home(home))  # cold
    before = _entries(_cache_file())
    write_rollout(home, 7, cwd="/p/new")
    gone = next(home.rglob(f"*{tid(2)}.jsonl"))
    gone.unlink()
    listing = cached_catalog(open_home(home))
    after = _entries(_cache_file())
    assert len(after) == len(before) == 7
    assert tid(7) in list(after)[-1]  # after the old lines, in their order
    assert [k for k in after if k in before] == [k for k in before if tid(2) not in k]
    assert {k: v for k, v in after.items() if k in before} == {
        k: v for k, v in before.items() if tid(2) not in k
    }
    assert [t.to_dict() for t in listing.threads] == [
        t.to_dict() for t in build_catalog(open_home(home)).threads
    ]
    assert len(truth) == 7

    def refuse(*a: object, **k: object) -> object:
        raise AssertionError("a rollout was opened on a cache hit")

    monkeypatch.setattr(catalog_thread, "read_head", refuse)
    assert [t.to_dict() for t in cached_catalog(open_home(home)).threads] == [
        t.to_dict() for t in listing.threads
    ]


def test_an_old_file_changed_or_changed_just_now_is_not_copied_from(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its pieces are dropped as they are looked up; the hits' lines are copied from the
    file read again only if its stamp is the one read and would show a change (last changed
    2 s or more before it was read): else no new cache is written (the next listing writes
    it), never a line of another file."""
    home = home_of(tmp_path)
    cached_catalog(open_home(home))  # cold
    path = _cache_file()
    old = path.read_bytes()
    write_rollout(home, 7, cwd="/p/new")  # a miss: a new cache is written
    listed = list(open_home(home).rollouts())
    cache = open_cache(open_home(home))
    assert cache is not None and cache.valid and cache.settled
    path.write_bytes(old.replace(b'"paginated"', b'"pAginated"'))  # another stamp
    assert len(list(cache.read_all(open_home(home), listed))) == len(listed)
    assert b"pAginated" in path.read_bytes()  # not copied from: no new cache
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    path.write_bytes(old)
    cache = open_cache(open_home(home))
    assert cache is not None and cache.valid
    cache.settled = False  # as for a file changed just now
    assert len(list(cache.read_all(open_home(home), listed))) == len(listed)
    assert path.read_bytes() == old
    assert len(_entries(path)) == 5
    cached_catalog(open_home(home))
    assert len(_entries(path)) == 6  # the next listing writes it
    monkeypatch.undo()  # the real clock: a file written just now is not settled
    cache = open_cache(open_home(home))
    assert cache is not None and cache.valid and not cache.settled


def test_a_listing_stopped_half_way_leaves_no_temp_file(tmp_path: Path, later: None) -> None:
    home = home_of(tmp_path)
    cache = open_cache(open_home(home))
    assert cache is not None
    reader = cache.read_all(open_home(home), list(open_home(home).rollouts()))
    next(reader)
    next(reader)
    reader.close()
    folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    assert not folder.exists() or list(folder.iterdir()) == []


@pytest.mark.parametrize("piece", [1, 300, 1 << 20])
def test_a_cache_held_in_pieces_lists_and_copies_the_same(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    """Pieces of a line each, of a few lines, of the whole file: every piece is dropped once
    its lines were looked up, the listing is the truth, a changed home's new cache is whole."""
    monkeypatch.setattr(cc, "_PIECE", piece)
    home = home_of(tmp_path, 8)
    cached_catalog(open_home(home))  # cold
    cache = open_cache(open_home(home))
    assert cache is not None and cache.valid
    assert len(cache.pieces) == {1: 9, 1 << 20: 1}.get(piece, len(cache.pieces))
    assert sum(cache.left) == len(cache.index) == 9
    listed = list(open_home(home).rollouts())
    seen: list[int] = []
    real_thread_of = cc.thread_of

    def thread_of(*args: Any) -> Thread | None:
        seen.append(sum(p is not None for p in cache.pieces))
        return real_thread_of(*args)

    monkeypatch.setattr(cc, "thread_of", thread_of)
    threads = list(cache.read_all(open_home(home), listed))
    assert seen[-1] == 0 and seen == sorted(seen, reverse=True)  # dropped as they go
    truth = {t.id: t.to_dict() for t in build_catalog(open_home(home)).threads}
    assert [t.to_dict() for t in threads if isinstance(t, Thread)] == [
        truth[r.thread_id] for r in listed
    ]
    before = _entries(_cache_file())
    write_rollout(home, 12, cwd="/p/new")
    next(home.rglob(f"*{tid(3)}.jsonl")).unlink()
    listing = cached_catalog(open_home(home))
    after = _entries(_cache_file())
    assert len(after) == 9 and {k: v for k, v in before.items() if tid(3) not in k} == {
        k: v for k, v in after.items() if k in before
    }
    assert [t.to_dict() for t in listing.threads] == [
        t.to_dict() for t in build_catalog(open_home(home)).threads
    ]


def test_threads_with_the_same_session_meta_values_share_one_tuple_of_them(
    tmp_path: Path, later: None
) -> None:
    """Thousands of threads repeat their source, provider, CLI version and git values: a
    read thread and a cached one keep one shared tuple of those, and give all seven back."""
    home = home_of(tmp_path)
    truth = build_catalog(open_home(home))
    cached_catalog(open_home(home))  # cold
    warm = cached_catalog(open_home(home))
    for cat in (truth, warm):
        held: dict[object, object] = {}
        for t in cat.threads:
            if t.kept is not None and t.kept[0] is t.created_at:
                assert len(t.kept_meta or ()) == len(t.kept) - 1
                same = held.setdefault(repr(t.kept[1:]), t.kept_meta)
                assert same is t.kept_meta
        assert held
    assert [t.meta for t in warm.threads] == [t.meta for t in truth.threads]


def test_only_strings_are_shared_not_equal_numbers() -> None:
    from codex_migrate import keptmeta

    stamp = "2025-01-01T00:00:00Z"
    one = keptmeta.compact((stamp, "cli", 1, "v", None, None, None), stamp)
    true = keptmeta.compact((stamp, "cli", True, "v", None, None, None), stamp)
    assert one[1] is 1 and true[1] is True  # noqa: F632 (identity is the point)
    git = {"branch": "main", "commit_hash": "abc"}
    a = keptmeta.compact((stamp, "cli", "p", "v", None, None, dict(git)), stamp)
    b = keptmeta.compact(("2026" + stamp[4:], "cli", "p", "v", None, None, dict(git)), None)
    assert keptmeta.full(a, stamp, 7) == (stamp, "cli", "p", "v", None, None, git)
    assert len(b) == 7  # a timestamp that is not created_at: kept whole
    c = keptmeta.compact((stamp, "cli", "p", "v", None, None, dict(git)), stamp)
    assert c is a


def test_the_misses_stat_keys_come_back_in_order_and_one_past_64_bits_is_not_stored() -> None:
    """A listing keeps each miss's stat key packed until its record is stored: the same four
    ints and mtime come back, a file that is no regular one has none, and a value that does
    not fit (an mtime past the year 2262: racy, so never stored anyway) has none either."""
    from types import SimpleNamespace

    from codex_migrate.cache_records import MissKeys

    def st(ino: int, mtime_ns: int) -> os.stat_result:
        made = SimpleNamespace(
            st_ino=ino, st_size=7, st_mtime_ns=mtime_ns, st_ctime_ns=5, st_mtime=mtime_ns / 1e9
        )
        return made  # type: ignore[return-value]

    keys = MissKeys()
    for given in (st(1, 10**18), None, st(2, 10**30), st(2**64 - 1, 3), st(3, -(10**18))):
        keys.add(given)
    assert [keys.key(n) for n in range(5)] == [
        ([1, 7, 10**18, 5], 1e9),
        (None, 0.0),
        (None, 0.0),
        (None, 0.0),
        ([3, 7, -(10**18), 5], -1e9),
    ]


def test_a_built_catalog_finds_its_threads_by_the_index_its_reading_made(tmp_path: Path) -> None:
    """The ids a catalog's reading noted (to refuse a second rollout with the same id) are
    its index by id: the same threads a scan of the list finds, the first of a repeated id,
    without a second index made."""
    home = tmp_path / ".codex"
    for n in (1, 2, 3):
        write_rollout(home, n)
    write_rollout(home, 2, archived=True)  # the same id again: the first one stays
    cat = build_catalog(open_home(home))
    assert len(cat.threads) == 3 and len(cat.unreadable) == 1
    index = cat._by_id
    assert index is not None and index[0] == 3
    for t in cat.threads:
        assert cat.thread(t.id.upper()) is t
        assert next(x for x in cat.threads if x.id == t.id) is t
    second = cat.thread(tid(2))
    assert second is not None and not second.archived_on_disk and cat.thread(tid(9)) is None
    assert cat._by_id is index  # not made again
    cat.threads.append(cat.threads[0])  # a changed list: the index is made anew
    assert cat.thread(cat.threads[0].id) is cat.threads[0] and cat._by_id is not index
