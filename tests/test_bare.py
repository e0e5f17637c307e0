"""Converting 2025 bare rollouts (bare.py): the measured shape, refusals, and import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_migrate.bare import BareShapeError, inspect, original_rel, upgrade_lines
from codex_migrate.cli import cli
from codex_migrate.rollout_head import read_head
from tests.homes import tid, tree_state, write_rollout


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_conversion_is_the_measured_shape(tmp_path: Path) -> None:
    src = write_rollout(tmp_path, 1, era="bare", cwd="/old/R&D <x> é", turns=[("Q1", "A1")])
    info = inspect(src)
    assert (info.cwd, info.problem) == ("/old/R&D <x> é", None)
    out = list(upgrade_lines(_lines(src), info.cwd or ""))
    recs = [json.loads(x) for x in out]
    meta = recs[0]
    assert meta["type"] == "session_meta"
    assert meta["payload"]["cwd"] == "/old/R&D <x> é"
    assert meta["payload"]["source"] == "cli"
    assert meta["payload"]["originator"] == "codex_cli_rs"
    assert "model_provider" not in meta["payload"]
    assert meta["payload"]["git"] == {"branch": "main"}
    kinds = [(r["type"], r["payload"].get("type"), r["payload"].get("role")) for r in recs[1:]]
    assert kinds == [
        ("response_item", "message", "user"),  # environment context: no event
        ("response_item", "message", "user"),
        ("event_msg", "user_message", None),
        ("event_msg", "agent_message", None),
        ("response_item", "message", "assistant"),
    ]
    assert recs[3]["payload"]["message"] == "Q1"
    assert recs[4]["payload"]["message"] == "A1"
    assert all(r["timestamp"] == meta["payload"]["timestamp"] for r in recs)
    # every item keeps its exact bytes as the payload
    items = [x for x in _lines(src) if b'"type":"message"' in x]
    for raw in items:
        assert any(raw.rstrip(b"\n") in line for line in out)


@pytest.mark.parametrize(
    "extra",
    [b'{"record_type":"state","x":1}\n', b'{"type":"brand_new_thing"}\n', b'{"type": "message"\n'],
)
def test_unknown_shapes_are_refused(tmp_path: Path, extra: bytes) -> None:
    src = write_rollout(tmp_path, 1, era="bare")
    with open(src, "ab") as f:
        f.write(extra)
    info = inspect(src)
    assert info.problem is not None
    with pytest.raises(BareShapeError):
        list(upgrade_lines(_lines(src), "/x"))


def _import(src: Path, target: Path, *args: str) -> dict:
    result = CliRunner().invoke(
        cli,
        ["import", str(src), "--codex-home", str(target), "--yes", "--json", "--no-codex", *args],
    )
    assert result.exit_code == 0, result.output
    out: dict = json.loads(result.stdout)
    return out


def test_import_converts_keeps_originals_and_notes_the_rest(tmp_path: Path) -> None:
    src = tmp_path / "src"
    proj = tmp_path / "proj"
    proj.mkdir()
    a = write_rollout(src, 1, era="bare", cwd="/old/app")
    no_cwd = write_rollout(src, 2, era="bare")
    no_cwd.write_bytes(b"".join(x for x in _lines(no_cwd) if b"environment_context" not in x))
    odd = write_rollout(src, 3, era="bare", cwd="/old/app")
    with open(odd, "ab") as f:
        f.write(b'{"type":"brand_new_thing"}\n')
    target = tmp_path / "target"
    before = tree_state(src)
    out = _import(src, target, "--map", f"/old/app={proj}")
    assert tree_state(src) == before
    assert out["plan"]["bare_upgraded"] == 1
    notes = "\n".join(out["plan"]["bare_kept"])
    assert tid(2) in notes and "--bare-cwd" in notes
    assert tid(3) in notes and "brand_new_thing" in notes
    rel = a.relative_to(src).as_posix()
    converted = target / rel
    head = read_head(converted)
    assert head.era == "legacy" and head.meta_cwd == str(proj)
    assert (target / original_rel(rel)).read_bytes() == a.read_bytes()
    kept = target / no_cwd.relative_to(src)
    assert kept.read_bytes() == no_cwd.read_bytes(), "not converted: written as it was"

    # --bare-cwd brings the one without a folder back; importing again is a no-op for the rest
    target2 = tmp_path / "target2"
    out = _import(src, target2, "--map", f"/old/app={proj}", "--bare-cwd", str(proj))
    assert out["plan"]["bare_upgraded"] == 2
    assert read_head(target2 / no_cwd.relative_to(src)).meta_cwd == str(proj)
    again = _import(src, target2, "--map", f"/old/app={proj}", "--bare-cwd", str(proj))
    assert again["plan"]["summary"]["skip"] == 3
    assert again["plan"]["summary"]["conflict"] == 0

    # the same 2025 file already in the target unconverted: skipped, and the plan says how
    target3 = tmp_path / "target3"
    _import(src, target3, "--no-upgrade-bare", "--map", f"/old/app={proj}")
    again = _import(src, target3, "--map", f"/old/app={proj}")
    assert again["plan"]["summary"]["skip"] == 3
    assert all("rebind --upgrade-bare" in n for n in again["plan"]["bare_kept"])


def test_no_upgrade_bare_writes_them_as_they_are(tmp_path: Path) -> None:
    src = tmp_path / "src"
    a = write_rollout(src, 1, era="bare", cwd=str(tmp_path))
    out = _import(src, tmp_path / "t", "--no-upgrade-bare")
    assert out["plan"]["bare_upgraded"] == 0
    assert (tmp_path / "t" / a.relative_to(src)).read_bytes() == a.read_bytes()
