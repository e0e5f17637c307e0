"""Worker processes that never outlive us.

A kill -9 of codex-migrate must not leave workers behind: they would hold its pipes open and
keep writing into a transaction that recovery is rolling back. On Linux each worker asks the
kernel to kill it when its parent dies; elsewhere workers started by ``spawn`` see their pipe
close and stop.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    # Ctrl-C is the parent's to handle (it rolls back); a worker would only print a
    # KeyboardInterrupt traceback over the parent's message.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


#: The smallest chunk of jobs: one costs the main process ~0.3 ms to send and take back.
MIN_CHUNK = 4


def chunk_size(size: int, left: int, queued: int) -> int:
    """``size`` jobs per chunk, fewer as the last ``left`` are handed out, ``queued`` chunks
    being out at a time (guided scheduling): a worker given the last big chunk (64 rollouts)
    kept staging ~0.1 s after the other had nothing left to do."""
    return min(size, max(MIN_CHUNK, left // queued))


def worker_count() -> int:
    return min(os.cpu_count() or 1, 8)


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # imported here: multiprocessing costs every command's start-up, and few use a pool
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),)
    )


#: A pool started by :func:`workers_ahead`, by its count of workers, until a
#: :func:`process_pool` of that count takes it.
_AHEAD: dict[int, ProcessPoolExecutor] = {}


@contextmanager
def workers_ahead(workers: int) -> Iterator[None]:
    """Start the workers of the next ``process_pool(workers)`` in this block now: forking and
    setting them up (~30 ms) overlaps what the caller does before it has their first jobs.
    They are given no job of the caller's meanwhile; a pool not taken is stopped at the end."""
    if workers in _AHEAD:  # started by an outer block
        yield
        return
    pool = _new_pool(workers)
    pool.submit(int)  # a pool that forks starts all its workers at its first job
    _AHEAD[workers] = pool
    try:
        yield
    finally:
        if _AHEAD.get(workers) is pool:
            del _AHEAD[workers]
            pool.shutdown(wait=False)


@contextmanager
def process_pool(workers: int, *, ahead: bool = True) -> Iterator[ProcessPoolExecutor]:
    """A pool whose queued jobs are dropped, not finished, when the caller fails or is
    interrupted (Ctrl-C), so the rollback starts at once (it waits for the workers to stop:
    none may still write). A caller that ends normally has taken every result, so its idle
    workers are left to exit on their own instead of waited for (10-20 ms at the end of an
    import). ``ahead``: take the pool :func:`workers_ahead` started, if any (not for workers
    that must be forked after the caller set up what they read)."""
    pool = (_AHEAD.pop(workers, None) if ahead else None) or _new_pool(workers)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=False)
