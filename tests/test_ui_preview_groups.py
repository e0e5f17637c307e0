"""The migrate preview's grouping (``ui.preview_groups``): a small plan is listed whole, a big
one one line per project, with the opened project's sessions a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from codex_migrate.ui.preview_groups import PAGE, SMALL, group_plan


@dataclass
class _Thread:
    id: str
    cwd: str | None


@dataclass
class _Item:
    thread: _Thread
    action: str
    new_cwd: str | None


@dataclass
class _Plan:
    items: list[_Item]


def _plan(per_project: dict[str, int]) -> _Plan:
    items = []
    for cwd, n in per_project.items():
        for k in range(n):
            action = "import" if k % 3 else "skip"
            items.append(_Item(_Thread(f"{cwd}-{k}", cwd or None), action, f"/here{cwd}"))
    return _Plan(items)


def test_a_small_plan_is_listed_whole() -> None:
    groups = group_plan(_plan({"/b": 5, "/a": 3, "": 1}))  # type: ignore[arg-type]
    assert [g.cwd for g in groups] == ["", "/a", "/b"]
    assert all(g.open for g in groups) and sum(len(g.rows) for g in groups) == 9
    assert groups[2].counts == {"skip": 2, "import": 3}
    assert groups[1].anchor != groups[2].anchor


def test_a_big_plan_lists_only_the_opened_project_a_page_at_a_time() -> None:
    plan = _plan({"/a": SMALL, "/b": 2 * PAGE + 10})
    groups = group_plan(plan)  # type: ignore[arg-type]
    assert not any(g.open for g in groups) and all(g.rows == [] for g in groups)
    b = group_plan(plan, "/b", PAGE + 7)[1]  # type: ignore[arg-type]
    assert b.open and b.start == PAGE and len(b.rows) == PAGE
    assert (b.previous, b.next) == (0, 2 * PAGE)
    last = group_plan(plan, "/b", 10**9)[1]  # type: ignore[arg-type]
    assert last.start == 2 * PAGE and len(last.rows) == 10 and last.next is None
    first = group_plan(plan, "/b", -5)[1]  # type: ignore[arg-type]
    assert first.start == 0 and first.previous is None
