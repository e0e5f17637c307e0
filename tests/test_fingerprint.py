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
    noted = Fingerprint(tmp_path)
    absent: dict[str, bool] = {}
    for rel in rels:
        noted.add_file(rel, absent)  # as a plan adds its new files: a folder looked at once
    assert noted.files == fp.files
    assert absent == {
        "sessions/2026/01": False,
        "sessions/2026/02": True,
        "sessions/2027/01": True,
        "": False,
    }
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
