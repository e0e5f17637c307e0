"""Ending the process after a read-only command without tearing the interpreter down.

At exit Python frees every object one by one and runs its cycle collector over them: for a
scan that holds thousands of thread records that is ~2 % of its instructions (more at 30 000
sessions), spent on memory the system takes back at once anyway. After a read-only command
that succeeded, in a process with no other thread, :func:`end_now` writes out what is
buffered, runs the ``atexit`` functions (a tool that measures coverage saves there) and ends
the process. Anything that writes the user's files ends the normal way.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

#: Commands that write nothing of the user's (the listing cache is written and closed
#: before the command returns).
READ_ONLY = frozenset({"scan"})

_finished: list[str] = []


def finished(command: str | None) -> None:
    """Note that ``command`` returned without an error (the group calls this)."""
    if command is not None:
        _finished.append(command)


def end_now(code: object) -> None:
    """End the process with status 0 at once when the command was read-only and succeeded,
    this is the only thread and the output was written; else return (a normal exit)."""
    if code not in (0, None) or not _finished or _finished[-1] not in READ_ONLY:
        return
    if threading.active_count() != 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # a closed pipe, no stream: the normal way
        return
    atexit._run_exitfuncs()
    os._exit(0)
