"""The Doctor screen over HTTP: the engine's diagnosis (``codex_migrate.doctor``) on a home
copied from another machine, and its safe fixes along the CLI's path: the dry run is
``rebind --dry-run`` exactly, Apply is the confirmation, the write is one rebind transaction.

After the safe fixes, every finding the page said they fix is gone from a fresh diagnosis,
and every finding it sent to Repair or to the user is still there.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_migrate.catalog import build_catalog
from codex_migrate.cli import cli
from codex_migrate.doctor import RULES, diagnose
from codex_migrate.errors import HomeInUse
from codex_migrate.home import open_home
from codex_migrate.transaction import list_transactions
from codex_migrate.ui.views.doctor import (
    CODE_LABELS,
    MANUAL,
    REPAIR,
    SAFE,
    build_view,
    safe_plan,
)
from tests.homes import tree_state
from tests.test_ui_support import Client, CopiedHome, Resp, copied_home, text_of, ui_server


@pytest.fixture
def copied(tmp_path: Path) -> CopiedHome:
    return copied_home(tmp_path)


@pytest.fixture
def client(copied: CopiedHome) -> Iterator[Client]:
    with ui_server(copied.home) as (config, _url):
        c = Client(config.origin, config.tokens.issue())
        c.sign_in()
        yield c


def _routes(home: Path) -> dict[tuple[str, str], str]:
    """(thread or row id, finding code) -> how the page says it is fixed."""
    catalog = build_catalog(open_home(home))
    view = build_view(catalog, diagnose(catalog), safe_plan(catalog))
    out = {("home", f.code): f.route for f in view.home_findings}
    for t in view.flagged:
        out.update({(t.diagnosis.id, f.code): f.route for f in t.findings})
    return out


def _rollouts(home: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in home.rglob("rollout-*.jsonl")
    }


def _outside_tx(state: dict[str, tuple[str, int, int]]) -> dict[str, tuple[str, int, int]]:
    """A home's files but our own lock and journals (a refused write may leave its lock)."""
    return {k: v for k, v in state.items() if not k.startswith("migration_transactions")}


def _apply(client: Client, preview: Resp) -> Resp:
    m = re.search(r'name="confirm" value="([^"]+)"', preview.text)
    assert m, text_of(preview.text)[:2000]
    first = client.post("/doctor/fix", {"confirm": m.group(1)}, follow=False)
    assert first.status == 303 and (first.location or "").startswith("/jobs/"), first.status
    return client.wait_job(client.get(first.location or ""))


def test_every_finding_code_of_the_engine_has_a_label() -> None:
    assert set(CODE_LABELS) == set(RULES)


def test_the_page_shows_the_engines_diagnosis_and_writes_nothing(
    client: Client, copied: CopiedHome
) -> None:
    before = tree_state(copied.home)
    page = client.get("/doctor")
    assert page.status == 200
    catalog = build_catalog(open_home(copied.home))
    summary = diagnose(catalog).to_dict()["summary"]
    for key in ("listed", "hidden", "unknown", "problems", "notes"):
        assert f'data-count="{key}">{summary[key]}<' in page.text, key
    assert (summary["listed"], summary["hidden"], summary["problems"]) == (4, 4, 12)
    # Problems and notes by code, with the human label, the count and the engine's fix.
    text = text_of(page.text)
    assert "Database row points to a missing file" in text
    assert re.search(r'data-code="row-path-missing">.*?<td class="num">2</td>', page.text, re.S)
    assert "codex-migrate rebind --map OLD=NEW rewrites stale rows" in text
    assert "Non-interactive session" in text and "Notes (1)" in text
    # Every thread and the row without a file, with its verdict; clean ones folded away.
    flagged = re.findall(r'<tr data-thread="([^"]+)">', page.text)
    assert set(flagged) == set(copied.ids.values()) - {copied.ids["clean"]}
    assert flagged[0] != copied.ids["exec"] and flagged[-1] == copied.ids["exec"]
    bare = page.text.split(f'data-thread="{copied.ids["bare"]}"')[1].split("</tr>")[0]
    assert '<span class="badge bad">hidden</span>' in bare
    assert 'data-route="manual"' in bare and "Session in the 2025 format" in bare
    assert "Sessions with nothing to report" in text and copied.ids["clean"] in page.text
    # What the safe fixes do, and what they leave to the user.
    kinds = re.findall(r'data-fix-kind="([a-z_]+)"', page.text)
    assert kinds == ["row_path", "row_missing", "name_only", "history_mode", "drop", "backfill"]
    assert "3 database rows point to stale, relative or missing session files" in text
    assert "2 session names are only in session_index.jsonl" in text
    assert "1 database row has no session file in this home: it is removed." in text
    assert "Codex's stuck database rebuild is restarted" in text
    assert "5 findings need a project folder on this computer" in text
    assert 'href="/repair">Choose the folders in Repair' in page.text
    assert "1 problem needs you" in text
    assert tree_state(copied.home) == before, "the diagnosis writes nothing"

    # Chinese: findings in plain words from the catalog; the engine's English only under
    # "Technical details"; a folder problem is a button that opens Repair on that project.
    client.accept_language = "zh-CN"
    zh = client.get("/doctor")
    assert '<html lang="zh-Hans">' in zh.text
    ztext = text_of(zh.text)
    assert "数据库记录指向不存在的文件" in ztext and "安全修复" in ztext and "不可见" in ztext
    assert "Codex 的列表指向一个不在这里的文件。" in ztext
    assert '<div lang="en"><code>row-path-missing</code> · DB row rollout_path' in zh.text
    assert 'href="/repair?project=/Users/alex/Projects/my%20app"' in zh.text
    assert "codex-migrate rebind" not in ztext.split("技术细节")[0]


def test_safe_fixes_go_dry_run_then_confirm_then_one_transaction(
    client: Client, copied: CopiedHome
) -> None:
    routes = _routes(copied.home)
    assert {r for r in routes.values()} == {SAFE, REPAIR, MANUAL, "nothing"}
    files = _rollouts(copied.home)
    before = tree_state(copied.home)
    # The dry run is the CLI's `rebind --dry-run` (no --map): the same rows, the same counts.
    doctor = client.get("/doctor")
    assert 'href="/doctor/preview" data-apply-safe-fixes' in doctor.text
    preview = client.get("/doctor/preview")
    assert preview.status == 200
    cli_run = CliRunner().invoke(
        cli, ["rebind", "--codex-home", str(copied.home), "--dry-run", "--json"]
    )
    assert cli_run.exit_code == 0, cli_run.output
    cli_plan = json.loads(cli_run.output)["plan"]
    for item in cli_plan["threads"]:
        assert f"<code>{item['id']}</code>" in preview.text
    assert cli_plan["drop_rows"] == [copied.ids["orphan"]]
    assert cli_plan["reset_backfill"] is True
    s = cli_plan["summary"]
    for label, key in (("updated", "rows_updated"), ("added", "rows_inserted")):
        assert re.search(rf"Database rows {label}</dt><dd>{s[key]}<", preview.text), label
    cleared = re.findall(r'<li data-thread="([^"]+)">', preview.text)
    assert set(cleared) == {i for (i, _c), r in routes.items() if r == SAFE and i != "home"}
    assert "Not fixed by the safe fixes" in preview.text
    assert tree_state(copied.home) == before, "the dry run writes nothing"

    # Confirm: one rebind transaction; session files are not touched.
    done = _apply(client, preview)
    assert "Repair finished" in done.text, text_of(done.text)[:2000]
    assert "data-doctor-after" in done.text and 'href="/doctor"' in done.text
    txs = list_transactions(copied.home / "migration_transactions")
    assert [(j.kind, j.state) for _d, j in txs if j] == [("rebind", "committed")]
    assert _rollouts(copied.home) == files

    # Every finding the page said the safe fixes clear is gone; the others are still there.
    after = _routes(copied.home)
    for key, route in routes.items():
        if route == SAFE:
            assert key not in after, key
        elif route in (REPAIR, MANUAL):
            assert key in after, key
    assert set(after.values()) <= {REPAIR, MANUAL, "nothing"}
    again = client.get("/doctor")
    assert "No safe fix is needed." in again.text
    assert "data-apply-safe-fixes" not in again.text


def test_a_new_rows_note_is_a_safe_fix_once_the_backfill_completed(tmp_path: Path) -> None:
    copied = copied_home(tmp_path, backfill="complete")
    routes = _routes(copied.home)
    assert routes[(copied.ids["no-row"], "file-without-row")] == SAFE
    assert not any(code.startswith("backfill") for _i, code in routes)


def test_the_fix_is_refused_while_codex_runs_or_after_the_home_changed(
    client: Client, copied: CopiedHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree_state(copied.home)
    # A confirmation that was never offered goes back to the dry run.
    stale = client.post("/doctor/fix", {"confirm": "0" * 32}, follow=False)
    assert stale.status == 303 and stale.location == "/doctor/preview?confirm=stale"

    def codex_runs(home: Path) -> None:
        raise HomeInUse(
            f"Codex is running on {home}: codex (pid 4242).",
            hint="Close Codex (CLI, IDE extension and Desktop app) and try again.",
        )

    monkeypatch.setattr("codex_migrate.writing.ensure_not_running", codex_runs)
    preview = client.get("/doctor/preview")
    done = _apply(client, preview)
    assert "Codex is running" in done.text and "pid 4242" in done.text
    assert 'href="/doctor"' in done.text
    monkeypatch.undo()
    assert _outside_tx(tree_state(copied.home)) == _outside_tx(before)

    # The home changes between the dry run and Apply: nothing is written.
    preview = client.get("/doctor/preview")
    with (copied.home / "session_index.jsonl").open("a") as index:
        index.write(json.dumps({"id": copied.ids["slow-build"], "thread_name": "Slow"}) + "\n")
    done = _apply(client, preview)
    assert "Something changed since the preview" in done.text
    assert list_transactions(copied.home / "migration_transactions") == []
