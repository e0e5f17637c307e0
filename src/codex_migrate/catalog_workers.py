"""The heads of a big home read on every core, for a plan that a write waits for.

An import reads every rollout head of its source before it stages anything: in one process
that was ~0.4 s of one core at 3 000 threads while the other idled. Here worker processes read
the heads in chunks and send the threads back pickled (~15 µs a thread, measured: a few
percent of reading one), taken in order as they come. A listing (``scan``) keeps reading in
one process (:func:`catalog._read_all`): its measure is CPU, which the pool's start-up and
the pickling add to.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from codex_migrate.catalog import Thread, _read_all, _read_one
from codex_migrate.home import CodexHome, RolloutRef
from codex_migrate.parallel import chunk_size, process_pool, worker_count
from codex_migrate.readahead import reading_ahead

if TYPE_CHECKING:
    from concurrent.futures import Future

#: Below this many files to read, starting worker processes costs more than it saves.
PARALLEL_MIN_FILES = 512
#: Files a worker reads per job (fewer towards the end: :func:`parallel.chunk_size`), and
#: jobs handed to each worker ahead of the one taken.
CHUNK = 64
AHEAD_PER_WORKER = 4


def read_all_parallel(home: CodexHome, refs: list[RolloutRef]) -> Iterator[Thread | str]:
    """:func:`catalog._read_all` (a :data:`catalog.ReadAll`), on all cores when ``refs``
    are many: the same threads (or reasons), in the same order."""
    workers = worker_count()
    if workers < 2 or len(refs) < PARALLEL_MIN_FILES or len(refs) < _min_files():
        return _read_all(home, refs)
    return _pooled(home, refs, workers)


def _min_files() -> int:
    """A forked worker starts in ~15 ms with every module loaded; one started anew (spawn,
    forkserver: macOS, Windows, Python 3.14's default) imports them first, ~0.2 s: worth it
    only for a far bigger home."""
    import multiprocessing  # loaded here: the pool needs it anyway, a small home never

    return PARALLEL_MIN_FILES * (1 if multiprocessing.get_start_method() == "fork" else 8)


def _pooled(home: CodexHome, refs: list[RolloutRef], workers: int) -> Iterator[Thread | str]:
    root = sys.intern(str(home.root))
    # what reading a head needs of the home: its root (the lists of findings stay here)
    slim = replace(home, found=[], missing=[], unusable=[], unreadable_dirs=[])
    size = max(8, min(CHUNK, len(refs) // (workers * 8)))
    taken = 0
    with process_pool(workers) as pool:
        out: deque[tuple[list[RolloutRef], Future[list[Thread | str] | None]]] = deque()

        def submit() -> None:
            nonlocal taken
            step = chunk_size(size, len(refs) - taken, workers * AHEAD_PER_WORKER)
            chunk = refs[taken : taken + step]
            taken += len(chunk)
            if chunk:
                out.append((chunk, pool.submit(_read_chunk, slim, chunk)))

        for _ in range(workers * AHEAD_PER_WORKER):
            submit()
        while out:
            chunk, job = out.popleft()
            results = job.result()
            submit()
            if results is None:  # read here, where its error is raised as in one process
                results = list(_read_all(home, chunk))
            for result in results:
                if type(result) is Thread:
                    result.home_root = root  # one string for the home's threads, as read here
                yield result


def _read_chunk(home: CodexHome, refs: list[RolloutRef]) -> list[Thread | str] | None:
    """The chunk's threads (or why not, per file); None when reading one raised: the caller
    reads that chunk again itself (an exception may not survive pickling as it was)."""
    root = sys.intern(str(home.root))
    try:
        return [_read_one(home, ref, root) for ref in reading_ahead(refs)]
    except Exception:
        return None
