"""One confirm protocol for every write the web UI makes: preview → confirm → job.

No screen writes on a plain POST. The write's preview page shows the service's dry run and
calls :func:`offer`, which binds a one-time token to the fingerprint of that preview; the
``confirm.html`` partial puts the token in the form whose button does the write. The write view
is decorated with :func:`confirmed`: the token is redeemed (spent even when refused), and a
missing, unknown, replayed or stale one (a newer preview of the same write replaced it) sends
the browser back to the preview, which runs the dry run again; nothing is written. The view
then calls :func:`run_confirmed`, which runs the write as a job: the job builds the plan again
and refuses, with nothing written, when its fingerprint is not the previewed one.

A write screen needs three things: ``offer`` in its preview view, the partial in its preview
template, and ``@confirmed`` + ``run_confirmed`` on its write route (or ``start_write`` with
``require_unchanged`` where the engine checks the plan inside its own lock, as sync does).
``tests/test_ui_confirm.py`` finds every POST route and fails for a write without them.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from codex_migrate.catalog import ProgressFn
from codex_migrate.ui.common import PlanChanged, busy_page, field_str, form_of, see_other
from codex_migrate.ui.jobs import Busy, Work
from codex_migrate.ui.render import session_of
from codex_migrate.ui.sessions import Session

#: The form field that carries the token.
FIELD = "confirm"
#: A preview older than this is not confirmed: the page is reloaded (and the plan re-checked).
TTL = 3600.0
#: Where a refused confirm lands: the preview URL with this query (the partial explains it).
REFUSED_QUERY = "confirm=stale"

P = TypeVar("P")
View = Callable[[Request], Response]


@dataclass(frozen=True)
class Offer:
    """A preview that may be confirmed once: which write, of which plan, posted where."""

    token: str
    kind: str  # "import", "rebind", "rollback:<tx>", … (a token only confirms its own kind)
    digest: str  # the fingerprint of the previewed plan
    action: str  # the write route the form posts to
    preview_url: str  # where a refused confirm goes: the dry run again
    issued: float

    @property
    def expired(self) -> bool:
        return time.monotonic() - self.issued > TTL


def offer(request: Request, kind: str, digest: str, *, action: str, preview_url: str) -> Offer:
    """Bind a new one-time token to this preview; an earlier offer of the same write is
    withdrawn, so only the newest preview can be confirmed."""
    session = session_of(request)
    made = Offer(secrets.token_urlsafe(24), kind, digest, action, preview_url, time.monotonic())
    with session.lock:
        for token, old in list(session.confirms.items()):
            if old.kind == kind or old.expired:
                del session.confirms[token]
        session.confirms[made.token] = made
    return made


def withdraw(session: Session, kind: str) -> None:
    """The choices behind a preview changed: its offer can no longer be confirmed."""
    with session.lock:
        for token, old in list(session.confirms.items()):
            if old.kind == kind:
                del session.confirms[token]


def redeem(request: Request, kind: str) -> Offer | None:
    """The offer this POST confirms, spent; None when the token is missing, unknown, already
    used, withdrawn by a newer preview, expired or for another write."""
    token = field_str(form_of(request), FIELD)
    if not token:
        return None
    session = session_of(request)
    with session.lock:
        found: Offer | None = session.confirms.pop(token, None)
    if found is None or found.kind != kind or found.expired:
        return None
    return found


def _restore(request: Request, spent: Offer) -> None:
    """Give a spent offer back (the write could not start: another one is running)."""
    session = session_of(request)
    with session.lock:
        if not any(o.kind == spent.kind for o in session.confirms.values()):
            session.confirms[spent.token] = spent


def refused(preview_url: str) -> Response:
    sep = "&" if "?" in preview_url else "?"
    return see_other(f"{preview_url}{sep}{REFUSED_QUERY}")


def confirmed(kind: str, preview_url: str) -> Callable[[View], View]:
    """Mark a view as a write: it runs only with a valid token for ``kind``; otherwise the
    browser goes to ``preview_url``. Both may name path parameters (``rollback:{tx}``)."""

    def wrap(view: View) -> View:
        @functools.wraps(view)
        def guarded(request: Request) -> Response:
            params = request.path_params
            got = redeem(request, kind.format(**params))
            if got is None:
                return refused(preview_url.format(**params))
            request.state.offer = got
            return view(request)

        guarded.confirm_kind = kind  # type: ignore[attr-defined]
        return guarded

    return wrap


def is_write(view: Any) -> bool:
    """Whether a route's endpoint went through :func:`confirmed` (for the tests)."""
    return hasattr(view, "confirm_kind")


def require_unchanged(request_offer: Offer, current: str) -> None:
    """In the write job: refuse, with nothing written, when the plan about to run is not the
    one previewed (for engines that check inside their own lock, such as sync's ``confirm``)."""
    if current != request_offer.digest:
        raise PlanChanged(
            "the home changed since the preview; nothing was written.",
            hint="Review the new preview, then apply again.",
        )


def start_write(request: Request, job_kind: str, work: Work, *, back: str) -> Response:
    """Run a confirmed write as a job (one write at a time): its page shows the progress, then
    ``result_<job_kind>.html``. Another write running: the busy page, and the confirmation
    stays valid for a retry."""
    got: Offer = request.state.offer
    try:
        context = {"back": back, "preview": got.preview_url}  # a changed plan: see it again
        job = request.app.state.jobs.start(job_kind, session_of(request).id, work, context)
    except Busy as exc:
        _restore(request, got)
        return busy_page(request, exc)
    return see_other(f"/jobs/{job.id}")


def run_confirmed(
    request: Request,
    job_kind: str,
    plan: Callable[[ProgressFn], P],
    fingerprint: Callable[[P], str],
    write: Callable[[P, ProgressFn], Any],
    *,
    back: str,
) -> Response:
    """Start the confirmed write as a job: ``plan`` is built again, compared with the preview's
    fingerprint (a change refuses, nothing written), then ``write`` runs it."""
    got: Offer = request.state.offer

    def work(progress: ProgressFn) -> Any:
        current = plan(progress)
        require_unchanged(got, fingerprint(current))
        return write(current, progress)

    return start_write(request, job_kind, work, back=back)
