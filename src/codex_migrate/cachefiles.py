"""The listing cache's folder and files (see :mod:`catalog_cache`): where they live, read
without following a link or blocking on a FIFO and within a size bound, written atomically
(0600 in a 0700 folder), and no more than :data:`KEEP` of them."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

#: A sane bound for one cache file (about 150 000 threads; 3 000 take 1.3 MB): a bigger one
#: is neither read (its parse alone would cost hundreds of MB) nor written.
MAX_BYTES = 64 << 20
KEEP = 16  #: cache files kept (one per home), the most recently used
_OFF = ("off", "0", "no", "false")
_NAME_RE = re.compile(r"^[0-9a-f]{32}\.json$")
_TMP_RE = re.compile(r"^\.[0-9a-f]{32}\.json\.[0-9a-f]+\.tmp$")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | _NOFOLLOW
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | _NOFOLLOW


_off = False  #: set by :func:`cache_off` (``codex-migrate --no-cache``)
#: Whether ``st_ctime`` is the inode change time. On Windows it is the creation time, and
#: inode, size and mtime alone miss a same-size rewrite that keeps the mtime (a same-length
#: ``rebind`` does that): there the cache is off rather than ever wrong.
CHANGE_TIME = os.name != "nt"


@contextlib.contextmanager
def cache_off() -> Iterator[None]:
    """No cache while the block runs (the CLI's ``--no-cache``: one command's lifetime)."""
    global _off
    was, _off = _off, True
    try:
        yield
    finally:
        _off = was


def cache_dir() -> Path | None:
    """Where cache files go; None when ``CODEX_MIGRATE_CACHE`` (or ``--no-cache``) turns
    the cache off, and on Windows (see :data:`CHANGE_TIME`)."""
    if _off or not CHANGE_TIME or os.environ.get("CODEX_MIGRATE_CACHE", "").strip().lower() in _OFF:
        return None
    given = os.environ.get("CODEX_MIGRATE_CACHE_DIR")
    if given:
        return Path(given).expanduser()
    return user_cache_dir()


def user_cache_dir() -> Path:
    """The user's cache folder for this tool, by platformdirs' rules (three rules: the
    standard library is enough, and the single-file executable carries no new package)."""
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(local, "codex-migrate", "Cache")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "codex-migrate"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return Path(xdg if os.path.isabs(xdg) else Path.home() / ".cache", "codex-migrate")


#: A cache file as read: device, inode, size, mtime and ctime (ns); the same stamp at a
#: second read is the same file, unchanged (it is only ever replaced whole, by a rename).
Stamp = tuple[int, int, int, int, int]


def read_file(path: Path) -> tuple[bytes, Stamp] | None:
    """The bytes and stamp of ``path`` when it is a regular file (not a link, not a FIFO)
    within :data:`MAX_BYTES`, else None: a cache file is input, and a bad one is only a miss."""
    try:
        fd = os.open(path, _READ)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
            return None
        # read whole at once (one buffer, not a megabyte at a time then joined: the joined
        # copy doubled the load, and freeing the pieces made malloc keep later big buffers
        # on its heap, where freeing them gives nothing back: see catalog_cache's pieces)
        chunks = list(_chunks(fd, MAX_BYTES + 1, st.st_size + 1))
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return None if len(data) > MAX_BYTES else (data, _stamp(st))
    except OSError:
        return None
    finally:
        os.close(fd)


def read_again(path: Path, stamp: Stamp) -> Iterator[bytes]:
    """The file :func:`read_file` read, again, a megabyte at a time (never held whole);
    OSError when it is no longer that file unchanged (another stamp, another length)."""
    fd = os.open(path, _READ)
    try:
        if _stamp(os.fstat(fd)) != stamp:
            raise OSError(errno.ESTALE, "the cache file changed")
        size = 0
        for chunk in _chunks(fd, stamp[2] + 1):
            size += len(chunk)
            yield chunk
        if size != stamp[2]:
            raise OSError(errno.ESTALE, "the cache file changed")
    finally:
        os.close(fd)


def lines_at(chunks: Iterable[bytes], starts: list[int]) -> Iterator[bytes]:
    """The lines (each with its newline) that begin at the offsets ``starts`` (ascending) of
    the bytes that ``chunks`` make, in that order; every chunk is read. ValueError when a
    line is not there whole (the bytes end first) or ``starts`` goes back."""
    buf, base, n = b"", 0, 0  # buf: the bytes from offset base on that may still be needed
    done = 0  # where the last line taken ends
    for chunk in chunks:
        buf = buf + chunk if buf else chunk
        while n < len(starts):
            at = starts[n] - base
            if starts[n] < done:
                raise ValueError("the lines' starts are not ascending")
            end = buf.find(b"\n", at)
            if end < 0:
                break
            yield buf[at : end + 1]
            done, n = base + end + 1, n + 1
        keep = min(starts[n] - base, len(buf)) if n < len(starts) else len(buf)
        base, buf = base + keep, buf[keep:]
    if n < len(starts):
        raise ValueError("a line is cut short")


def _chunks(fd: int, limit: int, first: int = 1 << 20) -> Iterator[bytes]:
    """Up to about ``limit`` bytes of ``fd``: ``first`` bytes, then a megabyte at a time."""
    total, size = 0, min(first, limit)
    while total < limit and (chunk := os.read(fd, size)):
        total += len(chunk)
        size = 1 << 20
        yield chunk


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class AtomicFile:
    """A cache file written as it is made, a megabyte at a time (its whole is never held in
    memory), into a temp file that :meth:`commit` renames over ``folder/name`` (a reader
    sees the old file or the new one; of two writers the last wins) and :meth:`abort`
    removes. A write that fails or passes :data:`MAX_BYTES` drops the file: no error. Not
    synced first: a cache file the system lost part of in a crash is cut short or fails its
    checksum, and is then ignored whole and written again (an import waited for that sync
    before it could plan)."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        self.tmp = folder / f".{name}.{os.urandom(6).hex()}.tmp"
        self.batch: list[bytes] = []
        self.size = self.total = 0
        self.fd: int | None = None
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.fd = os.open(self.tmp, _WRITE, 0o600)
        except OSError:
            pass

    def write(self, piece: bytes) -> None:
        if self.fd is None:
            return
        self.batch.append(piece)
        self.size += len(piece)
        if self.size >= 1 << 20:
            self._flush()

    def _flush(self) -> None:
        if self.fd is None:
            return
        self.total += self.size
        try:
            if self.total > MAX_BYTES:
                raise OSError(errno.EFBIG, "the cache would be too big")
            view = memoryview(b"".join(self.batch))
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError:
            self.abort()
        self.batch, self.size = [], 0

    def commit(self) -> bool:
        """Rename into place, then :func:`prune`; False when it was not written."""
        self._flush()
        if self.fd is None:
            return False
        fd, self.fd = self.fd, None
        try:
            os.close(fd)
            os.replace(self.tmp, self.folder / self.name)
        except OSError:
            with contextlib.suppress(OSError):
                self.tmp.unlink()
            return False
        prune(self.folder)
        return True

    def abort(self) -> None:
        """Drop the temp file (nothing once committed)."""
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd, self.batch = None, []
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def touch(path: Path) -> None:
    """Mark a cache file as just used (see :func:`prune`)."""
    with contextlib.suppress(OSError):
        if os.utime in os.supports_follow_symlinks:
            os.utime(path, follow_symlinks=False)  # a link put there is not followed
        else:
            os.utime(path)


def prune(folder: Path) -> None:
    """Keep the :data:`KEEP` most recently used cache files of ``folder`` (and no temp file
    an interrupted writer left over an hour ago); only files named as ours are removed."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    ours: list[tuple[float, str]] = []
    for name in names:
        is_cache, is_tmp = _NAME_RE.match(name), _TMP_RE.match(name)
        if not (is_cache or is_tmp):
            continue
        try:
            st = os.lstat(folder / name)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if is_cache:
            ours.append((st.st_mtime, name))
        elif now - st.st_mtime > 3600:
            with contextlib.suppress(OSError):
                os.unlink(folder / name)
    for _, name in sorted(ours, reverse=True)[KEEP:]:
        with contextlib.suppress(OSError):
            os.unlink(folder / name)
