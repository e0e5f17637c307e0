"""The exported HTML in a real browser: headless Chromium, network off, hostile content.

Debian's ``chromium`` (installed by ``scripts/install-system-deps.sh``) is driven by Playwright;
Playwright's own browser download is never used. JavaScript stays enabled, so a script that
slipped through escaping *would* run: a control page proves the dialog trap works. Screenshots
(light, dark, phone, print) are saved under ``test-artifacts/`` for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_migrate.export.api import Selection, export_threads
from tests.harness.browser import launch_browser, requires_chromium
from tests.test_export_html import HOSTILE
from tests.test_export_sessions import TINY_PNG, catalog_of, full_session, home_with

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full session plus every hostile string, a local image and a missing one."""
    tmp = tmp_path_factory.mktemp("browser")
    (tmp / "shot.png").write_bytes(TINY_PNG)
    r = full_session("paginated", 1, cwd='/tmp/"><script>alert("cwd")</script>')
    r.user("\n\n".join(HOSTILE), images=[str(tmp / "shot.png"), str(tmp / "missing.png")])
    r.shell("cat '<b>x</b>.txt'", "</pre><script>alert(2)</script>\n")
    r.assistant(
        "Done: <script>alert(5)</script> [x](javascript:alert(6)) [ok](https://example.com)"
    )
    r.end_turn()
    home = home_with(tmp, r, names={r.id: "<script>alert('title')</script> Browser check"})
    report = export_threads(catalog_of(home), Selection(all=True), "html", tmp / "out")
    return Path(report.files[0].path)


class Watch:
    """Everything the page does that a safe export must not: requests, errors, dialogs."""

    def __init__(self, page: Any, allowed_url: str) -> None:
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("request", lambda req: self.requests.append(req.url))
        page.on("console", lambda msg: self.console.append((msg.type, msg.text)))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", self._dialog)

        def route(route: Any) -> None:
            if route.request.url == allowed_url:
                route.continue_()
            else:
                self.blocked.append(route.request.url)
                route.abort()

        page.route("**/*", route)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @property
    def outside_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith("data:") and u != self.allowed]

    allowed = ""


def open_page(browser: Any, url: str, **context: Any) -> tuple[Any, Any, Watch]:
    ctx = browser.new_context(offline=True, **context)
    page = ctx.new_page()
    watch = Watch(page, url)
    watch.allowed = url
    page.goto(url, wait_until="load")
    page.wait_for_timeout(200)
    return ctx, page, watch


def test_control_the_traps_catch_scripts_and_requests(browser: Any, tmp_path: Path) -> None:
    """The traps work: in this browser setup an unescaped script runs and a remote image is
    requested, and both are seen. Without this, passing tests below could prove nothing."""
    control = tmp_path / "control.html"
    control.write_text(
        '<p>control</p><img src="http://127.0.0.1:9/pixel.png"><script>alert("control")</script>'
    )
    ctx, _, watch = open_page(browser, control.as_uri())
    ctx.close()
    assert watch.dialogs == ["control"]
    assert watch.outside_requests == ["http://127.0.0.1:9/pixel.png"]
    assert watch.blocked == ["http://127.0.0.1:9/pixel.png"]


def test_offline_page_makes_no_requests_and_runs_nothing(browser: Any, exported: Path) -> None:
    url = exported.as_uri()
    ctx, page, watch = open_page(browser, url, viewport={"width": 1100, "height": 900})
    try:
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true })")
        page.wait_for_timeout(200)
        assert watch.outside_requests == []
        assert watch.blocked == []
        assert [m for m in watch.console if m[0] == "error"] == []
        assert watch.errors == []
        assert watch.dialogs == []
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("document.scripts.length") == 0
        hrefs = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)")
        assert all(h.startswith(("https://", url + "#")) for h in hrefs), hrefs
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert page.evaluate("document.images.length") == 2  # the data URL and the local file
        assert page.title().startswith("<script>alert('title')</script> Browser check")
        assert "<script>window.__pwned=1;alert(1)</script>" in page.inner_text("main")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "export-html-light.png"), full_page=True)
        page.emulate_media(media="print")
        page.screenshot(path=str(ARTIFACTS / "export-html-print.png"), full_page=True)
        # The CSP itself: a script injected into the live page is refused.
        page.evaluate(
            "const s = document.createElement('script');"
            "s.textContent = 'window.__injected = 1'; document.body.appendChild(s)"
        )
        assert page.evaluate("window.__injected") is None
        assert any("Content Security Policy" in text for _, text in watch.console)
    finally:
        ctx.close()


@pytest.mark.parametrize(
    ("name", "context"),
    [
        ("dark", {"color_scheme": "dark", "viewport": {"width": 1100, "height": 900}}),
        ("phone", {"viewport": {"width": 390, "height": 844}, "is_mobile": True}),
    ],
)
def test_dark_and_phone_layouts(browser: Any, exported: Path, name: str, context: Any) -> None:
    ctx, page, watch = open_page(browser, exported.as_uri(), **context)
    try:
        assert watch.outside_requests == [] and watch.dialogs == []
        assert [m for m in watch.console if m[0] == "error"] == []
        # Readable: nothing wider than the screen forces sideways scrolling of the page.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= context["viewport"]["width"] + 1
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (bg == "rgb(21, 23, 27)") == (name == "dark")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"export-html-{name}.png"), full_page=True)
    finally:
        ctx.close()
