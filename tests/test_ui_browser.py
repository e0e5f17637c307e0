"""The web UI in a real browser (Debian's chromium driven by Playwright), end to end.

* Migrate a home the real Codex built, through every step (folder-browser dialog included),
  then the real ``codex app-server`` lists the threads under the new folders.
* Repair a copied home with "include all projects" and a parent rule; Codex lists the new paths.
* Backup, Export (the HTML opens in a new tab), and rolling back a snapshot, on the demo homes.
* Keyboard, dark theme and a narrow (200 % zoom) window; reading and previewing without JS.
* Error states: a damaged backup archive as the source, Codex running on the target, a merge
  conflict in the preview, a locked database; and Doctor on a copied home with stale rows,
  through its safe fixes.

Every step is photographed in English and in Chinese under ``test-artifacts/ui/``.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_migrate.ui.server import build_demo
from tests.harness.app_server import AppServer
from tests.harness.browser import launch_browser, requires_chromium
from tests.harness.scenario import Scenario
from tests.test_ui_support import Client, copied_home, demo_server, ui_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "ui"
TIMEOUT_MS = 120_000

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


class Watch:
    """Console errors, page errors and requests to anything but the app."""

    def __init__(self, page: Any, origin: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: self.errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on(
            "request",
            lambda req: self.outside.append(req.url) if not req.url.startswith(origin) else None,
        )


def js_ready(page: Any) -> None:
    """Wait until the page's script has set up every handler (``app.js`` marks ``<html>``):
    reading or clicking before that races the script on a busy machine. (A wait, not a
    one-shot query: it carries on across a navigation the page makes by itself.)"""
    page.wait_for_selector("html[data-js=ready]", state="attached")


def new_page(browser: Any, url: str, **context: Any) -> tuple[Any, Any, Watch]:
    scripts = context.get("java_script_enabled", True)
    ctx = browser.new_context(
        locale=context.pop("locale", "en-US"),
        viewport=context.pop("viewport", {"width": 1280, "height": 900}),
        **context,
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    watch = Watch(page, url.split("/?", 1)[0])
    page.goto(url)
    if scripts and page.locator('script[src="/static/app.js"]').count():
        js_ready(page)
    return ctx, page, watch


def switch_language(page: Any, code: str) -> None:
    """One action: choosing a language in the menu switches the page (its script submits
    the choice, so it must be in place first)."""
    js_ready(page)
    with page.expect_navigation():
        page.select_option("#lang-select", code)
    js_ready(page)


def shoot(page: Any, name: str) -> None:
    """A full-page screenshot in English, then the same page in Chinese, then back."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    js_ready(page)  # the page as a person sees it: its script has run
    page.screenshot(path=str(ARTIFACTS / f"{name}.en.png"), full_page=True)
    switch_language(page, "zh_Hans")
    assert page.get_attribute("html", "lang") == "zh-Hans"
    page.screenshot(path=str(ARTIFACTS / f"{name}.zh.png"), full_page=True)
    switch_language(page, "en")
    assert page.get_attribute("html", "lang") == "en"


def wait_for_result(page: Any) -> None:
    """The job page follows the SSE stream and navigates to the result by itself."""
    page.wait_for_url("**/jobs/**")
    page.wait_for_selector("h1[data-job-done]", timeout=TIMEOUT_MS)
    page.wait_for_load_state()


def _moved_projects(scenario: Scenario, dest: Path) -> tuple[str, Path]:
    old_root = Path(next(iter(scenario.projects.values()))).parent
    shutil.copytree(old_root, dest, symlinks=True)
    return str(old_root), dest


def _expect_listed(codex_bin: Path, home: Path, scenario: Scenario, old: str, new: Path) -> None:
    with AppServer(codex_bin, home) as server:
        listed = {t["id"]: t for t in server.list_threads()}
    checked = 0
    for t in scenario.threads.values():
        if not t.listed:
            continue
        got = listed.get(t.id)
        assert got is not None, f"{t.key} is not listed by Codex"
        assert got["cwd"] == t.cwd.replace(old, str(new)), t.key
        assert got["archived"] == t.archived, t.key
        checked += 1
    assert checked > 0


@pytest.mark.codex
def test_migrate_flow_then_real_codex_lists_the_new_folders(
    browser: Any, codex_home_new_copy: Scenario, codex_bin_new: Path, tmp_path: Path
) -> None:
    source = codex_home_new_copy
    old_root, new_root = _moved_projects(source, tmp_path / "new-machine" / "code")
    target = tmp_path / "new-machine" / ".codex"
    with ui_server(target, codex_bin=codex_bin_new) as (_config, url):
        ctx, page, watch = new_page(browser, url)
        try:
            assert page.get_attribute("html", "lang") == "en"
            shoot(page, "00-start")
            page.click('nav.main a[href="/migrate"]')

            # Step 1: the source, chosen through the folder-browser dialog.
            page.click('button[data-browse="source"]')
            page.wait_for_selector("dialog#browser[open]")
            page.fill("#browse-root", str(source.home))
            page.click('#browser-body form button[type="submit"]')
            page.wait_for_selector(f'[data-choose="{source.home}"]')
            shoot_dialog = ARTIFACTS / "01-folder-browser.en.png"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shoot_dialog))
            page.click("[data-choose]")
            assert page.input_value("#source") == str(source.home)
            page.click('form[action="/migrate/source"] button[type="submit"]')
            page.wait_for_selector("#found-title")
            shoot(page, "01-source")

            # Step 2: every session is selected; the live search filters the tree.
            page.click('a[href="/migrate/select"]')
            page.wait_for_url("**/migrate/select")
            boxes = page.locator('input[name="thread"]')
            assert boxes.count() == len(source.threads)
            assert page.locator('input[name="thread"]:checked').count() == len(source.threads)
            page.fill("#tree-search", "no-such-session-anywhere")
            assert page.locator("[data-project-block]:visible").count() == 0
            page.fill("#tree-search", "")
            shoot(page, "02-sessions")
            page.click('button[name="action"][value="next"]')

            # Step 3: one parent rule binds every project; the targets exist.
            page.wait_for_url("**/migrate/map")
            page.fill("#rule_old", old_root)
            page.fill("#rule_new", str(new_root))
            page.click('button[name="action"][value="save"]')
            page.wait_for_url("**/migrate/map")
            assert page.locator(".badge.ok").count() >= len(source.projects)
            assert page.locator(".badge.bad").count() == 0
            shoot(page, "03-folders")

            # Preview, then apply with live progress, ending in the verification summary.
            page.click('button[name="action"][value="preview"]')
            page.wait_for_url("**/migrate/preview")
            assert page.locator(".act-import").count() == len(source.threads)
            shoot(page, "04-preview")
            page.click('form[action="/migrate/apply"] button[type="submit"]')
            wait_for_result(page)
            assert page.locator("[data-codex-listing]").count() == 1
            assert "Every imported session checks out" in page.inner_text("main")
            shoot(page, "05-import-result")
            assert watch.errors == []
            assert watch.outside == []
        finally:
            ctx.close()
    _expect_listed(codex_bin_new, target, source, old_root, new_root)


@pytest.mark.codex
def test_repair_of_a_copied_home_then_real_codex_lists_the_new_folders(
    browser: Any, codex_home_new_copy: Scenario, codex_bin_new: Path, tmp_path: Path
) -> None:
    home = codex_home_new_copy
    old_root, new_root = _moved_projects(home, tmp_path / "synced" / "code")
    with ui_server(home.home) as (_config, url):
        ctx, page, watch = new_page(browser, url)
        try:
            page.click('nav.main a[href="/repair"]')
            page.wait_for_url("**/repair")
            # The projects still exist where they were recorded: only "include all" shows them.
            page.click('a[href="/repair?all=1"]')
            page.wait_for_url("**/repair?all=1")
            assert page.locator('input[name^="old_"]').count() == len(home.projects)
            page.fill("#rule_old", old_root)
            page.fill("#rule_new", str(new_root))
            page.click('button[name="action"][value="save"]')
            page.wait_for_url("**/repair")
            shoot(page, "10-repair")
            page.click('button[name="action"][value="preview"]')
            page.wait_for_url("**/repair/preview")
            shoot(page, "11-repair-preview")
            page.click('form[action="/repair/apply"] button[type="submit"]')
            wait_for_result(page)
            assert "The home checks out" in page.inner_text("main")
            shoot(page, "12-repair-result")
            assert watch.errors == []
        finally:
            ctx.close()
    _expect_listed(codex_bin_new, home.home, home, old_root, new_root)


def _import_demo(client: Client, demo: Any) -> None:
    """Import the demo homes over HTTP (another session of the same server)."""
    client.sign_in()
    client.post("/migrate/source", {"source": str(demo.source)})
    client.post(
        "/migrate/map",
        {"rule_old": "/Users/alex/Projects", "rule_new": str(demo.projects), "action": "preview"},
    )
    import re

    digest = re.search(r'name="confirm" value="([^"]+)"', client.last.text if client.last else "")
    assert digest, "no preview"
    first = client.post("/migrate/apply", {"confirm": digest.group(1)}, follow=False)
    page = client.wait_job(client.get(first.location or "/"))
    assert "Import finished" in page.text


def test_backup_export_snapshots_and_rollback_on_the_demo(browser: Any, tmp_path: Path) -> None:
    with demo_server(tmp_path) as (config, client, demo):
        _import_demo(client, demo)
        url = f"{config.origin}/?token={config.tokens.issue()}"
        ctx, page, watch = new_page(browser, url)
        try:
            # Backup into a folder of our choice.
            page.click('nav.main a[href="/backup"]')
            page.fill("#dest", str(tmp_path / "backups"))
            shoot(page, "20-backup")
            page.click('form[action="/backup"] button[type="submit"]')
            shoot(page, "20b-backup-preview")
            page.click('form[action="/backup/apply"] button[type="submit"]')
            wait_for_result(page)
            backup_path = page.inner_text("[data-backup-path]")
            assert (Path(backup_path) / "manifest.json").is_file()
            shoot(page, "21-backup-result")

            # Export every session as HTML, and open one in a new tab.
            page.click('nav.main a[href="/export"]')
            page.click('button[name="action"][value="all"]')
            page.wait_for_url("**/export")
            page.fill("#dest", str(tmp_path / "exported"))
            shoot(page, "22-export")
            page.click('button[name="action"][value="export"]')
            shoot(page, "22b-export-preview")
            page.click('form[action="/export/apply"] button[type="submit"]')
            wait_for_result(page)
            shoot(page, "23-export-result")
            with ctx.expect_page() as popup_info:
                page.click('a[href^="/exports/"]')
            popup = popup_info.value
            popup.wait_for_load_state()
            assert popup.evaluate("document.scripts.length") == 0
            assert popup.locator("main").count() == 1
            popup.screenshot(path=str(ARTIFACTS / "24-exported-html.png"))
            popup.close()

            # Doctor on the demo home.
            page.click('nav.main a[href="/doctor"]')
            shoot(page, "25-doctor")

            # Snapshots: inspect the import, roll it back.
            page.click('nav.main a[href="/snapshots"]')
            shoot(page, "30-snapshots")
            page.click('a[href$="/rollback"]')
            shoot(page, "31-rollback-confirm")
            page.click('form[action$="/rollback"] button[type="submit"]')
            wait_for_result(page)
            shoot(page, "32-rollback-result")
            assert not list((demo.codex_home / "sessions").rglob("rollout-*.jsonl"))
            assert watch.errors == []
            assert watch.outside == []
        finally:
            ctx.close()


def test_keyboard_dark_theme_and_200_percent_zoom(browser: Any, tmp_path: Path) -> None:
    demo = build_demo(tmp_path / "demo")
    with ui_server(demo.codex_home, demo=demo) as (config, url):
        ctx, page, _ = new_page(browser, url)
        try:
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "skip"
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline == "solid", "focus must be visible"
            page.keyboard.press("Enter")
            page.click('nav.main a[href="/migrate"]')
            page.click('form[action="/migrate/source"] button[type="submit"]')
            page.wait_for_selector("#found-title")
            # The theme toggle is remembered across pages.
            page.click("#theme-toggle")
            theme = page.get_attribute("html", "data-theme")
            page.click('a[href="/migrate/select"]')
            page.wait_for_url("**/migrate/select")
            page.wait_for_load_state()
            assert page.get_attribute("html", "data-theme") == theme
        finally:
            ctx.close()
        # The system's dark preference, and a 640 px wide window (1280 px at 200 % zoom).
        ctx, page, _ = new_page(
            browser, url, color_scheme="dark", viewport={"width": 640, "height": 900}
        )
        try:
            for path in ("/", "/migrate", "/repair", "/snapshots", "/backup"):
                page.goto(config.origin + path)
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{path} scrolls sideways at 200 % zoom"
            page.goto(config.origin + "/repair")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "40-dark-zoom200.en.png"), full_page=True)
        finally:
            ctx.close()


def test_without_javascript_reading_and_previewing_still_lead_on(
    browser: Any, tmp_path: Path
) -> None:
    """The read jobs' progress pages refresh themselves, then lead back to their step."""
    demo = build_demo(tmp_path / "demo")
    with ui_server(demo.codex_home, demo=demo) as (config, url):
        ctx, page, watch = new_page(browser, url, java_script_enabled=False)
        try:
            page.click('nav.main a[href="/migrate"]')
            page.click('form[action="/migrate/source"] button[type="submit"]')
            page.wait_for_selector("#found-title")
            assert page.url == config.origin + "/migrate"
            page.goto(config.origin + "/migrate/map")
            page.fill("#rule_old", "/Users/alex/Projects")
            page.fill("#rule_new", str(demo.projects))
            page.click('button[name="action"][value="preview"]')
            page.wait_for_url("**/migrate/preview")
            assert page.locator(".act-import").count() > 0
            assert watch.errors == []
        finally:
            ctx.close()


def _codex_runs(home: Path) -> None:
    """What ``ensure_not_running`` raises when Codex has the home open (as in test_ui_flows)."""
    from codex_migrate.errors import HomeInUse

    raise HomeInUse(
        f"Codex is running on {home}: codex (pid 4242).",
        hint="Close Codex (CLI, IDE extension and Desktop app) and try again.",
    )


def test_error_states_codex_running_and_a_merge_conflict(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with demo_server(tmp_path) as (config, _client, demo):
        ctx, page, watch = new_page(browser, f"{config.origin}/?token={config.tokens.issue()}")
        try:
            page.click('nav.main a[href="/migrate"]')
            # A damaged archive: reading it is a job, whose page ends with the clear error.
            bogus = demo.root / "damaged.zip"
            bogus.write_bytes(b"PK\x03\x04 not really")
            page.fill("#source", str(bogus))
            page.click('form[action="/migrate/source"] button[type="submit"]')
            wait_for_result(page)
            assert page.locator("h1[data-job-done]").inner_text() == "Reading the source"
            notice = page.locator(".notice.bad h2").inner_text()
            assert notice == "This is not a Codex home that can be read"
            shoot(page, "53-error-damaged-archive")
            page.click(".actions a.button.primary")
            page.wait_for_url(lambda url: "/migrate?source=" in url)
            assert page.input_value("#source") == str(bogus)
            # The real source: its job page leads back to step 1, which shows what was found.
            page.fill("#source", str(demo.source))
            page.click('form[action="/migrate/source"] button[type="submit"]')
            page.wait_for_selector("#found-title")
            assert page.url == config.origin + "/migrate"
            page.goto(config.origin + "/migrate/map")
            page.fill("#rule_old", "/Users/alex/Projects")
            page.fill("#rule_new", str(demo.projects))
            page.click('button[name="action"][value="preview"]')
            page.wait_for_url("**/migrate/preview")

            # Codex has the target open: the write is refused, nothing is written.
            monkeypatch.setattr("codex_migrate.writing.ensure_not_running", _codex_runs)
            page.click('form[action="/migrate/apply"] button[type="submit"]')
            wait_for_result(page)
            assert page.locator(".notice.bad h2").inner_text() == "Codex is running"
            shoot(page, "50-error-codex-running")
            assert not list(demo.codex_home.rglob("rollout-*.jsonl"))
            monkeypatch.undo()

            # Import for real, then the same session diverges on this machine. (Opening the
            # preview builds it again in a job, whose page leads back to it.)
            page.goto(config.origin + "/migrate/preview")
            page.wait_for_url("**/migrate/preview")
            page.click('form[action="/migrate/apply"] button[type="submit"]')
            wait_for_result(page)
            assert "Import finished" in page.inner_text("main")
            victim = next((demo.codex_home / "sessions").rglob("*0001*.jsonl"))
            lines = victim.read_text().splitlines(keepends=True)
            lines[1] = lines[1].replace("task_started", "task_Diverged")
            victim.write_text("".join(lines))
            page.goto(config.origin + "/migrate/preview")
            page.wait_for_url("**/migrate/preview")
            assert page.locator(".act-conflict").count() >= 1
            assert page.locator('form[action="/migrate/apply"] button[disabled]').count() == 1
            shoot(page, "51-error-merge-conflict")
            assert watch.errors == []
            assert watch.outside == []
        finally:
            ctx.close()


def test_doctor_on_a_copied_home_with_stale_rows_and_a_locked_database(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codex_migrate.inuse import check_db_writable

    copied = copied_home(tmp_path)
    db = copied.home / "state_5.sqlite"
    with ui_server(copied.home) as (_config, url):
        ctx, page, watch = new_page(browser, url)
        try:
            page.click('nav.main a[href="/doctor"]')
            page.wait_for_url("**/doctor")
            assert page.locator("tr[data-thread]").count() == 8
            assert page.locator("[data-fix-kind]").count() == 6
            shoot(page, "60-doctor-copied-home")
            page.set_viewport_size({"width": 640, "height": 900})  # 200 % zoom
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, "/doctor scrolls sideways at 200 % zoom"
            page.set_viewport_size({"width": 1280, "height": 900})
            page.click("a[data-apply-safe-fixes]")
            page.wait_for_url("**/doctor/preview")
            shoot(page, "61-doctor-preview")

            # Another program holds the database's write lock: refused, nothing written.
            monkeypatch.setattr(
                "codex_migrate.writing.check_db_writable",
                lambda path: check_db_writable(path, timeout=0.2),
            )
            holder = sqlite3.connect(db, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            try:
                page.click('form[action="/doctor/fix"] button[type="submit"]')
                wait_for_result(page)
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            assert page.locator(".notice.bad h2").inner_text() == "The Codex database is locked"
            shoot(page, "52-error-db-locked")

            # Back to the dry run, and apply: the after-diagnosis leaves only Repair's part.
            page.goto(url.split("/?", 1)[0] + "/doctor/preview")
            page.click('form[action="/doctor/fix"] button[type="submit"]')
            wait_for_result(page)
            assert "Repair finished" in page.inner_text("main")
            assert page.locator("[data-doctor-after]").count() == 1
            shoot(page, "62-doctor-result")
            page.click('[data-doctor-after] a[href="/doctor"]')
            page.wait_for_url("**/doctor")
            assert page.locator('[data-route="safe"]').count() == 0
            assert page.locator('[data-route="repair"]').count() == 5
            shoot(page, "63-doctor-after-the-safe-fixes")
            assert watch.errors == []
            assert watch.outside == []
        finally:
            ctx.close()
