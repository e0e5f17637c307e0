"""Helpers every screen uses: the configuration, form access, redirects and error pages."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from codex_migrate import statedb
from codex_migrate.errors import CodexMigrateError, HomeInUse, HomeNotFound
from codex_migrate.ui.jobs import Busy
from codex_migrate.ui.render import render
from codex_migrate.ui.security import OneTimeTokens


@dataclass
class UIConfig:
    """What ``codex-migrate ui`` was started with."""

    codex_home: Path
    port: int
    token: str
    codex_bin: Path | None = None
    no_codex: bool = False
    demo: bool = False
    demo_source: Path | None = None
    browse_places: list[Path] = field(default_factory=list)
    #: Whether "Browse…" may open the operating system's own dialog (see ``ui.native``).
    native_dialogs: bool = False
    #: In ``--demo``: the throwaway folder every write must stay inside (None: anywhere).
    write_root: Path | None = None
    #: ``token`` and any key issued later, each valid for one sign-in.
    tokens: OneTimeTokens = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = OneTimeTokens(self.token)

    def default_dest(self, name: str) -> Path:
        """Where a Backup or Export goes unless the user picks a folder: in the demo, inside
        its temporary folder, so trying the demo never leaves anything in the real home."""
        if self.write_root is not None:
            return self.write_root / name
        return Path.home() if name == "backups" else Path.home() / "codex-export"

    def may_write(self, path: Path) -> bool:
        """Whether a destination the user typed is allowed (in the demo: inside its folder)."""
        if self.write_root is None:
            return True
        try:
            real = Path(os.path.realpath(path))
            return real.is_relative_to(Path(os.path.realpath(self.write_root)))
        except (OSError, ValueError):
            return False

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def config_of(request: Request) -> UIConfig:
    config: UIConfig = request.app.state.config
    return config


def form_of(request: Request) -> FormData:
    """The urlencoded form the security gate already read and checked (CSRF included)."""
    form: FormData = getattr(request.state, "form", None) or FormData()
    return form


def field_str(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def local_url(url: str | None, default: str = "/") -> str:
    """Only same-site paths are followed after a form (no open redirects)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    return url


def error_kind(exc: BaseException) -> str:
    """Which translated explanation an engine error gets (the engine's text is shown too)."""
    from codex_migrate.plan import MergeConflicts, UnmappedProjects

    if isinstance(exc, HomeInUse):
        return {HomeInUse.OTHER_COMMAND: "other_command", HomeInUse.DB_LOCKED: "locked"}.get(
            exc.reason, "in_use"
        )
    if isinstance(exc, MergeConflicts):
        return "conflicts"
    if isinstance(exc, UnmappedProjects):
        return "unmapped"
    if isinstance(exc, HomeNotFound):
        return "no_home"
    if isinstance(exc, PlanChanged):
        return "changed"
    if isinstance(exc, CodexMigrateError):
        return "engine"
    if isinstance(exc, (OSError, statedb.DBError)):
        return "io"
    return "bug"


def error_detail(exc: BaseException) -> tuple[str, str | None]:
    if isinstance(exc, CodexMigrateError):
        return exc.message, exc.hint
    return str(exc) or type(exc).__name__, None


def error_page(
    request: Request, exc: BaseException, *, back: str, retry: str | None = None, status: int = 409
) -> Response:
    from codex_migrate.ui.error_text import localized

    message, hint = error_detail(exc)
    return render(
        request,
        "error.html",
        {
            "kind": error_kind(exc),
            "message": message,
            "hint": hint,
            "local": localized(request, exc),
            "back": back,
            "retry": retry,
        },
        status=status,
    )


def empty_home_page(request: Request, exc: HomeNotFound, title: str) -> Response:
    """A home with no history yet is a normal state on a new computer, not an error."""
    return render(request, "empty_home.html", {"title": title, "message": exc.message})


def unreadable_home_page(request: Request, exc: BaseException, title: str) -> Response:
    """What a page that reads this machine's home shows when it cannot: the empty-home page
    for a home with no history yet, else the error (back to the start)."""
    if isinstance(exc, HomeNotFound):
        return empty_home_page(request, exc, title)
    return error_page(request, exc, back="/", status=409)


def busy_page(request: Request, exc: Busy) -> Response:
    return render(request, "busy.html", {"job": exc.job}, status=409)


class PlanChanged(CodexMigrateError):
    """The homes changed between the preview and the click on Apply: nothing was written."""

    code = "plan-changed"


def digest(data: Any) -> str:
    """A fingerprint of a previewed plan: Apply only runs a plan that still matches it."""
    raw = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def common_parent(paths: list[str]) -> str:
    """The deepest folder all ``paths`` share (by text, either separator), or ''."""
    if not paths:
        return ""
    split = [p.replace("\\", "/").rstrip("/").split("/") for p in paths]
    first = split[0]
    n = 0
    while all(len(s) > n + 1 and s[n] == first[n] for s in split):
        n += 1
    if n == 0 or (n == 1 and first[0] == ""):
        return ""
    sep = "\\" if "\\" in paths[0] else "/"
    return sep.join(paths[0].replace("\\", "/").split("/")[:n]).replace("/", sep)
