r"""Absolute paths of any OS, understood from the string alone.

History moves between macOS, Linux, Windows and WSL, so a path recorded on one machine has to be
read with the rules of the machine that wrote it, not the one running this tool. Nothing here looks
at ``os.path`` or the filesystem.

Families, and how ``str()`` prints them (canonical form, not the original spelling):

================  ============================================  ===================================
family            accepted spellings                            printed as
================  ============================================  ===================================
``posix``         ``/Users/alex/p``; ``//x`` (same as ``/x``)   ``/Users/alex/p``
``wsl_mount``     ``/mnt/d/p``, ``/mnt/D/p``                    ``/mnt/d/p`` (letter lower-case)
``drive``         ``C:\x``, ``c:/x``, ``C:\x/y\``               ``C:\x\y`` (letter upper-case)
``extended``      ``\\?\C:\x``, ``\\.\C:\x``, ``//?/C:/x``      ``\\?\C:\x``
``extended_unc``  ``\\?\UNC\srv\share\x``                       ``\\?\UNC\srv\share\x``
``unc``           ``\\srv\share\x``, ``\\srv/share/x``          ``\\srv\share\x``
``wsl_unc``       ``\\wsl$\Ubuntu\home``,                       ``\\wsl$\Ubuntu\home`` (host kept)
                  ``\\wsl.localhost\Ubuntu\home``
================  ============================================  ===================================

Windows paths print with backslashes and an upper-case drive letter because that is what Windows
Codex records; a path read from ``c:/x`` therefore prints as ``C:\x``. A string starting with two
forward slashes is POSIX unless it continues with ``?``, ``.``, ``wsl$`` or ``wsl.localhost``.

Relative, drive-relative (``C:x``), rooted-without-drive (``\x``) and empty strings raise
``ValueError``: a path that names no place cannot be mapped, and failing loudly beats guessing.
Use :func:`try_parse` where "not a path" is an expected answer.

Lexical clean-up only: repeated and trailing separators and ``.`` components are dropped; ``..`` is
kept as a name, since resolving it needs the filesystem (symlinks).

Equality, hashing and prefix tests use :attr:`ProjectPath.key`, which follows each family's rules:

* POSIX components are case-sensitive; ``/mnt/D`` and ``/mnt/d`` are the same WSL mount.
* Drive, extended and UNC paths compare case-insensitively, and ``C:\x``, ``c:/x`` and
  ``\\?\C:\x`` are one place (likewise ``\\srv\s`` and ``\\?\UNC\srv\s``).
* ``\\wsl$\D\…`` and ``\\wsl.localhost\D\…`` are one place; what follows the distro is a Linux
  path and stays case-sensitive.
* A WSL mount and its drive (``/mnt/d/x`` and ``D:\x``) have *different* keys: treating them as
  one place is the caller's explicit choice (:func:`to_wsl_mount`, :func:`from_wsl_mount`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Family",
    "ProjectPath",
    "from_file_url",
    "from_wsl_mount",
    "parse",
    "to_file_url",
    "to_wsl_mount",
    "try_parse",
]


class Family(StrEnum):
    """Which OS convention a path follows; the ``str`` mix-in keeps it JSON-able."""

    POSIX = "posix"
    WSL_MOUNT = "wsl_mount"
    DRIVE = "drive"
    EXTENDED = "extended"
    EXTENDED_UNC = "extended_unc"
    UNC = "unc"
    WSL_UNC = "wsl_unc"


_WINDOWS_FAMILIES = frozenset(
    {Family.DRIVE, Family.EXTENDED, Family.EXTENDED_UNC, Family.UNC, Family.WSL_UNC}
)
_DRIVE_FAMILIES = frozenset({Family.DRIVE, Family.EXTENDED})
_WSL_HOSTS = frozenset({"wsl$", "wsl.localhost"})
_WIN_SEP = re.compile(r"[\\/]+")
_DRIVE_RE = re.compile(r"([A-Za-z]):[\\/]")
_DRIVE_ONLY_RE = re.compile(r"[A-Za-z]:")


def _clean(parts: Iterable[str]) -> tuple[str, ...]:
    return tuple(p for p in parts if p and p != ".")


def _is_mount(parts: tuple[str, ...]) -> bool:
    return (
        len(parts) >= 2
        and parts[0] == "mnt"
        and len(parts[1]) == 1
        and parts[1].isascii()
        and parts[1].isalpha()
    )


@dataclass(frozen=True, eq=False)
class ProjectPath:
    """An absolute path split into a family, an anchor and components.

    Equality and hashing follow :attr:`key` (same place), not spelling: compare ``str()`` values
    to compare spellings. Build instances with :func:`parse`; the constructor does not validate.

    ``drive`` is the upper-case letter for ``drive``/``extended``; ``host``/``share`` are the
    server and share (for ``wsl_unc``: ``wsl$`` or ``wsl.localhost`` and the distro). ``parts``
    are the components below the anchor, except for ``posix``/``wsl_mount`` where they start at
    ``/`` (so ``/mnt/d/x`` has parts ``("mnt", "d", "x")``) and POSIX prefixes like ``/mnt`` still
    compare component by component.
    """

    family: Family
    parts: tuple[str, ...]
    drive: str = ""
    host: str = ""
    share: str = ""

    # -- identity ---------------------------------------------------------------------------

    @property
    def key(self) -> tuple[str, ...]:
        """Comparison key: a namespace tag, the anchor, then one element per component."""
        f = self.family
        if f is Family.POSIX or f is Family.WSL_MOUNT:
            return ("posix", *self.parts)
        if f in _DRIVE_FAMILIES:
            return ("win", self.drive.lower() + ":", *(p.lower() for p in self.parts))
        if f is Family.WSL_UNC or self.host.lower() in _WSL_HOSTS:
            return ("wsl", self.share.lower(), *self.parts)
        return ("unc", self.host.lower(), self.share.lower(), *(p.lower() for p in self.parts))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProjectPath):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    # -- classification ---------------------------------------------------------------------

    @property
    def is_windows(self) -> bool:
        """True for the families whose components compare case-insensitively (except wsl_unc)."""
        return self.family in _WINDOWS_FAMILIES

    @property
    def is_posix(self) -> bool:
        return not self.is_windows

    @property
    def anchor(self) -> str:
        """The root part as printed: ``/``, ``C:\\``, ``\\\\srv\\share``, ``\\\\?\\C:\\``…"""
        f = self.family
        if f is Family.POSIX or f is Family.WSL_MOUNT:
            return "/"
        if f is Family.DRIVE:
            return f"{self.drive}:\\"
        if f is Family.EXTENDED:
            return f"\\\\?\\{self.drive}:\\"
        if f is Family.EXTENDED_UNC:
            return f"\\\\?\\UNC\\{self.host}\\{self.share}"
        return f"\\\\{self.host}\\{self.share}"

    @property
    def wsl_drive(self) -> str:
        """Upper-case drive letter of a ``wsl_mount`` path, ``""`` otherwise."""
        return self.parts[1].upper() if self.family is Family.WSL_MOUNT else ""

    @property
    def name(self) -> str:
        return self.parts[-1] if self.parts else ""

    # -- printing ---------------------------------------------------------------------------

    def __str__(self) -> str:
        if self.is_posix:
            return "/" + "/".join(self.parts)
        anchor = self.anchor
        if not self.parts:
            return anchor
        if anchor.endswith("\\"):
            return anchor + "\\".join(self.parts)
        return anchor + "\\" + "\\".join(self.parts)

    def __repr__(self) -> str:
        return f"ProjectPath({self.family.value}, {str(self)!r})"

    # -- relations --------------------------------------------------------------------------

    def is_relative_to(self, other: ProjectPath) -> bool:
        """Whether ``self`` is ``other`` or below it, comparing whole components."""
        ok = other.key
        return self.key[: len(ok)] == ok

    def relative_parts(self, other: ProjectPath) -> tuple[str, ...]:
        """Components of ``self`` below ``other``, spelled as in ``self``."""
        if not self.is_relative_to(other):
            raise ValueError(f"{self} is not under {other}")
        extra = len(self.key) - len(other.key)
        return self.parts[len(self.parts) - extra :] if extra else ()

    def joined(self, parts: Iterable[str]) -> ProjectPath:
        """This path extended by ``parts``, re-split with this family's separators."""
        if self.is_posix:
            new: list[str] = []
            for p in parts:
                new.extend(p.split("/"))
        else:
            new = []
            for p in parts:
                new.extend(_WIN_SEP.split(p))
        all_parts = self.parts + _clean(new)
        if self.is_posix:
            return _posix(all_parts)
        return ProjectPath(self.family, all_parts, self.drive, self.host, self.share)


def _posix(parts: tuple[str, ...]) -> ProjectPath:
    if _is_mount(parts):
        return ProjectPath(Family.WSL_MOUNT, ("mnt", parts[1].lower(), *parts[2:]))
    return ProjectPath(Family.POSIX, parts)


def _parse_double_separator(text: str) -> ProjectPath:
    comps = [c for c in _WIN_SEP.split(text[2:])]
    while comps and comps[-1] == "":
        comps.pop()
    first = comps[0] if comps else ""
    if text.startswith("//") and first not in ("?", ".") and first.lower() not in _WSL_HOSTS:
        # On Linux and macOS a leading '//' names the same directory as '/'.
        return _posix(_clean(text.split("/")))
    if first in ("?", "."):
        if len(comps) >= 2 and _DRIVE_ONLY_RE.fullmatch(comps[1]):
            return ProjectPath(Family.EXTENDED, _clean(comps[2:]), drive=comps[1][0].upper())
        if len(comps) >= 4 and comps[1].upper() == "UNC" and comps[2] and comps[3]:
            return ProjectPath(
                Family.EXTENDED_UNC, _clean(comps[4:]), host=comps[2], share=comps[3]
            )
        raise ValueError(
            f"unsupported Windows device path {text!r}: expected \\\\?\\C:\\… or \\\\?\\UNC\\…"
        )
    if len(comps) < 2 or not comps[0] or not comps[1]:
        raise ValueError(f"UNC path {text!r} needs a server and a share: \\\\server\\share\\…")
    family = Family.WSL_UNC if first.lower() in _WSL_HOSTS else Family.UNC
    return ProjectPath(family, _clean(comps[2:]), host=comps[0], share=comps[1])


def parse(text: str) -> ProjectPath:
    """Read an absolute path of any family; raise ``ValueError`` for anything else."""
    if not isinstance(text, str):
        raise TypeError(f"path must be str, not {type(text).__name__}")
    if not text:
        raise ValueError("empty path")
    if "\x00" in text:
        raise ValueError(f"path {text!r} contains a NUL character")
    if len(text) >= 2 and text[0] in "\\/" and text[1] in "\\/":
        return _parse_double_separator(text)
    if text[0] == "/":
        return _posix(_clean(text.split("/")))
    m = _DRIVE_RE.match(text)
    if m:
        return ProjectPath(Family.DRIVE, _clean(_WIN_SEP.split(text[3:])), drive=m[1].upper())
    if _DRIVE_ONLY_RE.match(text):
        raise ValueError(
            f"{text!r} is relative to the current directory of drive {text[0].upper()}:; "
            f"write it as {text[0].upper()}:\\…"
        )
    if text[0] == "\\":
        raise ValueError(f"{text!r} has no drive letter; write it as C:\\… or \\\\server\\share\\…")
    raise ValueError(f"{text!r} is not an absolute path (relative paths cannot be mapped)")


def try_parse(text: str) -> ProjectPath | None:
    """Like :func:`parse` but ``None`` instead of ``ValueError``, for scanning unknown data."""
    try:
        return parse(text)
    except (ValueError, TypeError):
        return None


def to_wsl_mount(path: ProjectPath) -> ProjectPath:
    """``D:\\x`` (or ``\\\\?\\D:\\x``) as WSL sees it: ``/mnt/d/x``."""
    if path.family not in _DRIVE_FAMILIES:
        raise ValueError(f"{path} is not on a drive letter, so it has no WSL mount")
    return ProjectPath(Family.WSL_MOUNT, ("mnt", path.drive.lower(), *path.parts))


def from_wsl_mount(path: ProjectPath) -> ProjectPath:
    """``/mnt/d/x`` as Windows sees it: ``D:\\x``."""
    if path.family is not Family.WSL_MOUNT:
        raise ValueError(f"{path} is not a WSL drive mount (/mnt/<letter>/…)")
    return ProjectPath(Family.DRIVE, path.parts[2:], drive=path.parts[1].upper())


# -- file:// URLs ----------------------------------------------------------------------------

# What the Rust `url` crate escapes in a path segment (Codex writes these URLs with it):
# controls, space, " # % < > ? ` { } and backslash, plus every non-ASCII byte.
_URL_KEEP = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@[]^|"
)
_PCT_RE = re.compile(r"%[0-9A-Fa-f]{2}")


def _quote_segment(seg: str) -> str:
    return "".join(chr(b) if b in _URL_KEEP else f"%{b:02X}" for b in seg.encode("utf-8"))


def _unquote(text: str) -> str:
    if "%" not in text:
        return text
    raw = bytearray()
    pos = 0
    for m in _PCT_RE.finditer(text):
        raw += text[pos : m.start()].encode("utf-8")
        raw.append(int(m.group()[1:], 16))
        pos = m.end()
    raw += text[pos:].encode("utf-8")
    return raw.decode("utf-8")  # strict: a non-UTF-8 name is not ours to re-encode


def from_file_url(url: str) -> ProjectPath:
    """The path a ``file:`` URL names (``file:///C:/x`` is ``C:\\x``, ``file://srv/s`` is UNC)."""
    if url[:5].lower() != "file:":
        raise ValueError(f"{url!r} is not a file: URL")
    if "?" in url or "#" in url:
        raise ValueError(f"{url!r} has a query or fragment")
    rest = url[5:]
    host = ""
    if rest.startswith("//"):
        slash = rest.find("/", 2)
        host, path = (rest[2:], "") if slash < 0 else (rest[2:slash], rest[slash:])
    else:
        path = rest
    try:
        path = _unquote(path)
        host = _unquote(host)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{url!r} does not decode to UTF-8") from exc
    if host and host.lower() != "localhost":
        return parse("\\\\" + host + path.replace("/", "\\"))
    if re.match(r"/[A-Za-z][:|](/|$)", path):
        return parse(path[1] + ":\\" + path[3:])
    if not path.startswith("/"):
        raise ValueError(f"{url!r} has no absolute path")
    return parse(path)


def to_file_url(path: ProjectPath, *, localhost: bool = False) -> str:
    """``file:`` URL for ``path`` in the Rust ``url`` crate's style (``%20`` for a space)."""
    segs = [_quote_segment(p) for p in path.parts]
    auth = "localhost" if localhost else ""
    if path.is_posix:
        return f"file://{auth}/" + "/".join(segs)
    if path.family in _DRIVE_FAMILIES:
        return f"file://{auth}/{path.drive}:/" + "/".join(segs)
    head = f"file://{path.host}/{_quote_segment(path.share)}"
    return head + ("/" + "/".join(segs) if segs else "")
