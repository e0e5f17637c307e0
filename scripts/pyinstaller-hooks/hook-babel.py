"""PyInstaller hook for Babel, used by ``scripts/build_dist.py`` instead of the stock one.

The stock hook ships all of Babel's ~800 CLDR locale files (30 MB, unpacked at every start of
the one-file executable). The UI formats dates and numbers only in its own languages, so this
keeps those locales, their parents and ``root``, and every non-locale data file.
"""

from pathlib import Path

from PyInstaller.utils.hooks import collect_data_files

from codex_migrate.ui.i18n import LOCALES

KEEP = {"root"}
for code in LOCALES:
    parts = code.split("_")
    KEEP.update("_".join(parts[:n]) for n in range(1, len(parts) + 1))

datas = [
    (src, dest)
    for src, dest in collect_data_files("babel")
    if Path(src).parent.name != "locale-data" or Path(src).stem in KEEP
]

hiddenimports = ["babel.dates", "babel.localedata", "babel.plural", "babel.numbers"]
