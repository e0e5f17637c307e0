"""The backup manifest, and checking a backup (folder or archive) against it.

A backup is only as good as the proof that it is whole. Every backup carries ``manifest.json``:
what made it, from where, and a size and SHA-256 for every file. The manifest is written last
(the last member of an archive, the last file of a folder), so a backup that was interrupted
has none and can never pass for complete.

Archives are read as a stream, once: the same pass hashes and, when asked, extracts, so a
multi-gigabyte archive is never held in memory or read twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import stat
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from codex_migrate.errors import CodexMigrateError, HomeNotFound

MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "codex-migrate-backup"
FORMAT_VERSION = 1
#: The folder name a backup gets inside ``--output-parent`` and inside an archive's temp copy.
BACKUP_DIR_NAME = "Codex_backup"
#: Part of the name of a backup that is still being written (or was interrupted).
INCOMPLETE_TAG = ".incomplete-"
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


class BackupIncomplete(HomeNotFound):
    """A backup without a valid manifest: interrupted, damaged, or not ours."""


class ManifestError(CodexMigrateError):
    """``manifest.json`` is missing, unreadable or not a manifest of this format."""


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
            obj = json.loads(data)
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


# -- verifying ---------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    """The outcome of checking a backup; ``ok`` only when every byte matched."""

    path: Path
    format: str  # "folder" | "tar.zst" | "zip" | "unknown"
    manifest: Manifest | None = None
    files_checked: int = 0
    bytes_checked: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    unfinished: bool = False

    @property
    def ok(self) -> bool:
        return self.manifest is not None and not self.problems and not self.unfinished

    @property
    def incomplete(self) -> bool:
        """Interrupted (still under its temporary name, or no valid manifest), damaged, or
        not written by codex-migrate at all."""
        return self.manifest is None or self.unfinished

    def problem(self, path: str, what: str) -> None:
        self.problems.append({"path": path, "problem": what})

    def to_dict(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "path": str(self.path),
            "format": self.format,
            "ok": self.ok,
            "incomplete": self.incomplete,
            "files_checked": self.files_checked,
            "bytes_checked": self.bytes_checked,
            "seconds": round(self.seconds, 3),
            "problems": list(self.problems),
            "manifest": None
            if m is None
            else {
                "created_at": m.created_at,
                "tool_version": m.tool_version,
                "source_home": m.source_home,
                "content": m.content,
                "files": len(m.files),
                "bytes": m.total_bytes,
                "codex_versions": m.codex_versions,
            },
        }


def archive_format(path: Path) -> str | None:
    """``"tar.zst"`` or ``"zip"`` from the file's first bytes (its name may be a temp name)."""
    try:
        with open(path, "rb") as f:
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
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if progress:
                progress(len(chunk))
    return size, digest.hexdigest()


def is_unfinished(path: Path) -> bool:
    """Whether ``path`` is (inside) a backup still under its temporary ``.incomplete-`` name."""
    return INCOMPLETE_TAG in path.name or INCOMPLETE_TAG in path.parent.name


def resolve_backup_folder(path: Path) -> Path:
    """The backup folder meant by ``path``: itself, or the one ``Codex_backup`` inside it."""
    if (path / MANIFEST_NAME).exists():
        return path
    child = path / BACKUP_DIR_NAME
    if child.is_dir():
        return child
    return path


def verify_backup(
    path: Path | str,
    progress: ProgressFn | None = None,
    *,
    extract_to: Path | None = None,
) -> VerifyReport:
    """Check a backup folder or archive against its manifest; never raises for bad content.

    With ``extract_to`` an archive is also extracted there in the same pass (files get their
    recorded mtimes and modes). A missing path raises :class:`HomeNotFound`.
    """
    started = time.monotonic()
    p = Path(path).expanduser()
    if not p.exists():
        raise HomeNotFound(f"{p} does not exist.")
    if p.is_dir():
        if extract_to is not None:
            raise ValueError("extract_to is for archives")
        root = resolve_backup_folder(p)
        report = _verify_folder(root, progress)
        report.unfinished = is_unfinished(root)
    else:
        fmt = archive_format(p)
        report = VerifyReport(path=p, format=fmt or "unknown")
        if fmt is None:
            report.problem(p.name, "neither a folder nor a .tar.zst/.zip archive")
        else:
            report.unfinished = is_unfinished(p)
            _verify_archive(p, fmt, report, progress, extract_to)
    if report.unfinished:
        # Only the final rename marks a backup complete: even with every byte written, one
        # still under its temporary name may not have reached the disk before it stopped.
        report.problems.insert(
            0,
            {
                "path": report.path.name,
                "problem": "unfinished: the backup stopped (or is still running) before it was "
                "given its final name",
            },
        )
    if report.manifest is None and not any(pr["path"] == MANIFEST_NAME for pr in report.problems):
        report.problem(MANIFEST_NAME, "missing")
    report.seconds = time.monotonic() - started
    return report


def _verify_folder(root: Path, progress: ProgressFn | None) -> VerifyReport:
    report = VerifyReport(path=root, format="folder")
    manifest_path = root / MANIFEST_NAME
    try:
        with open(manifest_path, "rb") as f:
            data = f.read(MANIFEST_MAX_BYTES + 1)
    except FileNotFoundError:
        return report
    except OSError as exc:
        report.problem(MANIFEST_NAME, f"unreadable: {exc.strerror or exc}")
        return report
    try:
        manifest = Manifest.from_bytes(data, str(root))
    except ManifestError as exc:
        report.problem(MANIFEST_NAME, exc.message)
        return report
    report.manifest = manifest
    total = manifest.total_bytes
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("verify", done, total)

    listed = {f.path for f in manifest.files}
    for entry in manifest.files:
        target = root / entry.path
        try:
            st = target.lstat()
        except FileNotFoundError:
            report.problem(entry.path, "missing")
            continue
        except OSError as exc:
            report.problem(entry.path, f"unreadable: {exc.strerror or exc}")
            continue
        if not stat.S_ISREG(st.st_mode):
            report.problem(entry.path, "not a regular file")
            continue
        if st.st_size != entry.size:
            report.problem(entry.path, f"size is {st.st_size}, manifest says {entry.size}")
            tick(entry.size)
            continue
        try:
            size, digest = hash_file(target, tick)
        except OSError as exc:
            report.problem(entry.path, f"unreadable: {exc.strerror or exc}")
            continue
        report.files_checked += 1
        report.bytes_checked += size
        if digest != entry.sha256 or size != entry.size:
            report.problem(entry.path, "content differs from the manifest (SHA-256 mismatch)")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if rel == MANIFEST_NAME or rel in listed or name in OS_JUNK:
                continue
            report.problem(rel, "not in the manifest (added after the backup was made)")
    return report


class _CountingReader(io.RawIOBase):
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
class _Member:
    name: str
    is_dir: bool
    size: int
    stream: IO[bytes] | None


def _tar_members(path: Path, tick: Callable[[int], None]) -> Iterator[_Member]:
    import zstandard

    with open(path, "rb") as raw:
        counted = io.BufferedReader(_CountingReader(raw, tick), buffer_size=CHUNK)
        reader = zstandard.ZstdDecompressor().stream_reader(counted, read_size=CHUNK)
        # A small stream buffer: tarfile's "r|" copies what is left of it on every read.
        with tarfile.open(fileobj=reader, mode="r|", bufsize=TAR_BUFSIZE) as tar:
            for info in tar:
                if info.isdir():
                    yield _Member(info.name.rstrip("/"), True, 0, None)
                elif info.isreg():
                    yield _Member(info.name, False, info.size, tar.extractfile(info))
                else:
                    raise _BadMember(info.name, "is not a regular file or folder")


def _zip_members(path: Path, tick: Callable[[int], None]) -> Iterator[_Member]:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                yield _Member(info.filename.rstrip("/"), True, 0, None)
                continue
            kind = (info.external_attr >> 16) & 0o170000
            if kind and kind != stat.S_IFREG:
                raise _BadMember(info.filename, "is not a regular file or folder")
            with zf.open(info) as stream:
                yield _Member(info.filename, False, info.file_size, stream)
            tick(info.compress_size)


class _BadMember(Exception):
    def __init__(self, name: str, what: str) -> None:
        super().__init__(f"{name} {what}")
        self.name = name
        self.what = what


def _verify_archive(
    path: Path,
    fmt: str,
    report: VerifyReport,
    progress: ProgressFn | None,
    extract_to: Path | None,
) -> None:
    import zstandard

    total = path.stat().st_size
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("verify", min(done, total), total)

    members = _tar_members(path, tick) if fmt == "tar.zst" else _zip_members(path, tick)
    seen: dict[str, tuple[int, str]] = {}
    manifest_data: bytes | None = None
    if extract_to is not None:
        extract_to.mkdir(parents=True, exist_ok=True)
    try:
        for member in members:
            if not is_safe_relpath(member.name):
                report.problem(member.name, "unsafe path in the archive: nothing extracted")
                return
            if member.is_dir:
                if extract_to is not None:
                    (extract_to / member.name).mkdir(parents=True, exist_ok=True)
                continue
            assert member.stream is not None
            if member.name in seen:
                report.problem(member.name, "appears twice in the archive")
                continue
            if member.name == MANIFEST_NAME:
                manifest_data = member.stream.read(MANIFEST_MAX_BYTES + 1)
                if extract_to is not None:
                    (extract_to / MANIFEST_NAME).write_bytes(manifest_data)
                seen[member.name] = (len(manifest_data), "")
                continue
            seen[member.name] = _consume(member, extract_to)
    except (zstandard.ZstdError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        report.problem(path.name, f"damaged or truncated archive ({exc})")
        return
    except _BadMember as exc:
        report.problem(exc.name, f"{exc.what}: not written by codex-migrate")
        return
    except OSError as exc:
        report.problem(path.name, f"cannot read or extract: {exc.strerror or exc}")
        return
    if manifest_data is None:
        return
    try:
        manifest = Manifest.from_bytes(manifest_data, str(path))
    except ManifestError as exc:
        report.problem(MANIFEST_NAME, exc.message)
        return
    report.manifest = manifest
    listed = {f.path for f in manifest.files}
    for entry in manifest.files:
        got = seen.get(entry.path)
        if got is None:
            report.problem(entry.path, "missing from the archive")
            continue
        size, digest = got
        report.files_checked += 1
        report.bytes_checked += size
        if size != entry.size:
            report.problem(entry.path, f"size is {size}, manifest says {entry.size}")
        elif digest != entry.sha256:
            report.problem(entry.path, "content differs from the manifest (SHA-256 mismatch)")
    for name in sorted(set(seen) - listed - {MANIFEST_NAME}):
        report.problem(name, "not in the manifest")
    if extract_to is not None and report.ok:
        apply_metadata(extract_to, manifest)


def _consume(member: _Member, extract_to: Path | None) -> tuple[int, str]:
    """Hash one member's bytes, writing them out when extracting."""
    assert member.stream is not None
    digest = hashlib.sha256()
    size = 0
    out: IO[bytes] | None = None
    if extract_to is not None:
        target = extract_to / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: extraction never overwrites anything, whatever the archive says.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(target, flags, 0o600)
        out = os.fdopen(fd, "wb")
    try:
        while chunk := member.stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
    finally:
        if out is not None:
            out.close()
    return size, digest.hexdigest()


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

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)
