"""Which lines of a rollout cannot be read, found before an import writes anything.

``scan`` reads only a rollout's head; an import copies it whole. So the plan reads every
selected rollout through once and lists the lines that are not JSON (a crash-cut last line, a
broken or binary line in the middle, a record nested deeper than Codex parses). The import
copies such a file with its bytes as they are, after saying so, or leaves it out with
``--skip-damaged``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codex_migrate.rollout import LineIssues, iter_lines, open_rollout

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


def find_damage(path: Path) -> Damage | None:
    """Read the whole rollout once; None when every line is readable. Raises OSError when
    the file itself cannot be read."""
    issues = LineIssues()
    lines: list[int] = []
    with open_rollout(path) as stream:
        for line in iter_lines(stream, issues):
            if line.problem and len(lines) < MAX_LISTED:
                lines.append(line.lineno)
    if not issues.total:
        return None
    return Damage(issues.total, lines, issues.to_dict())
