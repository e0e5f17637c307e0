"""The merge rule for one thread UUID found in both homes.

We compare the target's file with the source *as it would be written* (after the path
rewrite), line by line: identical → skip; target a strict prefix → replace with the longer
source; source a strict prefix → keep the target; anything else is a conflict. Histories are
never spliced and ids never invented: a conflict stops the whole import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from codex_migrate.pathmap import PathMapper
from codex_migrate.rewrite import rewrite_line
from codex_migrate.rollout import iter_lines, open_rollout

SKIP = "skip"
REPLACE = "replace"
KEEP = "keep"
CONFLICT = "conflict"


@dataclass
class Comparison:
    verdict: str
    first_difference: int | None = None  # 1-based line number
    source_lines: int = 0
    target_lines: int = 0


def raw_lines(path: Path) -> Iterator[bytes]:
    with open_rollout(path) as stream:
        for line in iter_lines(stream, parse=False):
            yield line.raw


def rewritten_lines(
    path: Path, mapper: PathMapper, *, rewrite_text: bool = False, bare_cwd: str | None = None
) -> Iterator[bytes]:
    """The source's lines exactly as the import would write them (a bare 2025 rollout
    converted first when ``bare_cwd`` is given)."""
    lines = raw_lines(path)
    if bare_cwd is not None:
        from codex_migrate.bare import upgrade_lines

        lines = upgrade_lines(lines, bare_cwd)
    for raw in lines:
        yield rewrite_line(raw, mapper, rewrite_text=rewrite_text)


def compare_lines(source: Iterable[bytes], target: Iterable[bytes]) -> Comparison:
    """Whole-line comparison. A crash-cut last line (no newline) never equals a whole line,
    so a cut file is never taken for a prefix: it shows up as a conflict at that line."""
    src, tgt = iter(source), iter(target)
    n = 0
    for s, t in zip_longest(src, tgt):
        n += 1
        if s == t:
            continue
        if s is None:
            return Comparison(KEEP, None, n - 1, n + sum(1 for _ in tgt))
        if t is None:
            return Comparison(REPLACE, None, n + sum(1 for _ in src), n - 1)
        return Comparison(CONFLICT, n, n, n)
    return Comparison(SKIP, None, n, n)


def compare_files(
    source: Path,
    target: Path,
    mapper: PathMapper,
    *,
    rewrite_text: bool = False,
    bare_cwd: str | None = None,
) -> Comparison:
    return compare_lines(
        rewritten_lines(source, mapper, rewrite_text=rewrite_text, bare_cwd=bare_cwd),
        raw_lines(target),
    )
