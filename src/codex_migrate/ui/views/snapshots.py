"""Snapshots: the home's transactions (``codex-migrate transactions``) to inspect, undo, delete.

Rollback and delete each show what they would do first (``rollback --dry-run``), then run in
the job runner exactly as the CLI runs them: rollback under the home lock, refused while Codex
runs; delete only for finished transactions.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import ProgressFn
from codex_migrate.errors import CodexMigrateError
from codex_migrate.home import CodexHome, open_target
from codex_migrate.service import (
    TransactionInfo,
    delete_transaction,
    find_transaction,
    preview_rollback,
    rollback_transaction,
    transactions_of,
)
from codex_migrate.ui.common import config_of, digest, error_page
from codex_migrate.ui.confirm import confirmed, offer, run_confirmed
from codex_migrate.ui.render import render


def snapshots(request: Request) -> list[TransactionInfo]:
    home = open_target(config_of(request).codex_home.absolute())
    return list(reversed(transactions_of(home)))  # newest first


def _find(request: Request, tx_id: str) -> TransactionInfo | None:
    return next((s for s in snapshots(request) if s.id == tx_id), None)


def list_page(request: Request) -> Response:
    try:
        items = snapshots(request)
    except (CodexMigrateError, OSError) as exc:
        return error_page(request, exc, back="/", status=409)
    return render(request, "snapshots.html", {"items": items})


def show_page(request: Request) -> Response:
    snap = _find(request, request.path_params["tx"])
    if snap is None or snap.journal is None:
        return render(request, "not_found.html", {"back": "/snapshots"}, status=404)
    return render(request, "snapshot.html", {"snap": snap, "j": snap.journal})


def _plan(home: CodexHome, tx_id: str, action: str) -> dict[str, Any]:
    """What the action would do, as its dry run says it (the rollback's refusal is raised)."""
    if action == "rollback":
        return preview_rollback(home, tx_id).to_dict()
    _, journal = find_transaction(home, tx_id)
    return {"id": tx_id, "state": journal.state, "threads": list(journal.threads)}


def confirm_page(request: Request) -> Response:
    """The dry run of a rollback or a delete, with the button that does it."""
    snap = _find(request, request.path_params["tx"])
    action = request.path_params["action"]
    if snap is None or snap.journal is None or action not in ("rollback", "delete"):
        return render(request, "not_found.html", {"back": "/snapshots"}, status=404)
    home = open_target(config_of(request).codex_home.absolute())
    try:
        # The same check the rollback makes: a refusal is shown here, before the button.
        planned = _plan(home, snap.id, action)
    except CodexMigrateError as exc:
        return error_page(request, exc, back=f"/snapshots/{snap.id}", status=409)
    url = f"/snapshots/{snap.id}/{action}"
    confirm = offer(request, f"{action}:{snap.id}", digest(planned), action=url, preview_url=url)
    return render(
        request,
        "snapshot_confirm.html",
        {"snap": snap, "j": snap.journal, "action": action, "offer": confirm},
    )


@confirmed("{action}:{tx}", "/snapshots/{tx}/{action}")
def act(request: Request) -> Response:
    tx_id = request.path_params["tx"]
    action = request.path_params["action"]
    if action not in ("rollback", "delete"):
        return render(request, "not_found.html", {"back": "/snapshots"}, status=404)
    home = open_target(config_of(request).codex_home.absolute())

    def plan(progress: ProgressFn) -> dict[str, Any]:
        return _plan(home, tx_id, action)

    def write(planned: dict[str, Any], progress: ProgressFn) -> dict[str, Any]:
        progress(action, 0, 1)
        journal = (rollback_transaction if action == "rollback" else delete_transaction)(
            home, tx_id
        )
        progress(action, 1, 1)
        return {"id": tx_id, "action": action, "threads": len(journal.threads)}

    return run_confirmed(request, action, plan, digest, write, back="/snapshots")
