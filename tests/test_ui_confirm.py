"""The one confirm protocol (``ui.confirm``): no write without a valid one-time confirm token.

The POST routes are read from the app itself. Each is either a write (its view went through
``confirmed``) or named in ``NOT_WRITES`` with why it writes nothing, so a new write route
that skips the protocol fails here. Every write refuses a missing, unknown, foreign (another
write's), replayed and stale token with a redirect to its preview, starts no job and changes
no file anywhere in the demo's folders.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from codex_migrate.ui import confirm
from codex_migrate.ui.app import routes
from tests.homes import tree_state
from tests.test_ui_support import Client, confirm_token, demo_server, form_then_confirm, text_of

MAC = "/Users/alex/Projects"

#: POST routes that write nothing to disk (the session's choices, a cookie, a read job).
NOT_WRITES = {
    "/lang": "remembers the language in a cookie",
    "/browse/native": "asks the system's dialog for a path and returns it",
    "/jobs/{job}/cancel": "stops a read job",
    "/migrate/source": "reads a source (an archive is extracted into a temporary folder)",
    "/migrate/reset": "forgets the wizard's choices",
    "/migrate/select": "records which sessions",
    "/migrate/map": "records the folder choices",
    "/migrate/exclude": "records which sessions",
    "/migrate/conflicts": "records the choice per conflict",
    "/repair": "records the folder choices",
    "/backup": "records the form; its preview follows",
    "/export": "records the form; its preview follows",
    "/sync": "records the shared folder, this computer's name and roots",
}

#: Each write route with the preview a refused confirmation goes back to.
WRITES = {
    "/migrate/apply": "/migrate/preview",
    "/repair/apply": "/repair/preview",
    "/doctor/fix": "/doctor/preview",
    "/backup/apply": "/backup/preview",
    "/export/apply": "/export/preview",
    "/sync/apply": "/sync/preview",
    "/snapshots/{tx}/{action}": "/snapshots/{tx}/{action}",
}


def _post_routes() -> dict[str, Any]:
    return {
        r.path: r.endpoint
        for r in routes()
        if isinstance(r, Route) and r.methods is not None and "POST" in r.methods
    }


def test_every_post_route_is_a_confirmed_write_or_writes_nothing() -> None:
    posts = _post_routes()
    writes = {path for path, view in posts.items() if confirm.is_write(view)}
    assert writes == set(WRITES), "a write route must use ui.confirm.confirmed"
    assert set(posts) - writes == set(NOT_WRITES), "classify the new POST route here"


def _pending_previews(client: Client, demo: Any, tx: str) -> dict[str, str]:
    """Open every write's preview (so each has a live offer) and keep one token of each."""
    tokens = {}
    client.post("/migrate/source", {"source": str(demo.source)})
    page = client.post(
        "/migrate/map", {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview"}
    )
    tokens["/migrate/apply"] = confirm_token(page.text)
    page = client.post("/repair", {"action": "preview"})
    tokens["/repair/apply"] = confirm_token(page.text)
    tokens["/doctor/fix"] = confirm_token(client.get("/doctor/preview").text)
    page = client.post("/backup", {"dest": str(demo.root / "b")})
    tokens["/backup/apply"] = confirm_token(page.text)
    client.post("/export", {"action": "all"})
    page = client.post("/export", {"action": "export", "dest": str(demo.root / "e")})
    tokens["/export/apply"] = confirm_token(page.text)
    (demo.root / "Sync").mkdir(exist_ok=True)  # the demo has it
    folder = {"folder": str(demo.root / "Sync")}
    client.post("/sync", folder)
    page = client.post("/sync", {**folder, "action": "preview"})
    tokens["/sync/apply"] = confirm_token(page.text)
    for action in ("rollback", "delete"):
        page = client.get(f"/snapshots/{tx}/{action}")
        tokens[f"/snapshots/{tx}/{action}"] = confirm_token(page.text)
    return tokens


def test_every_write_refuses_without_a_valid_token_and_writes_nothing(tmp_path: Path) -> None:
    with demo_server(tmp_path) as (config, client, demo):
        client.sign_in()
        # History and a snapshot to act on: one confirmed import.
        client.post("/migrate/source", {"source": str(demo.source)})
        page = client.post(
            "/migrate/map", {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview"}
        )
        done = client.wait_job(
            client.get(
                client.post(
                    "/migrate/apply", {"confirm": confirm_token(page.text)}, follow=False
                ).location
                or ""
            )
        )
        assert "Import finished" in done.text
        tx = re.search(r'href="/snapshots/([^"/]+)/rollback"', client.get("/snapshots").text)
        assert tx
        tokens = _pending_previews(client, demo, tx.group(1))
        other = Client(config.origin, config.tokens.issue())  # another browser
        other.sign_in()
        before = tree_state(demo.root)
        urls = {
            path.format(tx=tx.group(1), action=action): preview.format(
                tx=tx.group(1), action=action
            )
            for path, preview in WRITES.items()
            for action in ("rollback", "delete")
        }
        assert len(urls) == len(WRITES) + 1
        for url, preview in urls.items():
            foreign = next(t for u, t in tokens.items() if u != url)
            for who, data in [
                (client, {}),
                (client, {"confirm": ""}),
                (client, {"confirm": "x" * 32}),
                (client, {"confirm": foreign}),  # another write's token (now spent)
                (other, {"confirm": tokens[url]}),  # this one, from another browser
            ]:
                resp = who.post(url, data, follow=False)
                assert resp.status == 303, (url, data, resp.status)
                assert resp.location == f"{preview}?confirm=stale", (url, data)
                if who is client:  # (the other browser has no choices: sent to step 1)
                    refused = who.get(resp.location)
                    assert "nothing was written" in text_of(refused.text), url
        assert tree_state(demo.root) == before, "a refused confirmation wrote something"


def test_a_token_confirms_once_and_only_the_newest_preview(tmp_path: Path) -> None:
    with demo_server(tmp_path) as (_config, client, demo):
        client.sign_in()
        client.post("/migrate/source", {"source": str(demo.source)})
        data = {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview"}
        older = confirm_token(client.post("/migrate/map", data).text)
        newer = confirm_token(client.get("/migrate/preview").text)
        assert older != newer
        before = tree_state(demo.codex_home)
        stale = client.post("/migrate/apply", {"confirm": older}, follow=False)
        assert stale.location == "/migrate/preview?confirm=stale"
        assert tree_state(demo.codex_home) == before
        started = client.post("/migrate/apply", {"confirm": newer}, follow=False)
        assert (started.location or "").startswith("/jobs/")
        assert "Import finished" in client.wait_job(client.get(started.location or "")).text
        after = tree_state(demo.codex_home)
        replay = client.post("/migrate/apply", {"confirm": newer}, follow=False)
        assert replay.location == "/migrate/preview?confirm=stale"
        assert tree_state(demo.codex_home) == after


def test_changing_the_choices_withdraws_the_preview(tmp_path: Path) -> None:
    with demo_server(tmp_path) as (_config, client, demo):
        client.sign_in()
        client.post("/migrate/source", {"source": str(demo.source)})
        data = {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview"}
        token = confirm_token(client.post("/migrate/map", data).text)
        client.post("/migrate/select", {"action": "none"})
        refused = client.post("/migrate/apply", {"confirm": token}, follow=False)
        assert refused.location == "/migrate/preview?confirm=stale"
        assert list(demo.codex_home.rglob("rollout-*.jsonl")) == []


def test_an_old_preview_is_not_confirmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with demo_server(tmp_path) as (_config, client, demo):
        client.sign_in()
        monkeypatch.setattr(confirm, "TTL", -1.0)
        client.post("/migrate/source", {"source": str(demo.source)})
        data = {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview"}
        token = confirm_token(client.post("/migrate/map", data).text)
        refused = client.post("/migrate/apply", {"confirm": token}, follow=False)
        assert refused.location == "/migrate/preview?confirm=stale"
        assert list(demo.codex_home.rglob("rollout-*.jsonl")) == []


def test_backup_and_export_show_their_dry_run_before_writing(tmp_path: Path) -> None:
    with demo_server(tmp_path) as (_config, client, demo):
        client.sign_in()
        client.post("/migrate/source", {"source": str(demo.source)})
        page = client.post(
            "/migrate/map", {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview"}
        )
        started = client.post("/migrate/apply", {"confirm": confirm_token(page.text)}, follow=False)
        client.wait_job(client.get(started.location or ""))
        preview = client.post("/backup", {"dest": str(demo.root / "b")})
        assert "Check the backup, then write it" in preview.text
        assert str(demo.root / "b" / "Codex_backup") in preview.text
        assert not (demo.root / "b").exists(), "the preview writes nothing"
        started = client.post(
            "/backup/apply", {"confirm": confirm_token(preview.text)}, follow=False
        )
        assert "Backup written" in client.wait_job(client.get(started.location or "")).text
        assert (demo.root / "b" / "Codex_backup" / "manifest.json").is_file()
        client.post("/export", {"action": "all"})
        started = form_then_confirm(
            client, "/export", {"action": "export", "dest": str(demo.root / "e")}, "/export/apply"
        )
        assert "Export finished" in client.wait_job(client.get(started.location or "")).text
        assert list((demo.root / "e").glob("*.html"))
