"""The plan's fingerprint: what it saw absent is looked at again, a folder at a time."""

from __future__ import annotations

from pathlib import Path

from codex_migrate.fingerprint import Fingerprint


def test_files_seen_absent_are_found_when_they_appear(tmp_path: Path) -> None:
    (tmp_path / "sessions" / "2026" / "01").mkdir(parents=True)
    (tmp_path / "gone").write_bytes(b"x")
    fp = Fingerprint(tmp_path)
    rels = [
        "sessions/2026/01/a.jsonl",  # folder there, file absent
        "sessions/2026/02/b.jsonl",  # folder absent
        "sessions/2026/02/c.jsonl",
        "sessions/2027/01/d.jsonl",  # grandparent absent
        "top.jsonl",  # no folder
        "gone",
    ]
    for rel in rels:
        fp.add_file(rel)
    assert [fp.files[r] is None for r in rels] == [True] * 5 + [False]
    assert fp.changes(None) == []

    (tmp_path / "sessions" / "2026" / "02").mkdir()  # a folder alone changes nothing
    assert fp.changes(None) == []

    (tmp_path / "sessions" / "2026" / "02" / "c.jsonl").write_bytes(b"{}\n")
    (tmp_path / "sessions" / "2027" / "01").mkdir(parents=True)
    (tmp_path / "sessions" / "2027" / "01" / "d.jsonl").write_bytes(b"{}\n")
    (tmp_path / "sessions" / "2026" / "01" / "a.jsonl").write_bytes(b"{}\n")
    (tmp_path / "top.jsonl").write_bytes(b"{}\n")
    (tmp_path / "gone").unlink()
    assert sorted(fp.changes(None)) == [
        "gone was removed",
        "sessions/2026/01/a.jsonl appeared",
        "sessions/2026/02/c.jsonl appeared",
        "sessions/2027/01/d.jsonl appeared",
        "top.jsonl appeared",
    ]
