"""The benchmark of issue 13: scan and import on a home shaped like years of real use.

The home is :mod:`benchmarks.real_home` (real Codex rollouts, ~913 day folders, every project
mapped). Each import runs into a fresh copy of the real 0.169.0 fixture home (a real state DB
schema) with ``--no-codex``, and is paired, in the same run, with ``cp -r`` of the same files
and with a durable copy (``cp -r`` then ``sync -f``): the ratios are the medians over the
pairs, so a busy machine slows both sides alike. Never asserts on time.

Nothing is deleted until the end: on ext4 without a journal, the kernel avoids reusing an
inode freed less than a minute ago (six while its inode-table block is unwritten), so each
file made soon after thousands were deleted costs a search past them. Deleting the last
pair's copies would slow the next pair's writes (the import's first) for reasons of the
benchmark's own.

    python -m benchmarks.bench_real --sessions 3000
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.measure import Measurement, compile_package, measure
from benchmarks.real_home import make_home, map_args

REPO = Path(__file__).resolve().parent.parent
FIXTURE_HOME = REPO / "tests" / "fixtures" / "codex-0.169.0" / "home"
CLI = [sys.executable, "-m", "codex_migrate"]


def _median(ms: list[Measurement]) -> dict[str, float]:
    return {
        "wall_s": statistics.median(m.seconds for m in ms),
        "cpu_s": statistics.median(m.cpu_seconds for m in ms),
        "peak_rss_mb": max(m.peak_rss_mb for m in ms),
    }


def run(sessions: int, pairs: int = 3, scans: int = 3, keep: Path | None = None) -> dict[str, Any]:
    """Make the home, then time ``scan`` and ``pairs`` × (import, cp -r, durable copy)."""
    compile_package()  # time the tool as installed, not its first run from a checkout
    tmp = Path(tempfile.mkdtemp(prefix="cm-bench-real-", dir=keep))
    try:
        src = tmp / "source"
        shape = make_home(src, sessions)
        scan_cmd = [*CLI, "scan", str(src), "--json"]
        measure(scan_cmd)  # warm the page cache and the imports
        scan_runs = [measure(scan_cmd) for _ in range(scans)]
        imports, cps, durables = [], [], []
        for n in range(pairs):
            target = tmp / f"target{n}"
            shutil.copytree(FIXTURE_HOME, target)
            imports.append(
                measure(
                    [
                        *CLI,
                        "import",
                        str(src),
                        "--codex-home",
                        str(target),
                        *map_args(tmp / "projects"),
                        "--yes",
                        "--no-codex",
                        "--json",
                    ]
                )
            )
            cps.append(measure(["cp", "-r", str(src), str(tmp / f"cp{n}")]))
            durables.append(
                measure(
                    [
                        "sh",
                        "-c",
                        'cp -r "$1" "$2" && sync -f "$2"',
                        "sh",
                        str(src),
                        str(tmp / f"dc{n}"),
                    ]
                )
            )
        return {
            "home": shape.describe(),
            "sessions": shape.sessions,
            "mb": shape.bytes / 1e6,
            "day_folders": shape.day_folders,
            "scan": _median(scan_runs),
            "import": _median(imports),
            "cp_s": statistics.median(m.seconds for m in cps),
            "durable_copy_s": statistics.median(m.seconds for m in durables),
            "import_over_cp": statistics.median(
                i.seconds / c.seconds for i, c in zip(imports, cps, strict=True)
            ),
            "import_over_durable_copy": statistics.median(
                i.seconds / d.seconds for i, d in zip(imports, durables, strict=True)
            ),
            "pairs": pairs,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def table(r: dict[str, Any]) -> str:
    s, i = r["scan"], r["import"]
    return "\n".join(
        [
            f"home: {r['home']}",
            f"{'work':<28} {'wall s':>7} {'CPU s':>7} {'peak RSS MB':>12}",
            f"{'scan --json':<28} {s['wall_s']:>7.2f} {s['cpu_s']:>7.2f} {s['peak_rss_mb']:>12.0f}",
            f"{'import --no-codex':<28} {i['wall_s']:>7.2f} {i['cpu_s']:>7.2f}"
            f" {i['peak_rss_mb']:>12.0f}",
            f"{'cp -r':<28} {r['cp_s']:>7.2f}",
            f"{'cp -r + sync -f':<28} {r['durable_copy_s']:>7.2f}",
            f"import / cp -r: {r['import_over_cp']:.2f}x;  import / durable copy: "
            f"{r['import_over_durable_copy']:.2f}x  (median of {r['pairs']} pairs in this run)",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, nargs="+", default=[3000])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON object per size")
    args = parser.parse_args()
    for n in args.sessions:
        result = run(n, args.pairs)
        print(json.dumps(result) if args.json else table(result), flush=True)


if __name__ == "__main__":
    main()
