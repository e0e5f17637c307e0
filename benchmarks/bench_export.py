"""Benchmark exporting one large session (hundreds of turns, several MB) to HTML and Markdown.

The session is written in the shape Codex 0.169 writes (paginated rollout: every message twice,
shell results as a ``CommandExecution`` item *and* a ``function_call_output``, turn and token
events, a 20 KB system prompt in ``session_meta``, a 150 KB image every 50 turns). Each export
runs in a child process, as a user runs it, and reports wall time and peak RSS. Two baselines
are measured in the same run: the interpreter with the export modules imported (the floor), and
``json.loads`` of every line into one list (what a non-streaming reader would hold). Prints a
table; never asserts on time.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid
import zlib
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/bench_export.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import Measurement, measure

THREAD_ID = "019a7777-0000-7000-8000-00000000b001"
CWD = "/Users/alex/Projects/big-app"

_EXPORT = """
import sys
from pathlib import Path
from codex_migrate.catalog import build_catalog
from codex_migrate.export.api import Selection, export_threads
from codex_migrate.home import open_home
home, out, fmt, redact = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
report = export_threads(build_catalog(open_home(home)), Selection(all=True), fmt, Path(out),
                        redact=redact, overwrite=True)
assert report.ok and report.files, report.to_dict()
"""
_IMPORT_ONLY = "import codex_migrate.export.api, codex_migrate.catalog"
_LOAD_ALL = """
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
"""


def _png(width: int, height: int, rng: random.Random) -> bytes:
    """A valid, incompressible PNG (noise), to weigh like a real screenshot."""
    raw = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def write_session(home: Path, turns: int, output_kb: int = 6, seed: int = 7) -> Path:
    """One large 0.169-shaped rollout in ``home``; returns its path."""
    rng = random.Random(seed)
    words = ["parser", "token", "render", "stream", "buffer", "export", "module", "session"]
    image_url = "data:image/png;base64," + base64.b64encode(_png(220, 220, rng)).decode()
    path = (
        home / "sessions" / "2026" / "03" / "01" / f"rollout-2026-03-01T00-00-00-{THREAD_ID}.jsonl"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("w", encoding="utf-8")
    clock = [0]

    def rec(rtype: str, payload: dict[str, Any]) -> None:
        clock[0] += 1
        day, rest = divmod(clock[0], 86400)
        hour, rest = divmod(rest, 3600)
        ts = f"2026-03-{1 + day:02d}T{hour:02d}:{rest // 60:02d}:{rest % 60:02d}.000Z"
        line = {"timestamp": ts, "ordinal": clock[0] - 1, "type": rtype, "payload": payload}
        fh.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")

    def prose(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n))

    rec(
        "session_meta",
        {
            "session_id": THREAD_ID,
            "id": THREAD_ID,
            "timestamp": "2026-03-01T00:00:00.000Z",
            "cwd": CWD,
            "originator": "codex_cli_rs",
            "cli_version": "0.169.0",
            "source": "cli",
            "model_provider": "openai",
            "base_instructions": {"text": prose(3000), "provenance": "default"},
            "history_mode": "paginated",
        },
    )
    usage_total = 0
    for n in range(turns):
        turn_id = str(uuid.UUID(int=rng.getrandbits(128)))
        rec("event_msg", {"type": "task_started", "turn_id": turn_id})
        if n == 0:
            rec(
                "response_item",
                {
                    "type": "message",
                    "role": "developer",
                    "content": [
                        {"type": "input_text", "text": "<permissions instructions>" + prose(200)}
                    ],
                },
            )
        rec("turn_context", {"turn_id": turn_id, "cwd": CWD, "model": "gpt-5.1-codex"})
        rec(
            "event_msg",
            {
                "type": "thread_settings_applied",
                "thread_settings": {"cwd": CWD, "model": "gpt-5.1-codex"},
            },
        )
        question = f"Turn {n}: " + prose(40)
        content: list[dict[str, Any]] = []
        if n % 50 == 0:
            content += [
                {"type": "input_text", "text": f'<image name=[Image #1] path="/tmp/shot{n}.png">'},
                {"type": "input_image", "image_url": image_url},
                {"type": "input_text", "text": "</image>"},
            ]
        content.append({"type": "input_text", "text": question})
        rec(
            "response_item",
            {"type": "message", "id": f"msg_u{n}", "role": "user", "content": content},
        )
        rec(
            "event_msg",
            {
                "type": "item_completed",
                "item": {
                    "type": "UserMessage",
                    "id": f"u{n}",
                    "content": [{"type": "text", "text": question}],
                },
            },
        )
        rec(
            "response_item",
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "**Plan** " + prose(60)}],
                "encrypted_content": "gAAA" + "x" * 800,
            },
        )
        call_id = f"call_{n}"
        command = f"rg -n '{rng.choice(words)}' src/ | head -200"
        output = "\n".join(
            f"src/{rng.choice(words)}.py:{i}: {prose(8)}" for i in range(output_kb * 1024 // 70)
        )
        rec(
            "response_item",
            {
                "type": "function_call",
                "name": "exec_command",
                "arguments": json.dumps({"cmd": command}),
                "call_id": call_id,
            },
        )
        rec(
            "event_msg",
            {
                "type": "item_completed",
                "item": {
                    "type": "CommandExecution",
                    "id": call_id,
                    "command": ["/bin/bash", "-lc", command],
                    "aggregated_output": output,
                    "exit_code": 0,
                    "duration": {"secs": 0, "nanos": 41_000_000},
                    "status": "completed",
                },
            },
        )
        rec(
            "response_item",
            {
                "type": "function_call_output",
                "call_id": call_id,
                "output": "Chunk ID: a1\nWall time: 0.0410 seconds\nProcess exited with code 0"
                f"\nOutput:\n{output}",
            },
        )
        answer = (
            f"## Result {n}\n\n{prose(120)}\n\n```python\ndef f{n}(x):\n    return x * {n}\n```"
            f"\n\n- {prose(10)}\n- {prose(10)}\n"
        )
        rec(
            "event_msg",
            {
                "type": "item_completed",
                "item": {
                    "type": "AgentMessage",
                    "id": f"a{n}",
                    "content": [{"type": "Text", "text": answer}],
                },
            },
        )
        rec(
            "response_item",
            {
                "type": "message",
                "id": f"a{n}",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer}],
            },
        )
        usage_total += 5000
        usage = {
            "input_tokens": usage_total,
            "cached_input_tokens": usage_total // 2,
            "output_tokens": usage_total // 10,
            "reasoning_output_tokens": 0,
            "total_tokens": usage_total + usage_total // 10,
        }
        rec(
            "event_msg",
            {
                "type": "token_count",
                "info": {"total_token_usage": usage, "last_token_usage": usage},
            },
        )
        rec("event_msg", {"type": "task_complete", "turn_id": turn_id, "duration_ms": 4200})
    fh.close()
    return path


def _best(cmd: list[str], repeat: int) -> Measurement:
    return min((measure(cmd) for _ in range(repeat)), key=lambda m: m.seconds)


def run(turns: int = 500, output_kb: int = 6, repeat: int = 3) -> list[dict[str, Any]]:
    """One row per measured command: name, session MB, output MB, seconds, peak RSS MB."""
    tmp = Path(tempfile.mkdtemp(prefix="cm-bench-export-"))
    try:
        home = tmp / "home"
        # Written by a child: on Linux a child's peak RSS starts from its parent's at fork, so
        # the parent must stay small for the figures to be the exporter's own.
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--write-session",
                str(home),
                "--turns",
                str(turns),
                "--output-kb",
                str(output_kb),
            ],
            check=True,
        )
        rollout = next(home.rglob("rollout-*.jsonl"))
        size_mb = rollout.stat().st_size / 1e6
        py = sys.executable
        rows: list[dict[str, Any]] = []
        cases = [
            ("import only (floor)", [py, "-c", _IMPORT_ONLY], None),
            ("json.loads every line", [py, "-c", _LOAD_ALL, str(rollout)], None),
            (
                "export-html",
                [py, "-c", _EXPORT, str(home), str(tmp / "html"), "html", "0"],
                tmp / "html",
            ),
            (
                "export-html --redact",
                [py, "-c", _EXPORT, str(home), str(tmp / "html-r"), "html", "1"],
                tmp / "html-r",
            ),
            ("export-md", [py, "-c", _EXPORT, str(home), str(tmp / "md"), "md", "0"], tmp / "md"),
        ]
        measure(cases[2][1])  # warm the page cache and imports
        for name, cmd, out in cases:
            m = _best(cmd, repeat)
            out_mb = (
                sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6 if out else 0.0
            )
            rows.append(
                {
                    "case": name,
                    "turns": turns,
                    "session_mb": size_mb,
                    "output_mb": out_mb,
                    "seconds": m.seconds,
                    "peak_rss_mb": m.peak_rss_mb,
                }
            )
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--turns", type=int, nargs="+", default=[500, 2000], help="session sizes to measure"
    )
    parser.add_argument("--output-kb", type=int, default=6, help="shell output per turn")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-session", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_session:
        write_session(args.write_session, args.turns[0], args.output_kb)
        return
    for turns in args.turns:
        rows = run(turns, args.output_kb, args.repeat)
        print(f"\nsession: {turns} turns, {rows[0]['session_mb']:.1f} MB")
        print(f"{'case':<24} {'seconds':>8} {'peak RSS MB':>12} {'output MB':>10}")
        for r in rows:
            case, secs, rss, out = r["case"], r["seconds"], r["peak_rss_mb"], r["output_mb"]
            print(f"{case:<24} {secs:>8.2f} {rss:>12.1f} {out:>10.1f}")


if __name__ == "__main__":
    main()
