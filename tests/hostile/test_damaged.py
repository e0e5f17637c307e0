"""Damaged rollouts are named in the import plan (file, line numbers, what Codex does with
them) before anything is written; the import copies them as they are only after saying so,
and ``--skip-damaged`` leaves them out. Also: the tail read stays linear on a huge last line."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from codex_migrate.damage import CODEX_EFFECT
from codex_migrate.settings_tail import tail_settings_cwd
from tests.homes import tid
from tests.hostile.conftest import BOUND, OLD, World, invoke


def _rollout(world: World) -> Path:
    return next(world.src.rglob(f"rollout-*{tid(1)}.jsonl"))


def cut_last_line(path: Path) -> list[int]:
    data = path.read_bytes()
    path.write_bytes(data[:-30])
    return [data.count(b"\n")]


def broken_middle(path: Path) -> list[int]:
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = b'{"type": "response_item", "payload": {"cut here\n'
    path.write_bytes(b"".join(lines))
    return [3]


def binary_line(path: Path) -> list[int]:
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(3, b"\xff\xfe\x00\x01 not text\n")
    path.write_bytes(b"".join(lines))
    return [4]


def deep_line(path: Path) -> list[int]:
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(1, b'{"type":"response_item","payload":' + b"[" * 500 + b"]" * 500 + b"}\n")
    path.write_bytes(b"".join(lines))
    return [2]


def two_bad(path: Path) -> list[int]:
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = b"garbage\n"
    lines[3] = b"{]\n"
    path.write_bytes(b"".join(lines))
    return [2, 4]


DAMAGE: dict[str, Callable[[Path], list[int]]] = {
    "cut-last-line": cut_last_line,
    "broken-middle": broken_middle,
    "binary-line": binary_line,
    "deep-line": deep_line,
    "two-bad": two_bad,
}


def _import(world: World, *extra: str) -> tuple[str | Path, ...]:
    return (
        "import", world.src, "--codex-home", world.dst, "--map", f"{OLD}={world.tmp}",
        "--no-codex", "--yes", *extra,
    )  # fmt: skip


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damage_is_in_the_plan_and_imported_as_is(world: World, damage: str) -> None:
    path = _rollout(world)
    lines = DAMAGE[damage](path)
    original = path.read_bytes()
    dry = invoke(*_import(world, "--dry-run"))
    assert dry.code == 0, dry.text
    assert "Damaged rollouts" in dry.text and str(path) in dry.text
    assert "at line " + ", ".join(map(str, lines)) in dry.text, dry.text
    assert CODEX_EFFECT in dry.text and "--skip-damaged" in dry.text
    plan = invoke(*_import(world, "--dry-run", "--json")).json()["plan"]
    item = next(t for t in plan["threads"] if t["id"] == tid(1))
    assert item["damage"]["lines"] == lines and item["damage"]["codex_effect"] == CODEX_EFFECT
    out = invoke(*_import(world))
    assert out.code == 0, out.text
    assert "Damaged rollouts" in out.text
    copied = next(world.dst.rglob(f"rollout-*{tid(1)}.jsonl"))
    # Bytes as they are: the mapped paths change, the damaged lines do not.
    bad = [original.splitlines(keepends=True)[n - 1] for n in lines]
    got = copied.read_bytes().splitlines(keepends=True)
    for n, raw in zip(lines, bad, strict=True):
        assert got[n - 1] == raw
    assert path.read_bytes() == original


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_an_import_applied_at_once_names_the_damage_it_found_while_writing(
    world: World, damage: str
) -> None:
    """``--yes`` without ``--dry-run``: nobody confirms the plan, so the write finds the
    damage on the bytes it reads anyway; its report names the same lines the plan would."""
    lines = DAMAGE[damage](_rollout(world))
    out = invoke(*_import(world, "--json"))
    assert out.code == 0, out.text
    item = next(t for t in out.json()["plan"]["threads"] if t["id"] == tid(1))
    assert item["damage"]["lines"] == lines and item["damage"]["codex_effect"] == CODEX_EFFECT
    assert next(t for t in out.json()["plan"]["threads"] if t["id"] == tid(2))["damage"] is None


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("damage", ["cut-last-line", "broken-middle"])
def test_skip_damaged_leaves_the_thread_out(world: World, damage: str) -> None:
    path = _rollout(world)
    DAMAGE[damage](path)
    out = invoke(*_import(world, "--skip-damaged", "--json"))
    assert out.code == 0, out.text
    plan = out.json()["plan"]
    assert plan["summary"]["skip-damaged"] == 1
    names = {p.name for p in world.dst.rglob("rollout-*")}
    assert not any(tid(1) in n for n in names) and any(tid(2) in n for n in names)
    index = world.dst / "session_index.jsonl"
    assert not index.exists() or tid(1) not in index.read_text()


@pytest.mark.timeout(BOUND)
def test_an_undamaged_import_says_nothing_about_damage(world: World) -> None:
    out = invoke(*_import(world, "--dry-run"))
    assert out.code == 0 and "Damaged" not in out.text
    plan = invoke(*_import(world, "--dry-run", "--json")).json()["plan"]
    assert all(t["damage"] is None for t in plan["threads"])


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("mb", [8, 64])
def test_tail_read_is_linear_on_a_huge_last_line(mb: int) -> None:
    settings = json.dumps(
        {
            "type": "event_msg",
            "payload": {"type": "thread_settings_applied", "thread_settings": {"cwd": "/x"}},
        }
    ).encode()
    data = settings + b"\n" + b'{"a":"' + b"z" * (mb << 20) + b'"}'
    started = time.thread_time()  # CPU, not wall: a busy machine must not fail it
    assert tail_settings_cwd(io.BytesIO(data)) == "/x"
    # Measured before the fix: 8 MB 1 s, 64 MB 56 s (quadratic). Now ~0.02 s of CPU.
    assert time.thread_time() - started < 2.0
