"""Run a command in a child process and report wall time and peak RSS (Linux/macOS)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float


def measure(cmd: list[str], **kwargs: object) -> Measurement:
    """Time ``cmd``; its peak RSS comes from wait4's rusage, so only that child counts."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return Measurement(seconds, usage.ru_maxrss / divisor)
