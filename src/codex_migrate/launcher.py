"""How the program was started: as a frozen single-file executable or not, from a terminal or
by a double-click. A double-clicked executable has no one to read its help, so it opens the
web UI instead; typed in a terminal with no arguments, it prints the help as always.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from typing import TextIO


def is_frozen() -> bool:
    """True inside the single-file executable (PyInstaller sets ``sys.frozen``)."""
    return bool(getattr(sys, "frozen", False))


def platform_tag() -> str:
    """``linux-x86_64``, ``macos-arm64``, ``windows-amd64``: names release files and says
    what a frozen build was made for."""
    system = {"darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    return f"{system}-{platform.machine().lower() or 'unknown'}"


def version_message(frozen: bool | None = None) -> str:
    """``--version``'s text (a Click message: ``%(prog)s`` and ``%(version)s`` are filled)."""
    text = "%(prog)s, version %(version)s"
    if is_frozen() if frozen is None else frozen:
        py = ".".join(map(str, sys.version_info[:3]))
        text += f"\nsingle-file executable for {platform_tag()} (bundled Python {py})"
    return text


def opens_ui(args: Sequence[str], *, frozen: bool, stdin_tty: bool, own_console: bool) -> bool:
    """Whether a start is a double-click that should open the web UI: the frozen executable,
    no arguments, and no terminal (stdin is not a TTY, as from a Linux file manager, or on
    Windows the console window was made for this program alone, as from Explorer)."""
    return frozen and not args and (not stdin_tty or own_console)


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):
        return False


def _own_console() -> bool:
    """Windows only: a console shared with no shell. Explorer makes a new console for a
    double-clicked program; the one-file executable's two processes (its boot loader and
    Python) are then all that are attached to it. Started from cmd or PowerShell, the shell
    is attached too."""
    if sys.platform != "win32":
        return False
    import ctypes

    ids = (ctypes.c_uint32 * 8)()
    count = int(ctypes.windll.kernel32.GetConsoleProcessList(ids, len(ids)))  # type: ignore[attr-defined,unused-ignore]
    return 0 < count <= 2


def command_line(args: Sequence[str]) -> list[str]:
    """The arguments to run: the ones given, or ``ui`` for a double-click."""
    if args or not is_frozen():
        return list(args)
    tty = _isatty(sys.stdin)
    return ["ui"] if opens_ui(args, frozen=True, stdin_tty=tty, own_console=_own_console()) else []
