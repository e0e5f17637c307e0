"""Reading a home, as both faces read it: the catalog every command and screen starts from.

Two ways, each for a reason: a listing (``scan``, the web UI's pages, a migration's source)
keeps unchanged rollouts in the listing cache, because a user looks at the same home again
and again; the doctor, a repair, an export and ``verify`` read every rollout anew, because
they judge the files as they are now and some of them write after reading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codex_migrate.catalog import Catalog, ProgressFn, build_catalog
from codex_migrate.catalog_cache import cached_catalog
from codex_migrate.home import CodexHome, open_home


def home_catalog(home: CodexHome | Path | None, progress: ProgressFn | None = None) -> Catalog:
    """A home's catalog, every rollout read now (the doctor, repair, export, ``verify``).
    ``home`` a path or None (``$CODEX_HOME``, else ``~/.codex``) is opened first."""
    if not isinstance(home, CodexHome):
        home = open_home(home)
    return build_catalog(home, progress)


def listed_catalog(home: CodexHome, progress: ProgressFn | None = None) -> Catalog:
    """A home's catalog for a listing: unchanged rollouts come from the listing cache."""
    return cached_catalog(home, progress)


def verify_home(home: CodexHome | Path | None) -> dict[str, Any]:
    """What ``verify`` reports of a home: its rollouts against its state DB (read-only)."""
    from codex_migrate.verify import verify_home as verify_catalog

    return verify_catalog(home_catalog(home))
