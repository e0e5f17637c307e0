"""The neutral conversation read from rollouts of every era: each message once, tools enriched."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import pytest

from codex_migrate.demo import bare_rollout, legacy_rollout, paginated_rollout
from codex_migrate.export.conversation import (
    Message,
    Note,
    Reasoning,
    ToolCall,
    parse_output,
    read_conversation,
    shell_command_text,
)
from tests.test_export_sessions import ERAS, PATCH, TINY_PNG_URL, Rollout, full_session, tid

DEMO_WRITERS = {"paginated": paginated_rollout, "legacy": legacy_rollout, "bare": bare_rollout}
TURNS = [("First question", "First answer"), ("Second *question*", "Second answer")]


@pytest.mark.parametrize("era", ERAS)
def test_demo_shapes_give_each_message_once(tmp_path: Path, era: str) -> None:
    from datetime import datetime

    text = DEMO_WRITERS[era](tid(1), "/Users/a/p", datetime(2026, 1, 1, tzinfo=UTC), TURNS)
    path = tmp_path / "r.jsonl"
    path.write_text(text)
    conv = read_conversation(path)
    assert conv.info.era == era
    assert [m.text for m in conv.messages("user")] == [q for q, _ in TURNS]
    assert [m.text for m in conv.messages("assistant")] == [a for _, a in TURNS]
    assert len(conv.turns) == 2
    # The environment context is folded into the first turn, never a chat message.
    assert conv.turns[0].contexts and conv.turns[0].contexts[0].label == "Environment context"


@pytest.mark.parametrize("era", ERAS)
def test_full_session_structure(tmp_path: Path, era: str) -> None:
    conv = read_conversation(full_session(era).write(tmp_path))
    assert len(conv.turns) == 2
    first, second = conv.turns
    kinds = [type(e).__name__ for e in first.body]
    assert kinds == ["Message", "Reasoning", "ToolCall", "Message"]
    user = first.body[0]
    assert isinstance(user, Message) and user.images[0].data_url == TINY_PNG_URL
    assert isinstance(first.body[1], Reasoning)
    shell = first.body[2]
    assert isinstance(shell, ToolCall) and shell.tool == "shell"
    assert shell.input == "ls -la src"
    assert shell.exit_code == 0
    assert shell.output == "total 8\ndrwxr-xr-x 2 alex staff 64 main.py\n"
    assert shell.duration_ms == pytest.approx(1500)
    labels = [c.label for c in first.contexts]
    assert "Environment context" in labels and "Permissions instructions" in labels
    tools = [e for e in second.body if isinstance(e, ToolCall)]
    assert [t.tool for t in tools] == ["patch", "web_search", "mcp", "shell"]
    assert tools[0].input == PATCH and tools[0].title == "src/main.py"
    assert tools[1].input == "python print function"
    assert (tools[2].server, tools[2].name) == ("docs", "lookup")
    assert tools[2].output == "print() writes to stdout"
    assert tools[3].exit_code == 1 and tools[3].failed
    if era != "bare":
        assert first.usage is not None and first.usage.total_tokens == 110
        assert second.usage is not None and second.usage.total_tokens == 110
        assert conv.info.total_usage is not None and conv.info.total_usage.total_tokens == 220
        assert conv.info.models == ["gpt-5"] and first.model == "gpt-5"
    if era == "paginated":
        assert first.duration_ms == 1234
        assert conv.info.cli_version == "0.169.0"


def test_paginated_output_is_not_shown_twice(tmp_path: Path) -> None:
    """0.169 records a shell result twice (``CommandExecution`` item and the
    ``function_call_output`` text): the call carries one output, the item's clean one."""
    r = Rollout("paginated", tid(2))
    r.user("run it").shell("echo hi", "hi\n").assistant("done").end_turn()
    conv = read_conversation(r.write(tmp_path))
    (call,) = [e for e in conv.turns[0].events if isinstance(e, ToolCall)]
    assert call.output == "hi\n"
    assert not [e for e in conv.turns[0].events if isinstance(e, Note) and e.note == "other"]


def test_response_item_ids_are_not_repeated(tmp_path: Path) -> None:
    r = Rollout("paginated", tid(3))
    r.user("hello")
    item = {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "once"}],
    }
    r.item(item)
    r.item(item)
    conv = read_conversation(r.write(tmp_path))
    assert [m.text for m in conv.messages("assistant")] == ["once"]


def test_message_sent_while_a_turn_runs_stays_in_that_turn(tmp_path: Path) -> None:
    r = Rollout("paginated", tid(4))
    r.user("start").assistant("working")
    r.item(
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "also this"}],
        }
    )
    r.assistant("ok").end_turn()
    r.user("next").assistant("sure").end_turn()
    conv = read_conversation(r.write(tmp_path))
    assert [len(t.body) for t in conv.turns] == [4, 2]


def test_fork_keeps_its_own_meta_and_odd_records_are_kept(tmp_path: Path) -> None:
    r = Rollout("legacy", tid(5))
    parent = {
        "id": tid(99),
        "timestamp": "2020-01-01T00:00:00Z",
        "cwd": "/parent",
        "cli_version": "0.1",
    }
    r.record("session_meta", parent)
    r.user("hi").assistant("hello")
    r.record("compacted", {"message": "summary of earlier work"})
    r.event({"type": "turn_aborted", "reason": "interrupted"})
    r.item({"type": "ghost_snapshot", "ghost_commit": {"id": "abc"}})
    r.item({"type": "future_thing", "value": 1})
    r.item({"type": "function_call_output", "call_id": "nope", "output": "orphan output"})
    path = r.write(tmp_path)
    with path.open("a") as fh:
        fh.write("{not json\n")
    conv = read_conversation(path, thread_id=tid(5))
    assert conv.info.cwd == "/Users/alex/Projects/app" and conv.info.cli_version == "0.80.0"
    notes = [e for e in conv.turns[-1].events if isinstance(e, Note)]
    assert [(n.note, n.label) for n in notes if n.note != "context"] == [
        ("compacted", "Context compacted"),
        ("aborted", "Turn aborted"),
        ("other", "Record: future_thing"),
        ("other", "Tool output"),
    ]
    assert conv.info.issues.total == 1


def test_redaction_hook_sees_every_text_but_not_image_data(tmp_path: Path) -> None:
    seen: list[str] = []

    def spy(text: str) -> str:
        seen.append(text)
        return text.replace("SECRET", "[X]")

    r = full_session("paginated")
    r.user("my SECRET", images=[TINY_PNG_URL]).shell("echo SECRET", "SECRET\n").end_turn()
    conv = read_conversation(r.write(tmp_path), redact=spy)
    last = conv.turns[-1]
    msg = last.body[0]
    assert isinstance(msg, Message) and msg.text == "my [X]"
    assert msg.images[0].data_url == TINY_PNG_URL
    call = last.body[1]
    assert isinstance(call, ToolCall) and call.input == "echo [X]" and call.output == "[X]\n"
    assert not any(TINY_PNG_URL in s for s in seen)


@pytest.mark.parametrize(
    ("output", "text", "code"),
    [
        ('{"output":"hi\\n","metadata":{"exit_code":3,"duration_seconds":0.5}}', "hi\n", 3),
        (
            "Chunk ID: x\nWall time: 0.1 seconds\nProcess exited with code 2\nOutput:\nboom",
            "boom",
            2,
        ),
        ({"content": "plain", "success": False}, "plain", None),
        ([{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}], "a\nb", None),
        ("just text", "just text", None),
    ],
)
def test_parse_output_shapes(output: object, text: str, code: int | None) -> None:
    result = parse_output(output)
    assert result.text == text
    assert result.exit_code == code


def test_shell_command_text() -> None:
    assert shell_command_text(["bash", "-lc", "ls | wc"]) == "ls | wc"
    assert shell_command_text(["/bin/zsh", "-c", "echo"]) == "echo"
    assert shell_command_text(["git", "commit", "-m", "a b"]) == "git commit -m 'a b'"
    assert shell_command_text("echo x") == "echo x"


def test_legacy_apply_patch_through_shell_is_a_patch(tmp_path: Path) -> None:
    r = Rollout("legacy", tid(6))
    r.user("patch it")
    args = {"command": ["apply_patch", PATCH]}
    r.item(
        {"type": "function_call", "name": "shell", "arguments": json.dumps(args), "call_id": "c1"}
    )
    conv = read_conversation(r.write(tmp_path))
    (call,) = [e for e in conv.turns[0].events if isinstance(e, ToolCall)]
    assert call.tool == "patch" and "*** Update File: src/main.py" in call.input


def test_legacy_context_before_a_message_belongs_to_its_turn(tmp_path: Path) -> None:
    """0.80 injects a new `<environment_context>` before the user's message when the cwd
    changes; with no turn events, it must fold into the turn it precedes."""
    r = Rollout("legacy", tid(7))
    r.user("first").assistant("one")
    env = "<environment_context>\n  <cwd>/elsewhere</cwd>\n</environment_context>"
    r.item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": env}]})
    r.user("second").assistant("two")
    r.item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": env}]})
    conv = read_conversation(r.write(tmp_path))
    assert "/elsewhere" not in conv.turns[0].contexts[0].text
    assert "/elsewhere" in conv.turns[1].contexts[0].text
    # A trailing context (nothing after it) stays with the last turn, not lost.
    assert [len(t.contexts) for t in conv.turns] == [1, 2]
    assert [len(t.events) for t in conv.turns] == [3, 4]
