"""Edge cases of the fast paths (odd record types, --rewrite-text facts, JSON text of journals,
session_meta integers, UTF-8 stdout spellings, row order): each held to the careful path it
replaced."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_migrate import jsontext, rolloutfacts
from codex_migrate.cli import common
from codex_migrate.merge import raw_lines
from codex_migrate.pathmap import PathMapper
from codex_migrate.rewrite import rewrite_lines
from codex_migrate.rollout_head import read_head
from codex_migrate.rolloutfacts import RolloutFacts
from codex_migrate.staging import rewrite_block, stage_rewritten
from codex_migrate.threadrow import row_facts

MAPPER = PathMapper(["/Users/alex=/home/alex"])


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":[],"payload":{"cwd":"/Users/alex/x"}}\n',
        b'{"type":{"a":1},"payload":{"cwd":"/Users/alex/x"}}\n',
        b'{"type":["turn_context"],"payload":{"cwd":"/Users/alex/x"}}\n',
    ],
)
def test_a_record_whose_type_is_not_hashable_is_copied_not_a_crash(line: bytes) -> None:
    """Hostile input: ``{"type": []}`` is JSON; the record-type gate must not raise on it."""
    lines = [b'{"type":"turn_context","payload":{"cwd":"/Users/alex/p"}}\n', line]
    out, _ = rewrite_block(b"".join(lines), MAPPER)
    assert out == b"".join(rewrite_lines(lines, MAPPER))


def _facts_of(path: Path) -> RolloutFacts:
    facts = RolloutFacts()
    for raw in raw_lines(path):
        facts.feed(raw)
    return facts


@pytest.mark.parametrize("field", ["model", "effort", "approval_policy"])
def test_rewrite_text_facts_are_the_new_lines_facts(tmp_path: Path, field: str) -> None:
    """--rewrite-text maps paths in every string, so a turn_context's model, effort or
    approval policy may change; the row takes them from the staged file's lines, as before."""
    payload = {"cwd": "/Users/alex/p", "model": "m", "effort": "e", "approval_policy": "a"}
    payload[field] = "<cwd>/Users/alex/notes</cwd>"
    src = tmp_path / "src.jsonl"
    src.write_bytes(json.dumps({"type": "turn_context", "payload": payload}).encode() + b"\n")
    staged = stage_rewritten(src, tmp_path / "out.jsonl", MAPPER, mtime=1.0, rewrite_text=True)
    assert b"/home/alex/notes" in (tmp_path / "out.jsonl").read_bytes()
    assert staged.facts == row_facts(_facts_of(tmp_path / "out.jsonl"))


_ATOM = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(),
    st.text(st.characters(min_codepoint=0x0, max_codepoint=0x80)),
    st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010, blacklist_categories=())),
    st.floats(allow_nan=True),
)
_FLAT = st.one_of(
    _ATOM,
    st.lists(_ATOM, max_size=5),
    st.dictionaries(st.text(max_size=5), _ATOM, max_size=5),
    st.lists(st.lists(_ATOM, max_size=2), max_size=2),
)


@settings(deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(_FLAT)
def test_property_compact_is_jsons_text(value: Any) -> None:
    assert jsontext.compact(value) == json.dumps(value, separators=(",", ":"))


@settings(deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=6), st.one_of(_ATOM, st.binary(max_size=3)), max_size=6))
def test_property_sorted_utf8_is_jsons_bytes(row: dict[str, Any]) -> None:
    try:
        text = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except TypeError:
        with pytest.raises(TypeError):
            jsontext.sorted_utf8(row)
        return
    assert jsontext.sorted_utf8(row) == text.encode("utf-8", "surrogatepass")


def test_a_session_meta_past_the_first_line_keeps_its_integers_exact(tmp_path: Path) -> None:
    """The head parses a session_meta exactly wherever it sits: here on line 2 (line 1 is
    damaged) with its ``type`` written after a long payload, past the bytes the head looks at
    (a word in its first bytes makes the head parse it)."""
    big = 123456789012345678901234
    payload = {"id": big, "note": "user_message", "cwd": "/w/" + "x" * 400}
    meta = {"payload": payload, "type": "session_meta"}
    path = tmp_path / "rollout.jsonl"
    path.write_bytes(b"not json\n" + json.dumps(meta).encode() + b"\n")
    head = read_head(path)
    assert head.meta_id == str(big)
    assert head.meta is not None and head.meta["id"] == big


@pytest.mark.parametrize("spelling", ["utf-8", "UTF8", "utf_8", "U8"])
def test_json_to_a_utf8_stdout_is_the_same_bytes_however_utf8_is_spelled(
    monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    """PYTHONIOENCODING=utf_8 names the same codec as utf-8: --json keeps its UTF-8 text."""
    data = {"threads": common.PlainItems(iter([{"title": "café ✓"}])), "n": "é"}
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=spelling, errors="strict", newline="\n")
    monkeypatch.setattr(sys, "stdout", stream)
    common.emit_json(data)
    stream.flush()
    assert raw.getvalue().decode("utf-8") == '{"threads": [{"title":"café ✓"}], "n": "é"}\n'


def test_new_rows_are_inserted_in_the_plans_order(tmp_path: Path) -> None:
    """A re-import that imports thread 2 again (file and row gone) and repairs thread 1's
    missing row inserts their rows as the plan lists them, as before the rows were written
    while staging (rowid order is the physical order a SELECT without ORDER BY gives)."""
    from click.testing import CliRunner

    from codex_migrate.cli import cli
    from tests.homes import make_state_db, tid, write_rollout

    src = tmp_path / "source"
    for n in (1, 2):
        write_rollout(src, n, cwd="/Users/alex/app")
    target = tmp_path / "target"
    target.mkdir()
    db = make_state_db(target, [])
    args = ["import", str(src), "--codex-home", str(target), "--map", "/Users/alex=/new"]
    first = CliRunner().invoke(cli, [*args, "--yes", "--no-codex"])
    assert first.exit_code == 0, first.output
    next(target.rglob(f"*{tid(2)}.jsonl")).unlink()
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM threads")
    conn.commit()
    conn.close()
    again = CliRunner().invoke(cli, [*args, "--yes", "--no-codex"])
    assert again.exit_code == 0, again.output
    conn = sqlite3.connect(db)
    order = [r[0] for r in conn.execute("SELECT id FROM threads ORDER BY rowid")]
    conn.close()
    assert order == [tid(2), tid(1)]  # the plan's order (newest first), as before


def _string_end_before(raw: bytes, start: int) -> int:
    """head_lines._string_end as it was at 03edf30."""
    find = raw.find
    pos = start
    while (pos := find(b'"', pos)) >= 0:
        back = pos
        while back > start and raw[back - 1] == 0x5C:
            back -= 1
        if (pos - back) % 2 == 0:
            return pos
        pos += 1
    return -1


@settings(deadline=None, max_examples=500)
@given(st.lists(st.sampled_from([b'"', b"\\", b"a", b"{"]), max_size=14), st.integers(0, 14))
def test_property_string_end_is_as_before(parts: list[bytes], start: int) -> None:
    from codex_migrate.head_lines import _string_end

    raw = b"".join(parts)
    start = min(start, len(raw))
    assert _string_end(raw, start) == _string_end_before(raw, start)


_WORDS = st.sampled_from(["gpt-5", "<cwd>/Users/alex/p</cwd>", "/Users/alex/q", "", "high"])
_NUMS = st.sampled_from([1, 2**63 - 1, 2**63, 2**64 + 5, -(2**70), 1.5])


@st.composite
def _fact_lines(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        payload: dict[str, Any] = {
            "cwd": draw(st.sampled_from(["/Users/alex/p", "/elsewhere"])),
            "model": draw(_WORDS),
            "effort": draw(_WORDS),
            "approval_policy": draw(_WORDS),
        }
        if draw(st.booleans()):
            payload["sandbox_policy"] = {
                "type": "workspace-write",
                "writable_roots": [draw(st.sampled_from(["/Users/alex/w", "/tmp"]))],
                "n": draw(_NUMS),
            }
        record = {"timestamp": "t", "type": "turn_context", "payload": payload}
    else:
        info = {"total_token_usage": {"total_tokens": draw(_NUMS)}, "note": draw(_WORDS)}
        record = {"type": "event_msg", "payload": {"type": "token_count", "info": info}}
    return json.dumps(record).encode() + b"\n"


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_fact_lines(), max_size=8), st.booleans(), st.data())
def test_property_staged_facts_are_the_staged_files_facts(
    lines: list[bytes], rewrite_text: bool, data: st.DataObject
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "src.jsonl"), Path(tmp, "out.jsonl")
        src.write_bytes(b"".join(lines))
        staged = stage_rewritten(src, out, MAPPER, mtime=1.0, rewrite_text=rewrite_text)
        assert staged.facts == row_facts(_facts_of(out))


def _parsed(block: bytes) -> list[tuple[bytes, Any]]:
    """What the staging pass feeds :meth:`RolloutFacts.feed_lines` for ``block``."""
    from codex_migrate.rollout import parse_block
    from codex_migrate.rolloutfacts import UNPARSED

    return [(raw, UNPARSED if bad else record) for raw, record, bad in parse_block(block)[0]]


_PIECES = st.sampled_from(
    [
        b"turn_context",
        b"token_count",
        b'"total_token_usage"',
        b'"user_message"',
        b'"UserMessage"',
        b'"UserMessage"user_message"',
        b"\r",
        b"{",
    ]
)
#: lengths that put a needle at the edge of the bytes looked in (160 and 400)
_PADDING = st.one_of(st.sampled_from([0, 1, 147, 148, 149, 388, 389, 390]), st.integers(0, 420))
_PADDING = _PADDING.map(lambda n: b"x" * n)
_RAW_LINES = st.lists(st.one_of(_PIECES, _PADDING), max_size=4).map(lambda p: b"".join(p) + b"\n")


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(_fact_lines(), _RAW_LINES), max_size=90),
    st.one_of(st.integers(0, 4), st.integers(60, 64)),
    st.lists(st.integers(1, 90), max_size=3),
    st.booleans(),
)
def test_property_facts_of_blocks_are_the_facts_of_lines(
    lines: list[bytes], filler: int, cuts: list[int], cut_last: bool
) -> None:
    """:meth:`RolloutFacts.feed_lines` (kept lines resolved at the end) finds what
    :meth:`feed` finds line by line: needles at the edges of the bytes looked in, past the
    head's records, in lines of every kind, over several blocks, with a last line cut short."""
    lines = [b'{"type":"response_item","payload":{}}\n'] * filler + lines
    if cut_last and lines and len(lines[-1]) > 1:
        lines[-1] = lines[-1][:-1]
    by_line = RolloutFacts()
    for raw in lines:
        by_line.feed(raw)
    by_block = RolloutFacts()
    start = 0
    for cut in [*sorted(cuts), len(lines)]:
        block = b"".join(lines[start:cut])
        if block:
            by_block.feed_lines(_parsed(block))
        start = max(start, cut)
    kept = [[raw for raw, _ in q] for q in (by_block._contexts, by_block._tokens)]
    assert kept == [
        [raw for raw in lines if rolloutfacts._kind(raw) == kind][-64:]
        for kind in (rolloutfacts._CONTEXT, rolloutfacts._TOKENS)
    ]
    if by_block.finish():  # else the staging pass reads the file again line by line
        assert by_block == by_line


@pytest.mark.parametrize("filler", [62, 63, 64])
@pytest.mark.parametrize("cut", [0, 1, 50, 63, 64, 66])
@pytest.mark.parametrize("user", [b'"user_message"', b'"UserMessage"'])
@pytest.mark.parametrize("kind", [b"turn_context", b"token_count"])
def test_a_user_message_counts_up_to_the_heads_last_record(
    filler: int, cut: int, user: bytes, kind: bytes
) -> None:
    """The 64th record may be the user's message, the 65th not, wherever a block ends; a
    line that may set a fact is no user's message."""
    lines = [b'{"type":"response_item","payload":{}}\n'] * filler
    lines += [b'{"type":"' + kind + b'","payload":{"x":' + user + b',"total_token_usage":1}}\n']
    lines += [b'{"type":"event_msg","payload":{"type":' + user + b"}}\n"] * 2
    by_block = RolloutFacts()
    for block in (b"".join(lines[:cut]), b"".join(lines[cut:])):
        if block:
            by_block.feed_lines(_parsed(block))
    assert by_block.has_user_event is (filler < 63)


@pytest.mark.parametrize("pad", [0, 1, 147, 148, 149, 388, 389, 390])
def test_a_needle_at_the_edge_of_the_start_is_found_as_find_finds_it(pad: int) -> None:
    """The staging pass's search for the type of a line is ``find`` within the first bytes."""
    lines = RolloutFacts()
    context, tokens = b"turn_context\n", b'token_count "total_token_usage"\n'
    lines.feed_lines([(b"k" * pad + context, None), (b"x" * pad + tokens, None)])
    assert bool(lines._contexts) is (pad <= 148)
    assert bool(lines._tokens) is (pad <= 389)
