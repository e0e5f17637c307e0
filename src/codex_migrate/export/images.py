"""Images for exports: embedded data URLs kept as they are, local files read, nothing fetched.

An export must open anywhere with no network, so remote images are never loaded (a link-less
placeholder names them). A local path from a rollout is read only when it exists *and* its bytes
are a known image format: a crafted session must not make the exporter copy an arbitrary local
file (``~/.ssh/id_rsa``) into a document that will be shared.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from codex_migrate.export.conversation import ImageRef
from codex_migrate.fsutil import open_regular

#: Local image files above this size are not embedded (a placeholder says why).
MAX_IMAGE_BYTES = 25 * 1024 * 1024

_DATA_URL_RE = re.compile(r"^data:(image/[A-Za-z0-9.+-]+)((?:;[A-Za-z0-9=.+-]+)*?)(;base64)?,")
_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "image/avif": "avif",
    "image/svg+xml": "svg",
    "image/tiff": "tiff",
}


def sniff_image(head: bytes) -> str | None:
    """The MIME type of image bytes by their magic number, or None when not an image."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"BM") and len(head) > 14:
        return "image/bmp"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


def whole_image(data: bytes, mime: str) -> bool:
    """Whether ``data`` is exactly one image of its type, ending where the format says it
    ends: a file that merely starts like a PNG (with anything appended, a script, a zip) is
    not embedded."""
    if mime == "image/png":
        return _png_whole(data)
    if mime == "image/jpeg":
        return data.startswith(b"\xff\xd8\xff") and data.endswith(b"\xff\xd9")
    if mime == "image/gif":
        return data.startswith((b"GIF87a", b"GIF89a")) and data.endswith(b";")
    if mime == "image/webp":
        return data[8:12] == b"WEBP" and int.from_bytes(data[4:8], "little") + 8 == len(data)
    if mime == "image/bmp":
        return data[:2] == b"BM" and int.from_bytes(data[2:6], "little") == len(data)
    if mime == "image/avif":
        return _boxes_whole(data)
    return False


def _png_whole(data: bytes) -> bool:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos == len(data)
    return False


def _boxes_whole(data: bytes) -> bool:
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if size < 8:
            return False
        pos += size
    return pos == len(data)


@dataclass
class ResolvedImage:
    """What an exporter can show: a data URL (``src``) or, failing that, why not."""

    label: str
    src: str | None = None
    mime: str | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.src is not None

    @property
    def extension(self) -> str:
        return _EXTENSIONS.get(self.mime or "", "img")

    def data(self) -> bytes:
        """The image bytes (for writing a file beside a Markdown export)."""
        if self.src is None:
            return b""
        header, _, body = self.src.partition(",")
        if header.endswith(";base64"):
            try:
                return base64.b64decode(body, validate=False)
            except (binascii.Error, ValueError):
                return b""
        return urllib.parse.unquote_to_bytes(body)


@dataclass
class ImageStats:
    embedded: int = 0
    missing: int = 0


class ImageResolver:
    """Turns :class:`ImageRef` into :class:`ResolvedImage`, counting what worked."""

    def __init__(self, base_dir: str | None = None) -> None:
        self.base_dir = base_dir
        self.stats = ImageStats()

    def __call__(self, ref: ImageRef) -> ResolvedImage:
        image = self._resolve(ref)
        if image.ok:
            self.stats.embedded += 1
        else:
            self.stats.missing += 1
        return image

    def _resolve(self, ref: ImageRef) -> ResolvedImage:
        label = ref.label
        if ref.data_url is not None:
            m = _DATA_URL_RE.match(ref.data_url)
            if m is None:
                return ResolvedImage(label, problem="embedded image in an unknown format")
            return ResolvedImage(label, src=ref.data_url, mime=m.group(1).lower())
        if ref.remote is not None:
            return ResolvedImage(
                label or ref.remote,
                problem=f"remote image not embedded (exports make no network requests): "
                f"{ref.remote}",
            )
        if ref.path is None:
            return ResolvedImage(label, problem="image without data")
        return self._read_file(ref.path, label or ref.path)

    def _read_file(self, raw_path: str, label: str) -> ResolvedImage:
        path = Path(os.path.expanduser(raw_path))
        if not path.is_absolute() and self.base_dir:
            path = Path(self.base_dir) / path
        try:
            if not path.is_file():
                return ResolvedImage(
                    label, problem=f"image file not found on this machine: {label}"
                )
            size = path.stat().st_size
            if size > MAX_IMAGE_BYTES:
                return ResolvedImage(label, problem=f"image file too large to embed: {label}")
            with open_regular(path) as f:
                data = f.read()
        except (OSError, ValueError):
            return ResolvedImage(label, problem=f"image file could not be read: {label}")
        mime = sniff_image(data[:32])
        if mime is None:
            return ResolvedImage(label, problem=f"not a known image format: {label}")
        if not whole_image(data, mime):
            return ResolvedImage(
                label, problem=f"not embedded: more (or less) than one whole image: {label}"
            )
        src = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
        return ResolvedImage(label, src=src, mime=mime)
