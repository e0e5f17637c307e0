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
from urllib.parse import quote

import pytest

from codex_migrate.ui.server import build_demo
from tests.harness.browser import launch_browser, requires_chromium
from tests.test_ui_browser import new_page, switch_language, wait_for_result
from tests.test_ui_support import Client, form_then_confirm, ui_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "ui-usable"

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def snap(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def real_errors(errors: list[str]) -> list[str]:
    """Console errors but the refused-form statuses (400 pages are answers, not faults) and
    htmx's empty inline style when it swaps into a reopened dialog (blocked by the CSP, no
    effect: the hash is the empty string's)."""
    empty_style = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    return [e for e in errors if "status of 400" not in e and empty_style not in e]


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
            page.click('form[action="/backup/apply"] button.primary')
            wait_for_result(page)
            page.goto(origin + "/export")
            page.click('button[name="action"][value="all"]')
            page.wait_for_load_state()
            page.click('form[action="/export"] button[value="export"]')
            page.click('form[action="/export/apply"] button.primary')
            wait_for_result(page)
            snap(page, "01-demo-export-result.zh_Hans")
            assert real_errors(watch.errors) == []
        finally:
            ctx.close()
        # A forged form is refused by the server too, whatever the page offered.
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        refused = client.post(
            "/backup", {"dest": str(real_home), "format": "folder", "scope": "all"}
        )
        assert refused.status == 400 and "demo" in refused.text
        refused = client.post("/export", {"dest": str(real_home / "x"), "thread": "x"})
        assert refused.status == 400 and "demo" in refused.text
    assert files_under(real_home) == []
    assert any((demo.root / "backups").iterdir())
    assert any((demo.root / "exports").rglob("*.html"))


# -- 2. step 3 cannot be left with unbound projects --------------------------------------------


def _to_step3(page: Any, origin: str) -> None:
    """The demo's Mac home as the source (pre-filled), every session, then step 3."""
    page.goto(origin + "/migrate")
    page.click('form[action="/migrate/source"] button[type="submit"]')
    page.wait_for_selector("#found-title")
    page.goto(origin + "/migrate/select")
    page.click('button[name="action"][value="next"]')
    page.wait_for_url("**/migrate/map")


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_step3_refuses_next_with_unbound_projects(
    browser: Any, tmp_path: Path, lang: str, js: bool
) -> None:
    """With JavaScript the page says what is missing before anything is sent; without it the
    server refuses the same, on the same page, with what was typed kept."""
    demo = build_demo(tmp_path / "demo")
    locale = "en-US" if lang == "en" else "zh-CN"
    with ui_server(demo.codex_home, demo=demo) as (config, url):
        ctx, page, _watch = new_page(browser, url, locale=locale, java_script_enabled=js)
        ctx.set_default_timeout(30_000)
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        try:
            _to_step3(page, config.origin)
            assert page.get_attribute("html", "lang") == ("en" if lang == "en" else "zh-Hans")
            rows = page.locator("tr[data-row]").count()
            assert rows >= 3
            next_button = 'button[name="action"][value="preview"]'
            sent = len(posts)
            page.click(next_button)
            if js:
                page.wait_for_selector("[data-check-message]:not([hidden])")
                assert len(posts) == sent, "the check runs before anything is sent"
                alert = page.inner_text("[data-check-message]")
                focused = page.evaluate("document.activeElement.id")
                assert focused.startswith("new_"), focused
            else:
                page.wait_for_load_state()
                alert = page.inner_text("#mapping-error")
            assert page.url.endswith("/migrate/map")  # not the preview, not an error page
            assert "--map" not in page.inner_text("main") and "--history-only" not in alert
            assert ("个项目" in alert) if lang == "zh_Hans" else ("project" in alert), alert
            errors = page.locator("tr.row-error .field-error")
            assert errors.count() >= 1
            first = page.locator("tr.row-error input[aria-invalid=true]").first
            assert first.get_attribute("aria-describedby")
            snap(page, f"02-step3-unbound{'' if js else '-nojs'}.{lang}")

            # A relative path is refused beside its row and stays as typed.
            field_id = first.get_attribute("id")
            page.fill(f"#{field_id}", "code/webshop")
            sent = len(posts)
            page.click(next_button)
            page.wait_for_load_state()
            assert page.input_value(f"#{field_id}") == "code/webshop"
            note = f"#{field_id}-check" if js else f"#{field_id}-error"
            row_error = page.inner_text(note)
            assert ("/home/alex/code" in row_error) and ("--map" not in row_error)
            assert (len(posts) == sent) if js else (len(posts) == sent + 1)
            snap(page, f"02-step3-relative{'' if js else '-nojs'}.{lang}")

            # A parent rule (typed, not yet saved) binds the Mac projects; the rest are kept as
            # history only.
            page.fill(f"#{field_id}", "")
            page.fill("#rule_old", "/Users/alex/Projects")
            page.fill("#rule_new", str(demo.projects))
            page.click(next_button)
            page.wait_for_load_state()
            if page.url.endswith("/migrate/map"):
                flagged = page.locator("tr.row-error")
                assert flagged.count() < rows, "the typed rule covers the Mac projects"
                for box in page.locator("tr.row-error input[name^=hist_]").all():
                    box.check()
                page.click(next_button)
            page.wait_for_url("**/migrate/preview*")
        finally:
            ctx.close()


# -- 3. Browse on a bad path, backup files, and the native dialog ------------------------------


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_browse_on_a_bad_path_shows_a_usable_dialog(
    browser: Any, tmp_path: Path, lang: str
) -> None:
    demo = build_demo(tmp_path / "demo")
    backups = tmp_path / "backups"
    backups.mkdir()
    archive = backups / "Codex_backup.tar.zst"
    archive.write_bytes(b"not really zstd")
    (backups / "notes.txt").write_text("never listed")
    with ui_server(demo.codex_home, demo=demo) as (config, url):
        ctx, page, watch = new_page(browser, url)
        ctx.set_default_timeout(30_000)
        try:
            if lang != "en":
                switch_language(page, lang)
            page.goto(config.origin + "/migrate")
            dialog = "dialog#browser[open]"

            # A typo: the nearest folder that exists, with a note, Choose and Close.
            page.fill("#source", str(backups / "Codxe_backup"))
            page.click('button[data-browse="source"]')
            page.wait_for_selector(dialog)
            note = page.inner_text("[data-browse-note]")
            assert ("does not exist" in note) if lang == "en" else ("不存在" in note), note
            assert page.locator(f'{dialog} [data-choose="{backups}"]').count() == 1
            assert page.locator(f"{dialog} [data-close-dialog]").count() >= 1
            snap(page, f"03-browse-typo.{lang}")
            page.click(f"{dialog} button.close")
            page.wait_for_selector(dialog, state="detached")

            # A backup file: its folder, the file listed (other files are not) and choosable.
            page.fill("#source", str(archive))
            page.click('button[data-browse="source"]')
            page.wait_for_selector(dialog)
            assert "notes.txt" not in page.inner_text(dialog)
            snap(page, f"03-browse-backup-file.{lang}")
            page.click(f'{dialog} [data-choose="{archive}"]')
            assert page.input_value("#source") == str(archive)

            # Go with a path that cannot be used: the message, inside the dialog, which stays.
            page.click('button[data-browse="source"]')
            page.wait_for_selector(dialog)
            page.fill("#browse-root", "relative/path")
            page.click('#browser-body form button[type="submit"]')
            page.wait_for_selector(f"{dialog} .notice.bad")
            assert page.locator(f"{dialog} [data-close-dialog]").count() >= 1
            snap(page, f"03-browse-go-bad.{lang}")
            page.keyboard.press("Escape")
            assert real_errors(watch.errors) == []
        finally:
            ctx.close()


def test_browse_uses_the_native_dialog_when_there_is_one(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codex_migrate.ui.views import base

    asked: list[tuple[str, str]] = []

    def fake_dialog(mode: str, start: str = "") -> dict[str, object]:
        asked.append((mode, start))
        return {"path": str(tmp_path / "picked")} if len(asked) == 1 else {"unavailable": True}

    monkeypatch.setattr(base, "ask_native", fake_dialog)
    demo = build_demo(tmp_path / "demo")
    with ui_server(demo.codex_home, demo=demo) as (config, url):
        config.native_dialogs = True
        ctx, page, _watch = new_page(browser, url)
        ctx.set_default_timeout(30_000)
        try:
            page.goto(config.origin + "/migrate")
            page.click('button[data-browse="source"]')
            page.wait_for_function(
                "(v) => document.getElementById('source').value === v",
                arg=str(tmp_path / "picked"),
            )
            assert asked[0][0] == "file"  # a source may be a backup file
            # No dialog could be shown this time: the in-page browser opens instead.
            page.click('button[data-browse="source"]')
            page.wait_for_selector("dialog#browser[open]")
        finally:
            ctx.close()
        config.native_dialogs = False
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        resp = client.post("/browse/native", {"mode": "folder"})
        assert resp.status == 200 and '"unavailable":true' in resp.text.replace(" ", "")


# -- 4. scale: a 3 000-session home -----------------------------------------------------------


def big_home(root: Path, n: int = 3000, projects: int = 40) -> Path:
    """A home of ``n`` sessions in ``projects`` projects, made in a second or two by cloning
    one of the demo's rollouts under new ids (the real Codex writes them the same way)."""
    import uuid

    from codex_migrate.demo import MAC_ROOT, build_demo_home

    seed_home = build_demo_home(root / "seed")
    seed = next(
        p
        for p in sorted((seed_home / "sessions").rglob("rollout-*.jsonl"))
        if '"history_mode":"paginated"' in p.read_text(encoding="utf-8").split("\n", 1)[0]
    )
    text = seed.read_text(encoding="utf-8")
    old_id = seed.name[-42:-6]
    meta = text.splitlines()[0]
    old_cwd = meta.split('"cwd":"', 1)[1].split('"', 1)[0]
    home = root / "big" / ".codex"
    day = home / "sessions" / "2026" / "03" / "01"
    day.mkdir(parents=True)
    for k in range(n):
        new_id = str(uuid.UUID(int=(0x019A6F3C_0000_7000_8000_000000000000 + k)))
        cwd = f"{MAC_ROOT}/project-{k % projects:02d}"
        body = text.replace(old_id, new_id).replace(old_cwd, cwd)
        (day / f"rollout-2026-03-01T09-00-00-{new_id}.jsonl").write_text(body, encoding="utf-8")
    return home


PAGE_LIMIT = 300_000


def test_pages_stay_small_at_3000_sessions(tmp_path: Path) -> None:
    import time

    home = big_home(tmp_path)
    target = tmp_path / "target" / ".codex"
    sizes: dict[str, int] = {}
    with ui_server(home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        pages = ("/", "/doctor", "/doctor/preview", "/repair", "/repair/preview")
        for path in (*pages, "/export", "/backup", "/snapshots"):
            first = client.get(path, follow=False)
            # Every page that reads the home reads it as a job (the Doctor and Repair
            # previews too); Export and Backup then use the catalog Repair read (the home
            # has not changed since).
            if path in pages:
                assert first.status == 303 and (first.location or "").startswith("/jobs/"), path
            else:
                assert first.status == 200, path
            if first.status == 303:
                progress = client.get(first.location or "", follow=False)
                assert "data-events=" in progress.text and "data-cancel" in progress.text
                while True:  # the progress page, until the job has finished
                    step = client.get(first.location or "", follow=False)
                    if step.status == 303:
                        break
                    time.sleep(0.2)
            started = time.monotonic()
            page = client.get(path, follow=False)  # the page, from the job's result
            assert page.status == 200, (path, page.status)
            sizes[path] = len(page.text.encode())
            sizes[path + " ms"] = int(1000 * (time.monotonic() - started))
        # A read can be stopped: nothing was written, the page can be asked for again.
        first = client.get("/doctor", follow=False)
        cancelled = client.post(first.location + "/cancel", follow=False)  # type: ignore[operator]
        assert cancelled.status == 303
        # Export: select everything, open a project, page through it.
        page = client.post("/export", {"action": "all"})
        assert "3,000 of 3,000 selected" in page.text
        sizes["/export all"] = len(page.text.encode())
    with ui_server(target) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        client.post("/migrate/source", {"source": str(home)})
        page = client.get("/migrate/select")
        sizes["/migrate/select"] = len(page.text.encode())
        assert "data-collapsed" in page.text and 'name="pall_0"' in page.text
        # Untick one project, open another and untick one of its sessions.
        project = client.post(
            "/migrate/select",
            {
                "pc_0": "/Users/alex/Projects/project-00",
                "pwas_0": "all",
                "nav": "open:/Users/alex/Projects/project-01",
            },
        )
        sizes["/migrate/select open"] = len(project.text.encode())
        shown = __import__("re").findall(r'name="shown" value="([^"]+)"', project.text)
        assert len(shown) == 75  # 3 000 sessions / 40 projects
        keep = shown[1:]
        page = client.post("/migrate/select", {"shown": shown, "thread": keep, "action": "next"})
        assert "/migrate/map" in page.text or page.status == 200
        sizes["/migrate/map"] = len(page.text.encode())
        selected = __import__("re").search(r"([\d,]+) sessions selected", page.text)
        assert selected and selected.group(1) == "2,924", selected.group(0) if selected else None
        # Step 4, the preview of 2 924 sessions: one collapsed line per project, and the
        # sessions of an opened project a page at a time; Apply covers them all.
        from codex_migrate.demo import MAC_ROOT

        rule = {"rule_old": MAC_ROOT, "rule_new": str(tmp_path / "here"), "action": "preview"}
        asked = client.post("/migrate/map", rule, follow=False)
        first = client.get(asked.location or "", follow=False)
        assert first.status == 303 and (first.location or "").startswith("/jobs/")
        while client.get(first.location or "", follow=False).status != 303:
            time.sleep(0.2)
        started = time.monotonic()
        page = client.get("/migrate/preview", follow=False)
        sizes["/migrate/preview ms"] = int(1000 * (time.monotonic() - started))
        sizes["/migrate/preview"] = len(page.text.encode())
        assert page.status == 200 and page.text.count("data-group") == 39  # one unticked
        assert page.text.count("data-open-group") == 39, "every project collapsed"
        assert "Apply: write 2,924 sessions" in page.text
        opened = client.get(
            "/migrate/preview?open=" + quote(f"{MAC_ROOT}/project-01"), follow=False
        )
        sizes["/migrate/preview open"] = len(opened.text.encode())
        assert opened.text.count('class="thread-id"') == 74 and 'name="confirm"' in opened.text
    print(sizes)
    assert all(v < PAGE_LIMIT for k, v in sizes.items() if not k.endswith(" ms")), sizes
    # Rendering a page from a finished read (the job did the reading) is quick.
    assert all(v < 2000 for k, v in sizes.items() if k.endswith(" ms")), sizes


# -- 8. a first screen that says what to do; and the smaller things ---------------------------


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_first_screen_says_what_to_do(browser: Any, tmp_path: Path, lang: str) -> None:
    from tests.test_ui_support import copied_home

    new_machine = tmp_path / "new" / ".codex"
    with ui_server(new_machine) as (config, url):
        ctx, page, watch = new_page(browser, url)
        ctx.set_default_timeout(30_000)
        try:
            if lang != "en":
                switch_language(page, lang)  # one action: choosing the language
            assert page.get_attribute("html", "lang") == ("en" if lang == "en" else "zh-Hans")
            assert page.locator("[data-start=new]").count() == 1
            primary = page.locator("main .button.primary, main button.primary")
            assert primary.count() == 1 and primary.get_attribute("href") == "/migrate"
            assert page.locator(".notice.warn, .notice.bad, pre").count() == 0
            snap(page, f"08-start-new-machine.{lang}")

            # The theme button names what it switches to.
            before = page.inner_text("#theme-toggle")
            page.click("#theme-toggle")
            after = page.inner_text("#theme-toggle")
            assert before != after and page.get_attribute("html", "data-theme") == "dark"
            snap(page, f"08-start-new-machine-dark.{lang}")
            page.click("#theme-toggle")
            assert page.inner_text("#theme-toggle") == before

            # An unknown address: the app's own page, styled and translated.
            resp = page.goto(config.origin + "/no-such-page")
            assert resp is not None and resp.status == 404
            assert page.locator("header.top nav.main").count() == 1
            assert page.locator("main .notice").count() == 1
            if lang == "zh_Hans":
                assert "不存在" in page.inner_text("main")
            snap(page, f"10-not-found.{lang}")
            assert real_errors([e for e in watch.errors if "404" not in e]) == []
        finally:
            ctx.close()

    copied = copied_home(tmp_path / "copied")
    with ui_server(copied.home) as (config, url):
        ctx, page, _watch = new_page(browser, url)
        ctx.set_default_timeout(30_000)
        try:
            if lang != "en":
                switch_language(page, lang)
            assert page.locator("[data-start=repair]").count() == 1
            assert page.get_attribute("[data-primary]", "href") == "/repair"
            snap(page, f"08-start-copied-home.{lang}")
        finally:
            ctx.close()
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        started = form_then_confirm(
            client,
            "/backup",
            {"dest": str(tmp_path / "out"), "format": "folder", "scope": "all"},
            "/backup/apply",
        )
        result = client.wait_job(client.get(started.location or ""))
        assert (" 0 s" not in result.text and "in less than a second" in result.text) or (
            " s." in result.text
        )


# -- 5. plain language: Doctor's fixes are actions; no English on a Chinese page --------------


def _english_fragments() -> list[str]:
    """The catalog's English strings, as the literal runs a page would show (placeholders cut
    out), long enough not to be a name or a path."""
    import re

    from babel.messages.pofile import read_po

    from codex_migrate.doctor.rules import RULES
    from codex_migrate.translations import po_path

    with open(po_path("zh_Hans"), "rb") as f:
        catalog = read_po(f, locale="zh_Hans")
    out: set[str] = set()
    for m in catalog:
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        for msgid in ids:
            for piece in re.split(r"%\([a-z_]+\)s|\{n\}", msgid):
                piece = piece.strip(" .,:;·()…")
                if len(piece) >= 16 and " " in piece:
                    out.add(piece)
    out |= {r.summary[:40] for r in RULES.values()}  # the engine's own findings
    return sorted(out)


def test_doctor_fixes_are_actions_and_chinese_pages_have_no_english(
    browser: Any, tmp_path: Path
) -> None:
    from tests.test_ui_support import copied_home

    copied = copied_home(tmp_path / "copied")
    english = _english_fragments()
    assert len(english) > 200
    with ui_server(copied.home) as (config, url):
        ctx, page, watch = new_page(browser, url)
        ctx.set_default_timeout(60_000)
        try:
            switch_language(page, "zh_Hans")
            origin = config.origin
            seen: dict[str, str] = {}
            for path in (
                "/",
                "/doctor",
                "/repair",
                "/backup",
                "/export",
                "/snapshots",
                "/migrate",
                "/no-such-page",
                "/doctor/preview",
            ):
                page.goto(origin + path)
                seen[path] = page.inner_text("body")
            # Migrate, from another copy of the Mac's home.
            other = copied_home(tmp_path / "other")
            page.goto(origin + "/migrate")
            page.fill("#source", str(other.home))
            page.click('form[action="/migrate/source"] button[type="submit"]')
            page.wait_for_selector("#found-title")
            seen["/migrate read"] = page.inner_text("body")
            page.goto(origin + "/migrate/select")
            seen["/migrate/select"] = page.inner_text("body")
            page.click('button[name="action"][value="next"]')
            page.wait_for_url("**/migrate/map")
            page.click('button[name="action"][value="preview"]')  # refused: unbound projects
            page.wait_for_load_state()
            seen["/migrate/map refused"] = page.inner_text("body")
            page.click('button[data-browse="rule_new"]')
            page.wait_for_selector("dialog#browser[open]")
            seen["browse"] = page.inner_text("dialog#browser")
            page.keyboard.press("Escape")
            found = {path: [e for e in english if e in text] for path, text in seen.items()}
            assert {p: f for p, f in found.items() if f} == {}

            # A folder finding is a button that opens Repair on that project.
            page.goto(origin + "/doctor")
            snap(page, "05-doctor-plain.zh_Hans")
            button = page.locator('a[data-action="repair"][href*="project="]').first
            button.click()
            page.wait_for_url(lambda u: "/repair?project=" in u)
            focused = page.locator("tr.row-focus")
            assert focused.count() == 1
            assert page.evaluate("document.activeElement.closest('tr.row-focus') !== null")
            snap(page, "05-repair-from-doctor.zh_Hans")
            switch_language(page, "en")
            page.goto(origin + "/doctor")
            snap(page, "05-doctor-plain.en")
            assert real_errors([e for e in watch.errors if "404" not in e]) == []
        finally:
            ctx.close()


# -- 10. conflicts: side by side, and a choice per thread -------------------------------------


@pytest.mark.parametrize("choice", ["keep-target", "skip"])
def test_a_conflict_is_settled_per_thread_without_splicing(
    browser: Any, tmp_path: Path, choice: str
) -> None:
    from tests.homes import tree_state
    from tests.test_ui_flows import _apply, _preview

    demo = build_demo(tmp_path / "demo")
    with ui_server(demo.codex_home, demo=demo) as (config, url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        assert "Import finished" in _apply(client, _preview(client, demo)).text
        victim = next((demo.codex_home / "sessions").rglob("*0001*.jsonl"))
        lines = victim.read_text().splitlines(keepends=True)
        lines[1] = lines[1].replace("task_started", "task_Diverged")
        victim.write_text("".join(lines))
        mine = victim.read_bytes()
        before = tree_state(demo.codex_home)

        ctx, page, _watch = new_page(browser, url.replace(config.token, "x"))
        ctx.add_cookies(
            [{"name": k, "value": v, "url": config.origin} for k, v in client.cookies.items()]
        )
        ctx.set_default_timeout(60_000)
        try:
            page.goto(config.origin + "/migrate")
            page.click('form[action="/migrate/source"] button[type="submit"]')
            page.wait_for_selector("#found-title")
            page.goto(config.origin + "/migrate/preview")
            page.wait_for_selector("[data-conflicts]")
            sides = page.locator("[data-conflict] .side-by-side pre")
            assert sides.count() == 2 and "Diverged" in sides.nth(1).inner_text()
            assert page.locator('form[action="/migrate/apply"] button[disabled]').count() == 1
            snap(page, f"10-conflict-side-by-side.{choice}")
            page.check(f'[data-conflict] input[value="{choice}"]')
            page.click('form[action="/migrate/conflicts"] button[type="submit"]')
            page.wait_for_url("**/migrate/preview")
            page.wait_for_selector("h1")
            assert page.locator("[data-conflicts]").count() == 0
            # Everything else is already here: nothing to write, and no "write 0" button.
            assert page.locator("[data-nothing-to-do]").count() == 1
            assert page.locator('form[action="/migrate/apply"] button').count() == 0
            snap(page, f"10-conflict-settled.{choice}")
        finally:
            ctx.close()
        assert victim.read_bytes() == mine
        assert tree_state(demo.codex_home) == before


# -- 6. the wizard warns where the choice is made; counts agree --------------------------------


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_wizard_warns_at_the_point_of_choice(browser: Any, tmp_path: Path, lang: str) -> None:
    import re

    demo = build_demo(tmp_path / "demo")
    with ui_server(demo.codex_home, demo=demo) as (config, url):
        ctx, page, _watch = new_page(browser, url)
        ctx.set_default_timeout(30_000)
        try:
            if lang != "en":
                switch_language(page, lang)
            page.goto(config.origin + "/migrate")
            page.click('form[action="/migrate/source"] button[type="submit"]')
            page.wait_for_selector("#found-title")
            page.goto(config.origin + "/migrate/select")
            assert page.locator("[data-warn=bare]").count() == 1  # the 2025-format session
            step2 = page.locator('input[name="thread"]:checked').count()
            snap(page, f"06-step2-2025-warning.{lang}")
            page.click('button[name="action"][value="next"]')
            page.wait_for_url("**/migrate/map")
            assert page.locator("[data-warn=bare]").count() == 1
            step3 = int(re.sub(r"\D", "", page.inner_text("main p:not(.lead) >> nth=0")))
            assert step3 == step2
            # History only for the first project, a folder that does not exist for the second.
            page.check("input[name=hist_0]")
            page.fill("#new_1", str(demo.projects / "not-created-yet"))
            page.click('button[name="action"][value="save"]')
            page.wait_for_url("**/migrate/map")
            assert page.locator("tr[data-row='0'] [data-warn=history-only]").count() == 1
            assert page.locator("tr[data-row='1'] [data-warn=missing-folder]").count() == 1
            snap(page, f"06-step3-warnings.{lang}")
        finally:
            ctx.close()


# -- 7. 390 px wide, and screenshots of every step: both languages, 1280/390, light/dark -------


def _within(page: Any, selector: str, width: int) -> None:
    """Every match is on screen horizontally (nothing hidden off the right edge)."""
    boxes = page.locator(selector)
    assert boxes.count() > 0, selector
    for n in range(boxes.count()):
        box = boxes.nth(n).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (
            selector,
            box,
        )


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_step_in_both_languages(browser: Any, tmp_path: Path, width: int, theme: str) -> None:
    from codex_migrate.demo import MAC_ROOT

    demo = build_demo(tmp_path / "demo")
    tag = f"{width}-{theme}"
    with ui_server(demo.codex_home, demo=demo) as (config, url):
        ctx, page, watch = new_page(
            browser, url, viewport={"width": width, "height": 900}, color_scheme=theme
        )
        ctx.set_default_timeout(60_000)
        origin = config.origin
        shots = ARTIFACTS / "steps"

        def both(name: str) -> None:
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"{name}.{tag}.en.png"), full_page=True)
            switch_language(page, "zh_Hans")
            page.screenshot(path=str(shots / f"{name}.{tag}.zh.png"), full_page=True)
            switch_language(page, "en")

        try:
            both("00-start")
            page.goto(origin + "/migrate")
            page.click('form[action="/migrate/source"] button[type="submit"]')
            page.wait_for_selector("#found-title")
            both("01-source")
            page.goto(origin + "/migrate/select")
            both("02-sessions")
            page.click('button[name="action"][value="next"]')
            page.wait_for_url("**/migrate/map")
            page.click('button[name="action"][value="preview"]')  # refused: inline errors
            page.wait_for_load_state()
            if width == 390:
                _within(page, "input[name^=new_]", width)
                _within(page, "tr[data-row] td:last-child .badge", width)
                for n in range(page.locator("tr[data-row] code.path").count()):
                    box = page.locator("tr[data-row] code.path").nth(n).bounding_box()
                    assert box is not None and box["width"] > 200, box  # not "/U ser s/a lex"
            both("03-folders-unbound")
            page.fill("#rule_old", MAC_ROOT)
            page.fill("#rule_new", str(demo.projects))
            page.click('button[name="action"][value="save"]')
            page.wait_for_url("**/migrate/map")
            both("03-folders")
            page.click('button[name="action"][value="preview"]')
            page.wait_for_url("**/migrate/preview")
            page.wait_for_selector('form[action="/migrate/apply"]')
            both("04-preview")
            page.click('form[action="/migrate/apply"] button[type="submit"]')
            wait_for_result(page)
            both("05-import-result")
            page.goto(origin + "/snapshots")
            if width == 390:
                _within(page, ".row-actions .button", width)
            both("06-snapshots")
            for name, path in (
                ("07-repair", "/repair"),
                ("08-doctor", "/doctor"),
                ("09-backup", "/backup"),
                ("10-export", "/export"),
                ("11-not-found", "/nope"),
            ):
                page.goto(origin + path)
                both(name)
            page.goto(origin + "/migrate")
            page.click('button[data-browse="source"]')
            page.wait_for_selector("dialog#browser[open]")
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"12-browse.{tag}.en.png"))
            assert real_errors([e for e in watch.errors if "404" not in e]) == []
        finally:
            ctx.close()


# -- 5. the exported HTML speaks the chosen language (CLI --lang, and the UI's language) --------


def test_exported_html_is_in_the_chosen_language(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from codex_migrate.cli import cli

    demo = build_demo(tmp_path / "demo")
    pages: dict[str, str] = {}
    for lang in ("en", "zh_Hans"):
        out = tmp_path / f"out-{lang}"
        args = ["export-html", "--codex-home", str(demo.source), "--all", "-o", str(out)]
        result = CliRunner().invoke(cli, [*args, "--lang", lang])
        assert result.exit_code == 0, result.output
        pages[lang] = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert '<html lang="en">' in pages["en"] and "Codex conversation" in pages["en"]
    assert '<html lang="zh-Hans">' in pages["zh_Hans"] and "Codex 对话" in pages["zh_Hans"]
    for english in ("Codex conversation", "Exported by", "Reasoning summary", "Last activity"):
        assert english not in pages["zh_Hans"], english

    # From the Chinese UI, the export is in Chinese.
    shutil.copytree(demo.source, demo.codex_home, dirs_exist_ok=True)
    with ui_server(demo.codex_home, demo=demo) as (config, _url):
        client = Client(config.origin, config.tokens.issue(), accept_language="zh-CN")
        client.sign_in()
        client.post("/export", {"action": "all"})
        started = form_then_confirm(
            client,
            "/export",
            {
                "action": "export",
                "dest": str(demo.root / "exports"),
                "format": "html",
                "shown": [],
                "q": "",
            },
            "/export/apply",
        )
        page = client.wait_job(client.get(started.location or ""))
        assert page.status == 200
    exported = next((demo.root / "exports").glob("*.html")).read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in exported and "Codex 对话" in exported


def test_a_2025_session_found_by_doctor_is_converted_from_repair(tmp_path: Path) -> None:
    import re

    from tests.test_ui_support import copied_home

    copied = copied_home(tmp_path / "copied")
    with ui_server(copied.home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        doctor = client.get("/doctor")
        assert 'data-code="bare-era"' in doctor.text or "bare-era" in doctor.text
        assert 'href="/repair?upgrade=1"' in doctor.text
        repair = client.get("/repair?upgrade=1")
        assert re.search(r'name="upgrade_bare" value="1" checked', repair.text)
        preview = client.get("/repair/preview")
        digest = re.search(r'name="confirm" value="([^"]+)"', preview.text)
        assert digest, "the preview offers to apply the conversion"
        client.post("/repair/apply", {"confirm": digest.group(1)})
        after = client.get("/doctor")
        assert 'href="/repair?upgrade=1"' not in after.text
