"""An archive's members read as one stream (``.tar.zst``) or from the zip's directory,
counting compressed bytes for a progress bar; nothing is extracted or held in memory here."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from codex_migrate.fsutil import open_regular
from codex_migrate.manifest import CHUNK, TAR_BUFSIZE


class CountingReader(io.RawIOBase):
    """Counts the compressed bytes read, for a progress bar over an archive."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None]) -> None:
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._on_read(n)
        return n


@dataclass
class Member:
    name: str
    is_dir: bool
    size: int
    stream: IO[bytes] | None


def tar_members(path: Path, tick: Callable[[int], None]) -> Iterator[Member]:
    import zstandard

    with open_regular(path) as raw:
        counted = io.BufferedReader(CountingReader(raw, tick), buffer_size=CHUNK)
        reader = zstandard.ZstdDecompressor().stream_reader(counted, read_size=CHUNK)
        # A small stream buffer: tarfile's "r|" copies what is left of it on every read.
        with tarfile.open(fileobj=reader, mode="r|", bufsize=TAR_BUFSIZE) as tar:
            for info in tar:
                if info.isdir():
                    yield Member(info.name.rstrip("/"), True, 0, None)
                elif info.isreg():
                    yield Member(info.name, False, info.size, tar.extractfile(info))
                else:
                    raise BadMember(info.name, "is not a regular file or folder")


def zip_members(path: Path, tick: Callable[[int], None]) -> Iterator[Member]:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                yield Member(info.filename.rstrip("/"), True, 0, None)
                continue
            kind = (info.external_attr >> 16) & 0o170000
            if kind and kind != stat.S_IFREG:
                raise BadMember(info.filename, "is not a regular file or folder")
            with zf.open(info) as stream:
                yield Member(info.filename, False, info.file_size, stream)
            tick(info.compress_size)


class BadMember(Exception):
    """A member that is no plain file or folder: the whole archive is refused."""

    def __init__(self, name: str, what: str) -> None:
        super().__init__(f"{name} {what}")
        self.name = name
        self.what = what
