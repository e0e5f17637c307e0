"""The operating system's own folder and file dialogs, for "Browse…".

A web page cannot read real paths from the user's disk, but this server runs on the user's own
computer, so it can show the native dialog (tkinter's ``askdirectory``/``askopenfilename``,
shipped with Python on macOS and Windows) and hand the chosen path to the page. The dialog runs
in a child Python process: Tk wants its own main thread, and a closed or crashed dialog cannot
take the server down. Where there is no Tk or no display (headless Linux, a frozen executable,
tests), the page uses its in-page folder browser instead.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

#: Set to any value to never open a native dialog (tests, remote desktops that misbehave).
DISABLE_ENV = "CODEX_MIGRATE_NO_NATIVE_DIALOG"

_SCRIPT = r"""
import os, sys, tkinter
from tkinter import filedialog
mode, start = sys.argv[1], sys.argv[2]
root = tkinter.Tk()
root.withdraw()
try:
    root.attributes("-topmost", True)
except tkinter.TclError:
    pass
start = start if start and os.path.isdir(start) else os.path.expanduser("~")
if mode == "file":
    path = filedialog.askopenfilename(
        parent=root, initialdir=start,
        filetypes=[("Codex backup", "*.tar.zst *.zip"), ("All files", "*")],
    )
else:
    path = filedialog.askdirectory(parent=root, initialdir=start, mustexist=True)
root.destroy()
sys.stdout.write(path or "")
"""


def available() -> bool:
    """Whether a native dialog can be shown here: Tk importable, a display, not frozen."""
    if os.environ.get(DISABLE_ENV) or getattr(sys, "frozen", False):
        return False
    if importlib.util.find_spec("tkinter") is None:
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def ask_native(mode: str, start: str = "") -> dict[str, object]:
    """Show the dialog and wait for the user: ``{"path": ...}``, ``{"cancelled": True}``, or
    ``{"unavailable": True}`` when it could not be shown."""
    start = start if start and os.path.isabs(os.path.expanduser(start)) else ""
    if start and not os.path.isdir(os.path.expanduser(start)):
        start = os.path.dirname(os.path.expanduser(start))
    try:
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT, mode, os.path.expanduser(start)],
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {"unavailable": True}
    if done.returncode != 0:
        return {"unavailable": True}
    path = done.stdout.strip()
    return {"path": os.path.normpath(path)} if path else {"cancelled": True}
