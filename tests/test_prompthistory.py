"""The prompt-history entries an import appends: those of its threads the target lacks."""

from __future__ import annotations

from pathlib import Path


def test_prompt_history_entries_the_target_has_are_not_appended_again(tmp_path: Path) -> None:
    """The same entry (whatever its encoding) is recognised; distinct ones never merge, the
    awkward ones (NaN and null times, nested text, surrogates) included."""
    from types import SimpleNamespace

    from codex_migrate.prompthistory import history_lines

    entries = [
        '{"session_id":"A","ts":1,"text":"caf\\u00e9"}',
        '{"session_id":"a","ts":2,"text":"x"}',
        '{"session_id":"a","ts":NaN,"text":"x"}',
        '{"session_id":"a","ts":null,"text":"x"}',
        '{"session_id":"a","ts":3,"text":{"b":1,"a":[1.5]}}',
        '{"session_id":"a","ts":4,"text":"\\ud800"}',
        '{"session_id":"a","ts":5.0,"text":"y"}',
    ]
    src, tgt = tmp_path / "src.jsonl", tmp_path / "tgt.jsonl"
    src.write_text("\n".join(entries) + "\n", encoding="utf-8")
    have = ['{"text":"café","ts":1.0,"session_id":"a"}', '{"session_id":"a","ts":5,"text":"y"}']
    tgt.write_text("\n".join(have) + "\n", encoding="utf-8")
    home = lambda p: SimpleNamespace(home=SimpleNamespace(history_jsonl=p))  # noqa: E731
    plan = SimpleNamespace(source=home(src), target=home(tgt))
    new = history_lines(plan, {"a"})  # type: ignore[arg-type]
    assert new.data.decode().splitlines() == entries[1:6]
    assert new.lines == 5
