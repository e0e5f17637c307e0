"""Hostile backups: altered folders, crafted archives and archive bombs. Each is refused before
anything is imported, with the file named; a bomb is refused at once and leaves no temp file."""

from __future__ import annotations

import io
import json
import os
import resource
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from tests.homes import tid
from tests.hostile.conftest import BOUND, OLD, World, digest_tree, invoke


def _backup_folder(world: World) -> Path:
    out = invoke("backup", "--codex-home", world.src, "--output-parent", world.tmp / "b")
    assert out.code == 0, out.text
    return world.tmp / "b" / "Codex_backup"


def _rollout(folder: Path, n: int = 1) -> Path:
    return next(folder.rglob(f"rollout-*{tid(n)}.jsonl"))


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _write_manifest(folder: Path, data: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(data))


def altered_rollout(folder: Path) -> str:
    p = _rollout(folder)
    data = bytearray(p.read_bytes())
    data[10] ^= 1
    p.write_bytes(bytes(data))
    return p.name


def truncated_rollout(folder: Path) -> str:
    p = _rollout(folder)
    p.write_bytes(p.read_bytes()[:-20])
    return p.name


def added_file(folder: Path) -> str:
    (folder / "sessions" / "extra.jsonl").write_text("{}\n")
    return "extra.jsonl"


def missing_rollout(folder: Path) -> str:
    p = _rollout(folder)
    p.unlink()
    return p.name


def manifest_dotdot(folder: Path) -> str:
    m = _manifest(folder)
    m["files"][0]["path"] = "../x"
    _write_manifest(folder, m)
    return "manifest.json"


def manifest_absolute(folder: Path) -> str:
    m = _manifest(folder)
    m["files"][0]["path"] = "/etc/passwd"
    _write_manifest(folder, m)
    return "manifest.json"


def manifest_deep(folder: Path) -> str:
    (folder / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    return "manifest.json"


def manifest_garbage(folder: Path) -> str:
    (folder / "manifest.json").write_bytes(b"\x00\xff not json")
    return "manifest.json"


def manifest_fifo(folder: Path) -> str:
    (folder / "manifest.json").unlink()
    os.mkfifo(folder / "manifest.json")
    return "manifest.json"


def manifest_wrong_types(folder: Path) -> str:
    m = _manifest(folder)
    m["files"][0]["size"] = "big"
    m["files"][1] = None
    _write_manifest(folder, m)
    return "manifest.json"


def rollout_link_out(folder: Path) -> str:
    p = _rollout(folder)
    secret = folder.parent / "secret"
    secret.write_bytes(p.read_bytes())
    p.unlink()
    p.symlink_to(secret)
    return p.name


def rollout_fifo(folder: Path) -> str:
    p = _rollout(folder)
    p.unlink()
    os.mkfifo(p)
    return p.name


FOLDER_DAMAGE: dict[str, Callable[[Path], str]] = {
    "altered-rollout": altered_rollout,
    "truncated-rollout": truncated_rollout,
    "added-file": added_file,
    "missing-rollout": missing_rollout,
    "manifest-dotdot": manifest_dotdot,
    "manifest-absolute": manifest_absolute,
    "manifest-deep": manifest_deep,
    "manifest-garbage": manifest_garbage,
    "manifest-fifo": manifest_fifo,
    "manifest-wrong-types": manifest_wrong_types,
    "rollout-link-out": rollout_link_out,
    "rollout-fifo": rollout_fifo,
}


def _import(world: World, source: Path) -> tuple[str, ...]:
    return (
        "import",
        str(source),
        "--codex-home",
        str(world.dst),
        "--map",
        f"{OLD}={world.tmp}",
        "--no-codex",
        "--yes",
    )


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("command", ["verify-backup", "scan", "import"])
@pytest.mark.parametrize("damage", list(FOLDER_DAMAGE))
def test_damaged_backup_folder_is_refused(world: World, damage: str, command: str) -> None:
    folder = _backup_folder(world)
    name = FOLDER_DAMAGE[damage](folder)
    before, dst_before = digest_tree(folder), digest_tree(world.dst)
    args = {
        "verify-backup": ("verify-backup", str(folder)),
        "scan": ("scan", str(folder)),
        "import": _import(world, folder),
    }[command]
    out = invoke(*args)
    assert out.code != 0, out.text
    assert name in out.text, out.text
    assert digest_tree(folder) == before
    assert digest_tree(world.dst) == dst_before


# -- archives ------------------------------------------------------------------------------------


def _tar_zst(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    path.write_bytes(zstandard.ZstdCompressor().compress(raw.getvalue()))
    return path


def _info(
    name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, link: str = ""
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, link
    return info


def _zero_tar_zst(path: Path, members: int, size: int) -> Path:
    """A tar.zst of ``members`` files of ``size`` zero bytes each, streamed (never in memory)."""
    cctx = zstandard.ZstdCompressor(level=1)
    with (
        open(path, "wb") as f,
        cctx.stream_writer(f) as zw,
        tarfile.open(fileobj=zw, mode="w|") as tar,
    ):
        zeros = b"\0" * (1 << 20)
        for n in range(members):
            info = _info(f"sessions/2026/03/04/f{n}.jsonl", size)

            class Zeros(io.RawIOBase):
                left = size

                def readinto(self, b: memoryview) -> int:  # type: ignore[override]
                    k = min(len(b), self.left, len(zeros))
                    b[:k] = zeros[:k]
                    self.left -= k
                    return k

            tar.addfile(info, Zeros())
    return path


def tar_bomb_one(tmp: Path) -> Path:
    return _zero_tar_zst(tmp / "bomb.tar.zst", 1, 256 << 20)


def tar_bomb_many(tmp: Path) -> Path:
    return _zero_tar_zst(tmp / "bomb.tar.zst", 12, 8 << 20)


def zip_bomb(tmp: Path) -> Path:
    path = tmp / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n in range(2):
            with zf.open(f"sessions/f{n}.jsonl", "w", force_zip64=True) as out:
                for _ in range(48):
                    out.write(b"\0" * (1 << 20))
    return path


def tar_dotdot(tmp: Path) -> Path:
    return _tar_zst(tmp / "a.tar.zst", [(_info("../evil", 3), b"abc")])


def tar_absolute(tmp: Path) -> Path:
    return _tar_zst(tmp / "a.tar.zst", [(_info("/tmp/evil", 3), b"abc")])


def tar_symlink(tmp: Path) -> Path:
    return _tar_zst(
        tmp / "a.tar.zst", [(_info("sessions/x.jsonl", 0, tarfile.SYMTYPE, "/etc/passwd"), None)]
    )


def tar_hardlink(tmp: Path) -> Path:
    return _tar_zst(
        tmp / "a.tar.zst", [(_info("sessions/x.jsonl", 0, tarfile.LNKTYPE, "/etc/passwd"), None)]
    )


def tar_device(tmp: Path) -> Path:
    return _tar_zst(tmp / "a.tar.zst", [(_info("sessions/x.jsonl", 0, tarfile.CHRTYPE), None)])


def tar_no_manifest(tmp: Path) -> Path:
    return _tar_zst(tmp / "a.tar.zst", [(_info("sessions/x.jsonl", 3), b"abc")])


def tar_truncated(tmp: Path) -> Path:
    path = _tar_zst(tmp / "a.tar.zst", [(_info("sessions/x.jsonl", 3000), b"a" * 3000)])
    path.write_bytes(path.read_bytes()[:-10])
    return path


def tar_garbage(tmp: Path) -> Path:
    path = tmp / "a.tar.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + b"\xff" * 500)
    return path


def zip_garbage(tmp: Path) -> Path:
    path = tmp / "a.zip"
    path.write_bytes(b"PK\x03\x04" + b"\xff" * 500)
    return path


def zip_dotdot(tmp: Path) -> Path:
    path = tmp / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("../evil", "abc")
    return path


def archive_fifo(tmp: Path) -> Path:
    path = tmp / "a.tar.zst"
    os.mkfifo(path)
    return path


ARCHIVES: dict[str, Callable[[Path], Path]] = {
    "tar-bomb-one": tar_bomb_one,
    "tar-bomb-many": tar_bomb_many,
    "zip-bomb": zip_bomb,
    "tar-dotdot": tar_dotdot,
    "tar-absolute": tar_absolute,
    "tar-symlink": tar_symlink,
    "tar-hardlink": tar_hardlink,
    "tar-device": tar_device,
    "tar-no-manifest": tar_no_manifest,
    "tar-truncated": tar_truncated,
    "tar-garbage": tar_garbage,
    "zip-garbage": zip_garbage,
    "zip-dotdot": zip_dotdot,
    "archive-fifo": archive_fifo,
}


_MADE: dict[str, tuple[str, bytes]] = {}


def _make(kind: str, folder: Path) -> Path:
    """Build each archive once per session (bombs take a moment to compress)."""
    if kind == "archive-fifo":
        return archive_fifo(folder)
    if kind not in _MADE:
        built = ARCHIVES[kind](folder)
        _MADE[kind] = (built.name, built.read_bytes())
        return built
    name, data = _MADE[kind]
    (folder / name).write_bytes(data)
    return folder / name


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children: the work a bomb made us do."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@pytest.mark.timeout(BOUND * 2)
@pytest.mark.parametrize("command", ["verify-backup", "scan", "import"])
@pytest.mark.parametrize("kind", list(ARCHIVES))
def test_hostile_archive_is_refused_quickly(
    world: World, kind: str, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = world.tmp / "archives"
    made.mkdir()
    archive = _make(kind, made)
    temp = world.tmp / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    dst_before = digest_tree(world.dst)
    args = {
        "verify-backup": ("verify-backup", str(archive)),
        "scan": ("scan", str(archive)),
        "import": _import(world, archive),
    }[command]
    started = _cpu_seconds()
    out = invoke(*args)
    took = _cpu_seconds() - started  # CPU, not wall: a loaded machine does not fail it
    assert out.code != 0, out.text
    assert archive.name in out.text or "evil" in out.text or "x.jsonl" in out.text, out.text
    if "bomb" in kind:
        assert "archive bomb" in out.text, out.text
        assert took < 10, took
    assert digest_tree(temp) == {}, "temp files left behind"
    assert digest_tree(world.dst) == dst_before
