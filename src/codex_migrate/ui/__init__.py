"""The local web UI: the same engine as the CLI behind a three-step, browser-based face.

The server is deliberately thin: route handlers call the engine (catalog, plan, import, rebind,
transactions, backup, export) and render templates; every write runs through :mod:`.jobs`, one
at a time, with the engine's progress callback streamed to the page over server-sent events.
"""

from __future__ import annotations
