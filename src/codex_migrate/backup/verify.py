"""Checking a backup (folder or archive) against its manifest.

Archives are read as a stream, once: the same pass hashes and, when asked, extracts, so a
multi-gigabyte archive is never held in memory or read twice.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from codex_migrate.backup.members import BadMember, Member, tar_members, zip_members
from codex_migrate.errors import HomeNotFound
from codex_migrate.fsutil import open_regular
from codex_migrate.manifest import (
    CHUNK,
    MANIFEST_MAX_BYTES,
    MANIFEST_NAME,
    OS_JUNK,
    Manifest,
    ManifestError,
    ProgressFn,
    apply_metadata,
    archive_format,
    hash_file,
    is_safe_relpath,
    is_unfinished,
    resolve_backup_folder,
)

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
        raise HomeNotFound(f"{p} does not exist.", code="home-missing", params={"path": str(p)})
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
        with open_regular(manifest_path) as f:
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


#: More unpacked bytes per archive byte than this is not a backup of ours but a bomb (our
#: archives of real homes measure well under 20:1; zeros reach 30 000:1).
MAX_RATIO = 200
#: Small archives may always unpack to this much, whatever their ratio.
RATIO_FLOOR = 64 * 1024 * 1024
#: Free space left untouched when extracting to a temp folder.
FREE_SPACE_MARGIN = 64 * 1024 * 1024


class _Budget:
    """How many bytes an archive may unpack to: bounded by its size times :data:`MAX_RATIO`
    and, when extracting, by the free space where it goes. Checked against each member's
    declared size (tar header, zip directory: the reader never yields more) before a byte of
    it is read, so a bomb is refused at once and leaves no big temp file."""

    def __init__(self, archive: Path, extract_to: Path | None) -> None:
        size = archive.stat().st_size
        self.ratio_left = max(RATIO_FLOOR, size * MAX_RATIO)
        self.space_left: int | None = None
        if extract_to is not None:
            free = shutil.disk_usage(_existing_parent(extract_to)).free
            self.space_left = max(0, free - FREE_SPACE_MARGIN)
        self.archive_size = size

    @classmethod
    def unlimited(cls) -> _Budget:
        budget = cls.__new__(cls)
        budget.ratio_left, budget.space_left, budget.archive_size = 2**63, None, 0
        return budget

    def take(self, size: int) -> str | None:
        """Reserve ``size`` bytes; the reason to refuse when they do not fit."""
        if size > self.ratio_left:
            return (
                f"unpacks to far more than a {self.archive_size:,}-byte archive can hold "
                f"(over {MAX_RATIO}:1): an archive bomb or not a backup of ours; refused "
                "before extracting it"
            )
        if self.space_left is not None and size > self.space_left:
            return (
                f"needs {size:,} bytes but only {self.space_left:,} are free for extracting "
                "it: free some space (or set TMPDIR to a larger disk) and run again"
            )
        self.ratio_left -= size
        if self.space_left is not None:
            self.space_left -= size
        return None


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


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

    members = tar_members(path, tick) if fmt == "tar.zst" else zip_members(path, tick)
    budget = _Budget(path, extract_to)
    if fmt == "zip":
        # The zip directory lists every size up front: refuse a bomb before any member.
        try:
            with zipfile.ZipFile(path) as zf:
                declared = sum(max(0, i.file_size) for i in zf.infolist())
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            report.problem(path.name, f"damaged or truncated archive ({exc})")
            return
        if refused := budget.take(declared):
            report.problem(path.name, refused)
            return
        budget = _Budget.unlimited()
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
            if refused := budget.take(member.size):
                report.problem(member.name, refused)
                return
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
    except BadMember as exc:
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


def _consume(member: Member, extract_to: Path | None) -> tuple[int, str]:
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
