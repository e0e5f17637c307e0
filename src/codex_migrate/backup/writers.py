"""Writers of a backup: a folder, a streamed ``.tar.zst`` or a ``.zip``; each file copied once."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from codex_migrate.backup.select import ZIP_LEVEL, ZSTD_LEVEL, SourceChanged
from codex_migrate.fsutil import fsync_dir, fsync_file, syncfs
from codex_migrate.manifest import (
    CHUNK,
    MANIFEST_NAME,
    Manifest,
)

# -- writing ------------------------------------------------------------------------------------


class _Reader:
    """Reads exactly ``size`` bytes of a source, hashing them and counting progress."""

    def __init__(
        self, stream: IO[bytes], size: int, name: str, tick: Callable[[int], None]
    ) -> None:
        self._stream = stream
        self.remaining = size
        self._name = name
        self._tick = tick
        self.digest = hashlib.sha256()
        self.head = b""

    def read(self, n: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        want = self.remaining if n is None or n < 0 else min(n, self.remaining)
        data = self._stream.read(want)
        while 0 < len(data) < want:  # a short read is not the end of the file
            more = self._stream.read(want - len(data))
            if not more:
                break
            data += more
        if len(data) < want:
            raise SourceChanged(
                f"{self._name} shrank while it was backed up.",
                hint="Something rewrote it meanwhile; close Codex and run the backup again.",
            )
        if not self.head:
            self.head = data[:65536]
        self.remaining -= len(data)
        self.digest.update(data)
        self._tick(len(data))
        return data

    def drain(self) -> None:
        """Hash the rest without writing it anywhere."""
        while self.remaining > 0:
            self.read(CHUNK)


def _copy_exact(reader: _Reader, out: IO[bytes]) -> None:
    while reader.remaining > 0:
        out.write(reader.read(CHUNK))


def _create(path: Path, *, read: bool = False) -> IO[bytes]:
    """A new file, private while it is written; fails if anything is already there."""
    flags = (os.O_RDWR if read else os.O_WRONLY) | os.O_CREAT | os.O_EXCL
    flags |= getattr(os, "O_BINARY", 0)
    return os.fdopen(os.open(path, flags, 0o600), "w+b" if read else "wb")


def _close_durably(fh: IO[bytes], fsync: bool) -> None:
    """An archive's last step, once its format closed: its bytes flushed, on the disk when
    ``fsync`` (the manifest was the last thing written), the file closed."""
    fh.flush()
    if fsync:
        os.fsync(fh.fileno())
    fh.close()


class _Writer(Protocol):
    """Where backed-up files go: a folder, or one archive stream."""

    format: str

    def add_dir(self, rel: str, mtime_ns: int, mode: int | None) -> None: ...

    def add_file(
        self, rel: str, reader: _Reader, size: int, mtime_ns: int, mode: int | None
    ) -> None: ...

    def finish(self, manifest: Manifest) -> None: ...

    def close(self) -> None: ...


class _FolderWriter:
    """Writes into ``root``, a folder nobody takes for a backup until it is renamed.

    Durability is settled once, before the rename: on Linux one ``syncfs`` flushes the whole
    backup (per-file fsync made a 3,000-file backup 4x slower); elsewhere each file is synced.
    """

    format = "folder"

    def __init__(self, root: Path, fsync: bool) -> None:
        self.root = root
        self.fsync = fsync
        self.written: list[Path] = []
        root.mkdir(mode=0o700)

    def add_dir(self, rel: str, mtime_ns: int, mode: int | None) -> None:
        (self.root / rel).mkdir(mode=0o700, parents=True, exist_ok=True)

    def add_file(
        self, rel: str, reader: _Reader, size: int, mtime_ns: int, mode: int | None
    ) -> None:
        target = self.root / rel
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _create(target) as out:
            _copy_exact(reader, out)
        self.written.append(target)
        self._finish_file(target, mtime_ns, mode)

    def move_in(self, rel: str, staged: Path, mtime_ns: int, mode: int | None) -> None:
        """A DB snapshot already written and synced next door: move it into place."""
        target = self.root / rel
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.replace(staged, target)
        self.written.append(target)
        self._finish_file(target, mtime_ns, mode)

    @staticmethod
    def _finish_file(target: Path, mtime_ns: int, mode: int | None) -> None:
        if mode is not None and os.name != "nt":
            os.chmod(target, mode)
        os.utime(target, ns=(mtime_ns, mtime_ns))

    def finish(self, manifest: Manifest) -> None:
        path = self.root / MANIFEST_NAME
        with _create(path) as out:
            out.write(manifest.to_bytes())
        self.written.append(path)
        # Deepest first, so a child's entry does not move its parent's mtime again.
        dirs = sorted(manifest.dirs, key=lambda d: d.path.count("/"), reverse=True)
        for d in dirs:
            target = self.root / d.path
            if d.mode is not None and os.name != "nt":
                os.chmod(target, d.mode)
            os.utime(target, ns=(d.mtime_ns, d.mtime_ns))
        if self.fsync and not syncfs(self.root):
            for f in self.written:
                fsync_file(f)
            for d in dirs:
                fsync_dir(self.root / d.path)
            fsync_dir(self.root)

    def close(self) -> None:
        pass


class _TarZstWriter:
    """A ``.tar.zst`` written as one stream: PAX tar into a multi-threaded zstd frame."""

    format = "tar.zst"

    def __init__(self, path: Path, fsync: bool, threads: int = -1) -> None:
        import zstandard

        self.path = path
        self.fsync = fsync
        self._fh = _create(path)
        cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=threads)
        self._zst = cctx.stream_writer(self._fh, closefd=False)
        # Plain "w" on the zstd stream: tarfile only appends and never seeks in that mode, and
        # it skips the re-buffering of "w|", which copies its whole buffer on every write.
        self._tar = tarfile.TarFile(
            fileobj=self._zst,
            mode="w",
            format=tarfile.PAX_FORMAT,
            copybufsize=CHUNK,
        )

    @staticmethod
    def _info(rel: str, size: int, mtime_ns: int, mode: int | None, kind: bytes) -> tarfile.TarInfo:
        info = tarfile.TarInfo(rel)
        info.size = size
        info.mtime = mtime_ns / 1e9
        info.type = kind
        default = 0o700 if kind == tarfile.DIRTYPE else 0o600
        info.mode = default if mode is None else mode
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    def add_dir(self, rel: str, mtime_ns: int, mode: int | None) -> None:
        self._tar.addfile(self._info(rel, 0, mtime_ns, mode, tarfile.DIRTYPE))
        self._tar.getmembers().clear()

    def add_file(
        self, rel: str, reader: _Reader, size: int, mtime_ns: int, mode: int | None
    ) -> None:
        info = self._info(rel, size, mtime_ns, mode, tarfile.REGTYPE)
        self._tar.addfile(info, reader)
        # tarfile keeps every header it wrote (memory grows per file); in "w" mode
        # getmembers() is that very list and nothing reads it again.
        self._tar.getmembers().clear()

    def finish(self, manifest: Manifest) -> None:
        data = manifest.to_bytes()
        info = self._info(MANIFEST_NAME, len(data), time.time_ns(), 0o600, tarfile.REGTYPE)
        self._tar.addfile(info, io.BytesIO(data))
        self._tar.close()
        self._zst.flush(zstd_flush_frame())
        self._zst.close()
        _close_durably(self._fh, self.fsync)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._fh.close()


def zstd_flush_frame() -> int:
    import zstandard

    return int(zstandard.FLUSH_FRAME)


class _ZipWriter:
    """A ``.zip`` (deflate, zip64): slower and larger than ``.tar.zst`` but opens anywhere."""

    format = "zip"

    def __init__(self, path: Path, fsync: bool) -> None:
        self.path = path
        self.fsync = fsync
        self._fh = _create(path, read=True)
        self._zip = zipfile.ZipFile(
            self._fh,
            "w",
            compression=zipfile.ZIP_DEFLATED,
            compresslevel=ZIP_LEVEL,
            allowZip64=True,
        )

    @staticmethod
    def _info(rel: str, mtime_ns: int, mode: int | None, is_dir: bool) -> zipfile.ZipInfo:
        when = time.localtime(mtime_ns / 1e9)[:6]
        if when[0] < 1980:
            when = (1980, 1, 1, 0, 0, 0)
        info = zipfile.ZipInfo(rel + ("/" if is_dir else ""), date_time=when)
        kind = stat.S_IFDIR if is_dir else stat.S_IFREG
        default = 0o700 if is_dir else 0o600
        info.external_attr = (kind | (default if mode is None else mode)) << 16
        if is_dir:
            info.external_attr |= 0x10  # the MS-DOS folder flag
        info.create_system = 3  # Unix: the mode above means something
        info.compress_type = zipfile.ZIP_STORED if is_dir else zipfile.ZIP_DEFLATED
        return info

    def add_dir(self, rel: str, mtime_ns: int, mode: int | None) -> None:
        self._zip.writestr(self._info(rel, mtime_ns, mode, True), b"")

    def add_file(
        self, rel: str, reader: _Reader, size: int, mtime_ns: int, mode: int | None
    ) -> None:
        info = self._info(rel, mtime_ns, mode, False)
        with self._zip.open(info, "w", force_zip64=size >= 2**31) as out:
            _copy_exact(reader, out)

    def finish(self, manifest: Manifest) -> None:
        info = self._info(MANIFEST_NAME, time.time_ns(), 0o600, False)
        self._zip.writestr(info, manifest.to_bytes())
        self._zip.close()
        _close_durably(self._fh, self.fsync)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._fh.close()
