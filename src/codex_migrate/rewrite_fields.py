"""Which string values of a rollout record are paths Codex reads: the fields the rewrite
maps (see :mod:`codex_migrate.rewrite` for the list), and every string for ``--rewrite-text``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

KeyPath = tuple[str | int, ...]

#: The record types :func:`path_values` finds anything in: a record of another type has no
#: path field, so a caller that has parsed it may skip it.
PATH_RECORD_TYPES = frozenset({"session_meta", "turn_context", "world_state", "event_msg"})

_ROOT_LISTS = frozenset({"writable_roots", "readable_roots", "workspace_roots"})
_RUNTIME_ROOTS = "runtime_workspace_roots"


# One rule for both forms: :func:`path_values` (with key paths, for the careful walk) and
# :func:`path_strings` (values only, the staging pass's hot path). Each step appends a value
# to ``out`` and, when ``keys`` is given, its key path to ``keys``: building key paths is
# what the hot path saves.
Keys = list[KeyPath] | None


def _str_field(obj: dict[str, Any], key: str, at: KeyPath, out: list[str], keys: Keys) -> None:
    v = obj.get(key)
    if isinstance(v, str):
        out.append(v)
        if keys is not None:
            keys.append((*at, key))


def _list_field(obj: dict[str, Any], key: str, at: KeyPath, out: list[str], keys: Keys) -> None:
    v = obj.get(key)
    if isinstance(v, list):
        for i, item in enumerate(v):
            if isinstance(item, str):
                out.append(item)
                if keys is not None:
                    keys.append((*at, key, i))


def _policy_paths(node: Any, at: KeyPath, out: list[str], keys: Keys) -> None:
    """Path strings in a sandbox policy or permission profile, whatever its version's shape."""
    stack: list[tuple[Any, KeyPath]] = [(node, at)]
    pop = stack.pop
    push = stack.append
    while stack:
        cur, where = pop()
        if isinstance(cur, dict):
            for k, v in cur.items():  # cheapest test first
                if isinstance(v, str):
                    if k == "path" and cur.get("type") == "path":
                        out.append(v)
                        if keys is not None:
                            keys.append((*where, k))
                elif isinstance(v, list):
                    if k in _ROOT_LISTS:
                        _list_field(cur, k, where, out, keys)
                    else:
                        push((v, where if keys is None else (*where, k)))
                elif isinstance(v, dict):
                    push((v, where if keys is None else (*where, k)))
        elif isinstance(cur, list):
            for i, v in enumerate(cur):
                if isinstance(v, (dict, list)):
                    push((v, where if keys is None else (*where, i)))


#: :func:`_policy_paths`' values of a policy, by the policy's JSON text (orjson's): a rollout
#: repeats one policy on nearly every turn_context and thread_settings_applied line.
_POLICY_MEMO: dict[bytes, tuple[str, ...]] = {}
_POLICY_MEMO_MAX = 512


def _policy_values(node: Any, out: list[str]) -> None:
    """:func:`_policy_paths` without key paths, memoised. Exact for a parsed JSON value: the
    walk reads only the keys, the nesting and the strings of ``node``, each of which its
    ``orjson.dumps`` text spells one way (numbers, booleans and nulls it never looks at)."""
    try:
        text = orjson.dumps(node)
    except orjson.JSONEncodeError:  # a lone surrogate, an integer past 64 bits: just walk
        _policy_paths(node, (), out, None)
        return
    found = _POLICY_MEMO.get(text)
    if found is None:
        start = len(out)
        _policy_paths(node, (), out, None)
        found = tuple(out[start:])
        if len(_POLICY_MEMO) >= _POLICY_MEMO_MAX:
            _POLICY_MEMO.clear()
        _POLICY_MEMO[text] = found
    elif found:
        out.extend(found)


def _settings_paths(obj: dict[str, Any], at: KeyPath, out: list[str], keys: Keys) -> None:
    _str_field(obj, "cwd", at, out, keys)
    _list_field(obj, _RUNTIME_ROOTS, at, out, keys)
    for key in ("sandbox_policy", "permission_profile"):
        v = obj.get(key)
        if isinstance(v, (dict, list)):
            if keys is None:
                _policy_values(v, out)
            else:
                _policy_paths(v, (*at, key), out, keys)


def _all_cwd_keys(node: Any, at: KeyPath, out: list[str], keys: Keys) -> None:
    if keys is None:
        _all_cwd_values(node, out)
        return
    stack: list[tuple[Any, KeyPath]] = [(node, at)]
    pop = stack.pop
    push = stack.append
    while stack:
        cur, where = pop()
        if isinstance(cur, dict):
            for k, v in cur.items():
                if isinstance(v, str):
                    if k == "cwd":
                        out.append(v)
                        if keys is not None:
                            keys.append((*where, k))
                elif isinstance(v, (dict, list)):
                    push((v, where if keys is None else (*where, k)))
        elif isinstance(cur, list):
            for i, v in enumerate(cur):
                if isinstance(v, (dict, list)):
                    push((v, where if keys is None else (*where, i)))


def _all_cwd_values(node: Any, out: list[str]) -> None:
    """:func:`_all_cwd_keys` without key paths, in its order, for a parsed JSON value (exact
    dicts, lists and strings): a world_state is large, and a failed ``isinstance`` costs
    more than a type test (it looks for a ``__class__`` attribute)."""
    stack: list[Any] = [node]
    pop = stack.pop
    push = stack.append
    while stack:
        cur = pop()
        if type(cur) is dict:
            for k, v in cur.items():
                kind = type(v)
                if kind is str:
                    if k == "cwd":
                        out.append(v)
                elif kind is dict or kind is list:
                    push(v)
        elif type(cur) is list:
            for v in cur:
                kind = type(v)
                if kind is dict or kind is list:
                    push(v)


_PAYLOAD: KeyPath = ("payload",)
_THREAD_SETTINGS: KeyPath = ("payload", "thread_settings")
_ITEM: KeyPath = ("payload", "item")

#: The event payload types :func:`_collect` looks into; :func:`event_may_hold_paths` names
#: the same ones, so a caller that skips the others skips nothing with a path.
_SETTINGS_EVENT = "thread_settings_applied"
_EXEC_EVENTS = ("exec_command_begin", "exec_command_end")
_ITEM_EVENTS = "item_"  # a prefix


def _collect(record: Any, out: list[str], keys: Keys) -> None:
    """Every path-bearing string of one record, per docs/STORAGE.md §2."""
    if not isinstance(record, dict):
        return
    rtype = record.get("type")
    payload = record.get("payload")
    if not isinstance(rtype, str) or not isinstance(payload, dict):
        return  # bare-era line or unknown shape
    if rtype == "event_msg":  # the most common kind first (see event_may_hold_paths)
        ptype = payload.get("type")
        if ptype == _SETTINGS_EVENT:
            ts = payload.get("thread_settings")
            if isinstance(ts, dict):
                _settings_paths(ts, _THREAD_SETTINGS, out, keys)
        elif ptype in _EXEC_EVENTS:
            _str_field(payload, "cwd", _PAYLOAD, out, keys)
        elif isinstance(ptype, str) and ptype.startswith(_ITEM_EVENTS) and holds_command(payload):
            _str_field(payload["item"], "cwd", _ITEM, out, keys)
    elif rtype == "turn_context":
        _settings_paths(payload, _PAYLOAD, out, keys)
    elif rtype == "session_meta":
        _str_field(payload, "cwd", _PAYLOAD, out, keys)
        _list_field(payload, _RUNTIME_ROOTS, _PAYLOAD, out, keys)
    elif rtype == "world_state":
        _all_cwd_keys(payload, _PAYLOAD, out, keys)


def event_may_hold_paths(payload_type: str) -> bool:
    """Whether an ``event_msg`` record whose payload has this type may hold a path field
    (:func:`_collect`'s branches): a caller that has parsed most events of a rollout (token
    counts, task starts and ends, messages) skips the rest of them."""
    return (
        payload_type == _SETTINGS_EVENT
        or payload_type in _EXEC_EVENTS
        or payload_type.startswith(_ITEM_EVENTS)
    )


#: :func:`item_event`'s answer for an item event: only a ``CommandExecution`` item has a path.
ITEM_EVENT = 2


def item_event(payload_type: str) -> int:
    """:func:`event_may_hold_paths` (0 or 1), or :data:`ITEM_EVENT` for an event that holds a
    path only when its ``payload.item`` is a ``CommandExecution`` (:func:`holds_command`):
    most item events of a rollout are messages and reasoning, with no path field."""
    if not event_may_hold_paths(payload_type):
        return 0
    if payload_type == _SETTINGS_EVENT or payload_type in _EXEC_EVENTS:
        return 1
    return ITEM_EVENT


def holds_command(payload: Any) -> bool:
    """Whether an item event's payload has a path field: its ``item`` is a
    ``CommandExecution`` (the one rule for :func:`_collect` and for the staging pass, which
    asks it before any walk, see :func:`item_event`)."""
    item = payload.get("item")
    return isinstance(item, dict) and item.get("type") == "CommandExecution"


def path_values(record: Any) -> list[tuple[KeyPath, str]]:
    """The (key path, value) of every path-bearing string of one record."""
    out: list[str] = []
    keys: list[KeyPath] = []
    _collect(record, out, keys)
    return list(zip(keys, out, strict=True))


def path_strings(record: Any) -> list[str]:
    """The values of :func:`path_values`, in its order, without their key paths: what the
    staging pass maps first, building a key path only for the rare line it must walk.
    ``record``: a parsed JSON value (dicts, lists, strings, numbers, booleans, None)."""
    out: list[str] = []
    _collect(record, out, None)
    return out


def all_strings(record: Any) -> Iterator[tuple[KeyPath, str]]:
    stack: list[tuple[Any, KeyPath]] = [(record, ())]
    while stack:
        cur, where = stack.pop()
        if isinstance(cur, str):
            yield where, cur
        elif isinstance(cur, dict):
            stack.extend((v, (*where, k)) for k, v in cur.items())
        elif isinstance(cur, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(cur))
