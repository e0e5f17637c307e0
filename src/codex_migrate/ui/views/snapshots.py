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
from codex_migrate.home import open_target
from codex_migrate.service import (
    TransactionInfo,
    delete_transaction,
    preview_rollback,
    rollback_transaction,
    transactions_of,
)
from codex_migrate.ui.common import busy_page, config_of, error_page, see_other
from codex_migrate.ui.jobs import Busy
from codex_migrate.ui.render import render, session_of


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


def confirm_page(request: Request) -> Response:
    """The dry run of a rollback or a delete, with the button that does it."""
    snap = _find(request, request.path_params["tx"])
    action = request.path_params["action"]
    if snap is None or snap.journal is None or action not in ("rollback", "delete"):
        return render(request, "not_found.html", {"back": "/snapshots"}, status=404)
    if action == "rollback":
        # The same check the rollback makes: a refusal is shown here, before the button.
        home = open_target(config_of(request).codex_home.absolute())
        try:
            preview_rollback(home, snap.id)
        except CodexMigrateError as exc:
            return error_page(request, exc, back=f"/snapshots/{snap.id}", status=409)
    return render(
        request, "snapshot_confirm.html", {"snap": snap, "j": snap.journal, "action": action}
    )


def act(request: Request) -> Response:
    tx_id = request.path_params["tx"]
    action = request.path_params["action"]
    snap = _find(request, tx_id)
    if snap is None or snap.journal is None or action not in ("rollback", "delete"):
        return render(request, "not_found.html", {"back": "/snapshots"}, status=404)
    home = open_target(config_of(request).codex_home.absolute())
    journal = snap.journal

    def rollback(progress: ProgressFn) -> dict[str, Any]:
        progress("rollback", 0, 1)
        rollback_transaction(home, tx_id)
        progress("rollback", 1, 1)
        return {"id": tx_id, "action": "rollback", "threads": len(journal.threads)}

    def delete(progress: ProgressFn) -> dict[str, Any]:
        delete_transaction(home, tx_id)
        return {"id": tx_id, "action": "delete", "threads": len(journal.threads)}

    work = rollback if action == "rollback" else delete
    try:
        job = request.app.state.jobs.start(
            action, session_of(request).id, work, {"back": "/snapshots"}
        )
    except Busy as exc:
        return busy_page(request, exc)
    return see_other(f"/jobs/{job.id}")
