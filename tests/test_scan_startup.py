"""``scan`` starts without the weight of commands it does not run: the service package loads
each part on first use, so a scan of 3 000 sessions does not pay for the exporter's
templates, the importer or a process pool at every start."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import codex_migrate.service as service

HEAVY = (
    "jinja2",
    "markdown_it",
    "concurrent.futures",
    "codex_migrate.export",
    "codex_migrate.importer",
    "codex_migrate.manifest",  # only a backup folder or archive needs it
    "shutil",  # only what copies or removes files needs it
)


def test_scan_imports_nothing_it_does_not_use() -> None:
    code = (
        "import sys, codex_migrate.cli.main, codex_migrate.cli.scan;"
        f"print([m for m in sys.modules if m.startswith({HEAVY!r})])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_lazy_name_is_the_one_type_checkers_see() -> None:
    """The TYPE_CHECKING imports (what mypy sees) and the runtime map name the same places."""
    tree = ast.parse(Path(service.__file__).read_text(encoding="utf-8"))
    seen = {
        alias.name: node.module.rsplit(".", 1)[1]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and ".service." in node.module
        for alias in node.names
    }
    assert seen == service._WHERE
    assert set(seen) == set(service.__all__)
    for name in service.__all__:
        assert getattr(service, name) is getattr(
            __import__(f"codex_migrate.service.{seen[name]}", fromlist=[name]), name
        )


_RUN_CLI = """
import atexit, os, sys
from codex_migrate.cli import main

class Teardown:
    def __del__(self):
        os.write(2, b"torn down")

kept = Teardown()  # freed when the interpreter tears __main__ down, not by os._exit
atexit.register(lambda: os.write(2, b"atexit ran;"))
sys.argv = ["codex-migrate", *sys.argv[1:]]
main()
"""
FIXTURE_HOME = Path(__file__).parent / "fixtures" / "codex-0.169.0" / "home"


def _run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CODEX_MIGRATE_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-c", _RUN_CLI, *args], capture_output=True, text=True, env=env
    )


def test_a_scan_that_succeeded_ends_without_teardown(tmp_path: Path) -> None:
    """cli.ending: the whole output written, the atexit functions run, status 0; the
    interpreter's teardown (freeing every record one by one) skipped."""
    done = _run_cli("scan", str(FIXTURE_HOME), "--json", cache=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["threads"]
    assert done.stderr == "atexit ran;"
    assert list((tmp_path / "cache").iterdir())  # the listing cache was written


def test_a_failed_or_writing_command_ends_the_normal_way(tmp_path: Path) -> None:
    failed = _run_cli("scan", str(tmp_path / "nowhere"), "--json", cache=tmp_path / "c1")
    assert failed.returncode != 0
    assert failed.stderr.endswith("atexit ran;torn down")
    other = _run_cli("--version", cache=tmp_path / "c2")
    assert other.returncode == 0
    assert other.stderr == "atexit ran;torn down"


def test_an_import_that_committed_ends_without_teardown(tmp_path: Path) -> None:
    """An import has committed its transaction when it returns (what a kill -9 after the
    commit keeps whole): it ends as a scan does; one that failed ends the normal way."""
    from tests.test_import import OLD, _source, _target_with_db

    src, target = _source(tmp_path), _target_with_db(tmp_path)
    args = ("import", str(src), "--codex-home", str(target), "--no-codex", "--yes", "--json")
    failed = _run_cli(*args, cache=tmp_path / "c1")  # the projects are not mapped
    assert failed.returncode != 0
    assert failed.stderr.endswith("atexit ran;torn down")
    done = _run_cli(*args, "--map", f"{OLD}=/new", cache=tmp_path / "c2")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["report"]["transaction_id"]
    assert done.stderr == "atexit ran;"
    journals = (target / "migration_transactions").glob("*/journal.json")
    assert [json.loads(j.read_text())["state"] for j in journals] == ["committed"]
