"""The backup manifest (``manifest.json``) and the layout of a backup folder or archive.

A backup is only as good as the proof that it is whole. Every backup carries ``manifest.json``:
what made it, from where, and a size and SHA-256 for every file. The manifest is written last
(the last member of an archive, the last file of a folder), so a backup that was interrupted
has none and can never pass for complete. Checking a backup against it is
:mod:`codex_migrate.backup.verify`.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate import safejson
from codex_migrate.backupmark import BACKUP_DIR_NAME as BACKUP_DIR_NAME
from codex_migrate.backupmark import INCOMPLETE_TAG as INCOMPLETE_TAG
from codex_migrate.backupmark import MANIFEST_NAME as MANIFEST_NAME
from codex_migrate.backupmark import BackupIncomplete as BackupIncomplete
from codex_migrate.backupmark import is_unfinished as is_unfinished
from codex_migrate.errors import CodexMigrateError
from codex_migrate.fsutil import open_regular

FORMAT_NAME = "codex-migrate-backup"
FORMAT_VERSION = 1
#: Files an OS drops into folders a user opened; never counted as a mismatch.
OS_JUNK = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "._.DS_Store"})
#: A manifest larger than this is not one of ours (a million files is about 250 MB).
MANIFEST_MAX_BYTES = 512 * 1024 * 1024
CHUNK = 1024 * 1024
TAR_BUFSIZE = 64 * 1024

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZIP_MAGIC = b"PK\x03\x04"
ARCHIVE_FORMATS = {"tar.zst": (".tar.zst", ".tzst"), "zip": (".zip",)}

#: ``progress(stage, done, total)``; here always in bytes.
ProgressFn = Callable[[str, int, int], None]


class ManifestError(CodexMigrateError):
    """``manifest.json`` is missing, unreadable or not a manifest of this format."""

    code = "manifest-invalid"


@dataclass
class FileEntry:
    """One file of a backup. ``mode`` is None where the platform has no permission bits."""

    path: str
    size: int
    sha256: str
    mtime_ns: int
    mode: int | None = None
    role: str = "other"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "mtime_ns": self.mtime_ns,
            "mode": None if self.mode is None else f"{self.mode:04o}",
            "role": self.role,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileEntry:
        mode = data.get("mode")
        return cls(
            path=str(data["path"]),
            size=int(data["size"]),
            sha256=str(data["sha256"]).lower(),
            mtime_ns=int(data.get("mtime_ns") or 0),
            mode=int(mode, 8) if isinstance(mode, str) else None,
            role=str(data.get("role") or "other"),
        )


@dataclass
class DirEntry:
    """A folder of a backup: restored with its mode and mtime, not verified."""

    path: str
    mtime_ns: int
    mode: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "mtime_ns": self.mtime_ns,
            "mode": None if self.mode is None else f"{self.mode:04o}",
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DirEntry:
        mode = data.get("mode")
        return cls(
            path=str(data["path"]),
            mtime_ns=int(data.get("mtime_ns") or 0),
            mode=int(mode, 8) if isinstance(mode, str) else None,
        )


@dataclass
class Manifest:
    """What ``manifest.json`` holds. Unknown keys of newer versions are kept in ``extra``."""

    tool_version: str
    created_at: str
    source_home: str
    source_platform: str
    content: str  # "sessions" | "full"
    codex_versions: dict[str, int] = field(default_factory=dict)
    selection: dict[str, Any] | None = None
    databases: list[dict[str, Any]] = field(default_factory=list)
    left_out: list[dict[str, str]] = field(default_factory=list)
    files: list[FileEntry] = field(default_factory=list)
    dirs: list[DirEntry] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.extra,
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "tool": "codex-migrate",
            "tool_version": self.tool_version,
            "created_at": self.created_at,
            "source_home": self.source_home,
            "source_platform": self.source_platform,
            "content": self.content,
            "codex_versions": dict(sorted(self.codex_versions.items())),
            "selection": self.selection,
            "databases": self.databases,
            "left_out": self.left_out,
            "totals": {"files": len(self.files), "bytes": self.total_bytes},
            "files": [f.to_dict() for f in self.files],
            "dirs": [d.to_dict() for d in self.dirs],
        }

    def to_bytes(self) -> bytes:
        """Readable JSON: the header indented, then one line per file (greppable, compact)."""
        data = self.to_dict()
        lists = {key: data.pop(key) for key in ("files", "dirs")}
        text = json.dumps(data, indent=1, ensure_ascii=False)
        parts = [text[: text.rindex("}")].rstrip()]
        for key, items in lists.items():
            rows = ",\n".join("  " + json.dumps(i, ensure_ascii=False) for i in items)
            parts.append(f',\n "{key}": [\n{rows}\n ]' if items else f',\n "{key}": []')
        return ("".join(parts) + "\n}\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, origin: str) -> Manifest:
        """Parse and validate; raise :class:`ManifestError` saying what is wrong."""
        try:
            obj = safejson.loads(data)
        except ValueError as exc:
            raise ManifestError(f"{origin}: manifest.json is not valid JSON ({exc})") from exc
        if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
            raise ManifestError(f"{origin}: manifest.json is not a codex-migrate backup manifest")
        version = obj.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ManifestError(
                f"{origin}: manifest format version {version!r} is newer than this tool knows",
                hint="Update codex-migrate.",
            )
        try:
            files = [FileEntry.from_dict(f) for f in obj["files"]]
            dirs = [DirEntry.from_dict(d) for d in obj.get("dirs") or []]
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"{origin}: manifest.json has a malformed file list") from exc
        seen: set[str] = set()
        for path in [f.path for f in files] + [d.path for d in dirs]:
            if not is_safe_relpath(path):
                raise ManifestError(f"{origin}: manifest.json names an unsafe path {path!r}")
        for entry in files:
            if entry.path in seen or entry.path == MANIFEST_NAME:
                raise ManifestError(f"{origin}: manifest.json lists {entry.path!r} twice")
            seen.add(entry.path)
        known = {
            "format",
            "format_version",
            "tool",
            "tool_version",
            "created_at",
            "source_home",
            "source_platform",
            "content",
            "codex_versions",
            "selection",
            "databases",
            "left_out",
            "totals",
            "files",
            "dirs",
        }
        return cls(
            tool_version=str(obj.get("tool_version") or ""),
            created_at=str(obj.get("created_at") or ""),
            source_home=str(obj.get("source_home") or ""),
            source_platform=str(obj.get("source_platform") or ""),
            content=str(obj.get("content") or "sessions"),
            codex_versions=dict(obj.get("codex_versions") or {}),
            selection=obj.get("selection"),
            databases=list(obj.get("databases") or []),
            left_out=list(obj.get("left_out") or []),
            files=files,
            dirs=dirs,
            extra={k: v for k, v in obj.items() if k not in known},
        )


def is_safe_relpath(path: str) -> bool:
    """A ``/``-separated path that stays inside the backup on every OS (no ``..``, no drive)."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    if len(path) >= 2 and path[1] == ":":
        return False
    parts = path.split("/")
    return all(p not in ("", ".", "..") for p in parts)


def mode_of(st: os.stat_result) -> int | None:
    """Permission bits, or None on Windows where they mean little."""
    return None if os.name == "nt" else stat.S_IMODE(st.st_mode)


def archive_format(path: Path) -> str | None:
    """``"tar.zst"`` or ``"zip"`` from the file's first bytes (its name may be a temp name)."""
    try:
        with open_regular(path) as f:
            magic = f.read(4)
    except OSError:
        return None
    if magic == ZSTD_MAGIC:
        return "tar.zst"
    if magic == ZIP_MAGIC:
        return "zip"
    return None


def format_for_name(path: Path) -> str | None:
    """The archive format an output file name asks for, or None."""
    name = path.name.lower()
    for fmt, suffixes in ARCHIVE_FORMATS.items():
        if name.endswith(suffixes):
            return fmt
    return None


def hash_file(path: Path, progress: Callable[[int], None] | None = None) -> tuple[int, str]:
    """Size and SHA-256 of a file, read in chunks."""
    import hashlib  # here: a scan reads this module's names, never hashes

    digest = hashlib.sha256()
    size = 0
    with open_regular(path) as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if progress:
                progress(len(chunk))
    return size, digest.hexdigest()


def resolve_backup_folder(path: Path) -> Path:
    """The backup folder meant by ``path``: itself, or the one ``Codex_backup`` inside it."""
    if (path / MANIFEST_NAME).exists():
        return path
    child = path / BACKUP_DIR_NAME
    if child.is_dir():
        return child
    return path


def apply_metadata(root: Path, manifest: Manifest) -> None:
    """Give extracted files and folders their recorded mtimes and (on POSIX) modes."""
    for f in manifest.files:
        target = root / f.path
        os.utime(target, ns=(f.mtime_ns, f.mtime_ns))
        if f.mode is not None and os.name != "nt":
            os.chmod(target, f.mode)
    # Deepest folders first, so setting a parent's mtime is not undone by its children.
    for d in sorted(manifest.dirs, key=lambda d: d.path.count("/"), reverse=True):
        target = root / d.path
        if not target.is_dir():
            continue
        if d.mode is not None and os.name != "nt":
            os.chmod(target, d.mode | stat.S_IRWXU)
        os.utime(target, ns=(d.mtime_ns, d.mtime_ns))


def remove_tree(path: Path) -> None:
    """Delete a folder we wrote, even where a restored mode made parts of it read-only."""

    def retry(func: Callable[..., Any], target: str, *_exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target) or ".", stat.S_IRWXU)
            os.chmod(target, stat.S_IRWXU)
            func(target)

    import shutil  # here: opening a home (a scan) never removes one

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)
