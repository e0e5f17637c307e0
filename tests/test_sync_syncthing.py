"""Two real Syncthing instances (127.0.0.1 only) and the one file every machine may write:
when both machines change ``codex-sync.toml`` at once, Syncthing keeps a conflicted copy;
`sync` says so, and each machine's roots still reach the other through its own manifest."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.harness.syncthing import syncthing_binary, syncthing_pair
from tests.homes import tid, write_rollout
from tests.test_sync import MAC_ROOT, Side

pytestmark = pytest.mark.skipif(
    syncthing_binary() is None, reason="syncthing is not installed (scripts/install-system-deps.sh)"
)


def _conflict_copies(*folders: Path) -> list[Path]:
    return [p for f in folders for p in f.glob("codex-sync.sync-conflict-*.toml")]


def test_both_machines_edit_the_config_at_once(tmp_path: Path) -> None:
    a = Side(tmp_path / "A", "mac", MAC_ROOT)
    b = Side(tmp_path / "B", "linux", str(tmp_path / "B" / "code"))
    write_rollout(a.home, 1, cwd="/Users/alex/docs/notes")
    with syncthing_pair(tmp_path / "syncthing", a.folder, b.folder) as pair:
        a.sync()
        pair.carry(pair.a, pair.b, "machines/mac")
        pair.carry(pair.a, pair.b, "codex-sync.toml")
        b.sync()
        pair.carry(pair.b, pair.a, "codex-sync.toml")
        # Both name a new root while the two cannot talk (paused through the REST API).
        pair.a.api("POST", f"/rest/system/pause?device={pair.b.device_id}")
        pair.b.api("POST", f"/rest/system/pause?device={pair.a.device_id}")
        write_rollout(a.home, 2, cwd="/Users/alex/docs/notes")
        a.sync("--root", "docs=/Users/alex/docs")
        b.sync("--root", f"docs={tmp_path / 'B' / 'docs'}")
        pair.a.scan()
        pair.b.scan()
        pair.a.api("POST", f"/rest/system/resume?device={pair.b.device_id}")
        pair.b.api("POST", f"/rest/system/resume?device={pair.a.device_id}")
        deadline = time.monotonic() + 60
        while not _conflict_copies(a.folder, b.folder):
            assert time.monotonic() < deadline, "Syncthing kept no conflicted copy"
            time.sleep(0.5)
        pair.carry(pair.a, pair.b, "machines/mac")
        assert all(addr.startswith("127.0.0.1:") for addr in pair.addresses())
        warned = [w for side in (a, b) for w in side.sync()["warnings"]]
        assert any("sync-conflict" in w for w in warned), warned
        # Whatever the merged file says, B maps the Mac's docs root: A's manifest names it.
        path = next((b.home / "sessions").rglob(f"*{tid(2)}.jsonl"))
        assert str(tmp_path / "B" / "docs" / "notes").encode() in path.read_bytes()
