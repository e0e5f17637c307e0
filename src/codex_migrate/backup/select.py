"""What goes into a backup: report types, credential and lock-file rules, thread selection."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.catalog import Catalog
from codex_migrate.errors import EXIT_USAGE, CodexMigrateError
from codex_migrate.fsutil import open_regular
from codex_migrate.selection import SelectionError, in_project, resolve_id

ZSTD_LEVEL = 3
ZIP_LEVEL = 6
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
ROLLOUT_ROLES = ("rollout", "archived-rollout")
INCOMPLETE_NOTE = "INCOMPLETE-BACKUP.txt"

#: Exact names that hold credentials or tokens: never backed up, not even with ``--full``.
CREDENTIAL_NAMES = frozenset(
    {"auth.json", ".credentials.json", "credentials.json", ".env", ".netrc", "keyring"}
)
_CREDENTIAL_WORDS = ("credential", "token", "secret", "oauth", "apikey", "api_key", "password")
_CREDENTIAL_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx")
#: Top-level entries of the default backup's "left out" list, with the reason shown to users.
LEFT_OUT_REASONS = {
    "auth.json": "credentials: never backed up",
    ".credentials.json": "MCP OAuth tokens: never backed up",
    "config.toml": "settings that can hold secrets (only with --full)",
    "installation_id": "identifies this installation (only with --full)",
    "skills": "installed skills, not session data (only with --full)",
    "plugins": "installed plugins, not session data (only with --full)",
    "log": "logs (only with --full)",
    ".tmp": "temporary files: never backed up",
}
_CLI_VERSION_RE = re.compile(rb'"cli_version"\s*:\s*"([^"\\]{1,64})"')


class BackupError(CodexMigrateError):
    """The backup could not be made; nothing that looks complete was left behind."""

    code = "backup-failed"


class BackupSelectionError(BackupError):
    """A --thread or --project that names nothing: a usage error, as in every command."""

    exit_code = EXIT_USAGE
    code = "backup-selection"


class SourceChanged(BackupError):
    """A file shrank or vanished while it was copied."""

    code = "source-changed"


# -- what goes in -------------------------------------------------------------------------------


@dataclass
class PlanItem:
    """One file to write: where from, where to, and how (plain copy, DB snapshot, filtered)."""

    rel: str
    src: Path
    role: str
    kind: str = "copy"  # "copy" | "staged" (a DB snapshot already on disk) | "filter"
    filter_key: str = ""
    mtime_ns: int | None = None
    mode: int | None = None


@dataclass
class BackupReport:
    """What a backup did; ``to_dict`` is what ``--json`` prints."""

    path: Path
    format: str  # "folder" | "tar.zst" | "zip"
    content: str  # "sessions" | "full"
    requested_path: Path
    files: int = 0
    bytes: int = 0
    output_bytes: int = 0
    rollouts: int = 0
    threads: int = 0
    seconds: float = 0.0
    selection: dict[str, Any] | None = None
    databases: list[dict[str, Any]] = field(default_factory=list)
    left_out: list[dict[str, str]] = field(default_factory=list)
    codex_versions: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def renamed(self) -> bool:
        return self.path != self.requested_path

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "requested_path": str(self.requested_path),
            "renamed": self.renamed,
            "format": self.format,
            "content": self.content,
            "files": self.files,
            "bytes": self.bytes,
            "output_bytes": self.output_bytes,
            "rollouts": self.rollouts,
            "threads": self.threads,
            "seconds": round(self.seconds, 3),
            "selection": self.selection,
            "databases": self.databases,
            "left_out": self.left_out,
            "codex_versions": self.codex_versions,
            "warnings": self.warnings,
        }


def is_credential(name: str) -> bool:
    """Whether a file or folder name looks like it holds a credential or token.

    Errs on the side of leaving things out: a false positive costs a file the user can copy by
    hand, a false negative leaks a secret into a backup that may travel.
    """
    low = name.lower()
    if low in CREDENTIAL_NAMES or low.endswith(_CREDENTIAL_SUFFIXES):
        return True
    if low.startswith(("auth.", "auth_", "auth-")) or low.startswith(("id_rsa", "id_ed25519")):
        return True
    return any(word in low for word in _CREDENTIAL_WORDS)


def _is_lock_or_temp(name: str) -> bool:
    low = name.lower()
    return (
        low.endswith((".lock", ".lck", ".tmp", ".temp", ".partial", ".swp"))
        or low in ("lock", ".lock")
        or low.startswith(".~")
    )


def _is_sqlite(path: Path) -> bool:
    if not path.name.endswith(SQLITE_SUFFIXES):
        return False
    try:
        with open_regular(path) as f:
            return f.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def select_threads(
    catalog: Catalog, thread_ids: Iterable[str], projects: Iterable[str]
) -> tuple[set[str], dict[str, Any]]:
    """Thread ids chosen by ``--thread`` (full id or a unique prefix) and ``--project`` (cwd).

    Raises :class:`BackupError` naming whatever matched nothing, so a typo never yields a
    backup that silently lacks what the user asked for.
    """
    chosen: set[str] = set()
    unknown: list[str] = []
    where = str(catalog.home.root)
    known = dict.fromkeys(t.id for t in catalog.threads)
    for given in thread_ids:
        try:
            chosen.add(resolve_id(given, known, where))
        except SelectionError as exc:
            listed = ", ".join(exc.candidates)
            unknown.append(f"{given} (matches {listed})" if listed else given)
    missing_projects: list[str] = []
    for given in projects:
        hits = [t.id for t in catalog.threads if in_project(t, given)]
        if hits:
            chosen.update(hits)
        else:
            missing_projects.append(given)
    if unknown or missing_projects:
        parts = []
        if unknown:
            parts.append("no thread " + ", ".join(unknown))
        if missing_projects:
            parts.append("no project " + ", ".join(missing_projects))
        raise BackupSelectionError(
            f"Nothing backed up: {'; '.join(parts)} in {catalog.home.root}.",
            hint="`codex-migrate scan --threads` lists thread ids and project folders.",
        )
    selection = {
        "threads": sorted(chosen),
        "requested_threads": list(thread_ids),
        "requested_projects": list(projects),
    }
    return chosen, selection
