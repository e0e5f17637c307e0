"""Staging rewritten rollouts, in one process or on all cores, gives the same files."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import codex_migrate.staging as staging
from codex_migrate.pathmap import PathMapper
from codex_migrate.rollout import line_blocks
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


_CONTENTS = st.lists(
    st.sampled_from([b'{"a":1}\n', b"\n", b"x" * 40 + b"\n", b'{"b":"\\n"}', b"\r\n", b"z"]),
    max_size=12,
).map(b"".join)


@settings(deadline=None, max_examples=200)
@given(_CONTENTS, st.sampled_from([1, 7, 8, 9, 40, 64, 1024 * 1024]))
def test_property_a_small_rollout_read_whole_gives_the_streams_blocks(
    content: bytes, block_bytes: int
) -> None:
    """Staging reads a plain rollout under a block in one ``os.read``: the same blocks as
    :func:`rollout.line_blocks` of the stream, at every size around the block's."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "r.jsonl")
        src.write_bytes(content)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(staging, "BLOCK_BYTES", block_bytes)
            with staging._source_blocks(str(src), None) as blocks:
                got = list(blocks)
        with src.open("rb") as stream:
            assert got == list(line_blocks(stream, block_bytes))


def test_a_write_taking_part_of_the_bytes_is_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: write(fd, bytes(data[:3])))
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        staging._write_all(fd, b"0123456789")
    finally:
        os.close(fd)
    assert (tmp_path / "out").read_bytes() == b"0123456789"


def test_a_worker_makes_one_mapper_of_the_same_bytes() -> None:
    """Each chunk brings the pickled mapper; a worker keeps the one it made while the bytes
    are the same, so what the staging pass remembers per mapper serves every chunk."""
    first = pickle.dumps(PathMapper(["/Users/alex=/home/alex"]))
    other = pickle.dumps(PathMapper(["/Users/alex=/home/bob"]))
    mapper = staging._worker_mapper(first)
    assert staging._worker_mapper(bytes(first)) is mapper
    assert mapper.resolve("/Users/alex/p").new_path == "/home/alex/p"
    assert staging._worker_mapper(other).resolve("/Users/alex/p").new_path == "/home/bob/p"
    assert staging._worker_mapper(first) is not mapper  # only the last one is kept
