"""A listing-cache record (see :mod:`catalog_cache`): what ``read_thread`` made of one
rollout as a JSON array under its stat key, and back, never a wrong thread: what JSON
cannot carry exactly, a racy file or a credential is not stored; a malformed record is a
miss; repeated texts come back shared, as a read thread's are."""

from __future__ import annotations

import math
import os
import re
import sys
from array import array
from typing import Any

import orjson

from codex_migrate import keptmeta
from codex_migrate.catalog_thread import META_KEYS, SHARED_GIT_KEYS, SHARED_KEYS, Thread
from codex_migrate.home import RolloutRef
from codex_migrate.problem import Problem
from codex_migrate.rollout import LineIssues

#: A record: the stat key (4), then the thread's per-file fields.
FIELDS = 15


def line_of(rel: str, key: list[int], mtime: float, threshold: int, t: Thread) -> bytes | None:
    """The cache line of a thread just read, or None when it must not be stored: racy, read
    from another file than the one stat-ed, or holding what JSON cannot carry exactly or a
    credential."""
    if not _storable(t, key, mtime, threshold):
        return None
    try:
        line = orjson.dumps(rel) + b"\t" + orjson.dumps(_record(key, t)) + b"\n"
    except (orjson.JSONEncodeError, TypeError):  # an int past 64 bits, a lone surrogate
        return None
    return None if _has_credential(line) else line


class MissKeys:
    """The stat key and mtime of each miss of a listing, in the order of the misses: what
    storing its record needs once it is read. Packed in two arrays (40 bytes a miss): a list
    of the four ints, the float, the rel and a tuple each were ~0.5 KB, 15 MB of a cold
    30 000-file listing's peak."""

    def __init__(self) -> None:
        self._keys = array("q")  # four a miss: inode, size, mtime_ns, ctime_ns
        self._mtimes = array("d")  # NaN: no key (not a regular file, or past 64 bits)

    def add(self, st: os.stat_result | None) -> None:
        """The next miss: ``st``, the lstat of a regular file, else None (not stored)."""
        keys = self._keys
        if st is not None:
            try:
                keys.extend((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
            except OverflowError:  # past 63 bits (a time past 2262 is racy anyway): not stored
                del keys[len(self._mtimes) * 4 :]
            else:
                self._mtimes.append(st.st_mtime)
                return
        keys.extend(_NO_KEY)
        self._mtimes.append(math.nan)

    def key(self, n: int) -> tuple[list[int] | None, float]:
        """The stat key (None: not to be stored) and the mtime of the ``n``-th miss."""
        mtime = self._mtimes[n]
        if mtime != mtime:  # NaN
            return None, 0.0
        return self._keys[n * 4 : n * 4 + 4].tolist(), mtime


_NO_KEY = (0, 0, 0, 0)


def _storable(result: Thread, key: list[int], mtime: float, threshold: int) -> bool:
    """A thread read from the file stat-ed as ``key`` (same size and mtime), which is not
    racy: last written (and its inode last changed) well before this read began."""
    if result.size != key[1] or result.mtime != mtime:
        return False
    for v in result.kept_meta or ():  # a loop: most values are text, checked without a call
        if v is not None and v.__class__ is not str and not _finite(v):
            return False  # JSON would carry NaN back as null: never a wrong record
    return key[2] < threshold and key[3] < threshold


#: A URL's user part (``scheme://user@``); one with a password (``user:pass@``), or any user
#: part of an http(s) URL (``https://TOKEN@host``), is a credential: never written outside
#: the home. (A literal first: searching each new line costs microseconds.)
_USERINFO = re.compile(rb'://([^/?#@\s"]*)@')


def _has_credential(blob: bytes) -> bool:
    for m in _USERINFO.finditer(blob):
        scheme = blob[max(0, m.start() - 5) : m.start()].lower()
        if b":" in m[1] or scheme.endswith((b"http", b"https")):
            return True
    return False


def _finite(value: Any) -> bool:
    """No NaN or infinity in ``value`` (a session_meta value: at most 128 levels deep)."""
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(_finite(v) for v in value.values())
    if kind is list:
        return all(_finite(v) for v in value)
    return True


def _record(key: list[int], t: Thread) -> list[Any]:
    issues = t.line_issues
    return [
        *key,
        t.era,
        t.history_mode,
        t.rollout_cwd,
        t.title,
        t.created_at,
        t.source,
        t.model_provider,
        t.cli_version,
        list(kept) if (kept := t.kept) is not None else None,
        None if issues is None else [*_counts(issues), issues.first_bad_line],
        [[p.code, str(p)] for p in t.problems],
    ]


def _counts(issues: LineIssues) -> list[int]:
    return [issues.truncated, issues.non_utf8, issues.not_json, issues.huge]


_SHARED_AT = tuple(i for i, k in enumerate(META_KEYS) if k in SHARED_KEYS)
_GIT_AT = META_KEYS.index("git")
_intern = sys.intern


def thread_of(
    rec: list[Any], ref: RolloutRef, root: str, rel: str, st: os.stat_result
) -> Thread | None:
    """The thread of a cached record; None when the record is malformed (then a miss).
    Repeated values are kept once, as ``read_thread`` keeps them (see its SHARED_KEYS)."""
    era, mode, cwd, title, created, source, provider, version, kept, issues, problems = rec[4:]
    if type(era) is not str or type(mode) is not str:
        return None
    for text in (cwd, title, created, source, provider, version):
        if text is not None and type(text) is not str:
            return None
    if kept is not None:
        if type(kept) is not list or len(kept) != len(META_KEYS):
            return None
        # (rec was parsed for this call alone: its lists and dicts are changed in place)
        for i in _SHARED_AT:
            if type(value := kept[i]) is str and len(value) < 4096:
                kept[i] = _intern(value)
        if type(git := kept[_GIT_AT]) is dict:
            for g in SHARED_GIT_KEYS:
                if type(value := git.get(g)) is str and len(value) < 4096:
                    git[g] = _intern(value)
        kept = tuple(kept)
        # the fields read_thread takes from the kept values are those very objects
        created = kept[0] if created == kept[0] else created  # (str equals str only)
        source = kept[1] if source == kept[1] else source
        provider = kept[2] if provider == kept[2] else provider
        version = kept[3] if version == kept[3] else version
        kept = keptmeta.compact(kept, created)  # held as read_thread holds it
    line_issues = None
    if issues is not None:
        if type(issues) is not list or len(issues) != 5:
            return None
        if not all(type(n) is int and n >= 0 for n in issues[:4]):
            return None
        if issues[4] is not None and type(issues[4]) is not int:
            return None
        line_issues = LineIssues(*issues)
    if type(problems) is not list:
        return None
    made = []
    for p in problems:
        if type(p) is not list or len(p) != 2 or type(p[0]) is not str or type(p[1]) is not str:
            return None
        made.append(Problem(p[0], p[1]))
    return Thread(  # positional, in the fields' order (see catalog_thread.read_thread)
        ref.thread_id,
        root,
        rel,
        ref.archived,
        ref.compressed,
        st.st_size,  # as the key (the record's may be 5.0 == 5)
        st.st_mtime,
        _intern(era),  # one shared copy of each, as read_thread's ("paginated")
        _intern(mode),
        _intern(cwd) if cwd is not None and len(cwd) < 4096 else cwd,
        title,
        created,
        source,
        provider,
        version,
        None,  # index_name: joined by the catalog
        None,  # row: joined by the catalog
        kept,
        line_issues,
        tuple(made),  # () when none: the one empty tuple, as read_thread's
    )
