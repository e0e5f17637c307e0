"""The benchmark of issue 13: scan and import on a home shaped like years of real use.

The home is :mod:`benchmarks.real_home` (real Codex rollouts, ~913 day folders, every project
mapped). Each import runs into a fresh copy of the real 0.169.0 fixture home (a real state DB
schema) with ``--no-codex``, and is paired, in the same run, with ``cp -r`` of the same files
and with a durable copy (``cp -r`` then ``sync -f``): the ratios are the medians over the
pairs, so a busy machine slows both sides alike. Each pair also runs the Python floor
(:mod:`benchmarks.py_floor`: read, parse every line, hash, write, sync, on as many processes):
what any Python import costs at least, so the table shows how much is our own code and how far
even the floor is from the durable copy. Never asserts on time.

The listing cache (``catalog_cache``): every figure as before is COLD (each timed run gets a
new, empty cache folder: comparable with earlier rounds, and what a first run costs); the WARM
figures run the same command with a cache filled by one scan beforehand (the user's second
look: scan, then import; the web UI's scan, preview, apply).

Every measured command finds the source home in memory (the page cache), as right after it
was made: its files are read, untimed, before each one. On the machines these figures come
from, a kernel thread (kdamond: DAMON reclaim) pages out file data not read for a minute or
more, so without that the later rows read the home partly from disk (more system time, and
the catalog's readahead hints start) by how long the rows before them took, not by what
they do. (A first scan of a home untouched for days reads from disk: not measured here.)

Nothing is deleted until the end: on ext4 without a journal, the kernel avoids reusing an
inode freed less than a minute ago (six while its inode-table block is unwritten), so each
file made soon after thousands were deleted costs a search past them. Deleting the last
pair's copies would slow the next pair's writes (the import's first) for reasons of the
benchmark's own.

    python -m benchmarks.bench_real --sessions 3000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import Measurement, compile_package, measure
from benchmarks.real_home import make_home, map_args

REPO = Path(__file__).resolve().parent.parent
FIXTURE_HOME = REPO / "tests" / "fixtures" / "codex-0.169.0" / "home"
CLI = [sys.executable, "-m", "codex_migrate"]
#: Seconds after the home is made before the warm cache is filled: a file changed less than
#: 2 s before a read is never stored (the cache's racy rule).
RACY_S = 2.1


class Caches:
    """Cache folders for the timed runs: a new empty one per cold run, one filled for warm."""

    def __init__(self, root: Path) -> None:
        self.root, self.count = root, itertools.count()
        self.warm = root / "warm"

    def env(self, folder: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "CODEX_MIGRATE_CACHE"}
        return {**env, "CODEX_MIGRATE_CACHE_DIR": str(folder)}

    def cold(self) -> dict[str, str]:
        return self.env(self.root / f"cold{next(self.count)}")

    def filled(self) -> dict[str, str]:
        return self.env(self.warm)


def in_memory(root: Path) -> None:
    """Read every file under ``root`` (into the page cache; see the module's docstring)."""
    for folder, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                while f.read(1 << 20):
                    pass


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
        caches = Caches(tmp / "caches")
        time.sleep(RACY_S)
        scan_cmd = [*CLI, "scan", str(src), "--json"]

        def timed(cmd: list[str], **kwargs: Any) -> Measurement:
            in_memory(src)  # see the module's docstring
            return measure(cmd, **kwargs)

        timed(scan_cmd, env=caches.filled())  # the imports' bytecode, the warm cache
        scan_runs = [timed(scan_cmd, env=caches.cold()) for _ in range(scans)]
        scan_warm = [timed(scan_cmd, env=caches.filled()) for _ in range(scans)]

        def import_cmd(target: Path, *extra: str) -> list[str]:
            args = ["--codex-home", str(target), *map_args(tmp / "projects"), *extra]
            return [*CLI, "import", str(src), *args, "--no-codex", "--json"]

        preview_target = tmp / "target-preview"
        shutil.copytree(FIXTURE_HOME, preview_target)
        preview = import_cmd(preview_target, "--dry-run")
        previews = [timed(preview, env=caches.cold()) for _ in range(scans)]
        previews_warm = [timed(preview, env=caches.filled()) for _ in range(scans)]
        imports, imports_warm, cps, durables, floors = [], [], [], [], []
        floor_cmd = [sys.executable, "-m", "benchmarks.py_floor", str(src)]
        for n in range(pairs):
            target = tmp / f"target{n}"
            shutil.copytree(FIXTURE_HOME, target)
            imports.append(timed(import_cmd(target, "--yes"), env=caches.cold()))
            target = tmp / f"target{n}w"
            shutil.copytree(FIXTURE_HOME, target)
            imports_warm.append(timed(import_cmd(target, "--yes"), env=caches.filled()))
            cps.append(timed(["cp", "-r", str(src), str(tmp / f"cp{n}")]))
            durables.append(
                timed(
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
            floors.append(timed([*floor_cmd, str(tmp / f"floor{n}")], cwd=REPO))
        return {
            "home": shape.describe(),
            "sessions": shape.sessions,
            "mb": shape.bytes / 1e6,
            "day_folders": shape.day_folders,
            "scan": _median(scan_runs),
            "scan_warm": _median(scan_warm),
            "preview": _median(previews),
            "preview_warm": _median(previews_warm),
            "import": _median(imports),
            "import_warm": _median(imports_warm),
            "cp_s": statistics.median(m.seconds for m in cps),
            "durable_copy_s": statistics.median(m.seconds for m in durables),
            "floor": _median(floors),
            "import_over_floor": statistics.median(
                i.seconds / f.seconds for i, f in zip(imports, floors, strict=True)
            ),
            "floor_over_durable_copy": statistics.median(
                f.seconds / d.seconds for f, d in zip(floors, durables, strict=True)
            ),
            "import_over_cp": statistics.median(
                i.seconds / c.seconds for i, c in zip(imports, cps, strict=True)
            ),
            "import_over_durable_copy": statistics.median(
                i.seconds / d.seconds for i, d in zip(imports, durables, strict=True)
            ),
            "import_warm_over_durable_copy": statistics.median(
                i.seconds / d.seconds for i, d in zip(imports_warm, durables, strict=True)
            ),
            "pairs": pairs,
            "warm_cache_files": len(list(caches.warm.glob("*.json"))),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _row(label: str, m: dict[str, float]) -> str:
    return f"{label:<34} {m['wall_s']:>7.2f} {m['cpu_s']:>7.2f} {m['peak_rss_mb']:>12.0f}"


def table(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"home: {r['home']}",
            "listing cache: cold = a new empty cache folder per run (as in earlier rounds),"
            " warm = filled by one scan before",
            f"{'work':<34} {'wall s':>7} {'CPU s':>7} {'peak RSS MB':>12}",
            _row("scan --json, cache cold", r["scan"]),
            _row("scan --json, cache warm", r["scan_warm"]),
            _row("import --dry-run, cache cold", r["preview"]),
            _row("import --dry-run, cache warm", r["preview_warm"]),
            _row("import --no-codex, cache cold", r["import"]),
            _row("import --no-codex, cache warm", r["import_warm"]),
            f"{'cp -r':<34} {r['cp_s']:>7.2f}",
            f"{'cp -r + sync -f':<34} {r['durable_copy_s']:>7.2f}",
            _row("Python floor (benchmarks.py_floor)", r["floor"]),
            f"import / cp -r: {r['import_over_cp']:.2f}x;  import / durable copy: "
            f"{r['import_over_durable_copy']:.2f}x cold, "
            f"{r['import_warm_over_durable_copy']:.2f}x warm"
            f"  (median of {r['pairs']} pairs in this run)",
            f"import / Python floor: {r['import_over_floor']:.2f}x cold;  Python floor / durable"
            f" copy: {r['floor_over_durable_copy']:.2f}x",
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
