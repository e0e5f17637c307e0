"""``codex-migrate ui --demo`` as a user starts it: a process that prints a URL and serves it.

Run from the source tree with no compiled ``.mo`` anywhere: the Chinese catalog is compiled
from the ``.po`` at run time, so a clean clone works as it is.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.test_ui_support import Client

START = "from codex_migrate.cli.ui import ui_command; ui_command(prog_name='codex-migrate ui')"


def test_ui_demo_starts_prints_a_token_url_and_serves_both_languages(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", START, "--demo", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = None
        deadline = time.monotonic() + 60
        seen = []
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
            if m:
                url = m.group(1), m.group(2)
        assert url, "".join(seen)
        client = Client(*url)
        for _ in range(50):
            try:
                page = client.sign_in()
                break
            except ConnectionError:
                time.sleep(0.1)
        assert page.status == 200
        assert "Demo mode" in page.text
        client.accept_language = "zh-CN"
        page = client.get("/migrate")
        assert "要迁移到这里的历史在哪里？" in page.text
        assert "copied-from-mac" in page.text  # the demo source is pre-filled
        assert Client(url[0], "wrong").get("/").status == 403
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    demo_dirs = list(tmp_path.glob("codex-migrate-ui-demo-*"))
    assert demo_dirs == [], "the demo homes are removed when the UI stops"


def test_ui_demo_writes_nothing_outside_its_temp_folder(tmp_path: Path) -> None:
    """``--demo`` keeps every write inside the demo's temp folder: reading its homes (the
    source step, a listing of this computer's home) leaves no listing-cache file of them in
    the user's cache folder."""
    cache = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", START, "--demo", "--no-browser", "--port", "0", "--no-codex"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            m = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", proc.stdout.readline())
            url = (m.group(1), m.group(2)) if m else None
        assert url
        client = Client(*url)
        for _ in range(50):
            try:
                assert client.sign_in().status == 200
                break
            except ConnectionError:
                time.sleep(0.1)
        (root,) = tmp_path.glob("codex-migrate-ui-demo-*")
        page = client.post("/migrate/source", {"source": str(root / "copied-from-mac")})
        assert "found-title" in page.text
        assert client.get("/backup").status == 200  # this computer's home, listed
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    left = [p for p in cache.glob("*.json") if b"codex-migrate-ui-demo-" in p.read_bytes()]
    assert left == []
