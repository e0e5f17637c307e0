"""The web UI under hostile use: a reused sign-in link, forged requests, and hostile sources
chosen in the page. Every case ends with a clear page and a bounded time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.conftest import BOUND, digest_tree
from tests.test_ui_support import Client, demo_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Client, Path]]:
    tmp = tmp_path_factory.mktemp("ui")
    with demo_server(tmp) as (config, client, _demo):
        client.sign_in()
        yield config, client, tmp


@pytest.mark.timeout(BOUND)
def test_a_sign_in_link_works_once(server: tuple) -> None:
    config, _client, _tmp = server
    token = config.tokens.issue()
    first = Client(config.origin, token)
    resp = first.get(f"/?token={token}", follow=False)
    assert resp.status == 303 and "token" not in (resp.location or "")
    assert first.get("/").status == 200
    # The same link, from a browser that does not have the session: refused, and says why.
    thief = Client(config.origin, token)
    again = thief.get(f"/?token={token}", follow=False)
    assert again.status == 403 and "already used" in again.text
    assert "set-cookie" not in again.headers
    # The browser it signed in may reload the old URL: it just loses the token.
    reload = first.get(f"/migrate?token={token}", follow=False)
    assert reload.status == 303 and reload.location == "/migrate"


@pytest.mark.timeout(BOUND)
def test_the_printed_link_is_spent_after_first_use(tmp_path: Path) -> None:
    with demo_server(tmp_path) as (config, _client, _demo):
        a = Client(config.origin, config.token)
        assert a.get(f"/?token={config.token}", follow=False).status == 303
        b = Client(config.origin, config.token)
        assert b.get(f"/?token={config.token}", follow=False).status == 403


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize(
    "query",
    ["token=", "token=x", "token=" + "A" * 43, "token=%00", "token=../../etc", "tok=abc"],
)
def test_bad_tokens_are_refused(server: tuple, query: str) -> None:
    config, _client, _tmp = server
    stranger = Client(config.origin, "none")
    resp = stranger.get(f"/?{query}", follow=False)
    assert resp.status == 403 and "set-cookie" not in resp.headers


@pytest.mark.timeout(BOUND)
def test_a_token_in_a_post_does_not_sign_in(server: tuple) -> None:
    config, _client, _tmp = server
    token = config.tokens.issue()
    stranger = Client(config.origin, token)
    resp = stranger.request("POST", f"/backup?token={token}", data={"dest": "/tmp/x"}, follow=False)
    assert resp.status == 403


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize(
    "path",
    ["/static/../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd", "/exports/x/../../etc"],
)
def test_traversal_urls_serve_nothing_outside(server: tuple, path: str) -> None:
    _config, client, _tmp = server
    resp = client.get(path, follow=False)
    assert resp.status in (403, 404)
    assert "root:" not in resp.text


def _hostile_source(tmp: Path, kind: str) -> Path:
    base = tmp / f"hostile-{kind}"
    base.mkdir(exist_ok=True)
    if kind == "fifo-archive":
        path = base / "backup.tar.zst"
        if not path.exists():
            os.mkfifo(path)
        return path
    if kind == "garbage-archive":
        path = base / "backup.zip"
        path.write_bytes(b"PK\x03\x04" + b"\xff" * 100)
        return path
    if kind == "missing":
        return base / "does-not-exist"
    if kind == "not-a-home":
        (base / "notes.txt").write_text("hello")
        return base
    raise AssertionError(kind)


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("kind", ["fifo-archive", "garbage-archive", "missing", "not-a-home"])
def test_hostile_source_in_the_page_is_refused_plainly(server: tuple, kind: str) -> None:
    _config, client, tmp = server
    source = _hostile_source(tmp, kind)
    before = digest_tree(tmp)
    resp = client.post("/migrate/source", {"source": str(source)})
    assert resp.status in (200, 400, 403, 404, 409, 422), resp.status
    assert "Traceback" not in resp.text
    assert source.name in resp.text or str(source) in resp.text, resp.text[:2000]
    after = digest_tree(tmp)
    assert {k: v for k, v in after.items() if k.startswith("hostile")} == {
        k: v for k, v in before.items() if k.startswith("hostile")
    }


@pytest.mark.timeout(60)
def test_the_preview_names_damaged_sessions(tmp_path: Path) -> None:
    from tests.test_ui_flows import _preview

    with demo_server(tmp_path) as (_config, client, demo):
        client.sign_in()
        rollout = sorted(demo.source.rglob("rollout-*.jsonl"))[0]
        lines = rollout.read_bytes().splitlines(keepends=True)
        lines[1] = b"not json at all\n"
        rollout.write_bytes(b"".join(lines))
        page = _preview(client, demo)
        assert page.status == 200
        assert "unreadable lines" in page.text and "Unreadable lines: 2" in page.text
        assert rollout.name in page.text
