"""The export benchmark keeps working (a small run); the full run is marked slow."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bench_export
from codex_migrate.export.conversation import read_conversation


def test_generated_session_is_real_shaped(tmp_path: Path) -> None:
    path = bench_export.write_session(tmp_path / "home", turns=60, output_kb=1)
    conv = read_conversation(path)
    assert conv.info.era == "paginated"
    assert len(conv.turns) == 60
    assert len(conv.messages("user")) == len(conv.messages("assistant")) == 60
    assert sum(1 for m in conv.messages("user") if m.images) == 2  # turns 0 and 50


def test_export_benchmark_smoke() -> None:
    rows = bench_export.run(turns=20, output_kb=1, repeat=1)
    cases = [r["case"] for r in rows]
    assert cases == [
        "import only (floor)",
        "json.loads every line",
        "export-html",
        "export-html --redact",
        "export-md",
    ]
    assert all(r["output_mb"] > 0 for r in rows[2:])


@pytest.mark.slow
def test_export_benchmark_full() -> None:
    for turns in (500, 2000):
        for row in bench_export.run(turns=turns, repeat=3):
            print(row)
