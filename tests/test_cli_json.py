"""``--json`` output is written as it is encoded, and is exactly what one ``json.dumps`` gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codex_migrate.cli import common
from tests.homes import write_rollout


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


@pytest.mark.parametrize("encoding", ["latin-1", "ascii", "cp1252"])
def test_a_console_that_cannot_write_a_title_gets_valid_json_and_text(
    tmp_path: Path, encoding: str
) -> None:
    """A title with a check mark, an emoji and a lone surrogate, scanned to a console whose
    encoding has none of them: ``--json`` is valid JSON with the very values a UTF-8 console
    gets, the plain listing prints with escapes; neither is a traceback."""
    home = tmp_path / "home"
    title = "done ✓ 😀 caf\u00e9 \\ud800"  # the \\ud800 escape decodes to a lone surrogate
    write_rollout(home, 1, turns=[(title, "ok")])
    env = {**os.environ, "CODEX_HOME": str(tmp_path / "none")}
    run = [sys.executable, "-m", "codex_migrate", "scan", str(home), "--threads"]
    want = subprocess.run(
        [*run, "--json"], capture_output=True, env={**env, "PYTHONIOENCODING": "utf-8"}
    )
    assert want.returncode == 0, want.stderr
    for args in ([*run, "--json"], run):
        got = subprocess.run(args, capture_output=True, env={**env, "PYTHONIOENCODING": encoding})
        assert got.returncode == 0, got.stderr
        assert b"Traceback" not in got.stderr
        try:
            text = got.stdout.decode(encoding)
        except UnicodeDecodeError:  # click writes UTF-8 where a stream says ASCII
            text = got.stdout.decode("utf-8", "surrogatepass")
        if "--json" in args:
            assert json.loads(text) == json.loads(want.stdout.decode("utf-8", "surrogatepass"))
        else:
            assert "done" in text


def test_a_lone_surrogate_in_a_path_gives_valid_json_not_a_traceback(tmp_path: Path) -> None:
    """A cwd holding a ``\\ud800`` escape (valid JSON: a lone surrogate, which UTF-8 cannot
    encode) reaches doctor's fixes and scan's findings. Under a C.UTF-8 locale Python's stdout
    uses ``surrogateescape``, which encodes only U+DC80-U+DCFF: ``--json`` must still be
    valid JSON with the value escaped, and the plain output text, never a traceback."""
    home = tmp_path / "home"
    text = write_rollout(home, 1, cwd="/Users/alex/caf\u00e9").read_text()
    write_rollout(home, 1, text=text.replace("caf\u00e9", "caf\u00e9\\ud800"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONIOENCODING"}
    env.update(CODEX_HOME=str(tmp_path / "none"), LC_ALL="C.UTF-8", PYTHONUTF8="0")
    for args in (["scan", str(home)], ["doctor", "--codex-home", str(home)]):
        for extra in (["--json"], []):
            got = subprocess.run(
                [sys.executable, "-m", "codex_migrate", *args, *extra], capture_output=True, env=env
            )
            assert b"Traceback" not in got.stderr, got.stderr.decode()
            assert got.returncode in (0, 1), got.stderr.decode()
            assert b"/Users/alex/caf\xc3\xa9\\ud800" in got.stdout
            if extra:
                assert json.loads(got.stdout.decode("utf-8"))  # strict UTF-8, valid JSON
