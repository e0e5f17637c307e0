"""Build a realistic Codex home with the real Codex CLI: the raw material of migration tests.

Everything in the home is written by Codex itself (rollouts, state DBs, session index); the
harness only chooses what to do: which project folders, which prompts, which turns, what to
archive and name. Tests then compare what a migrated home lists against the :class:`Scenario`
recorded here.

Two builds are supported, and they differ in what Codex can do:

* 0.169: sessions are started with ``codex exec`` (source ``exec``) and listed with every source
  kind; ``codex archive`` archives; ``thread/name/set`` names; one extra thread is started
  through the app-server (source ``vscode``).
* 0.80: ``thread/list`` has neither ``sourceKinds`` nor ``archived``, so it shows only
  interactive sessions that are not archived. The listed threads are therefore started through
  the app-server (``thread/start`` + ``turn/start``, source ``vscode``, as the VS Code extension
  does) and continued with ``codex exec resume``; the extra thread is a plain ``codex exec``
  session, which 0.80 records but never lists. Archiving uses the app-server's
  ``thread/archive`` (0.80 has no ``codex archive``). 0.80 cannot name threads.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .app_server import AppServer, protocol
from .codex import CodexRunner
from .homes import copy_home, find_rollout
from .install import codex_binary
from .mock_api import mock_responses_api

# A valid 1x1 PNG: the smallest real image Codex accepts for ``-i``.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

PROJECT_DIRS = {
    "my_app": "my app",  # a space in the path
    "repo": "repo",  # a git repository with one commit and an origin remote
    "cafe": "café",  # a non-ASCII path
}
GIT_ORIGIN = "https://example.invalid/codex-migrate/repo.git"
THREAD_NAME = "Release notes ✓ draft"


@dataclass(frozen=True)
class ScenarioThread:
    """One thread of a built home and what the real Codex is expected to show for it."""

    key: str
    id: str
    cwd: str  # absolute, as Codex records and lists it
    archived: bool
    name: str | None
    source: str  # session_meta.source as Codex recorded it: "exec" or "vscode"
    listed: bool  # whether this version's app-server thread/list shows it at all
    turns: int
    preview: str  # the first user prompt
    rollout: str  # path of the rollout file, relative to the home, "/"-separated
    contains: tuple[str, ...] = ()  # e.g. "function_call", "input_image", "git"


@dataclass
class Scenario:
    """A built home: where it is, its project folders, and the threads in it by key."""

    version: str
    root: Path
    home: Path
    projects: dict[str, Path]
    threads: dict[str, ScenarioThread] = field(default_factory=dict)
    image: Path | None = None
    build_seconds: float = 0.0

    def thread(self, key: str) -> ScenarioThread:
        return self.threads[key]

    def by_id(self) -> dict[str, ScenarioThread]:
        return {t.id: t for t in self.threads.values()}

    def rollout_path(self, key: str) -> Path:
        """Absolute path of a thread's rollout in this scenario's home."""
        return self.home / self.threads[key].rollout

    def with_home(self, home: Path) -> Scenario:
        """The same scenario for a copy of the home (projects stay where they are)."""
        return dataclasses.replace(self, home=Path(home), threads=dict(self.threads))

    def copy_to(self, dest: Path) -> Scenario:
        """Copy the home to ``dest`` with :func:`copy_home`; the scenario of the copy."""
        return self.with_home(copy_home(self.home, dest))

    def to_manifest(self) -> dict[str, Any]:
        """A JSON-able description (used for the checked-in fixtures)."""
        return {
            "codex_version": self.version,
            "root": str(self.root),
            "home": str(self.home),
            "projects": {k: str(v) for k, v in self.projects.items()},
            "threads": {k: dataclasses.asdict(t) for k, t in self.threads.items()},
        }

    @classmethod
    def from_manifest(cls, data: dict[str, Any], home: Path | None = None) -> Scenario:
        """Read :meth:`to_manifest` output back; ``home`` overrides where the home now is."""
        threads = {
            k: ScenarioThread(**{**t, "contains": tuple(t.get("contains", ()))})
            for k, t in data["threads"].items()
        }
        return cls(
            version=data["codex_version"],
            root=Path(data["root"]),
            home=Path(home) if home is not None else Path(data["home"]),
            projects={k: Path(v) for k, v in data["projects"].items()},
            threads=threads,
        )


def _git(args: list[str], cwd: Path, user_home: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(user_home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Fixture",
        "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
        "GIT_COMMITTER_NAME": "Fixture",
        "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
        "GIT_AUTHOR_DATE": "2025-01-01T00:00:00+00:00",
        "GIT_COMMITTER_DATE": "2025-01-01T00:00:00+00:00",
    }
    for key in ("SYSTEMROOT", "TEMP", "TMP"):
        if key in os.environ:
            env[key] = os.environ[key]
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)


def make_projects(folder: Path, user_home: Path) -> tuple[dict[str, Path], bool]:
    """Create the project folders; returns them (resolved) and whether ``repo`` is a git repo."""
    projects: dict[str, Path] = {}
    for key, name in PROJECT_DIRS.items():
        path = folder / name
        path.mkdir(parents=True, exist_ok=True)
        (path / "README.md").write_text(f"# {name}\n\nA project folder for Codex fixtures.\n")
        projects[key] = path.resolve()
    has_git = shutil.which("git") is not None
    if has_git:
        repo = projects["repo"]
        _git(["-c", "init.defaultBranch=main", "init", "-q"], repo, user_home)
        _git(["add", "README.md"], repo, user_home)
        _git(["commit", "-q", "-m", "Initial commit"], repo, user_home)
        _git(["remote", "add", "origin", GIT_ORIGIN], repo, user_home)
    return projects, has_git


def _record_source(rollout: Path) -> str:
    with rollout.open(encoding="utf-8") as fh:
        first = json.loads(fh.readline())
    source = first.get("payload", {}).get("source")
    return source if isinstance(source, str) else json.dumps(source)


def build_home(version: str, root: Path, *, binary: Path | None = None) -> Scenario:
    """Create ``root/codex-home`` and ``root/projects/*`` and fill the home with real sessions.

    Takes a few seconds: each turn is a real Codex run answered by the local mock.
    """
    started = time.monotonic()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    home = root / "codex-home"
    binary = binary or codex_binary(version)
    image = root / "assets" / "tiny.png"
    image.parent.mkdir(parents=True, exist_ok=True)
    image.write_bytes(TINY_PNG)

    with mock_responses_api() as server:
        runner = CodexRunner(version, home, server, binary=binary)
        projects, has_git = make_projects(root / "projects", runner.user_home)
        proto = protocol(binary)
        can_list_exec = "sourceKinds" in proto.thread_list_params
        can_name = proto.supports("thread/name/set")
        plans = _plan(projects, has_git)
        ids: dict[str, str] = {}
        turns: dict[str, int] = {}

        if can_list_exec:
            # 0.169: start listed threads with `codex exec`, like a scripted user would.
            for key in ("multi_turn", "shell", "image", "archived", "named"):
                plan = plans[key]
                img = image if key == "image" else None
                ids[key] = runner.exec(plan["prompt"], plan["cwd"], image=img)
                turns[key] = 1
            with AppServer(binary, home, user_home=runner.user_home) as app:
                plan = plans["other_source"]
                ids["other_source"] = app.start_thread(plan["cwd"], plan["prompt"])
                turns["other_source"] = 1
                app.set_name(ids["named"], THREAD_NAME)
        else:
            # 0.80: only app-server (interactive) threads are listed, so start those there.
            with AppServer(binary, home, user_home=runner.user_home) as app:
                for key in ("multi_turn", "shell", "image", "archived", "named"):
                    plan = plans[key]
                    img = image if key == "image" else None
                    ids[key] = app.start_thread(plan["cwd"], plan["prompt"], image=img)
                    turns[key] = 1
            plan = plans["other_source"]
            ids["other_source"] = runner.exec(plan["prompt"], plan["cwd"])
            turns["other_source"] = 1

        for prompt in ("Second turn: keep going.", "Third turn: wrap up."):
            runner.resume(ids["multi_turn"], prompt, plans["multi_turn"]["cwd"])
            turns["multi_turn"] += 1
        runner.archive(ids["archived"])

    threads: dict[str, ScenarioThread] = {}
    for key, plan in plans.items():
        rollout = find_rollout(home, ids[key])
        source = _record_source(rollout)
        archived = key == "archived"
        listed = (source != "exec" and not archived) if not can_list_exec else True
        threads[key] = ScenarioThread(
            key=key,
            id=ids[key],
            cwd=str(plan["cwd"]),
            archived=archived,
            name=THREAD_NAME if key == "named" and can_name else None,
            source=source,
            listed=listed,
            turns=turns[key],
            preview=plan["prompt"],
            rollout=rollout.relative_to(home).as_posix(),
            contains=tuple(plan["contains"]),
        )
    return Scenario(
        version=version,
        root=root,
        home=home,
        projects=projects,
        threads=threads,
        image=image,
        build_seconds=round(time.monotonic() - started, 2),
    )


def _plan(projects: dict[str, Path], has_git: bool) -> dict[str, dict[str, Any]]:
    """Per thread key: cwd, first prompt and the content tags tests may look for."""
    git = ["git"] if has_git else []
    return {
        "multi_turn": {
            "cwd": projects["my_app"],
            "prompt": "First turn: plan the refactor of my app.",
            "contains": ["multi_turn", "space_in_cwd"],
        },
        "shell": {
            "cwd": projects["repo"],
            "prompt": "Check the shell works. RUN: echo hi",
            "contains": ["function_call", *git],
        },
        "image": {
            "cwd": projects["cafe"],
            "prompt": "What is in this picture?",
            "contains": ["input_image", "non_ascii_cwd"],
        },
        "archived": {
            "cwd": projects["my_app"],
            "prompt": "An idea we shelved for later.",
            "contains": ["archived", "space_in_cwd"],
        },
        "named": {
            "cwd": projects["repo"],
            "prompt": "Draft the release notes.",
            "contains": ["name", *git],
        },
        "other_source": {
            "cwd": projects["cafe"],
            "prompt": "A session from another client.",
            "contains": ["non_ascii_cwd"],
        },
    }


def listing_problems(
    scenario: Scenario, listed: list[dict[str, Any]], *, can_filter_archived: bool
) -> list[str]:
    """Differences between what Codex listed and what the scenario expects; empty when equal.

    Checks that exactly the expected threads are listed, each with the expected cwd, archived
    flag (``None`` on builds that cannot filter by it), name, preview and rollout path.
    """
    problems: list[str] = []
    got_by_id = {t["id"]: t for t in listed}
    want_by_id = {t.id: t for t in scenario.threads.values() if t.listed}
    for missing in sorted(set(want_by_id) - set(got_by_id)):
        problems.append(f"{want_by_id[missing].key} ({missing}) is not listed")
    for extra in sorted(set(got_by_id) - set(want_by_id)):
        problems.append(f"unexpected thread listed: {got_by_id[extra]}")
    for thread_id in sorted(set(want_by_id) & set(got_by_id)):
        want, got = want_by_id[thread_id], got_by_id[thread_id]
        expected = {
            "cwd": want.cwd,
            "archived": want.archived if can_filter_archived else None,
            "name": want.name,
            "preview": want.preview,
            "path": str(scenario.home / want.rollout),
        }
        for field_name, value in expected.items():
            actual = got.get(field_name)
            if field_name == "path" and isinstance(actual, str):
                actual = str(Path(actual))
            if actual != value:
                problems.append(f"{want.key}: {field_name} is {actual!r}, expected {value!r}")
    return problems
