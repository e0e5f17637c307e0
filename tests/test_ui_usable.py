"""The web UI for a real history and for someone who has never used a terminal (issue 15).

Each test drives Debian's Chromium through one of the usability fixes, in English and in
Chinese where the page's text matters, and checks the outcome on disk or in the page.
Screenshots go to ``test-artifacts/ui-usable/`` (named in each test).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_migrate.ui.server import build_demo
from tests.harness.browser import launch_browser, requires_chromium
from tests.test_ui_browser import new_page, switch_language, wait_for_result
from tests.test_ui_support import Client, ui_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "ui-usable"

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def snap(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*"))


# -- 1. demo mode writes nothing outside its temporary folder ---------------------------------


def test_demo_writes_nothing_outside_its_folder(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_home = tmp_path / "real-home"
    real_home.mkdir()
    monkeypatch.setenv("HOME", str(real_home))  # what Path.home() and "~" mean to the server
    demo = build_demo(tmp_path / "demo")
    # The demo after a migration: this computer's home has sessions to back up and export.
    shutil.copytree(demo.source, demo.codex_home, dirs_exist_ok=True)
    with ui_server(demo.codex_home, demo=demo) as (config, url):
        ctx, page, watch = new_page(browser, url)
        ctx.set_default_timeout(30_000)
        try:
            origin = config.origin
            for lang in ("en", "zh_Hans"):
                if lang != "en":
                    switch_language(page, lang)
                page.goto(origin + "/backup")
                dest = page.input_value("#dest")
                assert Path(dest).is_relative_to(demo.root), dest
                # A folder outside the demo is refused, in the page's language, and kept.
                page.fill("#dest", str(real_home))
                page.click('form[action="/backup"] button.primary')
                alert = page.inner_text(".notice.bad")
                assert ("demo" in alert) if lang == "en" else ("演示" in alert), alert
                assert page.input_value("#dest") == str(real_home)
                snap(page, f"01-demo-refuses-outside.{lang}")
                page.goto(origin + "/export")
                assert Path(page.input_value("#dest")).is_relative_to(demo.root)
            # The defaults work and land inside the demo's folder.
            page.goto(origin + "/backup")
            page.click('form[action="/backup"] button.primary')
            wait_for_result(page)
            page.goto(origin + "/export")
            page.click('button[name="action"][value="all"]')
            page.wait_for_load_state()
            page.click('form[action="/export"] button[value="export"]')
            wait_for_result(page)
            snap(page, "01-demo-export-result.zh_Hans")
            assert [e for e in watch.errors if "status of 400" not in e] == []
        finally:
            ctx.close()
        # A forged form is refused by the server too, whatever the page offered.
        client = Client(config.origin, config.token)
        client.sign_in()
        client.post("/backup", {"dest": str(real_home), "format": "folder", "scope": "all"})
        client.post("/export", {"dest": str(real_home / "x"), "thread": "anything"})
    assert files_under(real_home) == []
    assert any((demo.root / "backups").iterdir())
    assert any((demo.root / "exports").rglob("*.html"))
