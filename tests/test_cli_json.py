"""``--json`` output is written as it is encoded, and is exactly what one ``json.dumps`` gives."""

from __future__ import annotations

import json
from typing import Any

import pytest

from codex_migrate.cli import common


def _emitted(data: Any, capsys: pytest.CaptureFixture[str]) -> str:
    common.emit_json(data)
    return capsys.readouterr().out


def test_streamed_json_is_the_same_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "_FLUSH_CHARS", 50)  # many flushes
    data = {
        "home": "/Users/alex/.codex",
        "threads": [{"id": f"t{n}", "title": 'café ✓ "q" \\\\', "bad": {}} for n in range(40)],
        "nested": {"plan": {"threads": [[1, 2.5, None, True]], "empty": []}, 3: "int key"},
        "none": None,
        "tuple": (1, "x"),
        "": {"k": [{"deep": {"deeper": [1]}}]},
    }
    assert _emitted(data, capsys) == json.dumps(data, ensure_ascii=False) + "\n"


def test_an_iterator_is_written_as_a_list(capsys: pytest.CaptureFixture[str]) -> None:
    out = _emitted({"threads": (dict(id=n) for n in range(3)), "x": iter([])}, capsys)
    assert json.loads(out) == {"threads": [{"id": 0}, {"id": 1}, {"id": 2}], "x": []}
