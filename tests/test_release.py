"""The release check: what `make dist` builds works outside the source tree.

Once per session, ``scripts/build_dist.py`` builds the sdist, the wheel and the single-file
executable into a temp folder (about two minutes on two cores). The wheel is installed into a
fresh venv; the executable is run from an empty folder with a PATH that holds no Python at all,
as a user who downloaded it would: ``--version``, ``demo``, ``scan``, ``import`` into a temp
home, ``export-html``, the web UI (by command and by a double-click start), and SHA256SUMS.
Deselect with ``-m 'not release'``; CI runs it. ``CODEX_MIGRATE_RELEASE_DIST=dist`` checks the
artifacts that ``make dist`` already built instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pty
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import codex_migrate
from tests.test_ui_support import sign_in, stop, wait_for_url

ROOT = Path(__file__).resolve().parent.parent
VERSION = codex_migrate.__version__

pytestmark = [
    pytest.mark.release,
    pytest.mark.skipif(sys.platform == "win32", reason="the check drives POSIX paths and a pty"),
    pytest.mark.skipif(
        not all(importlib.util.find_spec(m) for m in ("build", "hatchling", "PyInstaller")),
        reason="the release tools of requirements-dev.txt are not installed",
    ),
]


@dataclass(frozen=True)
class Release:
    dist: Path
    sdist: Path
    wheel: Path
    exe: Path


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """Built for this session; or, with CODEX_MIGRATE_RELEASE_DIST=dist, the one `make dist`
    already built there (to check a release before uploading it)."""
    given = os.environ.get("CODEX_MIGRATE_RELEASE_DIST")
    dist = Path(given) if given else tmp_path_factory.mktemp("release") / "dist"
    if not given:
        subprocess.run(
            [sys.executable, ROOT / "scripts" / "build_dist.py", "--out", dist],
            check=True,
            timeout=900,
        )
    (exe,) = dist.glob(f"codex-migrate-{VERSION}-*")
    return Release(
        dist,
        dist / f"codex_migrate-{VERSION}.tar.gz",
        dist / f"codex_migrate-{VERSION}-py3-none-any.whl",
        exe,
    )


@pytest.fixture
def bare(tmp_path: Path) -> dict[str, str]:
    """An environment with no Python anywhere: PATH is one empty folder, no PYTHON* or venv
    variables, a temp HOME and CODEX_HOME."""
    (tmp_path / "empty-bin").mkdir()
    (tmp_path / "user").mkdir()
    return {
        "PATH": str(tmp_path / "empty-bin"),
        "HOME": str(tmp_path / "user"),
        "CODEX_HOME": str(tmp_path / "user" / ".codex"),
        "TMPDIR": str(tmp_path),
        "LANG": "C.UTF-8",
    }


def run_exe(
    release: Release, env: dict[str, str], cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(release.exe), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def test_sha256sums_list_every_artifact(release: Release) -> None:
    lines = (release.dist / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    listed = {}
    for line in lines:
        digest, name = line.split("  ")
        listed[name] = digest
    assert set(listed) == {release.sdist.name, release.wheel.name, release.exe.name}
    for name, digest in listed.items():
        assert hashlib.sha256((release.dist / name).read_bytes()).hexdigest() == digest
    if shutil.which("sha256sum"):
        check = subprocess.run(
            ["sha256sum", "-c", "SHA256SUMS"], cwd=release.dist, capture_output=True, text=True
        )
        assert check.returncode == 0 and check.stdout.count(": OK") == 3, check.stdout


def test_wheel_carries_the_ui_and_export_files_and_honest_metadata(release: Release) -> None:
    with zipfile.ZipFile(release.wheel) as whl:
        names = set(whl.namelist())
        meta = whl.read(f"codex_migrate-{VERSION}.dist-info/METADATA").decode()
    assert "codex_migrate/ui/locale/zh_Hans/LC_MESSAGES/messages.po" in names
    assert any(n.startswith("codex_migrate/ui/templates/") for n in names)
    assert any(n.startswith("codex_migrate/ui/static/") for n in names)
    assert any(n.startswith("codex_migrate/export/templates/") for n in names)
    assert f"codex_migrate-{VERSION}.dist-info/licenses/LICENSE" in names
    assert f"Version: {VERSION}" in meta
    assert "Requires-Python: >=3.11" in meta
    assert "License-Expression: Apache-2.0" in meta


def test_wheel_installs_and_runs_in_a_fresh_venv(release: Release, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    pins = ROOT / "requirements-dev.txt"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", venv / "bin/python", "install", "--quiet",
         "-c", pins, release.wheel],
        check=True,
        timeout=300,
    )  # fmt: skip
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    version = subprocess.run(
        ["codex-migrate", "--version"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert version.stdout == f"codex-migrate, version {VERSION}\n"
    where = subprocess.run(
        [venv / "bin/python", "-c", "import codex_migrate; print(codex_migrate.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(venv)), "imported from the venv, not the source tree"
    demo = subprocess.run(
        ["codex-migrate", "demo", "--path", str(tmp_path / "demo")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert demo.returncode == 0 and "6 threads in 5 projects" in demo.stdout, demo.stderr


def test_executable_runs_with_no_python_on_path(
    release: Release, bare: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    version = run_exe(release, bare, work, "--version").stdout
    assert version.startswith(f"codex-migrate, version {VERSION}\nsingle-file executable for ")

    demo = run_exe(release, bare, work, "demo", "--path", str(work / "demo")).stdout
    assert "6 threads in 5 projects" in demo
    source = work / "demo" / ".codex"

    scan = json.loads(run_exe(release, bare, work, "scan", str(source), "--json").stdout)
    assert len(scan["threads"]) == 6

    target, projects = work / "new-home", work / "projects"
    imported = run_exe(
        release, bare, work, "import", str(source), "--codex-home", str(target),
        "--map", f"/Users/alex/Projects={projects}", "--no-codex", "--yes", "--json",
    )  # fmt: skip
    assert json.loads(imported.stdout)["plan"]["summary"]["import"] == 6
    rollouts = sorted(target.glob("sessions/*/*/*/rollout-*.jsonl"))
    assert len(rollouts) == 5  # the sixth is archived
    (webshop,) = [r for r in rollouts if r.name.endswith("-000000000001.jsonl")]
    assert f'"cwd":"{projects}/webshop"' in webshop.read_text(encoding="utf-8").replace(" ", "")

    out = work / "export"
    exported = run_exe(
        release, bare, work, "export-html", "--codex-home", str(target), "--all",
        "-o", str(out), "--json",
    )  # fmt: skip
    files = json.loads(exported.stdout)["files"]
    assert len(files) == 6
    page = Path(files[0]["path"]).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") or page.lower().startswith("<!doctype html>")


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        stop(proc)


def test_executable_serves_the_demo_ui(
    release: Release, bare: dict[str, str], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    proc = subprocess.Popen(
        [release.exe, "ui", "--demo", "--no-browser", "--port", "0", "--no-codex"],
        cwd=tmp_path,
        env=bare,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started.append(proc)
    client = wait_for_url(proc)
    assert "Demo mode" in sign_in(client).text
    client.accept_language = "zh-CN"
    assert "要迁移到这里的历史在哪里？" in client.get("/migrate").text  # the .po is bundled


def test_double_click_opens_the_ui_and_a_terminal_gets_help(
    release: Release, bare: dict[str, str], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    # No arguments and no terminal (a file manager's start): the UI, on the user's own home.
    # No browser can be found on this PATH, so the URL printed is all that shows it.
    Path(bare["CODEX_HOME"]).mkdir()
    proc = subprocess.Popen(
        [release.exe],
        cwd=tmp_path,
        env=bare,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started.append(proc)
    assert "<html" in sign_in(wait_for_url(proc)).text.lower()

    # The same start from a terminal prints the help and exits.
    primary, secondary = pty.openpty()
    try:
        typed = subprocess.run(
            [release.exe],
            cwd=tmp_path,
            env=bare,
            stdin=secondary,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.close(primary)
        os.close(secondary)
    assert typed.returncode in (0, 2)  # Click's usage status for a bare group, as before
    assert "Usage: codex-migrate [OPTIONS] COMMAND" in typed.stdout + typed.stderr
