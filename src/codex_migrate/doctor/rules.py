"""The doctor's rules: every code it can report, its severity, what it means and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

PROBLEM = "problem"
NOTE = "note"

#: Provider ids compiled into Codex: ``openai`` and ``oss`` (builds up to late 2025), then
#: ``openai``, ``ollama`` and ``lmstudio`` (codex-rs ``built_in_model_providers``).
BUILT_IN_PROVIDERS = frozenset({"openai", "oss", "ollama", "lmstudio"})
DEFAULT_PROVIDER = "openai"
#: Sources ``thread/list`` and ``codex resume`` show when no source filter is given.
INTERACTIVE_SOURCES = frozenset({"cli", "vscode"})
#: Codex's backfill lease (codex-rs ``BACKFILL_LEASE_SECONDS``).
BACKFILL_LEASE_SECONDS = 900

REBIND_FIX = "codex-migrate rebind --map OLD=NEW"
ROW_REBUILD = (
    "or delete this thread's DB row (or set backfill_state.status to 'pending'): Codex then "
    "rebuilds the row from the rollout"
)


@dataclass(frozen=True)
class Rule:
    """What a finding code means: its severity, its effect on listing, and the generic fix."""

    severity: str
    #: False: Codex does not list the thread; None: cannot tell; True: no effect on listing.
    listed: bool | None
    summary: str
    fix: str


RULES: dict[str, Rule] = {
    "not-found": Rule(
        PROBLEM,
        False,
        "No rollout file and no DB row for this id in this home.",
        "Check the id, or import the thread: codex-migrate import SOURCE --thread ID",
    ),
    "empty-file": Rule(
        PROBLEM,
        False,
        "The rollout file is empty: Codex cannot list it.",
        "Restore the file from a backup or the old machine (codex-migrate import SOURCE).",
    ),
    "no-session-meta": Rule(
        PROBLEM,
        False,
        "The rollout has no session_meta record: Codex cannot list it.",
        "Restore the file from a backup or the old machine (codex-migrate import SOURCE).",
    ),
    "meta-id-mismatch": Rule(
        PROBLEM,
        None,
        "session_meta names another thread id than the file name.",
        "Restore the file from a backup or the old machine (codex-migrate import SOURCE).",
    ),
    "bare-era": Rule(
        PROBLEM,
        False,
        "A bare-era (2025, Codex <= 0.29) rollout: current Codex does not list it and "
        "`codex migrate-rollouts` fails on it.",
        "Importing it converts it (codex-migrate import SOURCE); in place, codex-migrate rebind "
        "--upgrade-bare converts it (the original is kept under codex-migrate/bare-originals/); "
        "add --bare-cwd DIR when it records no folder.",
    ),
    "no-user-message": Rule(
        PROBLEM,
        False,
        "No user message near the head of the rollout: Codex records an empty preview and "
        "hides the thread.",
        "Nothing to repair: Codex never lists a thread that has no user message near its start.",
    ),
    "unreadable-lines": Rule(
        PROBLEM,
        True,
        "Lines that are not valid JSON (a crash-cut last line, bad bytes): Codex skips them.",
        "Import a complete copy from the old machine or a backup (codex-migrate import SOURCE).",
    ),
    "row-path-relative": Rule(
        PROBLEM,
        False,
        "The DB row's rollout_path is relative: Codex resolves it against the folder it runs "
        "in, so the thread is hidden everywhere else.",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "row-path-missing": Rule(
        PROBLEM,
        False,
        "The DB row's rollout_path names a file that does not exist: Codex hides the thread "
        "and `codex exec resume` fails with 'no rollout found'.",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "row-path-outside-home": Rule(
        PROBLEM,
        True,
        "The DB row's rollout_path points into another home: Codex reads and appends to that "
        "other file, not this home's copy.",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "row-path-other-file": Rule(
        PROBLEM,
        None,
        "The DB row's rollout_path names another file of this home than the thread's rollout.",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "empty-preview": Rule(
        PROBLEM,
        False,
        "The DB row's preview is empty although the rollout has a user message: Codex hides "
        "the thread.",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "history-mode-mismatch": Rule(
        PROBLEM,
        True,
        "The DB row's history_mode differs from the rollout's: Codex lists the thread but "
        "cannot open it ('list_turns is not supported yet').",
        f"{REBIND_FIX} rewrites stale rows, {ROW_REBUILD}.",
    ),
    "cwd-mismatch": Rule(
        PROBLEM,
        True,
        "The DB row's cwd differs from the rollout's: Codex lists the row's, and a rebuilt DB "
        "would list the rollout's.",
        f"{REBIND_FIX} (rewrites the rollout and the row together).",
    ),
    "cwd-missing": Rule(
        PROBLEM,
        True,
        "The thread's project folder does not exist on this machine: it is listed under a dead "
        "path and cannot be continued in its project.",
        f"{REBIND_FIX} binds the old folder to one on this machine.",
    ),
    "history-only": Rule(
        NOTE,
        True,
        "Kept as history: its project folder is not on this machine, as chosen at import or "
        "rebind (recorded in codex-migrate/choices.json).",
        "Nothing to do. To continue it in a project here: codex-migrate rebind --map OLD=NEW.",
    ),
    "desktop-project-missing": Rule(
        NOTE,
        True,
        "A project that sessions were mapped to is missing from Codex Desktop's project list "
        "(.codex-global-state.json): the Desktop shows its sessions under no project.",
        "Add the folder as a project in Codex Desktop, or run the rebind again with the same "
        "--map (it registers the project).",
    ),
    "unknown-provider": Rule(
        PROBLEM,
        True,
        "The thread's model provider is neither built into Codex nor defined in this home's "
        "config.toml: Codex cannot resume it.",
        "Add a [model_providers.ID] table for it to config.toml.",
    ),
    "other-provider": Rule(
        NOTE,
        True,
        "The thread's provider is not this home's default provider: `codex resume` and "
        "thread/list without modelProviders do not show it.",
        "Pick it with model_provider in config.toml, or list with every provider "
        "(app-server thread/list modelProviders: []).",
    ),
    "non-interactive-source": Rule(
        NOTE,
        True,
        "A non-interactive session (e.g. `codex exec`): listed only when every source kind is "
        "asked for.",
        "Pass --all to `codex resume`, or sourceKinds to app-server thread/list.",
    ),
    "file-without-row": Rule(
        NOTE,
        True,
        "No DB row although the backfill completed: Codex adds the row the next time it lists.",
        "Nothing to do (measured: Codex lists the thread and writes its row).",
    ),
    "row-without-file": Rule(
        PROBLEM,
        False,
        "A DB row whose rollout is not in this home: Codex hides it, or, when the path exists "
        "in another home, lists it from there.",
        "Import the rollout (codex-migrate import SOURCE --thread ID), or delete the row.",
    ),
    "unreadable-file": Rule(
        PROBLEM,
        None,
        "A rollout file that cannot be read (permissions, a damaged .zst, not a regular file), "
        "or a second rollout with the same thread id.",
        "Fix the file's permissions, put back a damaged file from a backup, or keep only one "
        "rollout per thread id (the message says which).",
    ),
    "db-integrity": Rule(
        PROBLEM,
        None,
        "SQLite's integrity check of the state DB failed.",
        "Move the state DB away while Codex is closed: Codex rebuilds it from the rollouts.",
    ),
    "db-unreadable": Rule(
        PROBLEM,
        None,
        "The state DB cannot be read: what Codex lists cannot be told from it.",
        "Move the state DB away while Codex is closed: Codex rebuilds it from the rollouts.",
    ),
    "config-unreadable": Rule(
        PROBLEM,
        True,
        "config.toml cannot be parsed: Codex will not start, and providers cannot be checked.",
        "Fix the TOML syntax of config.toml.",
    ),
    "backfill-running": Rule(
        PROBLEM,
        None,
        "backfill_state is 'running' with a fresh lease and no Codex has this home open: Codex "
        "waits 30 s at start-up and then fails until the 15-minute lease expires.",
        "Wait until the lease expires (Codex then retakes it and finishes the backfill), or set "
        "backfill_state.status to 'pending' while Codex is closed.",
    ),
    "backfill-lease": Rule(
        NOTE,
        True,
        "backfill_state is 'running': either a Codex that has this home open is indexing, or "
        "the lease is stale and the next Codex start retakes it.",
        "Nothing to do: Codex finishes the backfill.",
    ),
    "other": Rule(
        PROBLEM,
        None,
        "Another problem the scan found.",
        "See the message.",
    ),
}
