"""Rule parsing, history-only entries, conflicts and the per-project plan."""

from __future__ import annotations

import json

import pytest

from codex_migrate.pathmap import PathMapper, Rule, Status
from codex_migrate.paths import Family, parse

# -- OLD=NEW parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "old", "new"),
    [
        ("/Users/a/p=/home/a/p", "/Users/a/p", "/home/a/p"),
        (r"/Users/a/p=C:\src\p", "/Users/a/p", r"C:\src\p"),
        (r"c:/x=D:\y", r"C:\x", r"D:\y"),
        (r"\\srv\share\x=/mnt/nas/x", r"\\srv\share\x", "/mnt/nas/x"),
        (r"\\?\C:\x=/x", r"\\?\C:\x", "/x"),
        # '=' inside a POSIX name: the first split leaves a relative NEW, so the next one is used
        ("/a=b/c=/d", "/a=b/c", "/d"),
        ("/a=/b=c", "/a", "/b=c"),
        # several valid splits: the first '=' wins
        ("/a=/b=/c", "/a", "/b=/c"),
        ("/with space=/other place", "/with space", "/other place"),
    ],
)
def test_rule_parse(text: str, old: str, new: str) -> None:
    rule = Rule.parse(text)
    assert str(rule.old) == old
    assert str(rule.new) == new
    assert Rule.parse(str(rule)) == rule


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/a/b", "has no '='"),
        ("", "has no '='"),
        ("=/b", "no '=' splits it into two absolute paths"),
        ("/a=", "NEW: empty path"),
        ("rel=/b", "OLD: 'rel' is not an absolute path"),
        ("/a=rel", "NEW: 'rel' is not an absolute path"),
        ("/a = /b", "NEW: ' /b' is not an absolute path"),
        ("C:=/b", "relative to the current directory of drive C:"),
    ],
)
def test_rule_parse_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        Rule.parse(text)
    assert message in str(info.value)
    assert repr(text) in str(info.value)


def test_rule_of_and_to_dict() -> None:
    rule = Rule.of("/Users/a/p", parse(r"C:\p"))
    assert rule.to_dict() == {
        "old": "/Users/a/p",
        "new": r"C:\p",
        "old_family": "posix",
        "new_family": "drive",
    }
    json.dumps(rule.to_dict())


# -- mapper construction ----------------------------------------------------------------------


def test_same_place_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="name the same place"):
        PathMapper([r"C:\x=/a", "c:/X=/b"])
    with pytest.raises(ValueError, match="name the same place"):
        PathMapper(["/a=/b"], history_only=["/a/"])
    # only with the WSL view do a drive and its mount collide
    PathMapper([r"D:\p=/a", "/mnt/d/p=/b"])
    with pytest.raises(ValueError, match="name the same place"):
        PathMapper([r"D:\p=/a", "/mnt/d/P=/b"], wsl=True)


def test_duplicates_are_harmless() -> None:
    m = PathMapper([r"C:\x=/a", "c:/x=/a"], history_only=["/h", "/h/"])
    assert len(m.rules) == 1 and len(m.history_only) == 1


def test_rules_may_be_given_as_objects() -> None:
    m = PathMapper([Rule.parse("/a=/b")])
    assert m.map("/a/c") == "/b/c"


# -- history-only -----------------------------------------------------------------------------


def test_history_only_keeps_the_recorded_spelling() -> None:
    m = PathMapper(["/Users/a=/home/a"], history_only=["/Users/a/old-proj"])
    res = m.resolve("/Users/a/old-proj/sub/")
    assert res.status is Status.HISTORY_ONLY
    assert res.new_path == "/Users/a/old-proj/sub/"  # unchanged, not canonicalised
    assert not res.changed
    assert m.map("/Users/a/old-proj") == "/Users/a/old-proj"
    assert m.map("/Users/a/other") == "/home/a/other"


def test_a_rule_inside_a_history_only_tree_still_maps() -> None:
    m = PathMapper([r"C:\old\keep\live=/live"], history_only=[r"C:\old"])
    assert m.resolve(r"c:\old\keep\live\x").new_path == "/live/x"
    assert m.resolve(r"C:\old\keep").status is Status.HISTORY_ONLY


def test_resolve_statuses() -> None:
    m = PathMapper(["/a=/b"])
    assert m.resolve("/a").status is Status.MAPPED
    assert m.resolve("/c").status is Status.UNMAPPED
    assert m.resolve("c").status is Status.INVALID
    assert m.resolve("").status is Status.INVALID
    assert m.resolve(parse("/a/x")).new_path == "/b/x"
    assert m.map("/c") is None and m.map("nope") is None
    assert PathMapper(["/a=/a"]).resolve("/a").changed is False


# -- plan -------------------------------------------------------------------------------------


def test_plan_reports_every_project() -> None:
    m = PathMapper(
        [
            "/Users/alex/Projects=/home/alex/code",
            "/Users/alex/Projects/web=/srv/web",
            "/Volumes/gone=/nowhere",
        ],
        history_only=["/Users/alex/Projects/archive"],
    )
    existing = {"/home/alex/code/api", "/Users/alex/Projects/archive"}
    cwds = [
        "/Users/alex/Projects/api",
        "/Users/alex/Projects/web",
        "/Users/alex/Projects/archive",
        "/tmp/scratch",
        "relative",
        "/Users/alex/Projects/api",  # duplicates are reported once
    ]
    plan = m.plan(cwds, exists=existing.__contains__)
    rows = {p.recorded: p for p in plan.projects}
    assert list(rows) == cwds[:5]
    api = rows["/Users/alex/Projects/api"]
    assert (api.status, api.new_path, api.exists) == (Status.MAPPED, "/home/alex/code/api", True)
    assert str(api.rule) == "/Users/alex/Projects=/home/alex/code"
    web = rows["/Users/alex/Projects/web"]
    assert (web.new_path, web.exists, str(web.rule)) == (
        "/srv/web",
        False,
        "/Users/alex/Projects/web=/srv/web",
    )
    arch = rows["/Users/alex/Projects/archive"]
    assert (arch.status, arch.new_path, arch.exists) == (
        Status.HISTORY_ONLY,
        "/Users/alex/Projects/archive",
        True,
    )
    assert str(arch.history_entry) == "/Users/alex/Projects/archive" and arch.rule is None
    assert rows["/tmp/scratch"].status is Status.UNMAPPED and rows["/tmp/scratch"].exists is None
    assert rows["relative"].status is Status.INVALID
    assert plan.unmapped == ["/tmp/scratch"]
    assert plan.invalid == ["relative"]
    assert plan.missing == ["/srv/web"]
    assert [str(r) for r in plan.unused_rules] == ["/Volumes/gone=/nowhere"]

    d = plan.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["projects"][0] == {
        "recorded": "/Users/alex/Projects/api",
        "status": "mapped",
        "new_path": "/home/alex/code/api",
        "rule": "/Users/alex/Projects=/home/alex/code",
        "history_entry": None,
        "exists": True,
    }
    assert d["unmapped"] == ["/tmp/scratch"] and d["wsl"] is False


def test_plan_without_exists_checks_nothing() -> None:
    plan = PathMapper(["/a=/b"]).plan(["/a/x"])
    assert plan.projects[0].exists is None and plan.missing == []


def test_plan_across_families_with_wsl() -> None:
    m = PathMapper([r"D:\Projects=/home/alex/Projects"], wsl=True)
    plan = m.plan(["/mnt/d/Projects/app", r"\\?\D:\Projects\tool", r"C:\other"])
    assert [p.new_path for p in plan.projects] == [
        "/home/alex/Projects/app",
        "/home/alex/Projects/tool",
        None,
    ]
    assert plan.unmapped == [r"C:\other"] and plan.to_dict()["wsl"] is True


def test_mapper_to_dict() -> None:
    m = PathMapper([r"/a=C:\b"], history_only=["/h"], wsl=True)
    d = m.to_dict()
    assert d["history_only"] == ["/h"] and d["wsl"] is True
    assert d["rules"][0]["new"] == r"C:\b"
    assert parse(d["rules"][0]["new"]).family is Family.DRIVE


# -- fast-path needles ------------------------------------------------------------------------


def test_needles_pick_a_safe_distinctive_run() -> None:
    exact, lower = PathMapper(["/Users/alex/my proj=/x"]).needles
    assert exact == (b"proj",) and lower == ()  # not 'my proj': a space is %20 in URLs
    exact, lower = PathMapper([r"C:\Users\alex\Projects=/x"]).needles
    assert exact == () and lower == (b"projects",)
    exact, lower = PathMapper(["/mnt/d/Projects=/x"], wsl=True).needles
    assert lower == (b"projects",)
    # a root rule has no name: fall back to the drive, or to matching everything
    exact, lower = PathMapper([r"C:\=/c"], wsl=True).needles
    assert exact == () and set(lower) == {b"/mnt/c", b"c:"}
    assert PathMapper(["/=/r"]).needles == ((b"",), ())
    # needles containing another needle are redundant
    assert PathMapper(["/a/proj=/x", "/b/proj-two=/y"]).needles == ((b"proj",), ())
