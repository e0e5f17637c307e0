"""A listing cache of rollout heads, so a home whose files did not change is not read again.

borg's files cache and git's index, for the catalog: what :func:`catalog_thread.read_thread` takes
from one rollout (a pure function of its bytes, its path relative to the home, archived and
compressed) is kept under a key of the file's stat: inode, size, mtime_ns and ctime_ns (the
inode change time; on Windows, where ``st_ctime`` is the creation time, the cache is off: see
:data:`cachefiles.CHANGE_TIME`). A hit costs one ``lstat``: no open, no read. Anything else is
a miss, read as before.

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
import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

from codex_migrate import __version__
from codex_migrate.cache_records import FIELDS, MissKeys, line_of, thread_of
from codex_migrate.cachefiles import (
    AtomicFile,
    Stamp,
    cache_dir,
    lines_at,
    read_again,
    read_file,
    touch,
)
from codex_migrate.catalog import Catalog, ProgressFn, ReadAll, _read_all, build_catalog
from codex_migrate.catalog_thread import Thread, _rel
from codex_migrate.home import CodexHome, RolloutRef

#: The record's layout and meaning. Bump it whenever :class:`Thread`'s fields or what
#: ``read_thread``/``read_head`` make of a file change (tests/test_catalog_cache.py pins the
#: fields): a cache of another version is ignored. The package version is part of the tag too,
#: and a digest of the code that makes a record (see :func:`_code_tag`).
VERSION = 3
#: The modules whose code makes a record: ``read_thread`` and ``read_head`` with everything
#: it imports (tests/test_catalog_cache.py checks this against read_head's imports).
_MAKERS: tuple[str, ...] = ("cache_records", "catalog", "catalog_cache", "catalog_thread")
_MAKERS += ("fsutil", "head_lines", "problem", "rollout", "rollout_head", "safejson")
_MAKERS += ("settings_tail", "zst")


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
_MIN_LINE = 64  #: bytes: no cache line of a rollout is shorter (its path alone is ~80)
#: bytes: an old cache file is held in pieces of about this size. Not smaller: glibc gives a
#: freed buffer back to the system only if it had a mapping of its own (over malloc's mmap
#: threshold, which rises as big buffers are freed); measured, 1 MB pieces stayed on its heap.
_PIECE = 4 << 20
_LOW = (1 << 32) - 1  #: an index value's offset in its piece (a file is under 4 GB)


def cached_catalog(
    home: CodexHome, progress: ProgressFn | None = None, read_misses: ReadAll | None = None
) -> Catalog:
    """:func:`build_catalog` for a listing or a plan: unchanged rollouts come from the cache;
    ``read_misses``: how the others are read (default: in this process)."""
    cache = open_cache(home, read_misses)
    if cache is None:
        return build_catalog(home, progress, read_misses)
    return build_catalog(home, progress, cache.read_all)


def open_cache(home: CodexHome, read_misses: ReadAll | None = None) -> ListingCache | None:
    """The cache of this home, loaded (an unusable file loads as empty); None when the cache
    is off, the home is a temporary extraction, or the cache folder lies inside the home.
    ``read_misses``: how files the cache does not hold are read (default: in this process)."""
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
    return ListingCache(folder, name, key, read_misses)


class ListingCache:
    """One home's cache file: read when made, written (when it changed) after a full read.

    The file is JSON lines: a header (format, version, home), one line per rollout (its
    path relative to the home as a JSON string, a tab, its record as a JSON array), and a
    trailer with the count of those lines and their SHA-256 (a file cut short has none; one
    whose bytes changed on the disk, by a flipped bit or a hand, is refused whole, as git
    refuses an index whose trailing checksum does not match). Lines are parsed
    only when their file is listed: a 30 000-thread cache is never held as objects whole,
    and its bytes only until every listed file was looked up (see :meth:`read_all`)."""

    def __init__(
        self, folder: Path, name: str, home_key: str, read_misses: ReadAll | None = None
    ) -> None:
        self.folder, self.name, self.home_key = folder, name, home_key
        self._sum = hashlib.sha256()  # of a new cache's record lines (see _begin)
        self.path = folder / name
        #: how files the cache does not hold are read (default: in this process)
        self.read_misses: ReadAll = read_misses or _read_all
        got = read_file(self.path)
        self.stamp: Stamp | None = got[1] if got is not None else None
        pieces = _index(got[0], home_key) if got is not None else None
        self.valid = pieces is not None
        #: rel -> its line: the piece it is in (high 32 bits), where in it it starts (low)
        self.index: dict[str, int] = pieces[0] if pieces else {}
        #: the file's lines in pieces of a few megabytes (each dropped once the lines of it
        #: the index names were looked up); where each starts in the file; its lines left
        self.pieces: list[bytes | None] = pieces[1] if pieces else []
        self.starts: list[int] = pieces[2] if pieces else []
        self.left: list[int] = pieces[3] if pieces else []
        # Its lines are read from it again (for a new cache) only if its stamp would show a
        # change: it was last changed RACY_NS or more before this read (the rule for rollouts).
        settled, st = time.time_ns() - RACY_NS, self.stamp
        self.settled = st is not None and st[3] < settled and st[4] < settled

    def read_all(self, home: CodexHome, refs: list[RolloutRef]) -> Iterator[Thread | str]:
        """The catalog's reader (see :data:`catalog.ReadAll`): hits from the cache, misses
        read as before. The old file's pieces are dropped as their lines are looked up (at
        30 000 threads its 13 MB were the scan's peak). A new cache is begun at the first new
        line (a listing of unchanged files writes nothing) with the hits' lines, copied from
        the old file read again a megabyte at a time (see :meth:`_copy`), then the new lines
        as they come, and put in place once the last result has been taken."""
        threshold = time.time_ns() - RACY_NS
        root = sys.intern(str(home.root))
        items: list[Thread | None] = []  # per ref, its thread (a hit) or None (a miss)
        keys = MissKeys()  # what storing a miss's record needs
        hits: list[int] = []  # the hits' lines (see index)
        misses: list[RolloutRef] = []
        index, lstat, is_reg = self.index, os.lstat, stat.S_ISREG
        pieces, left, loads, JSONDecodeError = (
            self.pieces,
            self.left,
            orjson.loads,
            orjson.JSONDecodeError,
        )
        for ref in refs:
            text = ref.text
            rel = _rel(text, home.root, root)
            try:
                st = lstat(text)
            except (OSError, ValueError):
                st = None
            if st is None or not is_reg(st.st_mode):  # a link is read (and checked) anew
                st = None
            else:
                pos, rec = index.get(rel, -1), None
                if pos >= 0:  # its line's record; its piece dropped after its last line
                    n = pos >> 32
                    data = pieces[n]
                    left[n] -= 1
                    if not left[n]:
                        pieces[n] = None
                    if data is not None:
                        tab = data.find(b"\t", pos & _LOW)
                        try:
                            rec = loads(data[tab + 1 : data.find(b"\n", tab)])
                        except JSONDecodeError:
                            rec = None
                if (  # the stat key: a list is made only for a miss
                    type(rec) is list
                    and len(rec) == FIELDS
                    and rec[0] == st.st_ino
                    and rec[1] == st.st_size
                    and rec[2] == st.st_mtime_ns
                    and rec[3] == st.st_ctime_ns
                ):
                    thread = thread_of(rec, ref, root, rel, st)
                    if thread is not None:
                        items.append(thread)
                        hits.append(pos)
                        continue
            misses.append(ref)
            items.append(None)
            keys.add(st)
        entries = len(index)
        self.pieces, self.index = [], {}  # (the hits' lines are read again if need be)
        del index, pieces
        read = self.read_misses(home, misses)
        file: AtomicFile | None = None  # the new cache, from the first new line on
        count, stuck = len(hits), False  # lines of the new cache; it cannot be written
        missed = 0
        try:
            for item in items:
                if item is not None:
                    yield item
                    continue
                key, mtime = keys.key(missed)
                missed += 1
                result = next(read)
                if key is not None and isinstance(result, Thread):
                    # taken now: the catalog adds the DB row's problems after the yield; under
                    # the rel it was read by (the same text the lookup made)
                    line = line_of(result.rel_path, key, mtime, threshold, result)
                    if line is not None:
                        if file is None and not stuck:
                            file = self._begin(hits)
                            stuck = file is None
                        if file is not None:
                            self._put(file, line)
                        count += 1
                yield result
            if file is None and not stuck and (not self.valid or count != entries):
                file = self._begin(hits)
            if file is not None:
                tail = {"entries": count, "sha256": self._sum.hexdigest()}
                file.write(orjson.dumps(tail) + b"\n")
                file.commit()
            elif not stuck:
                touch(self.path)  # most recently used (see cachefiles.prune)
        finally:
            if file is not None:
                file.abort()  # cut short (nothing once committed)

    def _begin(self, hits: list[int]) -> AtomicFile | None:
        """The new cache begun: its header, then the lines of ``hits`` (see ``index``) in
        the old file's order (the new ones come after them, in the listing's); None when
        those cannot be copied (see :meth:`_copy`)."""
        file = AtomicFile(self.folder, self.name)
        file.write(orjson.dumps({"format": FORMAT, "version": TAG, "home": self.home_key}))
        file.write(b"\n")
        self._sum = hashlib.sha256()  # of the lines between the header and the trailer
        if self._copy(file, sorted(self.starts[h >> 32] + (h & _LOW) for h in hits)):
            return file
        file.abort()
        return None

    def _put(self, file: AtomicFile, line: bytes) -> None:
        """One line of records written, and summed for the trailer."""
        self._sum.update(line)
        file.write(line)

    def _copy(self, file: AtomicFile, starts: list[int]) -> bool:
        """The old file's lines that begin at ``starts`` written to ``file``, read from it
        again when it is still the file read, unchanged (see ``settled``); else False."""
        if not starts:
            return True
        if self.stamp is None or not self.settled:
            return False
        try:
            for line in lines_at(read_again(self.path, self.stamp), starts):
                self._put(file, line)
        except (OSError, ValueError):
            return False
        return True


def _index(
    data: bytes, home_key: str
) -> tuple[dict[str, int], list[bytes | None], list[int], list[int]] | None:
    """Where each rollout's line is, and the lines in pieces (see :class:`ListingCache`),
    when ``data`` is a whole cache file of this version for this home; else None (then
    every file is a miss and the cache is rewritten)."""
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
    if tail.get("sha256") != hashlib.sha256(memoryview(data)[first + 1 : last + 1]).hexdigest():
        return None  # changed on the disk: a record read from it could be wrong
    index: dict[str, int] = {}
    pieces: list[bytes | None] = []
    starts: list[int] = []
    left: list[int] = []
    find, loads = data.find, orjson.loads
    pos, count = first + 1, 0
    start, named = pos, 0  # the piece being cut: where it starts, the lines it has indexed
    while pos <= last:
        if pos - start >= _PIECE:
            pieces.append(data[start:pos])
            starts.append(start)
            left.append(named)
            start, named = pos, 0
        end = find(b"\n", pos)
        tab = find(b"\t", pos, end)
        count += 1
        if tab > pos:
            try:
                rel = loads(data[pos:tab])
            except orjson.JSONDecodeError:
                rel = None
            if type(rel) is str:
                index[rel] = len(pieces) << 32 | (pos - start)
                named += 1
        pos = end + 1
    pieces.append(data[start : last + 1])
    starts.append(start)
    left.append(named)
    return (index, pieces, starts, left) if tail.get("entries") == count else None
