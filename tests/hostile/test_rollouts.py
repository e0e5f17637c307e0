"""Hostile rollouts in a source home: each is named and skipped, every other thread still works,
and no file changes. One table of damaged files times every command that reads rollouts."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from tests.homes import START, WRITERS, rollout_name, tid
from tests.hostile.conftest import BOUND, OLD, World, invoke

BAD = tid(9)


def _good_text() -> str:
    return WRITERS["paginated"](BAD, f"{OLD}/app", START, [("Bad one", "Answer")])


def _folder(world: World) -> Path:
    folder = world.src / "sessions" / "2026" / "03" / "04"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fifo(world: World) -> Path:
    path = _folder(world) / rollout_name(BAD)
    os.mkfifo(path)
    return path


def deep_json(world: World) -> Path:
    path = _folder(world) / rollout_name(BAD)
    lines = _good_text().splitlines(keepends=True)
    deep = (
        '{"type":"event_msg","payload":{"type":"user_message","message":'
        + "[" * 10_000
        + "]" * 10_000
        + "}}\n"
    )
    path.write_text(lines[0] + deep + "".join(lines[1:]))
    return path


def _zst(world: World, data: bytes) -> Path:
    path = _folder(world) / (rollout_name(BAD) + ".zst")
    path.write_bytes(data)
    return path


def _compressed() -> bytes:
    return zstandard.ZstdCompressor().compress(_good_text().encode() * 50)


def zst_corrupt(world: World) -> Path:
    data = bytearray(_compressed())
    data[20:60] = b"\xff" * 40
    return _zst(world, bytes(data))


def zst_truncated(world: World) -> Path:
    data = _compressed()
    return _zst(world, data[: len(data) // 2])


def zst_garbage(world: World) -> Path:
    return _zst(world, b"this is not zstd at all\n")


def zst_trailing(world: World) -> Path:
    return _zst(world, _compressed() + b"GARBAGE")


def zst_bomb(world: World) -> Path:
    """8 MB of one endless line in a few hundred bytes (the guard's floor is lowered to 1 MB
    here; the real one is 256 MB)."""
    return _zst(world, zstandard.ZstdCompressor(level=1).compress(b"x" * (8 << 20)))


def link_out(world: World) -> Path:
    secret = world.tmp / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text(_good_text())
    path = _folder(world) / rollout_name(BAD)
    path.symlink_to(secret)
    return path


def dangling_link(world: World) -> Path:
    path = _folder(world) / rollout_name(BAD)
    path.symlink_to(world.tmp / "nowhere")
    return path


def link_loop(world: World) -> Path:
    path = _folder(world) / rollout_name(BAD)
    other = _folder(world) / "loop"
    path.symlink_to(other)
    other.symlink_to(path)
    return path


def folder_named_like_rollout(world: World) -> Path:
    path = _folder(world) / rollout_name(BAD)
    path.mkdir()
    return path


def socket_named_like_rollout(world: World) -> Path:
    import socket

    path = _folder(world) / rollout_name(BAD)
    s = socket.socket(socket.AF_UNIX)
    here = os.getcwd()
    try:
        os.chdir(path.parent)  # a socket path is limited to ~100 bytes: bind a relative one
        s.bind(path.name)
    except OSError:
        pytest.skip("cannot bind a UNIX socket here")
    finally:
        os.chdir(here)
        s.close()
    return path


KINDS: dict[str, Callable[[World], Path]] = {
    "fifo": fifo,
    "deep-json": deep_json,
    "zst-corrupt": zst_corrupt,
    "zst-truncated": zst_truncated,
    "zst-garbage": zst_garbage,
    "zst-trailing": zst_trailing,
    "zst-bomb": zst_bomb,
    "link-out": link_out,
    "dangling-link": dangling_link,
    "link-loop": link_loop,
    "folder": folder_named_like_rollout,
    "socket": socket_named_like_rollout,
}


def _scan(world: World, bad: Path) -> None:
    out = invoke("scan", world.src, "--json")
    assert out.code == 0, out.text
    report = out.json()
    ids = {t["id"] for t in report["threads"]}
    assert {tid(1), tid(2), tid(3)} <= ids
    named = [u for u in report["unreadable"] if Path(u["path"]).name == bad.name]
    flagged = [t for t in report["threads"] if t["id"] == BAD and t["problems"]]
    assert named or flagged, report


def _scan_text(world: World, bad: Path) -> None:
    out = invoke("scan", world.src, "--threads")
    assert out.code == 0, out.text
    assert bad.name in out.text or BAD in out.text


def _doctor(world: World, bad: Path) -> None:
    out = invoke("doctor", "--codex-home", world.src, "--json")
    assert out.code in (0, 1), out.text
    assert bad.name in out.stdout or BAD in out.stdout


def _verify(world: World, bad: Path) -> None:
    out = invoke("verify", "--codex-home", world.src)
    assert out.code in (0, 1), out.text
    assert "Traceback" not in out.text


def _export_html(world: World, bad: Path) -> None:
    out = invoke("export-html", "--codex-home", world.src, "--all", "-o", world.out)
    written = sorted(p.name for p in world.out.glob("*.html"))
    assert sum(1 for n in written if n != "index.html") >= 3, (written, out.text)
    assert bad.name in out.text or BAD in out.text, out.text
    assert out.code in (0, 1)


def _export_md(world: World, bad: Path) -> None:
    out = invoke("export-md", "--codex-home", world.src, "--all", "-o", world.out)
    written = sorted(p.name for p in world.out.glob("*.md"))
    assert sum(1 for n in written if n != "index.md") >= 3, (written, out.text)
    assert bad.name in out.text or BAD in out.text, out.text
    assert out.code in (0, 1)


def _import(world: World, bad: Path) -> None:
    out = invoke(
        "import",
        world.src,
        "--codex-home",
        world.dst,
        "--map",
        f"{OLD}={world.tmp}",
        "--no-codex",
        "--yes",
        "--json",
    )
    assert out.code == 0, out.text
    imported = {p.name: p for p in (world.dst / "sessions").rglob("rollout-*")}
    assert rollout_name(tid(1)) in imported and rollout_name(tid(2)) in imported
    assert bad.name in out.text or BAD in out.text, out.text
    if any(BAD in n for n in imported):
        # Readable as a file but with a damaged line: imported only after the plan said so.
        damaged = [t for t in out.json()["plan"]["threads"] if t["id"] == BAD]
        assert damaged and damaged[0]["damage"]["lines"] == [2], damaged


def _import_on_all_cores(world: World, bad: Path) -> None:
    """:func:`_import` with the plan's rollout heads read by forked worker processes
    (catalog_workers) and the staging on all cores, as a big home is on an idle machine:
    the same verdicts and output, and a hang there fails too."""
    import codex_migrate.catalog_workers as catalog_workers
    import codex_migrate.staging as staging

    pooled = catalog_workers._pooled
    reads: list[int] = []

    def counted(home: Any, refs: list[Any], workers: int) -> Any:
        reads.append(len(refs))
        return pooled(home, refs, workers)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog_workers, "_pooled", counted)
        patch.setattr(catalog_workers, "PARALLEL_MIN_FILES", 0)
        patch.setattr(catalog_workers, "worker_count", lambda: 2)
        patch.setattr(catalog_workers, "_busy", lambda workers: False)
        patch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
        patch.setattr(staging, "worker_count", lambda: 2)
        _import(world, bad)
    assert reads, "the heads were read in this process"


#: Damaged content is the user's data: a backup keeps it byte for byte (only files that
#: are not files, or lead out of the home, are left out and named).
KEPT_BY_BACKUP = {
    "deep-json",
    "zst-corrupt",
    "zst-truncated",
    "zst-garbage",
    "zst-trailing",
    "zst-bomb",
}


@pytest.fixture(autouse=True)
def _small_bomb_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    import codex_migrate.zst

    monkeypatch.setattr(codex_migrate.zst, "RATIO_FLOOR", 1 << 20)


def _backup(world: World, bad: Path) -> None:
    out = invoke("backup", "--codex-home", world.src, "--output-parent", world.out, "--json")
    assert out.code in (0, 1), out.text
    copied = {p.name: p for p in world.out.rglob("rollout-*")}
    assert rollout_name(tid(1)) in copied
    if any(BAD in n for n in copied):
        assert copied[bad.name].read_bytes() == bad.read_bytes()
        assert bad.is_file() and not bad.is_symlink()
    elif not bad.is_dir():
        assert bad.name in out.text, out.text


COMMANDS: dict[str, Callable[[World, Path], None]] = {
    "scan": _scan,
    "scan-text": _scan_text,
    "doctor": _doctor,
    "verify": _verify,
    "export-html": _export_html,
    "export-md": _export_md,
    "import": _import,
    "import-on-all-cores": _import_on_all_cores,
    "backup": _backup,
}


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_hostile_rollout(world: World, kind: str, command: str) -> None:
    bad = KINDS[kind](world)
    before = world.snapshot()["src"]
    COMMANDS[command](world, bad)
    assert world.snapshot()["src"] == before


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("command", ["scan", "import"])
def test_readahead_never_opens_a_link_out_of_the_home(
    world: World, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a home from disk hints the next files to the kernel; a rollout that links out
    of the home is never followed (check_inside), so its hint must not open it either."""
    import functools

    import codex_migrate.catalog as catalog
    import codex_migrate.readahead as readahead

    secret = os.stat(link_out(world))
    # every window reads from disk: hints are given
    blocks = iter(range(0, 10**9, readahead.COLD_BLOCKS))
    monkeypatch.setattr(readahead, "_blocks_read", lambda: next(blocks))
    hinted: list[str] = []
    will_need = readahead.will_need
    monkeypatch.setattr(
        readahead, "will_need", lambda paths: will_need(hinted.append(str(p)) or p for p in paths)
    )
    monkeypatch.setattr(
        catalog, "reading_ahead", functools.partial(readahead.reading_ahead, window=1)
    )
    opened: list[tuple[int, int]] = []  # the files opened, whatever path led to them
    real_open = os.open

    def spy(path: str | Path, flags: int, *args: int, **kwargs: int) -> int:
        fd = real_open(path, flags, *args, **kwargs)
        st = os.fstat(fd)
        opened.append((st.st_dev, st.st_ino))
        return fd

    monkeypatch.setattr(os, "open", spy)
    if command == "scan":
        invoke("scan", world.src, "--json")
    else:
        invoke("import", world.src, "--codex-home", world.dst, "--yes", "--no-codex", "--json")
    assert len(opened) > 3 and hinted  # the spy sees the readers' opens; hints were given
    assert (secret.st_dev, secret.st_ino) not in opened
