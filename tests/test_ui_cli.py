"""``codex-migrate ui --demo`` as a user starts it: a process that prints a URL and serves it.

Run from the source tree with no compiled ``.mo`` anywhere: the Chinese catalog is compiled
from the ``.po`` at run time, so a clean clone works as it is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.test_ui_support import Client, sign_in, stop, wait_for_url

START = "from codex_migrate.cli.ui import ui_command; ui_command(prog_name='codex-migrate ui')"


def _start_demo(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    """``ui --demo`` in a process of its own, its demo homes under ``tmp_path``."""
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", START, "--demo", "--no-browser", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_ui_demo_starts_prints_a_token_url_and_serves_both_languages(tmp_path: Path) -> None:
    proc = _start_demo(tmp_path)
    try:
        client = wait_for_url(proc, seconds=60)
        page = sign_in(client, tries=50)
        assert "Demo mode" in page.text
        client.accept_language = "zh-CN"
        page = client.get("/migrate")
        assert "要迁移到这里的历史在哪里？" in page.text
        assert "copied-from-mac" in page.text  # the demo source is pre-filled
        assert Client(client.base, "wrong").get("/").status == 403
    finally:
        stop(proc)
    demo_dirs = list(tmp_path.glob("codex-migrate-ui-demo-*"))
    assert demo_dirs == [], "the demo homes are removed when the UI stops"


def test_ui_demo_writes_nothing_outside_its_temp_folder(tmp_path: Path) -> None:
    """``--demo`` keeps every write inside the demo's temp folder: reading its homes (the
    source step, a listing of this computer's home) leaves no listing-cache file of them in
    the user's cache folder."""
    cache = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    proc = _start_demo(tmp_path, "--no-codex")
    try:
        client = wait_for_url(proc, seconds=60)
        sign_in(client, tries=50)
        (root,) = tmp_path.glob("codex-migrate-ui-demo-*")
        page = client.post("/migrate/source", {"source": str(root / "copied-from-mac")})
        assert "found-title" in page.text
        assert client.get("/backup").status == 200  # this computer's home, listed
    finally:
        stop(proc)
    left = [p for p in cache.glob("*.json") if b"codex-migrate-ui-demo-" in p.read_bytes()]
    assert left == []
