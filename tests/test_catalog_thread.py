"""What Codex shows of a thread is one rule (catalog_thread.shown): the properties and the
listing's dict give what it gives, which is what the properties gave before, for every kind
of row."""

from __future__ import annotations

from typing import Any

import pytest

from codex_migrate.catalog_thread import Thread, shown

_ROWS: list[dict[str, Any] | None] = [
    None,  # no row: the rollout's cwd, the index's name, the file's folder
    {},  # a row with no values: the same, it has no archived flag either
    {"cwd": "/row", "name": "row name", "archived": 1},
    {"cwd": "", "name": "", "archived": 0},  # empty texts do not win
    {"cwd": 7, "name": ["x"]},  # nor do values that are not text
    {"cwd": None, "name": None, "archived": None},
    {"archived": 0},
]


def _thread(row: dict[str, Any] | None, archived_on_disk: bool) -> Thread:
    thread = Thread("t1", "/home", "sessions/x.jsonl", archived_on_disk, False, 1, 0.0)
    thread.rollout_cwd, thread.index_name, thread.row = "/rollout", "index name", row
    return thread


def _rule(row: dict[str, Any] | None, thread: Thread) -> tuple[Any, ...]:
    """The rule as the properties wrote it before it was one function."""

    def text(v: Any) -> str | None:
        return v if isinstance(v, str) and v else None

    row_cwd = text(row.get("cwd")) if row else None
    row_name = text(row.get("name")) if row else None
    if row is not None and "archived" in row:
        archived = bool(row["archived"])
    else:
        archived = thread.archived_on_disk
    return (
        row_cwd,
        row_name,
        row_cwd or thread.rollout_cwd,
        row_name or thread.index_name,
        archived,
    )


@pytest.mark.parametrize("archived_on_disk", [False, True])
@pytest.mark.parametrize("row", _ROWS, ids=repr)
def test_every_view_of_a_thread_says_what_the_one_rule_says(
    row: dict[str, Any] | None, archived_on_disk: bool
) -> None:
    thread = _thread(row, archived_on_disk)
    want = _rule(row, thread)
    assert shown(thread) == want
    assert (thread.row_cwd, thread.row_name, thread.cwd, thread.name, thread.archived) == want
    d = thread.to_dict()
    assert (d["row_cwd"], d["cwd"], d["name"], d["archived"]) == (
        want[0],
        want[2],
        want[3],
        want[4],
    )
    assert d["has_db_row"] is (row is not None)
    assert d["updated_at"] == thread.updated_at
