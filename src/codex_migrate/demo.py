"""A demo Codex home, so anyone can try every command without touching their own history.

The sessions imitate what real Codex builds write (shapes measured with 0.169.0, 0.80.0 and a
2025 bare-era file), recorded on a Mac under ``/Users/alex/Projects``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from codex_migrate.errors import CodexMigrateError

MARKER = ".codex-migrate-demo"
MAC_ROOT = "/Users/alex/Projects"


def default_demo_dir() -> Path:
    return Path(tempfile.gettempdir()) / "codex-migrate-demo"


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H-%M-%S")


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _dump(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _env_context(cwd: str) -> str:
    return (
        f"<environment_context>\n  <cwd>{cwd}</cwd>\n  <approval_policy>on-request"
        "</approval_policy>\n  <sandbox_mode>workspace-write</sandbox_mode>\n  <shell>zsh</shell>"
        "\n</environment_context>"
    )


def paginated_rollout(tid: str, cwd: str, start: datetime, turns: list[tuple[str, str]]) -> str:
    """A rollout in the shape Codex 0.169 writes (paginated history, with ordinals)."""
    lines: list[dict[str, Any]] = []
    t = start

    def rec(rtype: str, payload: dict[str, Any]) -> None:
        nonlocal t
        t += timedelta(milliseconds=137)
        lines.append(
            {"timestamp": _iso(t), "ordinal": len(lines), "type": rtype, "payload": payload}
        )

    rec(
        "session_meta",
        {
            "session_id": tid,
            "id": tid,
            "timestamp": _iso(start),
            "cwd": cwd,
            "runtime_workspace_roots": [cwd],
            "originator": "codex_cli_rs",
            "cli_version": "0.169.0",
            "source": "cli",
            "thread_source": "user",
            "model_provider": "openai",
            "base_instructions": {"text": "You are Codex.", "provenance": "default"},
            "history_mode": "paginated",
            "git": {"commit_hash": "3f2c1e9", "branch": "main"},
        },
    )
    for n, (question, answer) in enumerate(turns):
        turn_id = str(uuid.UUID(int=int(tid.replace("-", ""), 16) + n + 1))
        rec("event_msg", {"type": "task_started", "turn_id": turn_id})
        if n == 0:
            rec(
                "response_item",
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": _env_context(cwd)}],
                },
            )
        rec("turn_context", {"turn_id": turn_id, "cwd": cwd, "approval_policy": "on-request"})
        rec(
            "event_msg",
            {
                "type": "thread_settings_applied",
                "thread_id": tid,
                "thread_settings": {
                    "model": "gpt-5.1-codex",
                    "cwd": cwd,
                    "runtime_workspace_roots": [cwd],
                },
            },
        )
        rec(
            "response_item",
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": question}],
            },
        )
        rec(
            "event_msg",
            {
                "type": "item_completed",
                "thread_id": tid,
                "turn_id": turn_id,
                "item": {"type": "UserMessage", "content": [{"type": "text", "text": question}]},
            },
        )
        rec(
            "response_item",
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer}],
            },
        )
        rec(
            "event_msg",
            {
                "type": "item_completed",
                "thread_id": tid,
                "turn_id": turn_id,
                "item": {"type": "AgentMessage", "content": [{"type": "Text", "text": answer}]},
            },
        )
        rec("event_msg", {"type": "task_complete", "turn_id": turn_id})
    return "".join(_dump(line) + "\n" for line in lines)


def legacy_rollout(tid: str, cwd: str, start: datetime, turns: list[tuple[str, str]]) -> str:
    """A rollout in the shape Codex 0.80 writes (enveloped, legacy history)."""
    lines: list[dict[str, Any]] = []
    t = start

    def rec(rtype: str, payload: dict[str, Any]) -> None:
        nonlocal t
        t += timedelta(milliseconds=211)
        lines.append({"timestamp": _iso(t), "type": rtype, "payload": payload})

    rec(
        "session_meta",
        {
            "id": tid,
            "timestamp": _iso(start),
            "cwd": cwd,
            "originator": "codex_cli_rs",
            "cli_version": "0.80.0",
            "instructions": None,
            "source": "cli",
            "model_provider": "openai",
        },
    )
    rec(
        "response_item",
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": _env_context(cwd)}],
        },
    )
    for question, answer in turns:
        content = [{"type": "input_text", "text": question}]
        rec("response_item", {"type": "message", "role": "user", "content": content})
        rec("event_msg", {"type": "user_message", "message": question, "images": []})
        rec("turn_context", {"cwd": cwd, "approval_policy": "on-request", "model": "gpt-5"})
        rec("event_msg", {"type": "agent_message", "message": answer})
        rec(
            "response_item",
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer}],
            },
        )
    return "".join(_dump(line) + "\n" for line in lines)


def bare_rollout(tid: str, cwd: str, start: datetime, turns: list[tuple[str, str]]) -> str:
    """A 2025 bare-era rollout: a header line, then bare items and state records."""
    lines: list[dict[str, Any]] = [
        {"id": tid, "timestamp": _iso(start), "instructions": None, "git": {"branch": "main"}},
        {"record_type": "state"},
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": _env_context(cwd)}],
        },
    ]
    for question, answer in turns:
        lines.append(
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": question}],
            }
        )
        lines.append(
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer}],
            }
        )
        lines.append({"record_type": "state"})
    return "".join(_dump(line) + "\n" for line in lines)


_SESSIONS: list[dict[str, Any]] = [
    {
        "era": "paginated",
        "project": "webshop",
        "days_ago": 1,
        "turns": [
            ("Add a checkout button to the cart page", "Added `CheckoutButton` to `cart.tsx`."),
            ("Now write a test for it", "Wrote `cart.test.tsx`; all 12 tests pass."),
        ],
        "name": "Checkout button",
    },
    {
        "era": "paginated",
        "project": "webshop",
        "days_ago": 3,
        "turns": [("Why is the build slow?", "The bundle includes moment.js twice.")],
    },
    {
        "era": "paginated",
        "project": "my app",
        "days_ago": 2,
        "turns": [("Rename the settings screen", "Renamed it to `PreferencesScreen`.")],
        "archived": True,
    },
    {
        "era": "legacy",
        "project": "data-pipeline",
        "days_ago": 40,
        "turns": [("Parse the CSV export", "Added `parse_export()` using the csv module.")],
        "name": "CSV parser",
    },
    {
        "era": "legacy",
        "project": "café-menu",
        "days_ago": 55,
        "turns": [("Translate the menu to French", "Done: see `menu.fr.json`.")],
    },
    {
        "era": "bare",
        "project": "old-experiments",
        "days_ago": 300,
        "turns": [("Hello from 2025", "Hi! This session predates the envelope format.")],
    },
]


def demo_home_in(root: Path) -> Path:
    """Where :func:`build_demo_home` puts the Codex home inside the demo folder ``root``."""
    return root / ".codex"


def holds_earlier_demo(root: Path) -> bool:
    """Whether ``root`` holds an earlier demo (which a build replaces); False when it does
    not exist. A folder that is not a demo's is refused: the build never deletes it."""
    if not root.exists():
        return False
    if not (root / MARKER).exists():
        raise CodexMigrateError(
            f"{root} exists and is not a codex-migrate demo folder; it was left alone.",
            hint="Pass --path with a new folder.",
            code="demo-folder-taken",
            params={"path": str(root)},
        )
    return True


def build_demo_home(root: Path) -> Path:
    """Write the demo home into ``root`` (replacing an earlier demo there) and return it."""
    if holds_earlier_demo(root):
        shutil.rmtree(root)
    home = demo_home_in(root)
    home.mkdir(parents=True)
    (root / MARKER).write_text("built by codex-migrate demo\n")
    now = datetime.now(UTC).replace(microsecond=0)
    index_lines: list[str] = []
    for n, spec in enumerate(_SESSIONS):
        start = now - timedelta(days=spec["days_ago"], hours=n)
        k = n + 1
        tid = f"019a6f3c-{k:04x}-7{k:03x}-8{k:03x}-{k:012x}"  # v7-shaped, stable
        cwd = f"{MAC_ROOT}/{spec['project']}"
        writer = {"paginated": paginated_rollout, "legacy": legacy_rollout}.get(
            spec["era"], bare_rollout
        )
        text = writer(tid, cwd, start, spec["turns"])
        name = f"rollout-{_stamp(start)}-{tid}.jsonl"
        if spec.get("archived"):
            path = home / "archived_sessions" / name
        else:
            path = home / "sessions" / start.strftime("%Y/%m/%d") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        mtime = (start + timedelta(minutes=5)).timestamp()
        os.utime(path, (mtime, mtime))
        if spec.get("name"):
            entry = {"id": tid, "thread_name": spec["name"], "updated_at": _iso(start)}
            index_lines.append(_dump(entry) + "\n")
    (home / "session_index.jsonl").write_text("".join(index_lines), encoding="utf-8")
    return home
