"""`sync` on hand-made homes through a plain shared folder that the test copies between sides.

Side A is a Mac (sessions recorded under ``/Users/alex/code``, bound to the root ``code``);
side B is this machine with its projects under its own folder. Each side has its own copy of
the shared folder; the test plays the sync engine by copying one side's machine folder to the
other, sometimes only halfway.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from tests.homes import tid, tree_state, write_rollout

MAC_ROOT = "/Users/alex/code"


class Side:
    def __init__(self, base: Path, machine: str, root: str) -> None:
        self.base = base
        self.home = base / "codex-home"
        self.folder = base / "Sync" / "codex"
        self.machine = machine
        self.root = root
        self.home.mkdir(parents=True)
        self.folder.mkdir(parents=True)

    def sync(self, *extra: str, code: int = 0) -> dict[str, Any]:
        args = ["sync", str(self.folder), "--codex-home", str(self.home), "--json", "--yes"]
        args += ["--no-codex", "--machine", self.machine, "--root", f"code={self.root}"]
        result = CliRunner().invoke(cli, [*args, *extra])
        assert result.exit_code == code, result.output
        out: dict[str, Any] = json.loads(result.stdout)
        return out

    def rollout(self, n: int) -> Path:
        for place in ("sessions", "archived_sessions"):
            found = list((self.home / place).rglob(f"rollout-*{tid(n)}.jsonl"))
            if found:
                return found[0]
        raise FileNotFoundError(tid(n))


def deliver(src: Side, dst: Side, machine: str | None = None) -> None:
    """The sync engine: copy a machine folder (and the shared config) across, whole."""
    for name in [machine] if machine else [src.machine]:
        there = src.folder / "machines" / name
        here = dst.folder / "machines" / name
        if here.exists():
            shutil.rmtree(here)
        shutil.copytree(there, here)
    shutil.copy2(src.folder / "codex-sync.toml", dst.folder / "codex-sync.toml")


def append_turn(path: Path, text: str, cwd: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"type": "turn_context", "payload": {"cwd": cwd}}) + "\n")
        msg = {"type": "event_msg", "payload": {"type": "user_message", "message": text}}
        f.write(json.dumps(msg) + "\n")


@pytest.fixture
def sides(tmp_path: Path) -> tuple[Side, Side]:
    a = Side(tmp_path / "A", "mac", MAC_ROOT)
    b = Side(tmp_path / "B", "linux", str(tmp_path / "B" / "code"))
    (tmp_path / "B" / "code" / "app").mkdir(parents=True)
    write_rollout(a.home, 1, cwd=f"{MAC_ROOT}/app")
    write_rollout(a.home, 2, cwd=f"{MAC_ROOT}/lib", era="legacy")
    write_rollout(a.home, 3, cwd="/Users/alex/elsewhere")
    write_rollout(b.home, 9, cwd=str(tmp_path / "B" / "code" / "app"))
    return a, b


def test_threads_travel_both_ways_and_map_by_root(sides: tuple[Side, Side]) -> None:
    a, b = sides
    out = a.sync()
    assert len(out["push"]["threads"]) == 3
    deliver(a, b)
    out = b.sync()
    (pull,) = out["pull"]
    assert pull["summary"]["import"] == 3, pull
    assert pull["history_only_projects"] == ["/Users/alex/elsewhere"]
    assert f'"cwd":"{b.root}/app"'.encode() in b.rollout(1).read_bytes().replace(b" ", b"")
    assert b"/Users/alex/elsewhere" in b.rollout(3).read_bytes()
    # B's own thread goes out; the three it took in are not published back.
    assert [t["thread"] for t in out["push"]["threads"]] == [tid(9)]
    deliver(b, a)
    out = a.sync()
    assert out["pull"][0]["summary"]["import"] == 1
    assert f"{MAC_ROOT}/app".encode() in a.rollout(9).read_bytes()


def test_a_second_run_with_nothing_new_writes_nothing(sides: tuple[Side, Side]) -> None:
    a, b = sides
    a.sync()
    deliver(a, b)
    b.sync()
    deliver(b, a)
    a.sync()
    deliver(a, b)
    b.sync()
    before = (tree_state(a.base), tree_state(b.base))
    out_a, out_b = a.sync(), b.sync()
    assert not out_a["wrote"] and not out_b["wrote"]
    assert (tree_state(a.base), tree_state(b.base)) == before
    assert not list((b.home / "migration_transactions").glob("*/journal.json"))[1:]


def test_the_longer_history_replaces_the_shorter_copy(sides: tuple[Side, Side]) -> None:
    a, b = sides
    a.sync()
    deliver(a, b)
    b.sync()
    append_turn(b.rollout(1), "continued on B", f"{b.root}/app")
    out = b.sync()
    assert [t["thread"] for t in out["push"]["threads"]] == [tid(1)]
    deliver(b, a)
    out = a.sync()
    assert out["pull"][0]["summary"]["replace"] == 1
    data = a.rollout(1).read_bytes()
    assert b"continued on B" in data
    assert f"{b.root}/app".encode() not in data, "B's paths are mapped back to the Mac's"
    # A's part of the folder follows its copy; B finds it identical to its own.
    assert [t["why"] for t in a.sync()["push"]["threads"]] == ["grown"]
    deliver(a, b)
    out = b.sync()
    assert out["pull"][0]["summary"]["skip"] == 1 and out["pull"][0]["transaction"] is None
    assert not a.sync()["wrote"] and not b.sync()["wrote"]


def test_a_thread_continued_on_both_sides_is_a_conflict_on_both(
    sides: tuple[Side, Side],
) -> None:
    a, b = sides
    a.sync()
    deliver(a, b)
    b.sync()
    deliver(b, a)
    a.sync()
    append_turn(a.rollout(1), "A's turn", f"{MAC_ROOT}/app")
    append_turn(b.rollout(1), "B's turn", f"{b.root}/app")
    write_rollout(a.home, 4, cwd=f"{MAC_ROOT}/app")  # another thread still syncs
    a_before, b_before = a.rollout(1).read_bytes(), b.rollout(1).read_bytes()
    a.sync()
    b.sync()
    deliver(a, b)
    deliver(b, a)
    out_b = b.sync(code=5)
    out_a = a.sync(code=5)
    for out in (out_a, out_b):
        assert [c["thread"] for c in out["conflicts"]] == [tid(1)]
    assert out_b["pull"][0]["summary"]["import"] == 1  # thread 4 came in anyway
    assert a.rollout(1).read_bytes() == a_before
    assert b.rollout(1).read_bytes() == b_before
    status = CliRunner().invoke(
        cli,
        ["sync", str(a.folder), "--codex-home", str(a.home), "--machine", "mac", "--status"],
    )
    assert status.exit_code == 0, status.output
    assert "conflict" in status.output


def test_a_delivery_caught_halfway_is_in_flight(sides: tuple[Side, Side], tmp_path: Path) -> None:
    a, b = sides
    write_rollout(a.home, 5, cwd=f"{MAC_ROOT}/app")
    a.sync()
    src = a.folder / "machines" / "mac"
    dst = b.folder / "machines" / "mac"
    shutil.copytree(src, dst)
    shutil.copy2(a.folder / "codex-sync.toml", b.folder / "codex-sync.toml")
    cut = next(dst.rglob(f"*{tid(1)}.jsonl"))
    cut.write_bytes(cut.read_bytes()[:100])  # truncated: still being delivered
    gone = next(dst.rglob(f"*{tid(2)}.jsonl"))
    gone.rename(gone.with_name(f".syncthing.{gone.name}.tmp"))  # only its temp file so far
    three = next(dst.rglob(f"*{tid(3)}.jsonl"))
    conflicted = three.with_name(three.name.replace(".jsonl", ".sync-conflict-20260101-1-X.jsonl"))
    shutil.copy2(three, conflicted)
    (dst / "sessions" / "x (Bob's conflicted copy 2026-01-01).jsonl").write_text("{}\n")

    before = tree_state(b.home)
    dry = b.sync("--dry-run")
    assert tree_state(b.home) == before
    out = b.sync()
    (pull,) = out["pull"]
    flying = {Path(f["path"]).name: f["reason"] for f in pull["in_flight"]}
    assert flying[cut.name].endswith("bytes"), flying
    assert flying[gone.name] == "not delivered yet"
    assert any("sync-conflict" in x for x in pull["leftovers"])
    assert any("conflicted copy" in x for x in pull["leftovers"])
    assert any(".syncthing." in x for x in pull["leftovers"])
    assert pull["summary"]["import"] == 2  # threads 3 and 5, whole
    assert dry["pull"][0]["summary"] == pull["summary"]
    assert not list((b.home / "sessions").rglob(f"*{tid(1)}*"))
    assert not list((b.home / "sessions").rglob(f"*{tid(2)}*"))
    deliver(a, b)  # the engine finishes
    out = b.sync()
    assert out["pull"][0]["summary"]["import"] == 2
    assert out["pull"][0]["in_flight"] == []
    assert b.rollout(1).read_bytes() != b"" and b.rollout(2).exists()


def test_roots_are_remembered_and_the_machine_is_recognised(sides: tuple[Side, Side]) -> None:
    a, _b = sides
    a.sync()
    cfg = (a.folder / "codex-sync.toml").read_text()
    assert '[roots."code"]' in cfg and f'"mac" = "{MAC_ROOT}"' in cfg
    result = CliRunner().invoke(
        cli, ["sync", str(a.folder), "--codex-home", str(a.home), "--json", "--status"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["machine"] == "mac" and out["roots"] == {"code": MAC_ROOT}


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    runner = CliRunner()
    result = runner.invoke(cli, ["sync", str(tmp_path / "nope"), "--codex-home", str(home)])
    assert result.exit_code == 1 and "is not a folder" in result.output
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "codex-sync.toml").write_text("[machines\n")
    result = runner.invoke(cli, ["sync", str(folder), "--codex-home", str(home), "--yes"])
    assert result.exit_code == 1 and "codex-sync.toml cannot be read" in result.output
    (folder / "codex-sync.toml").unlink()
    result = runner.invoke(
        cli, ["sync", str(folder), "--codex-home", str(home), "--yes", "--root", "code=rel/x"]
    )
    assert result.exit_code == 1 and "not an absolute path" in result.output
    assert "Traceback" not in result.output
    inside = home / "sync"
    inside.mkdir()
    result = runner.invoke(cli, ["sync", str(inside), "--codex-home", str(home), "--yes"])
    assert result.exit_code == 1 and "overlap" in result.output
    result = runner.invoke(cli, ["sync", str(tmp_path), "--codex-home", str(home), "--yes"])
    assert result.exit_code == 1 and "overlap" in result.output


def test_three_machines_and_a_windows_root(sides: tuple[Side, Side], tmp_path: Path) -> None:
    """A Windows machine joins: its ``D:\\code`` is the same root; each side speaks its own
    paths, and B's continuation reaches Windows in Windows spelling."""
    a, b = sides
    w = Side(tmp_path / "W", "win", "D:\\code")
    write_rollout(w.home, 7, cwd="D:\\code\\app")
    for side in (a, w):
        side.sync()
        deliver(side, b)
    # a real engine merges each machine's entries of the shared config: here, by syncing B
    # after each delivery, which re-reads the file and adds its own
    out = b.sync()
    assert {p["machine"]: p["summary"]["import"] for p in out["pull"]} == {"mac": 3, "win": 1}
    assert f'"cwd":"{b.root}/app"'.encode() in b.rollout(7).read_bytes().replace(b" ", b"")
    append_turn(b.rollout(7), "from Linux", f"{b.root}/app")
    b.sync()
    deliver(b, w, "linux")
    deliver(a, w, "mac")
    out = w.sync()
    by = {p["machine"]: p["summary"] for p in out["pull"]}
    assert by["linux"]["replace"] == 1 and by["mac"]["import"] == 3
    data = w.rollout(7).read_bytes()
    assert b"from Linux" in data and b'"cwd": "D:\\\\code\\\\app"' in data
    assert b"D:\\\\code\\\\app" in w.rollout(1).read_bytes()  # the Mac's project, on Windows


def test_config_round_trip(tmp_path: Path) -> None:
    from codex_migrate.sync.config import Machine, SyncConfig, dump_config, load_config

    cfg = SyncConfig(
        machines={"mac": Machine("mac", "alex-mbp", '/Users/a "q"/.codex', "2026-01-01")},
        roots={"code": {"mac": "/Users/a/código", "win": "D:\\code\\x"}, "w-2": {"mac": "/t"}},
    )
    (tmp_path / "codex-sync.toml").write_text(dump_config(cfg), encoding="utf-8")
    assert load_config(tmp_path) == cfg


def test_a_conflicted_copy_of_the_config_is_reported(sides: tuple[Side, Side]) -> None:
    a, _b = sides
    a.sync()
    copy = a.folder / "codex-sync.sync-conflict-20260101-120000-ABCDEFG.toml"
    shutil.copy2(a.folder / "codex-sync.toml", copy)
    out = a.sync()
    assert any(copy.name in w for w in out["warnings"]), out["warnings"]


def test_a_new_machine_gets_everything_and_publishes_nothing_back(
    sides: tuple[Side, Side], tmp_path: Path
) -> None:
    a, _b = sides
    a.sync()
    c = Side(tmp_path / "C", "new", str(tmp_path / "C" / "code"))
    c.home.rmdir()  # no Codex home yet on this machine
    deliver(a, c)
    out = c.sync()
    assert out["pull"][0]["summary"]["import"] == 3
    assert out["push"]["threads"] == []
    assert not c.sync()["wrote"]


def test_damaged_manifests_are_reported_and_the_rest_syncs(
    sides: tuple[Side, Side], tmp_path: Path
) -> None:
    a, b = sides
    a.sync()
    deliver(a, b)
    bad = b.folder / "machines" / "broken"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    evil = b.folder / "machines" / "evil"
    evil.mkdir()
    (evil / "manifest.json").write_bytes(
        (a.folder / "machines" / "mac" / "manifest.json")
        .read_bytes()
        .replace(b'"path": "sessions/', b'"path": "../../sessions/', 1)
    )
    out = b.sync()
    by = {p["machine"]: p for p in out["pull"]}
    assert "not valid JSON" in by["broken"]["error"]
    assert "unsafe path" in by["evil"]["error"]
    assert by["mac"]["summary"]["import"] == 3
    own = b.folder / "machines" / "linux" / "manifest.json"
    own.write_text("garbage")
    out = b.sync()
    assert any("published afresh" in w for w in out["warnings"])
    assert [t["thread"] for t in out["push"]["threads"]] == [tid(9)]
    assert not b.sync()["wrote"]


def test_a_conflict_ends_when_one_side_drops_its_copy(sides: tuple[Side, Side]) -> None:
    a, b = sides
    a.sync()
    deliver(a, b)
    b.sync()
    append_turn(a.rollout(1), "A's turn", f"{MAC_ROOT}/app")
    append_turn(b.rollout(1), "B's turn", f"{b.root}/app")
    a.sync()
    b.sync()
    deliver(a, b)
    deliver(b, a)
    b.sync(code=5)
    a.sync(code=5)
    b.rollout(1).unlink()  # B gives up its version: A's comes in
    out = b.sync()
    assert out["pull"][0]["summary"]["import"] == 1 and out["conflicts"] == []
    out = b.sync()  # then B's part of the folder follows its new copy
    assert [t["thread"] for t in out["push"]["threads"]] == [tid(1)]
    deliver(b, a)
    out = a.sync()
    assert out["conflicts"] == [] and out["pull"][0]["transaction"] is None
    deliver(a, b)
    assert not b.sync()["wrote"] and not a.sync()["wrote"]


def test_while_the_home_is_busy_push_goes_out_and_taking_in_waits(
    sides: tuple[Side, Side],
) -> None:
    import subprocess

    a, b = sides
    a.sync()
    deliver(a, b)
    lock = b.home / "migration_transactions" / "lock"
    lock.parent.mkdir(parents=True)
    busy = subprocess.Popen(["sleep", "60"])  # another writer holds the home
    try:
        lock.write_text(json.dumps({"pid": busy.pid, "since": 0}))
        out = b.sync(code=4)
        (pull,) = out["pull"]
        assert pull["blocked"] and "nothing taken in" in pull["error"]
        assert [t["thread"] for t in out["push"]["threads"]] == [tid(9)]
        assert not list((b.home / "sessions").rglob(f"*{tid(1)}*"))
    finally:
        busy.kill()
        busy.wait()
    lock.unlink()
    assert b.sync()["pull"][0]["summary"]["import"] == 3


def test_a_busy_home_with_nothing_to_take_in_is_no_error(sides: tuple[Side, Side]) -> None:
    import subprocess

    a, b = sides
    a.sync()
    deliver(a, b)
    b.sync()
    append_turn(b.rollout(1), "continued on B", f"{b.root}/app")
    b.sync()
    deliver(b, a)
    a.sync()  # A takes B's longer copy ...
    a.sync()  # ... and its part of the folder follows: the same history as B's
    deliver(a, b)
    lock = b.home / "migration_transactions" / "lock"
    busy = subprocess.Popen(["sleep", "60"])
    try:
        lock.write_text(json.dumps({"pid": busy.pid, "since": 0}))
        out = b.sync()
        assert not out["pull"][0]["blocked"] and out["pull"][0]["error"] is None
    finally:
        busy.kill()
        busy.wait()
    lock.unlink()


def test_a_history_only_thread_moves_under_its_root_once_one_covers_it(
    sides: tuple[Side, Side], tmp_path: Path
) -> None:
    """Thread 3 (the Mac's /Users/alex/elsewhere) comes in history-only; once both machines
    name a root for it, the next sync moves it under this machine's folder, previewed by
    --dry-run, as a rebind transaction, and without publishing it back."""
    a, b = sides
    a.sync()
    deliver(a, b)
    out = b.sync()
    assert out["pull"][0]["history_only_projects"] == ["/Users/alex/elsewhere"]
    assert b"/Users/alex/elsewhere" in b.rollout(3).read_bytes()
    assert b.sync()["bind"] == []  # no root covers it yet: nothing to do, nothing written
    other = tmp_path / "B" / "other"
    (other / "elsewhere").mkdir(parents=True)
    a.sync("--root", "other=/Users/alex")
    deliver(a, b)
    before = tree_state(b.home)
    dry = b.sync("--dry-run", "--root", f"other={other}")
    assert [(x["thread"], x["new_cwd"]) for x in dry["bind"]] == [(tid(3), f"{other}/elsewhere")]
    assert tree_state(b.home) == before
    out = b.sync("--root", f"other={other}")
    assert len(out["bind_transactions"]) == 1 and out["bind"] == dry["bind"]
    data = b.rollout(3).read_bytes()
    assert f'"cwd":"{other}/elsewhere"'.encode() in data
    assert b'"cwd":"/Users/alex/elsewhere"' not in data  # (quoted prompt text stays as said)
    again = b.sync()
    assert again["bind"] == [] and again["push"]["threads"] == [], "not published back"
    assert not again["wrote"]


@pytest.mark.parametrize("step", ["staged", "files", "db"])
def test_killed_while_moving_a_history_only_thread_then_recover_converges(
    sides: tuple[Side, Side], tmp_path: Path, step: str
) -> None:
    import os
    import subprocess
    import sys

    from codex_migrate.transaction import CRASH_ENV

    a, b = sides
    a.sync()
    deliver(a, b)
    b.sync()
    other = tmp_path / "B" / "other"
    (other / "elsewhere").mkdir(parents=True)
    a.sync("--root", "other=/Users/alex")
    deliver(a, b)
    dry = b.sync("--root", f"other={other}", "--dry-run")
    assert dry["pull"][0]["transaction"] is None and not dry["pull"][0]["threads"]
    assert dry["bind"], "nothing to pull: the crash step is the bind's (rebind's) own"
    before = b.rollout(3).read_bytes()
    args = ["sync", str(b.folder), "--codex-home", str(b.home), "--machine", "linux", "--yes"]
    args += ["--no-codex", "--root", f"code={b.root}", "--root", f"other={other}"]
    killed = subprocess.run(
        [sys.executable, "-m", "codex_migrate", *args],
        env={**os.environ, CRASH_ENV: step},
        capture_output=True,
        check=False,
    )
    assert killed.returncode == 137, killed.stderr
    recovered = CliRunner().invoke(cli, ["recover", "--codex-home", str(b.home)])
    assert recovered.exit_code == 0, recovered.output
    assert b.rollout(3).read_bytes() == before, "exactly as before the bind"
    out = b.sync("--root", f"other={other}")
    assert [x["thread"] for x in out["bind"]] == [tid(3)] and out["bind_transactions"]
    assert f'"cwd":"{other}/elsewhere"'.encode() in b.rollout(3).read_bytes()
    assert not b.sync()["wrote"]


def test_a_state_from_before_unbound_was_kept_finds_its_history_only_threads(
    sides: tuple[Side, Side], tmp_path: Path
) -> None:
    a, b = sides
    a.sync()
    deliver(a, b)
    b.sync()
    state_file = b.folder / "machines" / "linux" / "sync-state.json"
    state = json.loads(state_file.read_text())
    assert list(state["unbound"]) == [tid(3)]
    del state["unbound"]  # as 0.1.0 wrote it
    state_file.write_text(json.dumps(state))
    other = tmp_path / "B" / "other"
    a.sync("--root", "other=/Users/alex")
    deliver(a, b)
    out = b.sync("--root", f"other={other}")
    assert [(x["thread"], x["old_cwd"]) for x in out["bind"]] == [
        (tid(3), "/Users/alex/elsewhere")
    ], "threads 1 and 2 are under the root code already"
    assert f'"cwd":"{other}/elsewhere"'.encode() in b.rollout(3).read_bytes()
    assert json.loads(state_file.read_text())["unbound"] == {}
    assert not b.sync()["wrote"]
