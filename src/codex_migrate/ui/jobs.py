"""Work in worker threads, with its progress readable by the SSE stream; one write at a time.

The engine reports progress through ``progress(stage, done, total)``; a :class:`Job` records
the latest call so a page (or several) can follow it. :class:`JobRunner` refuses to start a
second write while one runs: the engine's own home lock protects against other processes, this
protects against two clicks (or two tabs) in the same UI.

Reads (opening a source, building a preview) run as jobs too, so a long scan shows progress
instead of a hanging request, but they never take the write slot: any number may run next to
each other and next to a write. A read can be cancelled; it stops at its next progress report
(a write is never interrupted).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codex_migrate.catalog import ProgressFn
from codex_migrate.errors import CodexMigrateError

#: A job's work: it gets the progress callback and returns whatever its result page shows.
Work = Callable[[ProgressFn], Any]

RUNNING, DONE, FAILED = "running", "done", "failed"


class Busy(Exception):
    """Another write is running; carries it so the page can link to it."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} ({job.kind}) is running")
        self.job = job


class Cancelled(CodexMigrateError):
    """A read job was stopped: a newer request replaced it, or the UI is shutting down."""

    code = "cancelled"


@dataclass
class Job:
    id: str
    kind: str
    owner: str  # the session that started it
    write: bool = True  # holds the single write slot while it runs
    state: str = RUNNING
    stage: str = ""
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    result: Any = None
    error: BaseException | None = None
    context: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    cancelled: str | None = None  # why, once a read is cancelled
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def progress(self, stage: str, done: int, total: int) -> None:
        with self._cond:
            if self.cancelled:
                raise Cancelled(self.cancelled)
            self.stage, self.done, self.total = stage, done, total
            self.version += 1
            self._cond.notify_all()

    def cancel(self, why: str = "cancelled: the UI is shutting down.") -> None:
        """Stop a running read at its next progress report; a write is never interrupted."""
        with self._cond:
            if not self.write and self.state == RUNNING:
                self.cancelled = why

    def take(self) -> Any:
        """The result, once: a read's result (a preview's plan) is not kept after it is used."""
        with self._cond:
            result, self.result = self.result, None
            return result

    def finish(self, state: str, result: Any = None, error: BaseException | None = None) -> None:
        with self._cond:
            self.state, self.result, self.error = state, result, error
            self.finished = time.monotonic()
            self.version += 1
            self._cond.notify_all()

    def wait(self, after_version: int, timeout: float) -> int:
        """Block until something changed after ``after_version`` (or the timeout)."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != after_version, timeout=timeout)
            return self.version

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            percent = int(100 * self.done / self.total) if self.total else None
            return {
                "state": self.state,
                "stage": self.stage,
                "done": self.done,
                "total": self.total,
                "percent": percent,
                "version": self.version,
            }


class JobRunner:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._current: Job | None = None

    @property
    def current(self) -> Job | None:
        with self._lock:
            job = self._current
            return job if job is not None and job.state == RUNNING else None

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(
        self,
        kind: str,
        owner: str,
        work: Work,
        context: dict[str, Any] | None = None,
        *,
        write: bool = True,
    ) -> Job:
        """Run ``work`` in a thread; raise :class:`Busy` when it is a write and a write is
        already running. A read (``write=False``) is never refused and never blocks a write."""
        with self._lock:
            if write and self._current is not None and self._current.state == RUNNING:
                raise Busy(self._current)
            job = Job(id=secrets.token_urlsafe(12), kind=kind, owner=owner, write=write)
            job.context = dict(context or {})
            self._jobs[job.id] = job
            if write:
                self._current = job
        thread = threading.Thread(target=self._run, args=(job, work), name=f"ui-job-{kind}")
        thread.daemon = True
        thread.start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        try:
            result = work(job.progress)
        except BaseException as exc:  # shown on the job's page, never swallowed silently
            job.finish(FAILED, error=exc)
        else:
            job.finish(DONE, result=result)

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.state == RUNNING]

    def cancel_reads(self) -> None:
        """For shutdown: running reads stop soon (an extracted archive is then deleted)."""
        for job in self.running():
            job.cancel()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """For shutdown and tests: wait for the running jobs, reads included, to end."""
        deadline = time.monotonic() + timeout
        for job in self.running():
            while job.state == RUNNING and time.monotonic() < deadline:
                job.wait(job.version, timeout=0.2)
        return not self.running()
