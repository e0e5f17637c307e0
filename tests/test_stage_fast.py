"""The staging pass's shortcuts agree with the careful code they stand in for, on any record:

* ``rewrite_fields.path_strings`` (values only) gives the values of ``path_values``, in order;
* ``rewrite.record_rewriter`` changes a parsed line exactly as ``rewrite_line`` does;
* ``rewrite_quick``'s one-value shortcut gives what the careful walk gives, or steps aside;
* the staging pass's test of an item event is the path walk's.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_migrate import rewrite as rewrite_mod
from codex_migrate.pathmap import PathMapper
from codex_migrate.rewrite import rewrite_line
from codex_migrate.rewrite_fields import (
    ITEM_EVENT,
    event_may_hold_paths,
    holds_command,
    item_event,
    path_strings,
    path_values,
)
from codex_migrate.rewrite_quick import one_value_rewriter
from tests.test_fast_paths import tricky_records, walked
from tests.test_rewrite import PROPERTY_MAPPER, REAL_080, REAL_169, paths

#: Keys and strings the path walk looks for, so random records hit every branch of it.
_KEYS = st.sampled_from(
    [
        "cwd",
        "path",
        "type",
        "writable_roots",
        "readable_roots",
        "workspace_roots",
        "runtime_workspace_roots",
        "sandbox_policy",
        "permission_profile",
        "thread_settings",
        "item",
        "entries",
        "x",
    ]
)
_WORDS = st.sampled_from(
    ["path", "CommandExecution", "thread_settings_applied", "item_started", "exec_command_end"]
)
_LEAVES = st.one_of(st.none(), st.integers(), st.booleans(), _WORDS, paths(), st.text(max_size=4))
_TREES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=25,
)
_MOSTLY = st.sampled_from([True, True, True, True, False])
_TYPES = st.sampled_from(["session_meta", "turn_context", "world_state", "event_msg", "x"])


_POLICIES = st.recursive(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["path", "special", "managed"]),
            "path": _LEAVES,
            "writable_roots": st.lists(_LEAVES, max_size=3),
            "readable_roots": _TREES,
            "workspace_roots": st.lists(_LEAVES, max_size=2),
            "cwd": _LEAVES,
        },
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, min_size=1, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def _settings(draw: st.DrawFn) -> dict[str, Any]:
    """The fields a settings object (turn_context payload, thread_settings) may have, each
    now and then, holding random trees over the walk's keys."""
    out: dict[str, Any] = draw(st.dictionaries(_KEYS, _TREES, max_size=3))
    for key in ("cwd", "runtime_workspace_roots", "sandbox_policy", "permission_profile"):
        if draw(st.booleans()):
            out[key] = draw(st.one_of(_POLICIES, _TREES, st.lists(_LEAVES, max_size=3)))
    return out


@st.composite
def path_records(draw: st.DrawFn) -> Any:
    """A record of a path-bearing type whose payload is a random tree over the walk's keys,
    or now and then not a record at all."""
    payload = draw(_settings())
    if draw(st.booleans()):
        payload["type"] = draw(_WORDS)
    if draw(st.booleans()):
        payload["thread_settings"] = draw(st.one_of(_settings(), _TREES))
    if draw(st.booleans()):
        payload["item"] = {"type": draw(st.one_of(_WORDS, _LEAVES)), "cwd": draw(_LEAVES)}
    kind = draw(_TYPES) if draw(_MOSTLY) else draw(_LEAVES)
    record: Any = {"type": kind, "payload": payload}
    return record if draw(_MOSTLY) else draw(_TREES)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(path_records())
def test_property_path_strings_are_the_values_of_path_values(record: Any) -> None:
    assert path_strings(record) == [value for _, value in path_values(record)]


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(path_records(), st.booleans(), st.booleans())
def test_property_record_rewriter_equals_rewrite_line(
    record: Any, ascii_only: bool, slashes: bool
) -> None:
    text = json.dumps(record, ensure_ascii=ascii_only)
    if slashes:
        text = text.replace("/", "\\/")
    line = text.encode() + b"\n"
    for mapper in (PROPERTY_MAPPER, PathMapper(["/Users/alex=/home/alex"])):
        rewrite = rewrite_mod.record_rewriter(mapper)
        assert rewrite(line, json.loads(line)) == rewrite_line(line, mapper)


_EVENT_TYPES = [
    "thread_settings_applied",
    "exec_command_begin",
    "exec_command_end",
    "item_started",
    "item_completed",
    "item_",
    "token_count",
    "task_started",
    "user_message",
    "",
    "Item_completed",
]


@settings(deadline=None, max_examples=200)
@given(st.one_of(st.sampled_from(_EVENT_TYPES), st.text(max_size=20)))
def test_property_an_event_the_staging_pass_skips_has_no_path_field(event: str) -> None:
    """stagepass skips an event_msg whose payload type ``event_may_hold_paths`` rules out:
    such a record, with every field any event's paths sit in, has no path string."""
    settings_ = {"cwd": "/p", "runtime_workspace_roots": ["/p"]}
    item = {"type": "CommandExecution", "cwd": "/p"}
    payload = {"type": event, "cwd": "/p", "thread_settings": settings_, "item": item}
    record = {"type": "event_msg", "payload": payload}
    if not event_may_hold_paths(event):
        assert path_strings(record) == []


_MAPPERS = (
    PROPERTY_MAPPER,
    PathMapper(["/Users/alex=/home/alex"]),
    PathMapper(["/tmp/cm-fixture-root=/home/a b"]),
)


@st.composite
def _one_value_lines(draw: st.DrawFn) -> bytes:
    """A settings line whose path fields hold one value, which may also sit where it must not
    change (a plain field, a key, a list of other strings), spelled with or without escapes."""
    p = draw(paths())
    roots = [p] * draw(st.integers(0, 3))
    settings_ = {"cwd": p, "sandbox_policy": {"type": "workspace-write", "writable_roots": roots}}
    extra = draw(st.sampled_from(["none", "note", "key", "list", "quoted"]))
    if extra == "note":
        settings_["note"] = p
    elif extra == "key":
        settings_["by_path"] = {p: 1}
    elif extra == "list":
        settings_["others"] = [p, "x"]
    elif extra == "quoted":
        settings_["text"] = f'cd "{p}"'
    if draw(st.booleans()):
        record: Any = {"type": "turn_context", "payload": settings_}
    else:
        payload = {"type": "thread_settings_applied", "thread_settings": settings_}
        record = {"type": "event_msg", "payload": payload}
    sep = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    text = json.dumps(record, separators=sep, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 3)) == 0:
        text = text.replace("/", "\\/")
    return text.encode()


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_property_one_value_shortcut_equals_the_walk(data: st.DataObject) -> None:
    """Where the shortcut answers, it gives the very bytes (and the very object when nothing
    changes) that rewrite_line and the careful walk give; the same shortcut, asked again
    (its memo warm), gives the same answer."""
    lines = st.one_of(_one_value_lines(), tricky_records(), st.sampled_from(REAL_169 + REAL_080))
    line = data.draw(lines) + data.draw(st.sampled_from([b"\n", b"\r\n", b""]))
    olds = path_strings(json.loads(line))
    if not olds:
        return
    for mapper in _MAPPERS:
        quick = one_value_rewriter(mapper, rewrite_mod._encode_like)
        got = quick(line, olds)
        assert got == quick(line, olds)
        if got is not None:
            assert got == rewrite_line(line, mapper) == walked(line, mapper)
            assert (got is line) == (rewrite_line(line, mapper) is line)


def test_one_value_shortcut_takes_the_common_lines() -> None:
    """The shortcut is taken where it should be (a test that it is not always stepping aside):
    one path value in two fields, mapped; one that maps to nothing; two values, none mapped."""
    mapper = PathMapper(["/Users/alex=/home/alex"])
    quick = one_value_rewriter(mapper, rewrite_mod._encode_like)
    line = b'{"type":"turn_context","payload":{"cwd":"/Users/alex/x","r":["/Users/alex/x"]}}\n'
    olds = ["/Users/alex/x", "/Users/alex/x"]
    assert quick(line, olds) == line.replace(b"/Users/alex/x", b"/home/alex/x")
    other = b'{"type":"turn_context","payload":{"cwd":"/srv/x"}}\n'
    assert quick(other, ["/srv/x"]) is other
    assert quick(other, ["/srv/x", "/srv/y"]) is other
    assert quick(line, olds[:1]) is None  # one field, two tokens: the walk decides


@settings(deadline=None, max_examples=200)
@given(
    st.one_of(st.sampled_from(_EVENT_TYPES), st.text(max_size=20)),
    st.one_of(st.none(), st.text(max_size=3), st.sampled_from(["CommandExecution"])),
    st.booleans(),
)
def test_property_the_staging_pass_skips_only_item_events_without_a_command(
    event: str, item_type: str | None, as_dict: bool
) -> None:
    """stagepass rewrites an event when ``item_event`` says so and, for an item event, when
    ``holds_command`` does: it skips only records whose path_strings are empty."""
    item: Any = {"type": item_type, "cwd": "/p"} if as_dict else ["/p"]
    payload = {"type": event, "cwd": "/p", "thread_settings": {"cwd": "/p"}, "item": item}
    record = {"type": "event_msg", "payload": payload}
    kind = item_event(event)
    assert bool(kind) == event_may_hold_paths(event)
    if not kind or (kind == ITEM_EVENT and not holds_command(payload)):
        assert path_strings(record) == []
