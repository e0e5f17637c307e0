"""`export-html|export-md --dry-run`: the files an export would write or skip, and no writes.

Every plan is taken under a snapshot of the home and of the output's parent; the export with the
same arguments then proves the names and the skip decisions were exact.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from codex_migrate.catalog import build_catalog
from codex_migrate.cli import cli
from codex_migrate.cli.export import export_html, export_md
from codex_migrate.errors import EXIT_FAILURE, EXIT_USAGE, CodexMigrateError
from codex_migrate.export.api import Selection, export_threads
from codex_migrate.export.dry_run import ExportPlan, plan_export
from codex_migrate.home import open_home
from tests.homes import tree_state
from tests.test_export_sessions import Rollout, full_session, home_with, tid

LEGACY_ID = "7f3e9a10-2222-7000-8000-000000000002"
SECRET = "sk-proj-Zx8Qm2Lp4Rt6Vb8Nc0Xa2Sd4Fg6Hj8Kl0Qw2Er4Ty6"  # fake, valid nowhere
ALL = Selection(all=True)


@pytest.fixture(autouse=True)
def _registered() -> None:
    cli.add_command(export_html)
    cli.add_command(export_md)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Three eras, one thread with an image, one whose title would carry a secret."""
    a = full_session("paginated", 1, cwd="/Users/alex/Projects/app")
    b = Rollout("legacy", LEGACY_ID, "/Users/alex/Projects/app/").user("legacy q").assistant("a")
    c = Rollout("bare", tid(3), "/Users/alex/Projects/other").user("bare q").assistant("b")
    d = Rollout("paginated", tid(4)).user(f"use the key {SECRET} please").assistant("ok")
    return home_with(tmp_path / "src", a, b, c, d, names={tid(1): "Screenshot fix"})


@contextmanager
def unchanged(*roots: Path) -> Iterator[None]:
    """Every file and folder under ``roots`` (content, mode, mtime) is the same afterwards."""
    before = {r: tree_state(r) for r in roots}
    yield
    assert {r: tree_state(r) for r in roots} == before


def plan(home: Path, watch: Path, fmt: str, out: Path, **kw: Any) -> ExportPlan:
    """A plan taken while the home and ``watch`` (a folder holding the output) are watched."""
    catalog = build_catalog(open_home(home))
    with unchanged(home, watch):
        return plan_export(catalog, kw.pop("selection", ALL), fmt, out, **kw)


def export(home: Path, fmt: str, out: Path, **kw: Any) -> Any:
    catalog = build_catalog(open_home(home))
    return export_threads(catalog, kw.pop("selection", ALL), fmt, out, **kw)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


CASES = [
    pytest.param("html", {}, id="html"),
    pytest.param("md", {"md_images": "files"}, id="md-files"),
    pytest.param("md", {"md_images": "inline"}, id="md-inline"),
    pytest.param("html", {"redact": True}, id="html-redact"),
]


@pytest.mark.parametrize("fmt,kw", CASES)
def test_plan_names_exactly_the_files_the_export_writes(
    home: Path, tmp_path: Path, fmt: str, kw: dict[str, Any]
) -> None:
    out = tmp_path / "out" / "nested"
    p = plan(home, tmp_path, fmt, out, **kw)
    assert not (tmp_path / "out").exists() and p.creates_output_dir
    assert p.ok and [t.action for t in p.threads] == ["write"] * 4

    report = export(home, fmt, out, **kw)
    assert report.ok
    assert [(t.thread_id, t.path, t.title) for t in p.threads] == [
        (f.thread_id, f.path, f.title) for f in report.files
    ]
    for t, f in zip(p.threads, report.files, strict=True):
        if fmt == "md" and kw["md_images"] == "files":
            assert t.images_dir == str(Path(t.path).with_name(Path(t.path).stem + "_files"))
            assert all(Path(a).parent == Path(t.images_dir) for a in f.assets)
        else:
            assert t.images_dir is None and not f.assets
    assert any(f.assets for f in report.files) == (fmt == "md" and kw["md_images"] == "files")
    (keyed,) = [Path(t.path).name for t in p.threads if t.thread_id == tid(4)]
    assert keyed.startswith("use-the-key-redacted-" if kw.get("redact") else "use-the-key-sk-proj-")


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_existing_files_are_skips_and_with_overwrite_replaces(
    home: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out"
    export(home, fmt, out, selection=Selection(thread_ids=(tid(1),)))
    p = plan(home, tmp_path, fmt, out)
    assert not p.ok and not p.creates_output_dir
    assert [t.action for t in p.threads].count("skip") == 1

    real = export(home, fmt, out)  # writes the other three, skips the first
    (skip,) = [t for t in p.threads if t.action == "skip"]
    assert [(s.thread_id, s.path, s.reason) for s in real.skipped] == [
        (skip.thread_id, skip.path, skip.reason)
    ]
    p = plan(home, tmp_path, fmt, out, overwrite=True)
    assert p.ok and {t.action for t in p.threads} == {"replace"}
    (first,) = [t for t in p.threads if t.thread_id == tid(1)]
    expected = [first.path] + ([first.images_dir] if fmt == "md" else [])
    assert first.replaces == expected  # its image folder goes too


def test_an_image_folder_alone_is_in_the_way_of_markdown_only(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    stem = f"legacy-q-{LEGACY_ID}"
    (out / f"{stem}_files").mkdir(parents=True)
    one = Selection(thread_ids=(LEGACY_ID,))
    (md,) = plan(home, tmp_path, "md", out, selection=one).threads
    assert md.action == "skip" and f"{stem}_files exists" in (md.reason or "")
    (html,) = plan(home, tmp_path, "html", out, selection=one).threads
    assert html.action == "write"
    assert export(home, "md", out, selection=one).skipped[0].reason == md.reason


def test_an_unreadable_rollout_is_a_skip_like_in_the_export(home: Path, tmp_path: Path) -> None:
    catalog = build_catalog(open_home(home))
    (thread,) = [t for t in catalog.threads if t.id == tid(3)]
    thread.rollout_path.unlink()
    out = tmp_path / "out"
    with unchanged(home, tmp_path):
        p = plan_export(catalog, ALL, "html", out)
    (gone,) = [t for t in p.threads if t.action == "skip"]
    assert gone.thread_id == tid(3) and (gone.reason or "").startswith("could not export:")
    real = export_threads(catalog, ALL, "html", out)
    assert [(s.thread_id, s.path, s.reason) for s in real.skipped] == [
        (gone.thread_id, gone.path, gone.reason)
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_rollout_the_catalog_could_not_read_is_a_skip_of_all_like_in_the_export(
    home: Path, tmp_path: Path
) -> None:
    """A file named like a rollout that cannot be read at all (here a FIFO) is named by an
    export of everything; its dry run names it the same way, not passing over it."""
    day = home / "sessions" / "2026" / "03" / "04"
    day.mkdir(parents=True, exist_ok=True)
    os.mkfifo(day / f"rollout-2026-03-04T10-00-00-{tid(9)}.jsonl")
    catalog = build_catalog(open_home(home))
    assert catalog.unreadable
    out = tmp_path / "out"
    with unchanged(home, tmp_path):
        p = plan_export(catalog, ALL, "html", out)
    skips = [(t.thread_id, t.path, t.reason) for t in p.threads if t.action == "skip"]
    real = export_threads(catalog, ALL, "html", out)
    assert skips == [(s.thread_id, s.path, s.reason) for s in real.skipped]
    assert [s[0] for s in skips] == [tid(9)]
    assert not p.ok and not real.ok
    # one thread chosen by id: the unreadable file is not part of that export
    one = Selection(thread_ids=[tid(1)])
    assert [t.action for t in plan_export(catalog, one, "html", tmp_path / "o1").threads] == [
        "write"
    ]


def test_a_file_where_the_folder_must_be_fails_like_the_export(home: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    for out in (blocker, blocker / "below"):
        with pytest.raises(CodexMigrateError, match="Cannot create the output folder"):
            plan(home, tmp_path, "html", out)
        with pytest.raises(CodexMigrateError, match="Cannot create the output folder"):
            export(home, "html", out)


def test_cli_dry_run_lists_the_files_and_writes_nothing(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    base = ["--codex-home", str(home), "--all", "-o", str(out), "--dry-run"]
    with unchanged(home, tmp_path):
        result = invoke("export-md", *base)
        assert result.exit_code == 0, result.output
        stem = f"screenshot-fix-{tid(1)}"
        assert f"Dry run: 4 threads as Markdown to {out} (the folder would be created)" in (
            result.output
        )
        assert f"  write    {stem}.md  (images, if any, in {stem}_files/)" in result.output
        assert "4 to write, 0 to replace, 0 to skip. Nothing was written (dry run)." in (
            result.output
        )
        result = invoke("export-html", *base, "--json", "--redact")
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["dry_run"] is True and data["format"] == "html" and data["images"] is None
        assert data["write"] == 4 and data["creates_output_dir"] is True
        keys = {"thread_id", "title", "path", "action", "reason", "images_dir", "replaces"}
        assert all(set(t) == keys for t in data["threads"])
        assert SECRET not in result.output
        bad = invoke("export-html", "--codex-home", str(home), "--thread", "ffff", "--dry-run")
        assert bad.exit_code == EXIT_USAGE and "no thread with id 'ffff'" in bad.output
    assert not out.exists()


def test_cli_dry_run_exits_as_the_export_would(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("export-html", "--codex-home", str(home), "--all", "-o", str(out)).exit_code == 0
    args = ["export-html", "--codex-home", str(home), "--all", "-o", str(out), "--dry-run"]
    with unchanged(home, tmp_path):
        result = invoke(*args)
        assert result.exit_code == EXIT_FAILURE  # every file exists: the export would fail
        assert f"  skip     legacy-q-{LEGACY_ID}.html  (" in result.output
        assert "pass --overwrite to replace it" in result.output
        result = invoke(*args, "--overwrite", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["replace"] == 4
