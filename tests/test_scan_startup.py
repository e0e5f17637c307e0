"""``scan`` starts without the weight of commands it does not run: the service package loads
each part on first use, so a scan of 3 000 sessions does not pay for the exporter's
templates, the importer or a process pool at every start."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import codex_migrate.service as service

HEAVY = (
    "jinja2",
    "markdown_it",
    "concurrent.futures",
    "codex_migrate.export",
    "codex_migrate.importer",
    "codex_migrate.manifest",  # only a backup folder or archive needs it
    "shutil",  # only what copies or removes files needs it
)


def test_scan_imports_nothing_it_does_not_use() -> None:
    code = (
        "import sys, codex_migrate.cli.main, codex_migrate.cli.scan;"
        f"print([m for m in sys.modules if m.startswith({HEAVY!r})])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_lazy_name_is_the_one_type_checkers_see() -> None:
    """The TYPE_CHECKING imports (what mypy sees) and the runtime map name the same places."""
    tree = ast.parse(Path(service.__file__).read_text(encoding="utf-8"))
    seen = {
        alias.name: node.module.rsplit(".", 1)[1]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and ".service." in node.module
        for alias in node.names
    }
    assert seen == service._WHERE
    assert set(seen) == set(service.__all__)
    for name in service.__all__:
        assert getattr(service, name) is getattr(
            __import__(f"codex_migrate.service.{seen[name]}", fromlist=[name]), name
        )
