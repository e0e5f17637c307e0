"""The head read's shortcuts (lines skipped unparsed, the instructions cut out of session_meta)
give what decoding every line whole gives, on real Codex rollouts and on awkward ones."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from codex_migrate import head_lines, rollout_head
from codex_migrate.rollout_head import RolloutHead, read_head
from tests.homes import tid, write_rollout

FIXTURES = Path(__file__).parent / "fixtures"
REAL = sorted(FIXTURES.glob("codex-*/home/**/rollout-*.jsonl"))
META_KEYS = ("id", "timestamp", "cwd", "source", "model_provider", "cli_version", "git")


def _facts(head: RolloutHead) -> dict[str, Any]:
    meta = head.meta or {}
    return {
        "era": head.era,
        "meta": {k: meta.get(k) for k in META_KEYS},
        "meta_id": head.meta_id,
        "history_mode": head.history_mode,
        "first_user_message": head.first_user_message,
        "cwd": head.cwd,
        "first_timestamp": head.first_timestamp,
        "issues": head.issues.to_dict(),
        "first_bad_line": head.issues.first_bad_line,
        "empty": head.empty,
    }


def _reference(path: Path, thread_id: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The head as read with every line decoded whole (no shortcut)."""
    with monkeypatch.context() as m:
        m.setattr(rollout_head, "_may_matter_in", lambda *a: True)
        m.setattr(rollout_head, "_CODEX_KIND", re.compile(rb"(?!)"))  # matches nothing
        m.setattr(rollout_head, "_slim_meta", lambda *a: None)
        return _facts(read_head(path, thread_id))


def _id_of(path: Path) -> str:
    return path.name.removesuffix(".jsonl")[-36:]


def test_real_rollouts_read_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(REAL) >= 10
    for path in REAL:
        meta = path.read_bytes().splitlines()[0]
        assert len(head_lines._slim(meta)) < len(meta) // 2  # the instructions are cut
        fast = _facts(read_head(path, _id_of(path)))
        assert fast == _reference(path, _id_of(path), monkeypatch), path
        assert fast["first_user_message"] and fast["cwd"]


@pytest.mark.parametrize("era", ["paginated", "legacy", "bare"])
def test_each_era_reads_alike(tmp_path: Path, era: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_rollout(tmp_path, 1, era=era, turns=[("Fix it", "Done"), ("More", "Ok")])
    assert _facts(read_head(path, tid(1))) == _reference(path, tid(1), monkeypatch)


def _meta_line(instructions: str, **extra: Any) -> str:
    payload = {
        "id": tid(1),
        "timestamp": "2026-03-04T10:20:30.000Z",
        "cwd": "/before",
        "base_instructions": {"text": instructions},
        "history_mode": "paginated",
        **extra,
    }
    return json.dumps(
        {"timestamp": "t", "ordinal": 0, "type": "session_meta", "payload": payload},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _user_line(text: str) -> str:
    return json.dumps(
        {
            "timestamp": "t",
            "ordinal": 1,
            "type": "event_msg",
            "payload": {"type": "user_message", "message": text},
        },
        separators=(",", ":"),
    )


TRICKY = [
    'quotes "inside", a backslash \\ and \\" and ends with a backslash \\' * 40,
    'fake keys ","cwd":"/evil","x":"' * 50,
    "é ünïcode, tabs\t and newlines\n" * 100,
    "\\" * 2001,
]


@pytest.mark.parametrize("text", TRICKY)
def test_instructions_of_any_content_are_cut_exactly(
    tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / f"rollout-x-{tid(1)}.jsonl"
    path.write_text(_meta_line(text, git={"branch": "main"}) + "\n" + _user_line("Hi") + "\n")
    assert len(head_lines._slim(path.read_bytes().splitlines()[0])) < 400  # it was cut
    head = read_head(path, tid(1))
    assert head.meta is not None and head.meta["git"] == {"branch": "main"}
    assert head.meta_cwd == "/before" and head.first_user_message == "Hi"
    assert _facts(head) == _reference(path, tid(1), monkeypatch)


def test_a_meta_line_broken_outside_the_instructions_is_counted(tmp_path: Path) -> None:
    line = _meta_line("x" * 5000).replace('"cwd":"/before"', '"cwd":/before')
    path = tmp_path / "r.jsonl"
    path.write_text(line + "\n" + _user_line("Hi") + "\n")
    head = read_head(path, tid(1))
    assert head.issues.not_json == 1 and head.issues.first_bad_line == 1
    assert head.meta is None


def test_a_meta_line_cut_inside_the_instructions_is_truncated(tmp_path: Path) -> None:
    line = _meta_line("x" * 5000)
    path = tmp_path / "r.jsonl"
    path.write_text(line[:2000])
    head = read_head(path, tid(1))
    assert head.issues.truncated == 1 and head.meta is None


def test_injected_context_still_gives_the_cwd_when_nothing_else_does(tmp_path: Path) -> None:
    """A legacy rollout without a meta cwd lists under the <environment_context> cwd."""
    lines = [
        {"timestamp": "t", "type": "session_meta", "payload": {"id": tid(1)}},
        {
            "timestamp": "t",
            "type": "response_item",
            "payload": {
                "type": "message",
                "role": "user",
                "content": [
                    {
                        "type": "input_text",
                        "text": "<environment_context>\n  <cwd>/from/env</cwd>\n",
                    }
                ],
            },
        },
        json.loads(_user_line("Hi")),
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(x, separators=(",", ":")) + "\n" for x in lines))
    head = read_head(path, tid(1))
    assert head.cwd == "/from/env" and head.first_user_message == "Hi"


def test_size_and_mtime_come_with_the_head(tmp_path: Path) -> None:
    path = write_rollout(tmp_path, 1)
    head = read_head(path, tid(1))
    assert (head.size, head.mtime) == (path.stat().st_size, path.stat().st_mtime)


@pytest.mark.parametrize("era", ["paginated", "legacy"])
def test_lines_laid_out_otherwise_read_alike(
    tmp_path: Path, era: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys in another order than Codex writes them: the kind is found by its words."""
    path = write_rollout(tmp_path, 1, era=era, turns=[("Fix it", "Done"), ("More", "Ok")])
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(dict(reversed(x.items()))) + "\n" for x in lines))
    fast = _facts(read_head(path, tid(1)))
    assert fast == _reference(path, tid(1), monkeypatch)
    assert fast["first_user_message"] == "Fix it"


def test_instructions_cut_by_a_known_text_read_as_found_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Texts that begin alike (the memo of texts already cut is keyed by their first bytes):
    the same text, one that ends later or earlier (an escaped or an unescaped quote near its
    end), one cut short by the file's end, read in turn, each as decoding it whole does."""
    head_lines._KNOWN_TEXTS.clear()
    text = "You are Codex. " * 200
    # (written into the line as is: \\" ends the string, so that line is a bad one)
    variants = [text, text, text + 'a \\" quote', text[:-20] + '\\\\" ends early', text[:-40], text]
    for n, variant in enumerate(variants):
        line = _meta_line(text).replace(text, variant)
        path = tmp_path / f"rollout-{n}-{tid(1)}.jsonl"
        path.write_text(line + "\n" + _user_line("Hi") + "\n")
        fast = _facts(read_head(path, tid(1)))
        assert fast == _reference(path, tid(1), monkeypatch), variant[-30:]
        assert fast["issues"] == ({"not_json": 1} if "early" in variant else {})
    cut = tmp_path / f"rollout-cut-{tid(1)}.jsonl"
    cut.write_text(_meta_line(text)[:2500])  # the known text runs past this line's end
    assert _facts(read_head(cut, tid(1))) == _reference(cut, tid(1), monkeypatch)
    assert head_lines._KNOWN_TEXTS  # the memo was used


def _kind_verdict(raw: bytes, head: RolloutHead, thread_id: str) -> bool | None:
    """What the whole-file read decides for a line from one ``_CODEX_KIND`` match (None: no
    match, the steps judge it)."""
    kind = head_lines._CODEX_KIND.match(raw, 0, len(raw)) if raw.endswith(b"}\n") else None
    if kind is None:
        return None
    if kind.lastgroup == "skip":
        return False
    if kind.lastgroup == "turn":
        return head.turn_cwd is None and not head_lines._cwd_settled(head, thread_id)
    return head_lines._user_message_matters(raw, 0, len(raw), head, thread_id)


def _awkward_lines() -> list[bytes]:
    out = []
    kinds = ["event_msg", "response_item", "session_meta", "turn_context", "message"]
    kinds += ["world_state", "x" * 39, "x" * 40, "event_msgs", 'a\\"b', "compacted"]
    whats = ["user_message", "item_completed", "thread_settings_applied", "message"]
    whats += ["task_started", "user_messages", "y" * 39, "y" * 40, "messages", ""]
    for ts in ["t", "2026-03-04T10:20:30.000Z", "a{b", "z" * 101]:
        for ordinal in ['"ordinal":3,', "", '"ordinal":-1,']:
            for kind in kinds:
                for what in whats:
                    for rest in ['"role":"user"', '"role":"developer"', '"item":"UserMessage"']:
                        line = f'{{"timestamp":"{ts}",{ordinal}"type":"{kind}",'
                        out.append(f'{line}"payload":{{"type":"{what}",{rest}}}}}\n'.encode())
                    out.append(f'{line}"other":{{"type":"{what}"}}}}\n'.encode())
    return out


@pytest.mark.parametrize("settled", [False, True])
def test_one_match_judges_lines_as_the_steps_do(settled: bool) -> None:
    """The whole-file read's one-match verdict is the steps' verdict, for every line of the
    real rollouts and for lines laid out awkwardly around what the match reads."""
    real = [x for p in REAL for x in p.read_bytes().splitlines(keepends=True)]
    real_set = set(real)
    lines = real + _awkward_lines()
    matched = 0
    for era in ("paginated", "legacy"):
        head = RolloutHead(era=era)
        if settled:
            head.meta, head.meta_id = {"cwd": "/c"}, tid(1)
        for raw in lines:
            verdict = _kind_verdict(raw, head, tid(1))
            if verdict is not None:
                matched += raw in real_set
                assert verdict == head_lines._may_matter_in(raw, 0, len(raw), head, True, tid(1))
                assert verdict == head_lines._may_matter_at(raw, head, True, tid(1)), raw
    assert matched > len(real)  # most real lines are judged by the match (in both eras)


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        value = fn(*args)
    except ValueError as e:
        return type(e).__name__ == "TooDeep"  # which refusal, not its text
    return ("value", value, [type(v) for v in value.values()] if type(value) is dict else None)


CHECKED = [
    b'{"a":1,"b":[1,2,{"c":"d"}]}',
    b'{"big":123456789012345678901234567890}',
    b'{"id":"12345678901234567890"}',
    b"[" * 128 + b"]" * 128,
    b"[" * 129 + b"]" * 129,
    b'{"a":' * 129 + b"1" + b"}" * 129,
    b'{"x":"' + b"[" * 200 + b'"}',
    b'{"a":NaN}',
    b'{"a":"\\ud800"}',
    b'{"a":"\xff"}',
    b"not json",
]


@pytest.mark.parametrize("line", CHECKED)
def test_head_lines_decode_as_the_checks_one_by_one_say(line: bytes) -> None:
    """``loads_utf8`` makes its two checks (a 19-digit run, too many opening brackets) from
    one pass over the bytes, and the settings tail decodes through ``safejson.loads``: both
    give what orjson and the checks made one by one give."""
    import orjson

    from codex_migrate import safejson
    from codex_migrate.settings_tail import settings_cwd_of

    def one_by_one(raw: bytes, exact: bool) -> Any:
        obj = orjson.loads(raw)
        if exact and safejson.may_hold_big_int(raw):
            raise ValueError("big int")
        if isinstance(obj, (dict, list)) and safejson.depth(obj) > safejson.MAX_DEPTH:
            raise safejson.TooDeep("deep")
        return obj

    for exact in (True, False):
        decode = functools.partial(safejson.loads_utf8, exact_ints=exact)
        assert _outcome(decode, line) == _outcome(one_by_one, line, exact)
    settings = b'{"type":"event_msg","payload":{"type":"thread_settings_applied",'
    settings += b'"thread_settings":{"cwd":"/c","x":' + line + b"}}}"

    def settings_reference(raw: bytes) -> str | None:
        try:
            obj = safejson.loads(raw, exact_ints=False)
        except ValueError:
            return None
        return obj["payload"]["thread_settings"]["cwd"]

    assert settings_cwd_of(settings) == settings_reference(settings)
