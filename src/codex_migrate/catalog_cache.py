"""A listing cache of rollout heads, so a home whose files did not change is not read again.

borg's files cache and git's index, for the catalog: what :func:`catalog.read_thread` takes
from one rollout (a pure function of its bytes, its path relative to the home, archived and
compressed) is kept under a key of the file's stat: inode, size, mtime_ns and ctime_ns (the
inode change time; on Windows, where ``st_ctime`` is the creation time, inode, size and
mtime_ns). A hit costs one ``lstat``: no open, no read. Anything else is a miss, read as before.

The rules:

* **Listing and planning only**: ``scan``, the web UI's listings and the import's SOURCE
  catalog (:func:`cached_catalog`). Whatever decides what to overwrite or checks a result (the
  import's target, doctor, verify, rebind, backup, recovery) calls :func:`build_catalog`
  without it and reads the real bytes: a safety check never trusts a cache.
* **Racy files are not stored** (git's rule): a file whose mtime or ctime is less than
  :data:`RACY_NS` before this read began (or later, or in the future) may still change within
  the same timestamp tick, unseen by its stat; it is read again next time.
* **Per-file facts only**: the DB row, the name index and what they cause are joined every time.
* One cache file per home (named by the hash of its resolved path) in the user's cache folder,
  ``CODEX_MIGRATE_CACHE_DIR`` overriding it; ``CODEX_MIGRATE_CACHE=off`` (or ``--no-cache``)
  turns it off. Never written into the home; temporary extractions (a backup archive) are not
  cached; entries of files that are gone are dropped. The files themselves: :mod:`cachefiles`.
* JSON lines (a cache file is input: never pickle; see :class:`ListingCache`). A cache file
  that is unreadable, not a regular file, too big, cut short, malformed, or of another
  version or home is ignored (every file is a miss) and rewritten; a malformed record is a
  miss: never a crash, never a wrong record. Two writers: the last one wins, and both wrote
  correct records.

It holds what a listing shows (first-message titles, cwd, git branch and remote: what Codex's
own state DB holds too), never auth, tokens or configuration: a record with a credential in a
URL (a git remote cloned with a token) is not stored, that file is read anew each time.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from codex_migrate import __version__
from codex_migrate.cachefiles import cache_dir, read_bytes, touch, write_atomic
from codex_migrate.catalog import (
    META_KEYS,
    SHARED_GIT_KEYS,
    SHARED_KEYS,
    Catalog,
    ProgressFn,
    Thread,
    _read_all,
    _rel,
    build_catalog,
)
from codex_migrate.home import CodexHome, RolloutRef
from codex_migrate.problem import Problem
from codex_migrate.rollout import LineIssues

#: The record's layout and meaning. Bump it whenever :class:`Thread`'s fields or what
#: ``read_thread``/``read_head`` make of a file change (tests/test_catalog_cache.py pins the
#: fields): a cache of another version is ignored. The package version is part of the tag too,
#: and a digest of the code that makes a record (see :func:`_code_tag`).
VERSION = 2
#: The modules whose code makes a record: ``read_thread`` and ``read_head`` with everything
#: it imports (tests/test_catalog_cache.py checks this against read_head's imports).
_MAKERS: tuple[str, ...] = ("catalog", "catalog_cache", "fsutil", "head_lines", "problem")
_MAKERS += ("rollout", "rollout_head", "safejson", "settings_tail", "zst")


def _code_tag() -> str:
    """A digest of the makers' source: one version number with other code (an install from
    git between two releases, a checkout) never reads another code's records, whether or not
    VERSION was bumped. A frozen executable, with no source beside it, has its version only."""
    digest = hashlib.sha256()
    for name in _MAKERS:
        path = getattr(sys.modules.get(f"codex_migrate.{name}"), "__file__", None)
        try:
            with open(path or "", "rb") as f:
                digest.update(f.read())
        except OSError:
            digest.update(name.encode())
    return digest.hexdigest()[:16]


TAG = f"{VERSION}/{__version__}/{_code_tag()}"
FORMAT = "codex-migrate listing cache"
RACY_NS = 2_000_000_000  #: git's racy rule, with room for 2 s timestamps (FAT, some shares)
_POSIX = os.name != "nt"  # st_ctime is the inode change time
#: A record: the stat key (4), then the thread's per-file fields.
_FIELDS = 15
_MIN_LINE = 64  #: bytes: no cache line of a rollout is shorter (its path alone is ~80)


def cached_catalog(home: CodexHome, progress: ProgressFn | None = None) -> Catalog:
    """:func:`build_catalog` for a listing or a plan: unchanged rollouts come from the cache."""
    cache = open_cache(home)
    if cache is None:
        return build_catalog(home, progress)
    return build_catalog(home, progress, cache.read_all)


def open_cache(home: CodexHome) -> ListingCache | None:
    """The cache of this home, loaded (an unusable file loads as empty); None when the cache
    is off, the home is a temporary extraction, or the cache folder lies inside the home."""
    folder = cache_dir()
    if folder is None or home.temporary:
        return None
    try:
        key = str(home.root.resolve())
        key.encode("utf-8")  # a name that is not text (surrogates) cannot be a JSON key
        if Path(os.path.abspath(folder)).resolve().is_relative_to(key):
            return None  # scan writes nothing into the home
    except (OSError, RuntimeError, UnicodeEncodeError):
        return None
    name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + ".json"
    return ListingCache(folder, name, key)


class ListingCache:
    """One home's cache file: read when made, written (when it changed) after a full read.

    The file is JSON lines: a header (format, version, home), one line per rollout (its
    path relative to the home as a JSON string, a tab, its record as a JSON array), and a
    trailer with the count of those lines (a file cut short has none). Lines are parsed
    only when their file is listed: a 30 000-thread cache is never held as objects whole."""

    def __init__(self, folder: Path, name: str, home_key: str) -> None:
        self.folder, self.name, self.home_key = folder, name, home_key
        self.path = folder / name
        self.data = read_bytes(self.path) or b""
        index = _index(self.data, home_key)
        self.valid = index is not None
        self.index: dict[str, int] = index or {}  #: rel -> where its line starts in data

    def read_all(self, home: CodexHome, refs: list[RolloutRef]) -> Iterator[Thread | str]:
        """The catalog's reader (see :data:`catalog.ReadAll`): hits from the cache, misses
        read as before; the cache is saved once the last result has been taken."""
        threshold = time.time_ns() - RACY_NS
        root = sys.intern(str(home.root))
        #: per ref, its thread (a hit) or what storing it needs (a miss); hits' lines
        items: list[Thread | tuple[str, list[int] | None, float]] = []
        hit_lines: list[int] = []
        misses: list[RolloutRef] = []
        index, lstat, is_reg = self.index, os.lstat, stat.S_ISREG
        for ref in refs:
            text = ref.text or str(ref.path)
            rel = _rel(ref.path, home.root, text, root)
            key, mtime = None, 0.0
            try:
                st = lstat(text)
            except (OSError, ValueError):
                st = None
            if st is not None and is_reg(st.st_mode):  # a link is read (and checked) anew
                key = [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns if _POSIX else 0]
                mtime = st.st_mtime
                pos = index.get(rel, -1)
                rec = self._record_at(pos) if pos >= 0 else None
                if type(rec) is list and len(rec) == _FIELDS and rec[:4] == key:
                    thread = _thread(rec, ref, root, rel, st)
                    if thread is not None:
                        items.append(thread)
                        hit_lines.append(pos)
                        continue
            misses.append(ref)
            items.append((rel, key, mtime))
        lines: list[int | bytes] = []  # a hit's line (where it starts), or a new one
        stored = 0
        read, hits = _read_all(home, misses), iter(hit_lines)
        for item in items:
            if isinstance(item, Thread):
                lines.append(next(hits))
                yield item
                continue
            rel, key, mtime = item
            result = next(read)
            if key is not None and isinstance(result, Thread):
                # taken now: the catalog adds the DB row's problems after the yield
                line = _line(rel, key, mtime, threshold, result)
                if line is not None:
                    lines.append(line)
                    stored += 1
            yield result
        if stored or not self.valid or len(lines) != len(index):
            self.save(lines)
        else:
            touch(self.path)  # most recently used (see cachefiles.prune)

    def _record_at(self, pos: int) -> Any:
        data = self.data
        tab = data.find(b"\t", pos)
        try:
            return orjson.loads(memoryview(data)[tab + 1 : data.find(b"\n", tab)])
        except orjson.JSONDecodeError:
            return None

    def save(self, lines: list[int | bytes]) -> None:
        """Write the cache atomically; a cache that cannot be written is no error."""
        data = self.data
        head = {"format": FORMAT, "version": TAG, "home": self.home_key}

        def pieces() -> Iterator[bytes]:
            yield orjson.dumps(head) + b"\n"
            for line in lines:
                yield line if isinstance(line, bytes) else data[line : data.find(b"\n", line) + 1]
            yield orjson.dumps({"entries": len(lines)}) + b"\n"

        write_atomic(self.folder, self.name, pieces())


def _index(data: bytes, home_key: str) -> dict[str, int] | None:
    """Where each rollout's line starts, when ``data`` is a whole cache file of this version
    for this home; else None (then every file is a miss and the cache is rewritten)."""
    first, last = data.find(b"\n"), data.rfind(b"\n", 0, len(data) - 1)
    if first < 0 or last < first or not data.endswith(b"\n"):
        return None
    try:
        head, tail = orjson.loads(data[:first]), orjson.loads(data[last + 1 :])
    except orjson.JSONDecodeError:
        return None
    if type(head) is not dict or head.get("format") != FORMAT or head.get("version") != TAG:
        return None
    if head.get("home") != home_key or type(tail) is not dict:
        return None
    # Counted at C speed first: a line per rollout is over 100 bytes, so a file of far more,
    # shorter lines (damaged, or made to stall) is refused before a Python loop walks them.
    lines = data.count(b"\n", first + 1, last + 1)
    if tail.get("entries") != lines or lines > len(data) // _MIN_LINE:
        return None
    index: dict[str, int] = {}
    find, loads = data.find, orjson.loads
    pos, count = first + 1, 0
    while pos <= last:
        end = find(b"\n", pos)
        tab = find(b"\t", pos, end)
        count += 1
        if tab > pos:
            try:
                rel = loads(data[pos:tab])
            except orjson.JSONDecodeError:
                rel = None
            if type(rel) is str:
                index[rel] = pos
        pos = end + 1
    return index if tail.get("entries") == count else None


def _line(rel: str, key: list[int], mtime: float, threshold: int, t: Thread) -> bytes | None:
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


def _storable(result: Thread, key: list[int], mtime: float, threshold: int) -> bool:
    """A thread read from the file stat-ed as ``key`` (same size and mtime), which is not
    racy: last written (and its inode last changed) well before this read began."""
    if result.size != key[1] or result.mtime != mtime:
        return False
    if result.kept_meta is not None and not all(_finite(v) for v in result.kept_meta):
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
        list(t.kept_meta) if t.kept_meta is not None else None,
        None if issues is None else [*_counts(issues), issues.first_bad_line],
        [[p.code, str(p)] for p in t.problems],
    ]


def _counts(issues: LineIssues) -> list[int]:
    return [issues.truncated, issues.non_utf8, issues.not_json, issues.huge]


_SHARED_AT = tuple(i for i, k in enumerate(META_KEYS) if k in SHARED_KEYS)
_GIT_AT = META_KEYS.index("git")


def _short(text: str) -> str:
    """One shared copy of a short, oft-repeated text ("paginated"), as read_thread's are."""
    return sys.intern(text) if len(text) < 64 else text


def _thread(
    rec: list[Any], ref: RolloutRef, root: str, rel: str, st: os.stat_result
) -> Thread | None:
    """The thread of a cached record; None when the record is malformed (then a miss).
    Repeated values are kept once, as ``read_thread`` keeps them (see catalog.SHARED_KEYS)."""
    era, mode, cwd, title, created, source, provider, version, kept, issues, problems = rec[4:]
    if type(era) is not str or type(mode) is not str:
        return None
    for text in (cwd, title, created, source, provider, version):
        if text is not None and type(text) is not str:
            return None
    if kept is not None:
        if type(kept) is not list or len(kept) != len(META_KEYS):
            return None
        kept = kept.copy()
        for i in _SHARED_AT:
            if type(value := kept[i]) is str and len(value) < 4096:
                kept[i] = sys.intern(value)
        if type(git := kept[_GIT_AT]) is dict:
            kept[_GIT_AT] = git = git.copy()
            for g in SHARED_GIT_KEYS:
                if type(value := git.get(g)) is str and len(value) < 4096:
                    git[g] = sys.intern(value)
        kept = tuple(kept)
        # the fields read_thread takes from the kept values are those very objects
        created = kept[0] if created == kept[0] and type(created) is str else created
        source = kept[1] if source == kept[1] else source
        provider = kept[2] if provider == kept[2] else provider
        version = kept[3] if version == kept[3] else version
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
    return Thread(  # positional, in the fields' order (see catalog.read_thread)
        ref.thread_id,
        root,
        rel,
        ref.archived,
        ref.compressed,
        st.st_size,  # as the key (the record's may be 5.0 == 5)
        st.st_mtime,
        _short(era),
        _short(mode),
        sys.intern(cwd) if cwd is not None and len(cwd) < 4096 else cwd,
        title,
        created,
        source,
        provider,
        version,
        None,  # index_name: joined by the catalog
        None,  # row: joined by the catalog
        kept,
        line_issues,
        made,
    )
