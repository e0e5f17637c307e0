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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_proc_counts_a_replaced_db_as_psutil_does(tmp_path: Path) -> None:
    """A Codex still running on a home whose DB was replaced under it (its own file deleted,
    a new one at the same name): psutil named it a holder (the kernel's `` (deleted)`` suffix
    stripped when a file is at that name), so the check before a write still stops."""
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home / "state_5.sqlite")], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        (home / "state_5.sqlite").unlink()
        (home / "state_5.sqlite").write_bytes(b"")  # a restored or rebuilt DB
        found = [(p.pid, p.reason) for p in inuse.running_codex(home)]
        assert found == [(proc.pid, str(home / "state_5.sqlite"))]
        assert [(p[0], p[2]) for p in _psutil_view(home)] == found
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_proc_finds_a_home_named_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(link / "state_5.sqlite")], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        for home in (link, real):
            assert [p.pid for p in inuse.running_codex(home)] == [proc.pid]
            assert [p[0] for p in _psutil_view(home)] == [proc.pid]
    finally:
        proc.kill()
        proc.wait()


BIND = """
import subprocess, sys
from pathlib import Path
from codex_migrate import inuse
real, seen = Path(sys.argv[1]), Path(sys.argv[2])
subprocess.run(["mount", "--bind", str(real), str(seen)], check=True)
p = subprocess.Popen([sys.executable, "-c", sys.argv[3], str(seen / "state_5.sqlite")],
                     stdout=subprocess.PIPE)
assert p.stdout.readline() == b"ready\\n"
try:
    print(p.pid, [h.pid for h in inuse.running_codex(real)], flush=True)
finally:
    p.kill()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_proc_finds_a_holder_that_opened_the_db_through_a_bind_mount(tmp_path: Path) -> None:
    """Codex run on the home through another path to the same folder (a bind mount, as in a
    container or a mounted backup disk): the kernel names the file by that path, so only the
    file's identity tells it is this home's DB."""
    real, seen = tmp_path / "real", tmp_path / "seen"
    real.mkdir()
    seen.mkdir()
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("no mount namespace to bind in")
    args = (str(real), str(seen), HOLD)
    out = subprocess.run(
        ["unshare", "-m", "--propagation", "private", sys.executable, "-c", BIND, *args],
        capture_output=True,
        timeout=60,
    )
    if b"mount" in out.stderr and out.returncode != 0:
        pytest.skip("bind mounts are not allowed here")
    pid, found = out.stdout.decode().split(" ", 1)
    assert found.strip() == f"[{pid}]"


class _FakeProc:
    def __init__(self, pid: int, name: str, paths: list[str] | Exception) -> None:
        self.pid, self.info, self._paths = pid, {"pid": pid, "name": name}, paths

    def open_files(self) -> list[object]:
        if isinstance(self._paths, Exception):
            raise self._paths
        return [type("popenfile", (), {"path": p})() for p in self._paths]


def test_the_psutil_path_knows_the_homes_db_by_its_identity_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """macOS (simulated: psutil's view, on any OS): a file counts by (device, inode) as on
    Linux, so a Codex that names the DB by another path to it (a firmlink, a link to the
    home's folder, another mount) is found; the same name in another home is not."""
    import os
    import types

    home, other = tmp_path / "home", tmp_path / "other"
    home.mkdir()
    other.mkdir()
    (home / "state_5.sqlite").write_bytes(b"db")
    (other / "state_5.sqlite").write_bytes(b"db")
    (tmp_path / "alias").symlink_to(home)  # what /System/Volumes/Data/Users/... is to /Users
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    os.link(home / "state_5.sqlite", mounted / "state_5.sqlite")  # the same file elsewhere

    class Error(Exception):
        pass

    procs = [
        _FakeProc(os.getpid(), "us", [str(home / "state_5.sqlite")]),  # never ourselves
        _FakeProc(101, "codex", [str(tmp_path / "alias" / "state_5.sqlite-wal")]),
        _FakeProc(102, "codex", [str(tmp_path / "alias" / "state_5.sqlite")]),
        _FakeProc(103, "codex", [str(mounted / "state_5.sqlite")]),
        _FakeProc(104, "codex", [str(other / "state_5.sqlite")]),  # another home's
        _FakeProc(105, "codex", Error("access denied")),
        _FakeProc(106, "codex", ["/nowhere/state_5.sqlite", str(home / "state_5.sqlite")]),
        _FakeProc(107, "editor", [str(home / "notes.txt")]),
    ]
    fake = types.ModuleType("psutil")
    fake.Error = Error  # type: ignore[attr-defined]
    fake.process_iter = lambda attrs: iter(procs)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "psutil", fake)
    found = [(p[0], p[2]) for p in _psutil_view(home)]
    assert found == [
        (102, str(tmp_path / "alias" / "state_5.sqlite")),
        (103, str(mounted / "state_5.sqlite")),
        (106, str(home / "state_5.sqlite")),
    ]
    # by path alone (before), 102 and 103 were missed: only 106 was found
    assert [p[0] for p in _psutil_view(other)] == [104]
