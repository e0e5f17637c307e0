"""A home written by the real Codex 0.29.0 (2025): "bare" rollouts, the cwd only as text.

0.29 has no ``exec resume``, no archive command and no app-server listing of its own files,
so each session is one ``codex exec`` turn. The project folder names test what 0.29 wrote
literally (``&``, ``<``, a space, non-ASCII), which must not be XML-unescaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .codex import CodexRunner
from .homes import find_rollout
from .install import CODEX_BARE, codex_binary

BARE_PROJECTS = {"rnd": "R&D <x> é", "app": "my app"}


@dataclass(frozen=True)
class BareThread:
    key: str
    id: str
    cwd: str
    prompt: str
    rollout: str  # relative to the home


@dataclass
class BareHome:
    root: Path
    home: Path
    projects: dict[str, Path]
    threads: dict[str, BareThread]


def build_bare_home(root: Path, mock_server: object, *, binary: Path | None = None) -> BareHome:
    """``root/codex-home`` filled by Codex 0.29.0 with three one-turn sessions."""
    root = Path(root).resolve()
    home = root / "codex-home"
    runner = CodexRunner(CODEX_BARE, home, mock_server, binary=binary or codex_binary(CODEX_BARE))
    projects = {}
    for key, name in BARE_PROJECTS.items():
        projects[key] = root / "projects" / name
        projects[key].mkdir(parents=True, exist_ok=True)
    plans = {
        "plain": (projects["rnd"], "A 2025 idea: plan the R&D work.", None),
        "shell": (projects["app"], "Check the shell in 2025. RUN: echo hi", None),
        # (0.29 with -i hangs against the mock: no image session)
        "second": (projects["app"], "Another 2025 session in the same project.", None),
    }
    threads = {}
    for key, (cwd, prompt, _img) in plans.items():
        before = set(home.rglob("rollout-*.jsonl"))
        runner.run(["exec", "--skip-git-repo-check", "--", prompt], cwd)
        (new,) = set(home.rglob("rollout-*.jsonl")) - before
        tid = new.stem[-36:]
        assert find_rollout(home, tid) == new
        threads[key] = BareThread(key, tid, str(cwd), prompt, new.relative_to(home).as_posix())
    return BareHome(root, home, projects, threads)
