"""The Sync screen in a real browser (Debian's chromium driven by Playwright), with real Codex.

Side A is a "Mac" whose sessions the real Codex 0.169.0 made, published with the CLI; the test
carries its part of the shared folder to side B, as a sync engine would. On B the browser picks
the folder through the folder-browser dialog, names the machine and the root, reads the
preview, syncs, and reads the result; then the real app-server lists A's sessions on B under
B's folders. Every step is photographed in English and in Chinese under
``test-artifacts/ui/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.app_server import AppServer
from tests.harness.browser import launch_browser, requires_chromium
from tests.harness.codex import CodexRunner
from tests.harness.scenario import Scenario
from tests.test_sync_codex import MAC_ROOT, Side, _copy_carry, _mac_home
from tests.test_ui_browser import ARTIFACTS, new_page, shoot, wait_for_result
from tests.test_ui_support import ui_server

pytestmark = [requires_chromium, pytest.mark.codex]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def test_sync_screen_then_real_codex_lists_the_sessions_here(
    browser: Any,
    codex_home_new: Scenario,
    codex_bin_new: Path,
    mock_api_server: Any,
    tmp_path: Path,
) -> None:
    scenario = codex_home_new
    b_code = tmp_path / "B" / "code"
    a = Side(tmp_path / "A", "mac", MAC_ROOT, codex_bin_new)
    b = Side(tmp_path / "B", "linux", str(b_code), codex_bin_new)
    projects = _mac_home(scenario, a)
    for path in scenario.projects.values():
        (b_code / Path(path).name).mkdir(parents=True)
    b.home.mkdir()
    CodexRunner("0.169.0", b.home, mock_api_server, binary=codex_bin_new)  # B's Codex config
    a.sync()
    _copy_carry(a, b)

    with ui_server(b.home, codex_bin=codex_bin_new) as (_config, url):
        ctx, page, watch = new_page(browser, url)
        try:
            page.click('nav.main a[href="/sync"]')
            page.wait_for_url("**/sync")
            # The shared folder, chosen through the folder-browser dialog.
            page.click('button[data-browse="folder"]')
            page.wait_for_selector("dialog#browser[open]")
            page.fill("#browse-root", str(b.folder))
            page.click('#browser-body form button[type="submit"]')
            page.wait_for_selector(f'[data-choose="{b.folder}"]')
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "50-sync-folder-browser.en.png"))
            page.click("[data-choose]")
            assert page.input_value("#folder") == str(b.folder)
            page.click("button[data-sync-open]")
            page.wait_for_selector("table[data-roots]")
            shoot(page, "51-sync-folder")  # (switching the language keeps no typed values)

            # This machine's name, and its folder for the Mac's root "code".
            assert MAC_ROOT in page.inner_text("table[data-roots]")
            page.fill("#machine", b.machine)
            page.fill("#root-path-1", str(b_code))
            page.click("button[data-sync-preview]")
            page.wait_for_url("**/sync/preview")
            pull = page.locator('[data-sync-pull="mac"]')
            assert pull.locator('[data-count="import"]').inner_text() == str(len(scenario.threads))
            assert not list(b.home.rglob("rollout-*")), "the preview wrote nothing"
            shoot(page, "52-sync-preview")

            page.click("button[data-sync-now]")
            wait_for_result(page)
            assert page.locator('[data-sync-result="done"]').count() == 1
            assert page.locator('[data-sync-pull="mac"] a[href^="/snapshots/"]').count() == 1
            assert "Codex could not register" not in page.inner_text("main")
            shoot(page, "53-sync-result")
            assert watch.errors == []
            assert watch.outside == []
        finally:
            ctx.close()
    assert (ARTIFACTS / "53-sync-result.zh.png").is_file()

    with AppServer(codex_bin_new, b.home) as server:
        listed = {t["id"]: t for t in server.list_threads()}
        checked = 0
        for t in scenario.threads.values():
            if not t.listed:
                continue
            got = listed.get(t.id)
            assert got is not None, f"{t.key} not listed on B"
            assert got["cwd"] == t.cwd.replace(projects, str(b_code)), t.key
            assert len(server.list_turns(t.id)) == t.turns, t.key
            checked += 1
        assert checked > 0
