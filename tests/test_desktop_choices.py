"""Codex Desktop's project list and our recorded choices, written inside the transaction."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from codex_migrate.desktop import ATOM_KEY, GLOBAL_STATE
from tests.homes import tid, tree_state, write_rollout

STATE = {
    "window-bounds": {"x": 10, "y": 20.5, "width": 1200},
    "electron-saved-workspace-roots": ["/Users/me/elsewhere"],
    "theme": "dark",
    ATOM_KEY: {
        "sidebar-collapsed-groups": {"/Users/me/elsewhere": True},
        "electron-saved-workspace-roots": ["/Users/me/elsewhere"],
        "project-order": ["/Users/me/elsewhere"],
        "zoom": 1.25,
    },
    "project-order": ["/Users/me/elsewhere"],
    "unicode": "é ✓",
}


def _run(*args: str, code: int = 0) -> dict[str, Any]:
    asks = [] if args[0] == "doctor" else ["--yes"]
    result = CliRunner().invoke(cli, [*args, *asks, "--json"])
    assert result.exit_code == code, result.output
    out: dict[str, Any] = json.loads(result.stdout) if result.stdout.strip() else {}
    return out


def _homes(tmp_path: Path, state: dict[str, Any] | None = STATE) -> tuple[Path, Path, Path]:
    src = tmp_path / "src"
    write_rollout(src, 1, cwd="/old/projects/app")
    write_rollout(src, 2, cwd="/old/projects/lib")
    write_rollout(src, 3, cwd="/old/gone/scratch")
    new = tmp_path / "new"
    (new / "app").mkdir(parents=True)
    (new / "lib").mkdir()
    target = tmp_path / "target"
    target.mkdir()
    if state is not None:
        (target / GLOBAL_STATE).write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n")
    return src, new, target


def _import(src: Path, new: Path, target: Path, *extra: str, code: int = 0) -> dict[str, Any]:
    return _run(
        "import", str(src), "--codex-home", str(target), "--no-codex",
        "--map", f"/old/projects={new}", "--history-only", "/old/gone", *extra, code=code,
    )  # fmt: skip


def test_import_registers_projects_keeping_everything_else(tmp_path: Path) -> None:
    src, new, target = _homes(tmp_path)
    out = _import(src, new, target)
    assert GLOBAL_STATE in out["report"]["home_files"]
    got = json.loads((target / GLOBAL_STATE).read_text())
    roots = [str(new / "app"), str(new / "lib")]
    assert list(got) == list(STATE), "key order kept"
    for place in (got, got[ATOM_KEY]):
        for key in ("electron-saved-workspace-roots", "project-order"):
            assert place[key] == ["/Users/me/elsewhere", *roots], key
    assert list(got[ATOM_KEY]) == list(STATE[ATOM_KEY])
    expected = json.loads(json.dumps(STATE))
    for place in (expected, expected[ATOM_KEY]):
        for key in ("electron-saved-workspace-roots", "project-order"):
            place[key] = place[key] + roots
    assert got == expected, "nothing else changed"
    assert (target / GLOBAL_STATE).read_text().startswith('{\n  "window-bounds"'), "style kept"

    # undoing the import restores the Desktop's file byte for byte
    before = json.dumps(STATE, indent=2, ensure_ascii=False) + "\n"
    tx = out["report"]["transaction_id"]
    undo = CliRunner().invoke(
        cli, ["transactions", "rollback", tx, "--codex-home", str(target), "--yes"]
    )
    assert undo.exit_code == 0, undo.output
    assert (target / GLOBAL_STATE).read_text() == before


def test_a_failed_import_restores_the_desktop_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, new, target = _homes(tmp_path)
    before = tree_state(target)
    monkeypatch.setattr(
        "codex_migrate.verify.verify_written", lambda *a, **k: ["simulated failure"]
    )
    args = ["import", str(src), "--codex-home", str(target), "--no-codex", "--yes"]
    result = CliRunner().invoke(
        cli, [*args, "--map", f"/old/projects={new}", "--history-only", "/old/gone"]
    )
    assert result.exit_code != 0
    after = tree_state(target)
    assert after[GLOBAL_STATE] == before[GLOBAL_STATE]
    assert "codex-migrate/choices.json" not in after


def test_no_desktop_file_none_created(tmp_path: Path) -> None:
    src, new, target = _homes(tmp_path, state=None)
    _import(src, new, target)
    assert not (target / GLOBAL_STATE).exists()


def test_rebind_replaces_the_old_root(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_rollout(home, 1, cwd="/old/projects/app")
    new = tmp_path / "new"
    (new / "app").mkdir(parents=True)
    state = {
        "electron-saved-workspace-roots": ["/old/projects/app", "/x"],
        "project-order": ["/x", "/old/projects/app"],
        ATOM_KEY: {"electron-saved-workspace-roots": ["/old/projects/app"], "other": 1},
    }
    (home / GLOBAL_STATE).write_text(json.dumps(state, separators=(",", ":")))
    _run("rebind", "--codex-home", str(home), "--map", f"/old/projects={new}")
    got_text = (home / GLOBAL_STATE).read_text()
    got = json.loads(got_text)
    app = str(new / "app")
    assert got["electron-saved-workspace-roots"] == [app, "/x"]
    assert got["project-order"] == ["/x", app]
    assert got[ATOM_KEY] == {
        "electron-saved-workspace-roots": [app],
        "other": 1,
        "project-order": [app],
    }
    assert "\n" not in got_text, "compact stays compact"


def test_history_only_is_a_note_and_a_missing_folder_nobody_chose_a_problem(
    tmp_path: Path,
) -> None:
    src, new, target = _homes(tmp_path)
    _import(src, new, target, "--history-only", "/old/gone")
    choices = json.loads((target / "codex-migrate" / "choices.json").read_text())
    assert choices["history_only"] == {tid(3): "/old/gone/scratch"}
    report = _run("doctor", "--codex-home", str(target), code=0)
    notes = [f for t in report["threads"] for f in t["findings"] if f["code"] == "history-only"]
    assert len(notes) == 1 and "kept as history" in notes[0]["message"]
    assert not any(f["code"] == "cwd-missing" for t in report["threads"] for f in t["findings"])

    # a folder that goes missing later, nobody chose: still a problem
    write_rollout(target, 4, cwd="/old/never/chosen")
    report = _run("doctor", "--codex-home", str(target), code=1)
    codes = {f["code"] for t in report["threads"] for f in t["findings"]}
    assert "cwd-missing" in codes and "history-only" in codes


def test_doctor_notes_a_mapped_project_missing_from_the_desktop(tmp_path: Path) -> None:
    src, new, target = _homes(tmp_path)
    _import(src, new, target)
    assert not any(
        f["code"] == "desktop-project-missing"
        for f in _run("doctor", "--codex-home", str(target))["home_findings"]
    )
    state = json.loads((target / GLOBAL_STATE).read_text())
    state["electron-saved-workspace-roots"].remove(str(new / "lib"))  # the user removed it
    (target / GLOBAL_STATE).write_text(json.dumps(state))
    found = _run("doctor", "--codex-home", str(target))["home_findings"]
    assert [f["message"] for f in found if f["code"] == "desktop-project-missing"] == [
        f"project {new / 'lib'} is not in the Desktop's list"
    ]


def test_the_ui_doctor_agrees_history_only_is_a_note(tmp_path: Path) -> None:
    from codex_migrate.ui.views.doctor import NOTHING, read_view

    src, new, target = _homes(tmp_path)
    _import(src, new, target, "--history-only", "/old/gone")
    view = read_view(target)
    assert view.summary["problems"] == 0, view.summary
    assert view.repair_findings == 0 and view.manual_findings == 0
    routes = {(t.diagnosis.id, f.code): f.route for t in view.flagged for f in t.findings}
    assert routes[(tid(3), "history-only")] == NOTHING


def test_a_lone_surrogate_in_a_path_or_name_is_written_as_its_json_escape(tmp_path: Path) -> None:
    """A cwd or thread name holding a ``\\ud800`` escape (valid JSON: a lone surrogate, which
    UTF-8 cannot encode) is written into choices.json and session_index.jsonl as that same
    escape (the same value), instead of failing the import with a UnicodeEncodeError."""
    src = tmp_path / "src"
    path = write_rollout(src, 1, cwd="/Users/alex/Projects/appXSURR")
    path.write_text(path.read_text().replace("XSURR", "\\ud800"))
    (src / "session_index.jsonl").write_text(
        f'{{"id":"{tid(1)}","thread_name":"name \\ud83d","updated_at":"2026-03-04T10:20:30Z"}}\n'
    )
    target = tmp_path / "target"
    # the real command line: its streams escape what they cannot encode (CliRunner's do not)
    command = [sys.executable, "-m", "codex_migrate", "import", str(src), "--codex-home"]
    command += [str(target), "--map", "/Users/alex/Projects=/n", "--yes", "--no-codex", "--json"]
    result = subprocess.run(command, capture_output=True, timeout=60)
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    choices = (target / "codex-migrate" / "choices.json").read_bytes()
    assert "/n/app\ud800" in json.loads(choices.decode("utf-8"))["mapped_projects"]
    index = (target / "session_index.jsonl").read_bytes().decode("utf-8")
    assert json.loads(index)["thread_name"] == "name \ud83d"
