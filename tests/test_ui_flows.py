"""The screens over HTTP on the demo homes: the same engine path as the CLI, and every error
state a user can meet (conflicts, unmapped projects, a home in use, a plan that changed, a
second write while one runs), each leaving the homes untouched. Reading a source and building
the preview are read jobs: progress over SSE, and never in the way of the single write slot.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_migrate.backup import BackupPlan
from codex_migrate.errors import HomeInUse
from codex_migrate.transaction import list_transactions
from codex_migrate.ui.common import error_kind
from codex_migrate.ui.jobs import DONE, FAILED, Busy, Cancelled, Job, JobRunner
from codex_migrate.ui.server import Demo
from tests.homes import tree_state
from tests.test_ui_support import Client, Resp, demo_server, form_then_confirm, text_of

MAC = "/Users/alex/Projects"


def _digest(page: Resp) -> str:
    m = re.search(r'name="confirm" value="([^"]+)"', page.text)
    assert m, text_of(page.text)[:2000]
    return m.group(1)


def _preview(client: Client, demo: Demo, **extra: str) -> Resp:
    client.post("/migrate/source", {"source": str(demo.source)})
    data = {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview", **extra}
    return client.post("/migrate/map", data)


def _apply(client: Client, preview: Resp) -> Resp:
    first = client.post("/migrate/apply", {"confirm": _digest(preview)}, follow=False)
    assert first.status == 303 and (first.location or "").startswith("/jobs/")
    return client.wait_job(client.get(first.location or ""))


def _rollouts(home: Path) -> list[str]:
    return sorted(p.name for p in home.rglob("rollout-*.jsonl"))


@pytest.fixture
def ui(tmp_path: Path) -> Any:
    with demo_server(tmp_path) as (config, client, demo):
        client.sign_in()
        yield config, client, demo


def test_migrate_then_roll_back_through_snapshots(ui: Any) -> None:
    _config, client, demo = ui
    source_before = tree_state(demo.source)
    preview = _preview(client, demo)
    assert preview.status == 200
    assert _rollouts(demo.codex_home) == [], "the preview writes nothing"
    result = _apply(client, preview)
    assert "Import finished" in result.text
    assert "Every imported session checks out" in result.text
    assert len(_rollouts(demo.codex_home)) == len(_rollouts(demo.source))
    assert tree_state(demo.source) == source_before, "the source is never changed"
    index = (demo.codex_home / "session_index.jsonl").read_text()
    assert "Checkout button" in index
    # Rows of the new machine's folders: the mapped cwd is in the rollouts.
    written = next((demo.codex_home / "sessions").rglob("rollout-*.jsonl")).read_text()
    assert str(demo.projects) in written and f'"cwd":"{MAC}' not in written

    snaps = client.get("/snapshots")
    tx = re.search(r'href="/snapshots/([^"/]+)/rollback"', snaps.text)
    assert tx, text_of(snaps.text)
    detail = client.get(f"/snapshots/{tx.group(1)}")
    assert detail.status == 200 and tx.group(1) in detail.text
    confirm = client.get(f"/snapshots/{tx.group(1)}/rollback")
    assert "This would remove" in text_of(confirm.text)
    assert _rollouts(demo.codex_home), "the confirmation page changes nothing"
    first = client.post(
        f"/snapshots/{tx.group(1)}/rollback", {"confirm": _digest(confirm)}, follow=False
    )
    done = client.wait_job(client.get(first.location or ""))
    assert "Rolled back" in done.text
    assert [p for p in _rollouts(demo.codex_home) if "archived" not in p] == []
    # Delete the finished snapshot.
    confirm = client.get(f"/snapshots/{tx.group(1)}/delete")
    first = client.post(
        f"/snapshots/{tx.group(1)}/delete", {"confirm": _digest(confirm)}, follow=False
    )
    done = client.wait_job(client.get(first.location or ""))
    assert "Snapshot deleted" in done.text
    assert list_transactions(demo.codex_home / "migration_transactions") == []


def test_unmapped_projects_stop_before_anything_is_written(ui: Any) -> None:
    _config, client, demo = ui
    client.post("/migrate/source", {"source": str(demo.source)})
    page = client.get("/migrate/preview")  # straight to the preview: sent back to step 3
    assert page.status == 200 and "/migrate/map" in (client.last.text if client.last else "")
    assert "projects have no folder on this computer yet" in page.text
    assert 'class="field-error"' in page.text and MAC in page.text
    nxt = client.post("/migrate/map", {"action": "preview"})  # Next is refused on the page
    assert nxt.status == 400 and "projects have no folder on this computer yet" in nxt.text
    assert "--map" not in nxt.text
    assert not demo.codex_home.joinpath("sessions").exists()


def test_history_only_projects_then_repair_them(ui: Any) -> None:
    _config, client, demo = ui
    client.post("/migrate/source", {"source": str(demo.source)})
    page = client.get("/migrate/map")
    olds = dict(
        (m.group(2), m.group(1))
        for m in re.finditer(r'name="old_(\d+)" value="([^"]+)"', page.text)
    )
    data = {f"old_{n}": cwd for cwd, n in olds.items()}
    data.update({f"hist_{n}": "1" for n in olds.values()})
    data["action"] = "preview"
    preview = client.post("/migrate/map", data)
    assert "history only" in preview.text
    assert "Import finished" in _apply(client, preview).text

    # Repair shows the projects whose folders are missing, by default.
    repair = client.get("/repair")
    shown = re.findall(r'name="old_\d+" value="([^"]+)"', repair.text)
    assert shown and all(s.startswith(MAC) for s in shown)
    preview = client.post(
        "/repair", {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview"}
    )
    assert preview.status == 200
    assert "Check every change" in preview.text
    first = client.post("/repair/apply", {"confirm": _digest(preview)}, follow=False)
    done = client.wait_job(client.get(first.location or ""))
    assert "Repair finished" in done.text
    rollout = next((demo.codex_home / "sessions").rglob("*0001*.jsonl")).read_text()
    assert str(demo.projects / "webshop") in rollout


def test_conflicts_show_the_first_differing_line_and_can_be_left_out(ui: Any) -> None:
    _config, client, demo = ui
    assert "Import finished" in _apply(client, _preview(client, demo)).text
    # The same thread diverged on this machine: a different line 2.
    victim = next((demo.codex_home / "sessions").rglob("*0001*.jsonl"))
    lines = victim.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("task_started", "task_Diverged")
    victim.write_text("".join(lines))
    before = tree_state(demo.codex_home)
    client.post("/migrate/source", {"source": str(demo.source)})
    preview = client.get("/migrate/preview")
    text = text_of(preview.text)
    assert "1 session differs in both homes" in text
    assert "First difference at line 2." in text
    assert "Diverged" in preview.text  # this machine's line is shown
    assert re.search(r'<button type="submit" class="primary" disabled>', preview.text)
    # Apply is refused server-side too (the digest is of a plan with a conflict).
    first = client.post("/migrate/apply", {"confirm": _digest(preview)}, follow=False)
    done = client.wait_job(client.get(first.location or ""))
    assert "Some sessions differ in both homes" in done.text
    assert tree_state(demo.codex_home) == before
    # Leave it out: the rest is skipped as identical.
    again = client.post("/migrate/exclude", {"thread": victim.name[-42:-6]})
    assert "differs in both homes" not in again.text
    assert "Apply" in again.text


def test_a_plan_that_changed_since_the_preview_is_not_applied(ui: Any) -> None:
    _config, client, demo = ui
    preview = _preview(client, demo)
    # Meanwhile one session arrives here by other means.
    src = next((demo.source / "sessions").rglob("*0001*.jsonl"))
    dest = demo.codex_home / src.relative_to(demo.source)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"")
    before = tree_state(demo.codex_home)
    done = _apply(client, preview)
    assert "Something changed since the preview" in done.text
    assert tree_state(demo.codex_home) == before
    # The way on is the new preview, built again from the homes as they are now.
    link = re.search(r'href="([^"]+)" data-new-preview', done.text)
    assert link and link.group(1) == "/migrate/preview"
    again = client.get(link.group(1))
    assert "Check the plan, then apply it" in again.text and _digest(again) != _digest(preview)


def test_codex_running_or_another_command_stops_the_write(
    ui: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config, client, demo = ui

    def codex_runs(home: Path) -> None:
        raise HomeInUse(
            f"Codex is running on {home}: codex (pid 4242).",
            hint="Close Codex (CLI, IDE extension and Desktop app) and try again.",
        )

    monkeypatch.setattr("codex_migrate.writing.ensure_not_running", codex_runs)
    done = _apply(client, _preview(client, demo))
    assert "Codex is running" in done.text and "pid 4242" in done.text
    assert "Close Codex everywhere" in done.text
    assert _rollouts(demo.codex_home) == []
    monkeypatch.undo()

    # Another codex-migrate (a live process that is not us) holds the home's lock.
    lock = demo.codex_home / "migration_transactions" / "lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"pid": os.getppid(), "since": 0}))
    done = _apply(client, _preview(client, demo))
    assert "Another codex-migrate is working on this home" in done.text
    assert _rollouts(demo.codex_home) == []


def test_error_kinds_name_the_situation() -> None:
    locked = HomeInUse("x.sqlite is locked by another program (db)", reason=HomeInUse.DB_LOCKED)
    assert error_kind(locked) == "locked"
    assert error_kind(HomeInUse("Codex is running on /h: codex (pid 1).")) == "in_use"
    # The kind, not the text, decides: a home path that reads like another command's lock.
    odd = HomeInUse("Codex is running on /tmp/codex-migrate-ui-demo-1: codex (pid 1).")
    assert error_kind(odd) == "in_use"
    other = HomeInUse("busy", reason=HomeInUse.OTHER_COMMAND)
    assert error_kind(other) == "other_command"
    assert error_kind(OSError("disk")) == "io"


def test_two_writes_cannot_run_at_once(ui: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    config, client, _demo = ui
    release = threading.Event()
    started = threading.Event()

    def slow_backup(*args: object, **kwargs: object) -> None:
        started.set()
        release.wait(30)
        raise OSError("stopped by the test")

    monkeypatch.setattr("codex_migrate.ui.views.backup.run_backup", slow_backup)
    # The demo home must have history for Backup: import first.
    preview = _preview(client, _demo)
    _apply(client, preview)
    first = form_then_confirm(client, "/backup", {"dest": str(_demo.root / "b")}, "/backup/apply")
    assert first.status == 303
    assert started.wait(10)
    second = form_then_confirm(client, "/backup", {"dest": str(_demo.root / "b")}, "/backup/apply")
    assert second.status == 409
    assert "Another operation is running" in second.text
    other = Client(client.base, config.tokens.issue())
    other.sign_in()
    third = other.post("/migrate/apply", {"confirm": "x"}, follow=False)
    assert third.status in (303, 409)  # no source in that session: nothing to start
    release.set()
    done = client.wait_job(client.get(first.location or ""))
    assert "A file could not be read or written" in done.text


def test_job_runner_runs_one_write_at_a_time() -> None:
    runner = JobRunner()
    gate = threading.Event()
    job = runner.start("x", "s", lambda progress: gate.wait(10))
    with pytest.raises(Busy) as busy:
        runner.start("y", "s", lambda progress: None)
    assert busy.value.job is job
    gate.set()
    assert runner.wait_idle(10)
    assert runner.start("z", "s", lambda progress: progress("copy", 1, 2)).id != job.id


def test_export_html_is_served_sandboxed_to_its_session_only(ui: Any) -> None:
    config, client, demo = ui
    _apply(client, _preview(client, demo))
    page = client.post("/export", {"action": "all"})
    ids = re.findall(r'name="thread" value="([^"]+)" id="[^"]+" checked', page.text)
    assert ids
    first = form_then_confirm(
        client,
        "/export",
        {"thread": ids, "dest": str(demo.root / "out"), "format": "html", "action": "export"},
        "/export/apply",
    )
    done = client.wait_job(client.get(first.location or ""))
    link = re.search(r'href="(/exports/[^"]+/0)" target="_blank" rel="noopener"', done.text)
    assert link, text_of(done.text)
    served = client.get(link.group(1))
    assert served.status == 200
    csp = served.headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "script-src" not in csp
    other = Client(config.origin, config.tokens.issue())
    other.sign_in()
    assert other.get(link.group(1)).status == 404
    assert client.get(link.group(1).replace("/0", "/99")).status == 404


def test_the_sse_stream_reports_progress_then_done(ui: Any) -> None:
    _config, client, demo = ui
    first = client.post(
        "/migrate/apply", {"confirm": _digest(_preview(client, demo))}, follow=False
    )
    job = (first.location or "").rstrip("/")
    events = client.get(job + "/events")
    assert events.headers["content-type"].startswith("text/event-stream")
    assert "event: done" in events.text
    assert f'"url": "{job}"' in events.text


def test_migrate_from_a_backup_archive_keeps_it_extracted_until_the_end(ui: Any) -> None:
    from codex_migrate.backup import run_backup
    from codex_migrate.home import open_home

    _config, client, demo = ui
    archive = demo.root / "Codex_backup.tar.zst"
    run_backup(open_home(demo.source), archive=archive)
    page = client.post("/migrate/source", {"source": str(archive)})
    assert "found-title" in page.text
    assert "archive" in text_of(page.text)
    page = client.post(
        "/migrate/map",
        {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview"},
    )
    assert "Import finished" in _apply(client, page).text
    assert len(_rollouts(demo.codex_home)) == len(_rollouts(demo.source))
    # Start over: the extracted copy is deleted.
    extracted = re.search(r"<code>([^<]*codex-migrate-source-[^<]*)</code>", page.text)
    client.post("/migrate/reset")
    if extracted:
        assert not Path(extracted.group(1)).exists()


def test_a_backup_archive_is_never_in_the_listing_cache(ui: Any) -> None:
    """An archive's temporary extraction is read without the listing cache: at the source
    step and again when Apply re-reads the source under the lock (no cache file of it stays
    in the user's cache folder after the extraction is deleted)."""
    from codex_migrate.backup import run_backup
    from codex_migrate.home import open_home

    _config, client, demo = ui
    archive = demo.root / "Codex_backup.tar.zst"
    run_backup(open_home(demo.source), archive=archive)
    client.post("/migrate/source", {"source": str(archive)})
    page = client.post(
        "/migrate/map",
        {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview"},
    )
    assert "Import finished" in _apply(client, page).text
    folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    homes = [json.loads(p.read_bytes())["home"] for p in folder.glob("*.json")]
    assert [h for h in homes if "codex-migrate-source-" in h] == []


def _extracted_sources() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("codex-migrate-source-*"))


def test_a_damaged_source_ends_its_job_with_the_clear_error(ui: Any) -> None:
    _config, client, demo = ui
    bogus = demo.root / "not a backup & more.zip"
    bogus.write_bytes(b"PK\x03\x04 not really")
    before = _extracted_sources()
    job = client.job_of(client.post("/migrate/source", {"source": str(bogus)}, follow=False))
    events = list(client.events(job))
    assert events[-1] == ("done", {"url": job})
    assert events[-2][0] == "progress" and events[-2][1]["state"] == "failed"
    page = client.get(job)
    text = text_of(page.text)
    assert "<h1 data-job-done>Reading the source</h1>" in page.text
    assert "This is not a Codex home that can be read" in text
    assert "is not a complete codex-migrate backup" in text  # in the page's language
    assert "Technical details" in text  # the engine's own words below
    assert "not a codex-migrate backup" in text
    back = "/migrate?source=" + str(bogus).replace(" ", "%20").replace("&", "%26")
    assert f'href="{back}"' in page.text
    assert _extracted_sources() <= before, "the partial extraction is deleted"
    assert "found-title" not in client.get("/migrate").text
    client.accept_language = "zh-CN"
    assert "<h1 data-job-done>正在读取来源</h1>" in client.get(job).text
    client.accept_language = "en"
    page = client.post("/migrate/source", {"source": str(demo.root / "nowhere")})
    assert "This is not a Codex home that can be read" in page.text
    assert "found-title" not in client.get("/migrate").text


def _hold_job_progress(
    monkeypatch: pytest.MonkeyPatch, hold: Callable[[Job, str], bool]
) -> tuple[list[tuple[str, str]], threading.Event, threading.Event]:
    """Record every progress report of every job; the first report ``hold`` picks waits for
    the returned gate. Returns (reports, reached, gate)."""
    reports: list[tuple[str, str]] = []
    reached, gate = threading.Event(), threading.Event()
    original = Job.progress

    def observed(self: Job, stage: str, done: int, total: int) -> None:
        reports.append((self.kind, stage))
        original(self, stage, done, total)
        if not reached.is_set() and hold(self, stage):
            reached.set()
            gate.wait(30)

    monkeypatch.setattr(Job, "progress", observed)
    return reports, reached, gate


@pytest.fixture
def gates() -> Iterator[list[threading.Event]]:
    """Gates a test holds shut; all opened at the end, whatever happened."""
    opened: list[threading.Event] = []
    yield opened
    for gate in opened:
        gate.set()


def test_reading_a_source_is_a_job_with_progress_then_the_catalog(
    ui: Any, monkeypatch: pytest.MonkeyPatch, gates: list[threading.Event]
) -> None:
    from codex_migrate.backup import run_backup
    from codex_migrate.home import open_home

    _config, client, demo = ui
    archive = demo.root / "Codex_backup.zip"
    run_backup(open_home(demo.source), archive=archive)
    reports, reached, gate = _hold_job_progress(monkeypatch, lambda job, stage: stage == "scan")
    gates.append(gate)
    first = client.post("/migrate/source", {"source": str(archive)}, follow=False)
    job = client.job_of(first)
    stream = client.events(job)
    name, data = next(stream)
    assert name == "progress" and data["state"] == "running"
    assert reached.wait(30)
    while data.get("stage") != "scan":
        name, data = next(stream)
    assert name == "progress" and data["state"] == "running" and data["total"]
    # Meanwhile: the step says a source is being read; the job page refreshes without JS.
    step = client.get("/migrate")
    assert "This source is being read:" in step.text and "found-title" not in step.text
    running = client.get(job, wait=False)
    assert '<noscript><meta http-equiv="refresh"' in running.text
    assert "Reading the source" in running.text and f'data-events="{job}/events"' in running.text
    gate.set()
    rest = list(stream)
    assert rest[-1] == ("done", {"url": job})
    assert rest[-2][1]["state"] == "done"
    stages = [stage for kind, stage in reports if kind == "source"]
    assert "unpack" in stages and "verify" not in stages, stages
    assert stages.index("unpack") < stages.index("scan")
    # The job's page leads back to step 1, which shows what was read.
    page = client.get(job)
    assert "found-title" in page.text and "archive" in text_of(page.text)
    select = client.get("/migrate/select")
    assert len(re.findall(r'name="thread" value=', select.text)) == len(_rollouts(demo.source))


def test_a_newer_source_cancels_the_read_under_way_and_its_extraction_is_deleted(
    ui: Any, monkeypatch: pytest.MonkeyPatch, gates: list[threading.Event]
) -> None:
    from codex_migrate.backup import run_backup
    from codex_migrate.home import open_home

    _config, client, demo = ui
    archive = demo.root / "Codex_backup.tar.zst"
    run_backup(open_home(demo.source), archive=archive)
    before = _extracted_sources()
    _reports, reached, gate = _hold_job_progress(monkeypatch, lambda job, s: s == "unpack")
    gates.append(gate)
    old = client.job_of(client.post("/migrate/source", {"source": str(archive)}, follow=False))
    assert reached.wait(30)
    assert _extracted_sources() - before, "the archive is being extracted"
    page = client.post("/migrate/source", {"source": str(demo.source)})
    assert "found-title" in page.text and str(demo.source) in page.text
    gate.set()
    failed = client.wait_job(client.get(old, wait=False))
    assert f"reading {archive} was cancelled: another source was chosen" in failed.text
    assert _extracted_sources() <= before, "the partial extraction is deleted"
    assert str(demo.source) in client.get("/migrate").text


def _fake_backup_plan(home: object, **kwargs: Any) -> BackupPlan:
    where = kwargs["output_parent"] / "Codex_backup"
    return BackupPlan(where, where, "folder", "sessions", creates_parent=True)


def test_reads_neither_wait_for_nor_block_the_write_slot(
    ui: Any, monkeypatch: pytest.MonkeyPatch, gates: list[threading.Event]
) -> None:
    config, client, demo = ui
    write_gate, write_started = threading.Event(), threading.Event()
    gates.append(write_gate)

    def slow_backup(*args: object, **kwargs: object) -> None:
        write_started.set()
        write_gate.wait(30)
        raise OSError("stopped by the test")

    # The demo's home is empty here: its backup's dry run and run are the test's.
    monkeypatch.setattr("codex_migrate.ui.views.backup.open_home", lambda path: None)
    monkeypatch.setattr("codex_migrate.ui.views.backup.plan_backup", _fake_backup_plan)
    monkeypatch.setattr("codex_migrate.ui.views.backup.run_backup", slow_backup)
    _reports, read_held, read_gate = _hold_job_progress(
        monkeypatch, lambda job, stage: job.kind == "source"
    )
    gates.append(read_gate)
    # Another browser's read is under way (and held there).
    reader = Client(config.origin, config.tokens.issue())
    reader.sign_in()
    held = reader.job_of(reader.post("/migrate/source", {"source": str(demo.source)}, follow=False))
    assert read_held.wait(30)
    # A write starts anyway, and still refuses a second write.
    backup = form_then_confirm(client, "/backup", {"dest": str(demo.root / "b")}, "/backup/apply")
    assert backup.status == 303, text_of(backup.text)
    assert write_started.wait(30)
    again = form_then_confirm(client, "/backup", {"dest": str(demo.root / "b")}, "/backup/apply")
    assert again.status == 409
    # While both run, this session reads a source and builds a preview: never "busy".
    page = client.post("/migrate/source", {"source": str(demo.source)})
    assert "found-title" in page.text, text_of(page.text)[:2000]
    preview = client.post(
        "/migrate/map", {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview"}
    )
    assert "Check the plan, then apply it" in preview.text
    assert _digest(preview)
    # The held read ends normally, then the write.
    read_gate.set()
    assert "found-title" in reader.wait_job(reader.get(held, wait=False)).text
    write_gate.set()
    done = client.wait_job(client.get(backup.location or "", wait=False))
    assert "A file could not be read or written" in done.text


def test_the_preview_is_a_job_shown_once_for_the_choices_it_was_built_for(
    ui: Any, monkeypatch: pytest.MonkeyPatch, gates: list[threading.Event]
) -> None:
    _config, client, demo = ui
    client.post("/migrate/source", {"source": str(demo.source)})
    saved = client.post("/migrate/map", {"rule_old": MAC, "rule_new": str(demo.projects)})
    assert saved.status == 200
    reports, reached, gate = _hold_job_progress(monkeypatch, lambda job, _: job.kind == "preview")
    gates.append(gate)
    job = client.job_of(client.get("/migrate/preview", follow=False))
    assert reached.wait(30)
    again = client.get("/migrate/preview", follow=False)
    assert again.location == job, "the same choices join the preview job that runs"
    gate.set()
    events = list(client.events(job))
    assert "plan" in {stage for kind, stage in reports if kind == "preview"}
    assert events[-1] == ("done", {"url": job})
    page = client.get(job)
    assert "Check the plan, then apply it" in page.text and _digest(page)
    # Shown once: coming back builds it again (the homes may have changed meanwhile).
    second = client.job_of(client.get("/migrate/preview", follow=False))
    assert second != job
    client.wait_job(client.get(second, wait=False))
    # A finished preview of other choices is not shown: leaving a session out builds a new one.
    first_id = re.search(r'name="thread" value="([^"]+)"', client.get("/migrate/select").text)
    assert first_id
    client.post("/migrate/exclude", {"thread": first_id.group(1)}, follow=False)
    third = client.job_of(client.get("/migrate/preview", follow=False))
    assert third not in (job, second)
    page = client.wait_job(client.get(third, wait=False))
    assert first_id.group(1) not in page.text


def test_job_runner_reads_never_take_the_write_slot() -> None:
    runner = JobRunner()
    gate = threading.Event()
    read = runner.start("source", "s", lambda progress: gate.wait(10), write=False)
    assert runner.current is None, "a read does not hold the write slot"
    write = runner.start("import", "s", lambda progress: gate.wait(10))
    assert runner.current is write
    with pytest.raises(Busy):
        runner.start("backup", "s", lambda progress: None)
    other = runner.start("preview", "s", lambda progress: gate.wait(10), write=False)
    assert other.id != read.id
    gate.set()
    assert runner.wait_idle(10)
    # Cancelling stops a read at its next progress report; a write is never interrupted.
    started, go = threading.Event(), threading.Event()

    def work(progress: Callable[[str, int, int], None]) -> str:
        progress("scan", 0, 2)
        started.set()
        go.wait(10)
        progress("scan", 1, 2)
        return "finished"

    read = runner.start("source", "s", work, write=False)
    assert started.wait(10)
    read.cancel()
    go.set()
    assert runner.wait_idle(10)
    assert read.state == FAILED and isinstance(read.error, Cancelled)
    started.clear()
    go.clear()
    write = runner.start("import", "s", work)
    assert started.wait(10)
    write.cancel()
    go.set()
    assert runner.wait_idle(10)
    assert write.state == DONE and write.result == "finished"
