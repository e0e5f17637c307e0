"""Regenerate the checked-in real-Codex fixture homes under ``tests/fixtures/``.

    .venv/bin/python scripts/make_fixtures.py [--keep]

For each pinned Codex version this builds a home with the test harness (real Codex, mock model
API, see ``tests/harness/scenario.py``) and exports the part a migration deals with:

* ``sessions/`` and ``archived_sessions/`` rollouts, byte for byte (nothing trimmed);
* ``session_index.jsonl`` / ``history.jsonl`` when Codex wrote them;
* ``state_N.sqlite`` and ``thread_history_N.sqlite`` as consistent single-file copies made with
  SQLite's backup API (a live DB keeps most of its data in ``-wal``; copying the file loses it),
  stored in ``journal_mode=DELETE`` so that reading them in place leaves no ``-wal``/``-shm``.

Dropped on purpose: ``config.toml`` (points at a dead mock port), ``skills/``, logs and the
other DBs (``logs_2``, ``goals_1``, ``memories_1``, ``queue_1``), ``installation_id``, caches.

Paths: Codex runs in real folders under ``/tmp/cm-fixture-root/<version>/`` (projects in
``projects/``, the home in ``codex-home/``), so every cwd and ``rollout_path`` in the fixtures
starts with that stable, fake-looking prefix instead of a random temp folder. That folder is
wiped first and removed afterwards (``--keep`` keeps it). POSIX only (it needs ``/tmp``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.harness.app_server import list_threads_of_copy, protocol  # noqa: E402
from tests.harness.fixtures import (  # noqa: E402
    FIXTURE_ROOT,
    FIXTURES_DIR,
    fixture_dir,
    install_fixture,
)
from tests.harness.install import CODEX_NEW, CODEX_OLD, codex_binary  # noqa: E402
from tests.harness.scenario import Scenario, build_home, listing_problems  # noqa: E402

ROOT_MARKER = ".cm-fixture-root"
KEEP_FILES = ("session_index.jsonl", "history.jsonl")
DB_PATTERNS = ("state_*.sqlite", "thread_history_*.sqlite")


def backup_db(src: Path, dest: Path) -> None:
    """A consistent copy of a (WAL-mode) SQLite DB through the backup API, never a file copy.

    The copy is switched to ``journal_mode=DELETE``: a WAL-mode file makes even a read-only
    reader create ``-wal``/``-shm`` files next to it, which must not appear in the repo. Only
    the header's journal flag differs; Codex switches the DB back to WAL when it opens it.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"{src.as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
        source.close()


def export_home(home: Path, out: Path) -> list[str]:
    """Copy the migration-relevant part of ``home`` into ``out``; returns what was written."""
    for folder in ("sessions", "archived_sessions"):
        if (home / folder).is_dir():
            shutil.copytree(home / folder, out / folder)
    for name in KEEP_FILES:
        if (home / name).is_file():
            shutil.copy2(home / name, out / name)
    for base in (home, home / "sqlite"):
        for pattern in DB_PATTERNS:
            for db in sorted(base.glob(pattern)):
                backup_db(db, out / db.relative_to(home))
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fresh_root(root: Path) -> None:
    if root.exists():
        if not (root / ROOT_MARKER).exists():
            raise SystemExit(f"{root} exists and was not made by this script; remove it yourself")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / ROOT_MARKER).write_text("scripts/make_fixtures.py build folder\n")


def make_fixture(version: str, *, keep: bool) -> Scenario:
    """Build one version's home under the stable root and export it into tests/fixtures."""
    root = Path(FIXTURE_ROOT) / version
    _fresh_root(root)
    started = time.monotonic()
    scenario = build_home(version, root)
    built = time.monotonic() - started
    target = fixture_dir(version)
    if target.exists():
        shutil.rmtree(target)
    files = export_home(scenario.home, target / "home")
    manifest = scenario.to_manifest()
    manifest.update(
        generated_by="scripts/make_fixtures.py",
        fixture_root=FIXTURE_ROOT,
        note=(
            "cwds and DB rollout_path values name the build folders under fixture_root; "
            "those folders do not exist elsewhere. tests.harness.fixtures.install_fixture "
            "copies the home and can re-point rollout_path at the copy."
        ),
        files={f: _sha256(target / "home" / f) for f in files},
    )
    (target / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    if not keep:
        shutil.rmtree(root)
        with contextlib.suppress(OSError):
            root.parent.rmdir()  # only when no other version's folder is left
    print(f"{version}: built in {built:.1f}s, {len(files)} files -> {target}")
    return scenario


def verify_fixture(version: str) -> None:
    """The exported home, installed elsewhere, must be listed by Codex as the manifest says."""
    binary = codex_binary(version)
    with tempfile.TemporaryDirectory(prefix="cm-fixture-check-") as tmp:
        scenario = install_fixture(version, Path(tmp) / "home")
        listed = list_threads_of_copy(binary, scenario.home)
        can_filter = "archived" in protocol(binary).thread_list_params
        problems = listing_problems(scenario, listed, can_filter_archived=can_filter)
    if problems:
        raise SystemExit(f"{version} fixture does not list as expected:\n" + "\n".join(problems))
    print(f"{version}: fixture verified ({len(listed)} threads listed)")


def write_readme() -> None:
    (FIXTURES_DIR / "README.md").write_text(
        "# Real-Codex fixture homes\n\n"
        "Generated by `scripts/make_fixtures.py`; do not edit by hand, regenerate instead.\n\n"
        f"* `codex-{CODEX_NEW}/`, `codex-{CODEX_OLD}/`: `home/` is what the real Codex wrote "
        "(rollouts untouched, state DBs copied with the SQLite backup API and stored in "
        "`journal_mode=DELETE`; Codex's own are WAL), `manifest.json` "
        "describes every thread (id, cwd, archived, name, source, whether that version lists "
        "it, turns, rollout path, content tags) and the sha256 of every file.\n"
        f"* Codex ran in `{FIXTURE_ROOT}/<version>/projects/…` with the home at "
        f"`{FIXTURE_ROOT}/<version>/codex-home`; those paths are recorded inside the files.\n"
        "* Git does not keep file mtimes; Codex derives `updated_at` from them when it "
        "rebuilds its index, so do not rely on those.\n"
        "* Load them with `tests.harness.fixtures.install_fixture(version, dest)`.\n",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the build folders")
    parser.add_argument("--version", action="append", help="only this Codex version (repeatable)")
    args = parser.parse_args(argv)
    FIXTURES_DIR.mkdir(parents=True, exist_ok=True)
    for version in args.version or [CODEX_NEW, CODEX_OLD]:
        make_fixture(version, keep=args.keep)
        verify_fixture(version)
    write_readme()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
