"""Languages: every UI string is translated to Simplified Chinese, and pages follow the browser.

The catalog check extracts the strings afresh with Babel and ``babel.cfg`` (the same command a
translator runs), so a new template string without a translation fails here, not in a
screenshot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from codex_migrate.translations import po_path, translations
from codex_migrate.ui.i18n import Formatter, negotiate
from tests.test_ui_support import demo_server, text_of

REPO = Path(__file__).resolve().parents[1]


def _extracted() -> dict[object, str]:
    with open(REPO / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found: dict[object, str] = {}
    for filename, _line, message, _comments, _ctx in extract_from_dir(
        str(REPO), method_map, options_map, keywords=keywords
    ):
        key = message if isinstance(message, str) else tuple(message)
        found[key] = filename
    return found


def _catalog():  # type: ignore[no-untyped-def]
    with open(po_path("zh_Hans"), "rb") as f:
        return read_po(f, locale="zh_Hans")


def test_every_ui_string_has_a_chinese_translation() -> None:
    extracted = _extracted()
    assert len(extracted) > 300, "extraction found too little: is babel.cfg right?"
    assert any(f.endswith(".html") for f in extracted.values())
    catalog = _catalog()
    by_id = {(m.id if isinstance(m.id, str) else tuple(m.id)): m for m in catalog if m.id}
    missing = [k for k in extracted if k not in by_id]
    assert not missing, f"not in messages.po (run pybabel extract/update): {missing}"
    untranslated = [
        k
        for k, m in by_id.items()
        if (not m.string) or (not isinstance(m.string, str) and not all(m.string))
    ]
    assert not untranslated, f"no Chinese text for: {untranslated}"
    fuzzy = [k for k, m in by_id.items() if m.fuzzy]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    obsolete = [k for k in by_id if k not in extracted]
    assert not obsolete, f"translations of strings no longer used: {obsolete}"
    errors = [(m.id, e) for m, errs in catalog.check() for e in errs]
    assert not errors, errors  # placeholders (%(num)s …) agree between English and Chinese


def test_the_catalog_is_compiled_at_run_time() -> None:
    zh = translations("zh_Hans")
    assert zh.gettext("Migrate") == "迁移"
    assert zh.ngettext("%(num)s session", "%(num)s sessions", 3) == "%(num)s 个会话"
    assert translations("en").gettext("Migrate") == "Migrate"
    assert not list((REPO / "src/codex_migrate/ui/locale").rglob("*.mo")), "no .mo is shipped"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
        ("zh-Hans", "zh_Hans"),
        ("zh-TW", "zh_Hans"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR,zh;q=0.5", "zh_Hans"),
        ("fr-FR,de;q=0.5", "en"),
        ("en;q=0.2,zh-CN;q=0.8", "zh_Hans"),
        ("zh;q=0", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_browser_language_is_negotiated(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_dates_and_sizes_follow_the_locale() -> None:
    when = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    en, zh = Formatter("en"), Formatter("zh_Hans")
    assert "2026" in en.datetime(when) and "Mar" in en.datetime(when)
    assert "2026年3月" in zh.datetime(when)
    assert en.size(1_234_567) == "1.2 MB"
    assert en.size(512) == "512 B"
    assert en.number(12345) == "12,345"
    assert zh.datetime(None) == "–"


PAGES = ["/", "/migrate", "/repair", "/doctor", "/backup", "/export", "/snapshots", "/browse"]


def test_pages_follow_the_browser_and_the_switch_is_remembered(tmp_path: Path) -> None:
    with demo_server(tmp_path) as (_config, client, demo):
        client.sign_in()
        client.accept_language = "zh-CN,zh;q=0.9"
        for path in PAGES:
            page = client.get(path)
            assert page.status == 200, path
            assert '<html lang="zh-Hans">' in page.text, path
            assert 'action="/lang"' in page.text, f"no language switch on {path}"
        assert "迁移" in text_of(client.get("/").text)
        # Switching is a form on every page; the choice outlives the browser's preference.
        resp = client.request(
            "POST",
            "/lang",
            data={"csrf": client.csrf(), "lang": "en", "next": "/repair"},
            follow=False,
        )
        assert resp.status == 303 and resp.location == "/repair"
        assert "Max-Age=31536000" in resp.headers["set-cookie"]
        page = client.get("/migrate")
        assert '<html lang="en">' in page.text
        # next= is never an open redirect.
        for bad in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
            resp = client.request(
                "POST",
                "/lang",
                data={"csrf": client.csrf(), "lang": "zh_Hans", "next": bad},
                follow=False,
            )
            assert resp.location == "/", bad
        # The Chinese migrate flow renders through to the preview.
        client.post("/migrate/source", {"source": str(demo.source)})
        page = client.post(
            "/migrate/map",
            {
                "rule_old": "/Users/alex/Projects",
                "rule_new": str(demo.projects),
                "action": "preview",
            },
        )
        assert page.status == 200
        assert "检查计划，然后应用" in page.text
