"""The least a Python import must do, timed as a baseline beside the real one.

Issue 13 measures the import against a durable copy (``cp -r`` + ``sync -f``). Any import
written in Python also pays for what this program does and nothing more: start an
interpreter, read every file, parse every rollout line (the damage verdicts need each line
looked at; orjson is the fastest parser we have), hash what it writes (the verification), write
a new file, all on the same number of processes, then one ``syncfs``. No catalog, no plan, no
path rewrite, no rows, no journal. So ``import / floor`` is what our own code costs on top of
Python's least, and ``floor / durable copy`` is how far even that is from the copy.

    python -m benchmarks.py_floor SOURCE DEST
"""

from __future__ import annotations

import hashlib
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import orjson

from codex_migrate.fsutil import syncfs
from codex_migrate.parallel import worker_count


def _copy(job: tuple[str, str]) -> str:
    source, dest = job
    with open(source, "rb") as f:
        data = f.read()
    if source.endswith(".jsonl"):
        loads = orjson.loads
        for line in data.splitlines():
            if line:
                try:  # noqa: SIM105 (a with-block per line costs the floor time)
                    loads(line)
                except orjson.JSONDecodeError:
                    pass
    digest = hashlib.sha256(data).hexdigest()
    with open(dest, "xb") as f:
        f.write(data)
    return digest


def copy_home(source: str, dest: str) -> int:
    """Copy every file under ``source`` to ``dest`` as above; returns how many."""
    jobs: list[tuple[str, str]] = []
    for folder, _, names in os.walk(source):
        out = os.path.join(dest, os.path.relpath(folder, source))
        os.makedirs(out, exist_ok=True)
        jobs.extend((os.path.join(folder, n), os.path.join(out, n)) for n in names)
    with ProcessPoolExecutor(worker_count()) as pool:
        for _ in pool.map(_copy, jobs, chunksize=64):
            pass
    if not syncfs(dest):
        os.sync()
    return len(jobs)


if __name__ == "__main__":
    copy_home(sys.argv[1], sys.argv[2])
