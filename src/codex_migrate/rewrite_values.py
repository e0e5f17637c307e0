"""Mapping one path-bearing value: a path, a ``file://`` URL, or a path that is the whole
content of a free-text construct (``--rewrite-text``). Memoised per mapper, because a rollout
repeats its cwd on most lines and resolving a path is the costly part of a rewrite."""

from __future__ import annotations

import re
import weakref

from codex_migrate.pathmap import PathMapper, Status
from codex_migrate.paths import from_file_url, parse, to_file_url

# (cheap substring that must be present, pattern: group 1 = text kept before the path, group 2 =
# the path, which must be the whole rest of the construct)
_TEXT_PATTERNS = (
    ("<cwd>", re.compile(r"(<cwd>)([^<\n]+)(?=</cwd>)")),
    ("<root>", re.compile(r"(<root>)([^<\n]+)(?=</root>)")),
    ("<image", re.compile(r'(<image\b[^>\n]*?\bpath=")([^"\n]+)(?=")')),
    ("AGENTS.md instructions for ", re.compile(r"(# AGENTS\.md instructions for )([^\n]+)")),
)

_MEMO: weakref.WeakKeyDictionary[PathMapper, dict[str, str | None]] = weakref.WeakKeyDictionary()
_MEMO_MAX = 4096


def value_memo(mapper: PathMapper) -> dict[str, str | None]:
    """:func:`map_path_value`'s memo of ``mapper``: a caller mapping many values may look a
    value up here first (a miss is no answer: call :func:`map_path_value`)."""
    memo = _MEMO.get(mapper)
    if memo is None:
        memo = _MEMO[mapper] = {}
    return memo


def map_path_value(value: str, mapper: PathMapper) -> str | None:
    """What ``value`` becomes (None: unchanged). Memoised per mapper: a rollout repeats its
    cwd on most lines, and resolving a path is the costly part."""
    memo = value_memo(mapper)
    try:
        return memo[value]
    except KeyError:
        pass
    new = _map_uncached(value, mapper)
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    memo[value] = new
    return new


def _map_uncached(value: str, mapper: PathMapper) -> str | None:
    if value[:5].lower() == "file:":
        return _map_file_url(value, mapper)
    res = mapper.resolve(value)
    if res.status is Status.MAPPED and res.new_path is not None and res.new_path != value:
        return res.new_path
    return None


def _map_file_url(url: str, mapper: PathMapper) -> str | None:
    try:
        path = from_file_url(url)
    except ValueError:
        return None
    res = mapper.resolve(path)
    if res.status is not Status.MAPPED or res.new_path is None:
        return None
    new_url = to_file_url(parse(res.new_path), localhost=url[5:17].lower() == "//localhost/")
    if url.endswith("/") and not new_url.endswith("/"):
        new_url += "/"
    return None if new_url == url else new_url


def map_text(text: str, mapper: PathMapper) -> str | None:
    def repl(m: re.Match[str]) -> str:
        new = map_path_value(m.group(2), mapper)
        return m.group(0) if new is None else m.group(1) + new

    new_text = text
    for marker, pattern in _TEXT_PATTERNS:
        if marker in new_text:
            new_text = pattern.sub(repl, new_text)
    return None if new_text == text else new_text
