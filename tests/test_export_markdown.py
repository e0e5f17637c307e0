"""The Markdown export: the same content as the HTML one, tools fenced, images beside or inline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codex_migrate.export.api import Selection, export_threads
from codex_migrate.export.markdown import code_span, fence
from tests.test_export_sessions import (
    ERAS,
    TINY_PNG,
    TINY_PNG_URL,
    Rollout,
    catalog_of,
    full_session,
    home_with,
    tid,
)


def export_md(tmp_path: Path, rollout: Rollout, **kw: object) -> tuple[str, Path]:
    home = home_with(tmp_path, rollout)
    out = tmp_path / "out"
    report = export_threads(catalog_of(home), Selection(all=True), "md", out, **kw)  # type: ignore[arg-type]
    assert report.ok, report.skipped
    path = Path(report.files[0].path)
    return path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize("era", ERAS)
def test_same_content_as_html(tmp_path: Path, era: str) -> None:
    doc, path = export_md(tmp_path, full_session(era))
    body = doc.split("\n---\n", 1)[1]
    for text in (
        "Please look at this screenshot",
        "Now fix the bug in main.py",
        "The folder holds `main.py`.\n\n- one\n- two",
        "Fixed it; one test still fails.",
    ):
        assert body.count(text) == 1, text
    assert body.count("**You:**") == 2 and body.count("**Codex:**") == 2
    assert "```sh\n$ ls -la src\n```" in body
    assert "```text\ntotal 8\n" in body
    assert "```diff\n*** Begin Patch" in body
    assert "**Shell** · exit 1" in body
    assert "**MCP** · `docs.lookup`" in body
    assert "<summary>Reasoning summary</summary>" in body
    assert "<summary>Instructions and context Codex added" in body
    # The image was written beside the file and linked relatively.
    image = path.parent / f"{path.stem}_files" / "image-001.png"
    assert image.read_bytes() == TINY_PNG
    assert f"]({path.stem}_files/image-001.png)" in body


def test_inline_images(tmp_path: Path) -> None:
    doc, path = export_md(tmp_path, full_session("legacy"), md_images="inline")
    assert f"]({TINY_PNG_URL})" in doc
    assert not (path.parent / f"{path.stem}_files").exists()


def test_fences_cannot_be_broken() -> None:
    hostile = "```\n# not a heading\n````\n"
    block = fence(hostile, "text")
    assert block.startswith("`````text\n") and block.endswith("\n`````\n")
    assert code_span("a `b` c") == "``a `b` c``"
    assert code_span("`x`") == "`` `x` ``"


def test_tool_output_with_fences_stays_inside(tmp_path: Path) -> None:
    r = Rollout("legacy", tid(3)).user("show")
    r.shell("cat README.md", "```\n# Heading from a file\n```\n").assistant("ok")
    doc, _ = export_md(tmp_path, r)
    assert "````text\n```\n# Heading from a file\n```\n````" in doc
    assert not re.search(r"^# Heading from a file", doc.split("````text", 1)[0], re.M)


def test_overwrite_replaces_images(tmp_path: Path) -> None:
    home = home_with(tmp_path, full_session("paginated"))
    out = tmp_path / "out"
    catalog = catalog_of(home)
    first = export_threads(catalog, Selection(all=True), "md", out)
    again = export_threads(catalog, Selection(all=True), "md", out)
    assert not again.files and "exists" in again.skipped[0].reason
    replaced = export_threads(catalog, Selection(all=True), "md", out, overwrite=True)
    assert [f.path for f in replaced.files] == [f.path for f in first.files]
    assert len(replaced.files[0].assets) == 1
