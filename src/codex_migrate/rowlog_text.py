"""The JSON text of a row log's changes (see :mod:`codex_migrate.rowlog`): each changed row
as the journal keeps it, written a row at a time, the common one (a row we inserted) by
format rather than by the encoder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

Row = dict[str, Any]


def by_value(state: dict[Any, bool | bytes]) -> Iterator[Change] | None:
    """The rows whose digests settle kept by value (rows new: nothing there before) in their
    keys' order; None when a value holds a space or a ``!``, which sort below the ``"`` its
    key's text ends with (those rows go by their keys' text)."""
    values = sorted(v for v, d in state.items() if type(d) is bytes)
    if any(" " in v or "!" in v for v in values):
        return None
    return ((f'["{v}"]', None, state[v].hex(), None) for v in values)  # type: ignore[union-attr]


#: A changed row: its key (the JSON text ``RowLog._key`` gives), its image before (None:
#: we inserted it), the digest of it after (None: we deleted it), its rowid before (None:
#: not logged, see ``rowlog.own_rowid``).
Change = tuple[str, Row | None, str | None, int | None]


def change_dict(key: str, was: Row | None, now: str | None, rowid: int | None) -> dict[str, Any]:
    """A changed row as the journal's JSON holds it."""
    out = {
        "key": json.loads(key),
        "before": was,
        "after": None if now is None else {"$sha256": now},
    }
    if rowid is not None:
        out["rowid"] = rowid
    return out


def change_text(
    key_count: int, key: str, was: Row | None, now: str | None, rowid: int | None
) -> str:
    """``json.dumps(change_dict(...), separators=(",", ":"))``: a row we inserted (nearly every
    row of an import) by format, with a one-column key, which ``RowLog._key`` wrote as
    compact JSON already; the rest by the encoder."""
    if was is None and now is not None and key_count == 1:
        return f'{{"key":{key},"before":null,"after":{{"$sha256":"{now}"}}}}'
    return json.dumps(change_dict(key, was, now, rowid), separators=(",", ":"))
