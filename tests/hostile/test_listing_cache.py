"""A hostile or broken listing-cache file (see catalog_cache): scan still lists the truth,
exits 0, never follows a link or blocks on a FIFO, and puts a good cache file in its place."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

import codex_migrate.cachefiles as cachefiles
from codex_migrate.catalog_cache import open_cache
from codex_migrate.home import open_home
from tests.hostile.conftest import BOUND, World, invoke
from tests.hostile.test_rollouts import KINDS
from tests.test_catalog_cache import dump_cache, parse_cache


def _truncated(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _garbage(p: Path) -> None:
    p.write_bytes(b"\x00\xff not json at all \xfe" * 100)


def _other_version(p: Path) -> None:
    head, entries, _ = parse_cache(p.read_bytes())
    p.write_bytes(dump_cache({**head, "version": "0/0"}, entries))


def _not_a_dict(p: Path) -> None:
    p.write_bytes(b"[1, 2, 3]\n[]\n")


def _records_not_lists(p: Path) -> None:
    head, entries, _ = parse_cache(p.read_bytes())
    p.write_bytes(dump_cache(head, {rel: {"x": 1} for rel in entries}))


def _lines_without_tabs(p: Path) -> None:
    p.write_bytes(p.read_bytes().replace(b"\t", b" "))


def _the_old_whole_json_format(p: Path) -> None:
    head, entries, _ = parse_cache(p.read_bytes())
    p.write_bytes(orjson.dumps({**head, "entries": entries}))


def _deep(p: Path) -> None:
    p.write_bytes(b"[" * 100_000 + b"]" * 100_000)


def _huge(p: Path) -> None:
    with open(p, "r+b") as f:  # sparse: no disk space used
        f.truncate(cachefiles.MAX_BYTES + 1)


def _millions_of_tiny_lines(p: Path) -> None:
    """A whole file by its header and count, of lines that cost more to index than to read
    every rollout: near the size bound, millions of them."""
    data = p.read_bytes()
    head = data[: data.find(b"\n") + 1]
    count = (cachefiles.MAX_BYTES - 4096) // 2
    p.write_bytes(head + b"\t\n" * count + orjson.dumps({"entries": count}) + b"\n")


def _a_folder(p: Path) -> None:
    p.unlink()
    p.mkdir()


def _a_fifo(p: Path) -> None:
    p.unlink()
    os.mkfifo(p)


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize(
    "spoil",
    [
        _truncated,
        _garbage,
        _other_version,
        _not_a_dict,
        _records_not_lists,
        _lines_without_tabs,
        _the_old_whole_json_format,
        _deep,
        _huge,
        _millions_of_tiny_lines,
        _a_folder,
        pytest.param(
            _a_fifo, marks=pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
        ),
    ],
)
def test_a_broken_cache_file_is_ignored_and_replaced(
    world: World, later: None, spoil: Callable[[Path], None]
) -> None:
    truth = invoke("scan", world.src, "--json")
    assert truth.code == 0
    cache = open_cache(open_home(world.src))
    assert cache is not None and cache.valid
    spoil(cache.path)
    out = invoke("scan", world.src, "--json")
    assert out.code == 0, out.text
    assert out.stdout == truth.stdout
    again = open_cache(open_home(world.src))
    if spoil is not _a_folder:  # a folder in its place stays (nothing of ours to remove)
        assert again is not None and again.valid and again.path.is_file()
    if cache.path.is_fifo():
        cache.path.unlink()


@pytest.mark.timeout(BOUND)
def test_a_cache_file_that_is_a_link_is_not_followed(world: World, later: None) -> None:
    truth = invoke("scan", world.src, "--json")
    cache = open_cache(open_home(world.src))
    assert cache is not None
    victim = world.tmp / "victim.json"
    victim.write_bytes(cache.path.read_bytes())
    before = victim.read_bytes()
    cache.path.unlink()
    cache.path.symlink_to(victim)
    out = invoke("scan", world.src, "--json")
    assert out.code == 0 and out.stdout == truth.stdout
    assert victim.read_bytes() == before  # neither read as ours nor written through
    assert not cache.path.is_symlink()


@pytest.mark.timeout(BOUND)
def test_a_cache_folder_that_cannot_be_made_is_no_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = world.tmp / "plain-file"
    blocker.write_text("x")
    monkeypatch.setenv("CODEX_MIGRATE_CACHE_DIR", str(blocker / "sub"))
    out = invoke("scan", world.src, "--json")
    assert out.code == 0, out.text
    assert blocker.read_text() == "x"


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_hostile_rollout_lists_the_same_cold_warm_and_off(
    world: World, later: None, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every hostile rollout of tests/hostile/test_rollouts.py with the cache warm (the other
    tests write their files just now: racy, never stored, so they see only a cold cache)."""
    KINDS[kind](world)
    cold = invoke("scan", world.src, "--json")
    cache = open_cache(open_home(world.src))
    assert cache is not None and cache.valid and cache.index  # the good threads stored
    warm = invoke("scan", world.src, "--json")
    monkeypatch.setenv("CODEX_MIGRATE_CACHE", "off")
    off = invoke("scan", world.src, "--json")
    assert cold.code == warm.code == off.code
    assert cold.stdout == warm.stdout == off.stdout
