"""2025 sessions (real Codex 0.29.0) imported into a 0.169 home: listed, read and resumed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codex_migrate.bare import original_rel
from codex_migrate.cli import cli
from tests.harness.app_server import AppServer
from tests.harness.bare_home import build_bare_home
from tests.harness.codex import CodexRunner
from tests.harness.install import CODEX_BARE, NpmNotFoundError, codex_binary
from tests.homes import tree_state

pytestmark = pytest.mark.codex


@pytest.fixture(scope="module")
def codex_bin_bare() -> Path:
    try:
        return codex_binary(CODEX_BARE)
    except NpmNotFoundError as exc:
        pytest.skip(str(exc))


def _texts(body: dict[str, Any]) -> str:
    return json.dumps(body.get("input") or [], ensure_ascii=False)


def test_0_29_sessions_are_listed_read_and_resumed_by_0_169(
    codex_bin_bare: Path, codex_bin_new: Path, mock_api_server: Any, tmp_path: Path
) -> None:
    src = build_bare_home(tmp_path / "old", mock_api_server, binary=codex_bin_bare)
    old_root = str(src.root / "projects")
    new_root = tmp_path / "new machine" / "projects"
    shutil.copytree(old_root, new_root)
    target = tmp_path / "target-home"
    own = tmp_path / "own"
    own.mkdir()
    runner = CodexRunner("0.169.0", target, mock_api_server, binary=codex_bin_new)
    runner.exec("the target's own", own)
    before = tree_state(src.home)

    args = ["import", str(src.home), "--codex-home", str(target), "--yes", "--json"]
    result = CliRunner().invoke(cli, [*args, "--map", f"{old_root}={new_root}", "--no-codex"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["plan"]["bare_upgraded"] == len(src.threads)
    assert tree_state(src.home) == before
    for t in src.threads.values():  # the original bytes are kept outside the scanned folders
        kept = target / original_rel(t.rollout)
        assert kept.read_bytes() == (src.home / t.rollout).read_bytes()

    def new_cwd(t: Any) -> str:
        return t.cwd.replace(old_root, str(new_root))

    with AppServer(codex_bin_new, target) as server:
        listed = {t["id"]: t for t in server.list_threads()}
        for t in src.threads.values():
            got = listed.get(t.id)
            assert got is not None, f"{t.key} not listed"
            assert got["cwd"] == new_cwd(t), t.key
            assert got["preview"] == t.prompt, t.key
            read = server.read_thread(t.id, include_turns=True)
            turns = read.get("turns") or []
            assert len(turns) == 1, (t.key, read)
            assert "Mock answer" in json.dumps(turns) or "Done" in json.dumps(turns), t.key

    t = src.threads["plain"]
    asked = len(mock_api_server.requests)
    runner.resume(t.id, "Continue the 2025 work now.", Path(new_cwd(t)))
    bodies = [r["body"] for r in mock_api_server.requests[asked:] if "responses" in r["path"]]
    assert bodies, "the resume reached the model"
    sent = _texts(bodies[0])
    assert t.prompt in sent, "the model receives the earlier conversation"
    assert "Mock answer" in sent, "including the earlier reply"
    assert b"Continue the 2025 work now." in (target / t.rollout).read_bytes()


def test_doctor_names_the_fix_and_rebind_upgrade_bare_brings_them_back(
    codex_bin_bare: Path, codex_bin_new: Path, mock_api_server: Any, tmp_path: Path
) -> None:
    """A 0.29 home opened by 0.169 in place: doctor says how; rebind --upgrade-bare does it."""
    src = build_bare_home(tmp_path / "old", mock_api_server, binary=codex_bin_bare)
    home = src.home
    originals = {t.rollout: (home / t.rollout).read_bytes() for t in src.threads.values()}
    with AppServer(codex_bin_new, home) as server:  # 0.169 lists none of them (docs/STORAGE.md §8)
        assert not {t["id"] for t in server.list_threads()} & {t.id for t in src.threads.values()}

    doc = CliRunner().invoke(cli, ["doctor", "--codex-home", str(home), "--json"])
    assert doc.exit_code == 1, doc.output
    assert "rebind --upgrade-bare" in doc.output

    result = CliRunner().invoke(
        cli, ["rebind", "--codex-home", str(home), "--upgrade-bare", "--yes", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["plan"]["summary"]["bare_upgraded"] == len(src.threads)
    tx = out["report"]["transaction_id"]
    for rel, data in originals.items():
        assert (home / original_rel(rel)).read_bytes() == data
        assert (home / "migration_transactions" / tx / "replaced" / rel).read_bytes() == data

    runner = CodexRunner("0.169.0", home, mock_api_server, binary=codex_bin_new)
    with AppServer(codex_bin_new, home) as server:
        listed = {t["id"]: t for t in server.list_threads()}
        for t in src.threads.values():
            assert listed[t.id]["cwd"] == t.cwd, t.key
            assert len(server.read_thread(t.id, include_turns=True).get("turns") or []) == 1
    t = src.threads["second"]
    asked = len(mock_api_server.requests)
    runner.resume(t.id, "Back to it.", Path(t.cwd))
    sent = _texts(mock_api_server.requests[asked]["body"])
    assert t.prompt in sent

    # Codex appended to a converted file since: undoing must refuse and change nothing.
    plain = home / src.threads["plain"].rollout
    before = plain.read_bytes()
    undo = CliRunner().invoke(
        cli, ["transactions", "rollback", tx, "--codex-home", str(home), "--yes"]
    )
    assert undo.exit_code != 0
    assert "changed after" in undo.output
    assert plain.read_bytes() == before
