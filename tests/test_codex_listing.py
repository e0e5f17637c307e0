"""scan and the path rewrite checked against what the real Codex lists."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from codex_migrate.pathmap import PathMapper
from codex_migrate.rewrite import rewrite_line
from tests.harness.app_server import list_threads_of_copy
from tests.harness.scenario import Scenario

pytestmark = pytest.mark.codex


def _scan(home: Path) -> dict[str, dict]:
    result = CliRunner().invoke(cli, ["scan", str(home), "--json"])
    assert result.exit_code == 0, result.output
    return {t["id"]: t for t in json.loads(result.stdout)["threads"]}


def test_scan_matches_what_codex_lists(
    codex_home_any: Scenario, codex_bin_new: Path, codex_bin_old: Path
) -> None:
    scenario = codex_home_any
    binary = codex_bin_new if scenario.version == "0.169.0" else codex_bin_old
    scanned = _scan(scenario.home)
    listed = {t["id"]: t for t in list_threads_of_copy(binary, scenario.home)}
    assert set(listed) <= set(scanned)
    for tid, got in listed.items():
        mine = scanned[tid]
        assert mine["cwd"] == got["cwd"], tid
        assert mine["name"] == got["name"], tid
        if got["archived"] is not None:
            assert mine["archived"] == got["archived"], tid
    hidden = set(scanned) - set(listed)
    # What scan shows beyond the listing is exactly what this Codex build hides.
    assert hidden == {t.id for t in scenario.threads.values() if not t.listed}
    for t in scenario.threads.values():
        assert scanned[t.id]["archived"] == t.archived


@pytest.mark.parametrize(
    "foreign_root",
    ["/Users/alex/Projects", "C:\\Users\\alex\\Projects"],
    ids=["macos", "windows"],
)
def test_rewritten_real_rollouts_are_listed_under_the_new_path(
    codex_home_any_copy: Scenario,
    codex_bin_new: Path,
    codex_bin_old: Path,
    tmp_path: Path,
    foreign_root: str,
) -> None:
    """Rollouts that came from another OS, rewritten to a folder here: with no DB, Codex
    lists each thread under the new path."""
    scenario = codex_home_any_copy
    binary = codex_bin_new if scenario.version == "0.169.0" else codex_bin_old
    local_root = Path(next(iter(scenario.projects.values()))).parent
    new_root = tmp_path / "new place"
    shutil.copytree(local_root, new_root)
    to_foreign = PathMapper([f"{local_root}={foreign_root}"])
    to_here = PathMapper([f"{foreign_root}={new_root}"])
    for p in scenario.home.glob("*.sqlite*"):
        p.unlink()
    for rollout in list(scenario.home.rglob("rollout-*.jsonl")):
        lines = rollout.read_bytes().splitlines(keepends=True)
        foreign = [rewrite_line(line, to_foreign) for line in lines]
        assert any(f != o for f, o in zip(foreign, lines, strict=True))
        rollout.write_bytes(b"".join(rewrite_line(line, to_here) for line in foreign))
    scanned = _scan(scenario.home)
    listed = {t["id"]: t for t in list_threads_of_copy(binary, scenario.home)}
    for t in scenario.threads.values():
        expected = t.cwd.replace(str(local_root), str(new_root))
        assert scanned[t.id]["cwd"] == expected
        if t.listed:
            assert listed[t.id]["cwd"] == expected, t.key
