"""Errors the engine raises for the CLI (and later the web UI) to show as plain messages.

Every error carries the exit status the CLI should use, so the rule lives in one place.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # the command ran but found problems (e.g. verify, doctor)
EXIT_USAGE = 2  # click's own status for bad options
EXIT_NO_HOME = 3  # the home or source could not be read
EXIT_IN_USE = 4  # the target is locked or Codex is running
EXIT_CONFLICT = 5  # merge conflicts: nothing was written
EXIT_UNMAPPED = 6  # selected projects have no mapping: nothing was written
EXIT_STALE = 7  # the target changed between the preview and the write: nothing was written
EXIT_INTERRUPTED = 130  # Ctrl-C: any write was rolled back


class CodexMigrateError(Exception):
    """A failure with a message meant for the user, not a traceback.

    ``code`` says what kind of failure it is and ``params`` the values its message names (a
    path, a count): a face that speaks another language than the engine's English shows its
    own sentence for the code (the web UI's ``ui/error_text.py``) and falls back to
    ``message`` for a code it does not know. Each class has a code; a raise site may give a
    more precise one."""

    exit_code = EXIT_FAILURE
    code = "failed"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        code: str | None = None,
        params: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code
        self.params: dict[str, object] = dict(params or {})


class UsageError(CodexMigrateError):
    """What the user asked for does not exist or does not make sense (an unknown thread id,
    the same home twice): the same status in every command, like Click's bad options."""

    exit_code = EXIT_USAGE
    code = "usage"


class HomeNotFound(CodexMigrateError):
    exit_code = EXIT_NO_HOME
    code = "home-not-found"


class HomeInUse(CodexMigrateError):
    """The home cannot be written now; ``reason`` says why, so no face reads the message."""

    exit_code = EXIT_IN_USE
    CODEX_RUNNING = "codex-running"  # a Codex process has the home's state DB open
    DB_LOCKED = "db-locked"  # another program holds a write lock on the state DB
    OTHER_COMMAND = "other-command"  # another codex-migrate holds our lock
    REASONS = (CODEX_RUNNING, DB_LOCKED, OTHER_COMMAND)

    def __init__(
        self,
        message: str,
        *,
        reason: str = CODEX_RUNNING,
        hint: str | None = None,
        params: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, code=reason, params=params)
        self.reason = reason
