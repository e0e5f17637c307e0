"""Languages of the UI: English (the msgids) and Simplified Chinese, through gettext catalogs.

The ``.po`` files are the only source of truth and are compiled in memory when first needed
(Babel's ``write_mo``), so a clean clone runs without a build step and a stale ``.mo`` can never
be served. Dates and sizes are formatted with Babel for the page's locale.
"""

from __future__ import annotations

from datetime import UTC, datetime

from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.units import format_unit

from codex_migrate.translations import DEFAULT

#: Locale code -> (HTML ``lang``, name shown in the switcher, always in its own language).
LOCALES: dict[str, tuple[str, str]] = {
    "en": ("en", "English"),
    "zh_Hans": ("zh-Hans", "简体中文"),
}
LANG_COOKIE = "codex_migrate_lang"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown (the template)."""
    return message


def normalize(code: str | None) -> str | None:
    """A supported locale for a code from a cookie, a form or ``Accept-Language``."""
    if not code:
        return None
    code = code.strip().replace("-", "_")
    if code in LOCALES:
        return code
    lang = code.split("_", 1)[0].lower()
    if lang == "zh":
        return "zh_Hans"
    if lang == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> str:
    """The best supported locale for an ``Accept-Language`` header, by quality value."""
    choices: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "").split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        choices.append((-q, n, tag.strip()))
    for _q, _n, tag in sorted(choices):
        found = normalize(tag)
        if found and _q < 0:
            return found
    return DEFAULT


class Formatter:
    """Locale-aware formatting of the values pages show (dates, sizes, counts)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def size(self, n: float | None) -> str:
        if n is None:
            return "–"
        if abs(n) < 1000:
            return f"{format_decimal(n, locale=self.locale)} B"
        for unit in ("kilobyte", "megabyte", "gigabyte"):
            n /= 1000
            if abs(n) < 1000 or unit == "gigabyte":
                break
        return format_unit(
            n, f"digital-{unit}", length="short", format="#,##0.#", locale=self.locale
        )

    def datetime(self, value: datetime | str | float | None) -> str:
        """A date-time in this machine's time zone, in the locale's medium format."""
        if value is None or value == "":
            return "–"
        if isinstance(value, (int, float)):
            dt = datetime.fromtimestamp(value, tz=UTC)
        elif isinstance(value, str):
            try:
                dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
        else:
            dt = value
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        local = dt.astimezone()
        return format_datetime(local, "medium", tzinfo=local.tzinfo, locale=self.locale)
