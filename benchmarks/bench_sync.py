"""Benchmark `codex-migrate sync`: the first sync of a large home against a second one in which
only a few threads changed.

Machine A holds a generated home of ``--sessions`` threads (recorded under ``/Users/alex``,
bound to the root ``code``); machine B starts from the real 0.169.0 fixture home (its state
DB) when present. Each `sync` runs in a child process (start-up counts, as a user sees it);
the shared folder is copied between the two by the benchmark (not timed). Wall and CPU time
(user + system, worker processes included) are both reported. Steps:

1. A's first sync (push of every thread), 2. B's first sync (pull of every thread, one
transaction), then ``--changed`` of A's threads grow by one turn, 3. A's second sync,
4. B's second sync. Prints each step's time and peak RSS, and second/first; never asserts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.grow_home import REPO, grow_home

#: Like :mod:`benchmarks.measure`'s launcher, and also the command's CPU time (user + system,
#: children included): less at the mercy of a busy machine than wall time.
_LAUNCHER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
seconds = time.perf_counter() - start
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "seconds": seconds, "cpu": u.ru_utime + u.ru_stime,
                  "maxrss": u.ru_maxrss}))
"""


def measure(cmd: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *cmd], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise subprocess.CalledProcessError(int(result["rc"]), cmd)
    return result


FIXTURE_HOME = REPO / "tests" / "fixtures" / "codex-0.169.0" / "home"


def _sync_cmd(folder: Path, home: Path, machine: str, root: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "codex_migrate",
        "sync",
        str(folder),
        "--codex-home",
        str(home),
        "--machine",
        machine,
        "--root",
        f"code={root}",
        "--yes",
        "--no-codex",
        "--json",
    ]


def _carry(src: Path, dst: Path, machine: str) -> None:
    """The sync engine's job: the machine's folder and the shared config, whole."""
    there, here = src / "machines" / machine, dst / "machines" / machine
    if here.exists():
        shutil.rmtree(here)
    shutil.copytree(there, here)
    shutil.copy2(src / "codex-sync.toml", dst / "codex-sync.toml")


def _grow(home: Path, changed: int) -> None:
    turn = {"type": "event_msg", "payload": {"type": "user_message", "message": "one more"}}
    for path in sorted((home / "sessions").rglob("rollout-*.jsonl"))[:changed]:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(turn) + "\n")


def run(sessions: int, changed: int = 10, scale: int = 1) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cm-bench-sync-"))
    try:
        a_home, b_home = tmp / "A" / "home", tmp / "B" / "home"
        a_folder, b_folder = tmp / "A" / "Sync", tmp / "B" / "Sync"
        files, size = grow_home(a_home, sessions, scale=scale)
        if FIXTURE_HOME.is_dir():
            shutil.copytree(FIXTURE_HOME, b_home)
        else:
            b_home.mkdir(parents=True)
        a_folder.mkdir(parents=True)
        b_folder.mkdir(parents=True)
        a_cmd = _sync_cmd(a_folder, a_home, "mac", "/Users/alex")
        b_cmd = _sync_cmd(b_folder, b_home, "linux", str(tmp / "B" / "code"))
        steps: dict[str, float] = {}
        rss: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for label, cmd, carry in (
            ("first push (A)", a_cmd, (a_folder, b_folder, "mac")),
            ("first pull (B)", b_cmd, (b_folder, a_folder, "linux")),
        ):
            m = measure(cmd)
            steps[label], rss[label], cpu[label] = m["seconds"], m["maxrss"] / 1024, m["cpu"]
            if carry:
                _carry(*carry)
        _grow(a_home, changed)
        for label, cmd, carry in (
            ("second push (A)", a_cmd, (a_folder, b_folder, "mac")),
            ("second pull (B)", b_cmd, (b_folder, a_folder, "linux")),
        ):
            m = measure(cmd)
            steps[label], rss[label], cpu[label] = m["seconds"], m["maxrss"] / 1024, m["cpu"]
            if carry:
                _carry(*carry)
        first = steps["first push (A)"] + steps["first pull (B)"]
        second = steps["second push (A)"] + steps["second pull (B)"]
        first_cpu = cpu["first push (A)"] + cpu["first pull (B)"]
        second_cpu = cpu["second push (A)"] + cpu["second pull (B)"]
        return {
            "sessions": files,
            "mb": size / 1e6,
            "changed": changed,
            "seconds": steps,
            "peak_rss_mb": rss,
            "cpu_seconds": cpu,
            "first_cpu": first_cpu,
            "second_cpu": second_cpu,
            "first_total": first,
            "second_total": second,
            "second_over_first": second / first if first else 0.0,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    r = run(args.sessions, args.changed, args.scale)
    print(f"sync of {r['sessions']} sessions ({r['mb']:.0f} MB), {r['changed']} changed:")
    for label, seconds in r["seconds"].items():
        print(
            f"  {label:<16} {seconds:7.2f} s   CPU {r['cpu_seconds'][label]:7.2f} s   "
            f"peak RSS {r['peak_rss_mb'][label]:6.0f} MB"
        )
    print(
        f"  first sync {r['first_total']:.2f} s, second {r['second_total']:.2f} s: "
        f"{100 * r['second_over_first']:.1f} % of the first; CPU {r['first_cpu']:.2f} s "
        f"and {r['second_cpu']:.2f} s"
    )


if __name__ == "__main__":
    main()
