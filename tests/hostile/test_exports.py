"""Hostile content in conversations: an export never carries live HTML, script links, SVG
images or files that are more than one whole image."""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import zlib
from pathlib import Path

import pytest

from tests.homes import START, WRITERS, rollout_name, tid
from tests.hostile.conftest import BOUND, OLD, World, invoke

BAD = tid(9)

HOSTILE_TEXTS = {
    "script": "Look <script>alert(document.cookie)</script> here",
    "onerror": 'An image <img src=x onerror="alert(1)"> here',
    "js-link": "[click me](javascript:alert(1))",
    "js-link-upper": "[click me](JAVASCRIPT:alert(1))",
    "js-link-entity": "[click me](java&#115;cript:alert(1))",
    "js-ref-link": "[click me][r]\n\n[r]: javascript:alert(1)",
    "vbscript": "[x](vbscript:msgbox(1))",
    "data-html-link": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "iframe": "<iframe src='https://evil.example'></iframe>",
    "svg-inline": "<svg onload=alert(1)><circle/></svg>",
    "style": "<style>body{display:none}</style>",
    "autolink-js": "<javascript:alert(1)>",
}


def _png(extra: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    ) + extra


def _write(world: World, question: str, answer: str, images: list[str] = ()) -> Path:  # type: ignore[assignment]
    text = WRITERS["legacy"](BAD, f"{OLD}/app", START, [(question, answer)])
    if images:
        parts = [{"type": "input_image", "image_url": url} for url in images]
        rec = {
            "timestamp": "2026-03-04T10:25:00.000Z",
            "type": "response_item",
            "payload": {"type": "message", "role": "user", "content": parts},
        }
        text += json.dumps(rec) + "\n"
    folder = world.src / "sessions" / "2026" / "03" / "04"
    path = folder / rollout_name(BAD)
    path.write_text(text)
    return path


def _export_md(world: World, *extra: str) -> str:
    out = invoke("export-md", "--codex-home", world.src, "--thread", BAD, "-o", world.out, *extra)
    assert out.code in (0, 1), out.text
    docs = [p for p in world.out.glob("*.md") if p.name != "index.md"]
    assert len(docs) == 1, out.text
    return docs[0].read_text()


def _outside_code(md: str) -> str:
    md = re.sub(r"^(`{3,}|~{3,}).*?^\1\s*$", "", md, flags=re.S | re.M)
    return re.sub(r"(`+).+?\1", "", md)


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("fmt", ["md", "html"])
@pytest.mark.parametrize("role", ["question", "answer"])
@pytest.mark.parametrize("case", list(HOSTILE_TEXTS))
def test_hostile_message_text_is_inert(world: World, case: str, role: str, fmt: str) -> None:
    text = HOSTILE_TEXTS[case]
    _write(world, text if role == "question" else "Hi", text if role == "answer" else "Hello")
    before = world.snapshot()["src"]
    if fmt == "md":
        doc = _outside_code(_export_md(world))
    else:
        out = invoke("export-html", "--codex-home", world.src, "--thread", BAD, "-o", world.out)
        assert out.code == 0, out.text
        doc = next(p for p in world.out.glob("*.html") if p.name != "index.html").read_text()
        doc = re.sub(r"<script\b[^>]*>.*?</script>", "", doc, flags=re.S)  # our own scripts
    low = doc.lower().replace("\\<", "")  # a backslash-escaped < is literal Markdown text
    for live in ("<script", "<img src=x", "<iframe", "<svg onload", "<style>body"):
        assert live not in low, (live, doc)
    assert not re.search(r"<[a-z]+\b[^<>]*\son(error|load)\s*=", low), doc
    if fmt == "md":
        assert not re.search(r"\]\(\s*<?\s*(javascript|vbscript|data:text)", low), doc
        assert not re.search(r"^\s*\[r\]:\s*javascript", low, re.M), doc
    assert not re.search(r"(href|src)=\"\s*(javascript|vbscript|data:text)", low), doc
    assert world.snapshot()["src"] == before


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


@pytest.mark.timeout(BOUND)
@pytest.mark.parametrize("images", ["files", "inline"])
@pytest.mark.parametrize(
    "case",
    [
        "svg-data-url",
        "png-data-url-with-trailer",
        "html-as-png-data-url",
        "local-png-with-trailer",
        "local-passwd-named-png",
        "local-fifo",
        "local-link-out",
        "good-png",
    ],
)
def test_images_in_markdown(world: World, case: str, images: str) -> None:
    local = world.tmp / "pics"
    local.mkdir()
    trailer = b"<script>alert(1)</script>" + b"PK\x03\x04 zip after the image"
    if case == "svg-data-url":
        url = _data_url("image/svg+xml", SVG)
    elif case == "png-data-url-with-trailer":
        url = _data_url("image/png", _png(trailer))
    elif case == "html-as-png-data-url":
        url = _data_url("image/png", b"<html><script>alert(1)</script></html>")
    elif case == "local-png-with-trailer":
        (local / "shot.png").write_bytes(_png(trailer))
        url = str(local / "shot.png")
    elif case == "local-passwd-named-png":
        (local / "passwd.png").write_text("root:x:0:0:root:/root:/bin/bash\n")
        url = str(local / "passwd.png")
    elif case == "local-fifo":
        os.mkfifo(local / "pipe.png")
        url = str(local / "pipe.png")
    elif case == "local-link-out":
        (local / "link.png").symlink_to("/etc/passwd")
        url = str(local / "link.png")
    else:
        url = _data_url("image/png", _png())
    _write(world, "See the picture", "OK", [url])
    doc = _export_md(world, "--images", images)
    written = [p for p in world.out.rglob("*") if p.is_file() and p.suffix != ".md"]
    assert not any(p.suffix == ".svg" for p in written), written
    for p in written:
        data = p.read_bytes()
        assert b"<script" not in data and b"root:x" not in data and b"PK\x03\x04" not in data
    assert "image/svg" not in doc and "<script" not in doc
    if case == "good-png":
        assert "Image not embedded" not in doc
        if images == "files":
            assert [p.read_bytes() for p in written] == [_png()]
    else:
        assert "Image not embedded" in doc or "![" not in doc, doc
        if images == "inline":
            assert base64.b64encode(trailer).decode()[:20] not in doc
