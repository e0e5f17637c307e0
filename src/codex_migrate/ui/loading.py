"""Pages that read a whole home: at a real size, the reading runs as a job with progress.

A home of a few hundred sessions is read while the page is asked for (well under a second).
A bigger one is read by a read job: the browser sees the progress page (stage, count, a Cancel
button), and when the job ends it comes back to the page, which takes the job's result once.
Counting the session files first is a directory walk, not a read, so it costs milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import Catalog, ProgressFn
from codex_migrate.home import open_home
from codex_migrate.service import listed_catalog
from codex_migrate.ui.common import config_of, see_other
from codex_migrate.ui.jobs import DONE, RUNNING
from codex_migrate.ui.render import session_of

T = TypeVar("T")

#: Homes with more session files than this are read as a job.
INLINE_LIMIT = 400


def home_stamp(home: Path) -> tuple[int, int, int]:
    """(rollout files, their total size, newest change) of the home, plus its index and
    databases: a cheap stamp that changes whenever what a catalog holds may have changed."""
    count = size = newest = 0
    for sub in ("sessions", "archived_sessions"):
        for root, _dirs, files in os.walk(home / sub):
            for name in files:
                if not name.startswith("rollout-"):
                    continue
                try:
                    st = os.stat(os.path.join(root, name))
                except OSError:
                    continue
                count += 1
                size += st.st_size
                newest = max(newest, st.st_mtime_ns)
    try:
        for entry in os.scandir(home):
            if entry.name.endswith((".sqlite", ".jsonl", "-wal")):
                newest = max(newest, entry.stat().st_mtime_ns)
    except OSError:
        pass
    return count, size, newest


def session_files(home: Path) -> int:
    return home_stamp(home)[0]


def loaded(
    request: Request,
    home: Path,
    key: str,
    load: Callable[[ProgressFn | None], T],
    *,
    files: int | None = None,
) -> T | Response:
    """``load``'s result for this page, read here (small home) or by a job: then a redirect
    to its progress page, and the result when the browser comes back after it ended.
    ``files``: how many session files ``load`` reads, when not just the home's."""
    session = session_of(request)
    jobs = request.app.state.jobs
    slot = f"load:{key}"
    job_id = session.extra.get(slot)
    job = jobs.get(job_id) if job_id else None
    if job is not None and job.owner == session.id:
        if job.state == RUNNING:
            return see_other(f"/jobs/{job.id}")
        if job.state == DONE:
            result: Any = job.take()
            with session.lock:
                session.extra.pop(slot, None)
            if result is not None:
                return result
    if (session_files(home) if files is None else files) <= INLINE_LIMIT:
        return load(None)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    context = {"back": "/", "next": here}
    with session.lock:
        job = jobs.start("load", session.id, load, context, write=False)
        session.extra[slot] = job.id
    return see_other(f"/jobs/{job.id}")


def catalog_for(request: Request) -> Catalog | Response:
    """This home's catalog for a page: the one this session read last if the home has not
    changed since (a stamp of its files), else read again, as a job when the home is big."""
    home = config_of(request).codex_home
    session = session_of(request)
    stamp = home_stamp(home)
    cached = session.extra.get("catalog_cache")
    if cached is not None and cached[0] == (str(home), stamp):
        catalog: Catalog = cached[1]
        return catalog
    result = loaded(request, home, "catalog", lambda p: listed_catalog(open_home(home), p))
    if isinstance(result, Response):
        return result
    with session.lock:
        session.extra["catalog_cache"] = ((str(home), stamp), result)
    return result
