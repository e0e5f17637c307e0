"""The Sync screen over HTTP: setup, status and preview (which writes nothing), the run as a
job, and conflicts shown plainly; and the CLI and the screen leave identical homes.

Side A (a Mac, sessions under ``/Users/alex/code``) syncs with the CLI; side B is this
machine, driven through the web UI. The test plays the sync engine (``deliver``) between the
two sides' copies of the shared folder, as tests/test_sync.py does.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.homes import tid, tree_state, write_rollout
from tests.test_sync import MAC_ROOT, Side, append_turn, deliver
from tests.test_ui_support import Client, Resp, text_of, ui_server


@pytest.fixture
def sides(tmp_path: Path) -> tuple[Side, Side]:
    a = Side(tmp_path / "A", "mac", MAC_ROOT)
    b = Side(tmp_path / "B", "linux", str(tmp_path / "B" / "code"))
    (tmp_path / "B" / "code" / "app").mkdir(parents=True)
    write_rollout(a.home, 1, cwd=f"{MAC_ROOT}/app")
    write_rollout(a.home, 2, cwd=f"{MAC_ROOT}/lib", era="legacy")
    write_rollout(a.home, 3, cwd="/Users/alex/elsewhere")
    write_rollout(b.home, 9, cwd=str(tmp_path / "B" / "code" / "app"))
    a.sync()
    deliver(a, b)
    return a, b


def _digest(resp: Resp) -> str:
    m = re.search(r'name="confirm" value="([^"]+)"', resp.text)
    assert m, text_of(resp.text)[:3000]
    return m.group(1)


def _count(resp: Resp, machine: str, kind: str) -> int:
    section = resp.text.split(f'data-sync-pull="{machine}"', 1)[1].split("</section>", 1)[0]
    m = re.search(rf'data-count="{kind}">([\d,]+)<', section)
    assert m, text_of(section)
    return int(m.group(1).replace(",", ""))


def _set_up(client: Client, b: Side) -> Resp:
    """Open the folder, then name this machine and its root: the preview."""
    client.sign_in()
    page = client.post("/sync", {"folder": str(b.folder), "action": "open"})
    assert page.status == 200, text_of(page.text)[:2000]
    assert 'name="machine"' in page.text and "data-sync-machines" in page.text
    assert "<code>code</code>" in page.text and MAC_ROOT in page.text  # the Mac's root, shown
    return client.post(
        "/sync",
        {
            "folder": str(b.folder),
            "machine": b.machine,
            "root_name": ["code", ""],
            "root_path": [b.root, ""],
            "action": "preview",
        },
    )


def _run(client: Client, preview: Resp) -> Resp:
    posted = client.post("/sync/apply", {"confirm": _digest(preview)}, follow=False)
    assert posted.status == 303 and (posted.location or "").startswith("/jobs/")
    done = client.wait_job(client.get(posted.location or ""))
    assert "data-job-done" in done.text, text_of(done.text)[:3000]
    return done


def test_status_preview_writes_nothing_and_sync_now_takes_in(sides: tuple[Side, Side]) -> None:
    _a, b = sides
    with ui_server(b.home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        before = (tree_state(b.home), tree_state(b.folder))
        preview = _set_up(client, b)
        assert preview.status == 200, text_of(preview.text)[:3000]
        text = text_of(preview.text)
        assert "What would go out and come in" in text
        assert _count(preview, "mac", "import") == 3
        assert "1 session would be published" in text
        assert "/Users/alex/elsewhere" in text  # history only, said so
        assert (tree_state(b.home), tree_state(b.folder)) == before, "the preview wrote"

        done = _run(client, preview)
        assert 'data-sync-result="done"' in done.text
        assert "1 session was published" in text_of(done.text)
        assert _count(done, "mac", "import") == 3
        assert '"/snapshots/' in done.text  # the pull's transaction, linked
    data = b.rollout(1).read_bytes()
    assert f"{b.root}/app".encode() in data.replace(b'": "', b'":"')
    cfg = (b.folder / "codex-sync.toml").read_text()
    assert f'"linux" = "{b.root}"' in cfg  # the root is remembered, as by the CLI
    # Back on the screen: the machine and its root come from the folder now.
    with ui_server(b.home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        page = client.post("/sync", {"folder": str(b.folder), "action": "open"})
        assert 'value="linux"' in page.text and f'value="{b.root}"' in page.text
        again = client.post(
            "/sync",
            {"folder": str(b.folder), "machine": "", "root_name": [], "action": "preview"},
        )
        assert "Nothing new to publish" in text_of(again.text)
        assert _count(again, "mac", "import") == 0
        done = _run(client, again)
        assert 'data-sync-result="nothing"' in done.text


def test_a_changed_folder_after_the_preview_writes_nothing(sides: tuple[Side, Side]) -> None:
    a, b = sides
    with ui_server(b.home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        preview = _set_up(client, b)
        write_rollout(a.home, 4, cwd=f"{MAC_ROOT}/app")
        a.sync()
        deliver(a, b)  # something new arrived between the preview and the click
        before = tree_state(b.home)
        posted = client.post("/sync/apply", {"confirm": _digest(preview)}, follow=False)
        failed = client.wait_job(client.get(posted.location or ""))
        assert "Something changed since the preview" in text_of(failed.text)
        assert tree_state(b.home) == before
        stale = client.post("/sync/apply", {"confirm": "0" * 32}, follow=True)
        assert "What would go out and come in" in text_of(stale.text)  # back to a fresh preview


def test_conflicts_are_shown_on_the_screen(sides: tuple[Side, Side]) -> None:
    a, b = sides
    b.sync()
    deliver(b, a)
    a.sync()
    append_turn(a.rollout(1), "A's turn", f"{MAC_ROOT}/app")
    append_turn(b.rollout(1), "B's turn", f"{b.root}/app")
    write_rollout(a.home, 4, cwd=f"{MAC_ROOT}/app")
    a.sync()
    deliver(a, b)
    b_before = b.rollout(1).read_bytes()
    with ui_server(b.home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        preview = _set_up(client, b)
        assert _count(preview, "mac", "conflict") == 1
        assert f'data-conflict="{tid(1)}"' in preview.text
        done = _run(client, preview)
        assert 'data-sync-result="conflicts"' in done.text
        assert f'data-conflict="{tid(1)}"' in done.text
        assert "each keeps its own version" in text_of(done.text)
        assert _count(done, "mac", "import") == 1  # thread 4 came in all the same
    assert b.rollout(1).read_bytes() == b_before


def test_bad_folders_are_explained_not_crashed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_rollout(home, 1, cwd=str(tmp_path))
    with ui_server(home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        missing = client.post("/sync", {"folder": str(tmp_path / "nope"), "action": "open"})
        assert missing.status == 400 and "is not a folder" in text_of(missing.text)
        inside = client.post("/sync", {"folder": str(home), "action": "open"})
        assert inside.status == 400 and "overlap" in text_of(inside.text)
        relative = client.post("/sync", {"folder": "rel/x", "action": "open"})
        assert relative.status == 400 and "Choose the shared folder" in text_of(relative.text)
        shared = tmp_path / "shared"
        shared.mkdir()
        client.post("/sync", {"folder": str(shared), "action": "open"})
        bad_root = client.post(
            "/sync",
            {"folder": str(shared), "root_name": "code", "root_path": "rel", "action": "save"},
        )
        assert bad_root.status == 400 and "not an absolute path" in text_of(bad_root.text)
        assert not (shared / "codex-sync.toml").exists()
    shutil.rmtree(shared)


def test_a_root_named_on_the_screen_moves_history_only_sessions(
    sides: tuple[Side, Side], tmp_path: Path
) -> None:
    a, b = sides
    b.sync()  # thread 3 (/Users/alex/elsewhere) comes in history-only
    a.sync("--root", "other=/Users/alex")
    deliver(a, b)
    other = tmp_path / "B" / "other"
    (other / "elsewhere").mkdir(parents=True)
    with ui_server(b.home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        page = client.post("/sync", {"folder": str(b.folder), "action": "open"})
        assert "<code>other</code>" in page.text  # the Mac's new root, waiting for a folder
        preview = client.post(
            "/sync",
            {
                "folder": str(b.folder),
                "machine": b.machine,
                "root_name": ["code", "other", ""],
                "root_path": [b.root, str(other), ""],
                "action": "preview",
            },
        )
        assert 'data-sync-binds="1"' in preview.text, text_of(preview.text)[:3000]
        assert "would move under its root" in text_of(preview.text)
        done = _run(client, preview)
        assert 'data-sync-binds="1"' in done.text and "moved under its root" in text_of(done.text)
    assert f'"cwd":"{other}/elsewhere"'.encode() in b.rollout(3).read_bytes()


def test_the_demo_suggests_a_sync_folder_inside_it(tmp_path: Path) -> None:
    from tests.test_ui_support import demo_server

    with demo_server(tmp_path) as (_config, client, demo):
        client.sign_in()
        page = client.get("/sync")
        suggested = str(demo.root / "Sync")
        assert f'value="{suggested}"' in page.text
        opened = client.post("/sync", {"folder": suggested, "action": "open"})
        assert opened.status == 200 and "data-sync-machines" not in opened.text
        preview = client.post("/sync", {"folder": suggested, "action": "preview"})
        assert "No other computer has published to this folder yet" in text_of(preview.text)
        outside = client.post("/sync", {"folder": str(tmp_path), "action": "open"})
        assert outside.status == 400 and "In demo mode" in text_of(outside.text)


def test_a_big_preview_is_read_as_a_job(
    sides: tuple[Side, Side], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted with the other machines' files: a small home pulling a big folder too."""
    _a, b = sides
    monkeypatch.setattr("codex_migrate.ui.loading.INLINE_LIMIT", 2)  # home 1 + folder 3 files
    with ui_server(b.home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        client.post("/sync", {"folder": str(b.folder), "action": "open"})
        first = client.get("/sync/preview", follow=False)
        assert first.status == 303 and (first.location or "").startswith("/jobs/")
        page = client.get("/sync/preview")  # the progress page, followed to the preview
        assert _count(page, "mac", "import") == 3


def test_files_still_in_flight_are_said_in_the_pages_language(sides: tuple[Side, Side]) -> None:
    """A delivery caught halfway: one rollout short, one not there yet. The Chinese page says
    why each waits in Chinese, and the engine's English reasons stay only in ``--json``."""
    _a, b = sides
    published = sorted((b.folder / "machines" / "mac").rglob("rollout-*.jsonl"))
    short, gone = published[0], published[1]
    short.write_bytes(short.read_bytes()[:100])
    gone.unlink()
    with ui_server(b.home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.accept_language = "zh-CN"
        preview = _set_up(client, b)
        assert preview.status == 200, text_of(preview.text)[:3000]
        text = text_of(preview.text)
    assert "尚未送达" in text, text  # not delivered yet
    assert re.search(r"已送达 100 (B|字节)", text), text  # 100 B of N arrived
    assert "not delivered yet" not in text and "bytes" not in text
