"""Durable file operations: what every write of ours is built from.

A rename is only durable once its directory is fsynced; a copy only once the file is. These
helpers do both so the transaction code can state intent, not mechanics.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterable
from itertools import chain
from pathlib import Path
from typing import IO, Any


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry durable; a no-op where folders cannot be opened
    (Windows) or flushed (some network file systems)."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: Path | str) -> None:
    """fsync a written file; a read-only open suffices on POSIX (its mode may be 0444 by
    now), Windows needs a writable handle for FlushFileBuffers."""
    if os.name == "nt":
        with open(path, "rb+") as f:
            os.fsync(f.fileno())
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def syncfs(path: Path) -> bool:
    """Flush the file system holding ``path`` in one call (Linux ``syncfs``); False where
    that is not available, so the caller falls back to an fsync per file."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # here: every reader imports this module, few of them sync

    try:
        call = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        return int(call(fd)) == 0
    finally:
        os.close(fd)


def sync_files(paths: Iterable[Path | str], *, folder: Path | None = None) -> None:
    """Make many new files durable at once: one ``syncfs`` of their file system on Linux
    (thousands of fsyncs cost more than the copy), else an fsync each. ``folder``: one on
    their file system (else the first file's), so the paths are only looked at when the
    platform has no ``syncfs``."""
    todo = iter(paths)
    if folder is None:
        first = next(todo, None)
        if first is None:
            return
        folder = Path(first).parent
        todo = chain([first], todo)
    if syncfs(folder):
        return
    for p in todo:
        fsync_file(p)


def copy_durable(src: Path, dst: Path) -> None:
    """Copy bytes, mode and times, then fsync the copy and its folder."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    import shutil  # here: reading a home (a scan) never copies

    shutil.copy2(src, dst)
    fsync_file(dst)
    fsync_dir(dst.parent)


def replace_durable(src: Path, dst: Path) -> None:
    """Atomically move ``src`` over ``dst`` (same filesystem) and make it stick."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)
    fsync_dir(dst.parent)


def sha256_file(path: Path | str) -> str:
    import hashlib  # here: reading a home (a scan) never hashes

    h = hashlib.sha256()
    with open_regular(path) as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            h.update(block)
    return h.hexdigest()


class NotRegularFile(OSError):
    """A path we meant to read is a FIFO, socket, device or folder: reading it could block
    forever or never end, so it is refused by name instead."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def open_regular(path: Path | str, mode: str = "rb", encoding: str | None = None) -> IO[Any]:
    """Open ``path`` for reading only when it is a regular file.

    The open itself is non-blocking (a FIFO would otherwise block until a writer appears) and
    the check is on the opened descriptor, so a file swapped for a pipe in between is still
    caught. Raises :class:`NotRegularFile` (an OSError) naming what it is.
    """
    return open_regular_stat(path, mode, encoding)[0]


def open_regular_stat(
    path: Path | str, mode: str = "rb", encoding: str | None = None
) -> tuple[IO[Any], os.stat_result]:
    """:func:`open_regular`, with the opened file's stat (a scan needs size and mtime)."""
    if mode not in ("rb", "r"):
        raise ValueError(f"open_regular reads only, not {mode!r}")
    fd, st = open_regular_fd(path)
    try:
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, mode, encoding=encoding if mode == "r" else None), st
    except BaseException:
        os.close(fd)
        raise


#: Read-only, and non-blocking so a FIFO does not block the open; computed once (a scan opens
#: thousands of files, and ``getattr`` of a missing name raises and formats an error each time).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def open_regular_fd(path: Path | str) -> tuple[int, os.stat_result]:
    """:func:`open_regular_stat` as a bare descriptor (still non-blocking, which a regular
    file ignores) for a reader that takes a small file in one ``os.read``: no file object
    to build. The caller closes it."""
    fd = os.open(path, _READ_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(errno.EINVAL, f"{_kind(st.st_mode)}, not a file", str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def check_regular(path: Path | str) -> None:
    """Raise :class:`NotRegularFile` unless ``path`` (followed) is a regular file; for
    readers that open by name themselves (SQLite, tarfile)."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(errno.EINVAL, f"{_kind(st.st_mode)}, not a file", str(path))
