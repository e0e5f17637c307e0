"""The UI's gate, over real HTTP: token, Host, Origin, CSRF, no CORS, and the folder browser.

Each refusal is checked on a request that would otherwise succeed (a signed-in session with a
valid CSRF token), so a 403 proves the one rule under test, not a missing cookie.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from codex_migrate.ui.common import UIConfig
from codex_migrate.ui.folders import BrowseError, list_folder, split_rel
from codex_migrate.ui.server import Demo, bind
from tests.test_ui_support import Client, demo_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[UIConfig, Client, Demo]]:
    with demo_server(tmp_path) as (config, client, demo):
        client.sign_in()
        yield config, client, demo


def test_listens_on_the_loopback_address_only() -> None:
    sock = bind(0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


@pytest.mark.parametrize(
    "path", ["/", "/migrate", "/browse", "/static/app.css", "/jobs/x/events", "/snapshots"]
)
def test_no_token_no_cookie_is_403(tmp_path: Path, path: str) -> None:
    with demo_server(tmp_path) as (_config, client, _demo):
        resp = client.get(path)
        assert resp.status == 403
        assert resp.headers["x-codex-migrate-refused"] == "token"
        assert "codex-migrate ui" in resp.text


def test_wrong_token_is_403_and_sets_no_cookie(tmp_path: Path) -> None:
    with demo_server(tmp_path) as (config, client, _demo):
        resp = client.get("/?token=" + "x" * len(config.token), follow=False)
        assert resp.status == 403
        assert not client.cookies


def test_token_becomes_a_strict_http_only_cookie_and_leaves_the_url(tmp_path: Path) -> None:
    with demo_server(tmp_path) as (config, client, _demo):
        resp = client.get(f"/migrate?token={config.token}", follow=False)
        assert resp.status == 303
        assert resp.location == "/migrate"
        cookie = resp.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert client.get("/migrate").status == 200
        # A forged cookie value is not a session.
        other = Client(config.origin, config.token, cookies={k: "forged" for k in client.cookies})
        assert other.get("/").status == 403


@pytest.mark.parametrize(
    "host",
    ["evil.example", "localhost:{port}", "127.0.0.1", "127.0.0.1:1", "[::1]:{port}", ""],
)
def test_wrong_host_is_403_even_when_signed_in(
    server: tuple[UIConfig, Client, Demo], host: str
) -> None:
    config, client, _ = server
    resp = client.get("/", headers={"Host": host.format(port=config.port)})
    assert resp.status == 403
    assert resp.headers["x-codex-migrate-refused"] == "host"
    # Not even the token helps a rebinding page.
    resp = client.get(f"/?token={config.token}", headers={"Host": "evil.example"})
    assert resp.status == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},
        {"Origin": "http://localhost:{port}"},
        {"Origin": None, "Referer": "http://evil.example/page"},
        {"Origin": None, "Referer": "http://127.0.0.1:{port}.evil.example/"},
        {"Origin": None},
    ],
)
def test_cross_origin_post_is_403(
    server: tuple[UIConfig, Client, Demo], headers: dict[str, str | None]
) -> None:
    config, client, demo = server
    hdrs = {k: (v.format(port=config.port) if v else v) for k, v in headers.items()}
    resp = client.post("/migrate/source", {"source": str(demo.source)}, headers=hdrs, follow=False)
    assert resp.status == 403
    assert resp.headers["x-codex-migrate-refused"] == "origin"
    # The same request from the page itself works: only the origin was wrong.
    assert client.post("/migrate/source", {"source": str(demo.source)}).status == 200


def test_same_origin_referer_without_origin_is_accepted(
    server: tuple[UIConfig, Client, Demo],
) -> None:
    config, client, demo = server
    resp = client.post(
        "/migrate/source",
        {"source": str(demo.source)},
        headers={"Origin": None, "Referer": f"{config.origin}/migrate"},
    )
    assert resp.status == 200


def test_post_needs_the_session_csrf_token(server: tuple[UIConfig, Client, Demo]) -> None:
    config, client, demo = server
    for token in ("", "wrong", None):
        data: dict[str, object] = {"source": str(demo.source)}
        if token is not None:
            data["csrf"] = token
        resp = client.request("POST", "/migrate/source", data=data, follow=False)
        assert resp.status == 403
        assert resp.headers["x-codex-migrate-refused"] == "csrf"
    # The header form (used by htmx) works too.
    resp = client.request(
        "POST",
        "/lang",
        data={"lang": "en"},
        headers={"X-CSRF-Token": client.csrf()},
        follow=False,
    )
    assert resp.status == 303
    # Another session's token is not this session's.
    other = Client(config.origin, config.tokens.issue())
    other.sign_in()
    resp = client.request("POST", "/lang", data={"lang": "en", "csrf": other.csrf()}, follow=False)
    assert resp.status == 403


def test_only_urlencoded_forms_are_accepted(server: tuple[UIConfig, Client, Demo]) -> None:
    _, client, _ = server
    resp = client.request(
        "POST",
        "/lang",
        data={"lang": "en", "csrf": client.csrf()},
        headers={"Content-Type": "application/json"},
        follow=False,
    )
    assert resp.status == 403


def test_no_cors_and_strict_headers(server: tuple[UIConfig, Client, Demo]) -> None:
    _config, client, _ = server
    pre = client.request(
        "OPTIONS",
        "/migrate/source",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert pre.status == 403
    for path in ("/", "/static/app.js", "/browse", "/not-a-page"):
        resp = client.get(path, headers={"Origin": "http://evil.example"})
        names = {k.lower() for k, _ in resp.all_headers}
        assert not any(n.startswith("access-control-") for n in names), path
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "same-origin"
    html = client.get("/").text
    assert "<script>" not in html and " on" + "click=" not in html  # no inline script


def test_session_state_and_jobs_are_per_session(server: tuple[UIConfig, Client, Demo]) -> None:
    config, client, demo = server
    client.post("/migrate/source", {"source": str(demo.source)})
    other = Client(config.origin, config.tokens.issue())
    other.sign_in()
    assert "found-title" not in other.get("/migrate").text
    assert other.get("/jobs/whatever").status == 404
    assert other.get("/jobs/whatever/events").status == 404
    assert other.get("/exports/whatever/0").status == 404


# -- the folder browser -----------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """chosen/{a/b, secret.txt, link-out -> outside, link-in -> a}; outside/{private}."""
    chosen = tmp_path / "chosen"
    (chosen / "a" / "b").mkdir(parents=True)
    (chosen / "secret.txt").write_text("file contents must never be shown")
    outside = tmp_path / "outside"
    (outside / "private-folder").mkdir(parents=True)
    (outside / "private.txt").write_text("nope")
    os.symlink(outside, chosen / "link-out")
    os.symlink(chosen / "a", chosen / "link-in")
    return {"chosen": chosen, "outside": outside}


def test_browser_lists_folders_only(tree: dict[str, Path]) -> None:
    listing = list_folder(str(tree["chosen"]))
    names = {e.name: e for e in listing.entries}
    assert set(names) == {"a", "link-in", "link-out"}
    assert names["link-in"].followable and names["link-in"].link
    assert not names["link-out"].followable


@pytest.mark.parametrize(
    "rel",
    ["..", "../outside", "a/../..", "a/../../outside", "./a", "a//b", "/etc", "a\\..\\..", "\x00"],
)
def test_browser_refuses_climbing_names(tree: dict[str, Path], rel: str) -> None:
    with pytest.raises(BrowseError) as err:
        list_folder(str(tree["chosen"]), rel)
    assert err.value.code == "dotdot"
    with pytest.raises(BrowseError):
        split_rel(rel)


def test_browser_does_not_follow_a_symlink_out(tree: dict[str, Path]) -> None:
    with pytest.raises(BrowseError) as err:
        list_folder(str(tree["chosen"]), "link-out")
    assert err.value.code == "outside"
    inside = list_folder(str(tree["chosen"]), "link-in")
    assert [e.name for e in inside.entries] == ["b"]


@pytest.mark.parametrize("root", ["relative/path", "{chosen}/../outside", "{chosen}/./a"])
def test_browser_refuses_odd_roots(tree: dict[str, Path], root: str) -> None:
    with pytest.raises(BrowseError):
        list_folder(root.format(chosen=tree["chosen"]))


def test_browser_traversal_over_http_lists_nothing_outside(
    server: tuple[UIConfig, Client, Demo], tree: dict[str, Path]
) -> None:
    _, client, _ = server
    chosen = quote(str(tree["chosen"]))
    ok = client.get(f"/browse?root={chosen}")
    assert ok.status == 200
    assert "secret.txt" not in ok.text and "file contents" not in ok.text
    assert "link-out" in ok.text  # shown, but as a link that is not followed
    assert "rel=link-out&" not in ok.text.replace("&amp;", "&")
    attempts = [
        f"/browse?root={chosen}&rel=..",
        f"/browse?root={chosen}&rel=..%2Foutside",
        f"/browse?root={chosen}&rel=a%2F..%2F..%2Foutside",
        f"/browse?root={chosen}&rel=link-out",
        f"/browse?root={chosen}%2F..%2Foutside",
        f"/browse?root={chosen}&rel=%2Fetc",
        f"/browse?root={chosen}&rel=a%00",
    ]
    for url in attempts:
        resp = client.get(url)
        assert resp.status == 400, url
        assert "private-folder" not in resp.text and "private.txt" not in resp.text, url
        assert not re.search(r'data-choose="[^"]*outside', resp.text), url


def test_browser_writes_nothing(
    server: tuple[UIConfig, Client, Demo], tree: dict[str, Path]
) -> None:
    _, client, _ = server
    before = sorted(p.name for p in tree["chosen"].rglob("*"))
    assert client.request("POST", "/browse", data={"csrf": client.csrf()}).status == 405
    client.get(f"/browse?root={quote(str(tree['chosen']))}&rel=a")
    assert sorted(p.name for p in tree["chosen"].rglob("*")) == before
