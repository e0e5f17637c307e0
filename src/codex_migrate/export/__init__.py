"""Exporting conversations to files people can read: self-contained HTML and Markdown.

The engine side: it never prints or prompts. :func:`export_threads` is the entry point; the CLI
face lives in :mod:`codex_migrate.cli.export`.
"""

from codex_migrate.export.api import (
    FORMATS,
    ExportedFile,
    ExportReport,
    Selection,
    SelectionError,
    SkippedThread,
    export_thread,
    export_threads,
    select_threads,
)
from codex_migrate.export.conversation import Conversation, ConversationReader, read_conversation
from codex_migrate.export.redact import Redactor

__all__ = [
    "FORMATS",
    "Conversation",
    "ConversationReader",
    "ExportReport",
    "ExportedFile",
    "Redactor",
    "Selection",
    "SelectionError",
    "SkippedThread",
    "export_thread",
    "export_threads",
    "read_conversation",
    "select_threads",
]
