"""The isolation every test gets (tests/conftest.py): a temp HOME, CODEX_HOME and listing-cache
folder, which a test's own ``monkeypatch.undo()`` (several tests undo their own patches half
way) must not take away: what runs after it would use the developer's real ~/.codex and
~/.cache/codex-migrate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _isolated() -> dict[str, str | None]:
    return {k: os.environ.get(k) for k in ("HOME", "CODEX_HOME", "CODEX_MIGRATE_CACHE_DIR")}


def test_a_tests_monkeypatch_undo_keeps_the_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _isolated()
    assert all(v and "isolated-env" in v for v in before.values()), before
    monkeypatch.setenv("SOMETHING_OF_THIS_TEST", "1")
    monkeypatch.undo()
    assert "SOMETHING_OF_THIS_TEST" not in os.environ  # the test's own patch is undone
    assert _isolated() == before  # the isolation is not
    assert Path(os.environ["CODEX_HOME"]).is_dir()
