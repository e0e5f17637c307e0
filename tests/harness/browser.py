"""Debian's Chromium driven by Playwright, shared by every browser test.

Playwright's own browser download is never used (it cannot reach the network here);
``scripts/install-system-deps.sh`` installs the ``chromium`` package.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: Put on a browser test module: ``pytestmark = requires_chromium``.
requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing: run scripts/install-system-deps.sh (Debian package chromium)",
)


def launch_browser() -> Iterator[Any]:
    """One headless Chromium for the duration of a (module-scoped) fixture."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield instance
        instance.close()
