"""Reading ``.jsonl.zst`` rollouts without trusting them.

A corrupt stream makes the zstandard reader raise its own ``ZstdError``, and a truncated one
simply ends early, as if the file were whole (a rollout cut by a crash or a partial copy then
looks like an empty or shorter thread). Here both become :class:`CorruptCompressed`, an
``OSError`` naming the file, which every reader already reports and skips per file. The frame
structure is walked from block headers alone (no decompression) to tell whether the file ends
where its last frame says it does.
"""

from __future__ import annotations

import errno
import io
import os
import struct
from pathlib import Path
from typing import IO, Any

_ZSTD_MAGIC = 0xFD2FB528
_SKIPPABLE_MASK = 0xFFFFFFF0
_SKIPPABLE_MAGIC = 0x184D2A50


class CorruptCompressed(OSError):
    """A ``.zst`` file that is damaged or cut short."""


def _fail(path: Path | str, why: str) -> CorruptCompressed:
    return CorruptCompressed(errno.EIO, f"damaged compressed file ({why})", str(path))


def check_frames(f: IO[bytes], path: Path | str) -> None:
    """Walk every zstd frame's block headers; raise :class:`CorruptCompressed` when the file
    ends inside a frame or holds bytes that are not a frame."""
    end = f.seek(0, os.SEEK_END)
    pos = 0
    if end == 0:
        return
    while pos < end:
        f.seek(pos)
        head = f.read(4)
        if len(head) < 4:
            raise _fail(path, "cut short")
        (magic,) = struct.unpack("<I", head)
        if magic & _SKIPPABLE_MASK == _SKIPPABLE_MAGIC:
            size = f.read(4)
            if len(size) < 4:
                raise _fail(path, "cut short")
            pos += 8 + struct.unpack("<I", size)[0]
            continue
        if magic != _ZSTD_MAGIC:
            raise _fail(path, "not zstd data" if pos == 0 else "trailing bytes after the data")
        desc_b = f.read(1)
        if not desc_b:
            raise _fail(path, "cut short")
        desc = desc_b[0]
        fcs_flag, single, checksum, dict_flag = (
            desc >> 6,
            (desc >> 5) & 1,
            (desc >> 2) & 1,
            desc & 3,
        )
        if desc & 0x08:
            raise _fail(path, "reserved bit set")
        fcs_size = (1 if single else 0, 2, 4, 8)[fcs_flag]
        pos += 5 + (0 if single else 1) + (0, 1, 2, 4)[dict_flag] + fcs_size
        while True:
            f.seek(pos)
            block = f.read(3)
            if len(block) < 3:
                raise _fail(path, "cut short")
            header = block[0] | block[1] << 8 | block[2] << 16
            last, btype, bsize = header & 1, (header >> 1) & 3, header >> 3
            if btype == 3:
                raise _fail(path, "reserved block type")
            pos += 3 + (1 if btype == 1 else bsize)
            if pos > end:
                raise _fail(path, "cut short")
            if last:
                break
        pos += 4 if checksum else 0
        if pos > end:
            raise _fail(path, "cut short")


#: A rollout that unpacks to more than this many bytes per compressed byte (and past
#: :data:`RATIO_FLOOR`) is a bomb, not a conversation: JSONL compresses about 10:1.
MAX_RATIO = 1000
RATIO_FLOOR = 256 * 1024 * 1024


class _Guarded(io.RawIOBase):
    """Turns the decompressor's own errors into :class:`CorruptCompressed`, and stops a
    stream that unpacks to far more than any rollout could (a decompression bomb)."""

    def __init__(self, reader: Any, path: Path | str, compressed: int) -> None:
        self._reader = reader
        self._path = path
        self._limit = max(RATIO_FLOOR, compressed * MAX_RATIO)
        self._out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        import zstandard

        try:
            data = self._reader.read(len(buffer))
        except zstandard.ZstdError as exc:
            raise _fail(self._path, str(exc).removeprefix("zstd decompress error: ")) from None
        self._out += len(data)
        if self._out > self._limit:
            raise _fail(self._path, f"unpacks to over {MAX_RATIO} times its size: a bomb")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._reader.close()
        super().close()


def open_zst(raw: IO[bytes], path: Path | str, buffer_size: int) -> IO[bytes]:
    """A decompressing stream over ``raw`` (a regular file opened by the caller), after its
    frames were checked; closes ``raw`` on failure and when the stream is closed."""
    import zstandard

    try:
        check_frames(raw, path)
        compressed = raw.seek(0, os.SEEK_END)
        raw.seek(0)
    except BaseException:
        raw.close()
        raise
    reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    return io.BufferedReader(_Guarded(reader, path, compressed), buffer_size=buffer_size)
