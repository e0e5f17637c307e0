"""Writing a rewritten rollout beside the home, before a transaction moves it into place.

One streaming pass does everything a write needs: the rewrite, the hash the verification
checks, the facts a DB row needs, and (for paginated threads) the map from each old line start
to its new one, so byte offsets stored by Codex can be translated instead of dropped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from codex_migrate.bare import upgrade_lines
from codex_migrate.merge import raw_lines
from codex_migrate.parallel import process_pool, worker_count
from codex_migrate.pathmap import PathMapper
from codex_migrate.rewrite import rewrite_line
from codex_migrate.threadrow import RolloutFacts


@dataclass
class StagedFile:
    path: Path
    sha256: str
    size: int
    facts: RolloutFacts
    changed_lines: int = 0
    #: old line start (and old end of file) -> new one; only when asked for.
    offsets: dict[int, int] = field(default_factory=dict)


def stage_rewritten(
    source: Path,
    dest: Path,
    mapper: PathMapper,
    *,
    mtime: float,
    offsets: bool = False,
    rewrite_text: bool = False,
    bare_cwd: str | None = None,
) -> StagedFile:
    """Stream ``source`` through the rewrite into ``dest``; ``dest`` keeps ``mtime``
    (Codex derives ``updated_at`` from it). Durability is the caller's batch sync."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    facts = RolloutFacts()
    old_pos = new_pos = 0
    changed = 0
    offset_map: dict[int, int] = {}
    with open(dest, "wb") as out:
        lines = raw_lines(source)
        if bare_cwd is not None:  # a 2025 bare rollout, converted (bare.py) then mapped
            lines = upgrade_lines(lines, bare_cwd)
        for raw in lines:
            line = rewrite_line(raw, mapper, rewrite_text=rewrite_text)
            if offsets:
                offset_map[old_pos] = new_pos
            if line is not raw:
                changed += 1
            out.write(line)
            digest.update(line)
            facts.feed(line)
            old_pos += len(raw)
            new_pos += len(line)
    if offsets:
        offset_map[old_pos] = new_pos
    os.utime(dest, (mtime, mtime))
    return StagedFile(dest, digest.hexdigest(), new_pos, facts, changed, offset_map)


@dataclass(frozen=True)
class StageJob:
    source: Path
    dest: Path
    mtime: float
    offsets: bool = False
    rewrite_text: bool = False
    bare_cwd: str | None = None


#: Below this much input, starting worker processes costs more than it saves.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024


def _run_job(mapper: PathMapper, job: StageJob) -> StagedFile:
    return stage_rewritten(
        job.source,
        job.dest,
        mapper,
        mtime=job.mtime,
        offsets=job.offsets,
        rewrite_text=job.rewrite_text,
        bare_cwd=job.bare_cwd,
    )


def stage_many(
    jobs: list[StageJob],
    mapper: PathMapper,
    *,
    total_bytes: int,
    on_done: Callable[[int], None] | None = None,
) -> list[StagedFile]:
    """Stage every job, on all cores when the work is large: the rewrite is CPU-bound
    (JSON parsing of the lines that carry paths). Results come back in job order."""
    workers = worker_count()
    if workers < 2 or total_bytes < PARALLEL_MIN_BYTES or len(jobs) < 2 * workers:
        out = []
        for n, job in enumerate(jobs, 1):
            out.append(_run_job(mapper, job))
            if on_done:
                on_done(n)
        return out
    chunk = max(1, min(64, len(jobs) // (workers * 8)))
    results: list[StagedFile] = []
    with process_pool(workers) as pool:
        for n, staged in enumerate(pool.map(partial(_run_job, mapper), jobs, chunksize=chunk), 1):
            results.append(staged)
            if on_done:
                on_done(n)
    return results
