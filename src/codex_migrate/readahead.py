"""Tell the kernel which files are read next, so their disk reads overlap the work.

A first scan or import reads its source from disk (a backup just copied off a drive, a home
synced in, sessions untouched since the last boot): the reader then waits for the disk at
every file it opens, one file at a time. ``posix_fadvise(WILLNEED)`` on the files about to be
read starts all their reads at once, and the reader finds them in memory: each staging worker
hints its chunk, and the catalog's head reading hints a window ahead once it sees it is
reading from disk.

A hint only: it never changes what is read, a file that cannot be opened is skipped here and
reported by the reader that needs it, and where ``posix_fadvise`` is missing (macOS, Windows)
nothing is done.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol, TypeVar


class _File(Protocol):
    @property
    def text(self) -> str: ...  # the file's path (a RolloutRef's: no Path made to hint it)


T = TypeVar("T", bound=_File)

#: Files hinted at a time by :func:`reading_ahead`, one window ahead of the reader.
WINDOW = 64
#: Blocks (512 bytes) a window of :func:`reading_ahead` must read from disk to count as cold:
#: a window of real rollouts read from disk reads thousands (64 × ~40 KB); one from memory
#: still reads a few dozen now and then (folders and inodes the kernel let go).
COLD_BLOCKS = 256

_advise = getattr(os, "posix_fadvise", None)
if _advise is not None:  # POSIX: the resource module is there too
    import resource
_WILLNEED = getattr(os, "POSIX_FADV_WILLNEED", 0)
#: As a reader opens a file (never blocking on a FIFO), but never through a link: a hint
#: comes before the reader's own checks, and a rollout linking out of the home is never
#: opened (``home.check_inside``); a link inside it is left unhinted.
_HINT_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)


def will_need(paths: Iterable[Path | str]) -> None:
    """Start reading every regular file of ``paths`` into the page cache, without waiting;
    anything else (a FIFO, a device, a link) is left alone."""
    if _advise is None:
        return
    for path in paths:
        try:
            fd = os.open(path, _HINT_FLAGS)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                _advise(fd, 0, 0, _WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


def reading_ahead(items: Sequence[T], window: int = WINDOW) -> Iterator[T]:
    """``items`` in order; once reading them goes to the disk, their files (``.text`` of
    each) are hinted a window ahead, so the disk reads the next window while this one is
    summarised. While the files come from memory (the common case of a home in use: less
    than :data:`COLD_BLOCKS` read from disk in a window) nothing is hinted: a hint costs an
    ``open`` a file, about 5 % of a scan that waits for nothing."""
    if _advise is None:
        yield from items
        return
    hinted = 0
    cold = False
    for start in range(0, len(items), window):
        before = _blocks_read()  # a hint's own disk reads count: hinted windows stay cold
        ahead = items[max(hinted, start) : start + 2 * window] if cold else ()
        if ahead:
            will_need(item.text for item in ahead)
            hinted = start + 2 * window
        yield from items[start : start + window]
        cold = _blocks_read() - before >= COLD_BLOCKS


def _blocks_read() -> int:
    """Blocks this process has read from a disk so far (a read served from memory adds none)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_inblock
