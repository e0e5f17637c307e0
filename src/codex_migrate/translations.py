"""The gettext catalogs (English msgids, Simplified Chinese) that every face and the HTML
export share: the engine reads them here, so exporting never imports the web UI.

The ``.po`` files are the only source of truth and are compiled in memory when first needed
(Babel's ``write_mo``), so a clean clone runs without a build step and a stale ``.mo`` can never
be served. They live beside the UI's templates because the UI owns most of the strings.
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "ui" / "locale"
DOMAIN = "messages"
DEFAULT = "en"


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalog for ``locale`` (English needs none: the msgids are English)."""
    path = po_path(locale)
    if locale == DEFAULT or not path.is_file():
        return gettext.NullTranslations()
    with open(path, "rb") as f:
        catalog = read_po(f, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)
