"""Proof on sessions the real Codex wrote (0.169.0 paginated, 0.80.0 legacy) and a bare-era file.

For every thread, the expected messages are taken from the *other* representation Codex
records (legacy ``event_msg`` ``user_message``/``agent_message``; paginated ``item_completed``
``UserMessage``/``AgentMessage``), the one the exporter does not read. Each must appear exactly
once in the page's chat, in order: nothing lost, nothing doubled. The checked-in fixture homes
(``tests/fixtures``, made by the real Codex) run by default; the ``codex``-marked tests build
fresh homes with the pinned npm builds.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import pytest

from codex_migrate.catalog import build_catalog
from codex_migrate.export.api import Selection, export_threads
from codex_migrate.home import open_home
from codex_migrate.rollout import is_injected_text
from tests.harness.fixtures import install_fixture
from tests.harness.install import CODEX_NEW, CODEX_OLD
from tests.harness.scenario import TINY_PNG, Scenario
from tests.test_export_sessions import full_session, parse_export, texts, tid

TINY_PNG_URL = "data:image/png;base64," + base64.b64encode(TINY_PNG).decode()


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(
        p["text"] for p in content or [] if isinstance(p, dict) and isinstance(p.get("text"), str)
    )


def event_messages(path: Path) -> dict[str, list[str]]:
    """User and assistant texts from the event records (the source the exporter ignores)."""
    found: dict[str, list[str]] = {"user": [], "assistant": []}
    for raw in path.read_text(encoding="utf-8").splitlines():
        payload = json.loads(raw).get("payload")
        if not isinstance(payload, dict):
            continue
        kind = payload.get("type")
        if kind == "user_message":
            found["user"].append(payload["message"])
        elif kind == "agent_message":
            found["assistant"].append(payload["message"])
        elif kind == "item_completed":
            item = payload["item"]
            if item.get("type") == "UserMessage":
                found["user"].append(_text_of(item.get("content")))
            elif item.get("type") == "AgentMessage":
                found["assistant"].append(_text_of(item.get("content")))
    return found


def response_item_messages(path: Path) -> dict[str, list[str]]:
    """The same from ``response_item`` messages, minus injected context and image wrappers."""
    found: dict[str, list[str]] = {"user": [], "assistant": []}
    for raw in path.read_text(encoding="utf-8").splitlines():
        obj = json.loads(raw)
        payload = obj.get("payload")
        if obj.get("type") != "response_item" or payload.get("type") != "message":
            continue
        role = payload.get("role")
        if role not in found:
            continue
        parts = [
            p["text"]
            for p in payload.get("content") or []
            if isinstance(p.get("text"), str)
            and not p["text"].lstrip().startswith(("<image", "</image"))
        ]
        text = "\n".join(parts)
        if role == "user" and is_injected_text(text):
            continue
        found[role].append(text)
    return found


def export_home(home: Path, out: Path, fmt: str = "html") -> dict[str, str]:
    """Export every thread; returns thread id -> exported document text."""
    report = export_threads(build_catalog(open_home(home)), Selection(all=True), fmt, out)
    assert report.ok, report.skipped
    return {f.thread_id: Path(f.path).read_text(encoding="utf-8") for f in report.files}


def check_scenario(scenario: Scenario, out: Path) -> None:
    pages = export_home(scenario.home, out)
    assert set(pages) == {t.id for t in scenario.threads.values()}
    for key, thread in scenario.threads.items():
        rollout = scenario.rollout_path(key)
        expected = event_messages(rollout)
        # Measured: both representations hold the same texts, so choosing one loses nothing.
        assert response_item_messages(rollout) == expected, key
        assert len(expected["user"]) == thread.turns, key
        page = pages[thread.id]
        parsed = parse_export(page)
        for role in ("user", "assistant"):
            assert texts(parsed, role) == [" ".join(t.split()) for t in expected[role]], key
        body = page.split("<main>", 1)[1]
        for text in expected["user"] + expected["assistant"]:
            assert body.count(html.escape(text, quote=False)) == 1, (key, text)
        if "input_image" in thread.contains:
            (user,) = [m for m in parsed.messages if m["role"] == "user"]
            assert user["images"] == [TINY_PNG_URL], key
        if "function_call" in thread.contains:
            (tool,) = parsed.tools
            assert "tool-shell" in tool["classes"]
            assert "$ echo hi" in tool["text"] and "exit 0" in tool["text"]
            assert "\nhi\n" in tool["text"] or tool["text"].rstrip().endswith("hi")
            assert all("echo hi" not in m["text"] or m["role"] == "user" for m in parsed.messages)


@pytest.mark.parametrize("version", [CODEX_NEW, CODEX_OLD])
def test_fixture_sessions_export_each_message_once(tmp_path: Path, version: str) -> None:
    scenario = install_fixture(version, tmp_path / "home")
    check_scenario(scenario, tmp_path / "out")


@pytest.mark.parametrize("version", [CODEX_NEW, CODEX_OLD])
def test_fixture_sessions_markdown(tmp_path: Path, version: str) -> None:
    scenario = install_fixture(version, tmp_path / "home")
    docs = export_home(scenario.home, tmp_path / "out", "md")
    for key, thread in scenario.threads.items():
        doc = docs[thread.id]
        body = doc.split("\n---\n", 1)[1]
        expected = event_messages(scenario.rollout_path(key))
        for text in expected["user"] + expected["assistant"]:
            assert body.count(text) == 1, (key, text)
        if "input_image" in thread.contains:
            assert "_files/image-001.png)" in body
        if "function_call" in thread.contains:
            assert "```sh\n$ echo hi\n```" in body


def test_bare_era_session(tmp_path: Path) -> None:
    """The bare era has no event copies to compare with: the builder's texts are the truth."""
    home = tmp_path / "home"
    full_session("bare", 1).write(home)
    pages = export_home(home, tmp_path / "out")
    parsed = parse_export(pages[tid(1)])
    assert texts(parsed, "user") == ["Please look at this screenshot", "Now fix the bug in main.py"]
    assert len(texts(parsed, "assistant")) == 2
    assert parsed.messages[0]["images"][0].startswith("data:image/png;base64,")
    assert "$ ls -la src" in parsed.tools[0]["text"]


@pytest.mark.codex
def test_live_codex_sessions_export_each_message_once(
    codex_home_any: Scenario, tmp_path: Path
) -> None:
    """The same proof on homes the pinned Codex builds write during this test session."""
    check_scenario(codex_home_any.copy_to(tmp_path / "home"), tmp_path / "out")
