"""Benchmark `codex-migrate backup` on a large generated home against `tar` of the same files.

Each tool runs in a child process (start-up counts, as a user sees it); wall time is the best
of ``--repeat`` runs and peak RSS comes from the child's rusage (tar's includes its zstd
child). Compared, on the same files (rollouts, indexes, the state DB and its WAL):

* archive: `backup --archive X.tar.zst` against `tar --zstd -cf` (zstd level 3 both; ours
  is multi-threaded, and also hashes every byte, snapshots the DB and fsyncs);
* folder: `backup --output-parent` against `tar -cf - | tar -xf -` into a folder;
* verify: `verify-backup` of the archive, against `zstd -dc | tar -tf -` reading it.

Prints a table with the ratios (ours / tar); never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.grow_home import grow_home
from benchmarks.measure import Measurement, measure
from codex_migrate.rollout import parse_rollout_name

#: Run a Click command of cli_backup directly, whether or not the main group registers it yet.
_ENTRY = (
    "import sys; from codex_migrate.cli import backup as c; "
    "cmd = getattr(c, sys.argv[1]); cmd.main(args=sys.argv[2:], prog_name='codex-migrate')"
)


def add_state_db(home: Path) -> int:
    """A 0.169-shaped state DB with one row per rollout, its newest rows left in the WAL."""
    rows = []
    for path in sorted(home.rglob("rollout-*.jsonl")):
        parsed = parse_rollout_name(path.name)
        if parsed:
            rows.append((parsed[1], str(path), "/Users/alex/Projects/app", "title " * 20))
    conn = sqlite3.connect(home / "state_5.sqlite")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT, cwd TEXT, title TEXT)"
    )
    half = len(rows) // 2
    conn.executemany("INSERT INTO threads VALUES (?, ?, ?, ?)", rows[:half])
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.executemany("INSERT INTO threads VALUES (?, ?, ?, ?)", rows[half:])
    conn.commit()
    # Leave the WAL behind, as a Codex that has just run does: copy the files while open.
    snapshot = home / ".snapshot"
    snapshot.mkdir()
    for name in ("state_5.sqlite", "state_5.sqlite-wal"):
        shutil.copyfile(home / name, snapshot / name)
    conn.close()
    for name in ("state_5.sqlite", "state_5.sqlite-wal"):
        os.replace(snapshot / name, home / name)
    snapshot.rmdir()
    return len(rows)


_WORDS = [
    "the",
    "parser",
    "config",
    "build",
    "test",
    "error",
    "file",
    "line",
    "path",
    "project",
    "function",
    "value",
    "return",
    "change",
    "update",
    "module",
    "import",
    "class",
    "option",
    "command",
    "output",
    "input",
    "thread",
    "session",
    "model",
    "token",
    "cache",
    "reduce",
    "handle",
    "check",
    "fix",
    "add",
    "remove",
    "rename",
    "merge",
    "branch",
    "commit",
    "review",
    "patch",
    "diff",
    "run",
    "shell",
]


def add_text(home: Path, kb: int, seed: int = 11) -> int:
    """Append ``kb`` KB of random-word agent messages to every rollout: grown homes are clones
    that compress about 200x, real sessions compress more like 4-8x. Returns bytes added."""
    rng = random.Random(seed)
    added = 0
    for path in sorted(home.rglob("rollout-*.jsonl")):
        lines = []
        size = 0
        while size < kb * 1024:
            text = " ".join(rng.choice(_WORDS) + str(rng.randrange(1000)) for _ in range(60))
            record = {
                "timestamp": "2026-01-01T00:00:00.000Z",
                "type": "event_msg",
                "payload": {"type": "agent_message", "message": text},
            }
            line = json.dumps(record, separators=(",", ":")) + "\n"
            lines.append(line)
            size += len(line)
        with path.open("a", encoding="utf-8") as f:
            f.write("".join(lines))
        added += size
    return added


def _ours(command: str, *args: str) -> list[str]:
    return [sys.executable, "-c", _ENTRY, command, *args]


def _best(cmd: list[str], repeat: int, before: Any = None, **kw: Any) -> Measurement:
    runs = []
    for _ in range(repeat):
        if before:
            before()
        runs.append(measure(cmd, **kw))
    return min(runs, key=lambda m: m.seconds)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _reset(out: Path, *paths: Path) -> None:
    """Remove a previous run's output so every run writes from scratch."""
    for p in paths:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    out.mkdir(exist_ok=True)


def bench_home(home: Path, out: Path, repeat: int) -> dict[str, Any]:
    """Time ours and tar on one home; returns one table row (without the home's size)."""
    members = [
        n
        for n in ("sessions", "archived_sessions", "state_5.sqlite", "state_5.sqlite-wal")
        if (home / n).exists()
    ]
    archive, folder = out / "b.tar.zst", out / "Codex_backup"
    base = _ours("backup_command", "--codex-home", str(home))
    ours_a = _best([*base, "--archive", str(archive)], repeat, partial(_reset, out, archive))
    ours_a_size = _size(archive)
    ours_v = _best(_ours("verify_backup_command", str(archive)), repeat)
    ours_f = _best([*base, "--output-parent", str(out)], repeat, partial(_reset, out, folder))
    row: dict[str, Any] = {
        "archive_s": ours_a.seconds,
        "archive_rss_mb": ours_a.peak_rss_mb,
        "archive_mb": ours_a_size / 1e6,
        "folder_s": ours_f.seconds,
        "folder_rss_mb": ours_f.peak_rss_mb,
        "verify_s": ours_v.seconds,
        "verify_rss_mb": ours_v.peak_rss_mb,
    }
    if shutil.which("tar") is None or shutil.which("zstd") is None:
        return row
    tar_file, tar_dir = out / "t.tar.zst", out / "t"
    tar_a = _best(
        ["tar", "--zstd", "-cf", str(tar_file), "-C", str(home), *members],
        repeat,
        partial(_reset, out, tar_file),
    )
    pipe = f'mkdir -p "$2" && tar -cf - -C "$1" {" ".join(members)} | tar -xf - -C "$2"'
    tar_f = _best(
        ["sh", "-c", pipe, "sh", str(home), str(tar_dir)], repeat, partial(_reset, out, tar_dir)
    )
    listing = ["sh", "-c", 'zstd -dc "$1" | tar -tf -', "sh", str(tar_file)]
    tar_t = _best(listing, repeat)
    row.update(
        tar_archive_s=tar_a.seconds,
        tar_archive_rss_mb=tar_a.peak_rss_mb,
        tar_archive_mb=_size(tar_file) / 1e6,
        tar_folder_s=tar_f.seconds,
        tar_folder_rss_mb=tar_f.peak_rss_mb,
        tar_list_s=tar_t.seconds,
        archive_ratio=ours_a.seconds / tar_a.seconds,
        folder_ratio=ours_f.seconds / tar_f.seconds,
        verify_ratio=ours_v.seconds / tar_t.seconds,
        size_ratio=ours_a_size / max(1, _size(tar_file)),
    )
    return row


def run(
    sessions: int, scales: list[int], repeat: int = 3, text_kb: int = 0
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for scale in scales:
        tmp = Path(tempfile.mkdtemp(prefix="cm-bench-backup-"))
        try:
            home = tmp / "home"
            files, size = grow_home(home, sessions, scale=scale)
            if text_kb:
                size += add_text(home, text_kb)
            add_state_db(home)
            row = {"sessions": files, "mb": size / 1e6}
            row.update(bench_home(home, tmp / "out", repeat))
            rows.append(row)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return rows


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'sessions':>8} {'MB':>7} | {'ours s':>7} {'tar s':>7} {'ratio':>6} "
        f"{'ours RSS':>8} {'tar RSS':>8} {'ours MB':>8} {'tar MB':>7} | "
        f"{'folder s':>8} {'tar|tar':>7} {'ratio':>6} {'RSS':>6} | "
        f"{'verify s':>8} {'zstd|tar':>8} {'ratio':>6}"
    )
    print(head)
    for r in rows:
        g = r.get
        print(
            f"{r['sessions']:>8} {r['mb']:>7.1f} | {r['archive_s']:>7.2f} "
            f"{_fmt(g('tar_archive_s'), '>7.2f')} {_fmt(g('archive_ratio'), '>6.2f')} "
            f"{r['archive_rss_mb']:>8.1f} {_fmt(g('tar_archive_rss_mb'), '>8.1f')} "
            f"{r['archive_mb']:>8.2f} {_fmt(g('tar_archive_mb'), '>7.2f')} | "
            f"{r['folder_s']:>8.2f} {_fmt(g('tar_folder_s'), '>7.2f')} "
            f"{_fmt(g('folder_ratio'), '>6.2f')} {r['folder_rss_mb']:>6.1f} | "
            f"{r['verify_s']:>8.2f} {_fmt(g('tar_list_s'), '>8.2f')} "
            f"{_fmt(g('verify_ratio'), '>6.2f')}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--text-kb", type=int, default=0, help="append this much random text to each rollout"
    )
    args = parser.parse_args()
    print(f"CPUs: {os.cpu_count()}; python {sys.version.split()[0]}")
    version = subprocess.run(["tar", "--version"], capture_output=True, text=True, check=False)
    print((version.stdout.splitlines() or ["tar: ?"])[0])
    print_table(run(args.sessions, args.scales, args.repeat, args.text_kb))


if __name__ == "__main__":
    main()
