"""``doctor`` proven against the real Codex 0.169: what it predicts is what app-server lists.

* a home made by Codex, copied elsewhere (a plain copy), its projects moved and the original
  removed: Codex lists none of its threads (measured: 0), and doctor names the cause of each;
* a clean home made by Codex: doctor finds no problem (exit 0), only the by-design notes, and
  those notes are exactly the threads Codex's default listing leaves out;
* one change per thread to a copy (empty preview, stale, relative and missing rows, a legacy
  row for a paginated rollout, a row without a file): doctor's "listed" verdict for each
  matches the real listing.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from codex_migrate.cli.doctor import doctor
from codex_migrate.doctor import BACKFILL_LEASE_SECONDS
from codex_migrate.errors import EXIT_FAILURE, EXIT_OK
from tests.harness.app_server import AppServer, list_threads_of_copy
from tests.harness.homes import copy_home
from tests.harness.install import CODEX_NEW
from tests.harness.scenario import Scenario, build_home
from tests.homes import tree_state

pytestmark = pytest.mark.codex


@pytest.fixture(autouse=True)
def _registered() -> None:
    if "doctor" not in cli.commands:
        cli.add_command(doctor)


def run_doctor(home: Path, expect: int) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["doctor", "--codex-home", str(home), "--json"])
    assert result.exit_code == expect, result.output
    return json.loads(result.stdout)


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in report["threads"] + report["rows_without_file"]}


def codes(diagnosis: dict[str, Any], severity: str | None = None) -> set[str]:
    return {
        f["code"] for f in diagnosis["findings"] if severity is None or f["severity"] == severity
    }


def listed_ids(threads: list[dict[str, Any]]) -> set[str]:
    return {t["id"] for t in threads}


def sql(home: Path, query: str, args: tuple[Any, ...] = ()) -> None:
    conn = sqlite3.connect(home / "state_5.sqlite")
    try:
        conn.execute(query, args)
        conn.commit()
    finally:
        conn.close()


def test_copied_home_with_moved_projects_lists_nothing_and_doctor_says_why(
    codex_bin_new: Path, tmp_path: Path
) -> None:
    """The issue's scenario, all real: a 0.169 home (with its own project folders, so they can
    be moved) is copied with a plain copy, the projects are moved, the original is removed."""
    scenario = build_home(CODEX_NEW, tmp_path / "machine-a", binary=codex_bin_new)
    copy = tmp_path / "machine-b" / "codex-home"
    shutil.copytree(scenario.home, copy, symlinks=True)
    projects = Path(next(iter(scenario.projects.values()))).parent
    shutil.move(str(projects), str(tmp_path / "machine-b" / "projects"))
    shutil.rmtree(scenario.home)

    before = tree_state(copy)
    report = run_doctor(copy, EXIT_FAILURE)
    assert tree_state(copy) == before  # read-only, not even -shm changed
    diagnoses = by_id(report)
    assert set(diagnoses) == {t.id for t in scenario.threads.values()}
    for t in scenario.threads.values():
        d = diagnoses[t.id]
        assert d["listed"] is False, t.key
        assert codes(d, "problem") == {"row-path-missing", "cwd-missing"}, t.key
        missing = next(f for f in d["findings"] if f["code"] == "row-path-missing")
        assert str(scenario.home) in missing["message"]
        assert "outside this home" in missing["message"]
        cwd_fix = next(f["fix"] for f in d["findings"] if f["code"] == "cwd-missing")
        assert cwd_fix.startswith("codex-migrate rebind --map ")
    assert report["summary"]["listed"] == 0
    assert report["summary"]["hidden"] == len(scenario.threads)

    # Measured: the real Codex lists none of them (live or archived, every source/provider).
    with AppServer(codex_bin_new, copy) as server:
        listed = server.list_threads()
    assert listed == []

    # The fix doctor names for stale rows works: with the backfill reset, Codex rescans the
    # copy, lists every thread again, and doctor then finds only the moved projects.
    sql(copy, "UPDATE backfill_state SET status = 'pending'")
    with AppServer(codex_bin_new, copy) as server:
        relisted = server.list_threads()
    assert listed_ids(relisted) == {t.id for t in scenario.threads.values()}
    after = by_id(run_doctor(copy, EXIT_FAILURE))
    for t in scenario.threads.values():
        assert after[t.id]["listed"] is True, t.key
        assert codes(after[t.id], "problem") == {"cwd-missing"}, t.key


def test_clean_real_home_passes_and_notes_match_the_default_listing(
    codex_home_new: Scenario, codex_bin_new: Path, tmp_path: Path
) -> None:
    """A home made by Codex is clean: exit 0. `exec` sessions get the non-interactive note,
    and the default listing (no sourceKinds/modelProviders) shows exactly the live threads
    without a note."""
    scenario = codex_home_new
    before = tree_state(scenario.home)
    report = run_doctor(scenario.home, EXIT_OK)
    assert tree_state(scenario.home) == before
    diagnoses = by_id(report)
    assert report["summary"]["problems"] == 0
    assert report["home_findings"] == []
    for t in scenario.threads.values():
        d = diagnoses[t.id]
        assert d["listed"] is True, t.key
        expected = {"non-interactive-source"} if t.source == "exec" else set()
        assert codes(d) == expected, t.key

    full = list_threads_of_copy(codex_bin_new, scenario.home, scratch=tmp_path)
    assert listed_ids(full) == {i for i, d in diagnoses.items() if d["listed"]}

    copy = copy_home(scenario.home, tmp_path / "default-view")
    with AppServer(codex_bin_new, copy) as server:
        default_view = server.request("thread/list", {"limit": 100})["data"]
    no_notes = {
        t.id for t in scenario.threads.values() if not t.archived and not codes(diagnoses[t.id])
    }
    assert listed_ids(default_view) == no_notes
    assert no_notes == {scenario.thread("other_source").id}


def test_other_provider_note_matches_the_default_listing(
    codex_home_new_copy: Scenario, codex_bin_new: Path
) -> None:
    """A thread of a known provider that is not the default one: listed in full, hidden from
    the default listing; doctor says so with a note (exit 0)."""
    scenario = codex_home_new_copy
    thread = scenario.thread("other_source")
    rollout = scenario.rollout_path("other_source")
    head, rest = rollout.read_bytes().split(b"\n", 1)
    assert b'"model_provider":"mock"' in head
    rollout.write_bytes(
        head.replace(b'"model_provider":"mock"', b'"model_provider":"openai"') + b"\n" + rest
    )
    sql(scenario.home, "UPDATE threads SET model_provider = 'openai' WHERE id = ?", (thread.id,))

    d = by_id(run_doctor(scenario.home, EXIT_OK))[thread.id]
    assert codes(d) == {"other-provider"}
    assert d["listed"] is True
    with AppServer(codex_bin_new, scenario.home) as server:
        default_view = server.request("thread/list", {"limit": 100})["data"]
        full = server.list_threads()
    assert thread.id not in listed_ids(default_view)
    assert thread.id in listed_ids(full)


def test_listed_verdicts_match_real_codex(
    codex_home_new_copy: Scenario, codex_bin_new: Path
) -> None:
    """One change per thread of a real home; doctor's verdicts, then the real listing."""
    scenario = codex_home_new_copy
    home = scenario.home
    ids = {k: t.id for k, t in scenario.threads.items()}
    sql(home, "UPDATE threads SET preview = '' WHERE id = ?", (ids["shell"],))
    sql(
        home,
        "UPDATE threads SET rollout_path = '/nonexistent/old-home/' || id || '.jsonl' WHERE id = ?",
        (ids["image"],),
    )
    # Relative to the home's parent (what a relative --codex-home wrote): not resolvable from
    # the folder Codex runs in.
    sql(
        home,
        "UPDATE threads SET rollout_path = substr(rollout_path, ?) WHERE id = ?",
        (len(str(home.parent)) + 2, ids["named"]),
    )
    sql(home, "DELETE FROM threads WHERE id = ?", (ids["multi_turn"],))
    sql(home, "UPDATE threads SET history_mode = 'legacy' WHERE id = ?", (ids["archived"],))
    # 0.169 filters on preview, not on first_user_message: still listed, nothing to report.
    sql(home, "UPDATE threads SET first_user_message = '' WHERE id = ?", (ids["other_source"],))
    orphan = "01a211af-0000-7000-8000-00000000dead"
    sql(home, "CREATE TABLE t AS SELECT * FROM threads WHERE id = ?", (ids["other_source"],))
    sql(home, "UPDATE t SET id = ?, rollout_path = '/nonexistent/gone.jsonl'", (orphan,))
    sql(home, "INSERT INTO threads SELECT * FROM t")
    sql(home, "DROP TABLE t")

    report = run_doctor(home, EXIT_FAILURE)
    diagnoses = by_id(report)
    expected = {
        "shell": ({"empty-preview"}, False),
        "image": ({"row-path-missing"}, False),
        "named": ({"row-path-relative"}, False),
        "multi_turn": (set(), True),  # a file without a row is listed: Codex adds the row
        "archived": ({"history-mode-mismatch"}, True),
        "other_source": (set(), True),
    }
    for key, (problems, listed) in expected.items():
        d = diagnoses[ids[key]]
        assert codes(d, "problem") == problems, key
        assert d["listed"] is listed, key
    assert "file-without-row" in codes(diagnoses[ids["multi_turn"]], "note")
    assert codes(diagnoses[orphan]) == {"row-without-file"}
    assert diagnoses[orphan]["listed"] is False

    with AppServer(codex_bin_new, home) as server:
        real = listed_ids(server.list_threads())
    predicted = {i for i, d in diagnoses.items() if d["listed"]}
    assert real == predicted


def test_stale_backfill_lease_is_retaken(
    codex_home_new_copy: Scenario, codex_bin_new: Path
) -> None:
    """A 'running' backfill whose lease is stale: doctor notes it (exit 0), and Codex retakes
    it at start-up, finishes the backfill and lists the thread whose row was missing."""
    scenario = codex_home_new_copy
    home = scenario.home
    gone = scenario.thread("shell").id
    sql(home, "DELETE FROM threads WHERE id = ?", (gone,))
    stale = int(time.time()) - 2 * BACKFILL_LEASE_SECONDS
    sql(home, "UPDATE backfill_state SET status = 'running', updated_at = ?", (stale,))

    report = run_doctor(home, EXIT_OK)
    assert [f["code"] for f in report["home_findings"]] == ["backfill-lease"]
    assert by_id(report)[gone]["listed"] is True

    with AppServer(codex_bin_new, home) as server:
        assert gone in listed_ids(server.list_threads())
    conn = sqlite3.connect(home / "state_5.sqlite")
    try:
        assert conn.execute("SELECT status FROM backfill_state").fetchone() == ("complete",)
    finally:
        conn.close()
    assert run_doctor(home, EXIT_OK)["home_findings"] == []
