"""The session_meta values a thread record keeps (``Thread.kept_meta``), held compactly.

Nearly every thread's timestamp is its ``created_at`` string, and the other values (source,
provider, CLI version, originator, thread source, git) repeat across a home: such a thread
keeps one tuple of those six, shared with every thread that has the same, instead of a tuple
(and a git dict) of its own, ~0.1-0.3 KB a thread at 30 000 threads. Only strings are shared:
``1``, ``True`` and ``1.0`` are equal keys but not the same value.
"""

from __future__ import annotations

from typing import Any

#: (the six values, with a git dict as its items) -> the one shared tuple of them
_SHARED: dict[Any, tuple[Any, ...]] = {}
#: a long-lived process (the web UI) reads many homes: the table is started again past this
SHARED_MAX = 4096


def compact(kept: tuple[Any, ...], created_at: str | None) -> tuple[Any, ...]:
    """``kept`` (the values of catalog_thread.META_KEYS, the timestamp first) as a thread holds it:
    without the timestamp when that is ``created_at`` itself (see :func:`full`), shared
    where it holds only strings; else as it is."""
    if created_at is None or kept[0] is not created_at:
        return kept
    rest = kept[1:]
    for v in rest[:-1]:  # loops, not all() of a generator: this runs once per thread read
        if v is not None and v.__class__ is not str:
            return rest
    git = rest[-1]
    if git is None:
        key: Any = rest
    elif git.__class__ is dict:
        for k, v in git.items():
            if k.__class__ is not str or v.__class__ is not str:
                return rest
        key = (rest[:-1], tuple(git.items()))
    else:
        return rest
    shared = _SHARED.get(key)
    if shared is None:
        if len(_SHARED) >= SHARED_MAX:
            _SHARED.clear()
        shared = _SHARED[key] = rest
    return shared


def full(kept: tuple[Any, ...], created_at: str | None, size: int) -> tuple[Any, ...]:
    """The values of all ``size`` keys again, from what :func:`compact` kept."""
    return kept if len(kept) == size else (created_at, *kept)
