"""Finding the processes that hold a home's state DB open (Linux reads /proc directly)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from codex_migrate import inuse

HOLD = (
    "import sqlite3, sys, time\n"
    "c = sqlite3.connect(sys.argv[1]); c.execute('create table if not exists t(a)')\n"
    "print('ready', flush=True); time.sleep(60)\n"
)


def _psutil_view(home: Path) -> list[tuple[int, str, str]]:
    """What the portable path (psutil) finds."""
    saved = sys.platform
    try:
        sys.platform = "other"
        return [(p.pid, p.name, p.reason) for p in inuse.running_codex(home)]
    finally:
        sys.platform = saved


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_proc_finds_what_psutil_finds(tmp_path: Path) -> None:
    home, other = tmp_path / "home", tmp_path / "other"
    home.mkdir()
    other.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HOLD, str(d / "state_5.sqlite")], stdout=subprocess.PIPE
        )
        for d in (home, other)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline() == b"ready\n"
        found = [(p.pid, p.name, p.reason) for p in inuse.running_codex(home)]
        assert found == [
            (procs[0].pid, psutil.Process(procs[0].pid).name(), str(home / "state_5.sqlite"))
        ]
        assert found == _psutil_view(home)
        (home / "state_5.sqlite").unlink()  # still open, but no longer the home's file
        assert inuse.running_codex(home) == [] == _psutil_view(home)
        assert inuse.running_codex(tmp_path) == []
    finally:
        for p in procs:
            p.kill()
            p.wait()
