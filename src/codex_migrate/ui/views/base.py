"""The pages around the screens: start page, language switch, folder browser, job progress."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from codex_migrate.errors import CodexMigrateError, HomeNotFound
from codex_migrate.home import open_home
from codex_migrate.inuse import running_codex
from codex_migrate.service import home_catalog, scan_home
from codex_migrate.ui.common import (
    config_of,
    error_detail,
    error_kind,
    field_str,
    form_of,
    local_url,
    see_other,
)
from codex_migrate.ui.error_text import localized
from codex_migrate.ui.folders import BrowseError, list_folder, nearest_folder, start_places
from codex_migrate.ui.i18n import LANG_COOKIE, normalize
from codex_migrate.ui.jobs import RUNNING
from codex_migrate.ui.loading import loaded
from codex_migrate.ui.native import ask_native
from codex_migrate.ui.render import render, session_of

LANG_MAX_AGE = 365 * 24 * 3600
SSE_POLL = 0.15
SSE_HEARTBEAT = 10.0


def index(request: Request) -> Response:
    config = config_of(request)
    home = None
    error = None
    summary = None
    by_code: dict[str, dict[str, object]] = {}
    try:
        home = open_home(config.codex_home)
        root = home.root
        got = loaded(request, root, "home", lambda p: scan_home(home_catalog(root, p)))
        if isinstance(got, Response):
            return got  # a big home: the progress of reading it
        summary = got.summary.to_dict()
        by_code = got.by_code
    except HomeNotFound:
        pass  # a new computer: the page says what to do, not what the engine found
    except CodexMigrateError as exc:
        error = exc
    running = [] if home is None else running_codex(home.root)
    return render(
        request,
        "index.html",
        {
            "home": home,
            "summary": summary,
            "by_code": by_code,
            "home_error": localized(request, error) if error else None,
            "home_error_english": error.message if error else None,
            "running": running,
        },
    )


def set_language(request: Request) -> Response:
    form = form_of(request)
    locale = normalize(field_str(form, "lang")) or "en"
    response = see_other(local_url(field_str(form, "next"), "/"))
    response.set_cookie(
        LANG_COOKIE, locale, max_age=LANG_MAX_AGE, path="/", httponly=True, samesite="strict"
    )
    return response


def browse(request: Request) -> Response:
    """The folder browser: a dialog fragment for htmx, or a whole page without JavaScript.

    A dialog is always answered with 200 (htmx swaps nothing on an error status): a typo or a
    missing folder opens the nearest folder that exists, a file opens the folder it is in, and
    anything else shows the message with the places, the path field and Close."""
    config = config_of(request)
    q = request.query_params
    places = start_places(config.browse_places)
    typed = q.get("root") or ""
    root = typed or places[0]
    target = q.get("target", "")
    if not target.replace("_", "").replace("-", "").isalnum():
        target = ""
    mode = "file" if q.get("mode") == "file" else "folder"
    listing = None
    error = None
    note = None
    picked = None
    try:
        rel = q.get("rel", "")
        if not rel:
            root, note, picked = nearest_folder(root)
        listing = list_folder(root, rel, files=mode == "file")
    except BrowseError as exc:
        error = exc.code
    fragment = request.headers.get("hx-request") == "true"
    up_root = None
    if listing is not None and listing.parent_rel is None:
        parent = os.path.dirname(listing.root)
        up_root = parent if parent != listing.root else None
    return render(
        request,
        "browse.html",
        {
            "listing": listing,
            "error": error,
            "note": note,
            "typed": typed,
            "picked": picked,
            "mode": mode,
            "places": places,
            "root": root,
            "target": target,
            "fragment": fragment,
            "back": local_url(q.get("back"), "/"),
            "up_root": up_root,
        },
        status=200 if error is None or fragment else 400,
    )


def browse_native(request: Request) -> Response:
    """The operating system's own folder or file dialog, shown by this (local) server process;
    ``{"unavailable": true}`` sends the page to the in-page browser instead."""
    config = config_of(request)
    form = form_of(request)
    mode = "file" if field_str(form, "mode") == "file" else "folder"
    if not config.native_dialogs:
        return JSONResponse({"unavailable": True})
    result = ask_native(mode, field_str(form, "start"))
    return JSONResponse(result)


def job_cancel(request: Request) -> Response:
    """Stop a read (loading a page, reading a source, a preview); a write is never stopped."""
    job = request.app.state.jobs.get(request.path_params["job"])
    if job is None or job.owner != session_of(request).id:
        return render(request, "not_found.html", {"back": "/"}, status=404)
    job.cancel("cancelled: you stopped it.")
    return see_other(local_url(job.context.get("back"), "/"))


def job_page(request: Request) -> Response:
    jobs = request.app.state.jobs
    job = jobs.get(request.path_params["job"])
    if job is None or job.owner != session_of(request).id:
        return render(request, "not_found.html", {"back": "/"}, status=404)
    if job.state == RUNNING:
        return render(request, "job_running.html", {"job": job, "snap": job.snapshot()})
    if job.error is not None:
        message, hint = error_detail(job.error)
        return render(
            request,
            "job_failed.html",
            {
                "job": job,
                "kind": error_kind(job.error),
                "message": message,
                "hint": hint,
                "local": localized(request, job.error),
            },
        )
    if job.context.get("next"):  # a read job: back to its step, which shows what it read
        return see_other(local_url(job.context["next"]))
    return render(request, f"result_{job.kind}.html", {"job": job, "r": job.result})


async def job_events(request: Request) -> Response:
    """Server-sent events: ``progress`` while the job runs, then ``done`` with its page."""
    jobs = request.app.state.jobs
    job = jobs.get(request.path_params["job"])
    if job is None or job.owner != session_of(request).id:
        return Response(status_code=404)

    async def stream() -> AsyncIterator[str]:
        seen = -1
        quiet = 0.0
        while True:
            snap = job.snapshot()
            if snap["version"] != seen:
                seen = snap["version"]
                quiet = 0.0
                yield f"event: progress\ndata: {json.dumps(snap)}\n\n"
            if snap["state"] != RUNNING:
                yield f"event: done\ndata: {json.dumps({'url': f'/jobs/{job.id}'})}\n\n"
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(SSE_POLL)
            quiet += SSE_POLL
            if quiet >= SSE_HEARTBEAT:
                quiet = 0.0
                yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


async def not_found_handler(request: Request, exc: Exception) -> Response:
    """Any unknown address: the app's own page, in the page's language, with a way back."""
    return render(request, "not_found.html", {"back": "/"}, status=404)


def not_found(request: Request) -> Response:
    return render(request, "not_found.html", {"back": "/"}, status=404)


def go_home(request: Request) -> Response:
    return see_other("/")
