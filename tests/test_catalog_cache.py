"""The listing cache (catalog_cache): a hit opens no file, every change is a miss, racy files
are never stored, and a listing with the cache cold, warm or off is the same, byte for byte."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import codex_migrate.cachefiles as cachefiles
import codex_migrate.catalog_cache as cc
import codex_migrate.catalog_thread as catalog_thread
from codex_migrate.catalog import Catalog, build_catalog
from codex_migrate.catalog_cache import cached_catalog, open_cache
from codex_migrate.catalog_thread import Thread
from codex_migrate.cli import cli
from codex_migrate.home import open_home
from codex_migrate.rollout import LineIssues
from codex_migrate.rollout_head import RolloutHead
from tests.homes import tid, tree_state, write_rollout

FIXTURES = Path(__file__).parent / "fixtures"
H3000 = Path("/work/tmp/h3000")


def listing(cat: Catalog) -> list[dict[str, Any]]:
    return [t.to_dict() for t in cat.threads] + [{"unreadable": cat.unreadable}]


def real(home: Path) -> list[dict[str, Any]]:
    """What the catalog is without the cache: the truth every cached listing must equal."""
    return listing(build_catalog(open_home(home)))


def cached(home: Path) -> list[dict[str, Any]]:
    return listing(cached_catalog(open_home(home)))


def tick() -> None:
    """Let the file system's clock move on, so a change gets a new ctime."""
    time.sleep(0.03)


def home_of(tmp_path: Path, n: int = 4) -> Path:
    home = tmp_path / ".codex"
    for i in range(1, n + 1):
        write_rollout(home, i, era="paginated" if i % 2 else "legacy", cwd=f"/p/{i % 2}")
    write_rollout(home, 99, archived=True)
    return home


def parse_cache(data: bytes) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A cache file's header, records by path and trailer (see catalog_cache.ListingCache)."""
    head, *lines, tail = data.split(b"\n")[:-1]
    entries = {}
    for line in lines:
        rel, _, rec = line.partition(b"\t")
        entries[orjson.loads(rel)] = orjson.loads(rec)
    return orjson.loads(head), entries, orjson.loads(tail)


def dump_cache(head: dict[str, Any], entries: dict[str, Any], count: int | None = None) -> bytes:
    """A cache file of these parts (``count``: the trailer's, default the true one)."""
    lines = [orjson.dumps(head)]
    lines += [orjson.dumps(rel) + b"\t" + orjson.dumps(rec) for rel, rec in entries.items()]
    body = b"".join(line + b"\n" for line in lines[1:])
    tail = {"entries": len(entries) if count is None else count}
    lines.append(orjson.dumps({**tail, "sha256": hashlib.sha256(body).hexdigest()}))
    return b"\n".join(lines) + b"\n"


def cache_entries() -> dict[str, Any]:
    folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    (path,) = [p for p in folder.iterdir() if p.suffix == ".json"]
    head, entries, tail = parse_cache(path.read_bytes())
    assert head["version"] == cc.TAG and tail["entries"] == len(entries)
    return entries


def no_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: object, **k: object) -> object:
        raise AssertionError("a rollout was opened on a cache hit")

    monkeypatch.setattr(catalog_thread, "read_head", refuse)


def test_a_warm_listing_opens_no_rollout(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = home_of(tmp_path)
    truth = real(home)
    assert cached(home) == truth  # cold: fills the cache
    assert len(cache_entries()) == 5
    no_reads(monkeypatch)
    assert cached(home) == truth  # warm: every thread from the cache


def test_a_cache_file_changed_on_the_disk_is_refused_whole(tmp_path: Path, later: None) -> None:
    """A flipped bit in a record (here a cwd, its length kept) is caught by the trailer's
    SHA-256: the file is ignored, every rollout read again, and the listing is the truth."""
    home = home_of(tmp_path)
    truth = real(home)
    assert cached(home) == truth
    folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    (path,) = [p for p in folder.iterdir() if p.suffix == ".json"]
    data = path.read_bytes()
    assert data.count(b'"/p/1"') >= 1
    path.write_bytes(data.replace(b'"/p/1"', b'"/q/1"'))
    assert cached(home) == truth
    assert len(cache_entries()) == 5  # and rewritten


def test_the_cache_lives_outside_the_home_private(tmp_path: Path, later: None) -> None:
    home = home_of(tmp_path)
    before = sorted(p.name for p in home.rglob("*"))
    cached(home)
    assert sorted(p.name for p in home.rglob("*")) == before
    folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    (path,) = folder.iterdir()
    assert folder.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_joined_facts_are_not_cached(tmp_path: Path, later: None) -> None:
    """Names (session_index.jsonl) are joined every time: a rename shows at once."""
    home = home_of(tmp_path)
    cached(home)
    (home / "session_index.jsonl").write_text(
        json.dumps({"id": tid(1), "thread_name": "Renamed"}) + "\n"
    )
    assert cached(home) == real(home)
    assert any(t["name"] == "Renamed" for t in cached(home)[:-1])


def _append(p: Path) -> None:
    with open(p, "a") as f:
        f.write('{"timestamp":"2026-03-04T10:30:00Z","type":"event_msg","payload":{}}\n')


def _truncate(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _same_size(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data.replace(b"Hello", b"Howdy"))
    assert len(p.read_bytes()) == len(data)


def _touch(p: Path) -> None:
    os.utime(p)


def _rename(p: Path) -> None:
    p.rename(p.with_name(p.name.replace(tid(1), tid(7))))


def _archive(p: Path) -> None:
    dest = p.parents[4] / "archived_sessions"
    dest.mkdir(exist_ok=True)
    p.rename(dest / p.name)


def _delete(p: Path) -> None:
    p.unlink()


def _new_file(p: Path) -> None:
    write_rollout(p.parents[4], 8, cwd="/p/new")


def _replace(p: Path) -> None:
    """Another file (another inode) of the same size and mtime put in its place."""
    st = p.stat()
    other = p.with_suffix(".tmp")
    other.write_bytes(p.read_bytes().replace(b"Hello", b"Howdy"))
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, p)


def _rewrite_in_place_time_kept(p: Path) -> None:
    """The same inode, the same size and mtime (set back, as ``touch -r`` or a restore
    does): only the inode change time tells."""
    st = p.stat()
    with open(p, "r+b") as f:
        data = f.read().replace(b"Hello", b"Howdy")
        f.seek(0)
        f.write(data)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = p.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
    )


def _recreate_time_kept(p: Path) -> None:
    """Deleted and made again (the inode may be reused) with the same size and mtime."""
    st, data = p.stat(), p.read_bytes()
    p.unlink()
    p.write_bytes(data.replace(b"Hello", b"Howdy"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize(
    "change",
    [
        *(_append, _truncate, _same_size, _touch, _rename, _archive, _delete, _new_file),
        *(_replace, _rewrite_in_place_time_kept, _recreate_time_kept),
    ],
)
def test_every_change_is_seen(tmp_path: Path, later: None, change: Any) -> None:
    home = home_of(tmp_path)
    cached(home)
    tick()
    change(home / "sessions/2026/03/04" / f"rollout-2026-03-04T10-20-30-{tid(1)}.jsonl")
    truth = real(home)
    assert cached(home) == truth
    assert cached(home) == truth  # and once more, from the cache written just now


def test_a_file_written_just_now_is_never_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git's racy rule: what was written a moment ago is read every time; an append within
    the same tick can never be hidden. Each read comes 1 ms after the home's last change, as
    on an idle machine (with the real clock, a test paused over 2 s by a busy one would
    find its files settled and stored)."""
    home = home_of(tmp_path)

    def just_after_the_last_change() -> int:
        return 1_000_000 + max(p.stat().st_ctime_ns for p in home.rglob("*") if p.is_file())

    monkeypatch.setattr(cc.time, "time_ns", just_after_the_last_change)
    assert cached(home) == real(home)
    assert cache_entries() == {}
    path = home / "sessions/2026/03/04" / f"rollout-2026-03-04T10-20-30-{tid(1)}.jsonl"
    for _ in range(2):
        _same_size(path)  # no tick: the same mtime as likely as not
        assert cached(home) == real(home)
        _append(path)
        assert cached(home) == real(home)


def test_a_file_with_a_future_time_is_not_stored(tmp_path: Path, later: None) -> None:
    home = home_of(tmp_path, 1)
    path = next(home.rglob(f"*{tid(1)}.jsonl"))
    future = time.time_ns() + 3600 * 10**9
    os.utime(path, ns=(future, future))
    assert cached(home) == real(home)
    assert [tid(99) in rel for rel in cache_entries()] == [True]


def test_the_cache_off(tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_MIGRATE_CACHE", "off")
    home = home_of(tmp_path)
    assert cached(home) == real(home)
    assert not Path(os.environ["CODEX_MIGRATE_CACHE_DIR"]).exists()


def test_the_cache_is_off_where_st_ctime_is_no_change_time(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows: without the inode change time a same-size rewrite keeping the mtime (a
    same-length rebind) would be unseen, so there is no cache there at all."""
    monkeypatch.setattr(cachefiles, "CHANGE_TIME", False)
    home = home_of(tmp_path)
    assert cachefiles.cache_dir() is None
    assert cached(home) == real(home)
    assert not Path(os.environ["CODEX_MIGRATE_CACHE_DIR"]).exists()


def test_an_unwritable_cache_folder_is_no_error(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CODEX_MIGRATE_CACHE_DIR", str(blocker / "cache"))
    home = home_of(tmp_path)
    assert cached(home) == real(home)
    out = CliRunner().invoke(cli, ["scan", str(home), "--json"])
    assert out.exit_code == 0, out.output
    assert blocker.read_text() == "not a folder"


def test_no_cache_for_a_temporary_extraction_or_a_cache_inside_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = open_home(home_of(tmp_path))
    assert open_cache(home) is not None
    home.temporary = True
    assert open_cache(home) is None
    monkeypatch.setenv("CODEX_MIGRATE_CACHE_DIR", str(tmp_path / ".codex" / "cache"))
    assert open_cache(open_home(tmp_path / ".codex")) is None


def test_each_home_has_its_own_file_and_old_ones_are_pruned(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cachefiles, "KEEP", 3)
    homes = [home_of(tmp_path / f"h{i}", 1) for i in range(5)]
    for i, home in enumerate(homes):
        cached(home)
        folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
        for p in folder.iterdir():  # older and older: the last home is the newest
            os.utime(p, (time.time() - 100 + i, time.time() - 100 + i))
    names = {p.name for p in Path(os.environ["CODEX_MIGRATE_CACHE_DIR"]).iterdir()}
    assert len(names) == 3
    assert open_cache(open_home(homes[-1])).path.name in names  # type: ignore[union-attr]


def test_another_homes_cache_file_is_ignored(tmp_path: Path, later: None) -> None:
    a, b = home_of(tmp_path / "a"), home_of(tmp_path / "b", 2)
    cached(a)
    cache_a = open_cache(open_home(a))
    cache_b = open_cache(open_home(b))
    assert cache_a is not None and cache_b is not None
    shutil.copy(cache_a.path, cache_b.path)  # a's records under b's name
    assert cached(b) == real(b)


def test_a_value_json_cannot_carry_exactly_is_not_stored(tmp_path: Path, later: None) -> None:
    """A session_meta with an integer past 64 bits: read right every time, never cached."""
    home = home_of(tmp_path, 2)
    path = next(home.rglob(f"*{tid(1)}.jsonl"))
    lines = path.read_bytes().split(b"\n")
    meta = json.loads(lines[0])
    meta["payload"]["git"] = {"branch": "main", "commit_hash": 2**80}
    lines[0] = json.dumps(meta).encode()
    path.write_bytes(b"\n".join(lines))
    truth = real(home)
    assert cached(home) == truth
    assert not any(tid(1) in rel for rel in cache_entries())
    assert len(cache_entries()) == 2
    thread = cached_catalog(open_home(home)).thread(tid(1))
    assert thread is not None and thread.meta["git"]["commit_hash"] == 2**80


def test_malformed_records_are_misses(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = home_of(tmp_path, 2)
    truth = real(home)
    cached(home)
    cache = open_cache(open_home(home))
    assert cache is not None
    head, good, _ = parse_cache(cache.path.read_bytes())
    bad = [
        lambda r: r.__setitem__(1, float(r[1])),  # size 5.0 == 5: must not be shown as 5.0
        lambda r: r.__setitem__(7, 42),  # title not text
        lambda r: r.__setitem__(12, ["too", "short"]),  # kept_meta
        lambda r: r.__setitem__(13, [1, 2, 3]),  # line issues
        lambda r: r.__setitem__(14, [["code-only"]]),  # problems
        lambda r: r.pop(),  # a field missing
    ]
    for spoil in bad:
        entries = {rel: list(rec) for rel, rec in good.items()}
        for rec in entries.values():
            spoil(rec)
        cache.path.write_bytes(dump_cache(head, entries))
        assert cached(home) == truth
        assert json.dumps(cached(home)) == json.dumps(truth)  # 5 and 5.0 differ here


def test_the_record_format_is_pinned_to_its_version() -> None:
    """Changed the fields of Thread, RolloutHead or LineIssues (or what read_thread makes of
    a file)? Bump catalog_cache.VERSION, then update this test: old caches are then ignored."""
    assert cc.VERSION == 3
    assert [f.name for f in fields(Thread)] == [
        "id", "home_root", "rel_path", "archived_on_disk", "compressed", "size", "mtime", "era",
        "history_mode", "rollout_cwd", "title", "created_at", "source", "model_provider",
        "cli_version", "index_name", "row", "kept_meta", "line_issues", "problems",
    ]  # fmt: skip
    assert [f.name for f in fields(RolloutHead)] == [
        "era", "meta", "meta_id", "history_mode", "first_user_message", "env_cwd",
        "settings_cwd", "turn_cwd", "first_timestamp", "records_read", "size", "mtime",
        "issues", "empty",
    ]  # fmt: skip
    assert [f.name for f in fields(LineIssues)] == [
        "truncated",
        "non_utf8",
        "not_json",
        "huge",
        "first_bad_line",
    ]
    assert catalog_thread.META_KEYS == (
        "timestamp", "source", "model_provider", "cli_version", "originator", "thread_source",
        "git",
    )  # fmt: skip


def _scan_json(home: Path) -> bytes:
    out = CliRunner().invoke(cli, ["scan", str(home), "--json"])
    assert out.exit_code == 0, out.output
    return out.stdout_bytes


@pytest.mark.parametrize("fixture", ["codex-0.169.0", "codex-0.80.0"])
def test_scan_json_is_the_same_cold_warm_and_off(
    fixture: str, tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    shutil.copytree(FIXTURES / fixture / "home", home)
    cold = _scan_json(home)
    assert cache_entries()  # stored
    warm = _scan_json(home)
    monkeypatch.setenv("CODEX_MIGRATE_CACHE", "off")
    assert cold == warm == _scan_json(home)


@pytest.mark.skipif(not H3000.is_dir(), reason="the shared 3 000-session home is not built here")
def test_scan_json_of_the_real_shaped_home_is_the_same_cold_warm_and_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """/work/tmp/h3000 is read only: the cache goes to this test's own folder."""
    cold = _scan_json(H3000)
    warm = _scan_json(H3000)
    monkeypatch.setenv("CODEX_MIGRATE_CACHE", "off")
    assert cold == warm == _scan_json(H3000)


def test_the_no_cache_option_reads_every_file_and_writes_no_cache(
    tmp_path: Path, later: None
) -> None:
    home = home_of(tmp_path)
    folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    out = CliRunner().invoke(cli, ["--no-cache", "scan", str(home), "--json"])
    assert out.exit_code == 0, out.output
    assert not folder.exists()
    assert out.stdout_bytes == _scan_json(home)  # and the next command has it on again
    assert cache_entries()


def test_a_meta_value_json_would_change_is_not_stored(tmp_path: Path, later: None) -> None:
    """NaN in a session_meta (json reads it, orjson would write it back as null)."""
    home = home_of(tmp_path, 2)
    path = next(home.rglob(f"*{tid(1)}.jsonl"))
    lines = path.read_bytes().split(b"\n")
    meta = json.loads(lines[0])
    meta["payload"]["git"] = {"branch": "main", "weight": float("nan")}
    lines[0] = json.dumps(meta).encode()
    path.write_bytes(b"\n".join(lines))
    truth = json.dumps(real(home))
    assert json.dumps(cached(home)) == truth
    assert json.dumps(cached(home)) == truth
    for rec in cache_entries().values():
        assert "weight" not in json.dumps(rec)


def test_two_writers_leave_one_whole_cache(tmp_path: Path, later: None) -> None:
    """Each writes a whole file and renames it over the name: the last wins, nothing mixed."""
    home = home_of(tmp_path, 3)
    first, second = open_cache(open_home(home)), open_cache(open_home(home))
    assert first is not None and second is not None
    listed = list(open_home(home).rollouts())
    threads_a = list(first.read_all(open_home(home), listed))  # saves all four
    threads_b = list(second.read_all(open_home(home), listed[:2]))  # saves two, last
    assert len(threads_a) == 4 and len(threads_b) == 2
    assert len(cache_entries()) == 2
    assert cached(home) == real(home)
    assert len(cache_entries()) == 4


def test_a_temp_file_left_by_a_killed_writer_is_removed_later(tmp_path: Path, later: None) -> None:
    folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    folder.mkdir(parents=True)
    stale = folder / f".{'0' * 32}.json.abcdef.tmp"
    fresh = folder / f".{'1' * 32}.json.abcdef.tmp"
    mine = folder / "notes.txt"  # not named as ours: never removed
    for p in (stale, fresh, mine):
        p.write_text("x")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    cached(home_of(tmp_path))
    assert not stale.exists() and fresh.exists() and mine.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:ghp_s3cr3tT0ken@github.com/alice/app.git",
        "https://ghp_s3cr3tT0ken@github.com/alice/app.git",
        "http://x-access-token:ghp_s3cr3tT0ken@git.example/app",
        "ssh://alice:ghp_s3cr3tT0ken@git.example/app",
    ],
)
def test_a_remote_url_with_a_credential_is_never_written_to_the_cache(
    tmp_path: Path, later: None, url: str
) -> None:
    """Codex keeps ``git remote get-url origin`` as it is, a token in it included: the cache
    (outside the home, in the user's cache folder) never holds it; that thread is read anew."""
    home = home_of(tmp_path, 2)
    path = next(home.rglob(f"*{tid(1)}.jsonl"))
    lines = path.read_bytes().split(b"\n")
    meta = json.loads(lines[0])
    meta["payload"]["git"] = {"branch": "main", "repository_url": url}
    lines[0] = json.dumps(meta).encode()
    path.write_bytes(b"\n".join(lines))
    truth = real(home)
    assert cached(home) == truth and cached(home) == truth
    folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    assert all(b"s3cr3t" not in p.read_bytes() for p in folder.iterdir())
    assert len(cache_entries()) == 2  # the others are cached as ever
    thread = cached_catalog(open_home(home)).thread(tid(1))
    assert thread is not None and thread.meta["git"]["repository_url"] == url


def test_a_plain_remote_url_is_cached(tmp_path: Path, later: None) -> None:
    home = home_of(tmp_path, 1)
    path = next(home.rglob(f"*{tid(1)}.jsonl"))
    lines = path.read_bytes().split(b"\n")
    meta = json.loads(lines[0])
    url = "ssh://git@github.com/alice/app.git"
    meta["payload"]["git"] = {"branch": "main", "repository_url": url}
    lines[0] = json.dumps(meta).encode()
    path.write_bytes(b"\n".join(lines))
    cached(home)
    assert any(tid(1) in rel and url in json.dumps(rec) for rel, rec in cache_entries().items())


def test_a_backup_archive_unpacked_for_a_scan_is_not_cached(tmp_path: Path, later: None) -> None:
    home = home_of(tmp_path)
    archive = tmp_path / "b.tar.zst"
    made = CliRunner().invoke(cli, ["backup", "--codex-home", str(home), "--archive", str(archive)])
    assert made.exit_code == 0, made.output
    assert json.loads(_scan_json(archive))["threads"]
    folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    assert not folder.exists() or not list(folder.iterdir())


def test_a_cache_over_the_bound_is_not_written(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cachefiles, "MAX_BYTES", 100)
    home = home_of(tmp_path)
    assert cached(home) == real(home)
    folder = Path(os.environ["CODEX_MIGRATE_CACHE_DIR"])
    assert not folder.exists() or not list(folder.iterdir())


def test_a_cache_cut_short_or_miscounted_is_ignored_whole(tmp_path: Path, later: None) -> None:
    home = home_of(tmp_path)
    truth = real(home)
    cached(home)
    cache = open_cache(open_home(home))
    assert cache is not None and cache.valid
    head, entries, _ = parse_cache(cache.path.read_bytes())
    whole = cache.path.read_bytes()
    for spoilt in (
        whole[: whole.rindex(b"\n", 0, len(whole) - 1) + 1],
        dump_cache(head, entries, 9),
    ):
        cache.path.write_bytes(spoilt)
        reopened = open_cache(open_home(home))
        assert reopened is not None and not reopened.valid
        assert cached(home) == truth  # read anew, and the cache written whole again
        assert open_cache(open_home(home)).valid  # type: ignore[union-attr]


def test_the_lines_of_files_that_are_gone_are_dropped(tmp_path: Path, later: None) -> None:
    home = home_of(tmp_path)
    cached(home)
    next(home.rglob(f"*{tid(2)}.jsonl")).unlink()
    assert cached(home) == real(home)
    assert len(cache_entries()) == 4


def _import_closure(module: str) -> set[str]:
    """codex_migrate modules ``module`` imports at its top, and theirs, by their source."""
    import ast

    src = Path(cc.__file__).parent
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        tree = ast.parse((src / f"{name}.py").read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("codex_"):
                sub = (node.module or "").removeprefix("codex_migrate").lstrip(".")
                todo += [sub] if sub else [a.name for a in node.names]
    return seen


def test_the_record_format_follows_the_code_that_makes_it(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One version number, other code (an install from git between two releases, a
    checkout): what read_head makes of a file may differ, so another code's cache file is
    ignored, with no VERSION bump to forget."""
    import codex_migrate.rollout_head as rollout_head

    assert f"{cc.VERSION}/{cc.__version__}/{cc._code_tag()}" == cc.TAG
    assert cc._code_tag() == cc._code_tag()
    # every module whose code makes a record is in the digest
    makers = _import_closure("rollout_head") | {"catalog", "catalog_thread", "catalog_cache"}
    makers |= {"problem"}
    makers |= {"cache_records"}
    assert makers <= set(cc._MAKERS)
    home = home_of(tmp_path)
    cached(home)
    cache = open_cache(open_home(home))
    assert cache is not None and cache.valid
    edited = tmp_path / "rollout_head.py"
    edited.write_text(Path(rollout_head.__file__).read_text() + "\nTITLE_MAX = 100\n")
    monkeypatch.setattr(rollout_head, "__file__", str(edited))
    other = cc._code_tag()
    assert other != cc.TAG.rsplit("/", 1)[1]
    monkeypatch.setattr(cc, "TAG", f"{cc.VERSION}/{cc.__version__}/{other}")
    again = open_cache(open_home(home))
    assert again is not None and not again.valid  # every file a miss, then rewritten
    assert cached(home) == real(home)
    assert cache_entries()


def _home_state(home: Path) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Every file (hash, mode, a rollout's mtime; ours and the DB files left out) and every table of
    every DB in rowid order, with the home's path written as <HOME>."""
    import sqlite3

    files = {  # a rollout keeps its source's mtime; the rest are written at the time of the run
        k: (digest, mode, mtime if "rollout-" in k else None)
        for k, (digest, mode, mtime) in tree_state(home).items()
        if "sqlite" not in k and not k.startswith(("migration_transactions", "codex-migrate"))
    }
    tables: dict[str, list[Any]] = {}
    for db in sorted(home.glob("*.sqlite")):
        copy = home.parent / f"copy-{db.name}"
        shutil.copyfile(db, copy)
        if Path(f"{db}-wal").exists():
            shutil.copyfile(f"{db}-wal", f"{copy}-wal")
        conn = sqlite3.connect(copy)
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in sorted(names):
            try:
                rows = conn.execute(f'SELECT rowid, * FROM "{name}" ORDER BY rowid').fetchall()
            except sqlite3.OperationalError:  # WITHOUT ROWID
                rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()
            text = repr(rows).replace(str(home), "<HOME>")
            tables[f"{db.name}:{name}"] = [text]
        conn.close()
    return files, tables


def test_an_import_is_the_same_with_the_source_cache_warm_or_off(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import's source catalog from the cache: every file and every DB row (rowid order)
    of the target as with the cache off."""
    source = tmp_path / "source"
    shutil.copytree(FIXTURES / "codex-0.80.0" / "home", source)
    _scan_json(source)  # fills the cache
    assert cache_entries()
    states = []
    for mode in ("warm", "off"):
        if mode == "off":
            monkeypatch.setenv("CODEX_MIGRATE_CACHE", "off")
        target = tmp_path / mode / ".codex"
        shutil.copytree(FIXTURES / "codex-0.169.0" / "home", target)
        rule = f"/tmp/cm-fixture-root/0.80.0/projects={tmp_path / 'p'}"
        args = ["--codex-home", str(target), "--map", rule, "--yes", "--no-codex", "--json"]
        out = CliRunner().invoke(cli, ["import", str(source), *args])
        assert out.exit_code == 0, out.output
        assert orjson.loads(out.stdout)["plan"]["summary"]["import"] == 6
        states.append(_home_state(target))
    assert states[0] == states[1]
