"""Doctor's findings in plain words, with the action in this app that fixes each.

The engine's finding codes are the message keys: each has a sentence saying what is wrong (for
someone who has never seen a rollout or a database row) and what to do, both translated through
the catalog, and the UI action that does it. The engine's own English text stays available
under "Technical details".
"""

from __future__ import annotations

from dataclasses import dataclass

from codex_migrate.ui.i18n import N_

#: Actions: a button on the finding. "repair" opens Repair with the project pre-filled.
SAFE, REPAIR, MIGRATE, UPGRADE, NONE = "safe", "repair", "migrate", "upgrade", "none"


@dataclass(frozen=True)
class Plain:
    meaning: str
    todo: str
    action: str = NONE


_RESTORE = N_("Bring this session again from the other computer or a backup (Migrate).")
_ROW = N_("Codex's list of sessions has an outdated entry for it. The safe fixes rewrite it.")
_DB = N_(
    "Codex's own database is damaged. Close Codex, then move the file state_*.sqlite out of "
    "the Codex folder: Codex rebuilds it from your sessions."
)

PLAIN: dict[str, Plain] = {
    "not-found": Plain(N_("There is no session with this id here."), _RESTORE, MIGRATE),
    "empty-file": Plain(N_("The session's file is empty."), _RESTORE, MIGRATE),
    "no-session-meta": Plain(N_("The session's file lost its beginning."), _RESTORE, MIGRATE),
    "meta-id-mismatch": Plain(
        N_("The session's file says it is another session."), _RESTORE, MIGRATE
    ),
    "bare-era": Plain(
        N_("This session was recorded by a 2025 version of Codex; today's Codex does not show it."),
        N_("Convert it to today's format; the original is kept next to it."),
        UPGRADE,
    ),
    "no-user-message": Plain(
        N_("The session has no message from you at its start, so Codex never shows it."),
        N_("Nothing can be repaired here: it is how Codex works."),
    ),
    "unreadable-lines": Plain(
        N_("Some lines of the session's file are damaged (for example cut off by a crash)."),
        _RESTORE,
        MIGRATE,
    ),
    "row-path-relative": Plain(
        N_("Codex's list points to this session the wrong way."), _ROW, SAFE
    ),
    "row-path-missing": Plain(N_("Codex's list points to a file that is not here."), _ROW, SAFE),
    "row-path-outside-home": Plain(
        N_("Codex's list points to this session in another Codex folder."), _ROW, SAFE
    ),
    "row-path-other-file": Plain(N_("Codex's list points to the wrong file."), _ROW, SAFE),
    "empty-preview": Plain(N_("Codex's list has no first line for this session."), _ROW, SAFE),
    "history-mode-mismatch": Plain(
        N_("Codex's list records the wrong format for this session."), _ROW, SAFE
    ),
    "cwd-mismatch": Plain(
        N_("Codex's list and the session disagree about its project folder."),
        N_("Choose the project's folder on this computer in Repair."),
        REPAIR,
    ),
    "cwd-missing": Plain(
        N_("The session's project folder does not exist on this computer."),
        N_("Choose the project's folder on this computer in Repair."),
        REPAIR,
    ),
    "history-only": Plain(
        N_("Kept as history: you chose not to give this project a folder here."),
        N_("Nothing to do. To work in it again, choose a folder in Repair."),
        REPAIR,
    ),
    "desktop-project-missing": Plain(
        N_("The Codex Desktop app does not list this project yet."),
        N_("Add the folder as a project in Codex Desktop."),
    ),
    "unknown-provider": Plain(
        N_("The session used an AI provider that this computer's Codex does not know."),
        N_("Set up that provider in Codex's settings (config.toml)."),
    ),
    "other-provider": Plain(
        N_("The session used another AI provider than the one Codex uses by default here."),
        N_("Nothing is broken: Codex shows it when you pick that provider."),
    ),
    "non-interactive-source": Plain(
        N_("A session run by a script (codex exec), not typed by you."),
        N_("Nothing is broken: Codex shows it when you ask for every kind of session."),
    ),
    "file-without-row": Plain(
        N_("Codex has not listed this session yet."),
        N_("Nothing to do: Codex adds it the next time it starts."),
    ),
    "row-without-file": Plain(
        N_("Codex's list names a session whose file is not on this computer."),
        N_("The safe fixes remove the entry; bring the session with Migrate to keep it."),
        SAFE,
    ),
    "unreadable-file": Plain(
        N_("The session's file cannot be read, or there are two files for one session."),
        N_("Check the file's permissions, or keep only one of the two files."),
    ),
    "db-unreadable": Plain(N_("Codex's own database cannot be read."), _DB),
    "db-integrity": Plain(N_("Codex's own database is damaged."), _DB),
    "config-unreadable": Plain(
        N_("Codex's settings file (config.toml) has an error, so Codex will not start."),
        N_("Correct the settings file, or move it away to start from the defaults."),
    ),
    "backfill-running": Plain(
        N_("Codex started rebuilding its list of sessions and got stuck."),
        N_("The safe fixes restart the rebuild."),
        SAFE,
    ),
    "backfill-lease": Plain(
        N_("Codex is rebuilding its list of sessions right now."),
        N_("Nothing to do: Codex finishes it by itself."),
    ),
    "other": Plain(N_("Another problem was found."), N_("See the technical details below.")),
}


def plain(code: str) -> Plain:
    return PLAIN.get(code, PLAIN["other"])
