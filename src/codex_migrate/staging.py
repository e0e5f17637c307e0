"""Writing a rewritten rollout beside the home, before a transaction moves it into place.

One streaming pass does everything a write needs: the rewrite, the hash the verification
checks, the facts a DB row needs, and (for paginated threads) the map from each old line start
to its new one, so byte offsets stored by Codex can be translated instead of dropped.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codex_migrate.bare import upgrade_lines
from codex_migrate.damage import Damage, DamageCount, find_damage
from codex_migrate.fsutil import open_regular_fd
from codex_migrate.merge import raw_lines
from codex_migrate.parallel import chunk_size, process_pool, worker_count
from codex_migrate.parallel import workers_ahead as start_ahead
from codex_migrate.pathmap import PathMapper
from codex_migrate.readahead import will_need
from codex_migrate.rollout import line_blocks, open_rollout
from codex_migrate.rolloutfacts import RolloutFacts
from codex_migrate.stagepass import rewrite_block
from codex_migrate.threadrow import RowFacts, row_facts
from codex_migrate.writeback import EarlyWriteback

if TYPE_CHECKING:
    from concurrent.futures import Future


@dataclass
class StagedFile:
    """What staging one rollout gives back. Thousands come back from the workers pickled:
    each goes as one tuple of plain values (:meth:`__reduce__`), its path as a string, so
    the main process, which writes the rows meanwhile, spends little on taking them in."""

    #: where the file is staged
    name: str
    sha256: str
    size: int
    #: the row's facts only (not the parsed lines): thousands of results are held at once
    facts: RowFacts
    changed_lines: int = 0
    #: old line start (and old end of file) -> new one; only when asked for.
    offsets: dict[int, int] = field(default_factory=dict)
    #: The staged file's inode: a rename keeps it, so the installed file can be checked to be
    #: the very file that was hashed without reading it again.
    inode: int = 0
    #: The source's unreadable lines, when the staging pass was asked to find them.
    damage: Damage | None = None
    #: The staged file's ``st_mtime`` as its file system keeps it (a rename keeps it): what
    #: a row's times come from, without a ``stat`` of the file in the main process.
    mtime: float = 0.0

    @property
    def path(self) -> Path:
        return Path(self.name)

    def __reduce__(self) -> tuple[type[StagedFile], tuple[Any, ...]]:
        # a Path costs the receiver ~15 µs to rebuild and a dataclass's state dict more
        # than calling the class: measured 3 000 results taken in 2.9 ms against 229 ms
        return (
            StagedFile,
            (
                self.name,
                self.sha256,
                self.size,
                self.facts,
                self.changed_lines,
                self.offsets,
                self.inode,
                self.damage,
                self.mtime,
            ),
        )


#: Rollouts are read and written in blocks of whole lines of about this size.
BLOCK_BYTES = 1024 * 1024


def stage_rewritten(
    source: Path | str,
    dest: Path | str,
    mapper: PathMapper,
    *,
    mtime: float,
    offsets: bool = False,
    rewrite_text: bool = False,
    bare_cwd: str | None = None,
    check_damage: bool = False,
) -> StagedFile:
    """Stream ``source`` through the rewrite into ``dest``; ``dest`` keeps ``mtime``
    (Codex derives ``updated_at`` from it). Durability is the caller's batch sync.
    ``check_damage``: also find the unreadable lines of ``source`` (the plan's check,
    done here on the bytes read anyway when the plan left it to the write). The paths may
    be strings: a worker stages thousands, and a ``Path`` costs ~10 µs to make and spell."""
    source, dest = os.fspath(source), os.fspath(dest)
    digest = hashlib.sha256()
    facts = RolloutFacts()
    old_pos = new_pos = 0
    changed = 0
    offset_map: dict[int, int] = {}
    check = DamageCount() if check_damage and bare_cwd is None else None
    # a converted 2025 rollout: the damage is the source's, not the converted lines'
    damage = find_damage(Path(source)) if check_damage and bare_cwd is not None else None
    with _source_blocks(source, bare_cwd) as blocks:
        out = _create(dest)
        try:
            for block in blocks:
                new, changes = rewrite_block(
                    block,
                    mapper,
                    rewrite_text=rewrite_text,
                    check=check,
                    facts=facts,
                    offsets=offset_map if offsets else None,
                    at=(old_pos, new_pos),
                )
                _write_all(out, new)
                digest.update(new)
                changed += len(changes)
                old_pos += len(block)
                new_pos += len(new)
            inode = os.fstat(out).st_ino  # the very file hashed (see StagedFile.inode)
        finally:
            os.close(out)
    if offsets:
        offset_map[old_pos] = new_pos
    if not facts.finish():
        facts = RolloutFacts()
        for raw in raw_lines(Path(dest)):
            facts.feed(raw)
    # the time is set once the file is closed (a network file system may stamp it at the
    # close), then read back as the file system keeps it: the row's times come from it
    os.utime(dest, (mtime, mtime))
    kept_mtime = os.stat(dest, follow_symlinks=False).st_mtime
    if check is not None:
        damage = check.result()
    return StagedFile(
        dest,
        digest.hexdigest(),
        new_pos,
        row_facts(facts),
        changed,
        offset_map,
        inode,
        damage,
        kept_mtime,
    )


@contextmanager
def _source_blocks(source: str, bare_cwd: str | None) -> Iterator[Iterable[bytes]]:
    """The blocks of whole lines :func:`rollout.line_blocks` gives of ``source``. A plain
    rollout smaller than a block (nearly all) is read in one ``os.read``, with no file
    object: the same blocks, at a few microseconds less a file (thousands of files)."""
    if bare_cwd is not None:  # a 2025 bare rollout, converted (bare.py) line by line
        with open_rollout(Path(source)):  # (what the stream below checks: a regular file)
            yield upgrade_lines(raw_lines(Path(source)), bare_cwd)
        return
    data = None if source.endswith(".zst") else _read_small(source)
    if data is not None:
        yield _whole_lines(data)
        return
    with open_rollout(Path(source)) as stream:
        yield line_blocks(stream, BLOCK_BYTES)


def _read_small(source: str) -> bytes | None:
    """All of ``source`` (a regular file, see ``fsutil.open_regular_fd``) when it holds
    less than :data:`BLOCK_BYTES`; None when it holds more (read it as a stream)."""
    fd, st = open_regular_fd(source)
    try:
        if st.st_size >= BLOCK_BYTES:
            return None
        chunks = [os.read(fd, st.st_size + 1)]  # one byte more: the end of the file is seen
        total = len(chunks[0])
        while chunks[-1] and total < BLOCK_BYTES:  # to the end, as a stream's read(n) goes
            chunks.append(os.read(fd, BLOCK_BYTES - total))
            total += len(chunks[-1])
        if total >= BLOCK_BYTES:
            return None
        return chunks[0] if len(chunks) == 2 else b"".join(chunks)  # (the 2nd: the end)
    finally:
        os.close(fd)


def _whole_lines(data: bytes) -> list[bytes]:
    """:func:`rollout.line_blocks` of a file whose bytes all came in its first read: its
    whole lines, then a last line without its newline."""
    cut = data.rfind(b"\n") + 1
    if 0 < cut < len(data):
        return [data[:cut], data[cut:]]
    return [data] if data else []


#: ``open(dest, "wb")``'s flags, for a bare descriptor (no file object to build)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def _create(dest: str) -> int:
    """``open(dest, "wb")`` as a descriptor, making its folder only when it is missing:
    staging is flat, so one ``mkdir`` serves thousands of files."""
    try:
        return os.open(dest, _WRITE_FLAGS, 0o666)
    except FileNotFoundError:
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        return os.open(dest, _WRITE_FLAGS, 0o666)


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until all of ``data`` is written (a write may take only part of it)."""
    done = os.write(fd, data)
    if done < len(data):
        view = memoryview(data)
        while done < len(data):
            done += os.write(fd, view[done:])


@dataclass(frozen=True)
class StageJob:
    """``source`` and ``dest`` may be given as strings: a job goes to a worker pickled, and
    a path there costs 15 µs to rebuild, a string nothing (thousands of jobs)."""

    source: Path | str
    dest: Path | str
    mtime: float
    offsets: bool = False
    rewrite_text: bool = False
    bare_cwd: str | None = None
    check_damage: bool = False


#: Below this much input, starting worker processes costs more than it saves.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024


def _pool_size(count: int, total_bytes: int) -> int:
    """The worker processes a staging of ``count`` jobs of ``total_bytes`` runs on; 0 where
    it runs in this process (one core, or too little work to pay for starting them)."""
    workers = worker_count()
    if workers < 2 or total_bytes < PARALLEL_MIN_BYTES or count < 2 * workers:
        return 0
    return workers


def _run_job(mapper: PathMapper, job: StageJob) -> StagedFile:
    return stage_rewritten(
        job.source,
        job.dest,
        mapper,
        mtime=job.mtime,
        offsets=job.offsets,
        rewrite_text=job.rewrite_text,
        bare_cwd=job.bare_cwd,
        check_damage=job.check_damage,
    )


def stage_many(
    jobs: list[StageJob],
    mapper: PathMapper,
    *,
    total_bytes: int,
    on_done: Callable[[int], None] | None = None,
) -> list[StagedFile]:
    """Stage every job, on all cores when the work is large: the rewrite is CPU-bound
    (JSON parsing of the lines that carry paths). Results come back in job order."""
    return list(
        iter_staged(jobs, mapper, count=len(jobs), total_bytes=total_bytes, on_done=on_done)
    )


def workers_ahead(count: int, total_bytes: int) -> AbstractContextManager[None]:
    """:func:`parallel.workers_ahead` for an :func:`iter_staged` of ``count`` jobs of
    ``total_bytes`` in this block, when that will stage on all cores."""
    workers = _pool_size(count, total_bytes)
    return start_ahead(workers) if workers else nullcontext()


#: Chunks of jobs handed to each worker ahead of the one being read back.
AHEAD_PER_WORKER = 4


def iter_staged(
    jobs: Iterable[StageJob],
    mapper: PathMapper,
    *,
    count: int,
    total_bytes: int,
    on_done: Callable[[int], None] | None = None,
) -> Generator[StagedFile, None, None]:
    """:func:`stage_many`, each result given as it comes (in job order), so a caller keeping
    only a little of each never holds thousands of them; ``jobs`` (``count`` of them) may be
    made as they are taken: on all cores only a few chunks are out at a time. On all cores
    the staged files also start going to disk as they come (:mod:`codex_migrate.writeback`)."""
    workers = _pool_size(count, total_bytes)
    if not workers:
        for n, job in enumerate(jobs, 1):
            yield _run_job(mapper, job)
            if on_done:
                on_done(n)
        return
    size = max(1, min(64, count // (workers * 8)))
    todo = iter(jobs)
    run = partial(_run_chunk, pickle.dumps(mapper, pickle.HIGHEST_PROTOCOL))
    done = taken = 0
    with process_pool(workers) as pool, EarlyWriteback() as early:
        out: deque[Future[list[StagedFile]]] = deque()

        def submit() -> None:
            nonlocal taken
            chunk = list(islice(todo, chunk_size(size, count - taken, workers * AHEAD_PER_WORKER)))
            taken += len(chunk)
            if chunk:
                out.append(pool.submit(run, chunk))

        for _ in range(workers * AHEAD_PER_WORKER):
            submit()
        while out:
            results = out.popleft().result()
            submit()
            for staged in results:
                done += 1
                early.staged(staged.name, staged.size)
                yield staged
                if on_done:
                    on_done(done)


#: The mapper a worker made of the last pickled one it was sent, with those bytes.
_LAST_MAPPER: list[tuple[bytes, PathMapper]] = []


def _worker_mapper(pickled: bytes) -> PathMapper:
    """The mapper ``pickled`` holds, one object for every chunk of a staging: what the
    staging pass works out per mapper (the rewriter, each value's mapping, see
    ``stagepass._rewriter``) is then worked out once a worker, not once a chunk."""
    if _LAST_MAPPER and _LAST_MAPPER[0][0] == pickled:
        return _LAST_MAPPER[0][1]
    mapper: PathMapper = pickle.loads(pickled)
    _LAST_MAPPER[:] = [(pickled, mapper)]
    return mapper


def _run_chunk(pickled_mapper: bytes, jobs: list[StageJob]) -> list[StagedFile]:
    mapper = _worker_mapper(pickled_mapper)
    will_need(job.source for job in jobs)  # the disk reads the chunk while the first is staged
    return [_run_job(mapper, job) for job in jobs]
