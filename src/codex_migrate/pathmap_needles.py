"""The needles of a path mapper: byte strings of which every value its rules change holds one,
so that the rewriter passes over a line holding none of them before any JSON is parsed."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from codex_migrate.paths import Family, ProjectPath

_SAFE_RUN = re.compile(r"[A-Za-z0-9._~-]+")


def needles_of(
    olds: Iterable[ProjectPath], views_of: Callable[[ProjectPath], list[ProjectPath]]
) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """Byte strings of which every mappable value contains one: (exact, lower-case).

    A line containing none of them holds no path that a rule changes, in any spelling: JSON
    ``\\\\`` escapes, ``/`` vs ``\\``, ``%20`` in file URLs, other letter case. Each rule
    contributes a run of URL-unreserved ASCII characters from one of its components (never
    escaped by JSON writers or URL encoders). The lower-case set is for case-insensitive
    rules and is searched in the lower-cased line. History-only entries need none: they
    never change a byte. The ``\\/`` JSON escape is the caller's to check.
    """
    exact: set[bytes] = set()
    lower: set[bytes] = set()
    for old in olds:
        views = views_of(old)
        insensitive = any(v.key[0] in ("win", "unc") for v in views)
        comps = old.parts[2:] if old.family is Family.WSL_MOUNT else old.parts
        best = _distinctive_run(comps)
        if best:
            (lower if insensitive else exact).add(best.lower() if insensitive else best)
            continue
        for v in views:  # no usable name: fall back to the anchor
            if v.family is Family.DRIVE or v.family is Family.EXTENDED:
                lower.add(f"{v.drive.lower()}:".encode())
            elif v.family is Family.WSL_MOUNT and insensitive:
                lower.add(f"/mnt/{v.parts[1]}".encode())
            else:
                exact.add(b"")  # matches everything: always take the careful path
    return _minimal(exact), _minimal(lower)


def _distinctive_run(comps: tuple[str, ...]) -> bytes:
    """The longest safe run of the deepest component that has one of 3+ characters.

    Deep names (``my-app``) pick out far fewer lines than shallow ones (``Users``).
    """
    fallback = b""
    for comp in reversed(comps):
        runs = _SAFE_RUN.findall(comp)
        if not runs:
            continue
        run = max(runs, key=len).encode("ascii")
        if len(run) >= 3:
            return run
        if len(run) > len(fallback):
            fallback = run
    return fallback


def _minimal(needles: set[bytes]) -> tuple[bytes, ...]:
    """Drop needles that contain another one: the shorter already finds every such line."""
    ordered = sorted(needles, key=len)
    kept: list[bytes] = []
    for n in ordered:
        if not any(k in n for k in kept):
            kept.append(n)
    return tuple(kept)
