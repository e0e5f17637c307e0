"""Which string values of a rollout record are paths Codex reads: the fields the rewrite
maps (see :mod:`codex_migrate.rewrite` for the list), and every string for ``--rewrite-text``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

KeyPath = tuple[str | int, ...]

#: The record types :func:`path_values` finds anything in: a record of another type has no
#: path field, so a caller that has parsed it may skip it.
PATH_RECORD_TYPES = frozenset({"session_meta", "turn_context", "world_state", "event_msg"})

_ROOT_LISTS = frozenset({"writable_roots", "readable_roots", "workspace_roots"})
_RUNTIME_ROOTS = "runtime_workspace_roots"


def _add_str(out: list[tuple[KeyPath, str]], obj: dict[str, Any], key: str, at: KeyPath) -> None:
    v = obj.get(key)
    if isinstance(v, str):
        out.append(((*at, key), v))


def _add_list(out: list[tuple[KeyPath, str]], obj: dict[str, Any], key: str, at: KeyPath) -> None:
    v = obj.get(key)
    if isinstance(v, list):
        for i, item in enumerate(v):
            if isinstance(item, str):
                out.append(((*at, key, i), item))


def _policy_paths(node: Any, at: KeyPath, out: list[tuple[KeyPath, str]]) -> None:
    """Path strings in a sandbox policy or permission profile, whatever its version's shape."""
    stack: list[tuple[Any, KeyPath]] = [(node, at)]
    while stack:
        cur, where = stack.pop()
        if isinstance(cur, dict):
            for k, v in cur.items():
                if k in _ROOT_LISTS and isinstance(v, list):
                    _add_list(out, cur, k, where)
                elif k == "path" and isinstance(v, str) and cur.get("type") == "path":
                    out.append(((*where, k), v))
                elif isinstance(v, (dict, list)):
                    stack.append((v, (*where, k)))
        elif isinstance(cur, list):
            for i, v in enumerate(cur):
                if isinstance(v, (dict, list)):
                    stack.append((v, (*where, i)))


def _settings_paths(obj: dict[str, Any], at: KeyPath, out: list[tuple[KeyPath, str]]) -> None:
    _add_str(out, obj, "cwd", at)
    _add_list(out, obj, _RUNTIME_ROOTS, at)
    for key in ("sandbox_policy", "permission_profile"):
        if isinstance(obj.get(key), (dict, list)):
            _policy_paths(obj[key], (*at, key), out)


def _all_cwd_keys(node: Any, at: KeyPath, out: list[tuple[KeyPath, str]]) -> None:
    stack: list[tuple[Any, KeyPath]] = [(node, at)]
    while stack:
        cur, where = stack.pop()
        if isinstance(cur, dict):
            for k, v in cur.items():
                if k == "cwd" and isinstance(v, str):
                    out.append(((*where, k), v))
                elif isinstance(v, (dict, list)):
                    stack.append((v, (*where, k)))
        elif isinstance(cur, list):
            for i, v in enumerate(cur):
                if isinstance(v, (dict, list)):
                    stack.append((v, (*where, i)))


def path_values(record: Any) -> list[tuple[KeyPath, str]]:
    """The (key path, value) of every path-bearing string of one record, per docs/STORAGE.md §2."""
    out: list[tuple[KeyPath, str]] = []
    if not isinstance(record, dict):
        return out
    rtype = record.get("type")
    payload = record.get("payload")
    if not isinstance(rtype, str) or not isinstance(payload, dict):
        return out  # bare-era line or unknown shape
    at: KeyPath = ("payload",)
    if rtype == "session_meta":
        _add_str(out, payload, "cwd", at)
        _add_list(out, payload, _RUNTIME_ROOTS, at)
    elif rtype == "turn_context":
        _settings_paths(payload, at, out)
    elif rtype == "world_state":
        _all_cwd_keys(payload, at, out)
    elif rtype == "event_msg":
        ptype = payload.get("type")
        if ptype == "thread_settings_applied":
            ts = payload.get("thread_settings")
            if isinstance(ts, dict):
                _settings_paths(ts, (*at, "thread_settings"), out)
        elif ptype in ("exec_command_begin", "exec_command_end"):
            _add_str(out, payload, "cwd", at)
        elif isinstance(ptype, str) and ptype.startswith("item_"):
            item = payload.get("item")
            if isinstance(item, dict) and item.get("type") == "CommandExecution":
                _add_str(out, item, "cwd", (*at, "item"))
    return out


def _policy_strings(node: Any, out: list[str]) -> None:
    """:func:`_policy_paths` without the key paths."""
    stack: list[Any] = [node]
    pop = stack.pop
    push = stack.append
    while stack:
        cur = pop()
        if isinstance(cur, dict):
            for k, v in cur.items():  # the tests of _policy_paths, cheapest first
                if isinstance(v, str):
                    if k == "path" and cur.get("type") == "path":
                        out.append(v)
                elif isinstance(v, list):
                    if k in _ROOT_LISTS:
                        out += [item for item in v if isinstance(item, str)]
                    else:
                        push(v)
                elif isinstance(v, dict):
                    push(v)
        elif isinstance(cur, list):
            for v in cur:
                if isinstance(v, (dict, list)):
                    push(v)


def _settings_strings(obj: dict[str, Any], out: list[str]) -> None:
    v = obj.get("cwd")
    if isinstance(v, str):
        out.append(v)
    v = obj.get(_RUNTIME_ROOTS)
    if isinstance(v, list):
        out += [item for item in v if isinstance(item, str)]
    for key in ("sandbox_policy", "permission_profile"):
        v = obj.get(key)
        if isinstance(v, (dict, list)):
            _policy_strings(v, out)


def _cwd_strings(node: Any, out: list[str]) -> None:
    stack: list[Any] = [node]
    pop = stack.pop
    push = stack.append
    while stack:
        cur = pop()
        if isinstance(cur, dict):
            for k, v in cur.items():
                if isinstance(v, str):
                    if k == "cwd":
                        out.append(v)
                elif isinstance(v, (dict, list)):
                    push(v)
        elif isinstance(cur, list):
            for v in cur:
                if isinstance(v, (dict, list)):
                    push(v)


def path_strings(record: Any) -> list[str]:
    """The values of :func:`path_values`, in its order, without their key paths: what the
    staging pass maps first, building a key path only for the rare line it must walk."""
    out: list[str] = []
    if not isinstance(record, dict):
        return out
    rtype = record.get("type")
    payload = record.get("payload")
    if not isinstance(rtype, str) or not isinstance(payload, dict):
        return out
    if rtype == "event_msg":
        ptype = payload.get("type")
        if ptype == "thread_settings_applied":
            ts = payload.get("thread_settings")
            if isinstance(ts, dict):
                _settings_strings(ts, out)
        elif ptype in ("exec_command_begin", "exec_command_end"):
            v = payload.get("cwd")
            if isinstance(v, str):
                out.append(v)
        elif isinstance(ptype, str) and ptype.startswith("item_"):
            item = payload.get("item")
            if isinstance(item, dict) and item.get("type") == "CommandExecution":
                v = item.get("cwd")
                if isinstance(v, str):
                    out.append(v)
    elif rtype == "turn_context":
        _settings_strings(payload, out)
    elif rtype == "session_meta":
        v = payload.get("cwd")
        if isinstance(v, str):
            out.append(v)
        v = payload.get(_RUNTIME_ROOTS)
        if isinstance(v, list):
            out += [item for item in v if isinstance(item, str)]
    elif rtype == "world_state":
        _cwd_strings(payload, out)
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
