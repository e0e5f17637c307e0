"""Engine errors in the page's language: each error code is a message key.

The engine raises :class:`~codex_migrate.errors.CodexMigrateError` with a ``code`` (what kind
of failure) and ``params`` (the path, id or count its message names). Here each code has an
English sentence with the same placeholders, translated through the catalog like every other
string of the UI; the engine's own English text stays under "Technical details". A code without
a sentence here (or whose parameters do not fit it) is shown in the engine's English, as before.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from starlette.requests import Request

from codex_migrate.errors import CodexMigrateError
from codex_migrate.translations import translations
from codex_migrate.ui.i18n import N_
from codex_migrate.ui.render import request_locale

#: The code of an error that says nothing more precise: always shown in the engine's English.
FALLBACK_CODE = "failed"

_CLOSE_CODEX = N_(
    "Close Codex everywhere it runs on this computer (the CLI, the IDE extension and the "
    "Desktop app), then try again."
)
_NEW_PREVIEW = N_("Look at the new preview, then apply again.")
_CHOOSE_HOME = N_(
    "Choose the folder of a Codex home (usually named .codex), a copy of one, a Codex_backup "
    "folder, or a backup file."
)
_FREE_SPACE = N_("Free some space, then try again.")

#: code -> (message, hint or None). Placeholders are the error's ``params``.
ERROR_TEXT: dict[str, tuple[str, str | None]] = {
    "usage": (N_("What was asked for does not exist here or does not make sense."), None),
    "home-not-found": (N_("This is not a Codex home that can be read."), _CHOOSE_HOME),
    "home-missing": (N_("The folder %(path)s does not exist."), _CHOOSE_HOME),
    "home-not-folder": (N_("%(path)s is not a folder."), _CHOOSE_HOME),
    "home-unreadable": (
        N_("The folder %(path)s cannot be read."),
        N_("Check that you may read that folder and everything in it."),
    ),
    "home-ambiguous": (
        N_("%(path)s holds more than one Codex home: %(homes)s."),
        N_("Choose the one you mean."),
    ),
    "not-a-home": (
        N_(
            "%(path)s is not a Codex home: it has no sessions folder, no session index and no "
            "state database."
        ),
        _CHOOSE_HOME,
    ),
    "backup-incomplete": (
        N_(
            "%(path)s is not a complete codex-migrate backup: it is damaged, its backup was "
            "interrupted, or it is not a backup."
        ),
        N_("Use a complete backup: a Codex_backup folder or a backup file it was saved as."),
    ),
    "not-a-source": (
        N_("%(path)s is neither a folder nor a backup file (.tar.zst or .zip)."),
        _CHOOSE_HOME,
    ),
    "codex-running": (N_("Codex is running with this home open: %(processes)s."), _CLOSE_CODEX),
    "db-locked": (N_("Another program is writing to Codex's database %(db)s."), _CLOSE_CODEX),
    "other-command": (
        N_("Another codex-migrate is working on this home."),
        N_("Wait for it to finish (in another window or terminal), then try again."),
    ),
    "db-unusable": (
        N_("%(db)s is not a usable database; nothing was written."),
        N_(
            "Close Codex, then move the file out of the Codex folder: Codex rebuilds it from "
            "your sessions."
        ),
    ),
    "db-changing": (N_("Codex's database %(db)s kept changing while it was read."), _CLOSE_CODEX),
    "db-unreadable": (
        N_("Codex's database %(db)s cannot be read."),
        N_("Your sessions were still read from their files."),
    ),
    "db-schema-unknown": (
        N_(
            "Codex's database %(db)s has a layout this version does not know (a newer Codex?). "
            "It was left as it is."
        ),
        N_("Your sessions were still read from their files."),
    ),
    "target-db-unusable": (
        N_("This computer's Codex database cannot be used; nothing was written."),
        N_("Doctor says why. Codex rebuilds a deleted database from your sessions."),
    ),
    "verify-failed": (
        N_("The check after writing found a difference, so everything was rolled back."),
        None,
    ),
    "unmapped-projects": (
        N_("%(count)s selected projects have no folder on this computer; nothing was written."),
        N_("Choose a folder for each project, or keep it as history only."),
    ),
    "target-not-regular": (
        N_(
            "This computer's Codex home has files Codex needs that are not regular files; "
            "nothing was written."
        ),
        N_("Move them aside (Codex cannot use them either), then try again."),
    ),
    "merge-conflicts": (
        N_("%(count)s sessions differ in both homes; nothing was written."),
        N_("Leave these sessions out, or keep this computer's version of them."),
    ),
    "target-changed": (
        N_("This computer's Codex home changed since the preview; nothing was written."),
        _NEW_PREVIEW,
    ),
    "plan-changed": (N_("Something changed since the preview; nothing was written."), _NEW_PREVIEW),
    "disk-full": (
        N_("The disk is full. The change was rolled back; nothing changed."),
        _FREE_SPACE,
    ),
    "rolled-back": (N_("A file could not be written, so the change was rolled back."), None),
    "cleanup-failed": (
        N_("The change was complete and was kept, but cleaning up after it failed."),
        None,
    ),
    "rollback-incomplete": (
        N_("The change failed, and undoing it stopped part way."),
        N_(
            "Free some space if the disk is full, then run codex-migrate recover: it finishes "
            "the undo."
        ),
    ),
    "recovery-incomplete": (
        N_("Finishing an interrupted change stopped part way. Nothing was lost."),
        N_("Free some space (or fix the cause), then try again: it continues where it stopped."),
    ),
    "interrupted": (N_("The change was interrupted and rolled back; nothing changed."), None),
    "cancelled": (N_("This was stopped before it finished; nothing was written."), None),
    "same-home": (
        N_("The source and this computer's Codex home are the same folder."),
        N_("Choose the copied folder or backup, not this computer's Codex home."),
    ),
    "not-confirmed": (N_("Nothing was written without a confirmation."), None),
    "transaction": (N_("This change cannot be rolled back or deleted as asked."), None),
    "tx-not-found": (N_("There is no snapshot %(id)s in this home."), None),
    "tx-unfinished": (
        N_("Snapshot %(id)s is unfinished: it is rolled back before anything else is written."),
        None,
    ),
    "tx-not-committed": (
        N_("This change was never completed, so there is nothing to roll back."),
        None,
    ),
    "tx-old-format": (
        N_("This change was made by an older codex-migrate and cannot be undone safely."),
        None,
    ),
    "tx-changed-after": (
        N_(
            "%(count)s files of this change were changed afterwards: rolling it back would lose "
            "that work. Nothing changed."
        ),
        None,
    ),
    "unsafe-journal": (
        N_("A snapshot's record names a path outside the home; it was not acted upon."),
        None,
    ),
    "thread-not-found": (N_("There is no session with the id %(id)s here."), None),
    "thread-ambiguous": (
        N_("%(id)s matches several sessions."),
        N_("Give more characters of the id."),
    ),
    "project-not-found": (N_("There is no project %(project)s here."), None),
    "export-selection": (N_("Choose which sessions to export."), None),
    "output-folder": (N_("The folder %(path)s cannot be created."), None),
    "backup-failed": (N_("The backup could not be made."), None),
    "backup-selection": (
        N_("Nothing was backed up: the chosen sessions or projects are not in this home."),
        None,
    ),
    "backup-destination": (N_("Choose a folder or a backup file, not both."), None),
    "backup-not-folder": (N_("%(path)s is not a folder."), None),
    "backup-create": (N_("The folder %(path)s cannot be created."), None),
    "archive-name": (N_("%(name)s: a backup file must end in .tar.zst or .zip."), None),
    "source-changed": (
        N_("A file changed while it was backed up."),
        N_("Close Codex, then back up again."),
    ),
    "manifest-invalid": (
        N_("This backup's list of files (manifest.json) is damaged or from a newer version."),
        None,
    ),
    "demo-folder-taken": (
        N_("%(path)s exists and is not a demo folder; it was left alone."),
        None,
    ),
    "sync-config": (N_("The sync settings are not usable."), None),
    "sync-folder": (N_("The shared sync folder cannot be used."), None),
}


#: File-system errors that reach a page (a write is rolled back before): their kind by errno.
OS_CODES = {
    errno.ENOSPC: "disk-full",
    errno.EACCES: "permission-denied",
    errno.EPERM: "permission-denied",
    errno.EROFS: "read-only",
    errno.ENOENT: "file-missing",
}
OS_TEXT: dict[str, tuple[str, str | None]] = {
    "permission-denied": (
        N_("This user may not read or change %(path)s."),
        N_("Check the permissions of that file or folder, then try again."),
    ),
    "read-only": (N_("%(path)s is on a disk that cannot be written."), None),
    "file-missing": (N_("%(path)s does not exist (any more)."), None),
}


@dataclass(frozen=True)
class LocalError:
    """An error as a page shows it: in the page's language when its code is known."""

    code: str | None
    message: str
    hint: str | None
    translated: bool


def localize(exc: BaseException, locale: str) -> LocalError:
    """``exc``'s message and hint in ``locale``; the engine's English for unknown codes."""
    if isinstance(exc, CodexMigrateError):
        code, params = exc.code, exc.params
        english = LocalError(code, exc.message, exc.hint, False)
        entry = ERROR_TEXT.get(code)
    elif isinstance(exc, OSError) and exc.errno in OS_CODES:
        code = OS_CODES[exc.errno]
        params = {"path": exc.filename} if exc.filename else {}
        english = LocalError(code, str(exc), None, False)
        entry = OS_TEXT.get(code) or ERROR_TEXT.get(code)
    else:
        return LocalError(None, str(exc) or type(exc).__name__, None, False)
    if entry is None:
        return english
    gettext = translations(locale).gettext
    message, hint = entry
    try:
        text = gettext(message) % params
        tip = gettext(hint) % params if hint else None
    except (KeyError, ValueError, TypeError):
        return english  # other parameters than the sentence needs: say it as the engine did
    return LocalError(code, text, tip, True)


def localized(request: Request, exc: BaseException) -> LocalError:
    return localize(exc, request_locale(request))
