"""The native folder and file dialog (``ui.native``), for real: Tk under a virtual X display.

The dialog is the one ``codex-migrate ui`` shows on a desktop: the same child Python process
running tkinter's ``askdirectory``/``askopenfilename``. Xvfb is the display and xdotool the
user, typing a path and pressing Return (or Escape). The last test clicks "Browse…" in the
real page (Chromium) and checks that the path chosen in the Tk dialog lands in the field.
Skipped, with the reason, where Xvfb, xdotool or tkinter is missing
(``scripts/install-system-deps.sh`` installs the Debian packages ``xvfb`` and ``xdotool``).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_migrate.ui import native
from codex_migrate.ui.server import build_demo
from tests.harness.browser import CHROMIUM, launch_browser
from tests.test_ui_support import Client, ui_server

pytestmark = pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool"))
    or importlib.util.find_spec("tkinter") is None,
    reason="needs Xvfb and xdotool (Debian: xvfb, xdotool) and Python's tkinter",
)


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private X display for this test (Xvfb picks a free number and tells it)."""
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert xvfb.stdout is not None
        number = xvfb.stdout.readline().decode().strip()
        assert number.isdigit(), "Xvfb did not start"
        monkeypatch.setenv("DISPLAY", f":{number}")
        monkeypatch.delenv(native.DISABLE_ENV, raising=False)
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def _xdotool(*args: str) -> str:
    done = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def _answer(title: str, text: str | None, *, key: str = "Return") -> None:
    """Be the user: wait for the dialog titled ``title``, type ``text`` into it, and press
    ``key`` until it closes (Tk's folder dialog first opens a typed folder, then takes it)."""
    window = _xdotool("search", "--sync", "--onlyvisible", "--name", f"^{title}$").split()[0]
    _xdotool("windowfocus", "--sync", window)
    if text is not None:
        _xdotool("type", "--delay", "5", text)
    for _ in range(5):
        _xdotool("key", key)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if not _xdotool("search", "--onlyvisible", "--name", f"^{title}$"):
                return
            time.sleep(0.1)
    raise AssertionError(f"the dialog {title!r} did not close")


def _ask(mode: str, start: str) -> tuple[threading.Thread, dict[str, Any]]:
    got: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: got.update(native.ask_native(mode, start)))
    thread.start()
    return thread, got


def test_the_folder_dialog_returns_the_folder_chosen(display: str, tmp_path: Path) -> None:
    assert native.available()
    chosen = tmp_path / "code" / "my app"
    chosen.mkdir(parents=True)
    thread, got = _ask("folder", str(tmp_path))
    _answer("Choose Directory", str(chosen))
    thread.join(30)
    assert got == {"path": str(chosen)}


def test_closing_the_dialog_is_a_cancel_not_an_error(display: str, tmp_path: Path) -> None:
    thread, got = _ask("folder", str(tmp_path / "no such folder"))  # starts in its parent
    _answer("Choose Directory", None, key="Escape")
    thread.join(30)
    assert got == {"cancelled": True}


def test_the_file_dialog_picks_a_backup_file(display: str, tmp_path: Path) -> None:
    archive = tmp_path / "Codex_backup.tar.zst"
    archive.write_bytes(b"not read by the dialog")
    thread, got = _ask("file", str(tmp_path))
    _answer("Open", str(archive))
    thread.join(30)
    assert got == {"path": str(archive)}


def test_without_a_display_the_page_uses_its_own_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not native.available()
    monkeypatch.setenv("DISPLAY", ":1")
    monkeypatch.setenv(native.DISABLE_ENV, "1")
    assert not native.available()


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing")
def test_browse_in_the_page_opens_the_tk_dialog_and_fills_the_field(
    display: str, tmp_path: Path
) -> None:
    from tests.test_ui_browser import new_page

    archive = tmp_path / "from the mac" / "Codex_backup.tar.zst"
    archive.parent.mkdir()
    archive.write_bytes(b"x")
    demo = build_demo(tmp_path / "demo")
    with ui_server(demo.codex_home, demo=demo) as (config, url):
        assert config.native_dialogs, "a display and Tk: the server offers the native dialog"
        browser_gen = launch_browser()
        browser = next(browser_gen)
        try:
            ctx, page, watch = new_page(browser, url)
            try:
                page.goto(config.origin + "/migrate")
                page.fill("#source", str(archive.parent))
                page.click('button[data-browse="source"]')
                _answer("Open", str(archive))
                page.wait_for_function(
                    "(v) => document.getElementById('source').value === v", arg=str(archive)
                )
                assert page.locator("dialog#browser[open]").count() == 0
                assert watch.errors == []
            finally:
                ctx.close()
        finally:
            browser_gen.close()
        # The route itself, as a script would call it: cancelled is not "unavailable".
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        csrf = client.csrf()
        thread_resp: dict[str, Any] = {}
        thread = threading.Thread(
            target=lambda: thread_resp.update(
                r=client.request(
                    "POST", "/browse/native", data={"csrf": csrf, "mode": "folder"}, wait=False
                )
            )
        )
        thread.start()
        _answer("Choose Directory", None, key="Escape")
        thread.join(30)
        assert '"cancelled":true' in thread_resp["r"].text.replace(" ", "")
