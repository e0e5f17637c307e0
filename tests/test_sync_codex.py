"""`sync` between two homes on this machine, proven with the real Codex 0.169.0 on both sides.

Side A is a "Mac": its sessions were made by the real Codex and are recorded under
``/Users/alex/code`` (bound to the root ``code``). Side B keeps its projects in its own folder.
The shared folder is carried between the two either by the test (a plain copy) or by two real
Syncthing instances talking over 127.0.0.1. In both: A's sessions appear on B, listed by the
real app-server under B's paths with every turn; B continues one and A gets the longer history;
both continue the same thread and each side reports the conflict, loses nothing, and still
takes in every other thread.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from tests.harness.app_server import AppServer
from tests.harness.codex import CodexRunner
from tests.harness.scenario import Scenario
from tests.harness.syncthing import SyncthingPair, syncthing_binary, syncthing_pair

pytestmark = pytest.mark.codex
MAC_ROOT = "/Users/alex/code"
VERSION = "0.169.0"


class Side:
    def __init__(self, base: Path, machine: str, root: str, codex_bin: Path) -> None:
        self.base = base
        self.home = base / "codex-home"
        self.folder = base / "Sync" / "codex-history"
        self.machine, self.root, self.codex_bin = machine, root, codex_bin
        self.folder.mkdir(parents=True)

    def sync(self, *extra: str, code: int = 0) -> dict[str, Any]:
        args = ["sync", str(self.folder), "--codex-home", str(self.home), "--json", "--yes"]
        args += ["--machine", self.machine, "--root", f"code={self.root}"]
        args += ["--codex-bin", str(self.codex_bin)]
        result = CliRunner().invoke(cli, [*args, *extra])
        assert result.exit_code == code, result.output
        out: dict[str, Any] = json.loads(result.stdout)
        return out

    def rollout(self, thread_id: str) -> Path:
        return next((self.home / "sessions").rglob(f"rollout-*{thread_id}.jsonl"))


Carry = Callable[[Side, Side], None]


def _copy_carry(src: Side, dst: Side) -> None:
    """The test as the sync engine: the source machine's folder and the config, whole."""
    there = src.folder / "machines" / src.machine
    here = dst.folder / "machines" / src.machine
    if here.exists():
        shutil.rmtree(here)
    shutil.copytree(there, here)
    shutil.copy2(src.folder / "codex-sync.toml", dst.folder / "codex-sync.toml")


def _half_delivery(src: Side, dst: Side) -> None:
    """The engine caught mid-way: every rollout cut short, one only as a temp file, and a
    conflicted copy beside one; the manifest has already arrived."""
    there = src.folder / "machines" / src.machine
    here = dst.folder / "machines" / src.machine
    shutil.copytree(there, here)
    shutil.copy2(src.folder / "codex-sync.toml", dst.folder / "codex-sync.toml")
    rollouts = sorted(here.rglob("rollout-*.jsonl"))
    for p in rollouts:
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    first = rollouts[0]
    first.rename(first.with_name(f".syncthing.{first.name}.tmp"))
    second = rollouts[1]
    shutil.copy2(second, second.with_name(second.stem + ".sync-conflict-20261201-1.jsonl"))


@pytest.fixture(params=["copy", "syncthing"])
def carrier(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Carry]]:
    """``make(a, b)`` returns the function that carries a side's part of the folder across."""
    pairs: list[SyncthingPair] = []

    def make(a: Side, b: Side) -> Carry:
        if request.param == "copy":
            return _copy_carry
        if syncthing_binary() is None:
            pytest.skip("syncthing is not installed (scripts/install-system-deps.sh)")
        ctx = syncthing_pair(tmp_path / "syncthing", a.folder, b.folder)
        pair = ctx.__enter__()
        request.addfinalizer(lambda: ctx.__exit__(None, None, None))
        pairs.append(pair)
        instance = {a.machine: pair.a, b.machine: pair.b}

        def carry(src: Side, dst: Side) -> None:
            st_src, st_dst = instance[src.machine], instance[dst.machine]
            pair.carry(st_src, st_dst, f"machines/{src.machine}")
            pair.carry(st_src, st_dst, "codex-sync.toml")
            assert all(addr.startswith("127.0.0.1:") for addr in pair.addresses())

        return carry

    yield make


def _mac_home(scenario: Scenario, side: Side) -> str:
    """Side A's home: the real Codex's sessions as a Mac recorded them."""
    projects = str(Path(next(iter(scenario.projects.values()))).parent)
    result = CliRunner().invoke(
        cli,
        [
            "import",
            str(scenario.home),
            "--codex-home",
            str(side.home),
            "--map",
            f"{projects}={MAC_ROOT}",
            "--no-codex",
            "--yes",
        ],
    )
    assert result.exit_code == 0, result.output
    return projects


def test_two_homes_stay_in_step(
    codex_home_new: Scenario,
    codex_bin_new: Path,
    mock_api_server: Any,
    carrier: Callable[..., Carry],
    tmp_path: Path,
) -> None:
    scenario = codex_home_new
    b_code = tmp_path / "B" / "code"
    a = Side(tmp_path / "A", "mac", MAC_ROOT, codex_bin_new)
    b = Side(tmp_path / "B", "linux", str(b_code), codex_bin_new)
    projects = _mac_home(scenario, a)
    for path in scenario.projects.values():
        (b_code / Path(path).name).mkdir(parents=True)
    (b_code / "own").mkdir()
    run_b = CodexRunner(VERSION, b.home, mock_api_server, binary=codex_bin_new)
    own = run_b.exec("B's own session", b_code / "own")
    carry = carrier(a, b)

    # 1. A's sessions appear on B under B's paths, every turn readable.
    out = a.sync()
    assert len(out["push"]["threads"]) == len(scenario.threads)
    if carry is _copy_carry:  # first a delivery caught halfway: nothing of it is taken
        _half_delivery(a, b)
        before = sorted(p.name for p in b.home.rglob("rollout-*"))
        out = b.sync()
        assert len(out["pull"][0]["in_flight"]) == len(scenario.threads)
        assert len(out["pull"][0]["leftovers"]) == 2
        assert sorted(p.name for p in b.home.rglob("rollout-*")) == before
    carry(a, b)
    out = b.sync()
    assert out["pull"][0]["summary"]["import"] == len(scenario.threads), out["pull"]
    assert not out["pull"][0]["codex_registration"]["failed"]
    with AppServer(codex_bin_new, b.home) as server:
        listed = {t["id"]: t for t in server.list_threads()}
        assert own in listed
        for t in scenario.threads.values():
            if not t.listed:
                continue
            got = listed.get(t.id)
            assert got is not None, f"{t.key} not listed on B"
            assert got["cwd"] == t.cwd.replace(projects, str(b_code)), t.key
            assert got["archived"] == t.archived, t.key
            assert got["name"] == t.name, t.key
            assert len(server.list_turns(t.id)) == t.turns, t.key

    # 2. B continues a thread; A gets the longer history, in A's paths.
    live = next(t for t in scenario.threads.values() if t.listed and not t.archived)
    live_dir = b_code / Path(live.cwd).name
    run_b.resume(live.id, "continued on B", live_dir)
    b.sync()
    carry(b, a)
    out = a.sync()
    assert out["pull"][0]["summary"]["replace"] == 1, out["pull"]
    mine = a.rollout(live.id).read_bytes()
    assert b"continued on B" in mine
    cwds = [
        rec["payload"]["cwd"]
        for rec in map(json.loads, mine.splitlines())
        if rec.get("type") == "turn_context"
    ]
    assert len(cwds) == live.turns + 1
    assert all(c == f"{MAC_ROOT}/{live_dir.name}" for c in cwds), "B's paths come back as A's"
    assert len(mine.splitlines()) == len(b.rollout(live.id).read_bytes().splitlines())
    carry(a, b)
    assert not b.sync()["wrote"], "nothing new for B"

    # 3. Both continue the same thread: a conflict on both; nothing lost; the rest syncs.
    scratch = tmp_path / "A" / "scratch"
    scratch.mkdir()
    run_a = CodexRunner(VERSION, a.home, mock_api_server, binary=codex_bin_new)
    run_a.resume(live.id, "A went on", scratch)
    fresh = run_a.exec("a new session on A", scratch)
    run_b.resume(live.id, "B went on", live_dir)
    a_copy, b_copy = a.rollout(live.id).read_bytes(), b.rollout(live.id).read_bytes()
    a.sync()
    b.sync()
    carry(a, b)
    carry(b, a)
    out_a = a.sync(code=5)
    out_b = b.sync(code=5)
    for out in (out_a, out_b):
        assert [c["thread"] for c in out["conflicts"]] == [live.id], out["conflicts"]
    assert out_b["pull"][0]["summary"]["import"] == 1
    assert a.rollout(live.id).read_bytes() == a_copy
    assert b.rollout(live.id).read_bytes() == b_copy
    assert b"A went on" in a_copy and b"B went on" not in a_copy
    assert b"B went on" in b_copy and b"A went on" not in b_copy
    with AppServer(codex_bin_new, b.home) as server:
        listed = {t["id"]: t for t in server.list_threads()}
        assert listed[fresh]["cwd"] == str(scratch)  # outside every root: as recorded
        assert len(server.list_turns(fresh)) == 1
        assert len(server.list_turns(live.id)) == live.turns + 2
