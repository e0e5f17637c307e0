"""The layout the code promises, checked: one engine, a service layer, two thin faces.

Import-time edges only (imports inside functions are the lazy loading of commands and are
not part of the layout): no cycles between top-level modules and packages, no face importing
the other face, neither face calling an engine step that the service orders, views not
importing each other, ``sqlite3`` imported by ``statedb`` alone, and no module over the size
limit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "codex_migrate"
MAX_LINES = 420


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_name(p): p for p in ROOT.rglob("*.py")}


def _imports(path: Path, *, all_levels: bool = False) -> set[str]:
    """Modules imported at import time (``all_levels``: anywhere in the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = ast.walk(tree) if all_levels else iter(tree.body)
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def _group(module: str) -> str:
    """``codex_migrate.cli.scan`` -> ``codex_migrate.cli``: a top-level module or package."""
    return ".".join(module.split(".")[:2])


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        for dep in _imports(path):
            if dep in MODULES and _group(dep) != _group(name):
                graph.setdefault(_group(name), set()).add(_group(dep))
    return graph


def test_no_import_cycles_between_top_level_modules() -> None:
    graph = _edges()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


@pytest.mark.parametrize(("face", "other"), [("cli", "ui"), ("ui", "cli")])
def test_no_face_imports_the_other(face: str, other: str) -> None:
    allowed = {"codex_migrate.cli.ui"}  # `codex-migrate ui` starts the web UI's server
    bad = [
        (name, dep)
        for name, path in MODULES.items()
        if name.startswith(f"codex_migrate.{face}.") and name not in allowed
        for dep in _imports(path, all_levels=True)
        if dep == f"codex_migrate.{other}" or dep.startswith(f"codex_migrate.{other}.")
    ]
    assert bad == []


def test_the_engine_and_the_service_import_no_face() -> None:
    faces = ("codex_migrate.cli", "codex_migrate.ui")
    launchers = {"codex_migrate.__main__", "codex_migrate.launcher"}
    bad = [
        (name, dep)
        for name, path in MODULES.items()
        if not name.startswith(faces) and name not in launchers
        for dep in _imports(path, all_levels=True)
        if dep.startswith(faces)
    ]
    assert bad == []


#: Engine steps the service puts in order for both faces: a face that called one itself
#: could read, plan or write differently from the other face.
SERVICE_ONLY = {
    "codex_migrate.catalog.build_catalog",
    "codex_migrate.catalog_cache.cached_catalog",
    "codex_migrate.importer.apply_import",
    "codex_migrate.plan.build_import_plan",
    "codex_migrate.plan.settle_conflicts",
    "codex_migrate.rebind.apply_rebind",
    "codex_migrate.rebind.build_rebind_plan",
    "codex_migrate.recovery.recover",
    "codex_migrate.recovery.undo_committed",
    "codex_migrate.verify.verify_home",
    "codex_migrate.verify.verify_written",
    "codex_migrate.writing.open_for_writing",
}


def test_faces_reach_the_engine_steps_through_the_service() -> None:
    faces = ("codex_migrate.cli.", "codex_migrate.ui.")
    bad = [
        (name, dep)
        for name, path in MODULES.items()
        if name.startswith(faces)
        for dep in _imports(path, all_levels=True)
        if dep in SERVICE_ONLY
    ]
    assert bad == []


def test_views_do_not_import_each_other() -> None:
    bad = [
        (name, dep)
        for name, path in MODULES.items()
        if name.startswith("codex_migrate.ui.views.")
        for dep in _imports(path, all_levels=True)
        if dep.startswith("codex_migrate.ui.views.") and dep != name
    ]
    assert bad == []


def test_only_statedb_imports_sqlite3() -> None:
    users = sorted(
        name
        for name, path in MODULES.items()
        if any(d == "sqlite3" or d.startswith("sqlite3.") for d in _imports(path, all_levels=True))
    )
    assert users == ["codex_migrate.statedb"]


def test_no_module_over_the_size_limit() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()
    }
    too_big = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert too_big == {}


def test_the_service_is_the_package_api() -> None:
    import codex_migrate.service as service

    for name in service.__all__:
        assert hasattr(service, name), name
    assert {"preview_import", "run_import", "run_rebind", "rollback_transaction"} <= set(
        service.__all__
    )
