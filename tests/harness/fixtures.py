"""The checked-in fixture homes under ``tests/fixtures/`` (made by ``scripts/make_fixtures.py``).

Each ``tests/fixtures/codex-<version>/`` holds ``home/`` (rollouts, ``session_index.jsonl``
and single-file copies of the state DBs) and ``manifest.json`` (the :class:`Scenario` that
built it). They let tests that cannot run npm still work on real Codex output.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .homes import repoint_rollout_paths
from .scenario import Scenario

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURE_ROOT = "/tmp/cm-fixture-root"
"""Where the fixtures were built: every recorded cwd and home path starts with this."""


def fixture_dir(version: str) -> Path:
    return FIXTURES_DIR / f"codex-{version}"


def fixture_manifest(version: str) -> dict[str, Any]:
    """The manifest of one fixture home, as written by ``scripts/make_fixtures.py``."""
    return json.loads((fixture_dir(version) / "manifest.json").read_text(encoding="utf-8"))


def fixture_scenario(version: str) -> Scenario:
    """The fixture as a :class:`Scenario` whose home is the checked-in folder (read-only!)."""
    return Scenario.from_manifest(fixture_manifest(version), home=fixture_dir(version) / "home")


def install_fixture(version: str, dest: Path, *, repoint: bool = True) -> Scenario:
    """Copy a fixture home to ``dest`` and return its scenario there.

    With ``repoint`` (default) the DB's absolute ``rollout_path`` values are moved from the
    recorded home (under ``/tmp/cm-fixture-root``) to ``dest``, as if Codex had built the home
    there. Without it the copy is a home "from another machine": DB rows still name the build
    location, which is what a migration source looks like. Recorded cwds are never changed.
    """
    manifest = fixture_manifest(version)
    shutil.copytree(fixture_dir(version) / "home", dest)
    dest = Path(dest).resolve()
    if repoint:
        repoint_rollout_paths(dest, manifest["home"])
    return Scenario.from_manifest(manifest, home=dest)
