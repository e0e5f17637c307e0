"""The heads of a big home read on every core, for a plan that a write waits for.

An import reads every rollout head of its source before it stages anything: in one process
that was ~0.4 s of one core at 3 000 threads while the other idled. Here forked worker
processes read the heads in chunks (the list of files is in their copy of our memory) and send
the threads back pickled (~15 µs a thread: a tenth of reading one), taken in order as they
come. That costs ~0.05-0.1 s more CPU in all, so a listing (``scan``), whose measure is CPU,
keeps reading in one process (:func:`catalog._read_all`), and so does a plan made while the
other cores are busy (the pool then only adds its cost).
"""

from __future__ import annotations

import itertools
import os
import sys
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from codex_migrate import keptmeta
from codex_migrate.catalog import _read_all
from codex_migrate.catalog_thread import META_KEYS, Thread, _shared, read_or_why
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
    are many and workers start forked: the same threads (or reasons), in the same order."""
    workers = worker_count()
    if workers < 2 or len(refs) < PARALLEL_MIN_FILES or not _forked() or _busy(workers):
        return _read_all(home, refs)
    return _pooled(home, refs, workers)


def _busy(workers: int) -> bool:
    """Whether the cores are taken already (the load average, ours and a benchmark's
    included, past the core count + 1): then the workers only add their cost. Measured at
    3 000 threads on 2 cores under loads of 5-8: the plan 0.2-0.3 s slower on the pool than
    in one process."""
    try:
        return os.getloadavg()[0] > workers + 1
    except (AttributeError, OSError):  # not known here (Windows)
        return False


def _forked() -> bool:
    """Whether workers start as forks of this process (Linux): in ~15 ms, with every module
    loaded and the list of files to read already in their memory. Started anew (spawn,
    forkserver: macOS, Windows, Python 3.14's default) each would import the package first
    (~0.2 s) and be sent its files: the heads are then read here."""
    import multiprocessing  # loaded here: the pool needs it anyway, a small home never

    return multiprocessing.get_start_method() == "fork"


#: What the workers read, by a key of each read under way: set before the pool forks them
#: (they find it in their copy of this process's memory), so a job is two numbers, not a
#: list of paths pickled and rebuilt (~15 µs a path).
_READING: dict[int, tuple[CodexHome, list[RolloutRef]]] = {}
_KEYS = itertools.count()


def _pooled(home: CodexHome, refs: list[RolloutRef], workers: int) -> Iterator[Thread | str]:
    root = sys.intern(str(home.root))
    size = max(8, min(CHUNK, len(refs) // (workers * 8)))
    taken = 0
    key = next(_KEYS)
    _READING[key] = (home, refs)
    try:
        with process_pool(workers, ahead=False) as pool:  # forked after _READING is set
            out: deque[tuple[int, int, Future[list[Thread | str] | None]]] = deque()

            def submit() -> None:
                nonlocal taken
                start = taken
                taken += chunk_size(size, len(refs) - start, workers * AHEAD_PER_WORKER)
                taken = min(taken, len(refs))
                if taken > start:
                    out.append((start, taken, pool.submit(_read_chunk, key, start, taken)))

            for _ in range(workers * AHEAD_PER_WORKER):
                submit()
            while out:
                start, end, job = out.popleft()
                results = job.result()
                submit()
                if results is None:  # read here, where its error is raised as in one process
                    results = list(_read_all(home, refs[start:end]))
                for result in results:
                    if type(result) is Thread:
                        _share(result, root)
                    yield result
    finally:
        del _READING[key]


def _share(thread: Thread, root: str) -> None:
    """What one process shares between a home's threads (see ``catalog_thread.read_thread``),
    shared again: a pickled chunk came with copies of its own."""
    thread.home_root = root
    thread.rollout_cwd = _shared(thread.rollout_cwd)
    thread.source = _shared(thread.source)
    thread.model_provider = _shared(thread.model_provider)
    thread.cli_version = _shared(thread.cli_version)
    kept = thread.kept_meta
    if kept is not None and len(kept) < len(META_KEYS):  # compacted: see keptmeta.compact
        thread.kept_meta = keptmeta.compact((thread.created_at, *kept), thread.created_at)


def _read_chunk(key: int, start: int, end: int) -> list[Thread | str] | None:
    """The threads (or why not, per file) of ``refs[start:end]`` of the read ``key``; None
    when reading one raised: the caller reads them again itself (an exception may not
    survive pickling as it was)."""
    try:
        home, refs = _READING[key]
        root = sys.intern(str(home.root))
        return [read_or_why(home, ref, root) for ref in reading_ahead(refs[start:end])]
    except Exception:
        return None
