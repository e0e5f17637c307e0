"""Run a command in a child process and report wall time, CPU time and peak RSS (Linux/macOS).

On Linux a child's peak RSS starts from its parent's at fork (the high-water mark survives
exec), so the measured command is started by a tiny launcher process and its peak RSS is
read from the launcher's RUSAGE_CHILDREN: only the command itself counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_LAUNCHER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
seconds = time.perf_counter() - start
use = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = use.ru_utime + use.ru_stime
print(json.dumps({"rc": rc, "seconds": seconds, "maxrss": use.ru_maxrss, "cpu": cpu}))
"""


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float
    #: user + system CPU seconds of the command and its children (worker processes).
    cpu_seconds: float = 0.0


def measure(cmd: list[str], **kwargs: object) -> Measurement:
    """Time ``cmd`` (from inside the launcher, so start-up of the launcher does not count).
    Without an ``env`` of the caller's, the command gets a new, empty listing-cache folder of
    its own: a cold run, as before the cache, and never the user's cache folder.

    Dirty pages are written out first, untimed: a command that syncs (an import's ``syncfs``,
    ``sync -f``) would otherwise also pay for what earlier commands left unwritten (a plain
    ``cp -r`` just before a durable copy doubled the bytes that copy flushed)."""
    if hasattr(os, "sync"):
        os.sync()
    with tempfile.TemporaryDirectory(prefix="cm-bench-cache-") as cache:
        if "env" not in kwargs:
            kwargs["env"] = {**os.environ, "CODEX_MIGRATE_CACHE_DIR": cache}
        out = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, *cmd],
            capture_output=True,
            text=True,
            check=True,
            **kwargs,  # type: ignore[arg-type]
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise subprocess.CalledProcessError(result["rc"], cmd)
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return Measurement(result["seconds"], result["maxrss"] / divisor, result["cpu"])


__all__ = ["Measurement", "measure"]


def compile_package() -> None:
    """Write codex_migrate's bytecode, as installing it does (pip compiles a wheel's modules;
    the executable carries them compiled). A checkout run under PYTHONDONTWRITEBYTECODE would
    otherwise compile every module it imports at every start: 0.1-0.2 s of CPU per command
    that no installed copy spends."""
    import compileall

    import codex_migrate

    compileall.compile_dir(str(Path(codex_migrate.__file__).parent), quiet=1)
