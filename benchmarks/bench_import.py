"""Benchmark `codex-migrate import` of a large generated home into a home that has a DB.

The target is a copy of the checked-in real 0.169.0 fixture home (its real state DB schema);
the baseline is `cp -r` of the same source files, measured in the same run. Prints time, peak
RSS and the ratio; never asserts on time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.grow_home import REPO, grow_home
from benchmarks.measure import measure

FIXTURE_HOME = REPO / "tests" / "fixtures" / "codex-0.169.0" / "home"


def _target(path: Path) -> None:
    if FIXTURE_HOME.is_dir():
        shutil.copytree(FIXTURE_HOME, path)
    else:
        path.mkdir(parents=True)


def run(sessions: int, scales: list[int]) -> list[dict[str, float]]:
    rows = []
    for scale in scales:
        tmp = Path(tempfile.mkdtemp(prefix="cm-bench-import-"))
        try:
            src = tmp / "source"
            files, size = grow_home(src, sessions, scale=scale)
            _target(tmp / "target")
            cmd = [
                sys.executable,
                "-m",
                "codex_migrate",
                "import",
                str(src),
                "--codex-home",
                str(tmp / "target"),
                "--map",
                f"/Users/alex/Projects={tmp / 'projects'}",
                "--yes",
                "--no-codex",
                "--json",
            ]
            imp = measure(cmd)
            cp = measure(["cp", "-r", str(src), str(tmp / "cp-copy")])
            rows.append(
                {
                    "sessions": files,
                    "mb": size / 1e6,
                    "import_s": imp.seconds,
                    "import_rss_mb": imp.peak_rss_mb,
                    "cp_s": cp.seconds,
                    "ratio": imp.seconds / cp.seconds if cp.seconds else float("nan"),
                }
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    print(
        f"{'sessions':>8} {'MB':>8} {'import s':>9} {'peak RSS MB':>12} {'cp -r s':>8} {'ratio':>6}"
    )
    for r in run(args.sessions, args.scales):
        print(
            f"{r['sessions']:>8} {r['mb']:>8.1f} {r['import_s']:>9.2f} {r['import_rss_mb']:>12.1f}"
            f" {r['cp_s']:>8.2f} {r['ratio']:>6.2f}"
        )


if __name__ == "__main__":
    main()
