"""A backup killed mid-way (SIGKILL, no chance to clean up) never passes for a complete one.

The child process backs up a large generated home; it is killed either while provably in the
middle of writing (it pauses in its progress callback at a chosen point) or after a delay.
Afterwards neither ``verify-backup`` nor ``open_source`` may accept anything it left, and a
new backup next to the debris must still work.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.grow_home import grow_home
from codex_migrate.backup import run_backup
from codex_migrate.backup.verify import verify_backup
from codex_migrate.errors import HomeNotFound
from codex_migrate.home import open_home
from codex_migrate.manifest import INCOMPLETE_TAG
from codex_migrate.source import open_source

REPO = Path(__file__).resolve().parents[1]
SESSIONS = 600
SCALE = 8  # about 80 MB: big enough that a kill lands mid-write

CHILD = """
import sys, time
from pathlib import Path
from codex_migrate.backup import run_backup
from codex_migrate.home import open_home

home, out, fmt, pause_at = sys.argv[1], Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])

def pause(*_args):
    print("PAUSED", flush=True)
    time.sleep(600)

def progress(stage, done, total):
    if 0 <= pause_at <= 1 and stage == "backup" and total and done >= total * pause_at:
        pause()

if pause_at == 2:  # everything written, manifest last, but not yet renamed
    import codex_migrate.backup.engine
    codex_migrate.backup.engine.claim_final_path = pause
if pause_at == 3:  # renamed into place, the work folder not yet removed
    import codex_migrate.backup.engine
    codex_migrate.backup.engine.remove_tree = pause

target = {"output_parent": out} if fmt == "folder" else {"archive": out / ("b." + fmt)}
print("STARTING", flush=True)
run_backup(open_home(home), progress=progress, **target)
print("DONE", flush=True)
"""


@pytest.fixture(scope="module")
def big_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("big") / "home"
    grow_home(home, SESSIONS, scale=SCALE)
    return home


@pytest.fixture(scope="module")
def small_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """For the tests where the child pauses itself at the moment chosen: the size is not
    the point there (60 sessions, ~1.5 MB, written in a fraction of a second)."""
    home = tmp_path_factory.mktemp("small") / "home"
    grow_home(home, 60)
    return home


def _start(home: Path, out: Path, fmt: str, pause_at: float) -> subprocess.Popen[str]:
    out.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), str(out), fmt, str(pause_at)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()  # SIGKILL on POSIX: no finally, no atexit, no cleanup
    proc.wait(timeout=30)
    if proc.stdout is not None:
        proc.stdout.close()


def _kill_where_it_paused(proc: subprocess.Popen[str]) -> None:
    """Kill the child once it says it paused itself at the moment it was given."""
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "STARTING"
        assert proc.stdout.readline().strip() == "PAUSED"
    finally:
        _kill(proc)


def _assert_nothing_looks_complete(out: Path, fmt: str) -> None:
    final = out / ("Codex_backup" if fmt == "folder" else f"b.{fmt}")
    assert not final.exists(), "the final name appears only when the backup is complete"
    debris = list(out.iterdir())
    assert debris and all(INCOMPLETE_TAG in p.name for p in debris), debris
    _assert_refused([out, *debris])


def _assert_refused(debris: list[Path]) -> None:
    candidates = list(debris)
    candidates += [d / "Codex_backup" for d in debris if (d / "Codex_backup").is_dir()]
    for path in candidates:
        report = verify_backup(path)
        assert not report.ok and report.incomplete, path
        with pytest.raises(HomeNotFound), open_source(path):  # BackupIncomplete is one
            pass


@pytest.mark.parametrize("when", ["mid-write", "before-rename"])
@pytest.mark.parametrize("fmt", ["folder", "tar.zst", "zip"])
def test_killed_mid_write_leaves_nothing_that_looks_complete(
    small_home: Path, tmp_path: Path, fmt: str, when: str
) -> None:
    out = tmp_path / "out"
    _kill_where_it_paused(_start(small_home, out, fmt, pause_at=0.5 if when == "mid-write" else 2))
    _assert_nothing_looks_complete(out, fmt)

    # The debris does not get in the way of the next backup.
    target: dict[str, Any] = (
        {"output_parent": out} if fmt == "folder" else {"archive": out / f"b.{fmt}"}
    )
    report = run_backup(open_home(small_home), **target)
    assert report.path.name in ("Codex_backup", f"b.{fmt}") and not report.renamed
    assert verify_backup(report.path).ok
    with open_source(report.path, tmp_parent=tmp_path / "src") as home:
        assert home.kind == "backup"


@pytest.mark.parametrize("fmt", ["folder", "tar.zst"])
def test_killed_after_the_rename_leaves_a_complete_backup_and_refused_debris(
    small_home: Path, tmp_path: Path, fmt: str
) -> None:
    """The kill lands after the backup took its final name, before its work folder was
    removed: the backup is whole, and what is left next to it is refused."""
    out = tmp_path / "out"
    _kill_where_it_paused(_start(small_home, out, fmt, pause_at=3))
    final = out / ("Codex_backup" if fmt == "folder" else f"b.{fmt}")
    assert verify_backup(final).ok
    debris = [p for p in out.iterdir() if p != final]
    assert all(INCOMPLETE_TAG in p.name for p in debris), debris
    if fmt == "folder":  # the work folder holds only its note now
        assert len(debris) == 1
    _assert_refused(debris)


@pytest.mark.parametrize("fmt", ["folder", "tar.zst"])
@pytest.mark.parametrize("delay", [0.12, 0.18, 0.24, 0.3])
def test_killed_at_any_moment_is_complete_or_refused(
    big_home: Path, tmp_path: Path, fmt: str, delay: float
) -> None:
    """No cooperation from the child (the backup takes 0.5-2 s here, the delay counts from
    when it begins, not from the start of Python): whatever exists after the kill is either
    a complete backup that verifies, or debris everything refuses."""
    out = tmp_path / "out"
    proc = _start(big_home, out, fmt, pause_at=-1)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "STARTING"
    time.sleep(delay)
    _kill(proc)
    final = out / ("Codex_backup" if fmt == "folder" else f"b.{fmt}")
    if final.exists() and verify_backup(final).ok:
        # Killed after the rename: whatever its clean-up had not removed yet is refused.
        _assert_refused([p for p in out.iterdir() if p != final])
    elif final.exists():
        # Killed between making the final folder (so the name is ours) and renaming into it:
        # an empty folder that nothing takes for a backup.
        assert fmt == "folder" and not any(final.iterdir())
        assert not verify_backup(final).ok
        _assert_refused([p for p in out.iterdir() if p != final])
    elif any(out.iterdir()):
        _assert_nothing_looks_complete(out, fmt)
