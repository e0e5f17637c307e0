"""Hostile paths and the CLI's truthfulness: same-home tricks, odd --map targets, unreadable
folders, a closed pipe, --json errors and unknown thread ids, each with a clear message, the
right exit status, and no file changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_migrate.errors import EXIT_NO_HOME, EXIT_USAGE
from tests.homes import write_rollout
from tests.hostile.conftest import BOUND, OLD, World, digest_tree, invoke

UNKNOWN = "019bffff-ffff-7fff-8fff-ffffffffffff"


def _import(world: World, *extra: str | Path) -> tuple[str | Path, ...]:
    return ("import", world.src, "--codex-home", world.dst, "--no-codex", "--yes", *extra)


# -- the same home, spelled differently -----------------------------------------------------------


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("spelling", ["parent", "symlink", "dotdot", "trailing-slash"])
def test_same_home_is_refused(world: World, spelling: str) -> None:
    home = world.src  # .../src/.codex
    if spelling == "parent":
        target: str | Path = home.parent
    elif spelling == "symlink":
        target = world.tmp / "alias"
        target.symlink_to(home)
    elif spelling == "dotdot":
        target = home / "sessions" / ".."
    else:
        target = str(home) + "/"
    before = digest_tree(world.tmp)
    out = invoke(
        "import", home, "--codex-home", target, "--map", f"{OLD}=/x", "--yes", "--no-codex"
    )
    assert out.code == EXIT_USAGE, out.text
    assert "same home" in out.text
    assert digest_tree(world.tmp) == before


# -- --map targets ---------------------------------------------------------------------------------


def _plan(world: World, rule: str) -> dict:
    out = invoke(*_import(world, "--map", rule, "--dry-run", "--json"))
    assert out.code == 0, out.text
    return out.json()["plan"]


@pytest.mark.timeout(BOUND)
def test_dotdot_in_a_map_target_is_folded(world: World) -> None:
    plan = _plan(world, f"{OLD}=/n/../../x")
    cwds = {t["new_cwd"] for t in plan["threads"]}
    assert cwds == {"/x/app", "/x/other"}, cwds
    before = digest_tree(world.tmp)
    out = invoke(*_import(world, "--map", f"{OLD}=/n/../../x"))
    assert out.code == 0, out.text
    written = b"".join(p.read_bytes() for p in (world.dst / "sessions").rglob("*.jsonl"))
    assert b"/.." not in written and b'"/x/app"' in written
    assert digest_tree(world.src) == {
        k[len("src/.codex/") :]: v for k, v in before.items() if k.startswith("src/.codex/")
    }


@pytest.mark.timeout(BOUND)
def test_map_to_an_existing_file_is_refused(world: World) -> None:
    afile = world.tmp / "notes.txt"
    afile.write_text("not a folder")
    before = digest_tree(world.tmp)
    out = invoke(*_import(world, "--map", f"{OLD}={afile}"))
    assert out.code == EXIT_USAGE, out.text
    assert "notes.txt" in out.text and "is a file" in out.text
    assert digest_tree(world.tmp) == before


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("rule", ["~/code", "~"])
def test_tilde_in_a_map_target_is_expanded(world: World, rule: str) -> None:
    plan = _plan(world, f"{OLD}={rule}")
    home = os.path.expanduser("~")
    for t in plan["threads"]:
        assert t["new_cwd"].startswith(home) and "~" not in t["new_cwd"], t


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("rule", ["no-equals-sign", "=/x", f"{OLD}=", "relative=/x"])
def test_malformed_map_is_a_usage_error(world: World, rule: str) -> None:
    before = digest_tree(world.tmp)
    out = invoke(*_import(world, "--map", rule))
    assert out.code == EXIT_USAGE, out.text
    assert digest_tree(world.tmp) == before


# -- unreadable folders ----------------------------------------------------------------------------


@pytest.fixture
def deny(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """Folders listed here cannot be listed (as for another user's folder; tests may run as
    root, where chmod does not stop a read)."""
    denied: set[str] = set()
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if not isinstance(path, int) and os.fspath(path) in denied:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", os.fspath(path))  # type: ignore[arg-type]
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    yield denied


READERS = ["scan", "scan-json", "import", "export-md", "doctor", "backup"]


def _reader(world: World, name: str) -> tuple[str | Path, ...]:
    return {
        "scan": ("scan", world.src),
        "scan-json": ("scan", world.src, "--json"),
        "import": _import(world, "--map", f"{OLD}={world.tmp}"),
        "export-md": ("export-md", "--codex-home", world.src, "--all", "-o", world.out),
        "doctor": ("doctor", "--codex-home", world.src),
        "backup": ("backup", "--codex-home", world.src, "--output-parent", world.out),
    }[name]


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("command", READERS)
def test_unreadable_sessions_folder_is_an_error_not_an_empty_home(
    world: World, deny: set[str], command: str
) -> None:
    deny.add(str(world.src / "sessions"))
    before = digest_tree(world.tmp)
    out = invoke(*_reader(world, command))
    assert out.code == EXIT_NO_HOME, out.text
    assert "sessions" in out.text and "cannot be read" in out.text, out.text
    assert "No sessions found" not in out.text and "Nothing to write" not in out.text
    assert "recover" not in out.text
    if command == "scan-json":
        assert json.loads(out.stderr)["error"]["exit_code"] == EXIT_NO_HOME
    assert digest_tree(world.tmp) == before


@pytest.mark.timeout(BOUND)
def test_unreadable_date_folder_is_named_and_the_rest_listed(world: World, deny: set[str]) -> None:
    write_rollout(world.src, 5).rename(world.src / "sessions" / "2026" / "03" / "05.jsonl")
    locked = world.src / "sessions" / "2026" / "04"
    locked.mkdir()
    deny.add(str(locked))
    out = invoke("scan", world.src, "--json")
    assert out.code == 0, out.text
    report = out.json()
    assert len(report["threads"]) == 3
    assert any(
        u["path"] == str(locked) and "cannot be read" in u["reason"] for u in report["unreadable"]
    )


@pytest.mark.timeout(BOUND)
def test_permission_error_while_reading_is_plain(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import codex_migrate.catalog as catalog

    def denied(home: object, ref: object) -> object:
        raise PermissionError(13, "Permission denied", "/some/file")

    monkeypatch.setattr(catalog, "build_catalog", lambda *a, **k: denied(None, None))
    import codex_migrate.service.reading as reading  # how the faces read a home

    monkeypatch.setattr(reading, "build_catalog", lambda *a, **k: denied(None, None))
    monkeypatch.setattr(reading, "cached_catalog", lambda *a, **k: denied(None, None))
    out = invoke("scan", world.src)
    assert out.code == EXIT_NO_HOME, out.text
    assert "Permission denied: /some/file" in out.text
    assert "recover" not in out.text and "[Errno" not in out.text


# -- --json errors and unknown ids -----------------------------------------------------------------


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize(
    "case", ["missing-home", "unknown-thread", "bad-map", "same-home", "missing-backup"]
)
def test_json_errors_are_json(world: World, case: str) -> None:
    args: tuple[str | Path, ...] = {
        "missing-home": ("scan", world.tmp / "nope", "--json"),
        "unknown-thread": _import(world, "--thread", UNKNOWN, "--json"),
        "bad-map": _import(world, "--map", "garbage", "--json"),
        "same-home": ("import", world.src, "--codex-home", world.src, "--json"),
        "missing-backup": ("verify-backup", world.tmp / "nope.tar.zst", "--json"),
    }[case]
    out = invoke(*args)
    assert out.code != 0
    error = json.loads(out.stderr)["error"]
    assert error["message"] and error["exit_code"] == out.code


def _unknown_thread(world: World, command: str) -> tuple[str | Path, ...]:
    return {
        "import": _import(world, "--map", f"{OLD}={world.tmp}", "--thread", UNKNOWN),
        "export-html": (
            "export-html",
            "--codex-home",
            world.src,
            "--thread",
            UNKNOWN,
            "-o",
            world.out,
        ),
        "export-md": ("export-md", "--codex-home", world.src, "--thread", UNKNOWN, "-o", world.out),
        "backup": (
            "backup",
            "--codex-home",
            world.src,
            "--thread",
            UNKNOWN,
            "--output-parent",
            world.out,
        ),
        "doctor": ("doctor", "--codex-home", world.src, "--thread", UNKNOWN),
        "rebind": (
            "rebind",
            "--codex-home",
            world.src,
            "--thread",
            UNKNOWN,
            "--map",
            f"{OLD}=/x",
            "--dry-run",
        ),
    }[command]


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize(
    "command", ["import", "export-html", "export-md", "backup", "doctor", "rebind"]
)
def test_unknown_thread_id_is_a_usage_error_everywhere(world: World, command: str) -> None:
    before = digest_tree(world.tmp)
    out = invoke(*_unknown_thread(world, command))
    assert out.code == EXIT_USAGE, (command, out.text)
    assert UNKNOWN in out.text or "not found" in out.text.lower(), out.text
    assert digest_tree(world.tmp) == before


# -- a closed pipe ---------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_scan_into_a_closed_pipe_ends_quietly(world: World) -> None:
    for n in range(10, 400):
        write_rollout(world.src, n, cwd=f"{OLD}/p{n}")
    env = {**os.environ, "CODEX_HOME": str(world.src)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "codex_migrate", "scan", "--threads", str(world.src)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=50) == 0, err
    assert "Broken pipe" not in err and "Traceback" not in err and "Exception" not in err, err
