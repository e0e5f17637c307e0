"""The real-Codex harness itself: homes built by both pinned versions look as the scenario says.

If these fail, every migration test built on the harness is meaningless, so they check the
harness against the real Codex (its app-server listing and the rollouts it wrote), not against
the harness's own bookkeeping.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import install
from tests.harness.app_server import AppServer, AppServerError, list_threads_of_copy, protocol
from tests.harness.codex import CodexError, CodexRunner
from tests.harness.fixtures import fixture_dir, fixture_manifest, install_fixture
from tests.harness.homes import count_user_turns, input_images, read_rollout, response_items
from tests.harness.install import CODEX_NEW, CODEX_OLD, NpmNotFoundError, codex_binary
from tests.harness.scenario import THREAD_NAME, TINY_PNG, Scenario, listing_problems


def _snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file, to prove a folder was left untouched."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _binary(scenario: Scenario) -> Path:
    return codex_binary(scenario.version)


# -- installer --------------------------------------------------------------------------------


def test_missing_npm_is_reported_for_a_skip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(install.shutil, "which", lambda name: None)
    with pytest.raises(NpmNotFoundError, match="npm not found: the real-Codex tests need"):
        codex_binary("0.0.0-not-a-version", cache=tmp_path)


def test_tests_never_see_the_real_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.getbasetemp().resolve()
    assert Path.home().resolve().is_relative_to(base)
    assert Path(os.environ["CODEX_HOME"]).resolve().is_relative_to(base)
    assert "OPENAI_API_KEY" not in os.environ and "CODEX_SQLITE_HOME" not in os.environ


@pytest.mark.codex
def test_pinned_builds_install_and_run(codex_bin_new: Path, codex_bin_old: Path) -> None:
    assert install.codex_version_output(codex_bin_new) == f"codex-cli {CODEX_NEW}"
    assert install.codex_version_output(codex_bin_old) == f"codex-cli {CODEX_OLD}"
    assert codex_binary(CODEX_NEW) == codex_bin_new  # idempotent: cached, no reinstall


# -- what Codex lists -------------------------------------------------------------------------


@pytest.mark.codex
def test_app_server_lists_the_scenario(codex_home_any: Scenario) -> None:
    scenario = codex_home_any
    can_filter_archived = "archived" in protocol(_binary(scenario)).thread_list_params
    listed = list_threads_of_copy(_binary(scenario), scenario.home)
    assert listing_problems(scenario, listed, can_filter_archived=can_filter_archived) == []
    assert len(listed) == sum(t.listed for t in scenario.threads.values())


@pytest.mark.codex
def test_listing_a_copy_leaves_the_home_untouched(codex_home_any: Scenario) -> None:
    before = _snapshot(codex_home_any.home)
    list_threads_of_copy(_binary(codex_home_any), codex_home_any.home)
    assert _snapshot(codex_home_any.home) == before


@pytest.mark.codex
def test_scenario_covers_what_0_80_cannot_list(codex_home_old: Scenario) -> None:
    hidden = {t.key for t in codex_home_old.threads.values() if not t.listed}
    assert hidden == {"archived", "other_source"}  # archived, and a `codex exec` session
    assert codex_home_old.thread("other_source").source == "exec"


# -- what the rollouts hold -------------------------------------------------------------------


@pytest.mark.codex
def test_shell_call_is_a_function_call(codex_home_any: Scenario) -> None:
    records = read_rollout(codex_home_any.rollout_path("shell"))
    calls = response_items(records, "function_call")
    assert [c["name"] for c in calls] in (["exec_command"], ["shell"])
    assert "echo hi" in calls[0]["arguments"]
    outputs = response_items(records, "function_call_output")
    assert [o["call_id"] for o in outputs] == [calls[0]["call_id"]]


@pytest.mark.codex
def test_image_is_an_input_image_data_url(codex_home_any: Scenario) -> None:
    urls = input_images(read_rollout(codex_home_any.rollout_path("image")))
    assert len(urls) == 1
    prefix = "data:image/png;base64,"
    assert urls[0].startswith(prefix)
    assert base64.b64decode(urls[0][len(prefix) :])[:8] == TINY_PNG[:8]


@pytest.mark.codex
def test_turns_cwds_and_sources_match(codex_home_any: Scenario) -> None:
    for thread in codex_home_any.threads.values():
        records = read_rollout(codex_home_any.rollout_path(thread.key))
        meta = records[0]
        assert meta["type"] == "session_meta"
        assert meta["payload"]["id"] == thread.id
        assert meta["payload"]["cwd"] == thread.cwd
        assert meta["payload"]["source"] == thread.source
        assert count_user_turns(records) == thread.turns, thread.key


@pytest.mark.codex
def test_archived_rollout_is_flat_in_archived_sessions(codex_home_any: Scenario) -> None:
    archived = codex_home_any.thread("archived")
    assert archived.rollout.count("/") == 1
    assert archived.rollout.startswith("archived_sessions/rollout-")
    assert not list(codex_home_any.home.glob(f"sessions/**/*{archived.id}*"))


@pytest.mark.codex
def test_name_is_recorded_where_supported(codex_home_any: Scenario) -> None:
    named = codex_home_any.thread("named")
    index = codex_home_any.home / "session_index.jsonl"
    if not protocol(_binary(codex_home_any)).supports("thread/name/set"):
        assert codex_home_any.version == CODEX_OLD
        assert named.name is None and not index.exists()
        return
    assert named.name == THREAD_NAME
    lines = [json.loads(line) for line in index.read_text(encoding="utf-8").splitlines()]
    assert [(x["id"], x["thread_name"]) for x in lines] == [(named.id, THREAD_NAME)]


# -- app-server methods and copies ------------------------------------------------------------


@pytest.mark.codex
def test_app_server_thread_methods_on_0_169(codex_home_new_copy: Scenario) -> None:
    scenario = codex_home_new_copy
    multi = scenario.thread("multi_turn")
    with AppServer(_binary(scenario), scenario.home) as server:
        assert len(server.read_thread(multi.id)["turns"]) == multi.turns
        assert len(server.list_turns(multi.id)) == multi.turns
        resumed = server.resume(multi.id, exclude_turns=True)
        assert resumed["thread"]["id"] == multi.id
        server.set_name(multi.id, "Renamed ✓")
        names = {t["id"]: t["name"] for t in server.list_threads()}
    assert names[multi.id] == "Renamed ✓"


@pytest.mark.codex
def test_app_server_thread_methods_on_0_80(codex_home_old_copy: Scenario) -> None:
    scenario = codex_home_old_copy
    multi, shell = scenario.thread("multi_turn"), scenario.thread("shell")
    with AppServer(_binary(scenario), scenario.home) as server:
        assert server.resume(multi.id)["thread"]["id"] == multi.id
        for unsupported in (
            lambda: server.read_thread(multi.id),
            lambda: server.list_turns(multi.id),
            lambda: server.set_name(multi.id, "x"),
        ):
            with pytest.raises(AppServerError, match="has no"):
                unsupported()
        server.archive(shell.id)
        listed = {t["id"] for t in server.list_threads()}
    assert shell.id not in listed and multi.id in listed
    assert list(scenario.home.glob(f"archived_sessions/rollout-*-{shell.id}.jsonl"))


@pytest.mark.codex
def test_copy_is_self_contained(
    codex_home_any: Scenario,
    codex_home_any_copy: Scenario,
    codex_runner: Callable[[Scenario], CodexRunner],
) -> None:
    original = _snapshot(codex_home_any.home)
    copy = codex_home_any_copy
    thread = copy.thread("multi_turn")
    size = copy.rollout_path("multi_turn").stat().st_size
    codex_runner(copy).resume(thread.id, "A turn on the copy.", Path(thread.cwd))
    assert copy.rollout_path("multi_turn").stat().st_size > size
    assert count_user_turns(read_rollout(copy.rollout_path("multi_turn"))) == thread.turns + 1
    assert _snapshot(codex_home_any.home) == original


@pytest.mark.codex
def test_codex_errors_carry_stderr(
    codex_home_new_copy: Scenario, codex_runner: Callable[[Scenario], CodexRunner]
) -> None:
    runner = codex_runner(codex_home_new_copy)
    with pytest.raises(CodexError, match="stderr"):
        runner.resume(str(uuid.uuid4()), "no such thread", codex_home_new_copy.root)


# -- checked-in fixtures ----------------------------------------------------------------------


@pytest.mark.parametrize("version", [CODEX_NEW, CODEX_OLD])
def test_fixture_files_match_their_manifest(version: str) -> None:
    manifest = fixture_manifest(version)
    home = fixture_dir(version) / "home"
    assert _snapshot(home) == manifest["files"]
    for thread in manifest["threads"].values():
        assert (home / thread["rollout"]).is_file()
        assert thread["cwd"].startswith(manifest["fixture_root"])


@pytest.mark.codex
@pytest.mark.parametrize("version", [CODEX_NEW, CODEX_OLD])
def test_fixture_is_listed_as_its_manifest_says(
    version: str, codex_bin_new: Path, codex_bin_old: Path, tmp_path: Path
) -> None:
    binary = codex_bin_new if version == CODEX_NEW else codex_bin_old
    scenario = install_fixture(version, tmp_path / "home")
    listed = list_threads_of_copy(binary, scenario.home)
    can_filter_archived = "archived" in protocol(binary).thread_list_params
    assert listing_problems(scenario, listed, can_filter_archived=can_filter_archived) == []
