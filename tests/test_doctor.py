"""``doctor`` on hand-made homes: every finding code, the listed verdict, exit codes, read-only.

The rules these homes exercise were measured with the real Codex 0.169 (see
``tests/test_doctor_codex.py`` and the docstring of :mod:`codex_migrate.doctor`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from codex_migrate.catalog import build_catalog
from codex_migrate.cli import cli
from codex_migrate.cli.doctor import doctor
from codex_migrate.doctor import (
    NOTE,
    PROBLEM,
    RULES,
    Diagnosis,
    DoctorReport,
    diagnose,
    read_provider_config,
)
from codex_migrate.errors import EXIT_FAILURE, EXIT_NO_HOME, EXIT_OK
from codex_migrate.home import open_home
from codex_migrate.selection import SelectionError
from tests.homes import make_state_db, tid, tree_state, write_rollout


@pytest.fixture(autouse=True)
def _registered() -> None:
    if "doctor" not in cli.commands:
        cli.add_command(doctor)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["doctor", *args])


@pytest.fixture
def project(tmp_path: Path) -> str:
    """A project folder that exists on this machine."""
    path = tmp_path / "projects" / "app"
    path.mkdir(parents=True)
    return str(path)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def row_for(home: Path, n: int, cwd: str, **extra: Any) -> dict[str, Any]:
    """A DB row as Codex 0.169 writes it for :func:`write_rollout`'s paginated thread ``n``."""
    rollout = (
        home / "sessions" / "2026" / "03" / "04" / f"rollout-2026-03-04T10-20-30-{tid(n)}.jsonl"
    )
    row: dict[str, Any] = {
        "id": tid(n),
        "rollout_path": str(rollout),
        "cwd": cwd,
        "title": "Hello",
        "history_mode": "paginated",
        "preview": "Hello",
        "first_user_message": "Hello",
        "source": "cli",
        "model_provider": "openai",
    }
    row.update(extra)
    return row


def make_db(home: Path, rows: list[dict[str, Any]], backfill: str = "complete") -> Path:
    """:func:`make_state_db` plus the 0.169 columns doctor reads (preview, provider, lease)."""
    db = home / "state_5.sqlite"
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT NOT NULL, cwd TEXT NOT NULL,"
        " title TEXT NOT NULL DEFAULT '', name TEXT, archived INTEGER NOT NULL DEFAULT 0,"
        " history_mode TEXT NOT NULL DEFAULT 'legacy', preview TEXT NOT NULL DEFAULT '',"
        " first_user_message TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT 'cli',"
        " model_provider TEXT)"
    )
    conn.execute(
        "CREATE TABLE backfill_state (id INTEGER PRIMARY KEY, status TEXT NOT NULL,"
        " last_watermark TEXT, last_success_at INTEGER, updated_at INTEGER NOT NULL)"
    )
    conn.execute("INSERT INTO backfill_state VALUES (1, ?, NULL, NULL, ?)", (backfill, 0))
    for row in rows:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"INSERT INTO threads ({cols}) VALUES ({marks})", list(row.values()))
    conn.commit()
    conn.close()
    return db


def run(home: Path, **kwargs: Any) -> DoctorReport:
    return diagnose(build_catalog(open_home(home)), **kwargs)


def codes(report: DoctorReport, n: int | None = None) -> set[str]:
    if n is None:
        return {f.code for _, f in report.all_findings()}
    d = next(d for d in report.diagnoses if d.id == tid(n))
    return {f.code for f in d.findings}


def diag(report: DoctorReport, n: int) -> Diagnosis:
    return next(d for d in report.diagnoses if d.id == tid(n))


def verdict(report: DoctorReport, n: int) -> bool | None:
    return diag(report, n).listed


def clean_home(home: Path, cwd: str) -> None:
    write_rollout(home, 1, cwd=cwd)
    write_rollout(home, 2, cwd=cwd, turns=[("Second", "ok")])
    make_db(home, [row_for(home, 1, cwd), row_for(home, 2, cwd, preview="Second")])


# -- a clean home ------------------------------------------------------------------------------


def test_clean_home_has_no_findings_and_exits_0(home: Path, project: str) -> None:
    clean_home(home, project)
    report = run(home)
    assert [d.listed for d in report.threads] == [True, True]
    assert report.problem_count == 0 and report.note_count == 0
    assert report.exit_code == EXIT_OK
    result = invoke("--codex-home", str(home))
    assert result.exit_code == EXIT_OK, result.output
    assert "2 threads: 2 listed, 0 hidden" in result.output


def test_home_without_state_db_is_clean(home: Path, project: str) -> None:
    """Codex builds the DB itself: rollouts alone are listed (no file-without-row note)."""
    write_rollout(home, 1, cwd=project)
    report = run(home)
    assert report.threads[0].listed is True
    assert codes(report) == set()


# -- what hides a thread -----------------------------------------------------------------------


def test_no_user_message_hides(home: Path, project: str) -> None:
    write_rollout(home, 1, cwd=project, turns=[("", "an answer to nothing")])
    report = run(home)
    assert codes(report, 1) == {"no-user-message"}
    assert verdict(report, 1) is False
    assert report.exit_code == EXIT_FAILURE


def test_empty_preview_hides(home: Path, project: str) -> None:
    write_rollout(home, 1, cwd=project)
    make_db(home, [row_for(home, 1, project, preview="")])
    report = run(home)
    assert codes(report, 1) == {"empty-preview"}
    assert verdict(report, 1) is False


def test_empty_first_user_message_counts_only_without_a_preview_column(
    tmp_path: Path, project: str
) -> None:
    """0.169 filters on ``preview`` (measured: an empty first_user_message is still listed);
    older schemas have no preview column and filter on first_user_message."""
    new = tmp_path / "new-schema"
    write_rollout(new, 1, cwd=project)
    make_db(new, [row_for(new, 1, project, first_user_message="")])
    assert codes(run(new), 1) == set()

    old = tmp_path / "old-schema"
    path = write_rollout(old, 1, cwd=project)
    make_state_db(old, [{"id": tid(1), "rollout_path": str(path), "cwd": project}])
    conn = sqlite3.connect(old / "state_5.sqlite")
    conn.execute("ALTER TABLE threads ADD COLUMN first_user_message TEXT NOT NULL DEFAULT ''")
    conn.execute("UPDATE threads SET history_mode = 'paginated'")
    conn.commit()
    conn.close()
    report = run(old)
    assert codes(report, 1) == {"empty-preview"}
    assert "first_user_message" in report.threads[0].findings[0].message
    assert verdict(report, 1) is False


def test_relative_rollout_path_hides(home: Path, project: str) -> None:
    write_rollout(home, 1, cwd=project)
    make_db(home, [row_for(home, 1, project, rollout_path="home/sessions/x.jsonl")])
    report = run(home)
    assert codes(report, 1) == {"row-path-relative"}
    assert verdict(report, 1) is False


def test_stale_rollout_path_hides(home: Path, project: str, tmp_path: Path) -> None:
    """A copied home: rows still name the old home, whose files are gone."""
    write_rollout(home, 1, cwd=project)
    write_rollout(home, 2, cwd=project)
    gone = str(tmp_path / "old-home" / "sessions" / "rollout.jsonl")
    inside = str(home / "sessions" / "2026" / "03" / "04" / "moved.jsonl")
    make_db(
        home,
        [
            row_for(home, 1, project, rollout_path=gone),
            row_for(home, 2, project, rollout_path=inside),
        ],
    )
    report = run(home)
    assert codes(report, 1) == codes(report, 2) == {"row-path-missing"}
    assert verdict(report, 1) is verdict(report, 2) is False
    messages = [f.message for d in report.threads for f in d.findings]
    assert any("outside this home" in m for m in messages)
    assert any("in this home" in m for m in messages)


def test_row_pointing_into_another_home_is_a_problem_but_listed(
    home: Path, project: str, tmp_path: Path
) -> None:
    """Measured: Codex lists the thread and reads (and appends to) the other home's file."""
    write_rollout(home, 1, cwd=project)
    other = write_rollout(tmp_path / "other-home", 1, cwd=project)
    make_db(home, [row_for(home, 1, project, rollout_path=str(other))])
    report = run(home)
    assert codes(report, 1) == {"row-path-outside-home"}
    assert verdict(report, 1) is True
    assert report.exit_code == EXIT_FAILURE


def test_row_pointing_at_another_file_of_the_home(home: Path, project: str) -> None:
    write_rollout(home, 1, cwd=project)
    other = write_rollout(home, 2, cwd=project)
    make_db(home, [row_for(home, 1, project, rollout_path=str(other)), row_for(home, 2, project)])
    report = run(home)
    assert codes(report, 1) == {"row-path-other-file"}
    assert verdict(report, 1) is None
    assert codes(report, 2) == set()


def test_row_without_file(home: Path, project: str, tmp_path: Path) -> None:
    write_rollout(home, 1, cwd=project)
    elsewhere = write_rollout(tmp_path / "other-home", 3, cwd=project)
    make_db(
        home,
        [
            row_for(home, 1, project),
            row_for(home, 2, project),  # its file was never copied here
            row_for(home, 3, project, rollout_path=str(elsewhere)),
        ],
    )
    report = run(home)
    assert [d.id for d in report.rows] == [tid(2), tid(3)]
    assert all(d.kind == "row" for d in report.rows)
    assert codes(report, 2) == codes(report, 3) == {"row-without-file"}
    assert verdict(report, 2) is False
    assert verdict(report, 3) is True  # Codex lists it from the other home's file
    assert "--thread " + tid(2) in report.rows[0].findings[0].fix


def test_bare_era_rollout(home: Path) -> None:
    """Hidden; its cwd lives only in free text, so no rebind fix is offered for it."""
    write_rollout(home, 1, era="bare", cwd="/Users/alex/gone")
    report = run(home)
    assert codes(report, 1) == {"bare-era"}
    assert verdict(report, 1) is False


def test_row_path_through_a_symlinked_home(tmp_path: Path, project: str) -> None:
    """The home opened through a symlink, rows naming the real folder: the same files."""
    real = tmp_path / "real-home"
    write_rollout(real, 1, cwd=project)
    make_db(real, [row_for(real, 1, project)])
    link = tmp_path / "linked-home"
    link.symlink_to(real, target_is_directory=True)
    report = run(link)
    assert codes(report) == set()


def test_empty_file_and_missing_session_meta(home: Path, project: str) -> None:
    write_rollout(home, 1, cwd=project, text="")
    no_meta = '{"timestamp":"2026-03-04T10:20:30.000Z","type":"turn_context","payload":{}}\n'
    write_rollout(home, 2, cwd=project, text=no_meta)
    report = run(home)
    assert codes(report, 1) == {"empty-file"}
    assert "no-session-meta" in codes(report, 2)
    assert verdict(report, 1) is verdict(report, 2) is False


def test_session_meta_of_another_id(home: Path, project: str) -> None:
    path = write_rollout(home, 1, cwd=project)
    path.write_text(path.read_text().replace(tid(1), tid(9)))
    report = run(home)
    assert "meta-id-mismatch" in codes(report, 1)
    assert verdict(report, 1) is None


# -- problems that leave a thread listed -------------------------------------------------------


def test_unreadable_lines(home: Path, project: str) -> None:
    path = write_rollout(home, 1, cwd=project)
    with open(path, "ab") as f:
        f.write(b'{"timestamp": "cut mid-wri')
    report = run(home)
    assert codes(report, 1) == {"unreadable-lines"}
    assert verdict(report, 1) is True
    assert "truncated" in report.threads[0].findings[0].message


def test_history_mode_mismatch(home: Path, project: str) -> None:
    """The seed's Rust tool wrote legacy rows for paginated rollouts: listed, cannot open."""
    write_rollout(home, 1, cwd=project)
    make_db(home, [row_for(home, 1, project, history_mode="legacy")])
    report = run(home)
    assert codes(report, 1) == {"history-mode-mismatch"}
    assert verdict(report, 1) is True
    assert report.exit_code == EXIT_FAILURE


def test_cwd_missing_names_rebind_with_the_folder(home: Path) -> None:
    old = "/Users/alex/My Projects/app"
    write_rollout(home, 1, cwd=old)
    write_rollout(home, 2, cwd=old)
    report = run(home)
    assert codes(report, 1) == {"cwd-missing"}
    assert verdict(report, 1) is True
    group = report.by_code()["cwd-missing"]
    assert group["count"] == 2
    assert group["fixes"] == [
        "codex-migrate rebind --map '/Users/alex/My Projects/app'=NEW  "
        "(NEW: the folder it is in on this machine)"
    ]


def test_cwd_mismatch_between_row_and_rollout(home: Path, project: str, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    write_rollout(home, 1, cwd=project)
    make_db(home, [row_for(home, 1, str(other))])
    report = run(home)
    assert codes(report, 1) == {"cwd-mismatch"}
    assert report.threads[0].cwd == str(other)  # what Codex shows: the row's


# -- providers ---------------------------------------------------------------------------------


def _with_provider(home: Path, n: int, cwd: str, provider: str) -> None:
    path = write_rollout(home, n, cwd=cwd)
    path.write_text(
        path.read_text().replace('"model_provider":"openai"', f'"model_provider":"{provider}"')
    )


def test_unknown_provider_without_config(home: Path, project: str) -> None:
    _with_provider(home, 1, project, "azure")
    _with_provider(home, 2, project, "ollama")  # built in: known, but not the default
    report = run(home)
    assert codes(report, 1) == {"unknown-provider"}
    assert verdict(report, 1) is True
    assert diag(report, 1).findings[0].fix == "Add a [model_providers.azure] table to config.toml."
    assert codes(report, 2) == {"other-provider"}
    assert report.providers.found is False


def test_provider_from_config(home: Path, project: str) -> None:
    _with_provider(home, 1, project, "azure")
    _with_provider(home, 2, project, "openai")
    (home / "config.toml").write_text(
        'model_provider = "azure"\n\n[model_providers.azure]\nname = "Azure"\n'
        'base_url = "https://x.invalid/openai"\n'
    )
    report = run(home)
    assert codes(report, 1) == set()
    assert codes(report, 2) == {"other-provider"}  # a note: exit 0
    assert report.exit_code == EXIT_OK
    assert report.providers.default == "azure"


def test_profile_selects_the_default_provider(home: Path) -> None:
    (home / "config.toml").write_text(
        'profile = "work"\nmodel_provider = "openai"\n'
        '[profiles.work]\nmodel_provider = "corp"\n[model_providers."corp"]\nname = "c"\n'
    )
    config = read_provider_config(home)
    assert config.default == "corp"
    assert "corp" in config.known and "openai" in config.known


def test_unparsable_config(home: Path, project: str) -> None:
    _with_provider(home, 1, project, "azure")
    (home / "config.toml").write_text("model_provider = \n[[[")
    report = run(home)
    assert codes(report) == {"config-unreadable"}  # providers are not judged on a guess
    assert report.exit_code == EXIT_FAILURE


# -- notes -------------------------------------------------------------------------------------


def test_exec_source_is_a_note(home: Path, project: str) -> None:
    path = write_rollout(home, 1, cwd=project)
    path.write_text(path.read_text().replace('"source":"cli"', '"source":"exec"'))
    report = run(home)
    assert codes(report, 1) == {"non-interactive-source"}
    assert RULES["non-interactive-source"].severity == NOTE
    assert verdict(report, 1) is True
    assert report.exit_code == EXIT_OK
    assert "--all" in report.threads[0].findings[0].fix


def test_file_without_row_after_backfill_is_a_note(home: Path, project: str) -> None:
    """Measured: Codex lists a rollout without a row (and adds the row)."""
    write_rollout(home, 1, cwd=project)
    write_rollout(home, 2, cwd=project)
    make_db(home, [row_for(home, 1, project)])
    report = run(home)
    assert codes(report, 2) == {"file-without-row"}
    assert verdict(report, 2) is True
    assert report.exit_code == EXIT_OK


def _set_lease(db: Path, status: str, updated_at: int) -> None:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE backfill_state SET status = ?, updated_at = ?", (status, updated_at))
    conn.commit()
    conn.close()


def test_backfill_running_fresh_lease_is_a_problem(home: Path, project: str) -> None:
    """Measured: with a fresh 'running' lease Codex waits 30 s, then fails to start."""
    clean_home(home, project)
    _set_lease(home / "state_5.sqlite", "running", int(time.time()) - 60)
    report = run(home)
    assert [f.code for f in report.home_findings] == ["backfill-running"]
    assert report.home_findings[0].severity == PROBLEM
    assert "expires at" in report.home_findings[0].message
    assert report.exit_code == EXIT_FAILURE


def test_backfill_running_stale_lease_is_a_note(home: Path, project: str) -> None:
    """Measured: a stale lease is retaken at the next start and the backfill completes."""
    clean_home(home, project)
    _set_lease(home / "state_5.sqlite", "running", int(time.time()) - 3600)
    report = run(home)
    assert [f.code for f in report.home_findings] == ["backfill-lease"]
    assert report.exit_code == EXIT_OK


# -- home-level problems -----------------------------------------------------------------------


def test_unreadable_db(home: Path, project: str) -> None:
    write_rollout(home, 1, cwd=project)
    (home / "state_5.sqlite").write_bytes(b"this is not a database" * 100)
    report = run(home)
    assert [f.code for f in report.home_findings] == ["db-unreadable"]
    assert report.threads[0].listed is True
    assert report.exit_code == EXIT_FAILURE


def test_second_rollout_with_the_same_id(home: Path, project: str) -> None:
    write_rollout(home, 1, cwd=project)
    write_rollout(home, 1, cwd=project, archived=True)
    report = run(home)
    assert [f.code for f in report.home_findings] == ["unreadable-file"]
    assert "same thread id" in report.home_findings[0].message


# -- selection, output, exit codes, read-only --------------------------------------------------


def test_thread_selection(home: Path, project: str) -> None:
    clean_home(home, project)
    report = run(home, thread_ids=[tid(2)])
    assert [d.id for d in report.threads] == [tid(2)]
    assert run(home, thread_ids=[tid(1).upper()]).threads[0].id == tid(1)
    # Both ids start like this: refused, naming the candidates (as every command does).
    with pytest.raises(SelectionError) as ambiguous:
        run(home, thread_ids=[tid(1)[:-1]])
    assert set(ambiguous.value.candidates) == {tid(1), tid(2)}
    missing = run(home, thread_ids=["0000dead-0000-7000-8000-000000000000"])
    assert missing.threads[0].listed is False
    assert missing.exit_code == EXIT_FAILURE
    result = invoke("--codex-home", str(home), "--thread", tid(1), "--json")
    assert result.exit_code == EXIT_OK, result.output
    assert [t["id"] for t in json.loads(result.output)["threads"]] == [tid(1)]


def test_thread_selection_by_unique_prefix(home: Path, project: str) -> None:
    write_rollout(home, 1, cwd=project)
    result = invoke("--codex-home", str(home), "--thread", tid(1)[:13], "--json")
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(result.output)["threads"][0]["id"] == tid(1)


def test_json_report(home: Path, project: str, tmp_path: Path) -> None:
    write_rollout(home, 1, cwd=project)
    write_rollout(home, 2, cwd="/nowhere/app")
    make_db(home, [row_for(home, 1, project, preview=""), row_for(home, 2, "/nowhere/app")])
    result = invoke("--codex-home", str(home), "--json")
    assert result.exit_code == EXIT_FAILURE
    data = json.loads(result.output)
    assert data["summary"] == {
        "threads": 2,
        "listed": 1,
        "hidden": 1,
        "unknown": 0,
        "rows_without_file": 0,
        "problems": 2,
        "notes": 0,
        "exit_code": 1,
    }
    assert set(data["by_code"]) == {"empty-preview", "cwd-missing"}
    first = data["threads"][0]
    assert set(first) >= {"id", "rollout_path", "listed", "findings", "kind"}
    assert set(first["findings"][0]) == {"code", "severity", "message", "fix", "file"}
    assert data["providers"]["default"] == "openai"


def test_human_output_groups_by_code(home: Path, project: str) -> None:
    for n in (1, 2, 3):
        write_rollout(home, n, cwd=project)
    make_db(
        home, [row_for(home, n, project, rollout_path=f"/old/home/{n}.jsonl") for n in (1, 2, 3)]
    )
    result = invoke("--codex-home", str(home))
    assert result.exit_code == EXIT_FAILURE
    out = result.output
    assert "Problems (3):" in out
    assert "row-path-missing × 3" in out
    assert out.count("fix: codex-migrate rebind") == 1
    assert out.count("HIDDEN") == 3
    assert "3 threads: 0 listed, 3 hidden" in out


def test_missing_home_exits_3(tmp_path: Path) -> None:
    result = invoke("--codex-home", str(tmp_path / "nope"))
    assert result.exit_code == EXIT_NO_HOME


def test_doctor_changes_nothing(home: Path, project: str, tmp_path: Path) -> None:
    """Not a byte of the home changes, even with a live WAL and every kind of finding."""
    clean_home(home, project)
    write_rollout(home, 3, cwd="/gone", turns=[("", "x")])
    write_rollout(home, 4, era="bare", cwd=project)
    (home / "config.toml").write_text('model_provider = "openai"\n')
    db = home / "state_5.sqlite"
    keep = sqlite3.connect(db)  # holds the WAL open, like a running Codex
    keep.execute("PRAGMA journal_mode=WAL")
    keep.execute("PRAGMA wal_autocheckpoint=0")
    keep.execute("UPDATE threads SET preview = '' WHERE id = ?", (tid(2),))
    keep.commit()
    try:
        assert (home / "state_5.sqlite-wal").exists()
        before = tree_state(home)
        report = run(home)
        assert verdict(report, 2) is False  # the change in the WAL was seen
        assert invoke("--codex-home", str(home)).exit_code == EXIT_FAILURE
        assert invoke("--codex-home", str(home), "--json").exit_code == EXIT_FAILURE
        assert tree_state(home) == before
    finally:
        keep.close()


def test_every_rule_is_documented() -> None:
    for code, rule in RULES.items():
        assert rule.severity in (PROBLEM, NOTE), code
        assert rule.summary and rule.fix, code


def test_diagnose_thread_builds_its_record_positionally_in_the_fields_order() -> None:
    """diagnose_thread passes Diagnosis's fields by position (one record per thread of a
    home): a field added or moved must change it too."""
    from dataclasses import fields

    from codex_migrate.doctor.report import Diagnosis

    assert [f.name for f in fields(Diagnosis)] == [
        "id", "rel_path", "listed", "findings", "kind", "title", "cwd", "archived",
    ]  # fmt: skip
