"""The CLI and the web UI are two faces of one service: the same import (and the same rebind,
and the same sync) through each, on identical homes, leaves identical homes; and the UI's home
page, its Doctor screen and ``codex-migrate doctor --json`` count the same problems.

Identical means: every session file, ``session_index.jsonl`` and ``history.jsonl`` with the
same bytes and mtime, and every row of the state DB and the turn index equal, times included
(the homes' own folder, which differs, is replaced by ``<ROOT>`` before comparing).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from codex_migrate.service import home_catalog, home_summary
from codex_migrate.statedb import connect_readonly
from codex_migrate.ui.server import Demo, build_demo
from tests.test_ui_support import Client, copied_home, text_of, ui_server

MAC = "/Users/alex/Projects"
COMPARED = ("sessions", "archived_sessions", "session_index.jsonl", "history.jsonl")


#: Files appended to at write time: their bytes must agree, their mtime is the clock's.
APPENDED = ("session_index.jsonl", "history.jsonl")


def _neutral(text: str, roots: tuple[Path, ...]) -> str:
    for root in roots:
        text = text.replace(str(root), "<ROOT>")
    return text


def _files(home: Path, *roots: Path) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for top in COMPARED:
        base = home / top
        paths = [base] if base.is_file() else sorted(base.rglob("*")) if base.is_dir() else []
        for p in paths:
            if p.is_file():
                data = _neutral(p.read_bytes().decode("utf-8", "surrogateescape"), roots)
                mtime = 0 if p.name in APPENDED else p.stat().st_mtime_ns
                out[str(p.relative_to(home))] = (data, mtime)
    return out


def _rows(home: Path, *roots: Path) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for db in sorted(home.glob("*.sqlite")):
        if not db.name.startswith(("state_", "thread_history_")):
            continue
        with connect_readonly(db) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' "
                    "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'"
                )
            ]
            for table in tables:
                rows = [
                    tuple(_neutral(v, roots) if isinstance(v, str) else v for v in row)
                    for row in conn.execute(f"SELECT * FROM {table}")
                ]
                out[f"{db.name}:{table}"] = sorted(rows, key=repr)
    return out


def _twin_demos(tmp: Path) -> tuple[Demo, Demo]:
    """One demo built, then copied with its times: two identical starting points."""
    a = build_demo(tmp / "a")
    shutil.copytree(a.root, tmp / "b", symlinks=True, copy_function=shutil.copy2)
    b = Demo(
        tmp / "b",
        tmp / "b" / "copied-from-mac",
        tmp / "b" / "this-computer" / ".codex",
        tmp / "b" / "this-computer" / "code",
    )
    return a, b


def _digest(html: str) -> str:
    m = re.search(r'name="confirm" value="([^"]+)"', html)
    assert m, text_of(html)[:2000]
    return m.group(1)


def _ui_import(demo: Demo, codex_bin: Path | None) -> str:
    with ui_server(demo.codex_home, demo=demo, codex_bin=codex_bin) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        client.post("/migrate/source", {"source": str(demo.source)})
        preview = client.post(
            "/migrate/map",
            {"rule_old": MAC, "rule_new": str(demo.projects), "action": "preview"},
        )
        first = client.post("/migrate/apply", {"confirm": _digest(preview.text)}, follow=False)
        done = client.wait_job(client.get(first.location or ""))
        assert "Import finished" in done.text, text_of(done.text)[:2000]
        return done.text


def _cli_import(demo: Demo, codex_bin: Path | None) -> dict[str, Any]:
    codex = ["--codex-bin", str(codex_bin)] if codex_bin else ["--no-codex"]
    result = CliRunner().invoke(
        cli,
        [
            "import",
            str(demo.source),
            "--codex-home",
            str(demo.codex_home),
            "--map",
            f"{MAC}={demo.projects}",
            "--yes",
            "--json",
            *codex,
        ],
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def _same_homes(a: Demo, b: Demo) -> None:
    assert _files(a.codex_home, a.root, b.root) == _files(b.codex_home, a.root, b.root)
    assert _rows(a.codex_home, a.root, b.root) == _rows(b.codex_home, a.root, b.root)


def test_import_through_the_cli_and_the_ui_gives_the_same_home(tmp_path: Path) -> None:
    ui_demo, cli_demo = _twin_demos(tmp_path)
    _ui_import(ui_demo, None)
    data = _cli_import(cli_demo, None)
    assert data["report"]["transaction_id"]
    assert _files(ui_demo.codex_home, ui_demo.root), "something was imported"
    _same_homes(ui_demo, cli_demo)


#: What Codex itself stamps with the clock while it registers threads (``thread/name/set``
#: appends names with its own ``updated_at``; an archived thread's unarchive → archive round
#: trip): compared without these, everything else must be identical.
CLOCK_COLUMNS = {"updated_at", "updated_at_ms", "recency_at", "recency_at_ms", "archived_at"}


def _without_clock(home: Path, *roots: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    files = {k: v[0] for k, v in _files(home, *roots).items() if k != "session_index.jsonl"}
    names: dict[str, str] = {}
    index = home / "session_index.jsonl"
    for line in index.read_text().splitlines() if index.exists() else []:
        entry = json.loads(line)
        names[entry["id"]] = entry["thread_name"]
    files["session_index.jsonl"] = names
    rows: dict[str, Any] = {}
    for db in sorted(home.glob("state_*.sqlite")):
        with connect_readonly(db) as conn:
            cols = [r[1] for r in conn.execute("PRAGMA table_info(threads)")]
            keep = [c for c in cols if c not in CLOCK_COLUMNS]
            for row in conn.execute(f"SELECT {', '.join(keep)} FROM threads"):
                values = dict(zip(keep, row, strict=True))
                rows[values["id"]] = {
                    k: _neutral(v, roots) if isinstance(v, str) else v for k, v in values.items()
                }
    return files, rows


@pytest.mark.codex
def test_import_with_codex_registration_gives_the_same_home(
    tmp_path: Path, codex_bin_new: Path
) -> None:
    ui_demo, cli_demo = _twin_demos(tmp_path)
    _ui_import(ui_demo, codex_bin_new)
    data = _cli_import(cli_demo, codex_bin_new)
    assert data["codex_registration"]["codex"] == str(codex_bin_new)
    roots = (ui_demo.root, cli_demo.root)
    ui_files, ui_rows = _without_clock(ui_demo.codex_home, *roots)
    cli_files, cli_rows = _without_clock(cli_demo.codex_home, *roots)
    assert ui_files == cli_files
    assert ui_rows and ui_rows == cli_rows


def test_rebind_through_the_cli_and_the_ui_gives_the_same_home(tmp_path: Path) -> None:
    # A copied home records absolute paths of where it was built: both faces run at that same
    # place, one after the other, from the same snapshot of it.
    work = tmp_path / "work"
    copied = copied_home(work)
    shutil.copytree(work, tmp_path / "snapshot", symlinks=True, copy_function=shutil.copy2)

    with ui_server(copied.home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        preview = client.post(
            "/repair", {"rule_old": MAC, "rule_new": str(copied.projects), "action": "preview"}
        )
        posted = client.post("/repair/apply", {"confirm": _digest(preview.text)}, follow=False)
        done = client.wait_job(client.get(posted.location or ""))
        assert "Repair finished" in done.text, text_of(done.text)[:2000]
    ui_files, ui_rows = _files(copied.home), _rows(copied.home)

    shutil.rmtree(work)
    shutil.copytree(tmp_path / "snapshot", work, symlinks=True, copy_function=shutil.copy2)
    result = CliRunner().invoke(
        cli,
        ["rebind", "--codex-home", str(copied.home), "--map", f"{MAC}={copied.projects}", "--yes"],
    )
    assert result.exit_code == 0, result.output
    assert ui_files == _files(copied.home)
    assert ui_rows == _rows(copied.home)


@pytest.mark.parametrize("kind", ["demo", "copied"])
def test_home_page_doctor_and_doctor_json_count_the_same(tmp_path: Path, kind: str) -> None:
    home = build_demo(tmp_path).source if kind == "demo" else copied_home(tmp_path).home
    result = CliRunner().invoke(cli, ["doctor", "--codex-home", str(home), "--json"])
    summary = json.loads(result.output)["summary"]
    counts = home_summary(home_catalog(home))
    assert (counts.problems, counts.notes) == (summary["problems"], summary["notes"])
    with ui_server(home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        index = text_of(client.get("/").text)
        doctor = text_of(client.get("/doctor").text)
    shown = re.search(r"Problems found (\d+)", index)
    assert shown and int(shown.group(1)) == summary["problems"], index[:1500]
    assert str(summary["problems"]) in doctor


def _damage(home: Path) -> dict[str, str]:
    """A few bad files beside the good ones (the hostile suite's shapes): a crash-cut last line,
    bytes that are not UTF-8, one huge line, a corrupt ``.zst`` and a folder named like a
    rollout. Returns each one's path relative to the home."""
    import zstandard

    from tests.hostile.test_damaged import binary_line, cut_last_line
    from tests.hostile.test_rollouts import _good_text

    rollouts = sorted(home.glob("sessions/2026/*/*/rollout-*.jsonl"))
    cut, binary, huge = rollouts[:3]
    cut_last_line(cut)
    binary_line(binary)
    lines = huge.read_bytes().splitlines(keepends=True)
    huge.write_bytes(
        lines[0] + b'{"type":"event_msg","x":"' + b"y" * (3 << 20) + b"\n" + b"".join(lines[1:])
    )
    day = home / "sessions" / "2026" / "03" / "04"
    day.mkdir(parents=True, exist_ok=True)
    zst = day / "rollout-2026-03-04T10-00-00-019a6f3c-0a0a-7a0a-8a0a-000000000a0a.jsonl.zst"
    data = bytearray(zstandard.ZstdCompressor().compress(_good_text().encode() * 50))
    data[20:60] = b"\xff" * 40
    zst.write_bytes(bytes(data))
    folder = day / "rollout-2026-03-04T11-00-00-019a6f3c-0b0b-7b0b-8b0b-000000000b0b.jsonl"
    folder.mkdir()
    return {
        name: str(p.relative_to(home))
        for name, p in (
            ("cut", cut),
            ("binary", binary),
            ("huge", huge),
            ("zst", zst),
            ("folder", folder),
        )
    }


def test_scan_doctor_and_the_home_page_show_the_same_findings(tmp_path: Path) -> None:
    """On a copied home with bad files: ``scan --json``, ``scan``'s text, ``doctor --json``, the
    UI's home page and its Doctor screen report the same finding codes with the same counts,
    and every bad file is named relative to the home."""
    home = copied_home(tmp_path).home
    bad = _damage(home)

    scan = CliRunner().invoke(cli, ["scan", str(home), "--json"])
    assert scan.exit_code == 0, scan.output
    scanned = json.loads(scan.output)
    doctor = CliRunner().invoke(cli, ["doctor", "--codex-home", str(home), "--json"])
    doctored = json.loads(doctor.output)

    counts = {code: g["count"] for code, g in scanned["by_code"].items()}
    assert counts == {code: g["count"] for code, g in doctored["by_code"].items()}
    assert "unreadable-lines" in counts and "unreadable-file" in counts, counts
    listed: dict[str, int] = {}
    for f in scanned["findings"]:
        listed[f["code"]] = listed.get(f["code"], 0) + 1
        assert set(f) == {"code", "severity", "thread", "file", "message", "fix"}
        assert not (f["file"] or "").startswith(str(home)), f
    assert listed == counts
    problems = scanned["summary"]["problems"]
    assert (problems, scanned["summary"]["notes"]) == (
        doctored["summary"]["problems"],
        doctored["summary"]["notes"],
    )
    files = {f["file"] for f in scanned["findings"]}
    assert set(bad.values()) <= files, (bad, files)
    damaged = {f["file"] for f in scanned["findings"] if f["code"] == "unreadable-lines"}
    assert {bad["cut"], bad["binary"], bad["huge"]} <= damaged

    text = CliRunner().invoke(cli, ["scan", str(home)])
    assert f"Problems found ({problems}):" in text.output, text.output
    for code, n in counts.items():
        assert f"  {code} × {n}: " in text.output, (code, text.output)
    for rel in bad.values():
        assert rel in text.output, rel

    # The same files read as a source (Migrate's step 1) are counted as `scan` counts them.
    source = tmp_path / "source"
    shutil.copytree(home, source, symlinks=True)
    of_source = json.loads(CliRunner().invoke(cli, ["scan", str(source), "--json"]).output)

    with ui_server(home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        index = client.get("/").text
        doctor_page = client.get("/doctor").text
        step1 = client.wait_job(client.post("/migrate/source", {"source": str(source)})).text
    shown = dict(re.findall(r'data-finding-code="([^"]+)" data-count="(\d+)"', index))
    assert {c: int(n) for c, n in shown.items()} == counts
    found = re.search(r"Problems found (\d+)", text_of(index))
    assert found and int(found.group(1)) == problems
    assert set(re.findall(r'<tr data-code="([^"]+)"', doctor_page)) == set(counts)
    shown = dict(re.findall(r'data-finding-code="([^"]+)" data-count="(\d+)"', step1))
    assert {c: int(n) for c, n in shown.items()} == {
        c: g["count"] for c, g in of_source["by_code"].items()
    }, text_of(step1)[:1500]


def _sync_twins(tmp: Path) -> tuple[Any, Any]:
    """Two identical copies of side B of tests/test_sync.py, with the Mac's part delivered."""
    from tests.homes import write_rollout
    from tests.test_sync import MAC_ROOT, Side, deliver

    a = Side(tmp / "A", "mac", MAC_ROOT)
    write_rollout(a.home, 1, cwd=f"{MAC_ROOT}/app")
    write_rollout(a.home, 2, cwd=f"{MAC_ROOT}/lib", era="legacy")
    write_rollout(a.home, 3, cwd="/Users/alex/elsewhere")
    a.sync()
    ui_side = Side(tmp / "B1", "linux", str(tmp / "B1" / "code"))
    (tmp / "B1" / "code" / "app").mkdir(parents=True)
    write_rollout(ui_side.home, 9, cwd=str(tmp / "B1" / "code" / "app"))
    deliver(a, ui_side)
    shutil.copytree(ui_side.base, tmp / "B2", symlinks=True, copy_function=shutil.copy2)
    cli_side = Side.__new__(Side)
    cli_side.__dict__.update(ui_side.__dict__)
    cli_side.base, cli_side.root = tmp / "B2", str(tmp / "B2" / "code")
    cli_side.home, cli_side.folder = tmp / "B2" / "codex-home", tmp / "B2" / "Sync" / "codex"
    return ui_side, cli_side


def test_sync_through_the_cli_and_the_ui_gives_the_same_home(tmp_path: Path) -> None:
    ui_side, cli_side = _sync_twins(tmp_path)
    with ui_server(ui_side.home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.sign_in()
        client.post("/sync", {"folder": str(ui_side.folder), "action": "open"})
        preview = client.post(
            "/sync",
            {
                "folder": str(ui_side.folder),
                "machine": "linux",
                "root_name": "code",
                "root_path": ui_side.root,
                "action": "preview",
            },
        )
        posted = client.post("/sync/apply", {"confirm": _digest(preview.text)}, follow=False)
        done = client.wait_job(client.get(posted.location or ""))
        assert 'data-sync-result="done"' in done.text, text_of(done.text)[:2000]
    out = cli_side.sync()
    assert out["pull"][0]["summary"]["import"] == 3
    roots = (ui_side.base, cli_side.base)
    assert _files(ui_side.home, *roots) == _files(cli_side.home, *roots)
    assert _rows(ui_side.home, *roots) == _rows(cli_side.home, *roots)
    assert len(_files(ui_side.home, *roots)) >= 4, "the three threads came in"
    # and what this machine published into the shared folder is the same too
    mine = "machines/linux"
    published = _files(ui_side.folder / mine, *roots)
    assert published and published == _files(cli_side.folder / mine, *roots)


def test_what_remains_after_a_repair_is_worded_by_code(tmp_path: Path) -> None:
    """Repair's result lists what verification still finds as findings with doctor's codes,
    worded in the page's language (the engine's English under Technical details), and the
    CLI's --json names the same codes."""
    from codex_migrate.translations import translations
    from codex_migrate.ui.plain import plain
    from tests.hostile.test_damaged import cut_last_line
    from tests.test_ui_support import confirm_token

    copied = copied_home(tmp_path / "work")
    cut_last_line(sorted(copied.home.glob("sessions/2026/*/*/rollout-*.jsonl"))[0])
    shutil.copytree(tmp_path / "work", tmp_path / "snapshot", symlinks=True)
    with ui_server(copied.home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.accept_language = "zh-CN"
        client.sign_in()
        preview = client.post(
            "/repair", {"rule_old": MAC, "rule_new": str(copied.projects), "action": "preview"}
        )
        posted = client.post("/repair/apply", {"confirm": confirm_token(preview.text)})
        done = client.wait_job(posted)
    shown = set(re.findall(r'<li data-finding-code="([^"]+)"', done.text))
    assert "unreadable-lines" in shown, text_of(done.text)[:2000]
    meaning = translations("zh_Hans").gettext(plain("unreadable-lines").meaning)
    assert meaning in text_of(done.text)

    shutil.rmtree(tmp_path / "work")
    shutil.copytree(tmp_path / "snapshot", tmp_path / "work", symlinks=True)
    result = CliRunner().invoke(
        cli,
        [
            *("rebind", "--codex-home", str(copied.home)),
            *("--map", f"{MAC}={copied.projects}", "--yes", "--json"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {f["code"] for f in data["findings"]} == shown
    assert len(data["findings"]) == len(data["problems"])
