"""Row images: a new row is journalled as its key and a digest, and a rollback still puts
back exactly our rows (and keeps one changed since), for new logs and for older full-image
logs alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codex_migrate import statedb
from codex_migrate.rowlog import RowLog, apply_row_undo, plan_row_undo


def _db(tmp_path: Path) -> statedb.Connection:
    conn = statedb.connect(tmp_path / "t.sqlite")
    conn.execute("CREATE TABLE threads (id TEXT PRIMARY KEY, cwd TEXT, blob BLOB)")
    conn.execute("INSERT INTO threads VALUES ('old', '/a', x'00ff')")
    conn.commit()
    return conn


def _write(conn: statedb.Connection) -> dict[str, object]:
    log = RowLog(conn)
    log.watch_keys("threads", "id", ["old", "new1", "new2"])
    conn.execute("UPDATE threads SET cwd = '/b' WHERE id = 'old'")
    conn.execute("INSERT INTO threads VALUES ('new1', '/n', NULL)")
    conn.execute("INSERT INTO threads VALUES ('new2', '/n', x'01')")
    images = log.finish()
    conn.commit()
    return json.loads(json.dumps(images))  # as the journal keeps it


def test_new_rows_are_kept_as_digests_and_rolled_back(tmp_path: Path) -> None:
    conn = _db(tmp_path)
    log = _write(conn)
    rows = {r["key"][0]: r for r in log["tables"][0]["rows"]}  # type: ignore[index]
    assert rows["new1"]["before"] is None and set(rows["new1"]["after"]) == {"$sha256"}
    assert rows["old"]["before"]["cwd"] == "/a" and set(rows["old"]["after"]) == {"$sha256"}
    conn.execute("UPDATE threads SET cwd = '/someone' WHERE id = 'new2'")  # changed since
    conn.commit()
    undo = plan_row_undo(conn, log, "t.sqlite")
    assert undo.changed_since == ["t.sqlite: threads row new2 changed since"]
    apply_row_undo(conn, undo)
    conn.commit()
    got = dict(conn.execute("SELECT id, cwd FROM threads").fetchall())
    assert got == {"old": "/a", "new2": "/someone"}
    assert conn.execute("SELECT blob FROM threads WHERE id = 'old'").fetchone()[0] == b"\x00\xff"
    assert plan_row_undo(conn, log, "t.sqlite").already == 2  # undone: nothing left to do


def test_an_older_log_with_full_images_still_rolls_back(tmp_path: Path) -> None:
    conn = _db(tmp_path)
    conn.execute("INSERT INTO threads VALUES ('new1', '/n', NULL)")
    conn.commit()
    legacy = {
        "tables": [
            {
                "table": "threads",
                "keys": ["id"],
                "rows": [
                    {
                        "key": ["new1"],
                        "before": None,
                        "after": {"id": "new1", "cwd": "/n", "blob": None},
                    }
                ],
            }
        ]
    }
    apply_row_undo(conn, plan_row_undo(conn, legacy, "t.sqlite"))
    conn.commit()
    assert [r[0] for r in conn.execute("SELECT id FROM threads")] == ["old"]


def test_the_log_written_row_by_row_is_the_log_as_one_document(tmp_path: Path) -> None:
    conn = _db(tmp_path)
    conn.execute("CREATE TABLE other (thread_id TEXT, n INTEGER)")  # no primary key: rowid
    log = RowLog(conn)
    log.watch_keys("threads", "id", ["old", "new1", "gone"])
    log.watch("other", "thread_id = ?", ("new1",))
    log.watch("threads", "id = ?", ("untouched",))
    conn.execute("UPDATE threads SET cwd = 'é/\\u2028' WHERE id = 'old'")
    conn.execute("INSERT INTO threads VALUES ('new1', '/n', x'01')")
    conn.execute("INSERT INTO other VALUES ('new1', 1), ('new1', 2)")
    log.write(tmp_path / "rows.json")
    whole = json.dumps(log.finish(), separators=(",", ":"))
    assert (tmp_path / "rows.json").read_text(encoding="utf-8") == whole
    assert [t["table"] for t in json.loads(whole)["tables"]] == ["threads", "other"]
    assert not list(tmp_path.glob("*.part"))


def test_a_journal_saved_in_pieces_is_the_journal_as_one_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codex_migrate import journal

    monkeypatch.setattr(journal, "_CHUNK", 3)  # every long list and map goes in pieces
    j = journal.Journal(id="x", kind="import", threads=["a", "b", "c", "d"])
    j.creates = [f'sessions/{i}/é\u2028"q"' for i in range(10)]
    j.written = {f"sessions/{i}": "ab" * 32 for i in range(7)}
    j.appends = {"history.jsonl": {"size": None, "sha256": None}}
    j.save(tmp_path)
    text = (tmp_path / journal.JOURNAL).read_text(encoding="utf-8")
    assert text == json.dumps(j.to_dict(), separators=(",", ":"))
    assert journal.Journal.load(tmp_path / journal.JOURNAL) == j


_AWKWARD = [
    "plain",
    "é/\u2028\u2029",
    "".join(map(chr, range(0x80))),  # every control character, quotes, backslash, DEL
    "\udcff lone surrogate",
    "emoji \U0001f600",
    2**63 - 1,
    -(2**63),
    2**64,  # past what orjson takes
    1e16,
    0.1,
    float("nan"),
    None,
    True,
]


@pytest.mark.parametrize("value", _AWKWARD, ids=repr)
def test_journal_and_digest_text_is_the_standard_encoders(value: object) -> None:
    """orjson encodes where its bytes are json's exactly; everything else goes to json, so
    digests written by an older version still match and the texts read back the same."""
    from codex_migrate.jsontext import compact, sorted_utf8

    for doc in (value, [value, "x"], {"k": value, "a": 1}, {"é\u2028": value}, {1: value}):
        assert compact(doc) == json.dumps(doc, separators=(",", ":"))
    row = {"b": value, "a": "x", "é": 1, "__rowid": 3}
    want = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert sorted_utf8(row) == want.encode("utf-8", "surrogatepass")


def test_rows_settled_as_they_are_written_give_the_same_log(tmp_path: Path) -> None:
    """An import takes each batch's digests as it goes in (settle): the log is the one a
    read of every row at the end gives, and a key never watched is not taken as ours."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = _write(_db(tmp_path / "a"))
    conn = _db(tmp_path / "b")
    conn.execute("INSERT INTO threads VALUES ('other', '/o', NULL)")  # not ours
    log = RowLog(conn)
    log.watch_keys("threads", "id", ["old", "new1", "new2"])
    conn.execute("UPDATE threads SET cwd = '/b' WHERE id = 'old'")
    conn.execute("INSERT INTO threads VALUES ('new1', '/n', NULL)")
    log.settle("threads", "id", ["old", "new1", "other"])
    conn.execute("INSERT INTO threads VALUES ('new2', '/n', x'01')")
    log.settle("threads", "id", ["new2"])
    settled = json.loads(json.dumps(log.finish()))
    assert settled == plain
    conn.execute("UPDATE threads SET cwd = '/c' WHERE id = 'new2'")  # written again: settle again
    log.settle("threads", "id", ["new2"])
    again = json.loads(json.dumps(log.finish()))
    assert again != plain
    assert plan_row_undo(conn, again, "t.sqlite").changed_since == []
    # settled keys are not read again at the end: a write the log was not told of stays unseen
    conn.execute("UPDATE threads SET cwd = '/z' WHERE id = 'old'")
    unseen = json.loads(json.dumps(log.finish()))
    assert unseen == again
    assert plan_row_undo(conn, unseen, "t.sqlite").changed_since == [
        "t.sqlite: threads row old changed since"
    ]


def test_rowids_are_logged_only_where_no_column_holds_them(tmp_path: Path) -> None:
    """A text key's table logs each row's rowid and puts it back there; a table keyed by its
    rowid (an INTEGER PRIMARY KEY) or without one (WITHOUT ROWID) needs no rowid logged."""
    conn = statedb.connect(tmp_path / "r.sqlite")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v)")
    conn.execute("CREATE TABLE n (id INTEGER PRIMARY KEY, v)")
    conn.execute("CREATE TABLE w (id TEXT PRIMARY KEY, v) WITHOUT ROWID")
    conn.execute("INSERT INTO t (rowid, id, v) VALUES (7, 'a', 1), (3, 'b', 2.5)")
    conn.execute("INSERT INTO n VALUES (4, 'x')")
    conn.execute("INSERT INTO w VALUES ('a', x'00')")
    conn.commit()
    log = RowLog(conn)
    for table in ("t", "n", "w"):
        log.watch(table, "1")
    conn.execute("INSERT OR REPLACE INTO t VALUES ('a', 'new')")  # a new rowid for 'a'
    conn.execute("DELETE FROM t WHERE id = 'b'")
    conn.execute("UPDATE n SET v = 'y'")
    conn.execute("DELETE FROM w")
    images = json.loads(json.dumps(log.finish()))
    conn.commit()
    rowids = {e["table"]: [r.get("rowid") for r in e["rows"]] for e in images["tables"]}
    assert rowids == {"t": [7, 3], "n": [None], "w": [None]}
    apply_row_undo(conn, plan_row_undo(conn, images, "r.sqlite"))
    conn.commit()
    assert conn.execute("SELECT rowid, id, v FROM t ORDER BY rowid").fetchall() == [
        (3, "b", 2.5),
        (7, "a", 1),
    ]
    assert conn.execute("SELECT * FROM n").fetchall() == [(4, "x")]
    assert conn.execute("SELECT * FROM w").fetchall() == [("a", b"\x00")]


@pytest.mark.parametrize(
    "ids",
    [
        ["b", "a-1", "a", "c", "[1]"],  # plain: settled by value, written in key order
        ["a", "a!", "a b", "a#", "b"],  # plain, but their keys' texts sort otherwise
        ["a", 'q"', "é", "x\\y"],  # not plain: by their keys' text
    ],
    ids=["plain", "sorted-otherwise", "not-plain"],
)
@pytest.mark.parametrize("collate", ["", " COLLATE NOCASE"])
def test_new_rows_settled_log_as_a_read_at_the_end_does(
    tmp_path: Path, ids: list[str], collate: str
) -> None:
    """Settled digests of new rows (kept by their ids) give the very log, byte for byte, that
    reading every row at the end gives, whatever the ids sort and spell like."""
    texts = []
    for settle in (False, True):
        folder = tmp_path / str(settle)
        folder.mkdir()
        conn = statedb.connect(folder / "t.sqlite")
        conn.execute(f"CREATE TABLE threads (id TEXT PRIMARY KEY{collate}, cwd TEXT)")
        conn.commit()
        log = RowLog(conn)
        log.watch_keys("threads", "id", ids)
        for n, tid in enumerate(ids):
            conn.execute("INSERT INTO threads VALUES (?, ?)", (tid, f"/p{n}"))
            if settle and n % 2:
                log.settle("threads", "id", ids[n - 1 : n + 1])
        if settle:
            log.settle("threads", "id", ids[len(ids) & ~1 :])
        log.write(folder / "rows.json")
        texts.append((folder / "rows.json").read_bytes())
        rows = json.loads(texts[-1])["tables"][0]["rows"]
        assert [r["key"] for r in rows] == [[k] for k in sorted(ids, key=json.dumps)]
    assert texts[0] == texts[1]
