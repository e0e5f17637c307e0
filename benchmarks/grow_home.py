"""Grow a large Codex home for benchmarks by cloning real-shaped sessions under fresh ids.

Templates are the rollouts of a harness-made home (``tests/fixtures/``, written by the real
Codex) when present, else the demo's writers. Each clone gets a fresh thread id, written into
both its file name and its content, so every clone is a distinct, valid thread.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from codex_migrate.demo import legacy_rollout, paginated_rollout
from codex_migrate.rollout import parse_rollout_name

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
#: Where scripts/make_fixtures.py ran Codex; clones move their projects under /Users/alex.
_FIXTURE_ROOT = re.compile(rb"/tmp/cm-fixture-root/[^/]+/projects/")


def _templates() -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for path in sorted(FIXTURES.rglob("rollout-*.jsonl")):
        parsed = parse_rollout_name(path.name)
        if parsed:
            found.append((parsed[1], path.read_bytes()))
    if found:
        return found
    start = datetime(2026, 1, 1, tzinfo=UTC)
    turns = [("Refactor the parser " * 20, "Done, see the diff. " * 40)] * 12
    out = []
    for n, writer in enumerate((paginated_rollout, legacy_rollout)):
        tid = f"019a0000-0000-7000-8000-{n:012x}"
        out.append((tid, writer(tid, "/Users/alex/Projects/app", start, turns).encode()))
    return out


def grow_home(
    target: Path,
    sessions: int,
    *,
    scale: int = 1,
    projects: int = 40,
    archived_every: int = 10,
    seed: int = 7,
) -> tuple[int, int]:
    """Write ``sessions`` rollouts into ``target``; ``scale`` repeats each template's body
    lines to make sessions larger. Returns (files, bytes)."""
    rng = random.Random(seed)
    templates = _templates()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    total = 0
    for n in range(sessions):
        old_id, data = templates[n % len(templates)]
        new_id = str(uuid.UUID(int=rng.getrandbits(128)))
        body = data.replace(old_id.encode(), new_id.encode())
        project = f"/Users/alex/Projects/project-{n % projects:02d}"
        body = _FIXTURE_ROOT.sub(project.encode() + b"/", body)
        if scale > 1:
            head, _, rest = body.partition(b"\n")
            body = head + b"\n" + rest * scale
        when = start + timedelta(minutes=37 * n)
        name = f"rollout-{when:%Y-%m-%dT%H-%M-%S}-{new_id}.jsonl"
        if archived_every and n % archived_every == archived_every - 1:
            path = target / "archived_sessions" / name
        else:
            path = target / "sessions" / f"{when:%Y/%m/%d}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        ts = when.timestamp()
        os.utime(path, (ts, ts))
        total += len(body)
    return sessions, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", type=Path)
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    files, size = grow_home(args.target, args.sessions, scale=args.scale)
    print(f"{files} sessions, {size / 1e6:.1f} MB in {args.target}")


if __name__ == "__main__":
    main()
