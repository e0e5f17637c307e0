"""The rollout reader on every era, on compressed files, and on bad lines."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import zstandard

from codex_migrate.rollout import (
    LineIssues,
    iter_lines,
    last_settings_cwd,
    parse_rollout_name,
)
from codex_migrate.rollout_head import read_head
from tests.homes import START, tid, write_rollout

CWD = "/Users/alex/Projects/app"


def test_parse_rollout_name() -> None:
    name = "rollout-2026-11-25T07-41-40-01a211a7-34fd-7271-9ba0-9d11d2908130.jsonl"
    assert parse_rollout_name(name) == (
        "2026-11-25T07-41-40",
        "01a211a7-34fd-7271-9ba0-9d11d2908130",
        False,
    )
    assert parse_rollout_name(name + ".zst")[2] is True  # type: ignore[index]
    assert parse_rollout_name("rollout-nope.jsonl") is None
    assert parse_rollout_name("notes.txt") is None


@pytest.mark.parametrize("era", ["paginated", "legacy", "bare"])
def test_head_of_each_era(tmp_path: Path, era: str) -> None:
    path = write_rollout(tmp_path, 1, era=era, cwd=CWD, turns=[("Fix the bug", "Fixed")])
    head = read_head(path, tid(1))
    assert head.era == era
    assert head.cwd == CWD
    assert head.first_user_message == "Fix the bug"
    assert head.issues.total == 0
    if era == "paginated":
        assert head.history_mode == "paginated"
        assert head.meta_id == tid(1)
    if era == "bare":
        assert head.meta is not None and head.meta["id"] == tid(1)


def test_paginated_cwd_is_the_last_thread_settings(tmp_path: Path) -> None:
    """0.169 lists the cwd of the last thread_settings_applied, not session_meta's."""
    path = write_rollout(tmp_path, 1, era="paginated", cwd="/old/place")
    later = {
        "timestamp": "2026-03-04T11:00:00.000Z",
        "ordinal": 99,
        "type": "event_msg",
        "payload": {
            "type": "thread_settings_applied",
            "thread_id": tid(1),
            "thread_settings": {"cwd": "/new/place"},
        },
    }
    filler = {
        "timestamp": "x",
        "ordinal": 100,
        "type": "event_msg",
        "payload": {"pad": "z" * 600000},
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(later) + "\n")
        f.write(json.dumps(filler) + "\n")
    assert last_settings_cwd(path) == "/new/place"
    head = read_head(path, tid(1))
    assert head.meta_cwd == "/old/place"
    assert head.cwd == "/new/place"


def test_forked_file_takes_the_meta_naming_the_file(tmp_path: Path) -> None:
    parent, child = tid(7), tid(8)
    lines = [
        {"timestamp": "t", "type": "session_meta", "payload": {"id": parent, "cwd": "/parent"}},
        {"timestamp": "t", "type": "session_meta", "payload": {"id": child, "cwd": "/child"}},
        {
            "timestamp": "t",
            "type": "event_msg",
            "payload": {"type": "user_message", "message": "hi"},
        },
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    head = read_head(path, child)
    assert head.meta_id == child
    assert head.cwd == "/child"


def test_injected_context_is_not_the_first_user_message(tmp_path: Path) -> None:
    path = write_rollout(tmp_path, 1, era="legacy", turns=[("What now?", "This.")])
    head = read_head(path, tid(1))
    assert head.first_user_message == "What now?"


def test_unknown_record_types_and_fields_are_kept_quietly(tmp_path: Path) -> None:
    path = write_rollout(tmp_path, 1, era="legacy")
    with open(path, "a") as f:
        f.write('{"timestamp":"t","type":"hologram","payload":{"x":1},"new_field":[1,2]}\n')
    with open(path, "rb") as f:
        lines = list(iter_lines(f))
    assert lines[-1].obj["type"] == "hologram"
    assert read_head(path, tid(1)).issues.total == 0


def test_zst_rollout_reads_like_plain(tmp_path: Path) -> None:
    plain = write_rollout(tmp_path, 1, era="paginated", cwd=CWD)
    data = plain.read_bytes()
    zst = plain.with_name(plain.name + ".zst")
    zst.write_bytes(zstandard.ZstdCompressor().compress(data))
    plain.unlink()
    head = read_head(zst, tid(1))
    assert head.era == "paginated"
    assert head.cwd == CWD
    assert head.first_user_message == "Hello"
    from codex_migrate.rollout import open_rollout

    with open_rollout(zst) as stream:
        assert b"".join(ln.raw for ln in iter_lines(stream)) == data


def test_iter_lines_keeps_every_byte_and_offset() -> None:
    data = b'{"a":1}\n\n{"b":2}\r\n{"c":'
    lines = list(iter_lines(io.BytesIO(data)))
    assert b"".join(ln.raw for ln in lines) == data
    assert [ln.offset for ln in lines] == [0, 8, 9, 18]
    assert lines[2].obj == {"b": 2}
    assert lines[3].problem == "truncated"


def test_bad_lines_are_counted_not_fatal() -> None:
    data = (
        b'{"timestamp":"t","type":"session_meta","payload":{"id":"x","cwd":"/p"}}\n'
        b"\xff\xfe not utf8\n"
        b"{not json}\n"
        b'{"timestamp":"t","type":"event_msg","payload":{"type":"user_message","message":"ok"}}\n'
        b'{"cut'
    )
    issues = LineIssues()
    lines = list(iter_lines(io.BytesIO(data), issues))
    assert len(lines) == 5
    assert issues.to_dict() == {"truncated": 1, "non_utf8": 1, "not_json": 1}
    assert issues.first_bad_line == 2


def test_huge_line_is_reported_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    import codex_migrate.rollout as rollout

    monkeypatch.setattr(rollout, "HUGE_LINE_BYTES", 100)
    data = b'{"a":"' + b"x" * 200 + b'"}\n{"b":1}\n'
    issues = LineIssues()
    lines = list(iter_lines(io.BytesIO(data), issues))
    assert lines[0].problem == "huge" and lines[0].obj is None
    assert lines[1].obj == {"b": 1}
    assert issues.huge == 1


def test_truncated_last_line_beyond_the_head_is_seen(tmp_path: Path) -> None:
    path = write_rollout(tmp_path, 1, era="legacy", turns=[("q", "a")] * 80)
    with open(path, "ab") as f:
        f.write(b'{"timestamp":"t","type":"resp')
    head = read_head(path, tid(1))
    assert head.issues.truncated == 1


def test_start_time_comes_from_the_meta(tmp_path: Path) -> None:
    path = write_rollout(tmp_path, 1, era="legacy")
    head = read_head(path, tid(1))
    assert head.meta is not None
    assert head.meta["timestamp"].startswith(START.strftime("%Y-%m-%dT%H:%M:%S"))
