"""A benchmark home shaped like years of real use, assembled from rollouts the real Codex wrote.

Every byte of every rollout comes from the harness fixtures (``tests/fixtures/codex-0.169.0``
and ``codex-0.80.0``, written by the real Codex CLI); only ids, dates and the folder the
projects live in are substituted. The shape follows what users' homes look like:

* 0.169 paginated (about three in four) and 0.80 legacy sessions, 1 to 40 turns (most short:
  extra turns are the fixtures' own later turns, and in one in four sessions Codex's shell
  call turn), some with an image;
* one day folder per calendar day over about two and a half years (913 days), sessions spread
  evenly over them, times of day varying;
* 12 projects under four roots (names with a space and with non-ASCII included), every
  project under a root that :data:`MAPS` maps, so the path rewrite runs on most lines;
* one in ten sessions archived, one in twenty named (``session_index.jsonl``), one prompt
  per session in ``history.jsonl``.

Sizes: 3 000 sessions are about 130 MB, like the home issue 13 was measured on.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"

#: Where the projects of the home live on the old machine; the benchmark maps each root.
ROOTS = (
    "/Users/alex/Projects/",
    "/Users/alex/work/acme/",
    "/Users/alex/src/github.com/alex/",
    "/Users/alex/Desktop/experiments/",
)
DAYS = 913  # two and a half years
START = datetime(2024, 6, 1, tzinfo=UTC)

_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ORDINAL = re.compile(rb'^(\{"timestamp":"[^"]*","ordinal":)(\d+)')
_PROJECT_ROOT = b"\x00ROOT\x00"
_STAMP = b"\x00STAMP\x00"  # YYYY-MM-DDTHH:MM of the session


@dataclass
class _Template:
    key: str
    version: str
    thread_id: bytes
    lines: list[bytes]
    archived: bool
    name: str | None


def _prepare(data: bytes, version: str) -> bytes:
    root = f"/tmp/cm-fixture-root/{version}/".encode()
    data = data.replace(root + b"projects/", _PROJECT_ROOT)
    data = data.replace(root + b"codex-home", b"/Users/alex/.codex")
    data = data.replace(root, b"/Users/alex/")
    return re.sub(rb"2026-11-25T07:50", _STAMP, data)


def _load() -> dict[str, dict[str, _Template]]:
    out: dict[str, dict[str, _Template]] = {}
    for version in ("0.169.0", "0.80.0"):
        base = FIXTURES / f"codex-{version}"
        manifest = json.loads((base / "manifest.json").read_text(encoding="utf-8"))
        found = {}
        for key, t in manifest["threads"].items():
            path = base / "home" / t["rollout"]
            if not path.is_file():
                continue
            data = _prepare(path.read_bytes(), version)
            found[key] = _Template(
                key,
                version,
                t["id"].encode(),
                data.splitlines(keepends=True),
                bool(t["archived"]),
                t.get("name"),
            )
        out[version] = found
    return out


def _extra_turns(templates: dict[str, _Template], paginated: bool) -> list[list[bytes]]:
    """Turn blocks that can be appended to a session: the multi-turn fixture's second turn,
    and (0.169) the shell fixture's turn, re-ordered the way a later turn is written."""
    multi = templates["multi_turn"].lines
    blocks = []
    if paginated:
        ends = [i for i, line in enumerate(multi) if b'"type":"task_complete"' in line]
        blocks.append(multi[ends[0] + 1 : ends[1] + 1])
        shell = templates.get("shell")
        if shell is not None:
            s = shell.lines
            kind = [_kind(line) for line in s]
            first_user = next(i for i, k in enumerate(kind) if k == "user_msg")
            settings = kind.index("thread_settings_applied")
            started = kind.index("task_started")
            context = kind.index("turn_context")
            blocks.append([s[settings], s[started], s[context], *s[first_user:]])
    else:
        users = [i for i, line in enumerate(multi) if b'"type":"user_message"' in line]
        blocks.append(multi[users[1] - 1 : users[2] - 1])
    return blocks


def _kind(line: bytes) -> str:
    for k in ("thread_settings_applied", "task_started", "turn_context"):
        if f'"{k}"'.encode() in line[:200]:
            return k
    if b'"role":"user"' in line and b'"input_text","text":"' in line:
        body = line.split(b'"input_text","text":"', 1)[1]
        if not body.startswith((b"<", b"#")):
            return "user_msg"
    return ""


def _fresh_ids(
    data: bytes, fixed: dict[bytes, bytes], rng: random.Random, per_block: dict[bytes, bytes]
) -> bytes:
    def sub(m: re.Match[bytes]) -> bytes:
        old = m.group(0)
        if old in fixed:
            return fixed[old]
        new = per_block.get(old)
        if new is None:
            new = per_block[old] = _uuid7(rng)
        return new

    return _UUID.sub(sub, data)


def _uuid7(rng: random.Random) -> bytes:
    """A random id shaped like the v7 ids Codex writes (version 7, RFC 4122 variant)."""
    n = rng.getrandbits(128)
    n = (n & ~(0xF << 76)) | (7 << 76)
    n = (n & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=n)).encode()


@dataclass
class HomeShape:
    sessions: int
    bytes: int
    day_folders: int
    paginated: int
    legacy: int
    archived: int
    named: int
    turns: int
    projects: int

    def describe(self) -> str:
        return (
            f"{self.sessions} sessions ({self.paginated} 0.169 paginated, {self.legacy} 0.80 "
            f"legacy; {self.archived} archived, {self.named} named; {self.turns} turns), "
            f"{self.bytes / 1e6:.0f} MB in {self.day_folders} day folders, "
            f"{self.projects} projects"
        )


def _turn_count(rng: random.Random) -> int:
    """Most sessions are short, a few run long (mean about 3.4, at most 40)."""
    return 1 + min(39, int(rng.expovariate(1 / 2.4)))


def make_home(target: Path, sessions: int, *, seed: int = 13) -> HomeShape:
    """Write a real-shaped home of ``sessions`` rollouts into ``target`` (no state DB: the
    old machine's DB is not what a migration carries)."""
    rng = random.Random(seed)
    templates = _load()
    new_t, old_t = templates["0.169.0"], templates["0.80.0"]
    extra = {True: _extra_turns(new_t, True), False: _extra_turns(old_t, False)}
    all_ids = {t.thread_id for group in templates.values() for t in group.values()}
    names: list[bytes] = []
    history: list[bytes] = []
    days: set[str] = set()
    shape = HomeShape(sessions, 0, 0, 0, 0, 0, 0, 0, len(ROOTS) * 3)
    for n in range(sessions):
        paginated = rng.random() < 0.75
        group = new_t if paginated else old_t
        tpl = group[rng.choice(sorted(group))]
        new_id = _uuid7(rng)
        fixed = dict.fromkeys(all_ids, new_id)
        day = START + timedelta(days=n * DAYS // sessions)
        when = day + timedelta(minutes=rng.randrange(7 * 60, 23 * 60))
        turns = _turn_count(rng)
        lines = list(tpl.lines)
        blocks = extra[paginated]
        for _ in range(turns - 1):
            block = blocks[1] if len(blocks) > 1 and rng.random() < 0.25 else blocks[0]
            per_block: dict[bytes, bytes] = {}
            lines += [_fresh_ids(line, fixed, rng, per_block) for line in block]
        if paginated:
            lines = [_ORDINAL.sub(rb"\g<1>%d" % i, line, count=1) for i, line in enumerate(lines)]
        data = _fresh_ids(b"".join(lines), fixed, rng, {})
        root = ROOTS[rng.randrange(len(ROOTS))].encode()
        data = data.replace(_PROJECT_ROOT, root).replace(_STAMP, f"{when:%Y-%m-%dT%H:%M}".encode())
        archived = rng.random() < 0.1
        name = f"rollout-{when:%Y-%m-%dT%H-%M-%S}-{new_id.decode()}.jsonl"
        if archived:
            path = target / "archived_sessions" / name
        else:
            folder = f"{when:%Y/%m/%d}"
            days.add(folder)
            path = target / "sessions" / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        mtime = (when + timedelta(minutes=3 * turns)).timestamp()
        os.utime(path, (mtime, mtime))
        title = (tpl.name or f"Session {n} notes") if rng.random() < 0.05 else None
        if title:
            names.append(
                _jsonl(
                    {
                        "id": new_id.decode(),
                        "thread_name": title,
                        "updated_at": f"{when:%Y-%m-%dT%H:%M:%S}Z",
                    }
                )
            )
        history.append(
            _jsonl(
                {"session_id": new_id.decode(), "ts": int(when.timestamp()), "text": f"prompt {n}"}
            )
        )
        shape.bytes += len(data)
        shape.paginated += paginated
        shape.legacy += not paginated
        shape.archived += archived
        shape.named += bool(title)
        shape.turns += turns
    (target / "session_index.jsonl").write_bytes(b"".join(names))
    (target / "history.jsonl").write_bytes(b"".join(history))
    os.chmod(target / "history.jsonl", 0o600)
    shape.day_folders = len(days)
    return shape


def _jsonl(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def map_args(dest: Path) -> list[str]:
    """``--map`` options binding every root of the home to a folder under ``dest``."""
    out = []
    for n, root in enumerate(ROOTS):
        out += ["--map", f"{root.rstrip('/')}={dest / f'root{n}'}"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", type=Path)
    parser.add_argument("--sessions", type=int, default=3000)
    args = parser.parse_args()
    print(make_home(args.target, args.sessions).describe())


if __name__ == "__main__":
    main()
