"""The fast paths of the import give the very bytes and facts of the careful ones.

* token replacement with ``bytes.find`` (:mod:`codex_migrate.rewrite_tokens`) against the walk;
* a whole block rewritten at once (:func:`codex_migrate.staging.rewrite_block`) against
  line-by-line, and the offsets map it builds;
* a line parsed by orjson first (``rollout._parse``) against the careful parse, and a parsed
  record's path fields mapped first (``rewrite.rewrite_record``) against ``rewrite_line``;
* facts gathered from the staging pass's parsed lines (``feed_line`` + ``finish``) against
  ``feed`` line by line;
* all of it on benchmark-shaped rollouts (real Codex lines, many path-bearing, many folders),
  plus kill -9 at every step of an import of such a home.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.real_home import make_home, map_args
from codex_migrate import rewrite as rewrite_mod
from codex_migrate import rollout as rollout_mod
from codex_migrate import safejson, staging
from codex_migrate.damage import DamageCount, find_damage
from codex_migrate.merge import raw_lines
from codex_migrate.pathmap import PathMapper
from codex_migrate.rewrite import rewrite_line, rewrite_lines
from codex_migrate.rolloutfacts import RolloutFacts
from codex_migrate.staging import rewrite_block, stage_rewritten
from codex_migrate.threadrow import row_facts
from codex_migrate.transaction import CRASH_ENV
from tests.homes import tree_state
from tests.test_rewrite import PROPERTY_MAPPER, REAL_080, REAL_169, encoded, paths, records

FIXTURE_HOME = Path(__file__).parent / "fixtures" / "codex-0.169.0" / "home"


def walked(line: bytes, mapper: PathMapper, rewrite_text: bool = False) -> bytes:
    """What the careful walk alone makes of ``line``."""
    body, terminator = rewrite_mod._split_terminator(line)
    found = rewrite_mod._changes(body, mapper, rewrite_text)
    if not found:
        return line
    return rewrite_mod._rewrite_walking(line, body, found, terminator, None)


@st.composite
def tricky_records(draw: st.DrawFn) -> bytes:
    """A record whose path value also sits where it must not change: a plain field, an object
    key, the end of a longer string after an escaped quote, a list of other strings."""
    record, _ = draw(records())
    payload = record["payload"]
    p = draw(paths())
    for extra in draw(st.lists(st.sampled_from(["plain", "key", "quoted", "list"]), max_size=3)):
        if extra == "plain":
            payload["note"] = p
        elif extra == "key":
            payload["by_path"] = {p: 1}
        elif extra == "quoted":
            payload["text"] = f'cd "{p}'
        else:
            payload["others"] = [p, "x"]
    if "cwd" in payload and draw(st.booleans()):
        payload["note"] = payload["cwd"]
    return draw(encoded(record))


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_property_token_replacement_equals_the_walk(data: st.DataObject) -> None:
    line = data.draw(tricky_records()) + data.draw(st.sampled_from([b"\n", b"\r\n", b""]))
    text = data.draw(st.booleans())
    for mapper in (PROPERTY_MAPPER, PathMapper(["/Users/alex=/home/alex"])):
        assert rewrite_line(line, mapper, rewrite_text=text) == walked(line, mapper, text)


@pytest.mark.parametrize("line", REAL_169 + REAL_080)
def test_real_lines_take_the_fast_path_and_equal_the_walk(line: bytes) -> None:
    mapper = PathMapper(["/tmp/cm-fixture-root=/home/alex/x"])
    fast = rewrite_line(line + b"\n", mapper)
    assert fast == walked(line + b"\n", mapper)


def _lines(data: st.DataObject) -> list[bytes]:
    lines: list[bytes] = []
    for _ in range(data.draw(st.integers(0, 10))):
        if data.draw(st.booleans()):
            body = data.draw(st.sampled_from(REAL_169 + REAL_080))
        else:
            body = data.draw(tricky_records())
        lines.append(body + data.draw(st.sampled_from([b"\n", b"\r\n"])))
    if lines and data.draw(st.booleans()):
        lines[-1] = lines[-1].rstrip(b"\r\n")[: data.draw(st.integers(1, 200))]
    return lines


@settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_property_block_rewrite_equals_line_by_line(data: st.DataObject) -> None:
    lines = _lines(data)
    mapper = data.draw(
        st.sampled_from([PROPERTY_MAPPER, PathMapper(["/tmp/cm-fixture-root=/home/a b"])])
    )
    block = b"".join(lines)
    out, changes = rewrite_block(block, mapper)
    assert out == b"".join(rewrite_lines(lines, mapper))
    assert len(changes) == sum(rewrite_line(x, mapper) is not x for x in lines)


_DAMAGED_LINES = [
    b"garbage\n",
    b"{]\n",
    b"\xff\xfe\x00 not text\n",
    b'{"type":"response_item","payload":' + b"[" * 200 + b"]" * 200 + b"}\n",
    b"\n",
    b"   \r\n",
    b'{"type":"event_msg","payload":{"cwd":"/Users/alex/x"}} trailing\n',
    b"null\n",
]


@settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_damage_found_while_staging_equals_the_plan_check(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The write's damage check (every line parsed once, the parse shared with the rewrite)
    names the lines :func:`find_damage` names, and leaves the written bytes as they were."""
    lines = _lines(data)
    for _ in range(data.draw(st.integers(0, 4))):
        at = data.draw(st.integers(0, len(lines)))
        lines.insert(at, data.draw(st.sampled_from(_DAMAGED_LINES)))
    mapper = data.draw(
        st.sampled_from([PROPERTY_MAPPER, PathMapper(["/tmp/cm-fixture-root=/home/a b"])])
    )
    tmp = tmp_path_factory.mktemp("damage")
    src = tmp / "src.jsonl"
    src.write_bytes(b"".join(lines))
    plain = stage_rewritten(src, tmp / "a.jsonl", mapper, mtime=1.0, offsets=True)
    checked = stage_rewritten(
        src, tmp / "b.jsonl", mapper, mtime=1.0, offsets=True, check_damage=True
    )
    assert checked.damage == find_damage(src)
    assert plain.damage is None
    assert (tmp / "b.jsonl").read_bytes() == (tmp / "a.jsonl").read_bytes()
    assert (checked.sha256, checked.offsets) == (plain.sha256, plain.offsets)
    assert checked.facts == plain.facts


def _classic(path: Path, mapper: PathMapper) -> tuple[bytes, RolloutFacts, dict[int, int]]:
    facts = RolloutFacts()
    out = bytearray()
    offsets: dict[int, int] = {}
    old = 0
    for raw in raw_lines(path):
        offsets[old] = len(out)
        line = rewrite_line(raw, mapper)
        facts.feed(line)
        out += line
        old += len(raw)
    offsets[old] = len(out)
    return bytes(out), facts, offsets


@pytest.fixture(scope="module")
def bench_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("bench") / "home"
    make_home(home, 30)
    return home


@pytest.mark.parametrize("check_damage", [False, True])
@pytest.mark.parametrize("block_bytes", [1 << 20, 4096, 97])
def test_staging_equals_the_careful_path_on_benchmark_rollouts(
    bench_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    block_bytes: int,
    check_damage: bool,
) -> None:
    monkeypatch.setattr(staging, "BLOCK_BYTES", block_bytes)
    monkeypatch.setattr("codex_migrate.rolloutfacts._KEEP", 3)  # force the re-read path too
    mapper = PathMapper([a.split("=", 1)[0] + "=/home/alex/new place" for a in _maps()])
    changed_any = 0
    for n, src in enumerate(sorted(bench_home.rglob("rollout-*.jsonl"))):
        staged = stage_rewritten(
            src,
            tmp_path / f"{n}.jsonl",
            mapper,
            mtime=1.0,
            offsets=True,
            check_damage=check_damage,
        )
        want, facts, offsets = _classic(src, mapper)
        assert staged.path.read_bytes() == want
        assert staged.facts == row_facts(facts)
        assert staged.offsets == offsets
        changed_any += staged.changed_lines
        # byte-identical except mapped path values: same line count, same JSON elsewhere
        old_lines = src.read_bytes().splitlines()
        new_lines = want.splitlines()
        assert len(old_lines) == len(new_lines)
        for a, b in zip(old_lines, new_lines, strict=True):
            if a != b:
                assert b"/Users/alex/" in a and b"/home/alex/new" in b  # %20 in file URLs
    assert changed_any > 30 * 4  # most path-bearing lines really were rewritten


def _maps() -> list[str]:
    args = map_args(Path("/x"))
    return [args[i + 1] for i in range(0, len(args), 2)]


def _files(home: Path) -> dict[str, tuple[str, int, int]]:
    """Files by bytes, mode and mtime; folders by name (a folder's mtime moves when a file in
    it comes and goes); the DBs are compared by rows in tests/test_import.py."""
    return {
        k: v if v[0] else ("dir", 0, 0)
        for k, v in tree_state(home).items()
        if "sqlite" not in k and not k.startswith("migration_transactions")
    }


CRASH_POINTS = ["prepared", "staged", "installed-first", "files", "db", "appended"]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_during_an_import_of_a_benchmark_home_then_recover(
    bench_home: Path, tmp_path: Path, point: str
) -> None:
    target = tmp_path / "target"
    subprocess.run(["cp", "-a", str(FIXTURE_HOME), str(target)], check=True)
    before = _files(target)
    cmd = [sys.executable, "-m", "codex_migrate", "import", str(bench_home)]
    cmd += ["--codex-home", str(target), *map_args(tmp_path / "p"), "--yes", "--no-codex"]
    proc = subprocess.run(cmd, env={**os.environ, CRASH_ENV: point}, capture_output=True)
    assert proc.returncode == 137, proc.stdout + proc.stderr
    rec = subprocess.run(
        [sys.executable, "-m", "codex_migrate", "recover", "--codex-home", str(target)],
        capture_output=True,
        text=True,
    )
    assert rec.returncode == 0 and "Rolled back" in rec.stdout, rec.stdout + rec.stderr
    assert _files(target) == before
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["report"]
    assert report["summary"]["import"] == 30
    assert len(list((target / "sessions").rglob("rollout-*.jsonl"))) > 25


_VERDICT_CASES = [
    b'{"a":1}\n',
    b'{"a":1}\r\n',
    b'{"a":1}',
    b'{"a":NaN}\n',
    b'{"a":1e999}\n',
    b'{"a":123456789012345678901234567890}\n',
    b'{"a":"\\ud800"}\n',
    b'{"a":"\\ud83d\\ude00"}\n',
    b'\xef\xbb\xbf{"a":1}\n',
    b'{"a":"\x01"}\n',
    b'{"a":"\xed\xa0\x80"}\n',
    b'{"a":"caf\xc3\xa9"}\n',
    b'{"a":"\xff"}\n',
    b"[" * 128 + b"]" * 128 + b"\n",
    b"[" * 129 + b"]" * 129 + b"\n",
    b"[" * 2000 + b"]" * 2000 + b"\n",
    b'{"a":1} x\n',
    b'{"a":1}\x0c\n',
    b"\t{}\t\n",
    b"   \r\n",
    b"\n",
    b"",
    b'{"a":',
    b'{"a":1,"a":2}\n',
    b"01\n",
    b"[1,]\n",
    b'"text"\n',
]


@pytest.mark.parametrize("raw", _VERDICT_CASES)
@pytest.mark.parametrize("last", [False, True])
def test_fast_line_parse_gives_the_careful_verdict(raw: bytes, last: bool) -> None:
    """orjson first (rollout._parse) must give the record and verdict of the careful path."""
    fast = rollout_mod._parse(raw, last)
    careful = rollout_mod.parse_careful(raw, last)
    assert fast[1] == careful[1]
    assert json.dumps(fast[0], sort_keys=True) == json.dumps(careful[0], sort_keys=True)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=60), st.text(max_size=40).map(str.encode)))
def test_property_fast_line_parse_gives_the_careful_verdict(raw: bytes) -> None:
    for candidate in (raw, b'{"k":' + raw + b"}", b'["' + raw + b'"]'):
        fast = rollout_mod._parse(candidate, True)
        careful = rollout_mod.parse_careful(candidate, True)
        assert fast[1] == careful[1]
        assert json.dumps(fast[0], sort_keys=True) == json.dumps(careful[0], sort_keys=True)


def _block_verdicts(lines: list[bytes]) -> list[tuple[str, str | None]]:
    """Each line's (record as JSON, problem) by ``parse_block`` of the lines joined."""
    parsed, bad = rollout_mod.parse_block(b"".join(lines))
    assert [raw for raw, _, _ in parsed] == [x for x in lines if x]
    assert bad == [(n, p) for n, (_, _, p) in enumerate(parsed) if p is not None]
    return [(json.dumps(r, sort_keys=True), p) for _, r, p in parsed]


def _same_damage_in_the_staging_pass(block: bytes) -> None:
    """The staging pass's own loop (stagepass.rewrite_block) finds the unreadable lines
    that ``parse_block`` finds, for the same reasons."""
    lines, bad = rollout_mod.parse_block(block)
    expected = DamageCount()
    expected.add_block(len(lines), bad)
    got = DamageCount()
    rewrite_block(block, PathMapper(["/a=/b"]), check=got)
    assert (got.lineno, got.result()) == (expected.lineno, expected.result())


def _line_verdicts(lines: list[bytes]) -> list[tuple[str, str | None]]:
    lines = [x for x in lines if x]
    out = []
    for n, raw in enumerate(lines):
        record, problem = rollout_mod._parse(raw, n == len(lines) - 1, exact_ints=False)
        out.append((json.dumps(record, sort_keys=True), problem))
    return out


def test_block_parse_gives_each_lines_verdict() -> None:
    """``parse_block`` (the staging pass's loop) against ``_parse`` line by line, on every
    hand-made case: alone, and all of them in one block (each case but the last one ends
    with its newline there, as a block's lines do)."""
    for raw in _VERDICT_CASES:
        assert _block_verdicts([raw]) == _line_verdicts([raw])
    lines = [x if x.endswith(b"\n") else x + b"\n" for x in _VERDICT_CASES if x]
    lines.append(b'{"a":')  # a cut last line
    assert _block_verdicts(lines) == _line_verdicts(lines)


_PAD = "x" * 20000  # a first line this long has its depth checked by its record


@pytest.mark.parametrize(
    "first",
    [
        '{"type":"session_meta","payload":{"text":"' + _PAD + '"}}',
        '{"text":"' + _PAD + '","deep":' + "[" * 127 + "1" + "]" * 127 + "}",  # 128: readable
        '{"text":"' + _PAD + '","deep":' + "[" * 128 + "1" + "]" * 128 + "}",  # 129: too deep
        '{"text":"' + _PAD + '","deep":' + '{"a":' * 128 + "1" + "}" * 129,
        "[" + ",".join(["1"] * 4600) + "]",  # more values than the record look takes
        "[" + ",".join(["1"] * 4600) + "," + "[" * 128 + "1" + "]" * 129,
        '"' + _PAD + '"',
        "[" * 5000 + "1" + "]" * 5000,
    ],
)
@pytest.mark.parametrize("nl", ["\n", "\r\n", ""])
def test_a_long_first_line_gets_the_careful_verdict(first: str, nl: str) -> None:
    """A block's long first line (a session_meta) has its depth checked by its record
    (safejson.within_depth), the other lines by their bracket counts: same verdicts."""
    deep_rest = "[" * 129 + "]" * 129 + "\n"
    for rest in (["{}\n"], [deep_rest, '{"a":1}\n'], []):
        lines = [(first + nl).encode(), *(x.encode() for x in rest)]
        if not nl and rest:
            continue
        assert _block_verdicts(lines) == _line_verdicts(lines)
        _same_damage_in_the_staging_pass(b"".join(lines))


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(_VERDICT_CASES)), max_size=8))
def test_property_block_parse_gives_each_lines_verdict(parts: list[bytes]) -> None:
    block = b"".join(parts)
    lines = [x + b"\n" for x in block.split(b"\n")]
    lines[-1] = lines[-1][:-1]  # the block's end, with or without its newline
    assert _block_verdicts(lines) == _line_verdicts(lines)
    _same_damage_in_the_staging_pass(block)


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_property_rewrite_of_a_parsed_record_equals_rewrite_line(data: st.DataObject) -> None:
    """The staging pass maps a parsed record's path fields before it looks at the bytes
    (rewrite.rewrite_record); it must change exactly what rewrite_line changes."""
    line = data.draw(st.one_of(tricky_records(), st.sampled_from(REAL_169 + REAL_080)))
    line += data.draw(st.sampled_from([b"\n", b"\r\n", b""]))
    record = json.loads(line)
    for mapper in (
        PROPERTY_MAPPER,
        PathMapper(["/Users/alex=/home/alex"]),
        PathMapper(["/tmp/cm-fixture-root=/home/a b"]),
    ):
        assert rewrite_mod.rewrite_record(line, record, mapper) == rewrite_line(line, mapper)


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":"session_meta","payload":{"c\\u0077d":"/Users/alex/x"}}\n',
        b'{"type":"session_meta","payload":{"cwd":"/Users/\\u0061lex/x"}}\n',
        b'{"type":"session_meta","payload":{"cwd":"\\/Users\\/alex\\/x"}}\n',
        b'{"type":"event_msg","payload":{"type":"item_completed","item":'
        b'{"type":"CommandExecution","cwd":"file:///Users/%61lex/x"}}}\n',
        b'{"type":"session_meta","payload":{"cwd":"/USERS/ALEX/x","note":"/Users/alex/x"}}\n',
        b'{"type":"session_meta","payload":{"cwd":"/Users/alex/x\\n","n":"a\\"b"}}\n',
    ],
)
def test_rewrite_of_a_parsed_record_on_escaped_spellings(line: bytes) -> None:
    """Escaped keys and values, percent-encoded URLs, other letter case: where the shortcut
    of rewrite_record cannot tell from the values alone, it still agrees with rewrite_line."""
    record = json.loads(line)
    for mapper in (PathMapper(["/Users/alex=/home/alex"]), PROPERTY_MAPPER):
        assert rewrite_mod.rewrite_record(line, record, mapper) == rewrite_line(line, mapper)


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON_VALUES, st.booleans())
def test_property_loads_gives_json_values_exactly(value: Any, as_bytes: bool) -> None:
    """orjson makes an integer past 64 bits a float; safejson.loads must not (bare.py writes
    parsed records back, export shows them)."""
    text = json.dumps(value, ensure_ascii=False)
    data: str | bytes = text.encode() if as_bytes else text
    got = safejson.loads(data)
    assert got == json.loads(text)
    assert json.dumps(got) == json.dumps(json.loads(text))  # ints stay ints


@pytest.mark.parametrize("number", [b"18446744073709551616", b"-9223372036854775809", b"1" * 40])
def test_a_line_with_an_integer_past_64_bits_parses_exactly(number: bytes) -> None:
    raw = b'{"type":"event_msg","payload":{"n":' + number + b"}}\n"
    record, problem = rollout_mod.parse_line(raw, last=False)
    assert problem is None and record["payload"]["n"] == int(number)
