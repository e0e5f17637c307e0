"""The listing cache's folder and files (see :mod:`catalog_cache`): where they live, read
without following a link or blocking on a FIFO and within a size bound, written atomically
(0600 in a 0700 folder), and no more than :data:`KEEP` of them."""

from __future__ import annotations

import contextlib
import errno
import itertools
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
    the cache off."""
    if _off or os.environ.get("CODEX_MIGRATE_CACHE", "").strip().lower() in _OFF:
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


def read_bytes(path: Path) -> bytes | None:
    """The bytes of ``path`` when it is a regular file (not a link, not a FIFO) within
    :data:`MAX_BYTES`, else None: a cache file is input, and a bad one is only a miss."""
    try:
        fd = os.open(path, _READ)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
            return None
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_BYTES:
                return None
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def write_atomic(folder: Path, name: str, pieces: Iterable[bytes]) -> bool:
    """``folder/name`` replaced by the joined ``pieces`` as a whole (temp file, fsync,
    rename: a reader sees the old file or the new one; of two writers the last wins),
    written a megabyte at a time (the whole is never held joined); False when it cannot be
    written or would pass :data:`MAX_BYTES`, which is no error (the next read is a miss).
    Then :func:`prune`."""
    tmp = folder / f".{name}.{os.urandom(6).hex()}.tmp"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, _WRITE, 0o600)
        try:
            batch: list[bytes] = []
            size = total = 0
            for piece in itertools.chain(pieces, [b""]):
                batch.append(piece)
                size += len(piece)
                if size >= 1 << 20 or not piece:
                    total += size
                    if total > MAX_BYTES:
                        raise OSError(errno.EFBIG, "the cache would be too big")
                    view = memoryview(b"".join(batch))
                    while view:
                        view = view[os.write(fd, view) :]
                    batch, size = [], 0
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, folder / name)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False
    prune(folder)
    return True


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
