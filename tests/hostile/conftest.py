"""Shared pieces of the hostile-input suite: a small source home, a target home, and one way to
run a command that checks what every hostile case must guarantee.

Every case runs the CLI in-process (Click's CliRunner), so the suite stays fast, and carries a
time bound (``pytest.mark.timeout``) so a hang fails instead of blocking CI.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from tests.homes import tid, write_rollout

OLD = "/Users/alex/Projects"
#: Seconds one hostile case may take before it counts as a hang.
BOUND = 20


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


def invoke(*args: str | Path, input: str | None = None) -> Outcome:
    """Run the CLI; fail on any traceback or uncaught exception."""
    result = CliRunner().invoke(cli, [str(a) for a in args], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}\n{result.output}") from (
            result.exception
        )
    out = Outcome(result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in out.text, out.text
    for leak in ("RecursionError", "ZstdError", "[Errno"):
        assert leak not in out.text, out.text
    return out


def digest_tree(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (links and special files too) with its content hash; no
    reads of anything but regular files, so a FIFO in the tree cannot block the check."""
    state: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                state[str(p.relative_to(root))] = "link:" + os.readlink(p)
            elif p.is_file():
                state[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                state[str(p.relative_to(root))] = f"mode:{st.st_mode:o}"
    return state


def source_home(root: Path) -> Path:
    """Three good threads (two active, one archived), a name index and prompt history."""
    write_rollout(root, 1, cwd=f"{OLD}/app", turns=[("First question", "First answer")])
    write_rollout(root, 2, cwd=f"{OLD}/app", era="legacy")
    write_rollout(root, 3, cwd=f"{OLD}/other", archived=True)
    (root / "session_index.jsonl").write_text(
        json.dumps({"id": tid(1), "thread_name": "Named one", "updated_at": "t"}) + "\n"
    )
    (root / "history.jsonl").write_text(
        json.dumps({"session_id": tid(1), "ts": 1, "text": "First question"}) + "\n"
    )
    return root


@dataclass
class World:
    """A source home, an (empty) target home, a folder for outputs, and their digests."""

    tmp: Path
    src: Path
    dst: Path
    out: Path

    def snapshot(self) -> dict[str, dict[str, str]]:
        return {"src": digest_tree(self.src), "dst": digest_tree(self.dst)}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    src = source_home(tmp_path / "src" / ".codex")
    dst = tmp_path / "dst" / ".codex"
    dst.mkdir(parents=True)
    out = tmp_path / "out"
    yield World(tmp_path, src, dst, out)
    # Nothing named like a Codex file may be left blocking: unlink FIFOs we made.
    for dirpath, _dirs, files in os.walk(tmp_path):
        for name in files:
            p = Path(dirpath) / name
            if p.is_fifo():
                p.unlink()
