"""Which lines of a rollout cannot be read, found before an import writes anything.

``scan`` reads only a rollout's head; an import copies it whole. So the plan reads every
selected rollout through once and lists the lines that are not JSON (a crash-cut last line, a
broken or binary line in the middle, a record nested deeper than Codex parses). The import
copies such a file with its bytes as they are, after saying so, or leaves it out with
``--skip-damaged``.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.parallel import process_pool, worker_count
from codex_migrate.rollout import LineIssues, line_blocks, open_rollout, parse_block

#: How many line numbers a report lists (the count is always complete).
MAX_LISTED = 20

#: What the real Codex does with such a line when it reads the thread back.
CODEX_EFFECT = (
    "Codex skips a line it cannot parse when it loads the thread and keeps the rest; "
    "the skipped content does not appear in the conversation."
)

_REASONS = {
    "truncated": "last line cut short (a crash while writing)",
    "non_utf8": "not UTF-8 text",
    "not_json": "not valid JSON (or nested too deeply)",
    "huge": "a line too long to read",
}


@dataclass
class Damage:
    """The unreadable lines of one rollout."""

    count: int
    lines: list[int] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        listed = ", ".join(str(n) for n in self.lines)
        more = f" and {self.count - len(self.lines)} more" if self.count > len(self.lines) else ""
        why = "; ".join(f"{n} {_REASONS.get(r, r)}" for r, n in self.reasons.items())
        return f"{self.count} unreadable line(s) at line {listed}{more} ({why})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "lines": list(self.lines),
            "reasons": dict(self.reasons),
            "codex_effect": CODEX_EFFECT,
        }


class DamageCount:
    """The verdicts of one rollout's lines, in order, as :func:`find_damage` keeps them; the
    staging pass (:mod:`codex_migrate.staging`) feeds it too when it does the check itself."""

    def __init__(self) -> None:
        self.issues = LineIssues()
        self.lines: list[int] = []
        self.lineno = 0

    def add_block(self, lines: int, bad: list[tuple[int, str]]) -> None:
        """The verdicts of the next ``lines`` lines: ``bad`` holds the (index, problem) of
        the unreadable ones (:func:`rollout.parse_block`), every other line is readable."""
        for index, problem in bad:
            lineno = self.lineno + index + 1
            self.issues.add(problem, lineno)
            if len(self.lines) < MAX_LISTED:
                self.lines.append(lineno)
        self.lineno += lines

    def result(self) -> Damage | None:
        if not self.issues.total:
            return None
        return Damage(self.issues.total, self.lines, self.issues.to_dict())


def find_damage(path: Path) -> Damage | None:
    """Read the whole rollout once; None when every line is readable. Raises OSError when
    the file itself cannot be read.

    Reads blocks of whole lines and checks each line as :func:`rollout.decode_line` does
    (same verdicts, :func:`rollout.parse_block`), without a line object per line: this
    pass parses every line of every rollout an import checks first."""
    count = DamageCount()
    with open_rollout(path) as stream:
        for block in line_blocks(stream):
            lines, bad = parse_block(block)
            count.add_block(len(lines), bad)
    return count.result()


def find_damage_many(
    paths: list[Path], total_bytes: int
) -> Generator[Damage | OSError | None, None, None]:
    """:func:`find_damage` of each path in order (an OSError in place of a file that cannot
    be read), on all cores when the work is large enough to pay for starting them."""
    workers = worker_count()
    if workers < 2 or total_bytes < PARALLEL_MIN_BYTES or len(paths) < 2 * workers:
        yield from map(_damage_or_error, paths)
        return
    with process_pool(workers) as pool:
        chunk = max(1, min(64, len(paths) // (workers * 8)))
        yield from pool.map(_damage_or_error, paths, chunksize=chunk)


#: Below this much input, worker processes cost more than they save.
PARALLEL_MIN_BYTES = 32 * 1024 * 1024


def _damage_or_error(path: Path) -> Damage | OSError | None:
    try:
        return find_damage(path)
    except OSError as exc:
        return exc
