"""Shared fixtures: isolation from the real ``~/.codex`` and real-Codex homes built once a session.

Fixture overview (see ``tests/harness`` for the API they return):

* ``codex_bin_new`` / ``codex_bin_old`` (session): path of the pinned Codex 0.169.0 / 0.80.0
  binary, installed from npm on first use; the test is skipped when npm is missing.
* ``codex_home_new`` / ``codex_home_old`` (session): a :class:`Scenario` whose home was filled
  by the real Codex. Shared by every test: never modify it.
* ``codex_home_new_copy`` / ``codex_home_old_copy`` (function): the same scenario with a private
  copy of the home, free to modify.
* ``codex_home_any`` / ``codex_home_any_copy``: the two above, parametrized over both versions.
* ``mock_api_server`` (session): the mock Responses API, for running more Codex turns;
  ``codex_runner`` (function) makes a :class:`CodexRunner` for a home using it.

Tests that use any of these are marked ``codex`` automatically (and may say so explicitly).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# `tests.harness` must import the same way however pytest was started (plain `pytest` puts only
# tests/ on sys.path when tests/ is not a package).
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

# The UI never opens the desktop's own file dialogs during tests (ui.native): the in-page
# browser is what the browser tests drive.
os.environ.setdefault("CODEX_MIGRATE_NO_NATIVE_DIALOG", "1")

from tests.harness.codex import CodexRunner  # noqa: E402
from tests.harness.install import CODEX_NEW, CODEX_OLD, NpmNotFoundError, codex_binary  # noqa: E402
from tests.harness.mock_api import mock_responses_api  # noqa: E402
from tests.harness.scenario import Scenario, build_home  # noqa: E402

CODEX_FIXTURES = frozenset(
    {
        "codex_bin_new",
        "codex_bin_old",
        "codex_home_new",
        "codex_home_old",
        "codex_home_new_copy",
        "codex_home_old_copy",
        "codex_home_any",
        "codex_home_any_copy",
        "codex_runner",
    }
)
VERSIONS = {"new": CODEX_NEW, "old": CODEX_OLD}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow", action="store_true", help="also run the full-size benchmarks (marked slow)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a real-Codex fixture with ``codex``, so ``-m`` can select it;
    skip ``slow`` benchmarks unless ``--run-slow`` (independent of any ``-m`` the user gives)."""
    skip_slow = pytest.mark.skip(reason="full-size benchmark: pass --run-slow")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--run-slow"):
            item.add_marker(skip_slow)
        if CODEX_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.codex)


@pytest.fixture(autouse=True)
def _isolate_from_real_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point ``CODEX_HOME`` and ``HOME`` at empty temp folders for every test.

    A test (or code under test) that forgets to pass a home then works on a throwaway folder
    instead of the developer's real ``~/.codex``. A MonkeyPatch of its own, not the test's:
    a test that calls ``monkeypatch.undo()`` half way keeps it (tests/test_isolation.py).
    """
    isolated = tmp_path_factory.mktemp("isolated-env")
    user_home = isolated / "user-home"
    codex_home = user_home / ".codex"
    codex_home.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("HOME", str(user_home))
        monkeypatch.setenv("USERPROFILE", str(user_home))
        monkeypatch.setenv("CODEX_HOME", str(codex_home))
        monkeypatch.delenv("CODEX_SQLITE_HOME", raising=False)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        # The listing cache stays on (every test is then also a test of it), in a folder of
        # its own: no test touches the real user cache, none sees another's.
        monkeypatch.setenv("CODEX_MIGRATE_CACHE_DIR", str(isolated / "listing-cache"))
        monkeypatch.delenv("CODEX_MIGRATE_CACHE", raising=False)
        yield


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """The listing cache reads as if 10 s had passed since the files were written: none is
    racy, so what a test just wrote is stored (see catalog_cache.RACY_NS)."""
    import codex_migrate.catalog_cache as cc

    clock = time.time_ns
    monkeypatch.setattr(cc.time, "time_ns", lambda: clock() + 10_000_000_000)


def _binary_or_skip(version: str) -> Path:
    try:
        return codex_binary(version)
    except NpmNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def codex_bin_new() -> Path:
    return _binary_or_skip(CODEX_NEW)


@pytest.fixture(scope="session")
def codex_bin_old() -> Path:
    return _binary_or_skip(CODEX_OLD)


@pytest.fixture(scope="session")
def codex_home_new(codex_bin_new: Path, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """A 0.169.0 home built once per session. Read-only for tests: use the ``_copy`` fixture."""
    return build_home(CODEX_NEW, tmp_path_factory.mktemp("codex-new"), binary=codex_bin_new)


@pytest.fixture(scope="session")
def codex_home_old(codex_bin_old: Path, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """A 0.80.0 home built once per session. Read-only for tests: use the ``_copy`` fixture."""
    return build_home(CODEX_OLD, tmp_path_factory.mktemp("codex-old"), binary=codex_bin_old)


@pytest.fixture
def codex_home_new_copy(codex_home_new: Scenario, tmp_path: Path) -> Scenario:
    """A private, self-contained copy of the 0.169.0 home for one test."""
    return codex_home_new.copy_to(tmp_path / "codex-home-new")


@pytest.fixture
def codex_home_old_copy(codex_home_old: Scenario, tmp_path: Path) -> Scenario:
    """A private, self-contained copy of the 0.80.0 home for one test."""
    return codex_home_old.copy_to(tmp_path / "codex-home-old")


@pytest.fixture(params=sorted(VERSIONS), ids=lambda key: VERSIONS[key])
def codex_home_any(request: pytest.FixtureRequest) -> Scenario:
    """Each session-built home in turn (read-only)."""
    scenario: Scenario = request.getfixturevalue(f"codex_home_{request.param}")
    return scenario


@pytest.fixture
def codex_home_any_copy(codex_home_any: Scenario, tmp_path: Path) -> Scenario:
    """A private copy of each session-built home in turn."""
    return codex_home_any.copy_to(tmp_path / f"codex-home-{codex_home_any.version}")


@pytest.fixture(scope="session")
def mock_api_server() -> Iterator[Any]:
    """The mock Responses API, running for the whole session."""
    with mock_responses_api() as server:
        yield server


@pytest.fixture
def codex_runner(mock_api_server: Any) -> Callable[[Scenario], CodexRunner]:
    """``make(scenario)``: a runner for the scenario's home (rewrites its ``config.toml``)."""

    def make(scenario: Scenario) -> CodexRunner:
        return CodexRunner(scenario.version, scenario.home, mock_api_server)

    return make
