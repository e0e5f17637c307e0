"""What every command module shares: JSON output, a progress bar, option helpers.

Kept apart from :mod:`codex_migrate.cli` so command modules (backup, doctor, export, ui) and
the main group can import it without importing each other.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from codex_migrate.catalog import ProgressFn
from codex_migrate.errors import CodexMigrateError

F = TypeVar("F", bound=Callable[..., Any])

#: Below this many items a progress bar only flickers.
PROGRESS_MIN_ITEMS = 300


@contextmanager
def progress_bar(label: str) -> Iterator[ProgressFn]:
    """A ProgressFn drawing a bar on stderr, only on a terminal and only for long work."""
    state: dict[str, Any] = {"bar": None, "done": 0}
    interactive = sys.stderr.isatty()

    def report(stage: str, done: int, total: int) -> None:
        if not interactive or total < PROGRESS_MIN_ITEMS:
            return
        bar = state["bar"]
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
            state["bar"] = bar
        bar.update(done - state["done"])
        state["done"] = done

    try:
        yield report
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(f)


def emit_json(data: Any) -> None:
    """Indented for a person at a terminal; compact (and several times faster to write, as
    the C encoder only runs without indentation) when a script reads it.

    Compact output is written as it is encoded (the same text as one ``json.dumps``): the
    objects on the way to a list are written key by key and a list item by item, each item
    encoded whole, so a 30 000-thread listing never holds its whole text, twice, in memory.
    A list may be given as an iterator (of dicts made one at a time). Where stdout is UTF-8
    text over bytes, the bytes go straight to its buffer: orjson's output is not decoded only
    to be encoded again (for a scan of 3 000 threads, 5 MB each way)."""
    if sys.stdout.isatty():
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_listed))
        return
    binary = _utf8_buffer(sys.stdout)
    if binary is None:
        _write_text(data)
        return
    sys.stdout.flush()  # what was written as text goes first
    errors = getattr(sys.stdout, "errors", None) or "strict"
    out: list[bytes] = []
    size = 0
    for piece in _pieces(data, True):
        chunk = piece.encode("utf-8", errors) if isinstance(piece, str) else piece
        out.append(chunk)
        size += len(chunk)
        if size >= _FLUSH_CHARS:
            binary.write(b"".join(out))
            out, size = [], 0
    out.append(b"\n")
    binary.write(b"".join(out))
    binary.flush()


def _utf8_buffer(stream: Any) -> Any:
    """The byte stream under a UTF-8 text stream that writes ``\\n`` as it is, else None
    (then :func:`emit_json` writes text, as ``click.echo`` encodes it)."""
    buffer = getattr(stream, "buffer", None)
    if not _is_utf8(getattr(stream, "encoding", None)) or buffer is None or os.linesep != "\n":
        return None
    return buffer


def _is_utf8(encoding: str | None) -> bool:
    """Whether ``encoding`` names UTF-8, however spelled (``utf_8``, ``U8``)."""
    try:
        return encoding is not None and codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _write_text(data: Any) -> None:
    """Compact JSON through ``click.echo``; for a stdout that is not UTF-8, with every
    non-ASCII character escaped as ``\\uXXXX``: valid JSON, the same values, in any encoding."""
    escape = not _is_utf8(getattr(sys.stdout, "encoding", None) or "utf-8")
    out: list[str] = []
    size = 0
    for piece in _encode(data):
        if escape:
            piece = _NON_ASCII.sub(_escaped, piece)
        out.append(piece)
        size += len(piece)
        if size >= _FLUSH_CHARS:
            click.echo("".join(out), nl=False)
            out, size = [], 0
    out.append("\n")
    click.echo("".join(out), nl=False)


_FLUSH_CHARS = 256 * 1024

#: Outside its strings JSON text is ASCII, so escaping these anywhere escapes them in strings.
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _escaped(match: re.Match[str]) -> str:
    return json.dumps(match.group())[1:-1]  # ensure_ascii: \uXXXX, surrogate pairs included


def _listed(value: Any) -> list[Any]:
    if isinstance(value, Iterator):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_listed)


class PlainItems(Iterator[Any]):
    """The items of a list for :func:`emit_json` that are dicts of strings, ints, bools,
    None, lists of strings and dicts of those (no float): a scan's threads and findings.
    They are encoded by orjson, compactly (see :func:`_encode_plain`)."""

    def __init__(self, items: Iterable[dict[str, Any]]) -> None:
        self._items = iter(items)

    def __next__(self) -> dict[str, Any]:
        return next(self._items)


_PLAIN_BATCH = 256


def _encode_plain(items: Iterator[dict[str, Any]], binary: bool = False) -> Iterator[str | bytes]:
    """:class:`PlainItems`, encoded by orjson in batches: the stdlib encoder's escaping of
    every character was a scan's largest cost after reading. orjson writes the same values
    without the spaces ``json.dumps`` puts after ``:`` and ``,`` (insignificant in JSON; no
    text edit can put them back safely, since a string may end with a comma or start with a
    colon). A batch orjson refuses (a lone surrogate, an int past 64 bits, a key that is no
    string) goes through ``json``. ``binary``: orjson's batches as its UTF-8 bytes."""
    first = True
    while batch := list(islice(items, _PLAIN_BATCH)):
        body: str | bytes
        try:
            body = orjson.dumps(batch)[1:-1]
            if not binary:
                body = body.decode()
        except orjson.JSONEncodeError:
            body = ", ".join(_ENCODER.encode(item) for item in batch)
        if not first:
            yield ","
        yield body
        first = False


def _encode(value: Any) -> Iterator[str]:
    """``json.dumps(value, ensure_ascii=False)`` in pieces: an object key by key, a list
    item by item (each item in one piece)."""
    for piece in _pieces(value, False):
        yield piece if isinstance(piece, str) else piece.decode()


def _pieces(value: Any, binary: bool) -> Iterator[str | bytes]:
    """:func:`_encode`; ``binary``: :class:`PlainItems` come as orjson's UTF-8 bytes (see
    :func:`_encode_plain`), every other piece as text."""
    if isinstance(value, dict):
        yield "{"
        for n, (key, item) in enumerate(value.items()):
            # the key as json.dumps writes it (a number, bool or None becomes a string)
            yield (", " if n else "") + _ENCODER.encode({key: None})[1:-7] + ": "
            yield from _pieces(item, binary)
        yield "}"
    elif isinstance(value, PlainItems):
        yield "["
        # the iterator under it: islice takes each item in C, not through PlainItems.__next__
        yield from _encode_plain(value._items, binary)
        yield "]"
    elif isinstance(value, (list, tuple, Iterator)):
        yield "["
        for n, item in enumerate(value):
            yield (", " if n else "") + _ENCODER.encode(item)
        yield "]"
    else:
        yield _ENCODER.encode(value)


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, an ellipsis last (a title in a listing)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def confirm_write(yes: bool, question: str) -> None:
    """Ask before writing, unless --yes; with no terminal to ask, refuse rather than guess."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CodexMigrateError(
            "refusing to write without confirmation: no terminal to ask.",
            hint="Review with --dry-run, then pass --yes.",
            code="not-confirmed",
        )
    click.confirm(question, abort=True)


def codex_home_option(what: str = "The Codex home", name: str = "codex_home") -> Callable[[F], F]:
    """The one ``--codex-home`` option: same metavar, type and default rule everywhere."""
    return click.option(
        "--codex-home",
        name,
        type=click.Path(path_type=Path),
        default=None,
        metavar="HOME",
        help=f"{what} (default: $CODEX_HOME, else ~/.codex).",
    )
