"""Benchmark `codex-migrate scan` on a large generated home: time and peak memory.

Runs scan in a child process (so start-up counts, as a user sees it) on homes of growing
session size, next to `cat` of every file as a read-everything baseline measured in the
same run. Prints a table; never asserts on time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.grow_home import grow_home
from benchmarks.measure import measure


def run(sessions: int, scales: list[int], repeat: int = 3) -> list[dict[str, float]]:
    rows = []
    for scale in scales:
        tmp = Path(tempfile.mkdtemp(prefix="cm-bench-scan-"))
        try:
            home = tmp / "home"
            files, size = grow_home(home, sessions, scale=scale)
            scan = [sys.executable, "-m", "codex_migrate", "scan", str(home), "--json"]
            measure(scan)  # warm the page cache and imports
            best = min((measure(scan) for _ in range(repeat)), key=lambda m: m.seconds)
            files_list = [str(p) for p in home.rglob("*.jsonl")]
            cat = measure(["sh", "-c", 'cat "$@" > /dev/null', "cat", *files_list])
            rows.append(
                {
                    "sessions": files,
                    "mb": size / 1e6,
                    "scan_s": best.seconds,
                    "scan_rss_mb": best.peak_rss_mb,
                    "cat_s": cat.seconds,
                }
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = run(args.sessions, args.scales, args.repeat)
    print(f"{'sessions':>8} {'MB':>8} {'scan s':>8} {'peak RSS MB':>12} {'cat s':>8}")
    for r in rows:
        print(
            f"{r['sessions']:>8} {r['mb']:>8.1f} {r['scan_s']:>8.3f} "
            f"{r['scan_rss_mb']:>12.1f} {r['cat_s']:>8.3f}"
        )


if __name__ == "__main__":
    main()
