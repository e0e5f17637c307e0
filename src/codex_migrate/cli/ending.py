"""Ending the process after a command whose work is whole, without tearing the interpreter down.

At exit Python frees every object one by one and runs its cycle collector over them: for a
scan that holds thousands of thread records that is ~2 % of its instructions (more at 30 000
sessions), for an import of 3 000 sessions tens of milliseconds, spent on memory the system
takes back at once anyway. After such a command that succeeded, in a process with no other
thread, :func:`end_now` writes out what is buffered, runs the ``atexit`` functions (a tool
that measures coverage saves there) and ends the process. Any other command, and any that
failed, ends the normal way.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

#: Commands whose work is whole when they return well: ``scan`` writes nothing of the user's
#: (the listing cache is written and closed before it returns); ``import`` has committed its
#: transaction by then, every file it wrote closed and synced (a kill -9 after the commit
#: keeps the write whole, by design: ending here loses nothing either).
WHOLE_AT_RETURN = frozenset({"scan", "import"})

_finished: list[str] = []


def finished(command: str | None) -> None:
    """Note that ``command`` returned without an error (the group calls this)."""
    if command is not None:
        _finished.append(command)


def end_now(code: object) -> None:
    """End the process with status 0 at once when the command's work was whole when it
    succeeded, this is the only thread and the output was written; else return (a normal
    exit)."""
    if code not in (0, None) or not _finished or _finished[-1] not in WHOLE_AT_RETURN:
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
