"""`backup`, `verify-backup` and archive SOURCEs on hand-made and fixture homes (no npm needed).

Real-Codex proofs live in ``test_backup_codex.py``; the kill test in
``test_backup_interrupt.py``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import zstandard
from click.testing import CliRunner

from codex_migrate.backup import BackupError, is_credential, run_backup
from codex_migrate.backup.verify import verify_backup
from codex_migrate.catalog import build_catalog
from codex_migrate.cli import Group
from codex_migrate.cli.backup import backup_command, verify_backup_command
from codex_migrate.errors import EXIT_FAILURE, HomeNotFound
from codex_migrate.home import open_home
from codex_migrate.manifest import (
    MANIFEST_NAME,
    BackupIncomplete,
    Manifest,
    ManifestError,
    is_safe_relpath,
)
from codex_migrate.source import open_source
from tests.harness.fixtures import install_fixture
from tests.homes import tid, tree_state, write_rollout

POSIX = os.name != "nt"
FORMATS = ["folder", "tar.zst", "zip"]


@click.group(cls=Group)
def cli() -> None:
    """The two commands on a group like the real one (same error handling)."""


cli.add_command(backup_command)
cli.add_command(verify_backup_command)


# -- a home with everything a real one has ----------------------------------------------------


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_state_db(home: Path, rows: list[tuple[str, Path, str]]) -> sqlite3.Connection:
    """A WAL-mode state DB whose rows stay in the ``-wal`` file: the returned connection
    (still open, auto-checkpoint off) plays a Codex that is running."""
    db = home / "state_5.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT, cwd TEXT)")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    for thread_id, rollout, cwd in rows:
        conn.execute("INSERT INTO threads VALUES (?, ?, ?)", (thread_id, str(rollout), cwd))
    conn.commit()
    return conn


def make_history_db(home: Path) -> None:
    conn = sqlite3.connect(home / "thread_history_1.sqlite")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE thread_items (thread_id TEXT, offset INTEGER)")
    conn.execute("INSERT INTO thread_items VALUES (?, 0)", (tid(1),))
    conn.commit()
    conn.close()


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A home with 3 projects, archived and compressed rollouts, indexes, DBs held open,
    and every kind of file a backup must leave out."""
    root = tmp_path / "codex-home"
    app, site, tool = (f"/Users/alex/Projects/{p}" for p in ("app", "site", "tool"))
    rows = [
        (tid(1), write_rollout(root, 1, cwd=app), app),
        (tid(2), write_rollout(root, 2, cwd=app, era="legacy"), app),
        (tid(3), write_rollout(root, 3, cwd=site, archived=True), site),
    ]
    plain = write_rollout(root, 4, cwd=tool)
    zst = plain.with_name(plain.name + ".zst")
    zst.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    plain.unlink()
    rows.append((tid(4), zst, tool))
    (root / "session_index.jsonl").write_text(
        "".join(
            json.dumps({"id": tid(n), "thread_name": f"name {n}", "updated_at": "t"}) + "\n"
            for n in (1, 2, 3)
        )
    )
    history = root / "history.jsonl"
    history.write_text(
        "".join(
            json.dumps({"session_id": tid(n), "ts": 1700000000 + n, "text": f"prompt {n}"}) + "\n"
            for n in (1, 2, 3, 4)
        )
    )
    os.chmod(history, 0o600)
    conn = make_state_db(root, rows)
    make_history_db(root)
    secrets = {
        "auth.json": '{"OPENAI_API_KEY": "sk-secret"}',
        ".credentials.json": '{"mcp": "oauth-token"}',
        "config.toml": 'model = "gpt-5"\n',
        "installation_id": "1234",
        "skills/.system/demo/SKILL.md": "# skill",
        "plugins/p/plugin.json": "{}",
        "log/codex-tui.log": "log line",
        ".tmp/plugins.sync.lock": "",
        "mcp_tokens.json": "{}",
        "notes/keep-me.txt": "user notes",
        "state.lock": "",
    }
    for rel, text in secrets.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    logs = sqlite3.connect(root / "logs_2.sqlite")
    logs.execute("CREATE TABLE logs (line TEXT)")
    logs.execute("INSERT INTO logs VALUES ('hello')")
    logs.commit()
    logs.close()
    # Distinct, old mtimes prove they are kept.
    for n, path in enumerate(sorted(p for p in root.rglob("*") if p.is_file())):
        if not path.name.endswith(("-wal", "-shm")):
            os.utime(path, ns=(1_600_000_000_123_456_789 + n, 1_600_000_000_123_456_789 + n))
    try:
        yield root
    finally:
        conn.close()


SESSION_FILES = {
    "sessions/2026/03/04/" + f"rollout-2026-03-04T10-20-30-{tid(1)}.jsonl",
    "sessions/2026/03/04/" + f"rollout-2026-03-04T10-20-30-{tid(2)}.jsonl",
    "sessions/2026/03/04/" + f"rollout-2026-03-04T10-20-30-{tid(4)}.jsonl.zst",
    "archived_sessions/" + f"rollout-2026-03-04T10-20-30-{tid(3)}.jsonl",
    "session_index.jsonl",
    "history.jsonl",
    "state_5.sqlite",
    "thread_history_1.sqlite",
}


def files_of(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def do_backup(home: Path, out: Path, fmt: str, **kw: Any) -> Any:
    if fmt == "folder":
        return run_backup(open_home(home), output_parent=out, **kw)
    return run_backup(open_home(home), archive=out / f"backup.{fmt}", **kw)


def extracted(report: Any, tmp_path: Path) -> Iterator[Path]:
    """The backup's files on disk, whatever the format (archives through open_source)."""
    with open_source(report.path, tmp_parent=tmp_path) as h:
        yield h.root


# -- content ----------------------------------------------------------------------------------


def test_default_backup_is_session_data_only(home: Path, tmp_path: Path) -> None:
    before = tree_state(home)
    report = run_backup(open_home(home), output_parent=tmp_path / "out")
    root = tmp_path / "out" / "Codex_backup"
    assert report.path == root and report.format == "folder" and report.content == "sessions"
    assert files_of(root) == SESSION_FILES | {MANIFEST_NAME}
    assert report.files == len(SESSION_FILES) and report.threads == 4 and report.rollouts == 4
    left_out = {item["path"] for item in report.left_out}
    for name in ("auth.json", ".credentials.json", "config.toml", "installation_id", "skills/"):
        assert name in left_out
    assert {"plugins/", "log/", ".tmp/", "logs_2.sqlite", "mcp_tokens.json"} <= left_out
    # Rollouts and indexes are byte-identical, with their mtimes.
    for rel in SESSION_FILES - {"state_5.sqlite", "thread_history_1.sqlite"}:
        assert _sha(root / rel) == _sha(home / rel), rel
        assert (root / rel).stat().st_mtime_ns == (home / rel).stat().st_mtime_ns, rel
    if POSIX:
        assert stat.S_IMODE((root / "history.jsonl").stat().st_mode) == 0o600
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert tree_state(home) == before or _only_shm_changed(before, tree_state(home))
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["source_home"] == str(home)
    assert manifest["codex_versions"] == {"0.169.0": 3, "0.80.0": 1}  # .zst read too
    assert {f["path"] for f in manifest["files"]} == SESSION_FILES
    assert verify_backup(root).ok


def _only_shm_changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """SQLite may refresh a ``-shm`` index when it reads; nothing else may change."""
    diff = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    return all(k.endswith("-shm") for k in diff)


def test_db_snapshot_includes_what_is_still_in_the_wal(home: Path, tmp_path: Path) -> None:
    wal = home / "state_5.sqlite-wal"
    assert wal.stat().st_size > 0
    db_bytes, wal_bytes = (home / "state_5.sqlite").read_bytes(), wal.read_bytes()
    # The main file alone does not hold the rows: a plain file copy would lose them.
    alone = tmp_path / "alone" / "state_5.sqlite"
    alone.parent.mkdir()
    alone.write_bytes(db_bytes)
    assert sqlite3.connect(alone).execute("SELECT count(*) FROM threads").fetchone()[0] == 0

    report = run_backup(open_home(home), output_parent=tmp_path / "out")

    copy = report.path / "state_5.sqlite"
    conn = sqlite3.connect(copy)
    assert conn.execute("SELECT count(*) FROM threads").fetchone()[0] == 4
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert not (report.path / "state_5.sqlite-wal").exists()
    assert (home / "state_5.sqlite").read_bytes() == db_bytes, "the source DB is untouched"
    assert wal.read_bytes() == wal_bytes, "the source WAL is untouched"
    assert report.databases[0]["method"] == "sqlite-backup-api"
    assert report.databases[0]["threads"] == 4


def test_db_written_during_the_backup_is_never_torn(home: Path, tmp_path: Path) -> None:
    """A writer busy while the snapshot runs: the copy is one consistent state."""
    writer = sqlite3.connect(home / "state_5.sqlite")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO threads VALUES ('uncommitted', '', '')")
    try:
        report = run_backup(open_home(home), output_parent=tmp_path / "out")
    finally:
        writer.rollback()
        writer.close()
    conn = sqlite3.connect(report.path / "state_5.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = {r[0] for r in conn.execute("SELECT id FROM threads")}
    assert ids == {tid(n) for n in (1, 2, 3, 4)}


def test_full_backup_adds_the_rest_but_never_credentials(home: Path, tmp_path: Path) -> None:
    report = run_backup(open_home(home), output_parent=tmp_path / "out", full=True)
    got = files_of(report.path)
    assert report.content == "full"
    for rel in (
        "config.toml",
        "installation_id",
        "skills/.system/demo/SKILL.md",
        "plugins/p/plugin.json",
        "log/codex-tui.log",
        "notes/keep-me.txt",
        "logs_2.sqlite",
    ):
        assert rel in got, rel
    for rel in ("auth.json", ".credentials.json", "mcp_tokens.json", "state.lock"):
        assert rel not in got, rel
    assert not any(p.startswith(".tmp/") or p.endswith(("-wal", "-shm")) for p in got)
    assert got >= SESSION_FILES
    logs = sqlite3.connect(report.path / "logs_2.sqlite")
    assert logs.execute("SELECT line FROM logs").fetchall() == [("hello",)]
    logs.close()
    left_out = {item["path"] for item in report.left_out}
    assert {"auth.json", ".credentials.json", "mcp_tokens.json", ".tmp/"} <= left_out


def test_full_backup_is_announced_loudly(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["backup", "--codex-home", str(home), "--output-parent", str(out), "--full"]
    )
    assert result.exit_code == 0, result.output
    assert "WARNING: --full" in result.stderr
    assert "can hold secrets" in result.stdout


@pytest.mark.parametrize(
    "name,secret",
    [
        ("auth.json", True),
        (".credentials.json", True),
        ("oauth_tokens.json", True),
        ("github-token", True),
        ("server.pem", True),
        ("config.toml", False),
        ("history.jsonl", False),
        ("installation_id", False),
    ],
)
def test_credential_names(name: str, secret: bool) -> None:
    assert is_credential(name) is secret


# -- selection --------------------------------------------------------------------------------


def test_select_threads_and_projects(home: Path, tmp_path: Path) -> None:
    report = run_backup(
        open_home(home),
        output_parent=tmp_path / "out",
        threads=[tid(3).upper()],  # ids match whatever their case
        projects=["/Users/alex/Projects/tool/"],  # a trailing slash is fine
    )
    root = report.path
    rollouts = {p for p in files_of(root) if "rollout-" in p}
    assert rollouts == {
        f"archived_sessions/rollout-2026-03-04T10-20-30-{tid(3)}.jsonl",
        f"sessions/2026/03/04/rollout-2026-03-04T10-20-30-{tid(4)}.jsonl.zst",
    }
    history = [json.loads(line) for line in (root / "history.jsonl").read_text().splitlines()]
    assert [h["session_id"] for h in history] == [tid(3), tid(4)]
    index = [json.loads(line) for line in (root / "session_index.jsonl").read_text().splitlines()]
    assert [i["id"] for i in index] == [tid(3)]
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["selection"]["threads"] == sorted([tid(3), tid(4)])
    state = next(d for d in manifest["databases"] if d["path"] == "state_5.sqlite")
    assert state["scope"] == "whole" and "not selected" in state["note"]
    if POSIX:
        assert stat.S_IMODE((root / "history.jsonl").stat().st_mode) == 0o600
    assert verify_backup(root).ok


def test_selected_thread_takes_the_rollouts_it_continues(home: Path, tmp_path: Path) -> None:
    earlier = write_rollout(home, 6, cwd="/Users/alex/Projects/app", archived=True)
    later = write_rollout(home, 5, cwd="/Users/alex/Projects/app")
    reference = {"type": "rollout_reference", "payload": {"rollout_path": str(earlier)}}
    with later.open("a") as f:
        f.write(json.dumps({"timestamp": "t", **reference}) + "\n")
    report = run_backup(open_home(home), output_parent=tmp_path / "out", threads=[tid(5)])
    rollouts = {p.rsplit("/", 1)[-1] for p in files_of(report.path) if "rollout-" in p}
    assert rollouts == {earlier.name, later.name}


def test_unknown_selection_writes_nothing(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(BackupError, match="no thread 0000dead"):
        run_backup(open_home(home), output_parent=out, threads=["0000dead"])
    with pytest.raises(BackupError, match="no project /nowhere"):
        run_backup(open_home(home), output_parent=out, projects=["/nowhere"])
    assert not out.exists() or list(out.iterdir()) == []


# -- formats, never overwriting, metadata -----------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips(home: Path, tmp_path: Path, fmt: str) -> None:
    report = do_backup(home, tmp_path / "out", fmt)
    assert report.format == fmt
    check = verify_backup(report.path)
    assert check.ok, check.problems
    assert check.files_checked == len(SESSION_FILES)
    with open_source(report.path, tmp_parent=tmp_path) as h:
        assert h.kind == "backup"
        assert files_of(h.root) == SESSION_FILES | {MANIFEST_NAME}
        for rel in SESSION_FILES - {"state_5.sqlite", "thread_history_1.sqlite"}:
            assert _sha(h.root / rel) == _sha(home / rel), rel
            assert (h.root / rel).stat().st_mtime_ns == (home / rel).stat().st_mtime_ns, rel
            if POSIX:
                mode = stat.S_IMODE((h.root / rel).stat().st_mode)
                assert mode == stat.S_IMODE((home / rel).stat().st_mode), rel
        source_ids = {t.id for t in build_catalog(open_home(home)).threads}
        assert {t.id for t in build_catalog(h).threads} == source_ids
        extracted_root = h.root
    if fmt != "folder":
        assert not extracted_root.exists(), "the temp extraction is removed afterwards"
        if POSIX:
            assert stat.S_IMODE(report.path.stat().st_mode) == 0o600


def test_tar_zst_opens_with_plain_tar(home: Path, tmp_path: Path) -> None:
    """The archive is standard: any tar + zstd lists and extracts it."""
    report = do_backup(home, tmp_path / "out", "tar.zst")
    with open(report.path, "rb") as raw:
        data = zstandard.ZstdDecompressor().stream_reader(raw).read()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    assert set(names) == SESSION_FILES | {MANIFEST_NAME}
    assert names[-1] == MANIFEST_NAME, "the manifest is the last member"


@pytest.mark.parametrize("fmt", FORMATS)
def test_never_overwrites_an_existing_backup(home: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out"
    first = do_backup(home, out, fmt)
    before = tree_state(out)
    second = do_backup(home, out, fmt)
    assert second.path != first.path and second.renamed
    assert second.path.parent == first.path.parent
    assert second.path.name.startswith(first.path.name.split(".")[0] + "-")
    after = tree_state(out)
    assert {k: v for k, v in after.items() if k in before} == before
    assert verify_backup(second.path).ok


def test_cli_backup_verify_and_summary(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["backup", "--codex-home", str(home), "--archive", str(out / "b.tar.zst")]
    )
    assert result.exit_code == 0, result.output
    assert "Backup written:" in result.output and "8 files" in result.output
    assert "auth.json: credentials: never backed up" in result.output
    result = CliRunner().invoke(cli, ["verify-backup", str(out / "b.tar.zst"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and data["files_checked"] == 8
    result = CliRunner().invoke(
        cli, ["backup", "--codex-home", str(home), "--output-parent", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"] == 8


def test_cli_refuses_both_or_neither_output(home: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["backup", "--codex-home", str(home)])
    assert result.exit_code == 2
    bad = CliRunner().invoke(
        cli, ["backup", "--codex-home", str(home), "--archive", str(tmp_path / "x.tar.gz")]
    )
    assert bad.exit_code == EXIT_FAILURE and ".tar.zst" in bad.output


# -- verify-backup ----------------------------------------------------------------------------


def test_verify_fails_after_one_byte_of_a_rollout_changes(home: Path, tmp_path: Path) -> None:
    report = run_backup(open_home(home), output_parent=tmp_path / "out")
    rollout = report.path / f"sessions/2026/03/04/rollout-2026-03-04T10-20-30-{tid(1)}.jsonl"
    data = bytearray(rollout.read_bytes())
    data[len(data) // 2] ^= 0x01
    rollout.write_bytes(bytes(data))

    check = verify_backup(report.path)
    assert not check.ok
    assert check.problems == [
        {
            "path": rollout.relative_to(report.path).as_posix(),
            "problem": "content differs from the manifest (SHA-256 mismatch)",
        }
    ]
    result = CliRunner().invoke(cli, ["verify-backup", str(report.path)])
    assert result.exit_code == EXIT_FAILURE
    assert "SHA-256 mismatch" in result.output


def test_verify_fails_after_one_byte_changes_inside_an_archive(home: Path, tmp_path: Path) -> None:
    report = do_backup(home, tmp_path / "out", "tar.zst")
    with open(report.path, "rb") as raw:
        tar = bytearray(zstandard.ZstdDecompressor().stream_reader(raw).read())
    target = f"rollout-2026-03-04T10-20-30-{tid(2)}.jsonl"
    with tarfile.open(fileobj=io.BytesIO(bytes(tar))) as archive:
        members = archive.getmembers()
    member = next(m for m in members if m.name.endswith(target))
    tar[member.offset_data + member.size // 2] ^= 0x01
    report.path.write_bytes(zstandard.ZstdCompressor().compress(bytes(tar)))

    check = verify_backup(report.path)
    assert [p["path"] for p in check.problems] == [member.name]
    with pytest.raises(BackupIncomplete, match="SHA-256 mismatch"), open_source(report.path):
        pass


def test_verify_reports_missing_and_added_files(home: Path, tmp_path: Path) -> None:
    report = run_backup(open_home(home), output_parent=tmp_path / "out")
    (report.path / "session_index.jsonl").unlink()
    (report.path / "sessions" / "extra.jsonl").write_text("{}\n")
    (report.path / ".DS_Store").write_bytes(b"finder")  # OS noise is ignored
    check = verify_backup(report.path)
    assert {(p["path"], p["problem"].split(" ")[0]) for p in check.problems} == {
        ("session_index.jsonl", "missing"),
        ("sessions/extra.jsonl", "not"),
    }


def test_verify_accepts_the_parent_folder(home: Path, tmp_path: Path) -> None:
    run_backup(open_home(home), output_parent=tmp_path / "out")
    assert verify_backup(tmp_path / "out").ok


def test_verify_of_something_else(tmp_path: Path) -> None:
    plain = tmp_path / "notes.txt"
    plain.write_text("hello")
    check = verify_backup(plain)
    assert not check.ok and check.incomplete
    with pytest.raises(HomeNotFound):
        verify_backup(tmp_path / "missing")


# -- archives that are not (complete) backups --------------------------------------------------


def _tar_zst(path: Path, members: dict[str, bytes]) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(zstandard.ZstdCompressor().compress(buf.getvalue()))


def test_open_source_refuses_an_archive_without_manifest(tmp_path: Path) -> None:
    archive = tmp_path / "someone-elses.tar.zst"
    _tar_zst(archive, {f"sessions/rollout-2026-03-04T10-20-30-{tid(1)}.jsonl": b"{}\n"})
    with pytest.raises(BackupIncomplete, match="incomplete or not a codex-migrate backup"):  # noqa: SIM117
        with open_source(archive, tmp_parent=tmp_path):
            pass
    assert [p.name for p in tmp_path.iterdir()] == [archive.name], "temp folder removed"


def test_open_source_refuses_a_file_that_is_no_archive(tmp_path: Path) -> None:
    junk = tmp_path / "backup.tar.zst"
    junk.write_bytes(b"not an archive at all")
    with pytest.raises(BackupIncomplete), open_source(junk):
        pass


def test_unsafe_member_paths_are_never_extracted(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.zst"
    manifest = Manifest("0", "t", "/h", "linux", "sessions").to_bytes()
    _tar_zst(archive, {"../escaped.txt": b"x", MANIFEST_NAME: manifest})
    with pytest.raises(BackupIncomplete, match="unsafe path"):  # noqa: SIM117
        with open_source(archive, tmp_parent=tmp_path / "t"):
            pass
    assert not (tmp_path / "t" / "escaped.txt").exists()
    assert not (tmp_path / "escaped.txt").exists()


@pytest.mark.parametrize(
    "path,ok",
    [
        ("sessions/a.jsonl", True),
        ("state_5.sqlite", True),
        ("../x", False),
        ("/etc/passwd", False),
        ("a/../../x", False),
        ("C:/x", False),
        ("a\\b", False),
        ("", False),
        ("a//b", False),
    ],
)
def test_safe_relpaths(path: str, ok: bool) -> None:
    assert is_safe_relpath(path) is ok


def test_manifest_round_trips_and_rejects_strangers() -> None:
    m = Manifest("0.1.0", "2026-01-01T00:00:00+00:00", "/home/u/.codex", "linux", "sessions")
    m.extra["future_key"] = {"kept": True}
    back = Manifest.from_bytes(m.to_bytes(), "x")
    assert back.to_dict() == m.to_dict()
    with pytest.raises(ManifestError):
        Manifest.from_bytes(b'{"format": "something-else"}', "x")
    newer = json.loads(m.to_bytes())
    newer["format_version"] = 99
    with pytest.raises(ManifestError, match="newer"):
        Manifest.from_bytes(json.dumps(newer).encode(), "x")


# -- real Codex output (checked-in fixtures, no npm) ------------------------------------------


@pytest.mark.parametrize("version", ["0.169.0", "0.80.0"])
def test_fixture_homes_back_up_whole(version: str, tmp_path: Path) -> None:
    scenario = install_fixture(version, tmp_path / "home")
    (scenario.home / "auth.json").write_text('{"tokens": "secret"}')
    report = run_backup(open_home(scenario.home), archive=tmp_path / "b.tar.zst")
    assert report.codex_versions == {version: len(scenario.threads)}
    with open_source(report.path, tmp_parent=tmp_path) as h:
        assert not (h.root / "auth.json").exists()
        ids = {t.id for t in build_catalog(h).threads}
        assert ids == {t.id for t in scenario.threads.values()}
        for t in scenario.threads.values():
            assert _sha(h.root / t.rollout) == _sha(scenario.home / t.rollout), t.key
        if (scenario.home / "state_5.sqlite").exists():
            conn = sqlite3.connect(h.root / "state_5.sqlite")
            rows = {r[0] for r in conn.execute("SELECT id FROM threads")}
            conn.close()
            assert rows == ids
