"""The HTML export: one self-contained, escaped page per thread with each message once."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from markupsafe import escape

from codex_migrate.export.api import Selection, export_thread, export_threads
from codex_migrate.export.html import content_security_policy, render_markdown
from tests.test_export_sessions import (
    ERAS,
    TINY_PNG,
    TINY_PNG_URL,
    Rollout,
    catalog_of,
    full_session,
    home_with,
    norm,
    parse_export,
    texts,
    tid,
)


def export_one(tmp_path: Path, rollout: Rollout, name: str | None = None, **kw: object) -> str:
    home = home_with(tmp_path, rollout, names={rollout.id: name} if name else None)
    catalog = catalog_of(home)
    report = export_threads(catalog, Selection(all=True), "html", tmp_path / "out", **kw)  # type: ignore[arg-type]
    assert report.ok, report.skipped
    (exported,) = report.files
    return Path(exported.path).read_text(encoding="utf-8")


def main_part(page: str) -> str:
    return page.split("<main>", 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize("era", ERAS)
def test_each_message_once_in_order(tmp_path: Path, era: str) -> None:
    page = export_one(tmp_path, full_session(era))
    parsed = parse_export(page)
    assert texts(parsed, "user") == ["Please look at this screenshot", "Now fix the bug in main.py"]
    assert texts(parsed, "assistant") == [
        "The folder holds main.py. one two",
        "Fixed it; one test still fails.",
    ]
    body = main_part(page)
    for text in ("Please look at this screenshot", "Now fix the bug in main.py", "Fixed it;"):
        assert body.count(html.escape(text)) == 1, text
    # The image is embedded in the user's bubble, as recorded.
    assert parsed.messages[0]["images"] == [TINY_PNG_URL]


@pytest.mark.parametrize("era", ERAS)
def test_tools_are_folded_blocks_not_bubbles(tmp_path: Path, era: str) -> None:
    parsed = parse_export(export_one(tmp_path, full_session(era)))
    kinds = [sorted(t["classes"] - {"tool"})[0] for t in parsed.tools]
    assert kinds == ["tool-shell", "tool-patch", "tool-web_search", "tool-mcp", "tool-shell"]
    shell = parsed.tools[0]["text"]
    assert "$ ls -la src" in shell and "main.py" in shell and "exit 0" in shell
    assert "exit 1" in parsed.tools[4]["text"]
    assert "+print('hello')" in parsed.tools[1]["text"]
    assert "python print function" in parsed.tools[2]["text"]
    assert "docs.lookup" in parsed.tools[3]["text"]
    assert all("ls -la" not in m["text"] for m in parsed.messages)
    # Injected context is folded, never a bubble.
    assert any("<environment_context>" in c for c in parsed.contexts)
    assert all("environment_context" not in m["text"] for m in parsed.messages)


def test_header_and_turn_facts(tmp_path: Path) -> None:
    page = export_one(tmp_path, full_session("paginated"), name="Bug hunt ✓")
    assert "<h1>Bug hunt ✓</h1>" in page
    for fact in ("/Users/alex/Projects/app", "gpt-5", "0.169.0", "main @ 3f2c1e9abcde", tid(1)):
        assert fact in page, fact
    assert "took 1.2 s" in page
    assert "110 tokens: 99 in, 11 out" in page
    assert "Session total: 220 tokens" in page
    assert "Reasoning summary" in page and "<strong>Inspecting</strong>" in page


def test_page_is_self_contained(tmp_path: Path) -> None:
    page = export_one(tmp_path, full_session("legacy"))
    head = page.split("<head>", 1)[1]
    assert head.lstrip().startswith(
        '<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy"'
    )
    assert f'content="{escape(content_security_policy())}"' in page
    assert "default-src &#39;none&#39;" in page and "script-src" not in page
    assert "<script" not in page.lower()
    assert not re.search(r"""\b(?:src|href)=["']?(?:https?:)?//""", page)
    assert "<link" not in page


HOSTILE = [
    "<script>window.__pwned=1;alert(1)</script>",
    "[click me](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "![tracker](https://evil.example/pixel.png)",
    '<a href="https://evil.example">raw link</a>',
    "<iframe src=https://evil.example></iframe>",
]


def hostile_session(n: int = 7) -> Rollout:
    cwd = '/tmp/x"><script>alert("cwd")</script>'
    r = Rollout("paginated", tid(n), cwd)
    r.user("\n\n".join(HOSTILE))
    r.shell("cat '<b>bold</b>.txt'", "</pre><script>alert(2)</script>\n")
    r.patch(
        "*** Begin Patch\n*** Add File: <img src=x onerror=alert(3)>.py\n+<script>alert(4)"
        "</script>\n*** End Patch\n"
    )
    r.assistant(
        "Here: <script>alert(5)</script> and [x](javascript:alert(6)) and [ok](https://ok.example)"
    )
    r.end_turn()
    return r


def test_session_content_renders_as_text(tmp_path: Path) -> None:
    page = export_one(tmp_path, hostile_session(), name="<script>alert('name')</script>")
    lowered = page.lower()
    assert "<script" not in lowered
    assert "<iframe" not in lowered
    assert not re.search(r"""href\s*=\s*["']?\s*javascript:""", lowered)
    # No real tag carries an event handler (escaped text like `&lt;img onerror=…` is fine).
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", lowered)
    # It is all still there, as text.
    parsed = parse_export(page)
    user = parsed.messages[0]["text"]
    assert "<script>window.__pwned=1;alert(1)</script>" in user
    assert "[click me](javascript:alert(1))" in user
    assert "[image: tracker] (https://evil.example/pixel.png)" in user
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in page
    assert "<img src=x onerror=alert(3)>.py" in parsed.tools[1]["text"]
    assert "</pre><script>alert(2)</script>" in parsed.tools[0]["text"]
    # Only our own images, all data URLs; the safe https link stays a link.
    assert all(src.startswith("data:") for src in parsed.images)
    assert 'href="https://ok.example" rel="noopener noreferrer nofollow"' in page


def test_markdown_rendering_is_safe() -> None:
    out = str(render_markdown("**b** <b>raw</b> [j](javascript:alert(1)) ![i](http://e/x.png)"))
    assert "<strong>b</strong>" in out
    assert "&lt;b&gt;raw&lt;/b&gt;" in out
    assert "href" not in out
    assert "<img" not in out


def test_images_local_missing_remote_and_non_image(tmp_path: Path) -> None:
    pics = tmp_path / "pics"
    pics.mkdir()
    (pics / "shot.png").write_bytes(TINY_PNG)
    (pics / "secret.png").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    r = Rollout("legacy", tid(8))
    r.user(
        "four images",
        images=[
            str(pics / "shot.png"),
            str(pics / "gone.png"),
            "https://example.com/remote.png",
            str(pics / "secret.png"),
        ],
    )
    r.assistant("seen").end_turn()
    page = export_one(tmp_path, r)
    parsed = parse_export(page)
    assert parsed.messages[0]["images"] == [TINY_PNG_URL]
    assert "Image not embedded: image file not found on this machine" in page
    assert "Image not embedded: remote image not embedded" in page
    assert "Image not embedded: not a known image format" in page
    assert "OPENSSH" not in page


def test_existing_file_is_not_overwritten_silently(tmp_path: Path) -> None:
    home = home_with(tmp_path, full_session("paginated"))
    (thread,) = catalog_of(home).threads
    out = tmp_path / "out"
    out.mkdir()
    first = export_thread(thread, "html", out)
    assert not hasattr(first, "reason")
    target = Path(first.path)  # type: ignore[union-attr]
    target.write_text("mine")
    again = export_thread(thread, "html", out)
    assert "exists; pass --overwrite" in again.reason  # type: ignore[union-attr]
    assert target.read_text() == "mine"
    replaced = export_thread(thread, "html", out, overwrite=True)
    assert Path(replaced.path).read_text().startswith("<!DOCTYPE html>")  # type: ignore[union-attr]
    assert [p.name for p in out.iterdir()] == [target.name]


def test_file_names_are_safe(tmp_path: Path) -> None:
    r = Rollout("legacy", tid(9)).user("x").assistant("y")
    page_name = 'CON: <a/b\\c>?*|"  ünïcödé  ' + "long " * 30
    home = home_with(tmp_path, r, names={r.id: page_name})
    report = export_threads(catalog_of(home), Selection(all=True), "html", tmp_path / "out")
    name = Path(report.files[0].path).name
    assert re.fullmatch(r"[a-z0-9-]+\.html", name), name
    assert name.startswith("con-a-b-c-unicode-long-") and name.endswith(f"-{tid(9)}.html")
    assert len(name) < 120


def test_large_session_streams(tmp_path: Path) -> None:
    """Hundreds of turns export, each message once (the benchmark measures time and memory)."""
    r = Rollout("paginated", tid(10))
    for n in range(300):
        r.user(f"question {n}?").shell(f"echo {n}", f"{n}\n").assistant(f"answer {n}.").end_turn()
    parsed = parse_export(export_one(tmp_path, r))
    assert texts(parsed, "user") == [f"question {n}?" for n in range(300)]
    assert len(parsed.tools) == 300
    assert norm(texts(parsed, "assistant")[-1]) == "answer 299."


def test_compressed_rollout_and_last_activity(tmp_path: Path) -> None:
    import zstandard

    r = full_session("legacy", 11)
    home = home_with(tmp_path, r)
    plain = next(home.rglob("*.jsonl"))
    zst = plain.with_name(plain.name + ".zst")
    zst.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    plain.unlink()
    report = export_threads(catalog_of(home), Selection(all=True), "html", tmp_path / "out")
    parsed = parse_export(Path(report.files[0].path).read_text())
    assert texts(parsed, "user") == ["Please look at this screenshot", "Now fix the bug in main.py"]


def test_last_activity_is_the_last_record(tmp_path: Path) -> None:
    page = export_one(tmp_path, full_session("paginated"))
    assert "<dt>Last activity</dt><dd>2026-03-04 10:20:" in page


def test_session_without_messages(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = home / "sessions" / "2026" / "03" / "04"
    folder.mkdir(parents=True)
    (folder / f"rollout-2026-03-04T10-20-30-{tid(12)}.jsonl").write_text("")
    report = export_threads(catalog_of(home), Selection(all=True), "html", tmp_path / "out")
    page = Path(report.files[0].path).read_text()
    assert "This session has no messages." in page
    assert "Untitled session" in page
