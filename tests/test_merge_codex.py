"""The merge rules on real rollouts made by Codex 0.169.0 (prefixes cut at whole lines)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from tests.harness.app_server import AppServer
from tests.harness.homes import copy_home
from tests.harness.scenario import Scenario

pytestmark = pytest.mark.codex


def _plan(source: Path, target: Path, root: str, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        cli,
        [
            "import",
            str(source),
            "--codex-home",
            str(target),
            "--history-only",
            root,
            "--json",
            *extra,
        ],
    )
    return result.exit_code, json.loads(result.stdout)


def _cut(path: Path, lines: int) -> None:
    kept = path.read_bytes().splitlines(keepends=True)[:-lines]
    path.write_bytes(b"".join(kept))


def test_every_merge_rule_on_real_rollouts(
    codex_home_new_copy: Scenario, codex_bin_new: Path, tmp_path: Path
) -> None:
    source = codex_home_new_copy
    root = str(Path(next(iter(source.projects.values()))).parent)
    target = copy_home(source.home, tmp_path / "target")
    keys = sorted(source.threads)
    grown, shrunk, forked = (source.threads[k] for k in keys[:3])

    code, out = _plan(source.home, target, root, "--dry-run")
    assert code == 0
    assert {t["action"] for t in out["plan"]["threads"]} == {"skip"}

    _cut(target / grown.rollout, 3)  # the target is a prefix: replace with the longer source
    _cut(source.home / shrunk.rollout, 3)  # the source is a prefix: keep the target
    code, out = _plan(source.home, target, root, "--dry-run")
    actions = {t["id"]: t["action"] for t in out["plan"]["threads"]}
    assert actions[grown.id] == "replace" and actions[shrunk.id] == "keep"

    lines = (target / forked.rollout).read_bytes().splitlines(keepends=True)
    lines[-1] = lines[-1].replace(b'"timestamp":"', b'"timestamp":"1', 1)
    (target / forked.rollout).write_bytes(b"".join(lines))
    code, out = _plan(source.home, target, root, "--yes")
    assert code == 5
    conflict = next(t for t in out["plan"]["threads"] if t["action"] == "conflict")
    assert conflict["id"] == forked.id and conflict["first_difference_line"] == len(lines)

    shutil.copy2(source.home / forked.rollout, target / forked.rollout)
    code, out = _plan(source.home, target, root, "--yes", "--codex-bin", str(codex_bin_new))
    assert code == 0, out
    assert (target / grown.rollout).read_bytes() == (source.home / grown.rollout).read_bytes()
    with AppServer(codex_bin_new, target) as server:
        assert len(server.list_turns(grown.id)) == grown.turns
        listed = {t["id"] for t in server.list_threads()}
    assert {t.id for t in source.threads.values()} <= listed
