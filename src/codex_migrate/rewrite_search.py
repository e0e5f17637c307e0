"""Which lines of a rollout a path rewrite may change, found with byte searches for the
mapper's needles (:attr:`PathMapper.needles`) before any JSON is parsed: a line holding none of
them, nor a path-bearing key, comes out of :mod:`codex_migrate.rewrite` as it went in."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from codex_migrate.pathmap import PathMapper

__all__ = ["candidate_lines", "needle_in_value", "rewriting_gate", "worth_parsing"]

_KEY_NEEDLES = (b'cwd"', b'_roots"', b'"path"')
_TEXT_NEEDLES = (b"<cwd>", b"<root>", b"<image", b"AGENTS.md", b"\\u003c", b"\\u003C")


def _contains_any(needles: tuple[bytes, ...], *, ignore_case: bool) -> Callable[[bytes], bool]:
    """A fast "does this line contain any needle": ``in`` for a few, one regex for many."""
    if not needles:
        return lambda line: False
    if b"" in needles:
        return lambda line: True
    if len(needles) <= 4:
        if ignore_case:

            def lowered(line: bytes) -> bool:
                low = line.lower()
                return any(low.find(n) >= 0 for n in needles)

            return lowered
        return lambda line: any(line.find(n) >= 0 for n in needles)
    alternatives = b"|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True))
    search = re.compile(alternatives, re.IGNORECASE if ignore_case else 0).search
    return lambda line: search(line) is not None


@dataclass(frozen=True)
class _Finder:
    exact: Callable[[bytes], bool]
    lower: Callable[[bytes], bool]
    #: whether a value holds a needle, by value (a rollout repeats its cwd on most lines)
    in_value: dict[str, bool] = field(default_factory=dict)


_FINDERS: weakref.WeakKeyDictionary[PathMapper, _Finder] = weakref.WeakKeyDictionary()


def _finder(mapper: PathMapper) -> _Finder:
    found = _FINDERS.get(mapper)
    if found is None:
        exact, lower = mapper.needles
        found = _Finder(
            _contains_any(exact, ignore_case=False), _contains_any(lower, ignore_case=True)
        )
        _FINDERS[mapper] = found
    return found


_SEARCHES: weakref.WeakKeyDictionary[PathMapper, list[Callable[[bytes, int], int]] | None] = (
    weakref.WeakKeyDictionary()
)


def _searches(mapper: PathMapper) -> list[Callable[[bytes, int], int]] | None:
    """Functions ``(data, pos) -> offset of the next needle or -1``: ``bytes.find`` per
    needle (memchr-fast) for a few, one regex for many or for case-insensitive ones."""
    if mapper in _SEARCHES:
        return _SEARCHES[mapper]
    exact, lower = mapper.needles
    found: list[Callable[[bytes, int], int]] | None = None
    if b"" not in exact:
        found = []
        needles = (*exact, b"\\/")
        if len(needles) <= 8:
            found += [partial(_find, n) for n in needles]
        else:
            found.append(partial(_regex_find, re.compile(b"|".join(map(re.escape, needles)))))
        if lower:
            either = re.compile(b"|".join(map(re.escape, lower)), re.IGNORECASE)
            found.append(partial(_regex_find, either))
    _SEARCHES[mapper] = found
    return found


def _find(needle: bytes, data: bytes, pos: int) -> int:
    return data.find(needle, pos)


def _regex_find(pattern: re.Pattern[bytes], data: bytes, pos: int) -> int:
    m = pattern.search(data, pos)
    return -1 if m is None else m.start()


def candidate_lines(data: bytes, mapper: PathMapper) -> list[int] | None:
    """Start offsets of the lines of ``data`` that :func:`rewrite_line` may change, found
    by searching the whole buffer for the mapper's needles and ``\\/``; None when any line
    may change. Every other line comes out as it went in."""
    if not mapper.rules:
        return []
    searches = _searches(mapper)
    if searches is None:
        return None
    starts: set[int] = set()
    for search in searches:
        pos = search(data, 0)
        while pos >= 0:
            starts.add(data.rfind(b"\n", 0, pos) + 1)
            end = data.find(b"\n", pos)
            if end < 0:
                break
            pos = search(data, end + 1)
    return sorted(starts)


def worth_parsing(line: bytes, mapper: PathMapper, rewrite_text: bool) -> bool:
    """Whether one line may hold a value the rewrite changes: a path-bearing key (or, with
    ``rewrite_text``, a text marker) and one of the mapper's needles."""
    # (bytes.find, not ``in``: see rolloutfacts.is_user_message)
    structured = any(line.find(n) >= 0 for n in _KEY_NEEDLES)
    if not structured and not (rewrite_text and any(line.find(n) >= 0 for n in _TEXT_NEEDLES)):
        return False
    finder = _finder(mapper)
    if finder.exact(line) or finder.lower(line):
        return True
    return line.find(b"\\/") >= 0  # escaped slashes hide every needle that spans one


def needle_in_value(mapper: PathMapper) -> Callable[[str], bool]:
    """Whether a value holds one of ``mapper``'s needles, as :func:`rewriting_gate` asks it
    (and remembers it) of each value."""
    finder = _finder(mapper)
    exact = finder.exact
    lower = finder.lower

    def hit(value: str) -> bool:
        raw = value.encode("utf-8", "surrogatepass")
        return exact(raw) or lower(raw)

    return hit


def rewriting_gate(mapper: PathMapper) -> Callable[[bytes, Iterable[str], bool], bool]:
    """``gate(line, olds, escapes)``: ``worth_parsing(line, mapper, False)`` for a line whose
    parsed path values ``olds`` map, with ``mapper`` bound for a caller asking of many lines.
    The same answer, found in the short values instead of the long line when the line has no
    ``\\u`` or ``\\/`` escape (``escapes``, see ``rewrite_tokens.has_escapes``). Then the keys
    the values came from are spelled in the line as parsed, and a needle (a run of characters
    JSON never escapes otherwise) in a value is a needle in the line."""
    finder = _finder(mapper)
    known = finder.in_value
    exact = finder.exact
    lower = finder.lower

    def gate(line: bytes, olds: Iterable[str], escapes: bool) -> bool:
        if not escapes:
            for old in olds:
                hit = known.get(old)
                if hit is None:
                    raw = old.encode("utf-8", "surrogatepass")
                    hit = exact(raw) or lower(raw)
                    if len(known) >= _KNOWN_MAX:
                        known.clear()
                    known[old] = hit
                if hit:
                    return True
        return worth_parsing(line, mapper, False)

    return gate


_KNOWN_MAX = 4096
