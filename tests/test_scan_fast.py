"""The shortcuts that make ``scan`` cheap give what the plain ways give: the listing written
by orjson holds the values ``json.dumps`` writes, and a whole rollout read from memory summarises
as one streamed from disk."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate import rollout_head
from codex_migrate.catalog import build_catalog
from codex_migrate.cli import cli
from codex_migrate.cli.common import PlainItems, _encode
from codex_migrate.home import open_home
from codex_migrate.rollout_head import read_head
from codex_migrate.service import scan_home
from tests.homes import make_state_db, tid, write_rollout

FIXTURES = Path(__file__).parent / "fixtures"
AWKWARD = [
    'quotes "inside": and \\" and a key-like ","k":"v',
    "ends with a backslash \\",
    '},{"a": [1, 2], {}',
    "".join(chr(i) for i in range(0x80)),
    "é ü 😀 \u2028 \u2029 \ufeff \u00a0",
    '\\":',
    "ends with a comma,",
    ":starts with a colon",
    "a},{",
    'a"',
]


def _plain(items: list[Any]) -> str:
    return "".join(_encode({"items": PlainItems(items)}))


@pytest.mark.parametrize("text", AWKWARD)
def test_plain_items_are_written_with_the_values_json_dumps_writes(text: str) -> None:
    items = [
        {"id": text, "n": -5, "big": 2**63 - 1, "ok": True, "none": None, "empty": {}},
        {text: [text, "", text], "bad_lines": {"not_json": 2, text: 0}, "problems": []},
    ] * 300  # more than one batch
    out = _plain(items)
    assert json.loads(out) == {"items": items}
    # the same text but for the spaces json.dumps puts between tokens
    assert json.dumps(json.loads(out), ensure_ascii=False) == json.dumps(
        {"items": items}, ensure_ascii=False
    )


@pytest.mark.parametrize("odd", [2**64, "\ud800 lone surrogate", {1: "key not a string"}])
def test_what_orjson_refuses_goes_through_json(odd: Any) -> None:
    items = [{"id": "a", "x": odd}, {"id": "b"}]
    assert json.loads(_plain(items)) == json.loads(json.dumps({"items": items}))


def _values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [v for item in value.values() for v in _values(item)]
    if isinstance(value, list):
        assert all(isinstance(v, str) for v in value), value  # a list holds strings only
        return list(value)
    return [value]


def test_scan_items_are_plain(tmp_path: Path) -> None:
    """What scan hands to PlainItems holds no float (orjson would write it otherwise)."""
    home = tmp_path / "home"
    write_rollout(home, 1, cwd="/Users/alex/Projects/app")
    write_rollout(home, 2, era="legacy", archived=True)
    write_rollout(home, 3, era="bare")
    bad = write_rollout(home, 4)
    bad.write_bytes(b"{not json\n" + bad.read_bytes())
    make_state_db(home, [{"id": tid(1), "rollout_path": "elsewhere.jsonl", "cwd": "/x"}])
    homes = [open_home(home), *(open_home(p / "home") for p in sorted(FIXTURES.glob("codex-*")))]
    for h in homes:
        catalog = build_catalog(h)
        found = scan_home(catalog)
        items = [t.to_dict() for t in catalog.threads] + [f.to_dict() for f in found.findings]
        assert items
        for item in items:
            for v in _values(item):
                assert v is None or isinstance(v, (str, int)), (item, v)


def test_scan_json_keeps_awkward_text(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for n, text in enumerate(AWKWARD[1:], 1):
        write_rollout(home, n, cwd=f"/Users/alex/{text}")
    out = json.loads(CliRunner().invoke(cli, ["scan", str(home), "--json"]).output)
    cwds = {t["cwd"] for t in out["threads"]}
    assert {f"/Users/alex/{text}" for text in AWKWARD[1:]} <= cwds


def _facts(path: Path, thread_id: str) -> dict[str, Any]:
    head = read_head(path, thread_id)
    return {k: getattr(head, k) for k in rollout_head.RolloutHead.__dataclass_fields__}


@pytest.mark.parametrize("ending", [b"\n", b""])
@pytest.mark.parametrize("era", ["paginated", "legacy"])
def test_whole_file_in_memory_reads_as_streamed(
    tmp_path: Path, era: str, ending: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rollout under WHOLE_MAX is read in one call; above it, streamed with a tail read."""
    path = write_rollout(tmp_path, 1, era=era, turns=[("Fix it", "Done"), ("More", "Ok")])
    lines = path.read_bytes().splitlines(keepends=True)
    filler = json.dumps({"timestamp": "t", "type": "event_msg", "payload": {"x": "y" * 5000}})
    data = b"".join(lines[:2]) + (filler.encode() + b"\n") * 40 + b"".join(lines[2:])
    path.write_bytes(data.rstrip(b"\n") + ending)
    assert 64 * 1024 < len(data) <= rollout_head.WHOLE_MAX
    whole = _facts(path, tid(1))
    monkeypatch.setattr(rollout_head, "WHOLE_MAX", 0)
    assert _facts(path, tid(1)) == whole
    assert whole["first_user_message"] == "Fix it"
    assert whole["issues"].truncated == (0 if ending else 1)


def test_scan_restores_the_cycle_collector(tmp_path: Path) -> None:
    """scan pauses Python's cycle collector while it runs, and only while it runs."""
    import gc

    write_rollout(tmp_path, 1)
    assert gc.isenabled()
    for args in (["--json"], []):
        assert CliRunner().invoke(cli, ["scan", str(tmp_path), *args]).exit_code == 0
        assert gc.isenabled()
    assert CliRunner().invoke(cli, ["scan", str(tmp_path / "missing")]).exit_code != 0
    assert gc.isenabled()


@pytest.mark.parametrize("era", ["paginated", "legacy"])
def test_a_session_meta_id_past_64_bits_is_shown_as_written(tmp_path: Path, era: str) -> None:
    """The head's other records are parsed without the search for long integers (a listing
    reads their strings); a session_meta's id is still shown exactly as written."""
    path = write_rollout(tmp_path, 1, era=era)
    first, rest = path.read_bytes().split(b"\n", 1)
    big = 123456789012345678901234
    changed = re.sub(rb'"id": ?"' + tid(1).encode() + b'"', f'"id":{big}'.encode(), first)
    assert changed != first
    path.write_bytes(changed + b"\n" + rest)
    thread = build_catalog(open_home(tmp_path)).threads[0]
    assert any(f"session_meta id {big} differs" in p for p in thread.problems), thread.problems


def test_read_thread_builds_its_record_positionally_in_the_fields_order() -> None:
    """read_thread passes Thread's fields by position (keywords cost 2 µs a thread): a field
    added or moved must change it too."""
    from dataclasses import fields

    from codex_migrate.catalog_thread import Thread

    assert [f.name for f in fields(Thread)] == [
        "id", "home_root", "rel_path", "archived_on_disk", "compressed", "size", "mtime", "era",
        "history_mode", "rollout_cwd", "title", "created_at", "source", "model_provider",
        "cli_version", "index_name", "row", "kept_meta", "line_issues", "problems",
    ]  # fmt: skip


def test_listed_refs_are_the_record_made_the_usual_way(tmp_path: Path) -> None:
    """A RolloutRef from the folder listing is equal, hashed and frozen as one made by its
    constructor."""
    from codex_migrate.home import RolloutRef

    home = tmp_path / ".codex"
    write_rollout(home, 1)
    (ref,) = open_home(home).rollouts()
    made = RolloutRef(str(ref.path), ref.thread_id, False, False, False)
    assert (ref, hash(ref), repr(ref)) == (made, hash(made), repr(made))
    with pytest.raises(AttributeError):
        ref.text = str(tmp_path)  # type: ignore[misc]
