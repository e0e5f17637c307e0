"""The command line: a thin Click face over the engine. It parses, calls, and prints.

One module per command family (``scan``, ``importing``, ``rebind``, ``transactions``,
``backup``, ``doctor``, ``export``, ``ui``), options they share in :mod:`.options`, output
helpers in :mod:`.common`; :mod:`.main` is the group that loads each command on first use.
"""

from __future__ import annotations

from codex_migrate.cli import collector

with collector.paused():  # click and the group: loaded once, kept to the end
    from codex_migrate.cli.main import LAZY_COMMANDS, Group, cli, main

__all__ = ["LAZY_COMMANDS", "Group", "cli", "main"]
