"""Recovery and rollback undo only what their transaction did, where it is still as it left
it: work done after a crash, a copied home's original, and files outside the home survive."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from codex_migrate.errors import EXIT_NO_HOME, EXIT_STALE
from codex_migrate.transaction import CRASH_ENV
from tests.homes import make_state_db, tid, tree_state, write_rollout
from tests.test_import import (
    OLD,
    _import_subprocess,
    _source,
    _target_with_db,
    _tree,
    run,
)


def _dump(db: Path) -> list[str]:
    """``sqlite3 .dump`` of a DB (through a copy, so reading changes nothing)."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _files(home: Path) -> dict[str, tuple[str, int, int]]:
    """The home's files without our folder and without the DB files (compared by dump)."""
    return {k: v for k, v in _tree(home).items() if "sqlite" not in k}


def _crash(src: Path, target: Path, point: str) -> None:
    proc = _import_subprocess(src, target, {CRASH_ENV: point})
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 137, out


def _touch_row(db: Path, thread_id: str, title: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE threads SET title = ? WHERE id = ?", (title, thread_id))
    conn.commit()
    conn.close()


def test_work_done_after_a_crash_survives_recovery(tmp_path: Path) -> None:
    """The issue's repro: crash at `appended`, then a name and a row change, then recover."""
    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    files_before = _files(target)
    index_before = (target / "session_index.jsonl").read_bytes()
    history_before = (target / "history.jsonl").read_bytes()
    expected = tmp_path / "expected.sqlite"
    shutil.copy(target / "state_5.sqlite", expected)
    _touch_row(expected, tid(9), "renamed after the crash")

    _crash(src, target, "appended")
    assert (target / "session_index.jsonl").read_bytes() != index_before  # our names are in
    later = b'{"id":"' + tid(9).encode() + b'","thread_name":"added later"}\n'
    with open(target / "session_index.jsonl", "ab") as f:
        f.write(later)
    _touch_row(target / "state_5.sqlite", tid(9), "renamed after the crash")

    code, out = run("recover", "--codex-home", str(target))
    assert code == 0 and "Rolled back" in out, out
    assert (target / "session_index.jsonl").read_bytes() == index_before + later
    assert (target / "history.jsonl").read_bytes() == history_before
    assert _dump(target / "state_5.sqlite") == _dump(expected)
    files_after = _files(target)
    files_after.pop("session_index.jsonl")
    files_before.pop("session_index.jsonl")
    assert files_after == files_before


def test_a_row_changed_after_the_crash_is_kept_and_reported(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    _crash(src, target, "appended")
    _touch_row(target / "state_5.sqlite", tid(1), "Codex used it since")
    code, out = run("recover", "--codex-home", str(target))
    assert code == 0, out
    assert f"threads row {tid(1)} changed since; kept" in out
    assert "replaced/" in out and "snapshot/" in out  # where the originals are
    conn = sqlite3.connect(target / "state_5.sqlite")
    ids = sorted(r[0] for r in conn.execute("SELECT id FROM threads"))
    conn.close()
    assert ids == [tid(1), tid(9)]  # ours of 2 and 3 gone, the changed one kept


def test_recover_on_a_copied_home_touches_only_the_copy(tmp_path: Path) -> None:
    src = _source(tmp_path)
    original = _target_with_db(tmp_path)
    files_before, dump_before = _files(original), _dump(original / "state_5.sqlite")
    _crash(src, original, "appended")
    copy = tmp_path / "copy"
    shutil.copytree(original, copy, symlinks=True)
    crashed = tree_state(original)

    code, out = run("recover", "--codex-home", str(copy))
    assert code == 0 and "Rolled back" in out, out
    assert tree_state(original) == crashed, "the original home must not be touched"
    assert _files(copy) == files_before
    assert _dump(copy / "state_5.sqlite") == dump_before


def test_recover_on_a_copy_whose_original_is_gone(tmp_path: Path) -> None:
    src = _source(tmp_path)
    original = _target_with_db(tmp_path)
    files_before, dump_before = _files(original), _dump(original / "state_5.sqlite")
    _crash(src, original, "db")
    copy = tmp_path / "copy"
    shutil.copytree(original, copy, symlinks=True)
    shutil.rmtree(original)
    code, out = run("recover", "--codex-home", str(copy))
    assert code == 0 and "Rolled back" in out, out
    assert _files(copy) == files_before
    assert _dump(copy / "state_5.sqlite") == dump_before
    assert not original.exists()


def _hostile_journal(target: Path, rel: str, victim: Path) -> Path:
    tx = target / "migration_transactions" / "20260101T000000-abcdef"
    tx.mkdir(parents=True)
    digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    journal = {
        "version": 2,
        "id": tx.name,
        "kind": "import",
        "state": "applying",
        "creates": [rel],
        "written": {rel: digest},
        "appends": {rel: {"size": 0, "length": 6, "sha256": digest}},
    }
    (tx / "journal.json").write_text(json.dumps(journal))
    return tx


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_a_journal_naming_a_path_outside_the_home_is_refused(tmp_path: Path, how: str) -> None:
    target = _target_with_db(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious\n")
    if how == "symlink":
        (target / "out").symlink_to(tmp_path)
        rel = "out/victim.txt"
    else:
        rel = "../victim.txt" if how == "dotdot" else str(victim)
    tx = _hostile_journal(target, rel, victim)
    before = _tree(target)

    code, out = run("recover", "--codex-home", str(target))
    assert code == 1 and f"Refused transaction {tx.name}" in out, out
    assert "not a path inside the home" in out or "outside the home" in out
    assert victim.read_bytes() == b"precious\n"
    assert _tree(target) == before
    assert json.loads((tx / "journal.json").read_text())["state"] == "refused"
    # it blocks nothing afterwards
    code, out = run(
        "import",
        str(_source(tmp_path)),
        "--codex-home",
        str(target),
        "--map",
        f"{OLD}=/new",
        "--yes",
    )
    assert code == 0, out
    assert victim.read_bytes() == b"precious\n"


def test_recovery_never_pads_a_shortened_file_with_nul_bytes(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    _crash(src, target, "appended")
    (target / "session_index.jsonl").write_bytes(b"")  # emptied after the crash
    (target / "history.jsonl").write_bytes(b"{}\n")  # shortened after the crash
    code, out = run("recover", "--codex-home", str(target))
    assert code == 0, out
    assert (target / "session_index.jsonl").read_bytes() == b""
    assert (target / "history.jsonl").read_bytes() == b"{}\n"


def test_a_thread_extended_between_plan_and_apply_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan says "replace" (the target is a prefix); Codex then extends the target's
    copy while the prompt waits: the write is refused and the new bytes stay."""
    import codex_migrate.cli.importing as cli_module

    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    mine = next(target.rglob(f"*{tid(1)}.jsonl"))
    extra = b'{"timestamp":"t","type":"event_msg","payload":{"type":"later"}}\n'

    def codex_extends_it(yes: bool, question: str) -> None:
        with open(mine, "ab") as f:
            f.write(extra)

    monkeypatch.setattr(cli_module, "confirm_write", codex_extends_it)
    expected = mine.read_bytes() + extra
    rows_before = _dump(target / "state_5.sqlite")
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
    )
    assert code == EXIT_STALE, out
    assert "the target changed since the preview" in out and "Run the command again" in out
    assert mine.read_bytes() == expected
    assert _dump(target / "state_5.sqlite") == rows_before
    journals = list((target / "migration_transactions").glob("*/journal.json"))
    assert journals == []  # not even a transaction was started


def test_rollback_dry_run_says_what_the_rollback_does_including_refusal(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes", "--json"
    )
    tx = json.loads(out)["report"]["transaction_id"]
    code, dry = run("transactions", "rollback", tx, "--codex-home", str(target), "--dry-run")
    assert code == 0 and "remove sessions/" in dry and "put back" in dry, dry
    # without --yes and no terminal: asks, cannot, refuses
    before = _tree(target)
    code, out = run("transactions", "rollback", tx, "--codex-home", str(target))
    assert code == 1 and "no terminal to ask" in out
    assert _tree(target) == before
    # a thread changed since: the dry run refuses exactly as the rollback does
    f = next(target.rglob(f"*{tid(2)}.jsonl"))
    with open(f, "ab") as fh:
        fh.write(b'{"timestamp":"t","type":"event_msg","payload":{"type":"x"}}\n')
    code, dry = run("transactions", "rollback", tx, "--codex-home", str(target), "--dry-run")
    code2, real = run("transactions", "rollback", tx, "--codex-home", str(target), "--yes")
    assert code == code2 == 1
    assert "changed after" in dry and dry == real


def test_ctrl_c_during_a_write_rolls_back_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import codex_migrate.staging as staging

    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    before, dump = _tree(target), _dump(target / "state_5.sqlite")

    def interrupted(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(staging, "stage_rewritten", interrupted)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
    )
    assert code == 130, out
    assert "interrupted: the import was rolled back; nothing changed" in out
    assert "Traceback" not in out and "Aborted" not in out
    assert _tree(target) == before and _dump(target / "state_5.sqlite") == dump


def test_ctrl_c_after_the_commit_keeps_the_import_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C during the clean-up after the journal says committed (removing the staging
    folder) keeps the whole import, as a kill -9 at that moment does: a committed
    transaction is undone only by `transactions rollback`, never by the error path."""
    import codex_migrate.transaction as transaction

    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    before, dump = _tree(target), _dump(target / "state_5.sqlite")
    real_rmtree = shutil.rmtree

    def interrupted(path: object, *args: object, **kwargs: object) -> None:
        # Python delivers a Ctrl-C to the main thread only (the folder may also be
        # removed on a thread before the commit: see Transaction.clear_staging)
        main = threading.current_thread() is threading.main_thread()
        if Path(str(path)).name == "staging" and main:
            raise KeyboardInterrupt
        real_rmtree(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(transaction.shutil, "rmtree", interrupted)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
    )
    monkeypatch.undo()
    assert code == 130, out
    assert "rolled back" not in out and "Traceback" not in out
    (journal,) = (target / "migration_transactions").glob("*/journal.json")
    tx_id = journal.parent.name
    assert json.loads(journal.read_text())["state"] == "committed"
    assert tx_id in out and "kept" in out
    after, dump_after = _no_db(_tree(target)), _dump(target / "state_5.sqlite")
    assert after != _no_db(before) and len(dump_after) > len(dump)
    code, out = run("recover", "--codex-home", str(target))
    assert code == 0 and "Rolled back" not in out, out
    assert _no_db(_tree(target)) == after and _dump(target / "state_5.sqlite") == dump_after
    code, out = run("transactions", "rollback", tx_id, "--codex-home", str(target), "--yes")
    assert code == 0, out
    assert _no_db(_tree(target)) == _no_db(before) and _dump(target / "state_5.sqlite") == dump


def test_ctrl_c_while_the_journal_says_committed_keeps_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that arrives while the committed state is being saved (the journal on disk
    may already say committed) is taken once the transaction knows it is committed: the
    import is kept whole, never rolled back under a journal that says committed."""
    import signal

    from codex_migrate.journal import Journal

    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    before, dump = _tree(target), _dump(target / "state_5.sqlite")
    real_save = Journal.save

    def save_then_ctrl_c(self: Journal, folder: Path) -> None:
        real_save(self, folder)
        if self.state == "committed":
            os.kill(os.getpid(), signal.SIGINT)  # as the user's Ctrl-C: raised at once

    monkeypatch.setattr(Journal, "save", save_then_ctrl_c)
    # Ctrl-C raises as in a terminal, also when the suite runs as a background job (which
    # inherits SIGINT ignored, and then Python installs no handler for it)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code, out = run(
            "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.undo()
    assert code == 130, out
    assert "rolled back" not in out and "kept" in out, out
    (journal,) = (target / "migration_transactions").glob("*/journal.json")
    assert json.loads(journal.read_text())["state"] == "committed"
    assert _no_db(_tree(target)) != _no_db(before)
    assert len(_dump(target / "state_5.sqlite")) > len(dump)


def _no_space(path: object) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", str(path))


def test_a_full_disk_during_the_rollback_is_finished_by_recover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import fails on a full disk after writing files and rows; the rollback then fails
    too (the journal cannot be rewritten). No staging is left behind, and `recover` with
    free space finishes: the home is exactly as before."""
    import codex_migrate.importer as importer
    import codex_migrate.journal as journal_module

    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    files_before, dump_before = _files(target), _dump(target / "state_5.sqlite")
    real_save = journal_module.Journal.save
    full = {"on": False}

    def save(self: journal_module.Journal, tx_dir: Path) -> None:
        if full["on"]:
            raise _no_space(tx_dir / "journal.json.part")
        real_save(self, tx_dir)

    class VerifyFillsTheDisk:  # the check (on a thread) raising once the appends are made
        def join(self) -> None:
            pass

        def result(self) -> list[str]:
            full["on"] = True
            raise _no_space(target / "history.jsonl")

    monkeypatch.setattr(journal_module.Journal, "save", save)
    monkeypatch.setattr(importer, "verify_meanwhile", lambda *a, **k: VerifyFillsTheDisk())
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
    )
    assert code == 1, out
    assert "rolling it back stopped part way" in out and "codex-migrate recover" in out
    assert "Traceback" not in out
    assert not list(target.rglob("staging")) and not list(target.rglob("*.part"))
    assert not list(target.rglob("*.codex-migrate-*"))

    full["on"] = False  # space freed
    code, out = run("recover", "--codex-home", str(target))
    assert code == 0 and "Rolled back" in out, out
    assert _files(target) == files_before
    assert _dump(target / "state_5.sqlite") == dump_before
    code, out = run("recover", "--codex-home", str(target))
    assert "Nothing to recover" in out


def test_a_full_disk_while_appending_leaves_no_partial_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    files_before, dump_before = _files(target), _dump(target / "state_5.sqlite")
    real_open = builtins.open

    class ShortWrite:
        def __init__(self, f: object) -> None:
            self.f = f

        def __enter__(self) -> ShortWrite:
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()  # type: ignore[attr-defined]

        def write(self, data: bytes) -> int:
            self.f.write(data[:5])  # type: ignore[attr-defined]
            self.f.flush()  # type: ignore[attr-defined]
            raise _no_space("history.jsonl")

    def fake_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        f = real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]
        if mode == "ab" and str(file).endswith("history.jsonl"):
            return ShortWrite(f)
        return f

    monkeypatch.setattr(builtins, "open", fake_open)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes"
    )
    monkeypatch.undo()
    assert code == 1 and "disk is full" in out and "rolled back" in out, out
    assert _files(target) == files_before
    assert _dump(target / "state_5.sqlite") == dump_before


def test_a_transaction_folder_without_a_journal_is_cleaned_not_blocking(tmp_path: Path) -> None:
    """The disk filled up before the first journal save: nothing in the home was touched."""
    target = _target_with_db(tmp_path)
    stale = target / "migration_transactions" / "20260101T000000-000000"
    (stale / "staging" / "sessions").mkdir(parents=True)
    (stale / "staging" / "sessions" / "half.jsonl").write_bytes(b"{")
    code, out = run("recover", "--codex-home", str(target))
    assert code == 0 and "Nothing to recover" in out
    assert not stale.exists()


def test_an_old_format_journal_is_undone_only_where_provably_ours(tmp_path: Path) -> None:
    target = _target_with_db(tmp_path)
    created = target / "sessions" / "2026" / "05" / "05" / "rollout-x.jsonl"
    created.parent.mkdir(parents=True)
    created.write_bytes(b'{"a":1}\n')
    index = target / "session_index.jsonl"
    size = index.stat().st_size
    with open(index, "ab") as f:
        f.write(b'{"id":"z","thread_name":"whose?"}\n')
    index_now = index.read_bytes()
    tx = target / "migration_transactions" / "20250101T000000-aaaaaa"
    tx.mkdir(parents=True)
    (tx / "journal.json").write_text(
        json.dumps(
            {
                "id": tx.name,
                "kind": "import",
                "home": "/somewhere/else/.codex",
                "state": "applying",
                "creates": ["sessions/2026/05/05/rollout-x.jsonl"],
                "written": {
                    "sessions/2026/05/05/rollout-x.jsonl": hashlib.sha256(b'{"a":1}\n').hexdigest()
                },
                "appends": {"session_index.jsonl": size},
                "created_dirs": ["sessions/2026/05/05", "sessions/2026/05"],
                "db_touched": True,
                "dbs": {"/somewhere/else/.codex/state_5.sqlite": "0-state_5.sqlite"},
            }
        )
    )
    dump = _dump(target / "state_5.sqlite")
    code, out = run("recover", "--codex-home", str(target))
    assert code == 0 and "Rolled back" in out, out
    assert not created.exists() and not created.parent.exists()
    assert index.read_bytes() == index_now  # unhashed tail: kept, and said so
    assert "older journal" in out
    assert _dump(target / "state_5.sqlite") == dump


def test_rebind_refuses_a_stale_plan(tmp_path: Path) -> None:
    from codex_migrate.catalog import build_catalog
    from codex_migrate.fingerprint import TargetChanged
    from codex_migrate.home import open_home
    from codex_migrate.pathmap import PathMapper
    from codex_migrate.rebind import apply_rebind, build_rebind_plan

    home = tmp_path / "home"
    f = write_rollout(home, 1, cwd=f"{OLD}/app")
    make_state_db(home, [{"id": tid(1), "rollout_path": str(f), "cwd": f"{OLD}/app"}])
    mapper = PathMapper([f"{OLD}={tmp_path / 'new'}"])
    plan = build_rebind_plan(build_catalog(open_home(home)), mapper, all_projects=True)
    assert plan.items
    with open(f, "ab") as fh:
        fh.write(b'{"timestamp":"t","type":"event_msg","payload":{"type":"later"}}\n')
    expected = f.read_bytes()
    with pytest.raises(TargetChanged):
        apply_rebind(plan)
    assert f.read_bytes() == expected
    assert not list((home / "migration_transactions").glob("*/journal.json"))


def test_journal_paths_are_relative_to_the_home(tmp_path: Path) -> None:
    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    code, out = run(
        "import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new", "--yes", "--json"
    )
    assert code == 0, out
    tx = json.loads(out)["report"]["transaction_id"]
    journal = json.loads((target / "migration_transactions" / tx / "journal.json").read_text())
    named = [*journal["creates"], *journal["replaces"], *journal["appends"], *journal["dbs"]]
    assert named and all(not os.path.isabs(p) and ".." not in p for p in named)
    assert journal["rowlogs"] and journal["appends"]["history.jsonl"]["sha256"]


def test_ctrl_c_with_worker_processes_rolls_back_without_a_worker_traceback(
    tmp_path: Path,
) -> None:
    """A real SIGINT to the whole process group, as a terminal's Ctrl-C sends it, once the
    transaction has started (the rewrite runs on worker processes): one message, the
    rollback, no traceback."""
    import signal
    import subprocess
    import sys
    import time

    from tests.test_import import _journal_states, _unfinished_journal

    src = tmp_path / "source"
    for n in range(1000, 1040):  # ~48 MB: enough for the parallel path
        write_rollout(src, n, cwd=f"{OLD}/p{n % 3}", turns=[("q" * 4000, "a" * 16000)] * 60)
    template = _target_with_db(tmp_path)
    for attempt in range(5):
        target = tmp_path / f"target-{attempt}"
        shutil.copytree(template, target)
        before, dump = _tree(target), _dump(target / "state_5.sqlite")
        proc = subprocess.Popen(
            [sys.executable, "-m", "codex_migrate", "import", str(src), "--codex-home",
             str(target), "--map", f"{OLD}=/new", "--yes"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while proc.poll() is None and not _unfinished_journal(target):
            assert time.monotonic() < deadline, "the import never started its transaction"
            time.sleep(0.002)
        if proc.poll() is not None:
            proc.communicate()
            continue  # it finished before we looked: try again
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        text = out.decode()
        if list(_journal_states(target).values()) == ["committed"]:
            # Committed before the signal landed: done, or stopped in its clean-up or output
            # (the Ctrl-C message then says nothing unfinished was left to roll back).
            assert proc.returncode in (0, 130), text
            assert "Traceback" not in text and "rolled back; nothing changed" not in text
            code, out_text = run("recover", "--codex-home", str(target))
            assert code == 0 and "Rolled back" not in out_text, out_text
            continue
        assert proc.returncode == 130, text
        assert "interrupted: the import was rolled back; nothing changed" in text
        assert "Traceback" not in text and "KeyboardInterrupt" not in text
        # The rows as before; the DB file's bytes too unless the rows had been written (their
        # rollback deletes them again: other pages, another change counter).
        (journal,) = (target / "migration_transactions").glob("*/journal.json")
        if json.loads(journal.read_text())["rowlogs"]:
            before, now = _no_db(before), _no_db(_tree(target))
        else:
            now = _tree(target)
        assert now == before
        assert _dump(target / "state_5.sqlite") == dump
        return
    pytest.fail("the import always finished before the signal landed")


def _no_db(tree: dict[str, tuple[str, int, int]]) -> dict[str, tuple[str, int, int]]:
    return {k: v for k, v in tree.items() if "sqlite" not in k}


def test_a_full_disk_during_recovery_stops_cleanly_and_recover_finishes_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import codex_migrate.undo as undo

    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    index_before = (target / "session_index.jsonl").read_bytes()
    dump_before = _dump(target / "state_5.sqlite")
    _crash(src, target, "appended")
    later = b'{"id":"x","thread_name":"after the crash"}\n'
    with open(target / "session_index.jsonl", "ab") as f:
        f.write(later)  # so recovery must take ours out of the middle: a rewrite

    def no_space(*args: object, **kwargs: object) -> None:
        raise _no_space(target / "session_index.jsonl.codex-migrate-undo")

    monkeypatch.setattr(undo.shutil, "copyfileobj", no_space)
    code, out = run("recover", "--codex-home", str(target))
    assert code == 1 and "stopped part way (the disk is full)" in out, out
    assert "run `codex-migrate recover` again" in out and "Traceback" not in out
    assert not list(target.rglob("*.codex-migrate-undo")) and not list(target.rglob("staging"))
    monkeypatch.undo()
    code, out = run("recover", "--codex-home", str(target))
    assert code == 0 and "Rolled back" in out, out
    assert (target / "session_index.jsonl").read_bytes() == index_before + later
    assert _dump(target / "state_5.sqlite") == dump_before


def test_a_recovery_killed_half_way_leaves_nothing_behind_once_repeated(tmp_path: Path) -> None:
    """A recovery killed after writing its temp copy but before the rename: the next
    recovery removes that temp file (ours by name) and finishes."""
    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    index = target / "session_index.jsonl"
    index_before = index.read_bytes()
    _crash(src, target, "appended")
    (target / "session_index.jsonl.codex-migrate-undo").write_bytes(b"half a rewrite")
    (target / "history.jsonl.codex-migrate-restore").write_bytes(b"half a copy")
    code, out = run("recover", "--codex-home", str(target))
    assert code == 0 and "Rolled back" in out, out
    assert index.read_bytes() == index_before
    assert not list(target.glob("*.codex-migrate-*"))


def test_an_old_format_committed_journal_is_refused_clearly(tmp_path: Path) -> None:
    target = _target_with_db(tmp_path)
    tx = target / "migration_transactions" / "20250101T000000-bbbbbb"
    tx.mkdir(parents=True)
    (tx / "journal.json").write_text(
        json.dumps(
            {"id": tx.name, "kind": "import", "home": "/elsewhere", "state": "committed",
             "creates": ["sessions/x.jsonl"], "appends": {"history.jsonl": 10}}
        )
    )  # fmt: skip
    before = _tree(target)
    for extra in (["--dry-run"], ["--yes"]):
        code, out = run("transactions", "rollback", tx.name, "--codex-home", str(target), *extra)
        assert code == 1 and "cannot be undone safely" in out, out
    assert _tree(target) == before


def test_a_rollback_step_failing_on_a_full_disk_is_finished_by_recover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Putting back a replaced rollout needs space; with none, the rollback stops, says so,
    and a later `recover` finishes it: the replaced thread is exactly as before."""
    import codex_migrate.undo as undo
    import codex_migrate.verify as verify

    src = _source(tmp_path)
    target = _target_with_db(tmp_path)
    files_before, dump_before = _files(target), _dump(target / "state_5.sqlite")

    def verify_fills_the_disk(*args: object, **kwargs: object) -> list[str]:
        raise _no_space(target / "history.jsonl")

    def restore_needs_space(saved: Path, dest: Path) -> object:
        def run() -> None:
            raise _no_space(dest)

        return run

    monkeypatch.setattr(verify, "verify_written", verify_fills_the_disk)  # on its thread
    monkeypatch.setattr(undo, "_restore", restore_needs_space)
    code, out = run("import", str(src), "--codex-home", str(target), "--map", f"{OLD}=/new",
                    "--yes")  # fmt: skip
    assert code == 1 and "stopped part way" in out and "codex-migrate recover" in out, out
    assert "Traceback" not in out
    monkeypatch.undo()
    code, out = run("recover", "--codex-home", str(target))
    assert code == 0 and "Rolled back" in out, out
    assert _files(target) == files_before
    assert _dump(target / "state_5.sqlite") == dump_before


def test_recover_of_a_home_that_does_not_exist_makes_nothing(tmp_path: Path) -> None:
    """A mistyped ``--codex-home`` is named as missing (exit code and JSON code), and no
    folder is made for it: recovery writes only into a home that is there."""
    missing = tmp_path / "no-such-home"
    result = CliRunner().invoke(cli, ["recover", "--codex-home", str(missing), "--json"])
    assert result.exit_code == EXIT_NO_HOME
    assert json.loads(result.stderr)["error"]["code"] == "home-missing"
    assert not missing.exists()
