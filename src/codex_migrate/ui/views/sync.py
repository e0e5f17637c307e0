"""Sync: ``codex-migrate sync`` as a screen: folder and roots → status and preview → run.

The form picks the shared folder, this machine's name and its folder for each portable root
(nothing is written by choosing them; a run records them, as the CLI does). The preview is
``sync --status`` and ``--dry-run`` on one page; "Sync now" runs as a write job whose
``confirm`` refuses when the run's own plan no longer matches the preview's digest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import ProgressFn
from codex_migrate.errors import CodexMigrateError
from codex_migrate.service import (
    SyncOptions,
    SyncReport,
    SyncSetup,
    find_codex,
    run_sync,
    sync_digest,
    sync_machines,
    sync_preview,
    sync_setup,
)
from codex_migrate.ui.common import (
    config_of,
    error_page,
    field_str,
    form_of,
    see_other,
)
from codex_migrate.ui.confirm import confirmed, offer, require_unchanged, start_write, withdraw
from codex_migrate.ui.loading import loaded, session_files
from codex_migrate.ui.render import render, session_of

KEY = "sync"
MAX_ROOTS = 20


def _choice(request: Request) -> dict[str, Any]:
    """What this session chose: ``folder``, ``machine``, ``roots`` ([name, path] pairs)."""
    got: dict[str, Any] = session_of(request).extra.get(KEY) or {}
    return got


def _options(request: Request, choice: dict[str, Any]) -> SyncOptions:
    config = config_of(request)
    return SyncOptions(
        folder=Path(choice["folder"]).expanduser(),
        home=config.codex_home,
        machine=choice.get("machine") or None,
        roots=[f"{n}={p}" for n, p in choice.get("roots", ()) if n and p],
        codex=None,
    )


def _root_rows(setup: SyncSetup | None, choice: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per root name known in the folder or typed here, with this machine's path
    (typed, else recorded) and the other machines' paths beside it; and one empty row."""
    typed = {n: p for n, p in choice.get("roots", ()) if n}
    table = dict(setup.all_roots) if setup else {}
    mine = setup.machine if setup else None
    rows = []
    for name in sorted(set(table) | set(typed)):
        paths = table.get(name, {})
        others = {m: p for m, p in sorted(paths.items()) if m != mine}
        here = typed.get(name) or (paths.get(mine, "") if mine else "")
        rows.append({"name": name, "path": here, "others": others, "known": name in table})
    rows.append({"name": "", "path": "", "others": {}, "known": False})
    return rows


def sync_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    choice = _choice(request)
    setup = None
    problem = None
    if choice.get("folder"):
        try:
            setup = sync_setup(_options(request, choice))
        except (CodexMigrateError, OSError) as exc:
            problem = exc
    config = config_of(request)
    default = config.default_dest("Sync") if config.write_root is not None else ""
    return render(
        request,
        "sync.html",
        {
            "folder": choice.get("folder") or (str(default) if default else ""),
            "machine": choice.get("machine") or (setup.machine if setup else ""),
            "setup": setup,
            "rows": _root_rows(setup, choice),
            "problem": problem.message if isinstance(problem, CodexMigrateError) else problem,
            "hint": problem.hint if isinstance(problem, CodexMigrateError) else None,
            "error": error,
        },
        status=status if problem is None else 400,
    )


def sync_submit(request: Request) -> Response:
    form = form_of(request)
    folder = field_str(form, "folder")
    if not folder or not Path(folder).expanduser().is_absolute():
        return sync_page(request, "folder", status=400)
    if not config_of(request).may_write(Path(folder).expanduser()):
        return sync_page(request, "outside_demo", status=400)
    names = [n.strip() if isinstance(n, str) else "" for n in form.getlist("root_name")]
    paths = [p.strip() if isinstance(p, str) else "" for p in form.getlist("root_path")]
    roots = [[n, p] for n, p in zip(names, paths, strict=False) if n][:MAX_ROOTS]
    session = session_of(request)
    with session.lock:
        before = session.extra.get(KEY) or {}
        same_folder = before.get("folder") == folder
        session.extra[KEY] = {
            "folder": folder,
            # a new folder: the machine name it knows this home by, unless one is typed now
            "machine": field_str(form, "machine") if same_folder else "",
            "roots": roots if same_folder else [],
        }
        withdraw(session, "sync")
        session.extra.pop("load:sync", None)  # a preview still being read is of the old choice
    if field_str(form, "action") == "preview" and same_folder:
        return see_other("/sync/preview")
    return see_other("/sync")


def sync_preview_page(request: Request) -> Response:
    choice = _choice(request)
    if not choice.get("folder"):
        return see_other("/sync")
    opts = _options(request, choice)
    home = config_of(request).codex_home
    try:
        files = session_files(home) + sum(
            session_files(mdir) for mdir in (opts.folder / "machines").glob("*/")
        )
        got = loaded(request, home, "sync", lambda p: sync_preview(opts, p), files=files)
    except (CodexMigrateError, OSError) as exc:
        return error_page(request, exc, back="/sync", status=409)
    if isinstance(got, Response):
        return got  # a big home: the progress of reading it
    report: SyncReport = got
    confirm = offer(
        request, "sync", sync_digest(report), action="/sync/apply", preview_url="/sync/preview"
    )
    try:
        machines = sync_machines(report.folder)
    except OSError:
        machines = []
    return render(
        request,
        "sync_preview.html",
        {"r": report, "machines": machines, "offer": confirm},
    )


@confirmed("sync", "/sync/preview")
def sync_apply(request: Request) -> Response:
    choice = _choice(request)
    if not choice.get("folder"):
        return see_other("/sync")
    config = config_of(request)
    opts = _options(request, choice)
    previewed = request.state.offer

    def confirm(plan: SyncReport) -> bool:
        require_unchanged(previewed, sync_digest(plan))  # checked under sync's own lock
        return True

    def work(progress: ProgressFn) -> SyncReport:
        opts.codex = find_codex(config.codex_bin, config.no_codex)
        return run_sync(opts, confirm=confirm, progress=progress)

    return start_write(request, "sync", work, back="/sync")
