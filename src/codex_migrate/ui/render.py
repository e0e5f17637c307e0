"""Templates: one Jinja environment per language, so concurrent requests never share a locale.

Every visible string in a template goes through ``_()``/``ngettext()`` or ``{% trans %}``
(extracted by Babel with ``babel.cfg``); values are formatted by :class:`~.i18n.Formatter`.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from codex_migrate import __version__
from codex_migrate.translations import translations
from codex_migrate.ui.i18n import (
    LANG_COOKIE,
    LOCALES,
    N_,
    Formatter,
    negotiate,
    normalize,
)
from codex_migrate.ui.plain import plain
from codex_migrate.ui.sessions import Session


@functools.cache
def environment(locale: str) -> Environment:
    env = Environment(
        loader=PackageLoader("codex_migrate.ui", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    fmt = Formatter(locale)
    env.globals["ngettext"] = _ngettext(translations(locale), fmt)
    env.filters["duration"] = functools.partial(_duration, translations(locale), fmt)
    env.filters["size"] = fmt.size
    env.filters["datetime"] = fmt.datetime
    env.filters["number"] = fmt.number
    #: For msgids a view picks (marked with ``N_`` where they are defined).
    env.globals["translate"] = translations(locale).gettext
    env.globals["LOCALES"] = LOCALES
    env.globals["plain"] = plain
    env.globals["locale"] = locale
    env.globals["html_lang"] = LOCALES[locale][0]
    env.globals["version"] = __version__
    return env


def _duration(trans: Any, fmt: Formatter, seconds: float | None) -> str:
    """``0.4`` → "less than a second"; ``12.34`` → "12.3 s" (never "in 0 s")."""
    if seconds is None or seconds < 1:
        return str(trans.gettext("less than a second"))
    return str(trans.gettext("%(seconds)s s") % {"seconds": fmt.number(round(seconds, 1))})


def _ngettext(trans: Any, fmt: Formatter) -> Any:
    """``ngettext`` whose ``%(num)s`` is formatted like every other number on the page
    (``2,924`` in English, not ``2924`` in one sentence and ``2,924`` in the next)."""

    @pass_context
    def ngettext(ctx: Any, singular: str, plural: str, count: int, **variables: Any) -> str:
        # ``num=`` may be given: the client-side check fills its own count in (``{n}``).
        variables.setdefault("num", fmt.number(count))
        text: str = trans.ngettext(singular, plural, count)
        if ctx.eval_ctx.autoescape:
            return str(Markup(text) % variables)
        return text % variables

    return ngettext


N_("less than a second")
N_("%(seconds)s s")


def request_locale(request: Request) -> str:
    """The remembered choice (cookie), else the browser's ``Accept-Language``."""
    chosen = normalize(request.cookies.get(LANG_COOKIE))
    return chosen or negotiate(request.headers.get("accept-language"))


def session_of(request: Request) -> Session:
    session: Session = request.state.session
    return session


def translate(request: Request, message: str) -> str:
    """A string for the request's language (for the few strings a view, not a template, picks:
    they are msgids that templates also use, so the catalog has them)."""
    return translations(request_locale(request)).gettext(message)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    locale = request_locale(request)
    session = session_of(request)
    ctx: dict[str, Any] = {
        "request": request,
        "csrf": session.csrf,
        "path": request.url.path,
        "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "app": request.app.state.config,
        "running_job": request.app.state.jobs.current,
    }
    ctx.update(context or {})
    html = environment(locale).get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status)
