r"""Path families read from the string alone, and how rules match them.

The main table runs each case through a :class:`PathMapper`, because "does OLD cover this path,
and what does it become" is the question every family rule has to answer the same way.
"""

from __future__ import annotations

import re

import pytest

from codex_migrate.pathmap import PathMapper
from codex_migrate.paths import (
    Family,
    ProjectPath,
    from_file_url,
    from_wsl_mount,
    parse,
    to_file_url,
    to_wsl_mount,
    try_parse,
)

# (rules, recorded path, expected new path or None when no rule covers it, wsl opt-in)
MAP_CASES: list[tuple[list[str], str, str | None, bool]] = [
    # --- POSIX: exact, under, not-a-component-prefix, case-sensitive -------------------------
    (["/a/proj=/b/proj"], "/a/proj", "/b/proj", False),
    (["/a/proj=/b/proj"], "/a/proj/src/x.py", "/b/proj/src/x.py", False),
    (["/a/proj=/b/proj"], "/a/project2", None, False),
    (["/a/proj=/b/proj"], "/a/proj2/x", None, False),
    (["/a/proj=/b/proj"], "/a", None, False),
    (["/a/proj=/b/proj"], "/A/proj", None, False),
    (["/a/proj=/b/proj"], "/a/proj/", "/b/proj", False),
    (["/a/proj/=/b/proj/"], "/a/proj//sub/", "/b/proj/sub", False),
    (["/a/proj=/b/proj"], "/a/./proj/x", "/b/proj/x", False),
    (["/a/proj=/b/proj"], "a/proj", None, False),
    # --- longest OLD wins, whatever the order ------------------------------------------------
    (
        ["/Users/alex=/home/alex", "/Users/alex/work/app=/srv/app"],
        "/Users/alex/work/app/x",
        "/srv/app/x",
        False,
    ),
    (
        ["/Users/alex/work/app=/srv/app", "/Users/alex=/home/alex"],
        "/Users/alex/work/apple",
        "/home/alex/work/apple",
        False,
    ),
    (["/=/root-moved"], "/etc/x", "/root-moved/etc/x", False),
    (["/=/r", "/etc=/e"], "/etc/x", "/e/x", False),
    # --- spaces and non-ASCII names ----------------------------------------------------------
    (
        ["/Users/alex/My Projects=/home/alex/my projects"],
        "/Users/alex/My Projects/app dir",
        "/home/alex/my projects/app dir",
        False,
    ),
    (
        ["/Users/zoë/Проекты=/home/zoe/проекты"],
        "/Users/zoë/Проекты/日本",
        "/home/zoe/проекты/日本",
        False,
    ),
    # --- Windows drive: case, separators, trailing separators, extended form -----------------
    ([r"C:\Users\alex\p=/home/alex/p"], r"C:\Users\alex\p\src", "/home/alex/p/src", False),
    ([r"C:\Users\alex\p=/home/alex/p"], r"c:\users\ALEX\P\src", "/home/alex/p/src", False),
    ([r"C:\Users\alex\p=/home/alex/p"], "c:/Users/alex/p/src/", "/home/alex/p/src", False),
    ([r"C:\Users\alex\p=/home/alex/p"], r"C:\Users/alex\p/src", "/home/alex/p/src", False),
    ([r"C:\Users\alex\p=/home/alex/p"], r"\\?\C:\Users\alex\p\src", "/home/alex/p/src", False),
    ([r"\\?\C:\Users\alex\p=/home/alex/p"], r"C:\Users\alex\p", "/home/alex/p", False),
    ([r"C:\Users\alex\p=/home/alex/p"], r"C:\Users\alex\project2", None, False),
    ([r"C:\Users\alex\p=/home/alex/p"], r"D:\Users\alex\p", None, False),
    ([r"C:\x=D:\y"], r"c:/x/a b/ç", r"D:\y\a b\ç", False),
    ([r"C:\=E:\old-c"], r"C:\Windows\x", r"E:\old-c\Windows\x", False),
    # --- macOS to Windows and Windows to POSIX -----------------------------------------------
    (
        [r"/Users/alex/p=C:\Users\alex\p"],
        "/Users/alex/p/src/main.py",
        r"C:\Users\alex\p\src\main.py",
        False,
    ),
    ([r"/Users/alex/p=\\?\C:\Users\alex\p"], "/Users/alex/p/a", r"\\?\C:\Users\alex\p\a", False),
    (
        [r"C:\Users\alex=/Users/alex"],
        r"C:\Users\alex\Documents\code",
        "/Users/alex/Documents/code",
        False,
    ),
    # --- UNC: case-insensitive server/share/parts, extended UNC spelling ---------------------
    ([r"\\server\share\p=/mnt/nas/p"], r"\\SERVER\Share\P\x", "/mnt/nas/p/x", False),
    ([r"\\server\share\p=/mnt/nas/p"], r"\\?\UNC\server\share\p\x", "/mnt/nas/p/x", False),
    ([r"\\server\share\p=/mnt/nas/p"], "//server/share/p/x", None, False),
    ([r"\\server\share\p=/mnt/nas/p"], r"\\server\other\p", None, False),
    # --- WSL from Windows: wsl$ == wsl.localhost, distro case-insensitive, rest is Linux -----
    (
        [r"\\wsl$\Ubuntu\home\alex=/home/alex"],
        r"\\wsl.localhost\Ubuntu\home\alex\p",
        "/home/alex/p",
        False,
    ),
    (
        [r"\\wsl.localhost\Ubuntu\home\alex=/home/alex"],
        r"\\wsl$\ubuntu\home\alex",
        "/home/alex",
        False,
    ),
    ([r"\\wsl$\Ubuntu\home\alex=/home/alex"], r"\\wsl$\Ubuntu\home\Alex", None, False),
    ([r"\\wsl$\Ubuntu\home\alex=/home/alex"], r"\\wsl$\Debian\home\alex", None, False),
    ([r"\\wsl$\Ubuntu\home\alex=/home/alex"], "/home/alex", None, False),
    # --- WSL mounts: /mnt/D == /mnt/d always; drive <-> mount only with wsl=True -------------
    (["/mnt/d/Projects=/home/alex/Projects"], "/mnt/D/Projects/x", "/home/alex/Projects/x", False),
    (["/mnt/D/Projects=/home/alex/Projects"], "/mnt/d/Projects", "/home/alex/Projects", False),
    (["/mnt/d/Projects=/home/alex/Projects"], "/mnt/d/projects", None, False),
    ([r"D:\Projects=/home/alex/Projects"], "/mnt/d/Projects/x", None, False),
    ([r"D:\Projects=/home/alex/Projects"], "/mnt/d/Projects/x", "/home/alex/Projects/x", True),
    ([r"D:\Projects=/home/alex/Projects"], "/mnt/d/projects/x", "/home/alex/Projects/x", True),
    (["/mnt/d/Projects=/home/alex/Projects"], r"D:\Projects\x", None, False),
    (["/mnt/d/Projects=/home/alex/Projects"], r"D:\Projects\x", "/home/alex/Projects/x", True),
    (["/mnt/d/Projects=/home/alex/Projects"], r"\\?\d:\PROJECTS\x", "/home/alex/Projects/x", True),
    (["/mnt/d/Projects=/home/alex/Projects"], r"E:\Projects\x", None, True),
    ([r"D:\=/data"], "/mnt/d/a/b", "/data/a/b", True),
    ([r"D:\Projects=/p", "/mnt=/m"], "/mnt/d/Projects/x", "/p/x", True),
    ([r"D:\=/d", "/mnt/d/Projects/app=/app"], r"D:\Projects\app\x", "/app/x", True),
    (["/mnt=/m"], "/mnt/d/x", "/m/d/x", True),
    (["/mnt/c/Users/alex=C:\\Users\\alex"], "/mnt/c/Users/alex/p", r"C:\Users\alex\p", False),
    ([r"C:\Users\alex=/mnt/c/Users/alex"], r"C:\Users\alex\p", "/mnt/c/Users/alex/p", False),
]


@pytest.mark.parametrize(("rules", "path", "expected", "wsl"), MAP_CASES)
def test_mapping_table(rules: list[str], path: str, expected: str | None, wsl: bool) -> None:
    assert PathMapper(rules, wsl=wsl).map(path) == expected


def test_mapping_table_is_big_enough() -> None:
    assert len(MAP_CASES) >= 40


# (text, family, printed form)
PARSE_CASES: list[tuple[str, Family, str]] = [
    ("/Users/alex/p", Family.POSIX, "/Users/alex/p"),
    ("/", Family.POSIX, "/"),
    ("//tmp//x/", Family.POSIX, "/tmp/x"),
    ("/a/../b", Family.POSIX, "/a/../b"),
    ("/a\\b", Family.POSIX, "/a\\b"),
    ("/mnt/D/Projects", Family.WSL_MOUNT, "/mnt/d/Projects"),
    ("/mnt/data/x", Family.POSIX, "/mnt/data/x"),
    ("/mnt", Family.POSIX, "/mnt"),
    ("c:/Users/alex/p", Family.DRIVE, r"C:\Users\alex\p"),
    (r"C:\Users/alex\p\\", Family.DRIVE, r"C:\Users\alex\p"),
    ("C:/", Family.DRIVE, "C:\\"),
    (r"\\?\C:\x", Family.EXTENDED, r"\\?\C:\x"),
    ("//?/c:/x", Family.EXTENDED, r"\\?\C:\x"),
    (r"\\.\C:\x", Family.EXTENDED, r"\\?\C:\x"),
    (r"\\?\UNC\srv\Share\x", Family.EXTENDED_UNC, r"\\?\UNC\srv\Share\x"),
    (r"\\srv\share\p", Family.UNC, r"\\srv\share\p"),
    (r"\\srv/share/p/", Family.UNC, r"\\srv\share\p"),
    (r"\\wsl$\Ubuntu\home\alex", Family.WSL_UNC, r"\\wsl$\Ubuntu\home\alex"),
    ("//wsl.localhost/Ubuntu/home", Family.WSL_UNC, r"\\wsl.localhost\Ubuntu\home"),
    ("/tmp/p169/my proj", Family.POSIX, "/tmp/p169/my proj"),
]


@pytest.mark.parametrize(("text", "family", "printed"), PARSE_CASES)
def test_parse_family_and_print(text: str, family: Family, printed: str) -> None:
    p = parse(text)
    assert p.family is family
    assert str(p) == printed
    assert parse(printed) == p  # printing is a fixed point of parsing


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("relative/x", "not an absolute path"),
        ("~/x", "not an absolute path"),
        ("C:", "relative to the current directory of drive C:"),
        ("C:x", "relative to the current directory"),
        (r"\Users\x", "no drive letter"),
        (r"\\srv", "needs a server and a share"),
        ("\\\\?\\Volume{1}\\x", "unsupported Windows device path"),
        ("/a\x00b", "NUL"),
    ],
)
def test_parse_rejects_what_names_no_place(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(text)
    assert try_parse(text) is None


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (r"C:\x", "c:/x", True),
        (r"C:\x", r"\\?\C:\x", True),
        ("C:\\X\\", "c:/x", True),
        (r"\\srv\s\p", r"\\?\UNC\SRV\S\P", True),
        ("/mnt/D/x", "/mnt/d/x", True),
        ("/a/x", "/a/X", False),
        (r"\\wsl$\U\home", r"\\wsl.localhost\u\home", True),
        (r"\\wsl$\U\home", r"\\wsl$\U\Home", False),
        (r"D:\x", "/mnt/d/x", False),  # only a mapper with wsl=True joins these
        (r"C:\x", "/x", False),
    ],
)
def test_equality_follows_the_key(a: str, b: str, same: bool) -> None:
    assert (parse(a) == parse(b)) is same
    if same:
        assert hash(parse(a)) == hash(parse(b))


def test_component_wise_relations() -> None:
    proj, proj2 = parse("/a/proj"), parse("/a/project2")
    assert not proj2.is_relative_to(proj)
    assert parse("/a/proj/x/y").relative_parts(proj) == ("x", "y")
    assert proj.relative_parts(proj) == ()
    with pytest.raises(ValueError, match="not under"):
        proj2.relative_parts(proj)
    # relative parts keep the spelling of the longer path, not of the prefix
    assert parse(r"c:\USERS\Alex\Src").relative_parts(parse(r"C:\users")) == ("Alex", "Src")


def test_joined_resplits_with_the_family_separators() -> None:
    assert str(parse("C:\\x").joined(["a/b", "c\\d"])) == r"C:\x\a\b\c\d"
    assert str(parse("/x").joined(["a/b", "c\\d"])) == "/x/a/b/c\\d"
    assert parse("/").joined(["mnt", "E", "z"]).family is Family.WSL_MOUNT
    assert str(parse("/").joined(["mnt", "E", "z"])) == "/mnt/e/z"


def test_wsl_mount_round_trip() -> None:
    d = parse(r"\\?\d:\Work\app")
    m = to_wsl_mount(d)
    assert str(m) == "/mnt/d/Work/app" and m.family is Family.WSL_MOUNT and m.wsl_drive == "D"
    assert str(from_wsl_mount(parse("/mnt/D/Work/app"))) == r"D:\Work\app"
    with pytest.raises(ValueError):
        to_wsl_mount(parse("/home/x"))
    with pytest.raises(ValueError):
        from_wsl_mount(parse(r"D:\x"))


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file:///tmp/p169/my%20proj", "/tmp/p169/my proj"),
        ("file:///C:/Users/alex/my%20p", r"C:\Users\alex\my p"),
        ("file://localhost/tmp/x", "/tmp/x"),
        ("file://server/share/p", r"\\server\share\p"),
        ("file:///home/z%C3%B6e/%E6%97%A5", "/home/zöe/日"),
    ],
)
def test_file_urls(url: str, path: str) -> None:
    assert from_file_url(url) == parse(path)
    if "localhost" not in url:
        assert to_file_url(parse(path)) == url


def test_file_url_rejects() -> None:
    for bad in ("http://x/y", "file:///a?b=1", "file:///%FF", "file:rel"):
        with pytest.raises(ValueError):
            from_file_url(bad)


def test_value_type_is_immutable() -> None:
    p = parse("/a")
    with pytest.raises(AttributeError):
        p.parts = ("b",)  # type: ignore[misc]
    assert isinstance(p, ProjectPath) and repr(p) == "ProjectPath(posix, '/a')"
