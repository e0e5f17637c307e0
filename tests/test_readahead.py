"""Readahead: a hint that never reads, blocks on or changes anything it is given."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

import codex_migrate.readahead as readahead
import codex_migrate.staging as staging
from codex_migrate.pathmap import PathMapper
from codex_migrate.staging import StageJob
from tests.homes import write_rollout


@pytest.mark.timeout(10)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_skips_what_is_not_a_regular_file_without_blocking(tmp_path: Path) -> None:
    regular = tmp_path / "a.jsonl"
    regular.write_bytes(b'{"type":"x"}\n')
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)  # an open for reading without O_NONBLOCK would wait for a writer
    to_fifo = tmp_path / "link.jsonl"
    to_fifo.symlink_to(fifo)
    folder = tmp_path / "dir.jsonl"
    folder.mkdir()
    readahead.will_need([regular, fifo, to_fifo, folder, tmp_path / "missing.jsonl"])
    assert regular.read_bytes() == b'{"type":"x"}\n'


def test_asks_the_kernel_for_each_regular_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []
    monkeypatch.setattr(
        readahead, "_advise", lambda fd, off, n, how: asked.append(os.fstat(fd).st_size)
    )
    files = []
    for n in range(3):
        f = tmp_path / f"{n}.jsonl"
        f.write_bytes(b"x" * (n + 1))
        files.append(str(f))
    readahead.will_need(files)
    assert asked == [1, 2, 3]


def test_nothing_where_the_platform_has_no_fadvise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readahead, "_advise", None)
    readahead.will_need([tmp_path / "missing"])  # nothing opened, nothing raised


def test_a_worker_chunk_hints_its_sources_before_staging_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = [write_rollout(tmp_path / "src", n, cwd="/old/app") for n in range(3)]
    hinted: list[list[str]] = []
    monkeypatch.setattr(staging, "will_need", lambda paths: hinted.append([str(p) for p in paths]))
    jobs = [StageJob(str(s), str(tmp_path / "out" / s.name), mtime=1e9) for s in sources]
    staged = staging._run_chunk(pickle.dumps(PathMapper([])), jobs)
    assert hinted == [[str(s) for s in sources]]
    assert [s.path.read_bytes() for s in staged] == [s.read_bytes() for s in sources]


class _Ref:
    def __init__(self, n: int) -> None:
        self.text = f"/nowhere/{n}"


class _Disk:
    """Blocks read so far: a window's worth more at each look while ``reading`` (the reader
    goes to disk), a few otherwise (metadata)."""

    def __init__(self) -> None:
        self.blocks = 0
        self.reading = False

    def blocks_read(self) -> int:
        self.blocks += readahead.COLD_BLOCKS if self.reading else readahead.COLD_BLOCKS // 8
        return self.blocks


def _read(monkeypatch: pytest.MonkeyPatch, wait_from: int) -> list[str]:
    disk = _Disk()
    monkeypatch.setattr(readahead, "_blocks_read", disk.blocks_read)
    events: list[str] = []
    monkeypatch.setattr(
        readahead,
        "will_need",
        lambda paths: events.append("hint " + ",".join(Path(p).name for p in paths)),
    )
    for ref in readahead.reading_ahead([_Ref(n) for n in range(10)], window=4):
        name = Path(ref.text).name
        disk.reading = int(name) >= wait_from
        events.append("read " + name)
    return events


def test_reading_ahead_hints_nothing_while_the_files_come_from_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _read(monkeypatch, wait_from=99) == [f"read {n}" for n in range(10)]


def test_reading_ahead_hints_a_window_ahead_once_reading_goes_to_disk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _read(monkeypatch, wait_from=0) == [
        *(f"read {n}" for n in range(4)),
        "hint 4,5,6,7,8,9",  # the window about to be read and the next
        *(f"read {n}" for n in range(4, 8)),
        *(f"read {n}" for n in range(8, 10)),  # hinted already
    ]


def test_blocks_read_counts_what_comes_from_disk(tmp_path: Path) -> None:
    before = readahead._blocks_read()
    (tmp_path / "a").write_bytes(b"x")
    assert readahead._blocks_read() >= before  # a real counter, never going back
