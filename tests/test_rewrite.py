"""In-place rewriting of rollout lines: only mapped path values change, byte for byte.

The ``*_169`` and ``*_080`` lines were written by the real Codex 0.169.0 (paginated) and 0.80.0
(legacy) on 2026-11-25 in ``/tmp/p169/my proj`` and ``/tmp/p080/proj``; only their long instruction
strings were shortened (to ``<start>\\n…\\n<end>``), every other byte is as Codex wrote it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_migrate import rewrite as rewrite_mod
from codex_migrate.pathmap import PathMapper
from codex_migrate.paths import from_file_url, parse, to_file_url
from codex_migrate.rewrite import RewriteStats, line_changes, rewrite_line, rewrite_lines

META_169 = (
    b'{"timestamp":"2026-11-25T07:41:40.506Z","ordinal":0,"type":"session_meta","payload":{"a'
    b'ccount_scoped":true,"session_id":"01a211a7-34fd-7271-9ba0-9d11d2908130","id":"01a211a7-'
    b'34fd-7271-9ba0-9d11d2908130","timestamp":"2026-11-25T07:41:40.482Z","cwd":"/tmp/p169/my'
    b' proj","runtime_workspace_roots":["/tmp/p169/my proj"],"originator":"codex_exec","cli_v'
    b'ersion":"0.169.0","source":"exec","thread_source":"user","model_provider":"mock","base_'
    b'instructions":{"text":"You are a coding agent running in the Codex CLI, a terminal-base'
    b"d coding assistant. Codex CLI is an open source project \\n\xe2\x80\xa6\\ns are complet"
    b'e, ensure you call `update_plan` to mark all steps as `completed`.\\n","provenance":{"t'
    b'ype":"model","model":"gpt-5"}},"history_mode":"paginated","context_window":{"window_id"'
    b':"01a211a7-3501-7340-9b60-4c0fcd57cc89"}}}'
)

ENV_CONTEXT_169 = (
    b'{"timestamp":"2026-11-25T07:41:40.525Z","ordinal":3,"type":"response_item","payload":{"'
    b'type":"message","id":"msg_01a211a7-352c-7ca1-a501-bcaea8582040","role":"user","content"'
    b':[{"type":"input_text","text":"<environment_context>\\n  <cwd>/tmp/p169/my proj</cwd>\\'
    b"n  <shell>bash</shell>\\n  <current_date>2026-11-25</current_date>\\n  <timezone>Etc/UT"
    b"C</timezone>\\n  <filesystem><workspace_roots><root>/tmp/p169/my proj</root></workspace"
    b'_roots><permission_profile type=\\"managed\\"><file_system type=\\"restricted\\"><entry'
    b' access=\\"read\\"><special>:root</special></entry></file_system></permission_profile><'
    b'/filesystem>\\n</environment_context>"}],"internal_chat_message_metadata_passthrough":{'
    b'"turn_id":"01a211a7-3513-7a01-8096-76f7f267c4cd","create_time":1795592500.5245562,"cont'
    b'ent_item_kinds":["environments.environment_context"],"content_item_metadata":[{"provena'
    b'nce":{"type":"harness","hook":false}}]}},"metadata":{"history_sequence":2,"sampled_thro'
    b'ugh_sequence":0,"client_authored":false}}'
)

WORLD_STATE_169 = (
    b'{"timestamp":"2026-11-25T07:41:40.526Z","ordinal":4,"type":"world_state","payload":{"fu'
    b'll":true,"state":{"agents_md":{},"apps_instructions":false,"collaboration_mode":{"mode"'
    b':"default","model":"gpt-5","instructions":"dfd53114f5f6f9f5fd7816370d0bf2847806246d"},"'
    b'context_window_guidance":"","environments":{"environments":{"local":{"cwd":"/tmp/p169/m'
    b'y proj","status":"available","shell":"bash"}},"current_date":"2026-11-25","timezone":"E'
    b'tc/UTC","filesystem":"<filesystem><workspace_roots><root>/tmp/p169/my proj</root></work'
    b'space_roots><permission_profile type=\\"managed\\"><file_system type=\\"restricted\\"><'
    b'entry access=\\"read\\"><special>:root</special></entry></file_system></permission_prof'
    b'ile></filesystem>"},"environments_instructions":false,"git_attribution":false,"host_ski'
    b'lls":{"body":"\\n## Skills\\nA skill is a set of local instructions to follow that is s'
    b"tored in a `SKILL.md` file. Below is the list of sk\\n\xe2\x80\xa6\\nrom another repo ("
    b'including private repos). (file: r0/skill-installer/SKILL.md)\\n","includeInstructions"'
    b':true},"managed_developer_instructions":{},"model":"gpt-5","model_catalog":"ea1a55de297'
    b'3a50e2e404222c5499c24df5591ed","multi_agent_mode":{},"permissions":{"instructions":"fed'
    b'2f53df24dd05a217b734cf7ad9abefa7cc6a2","approved_command_prefixes":[]},"persistent_mode'
    b'":{},"plugins_instructions":false,"realtime":{"active":false},"skills":{"includeInstruc'
    b'tions":true}}}}'
)

TURN_CONTEXT_169 = (
    b'{"timestamp":"2026-11-25T07:41:40.526Z","ordinal":5,"type":"turn_context","payload":{"t'
    b'urn_id":"01a211a7-3513-7a01-8096-76f7f267c4cd","root_turn_id":"01a211a7-3513-7a01-8096-'
    b'76f7f267c4cd","disabled_plugin_ids":[],"cwd":"/tmp/p169/my proj","approval_policy":"nev'
    b'er","approvals_reviewer":"user","permission_profile":{"type":"managed","file_system":{"'
    b'type":"restricted","entries":[{"path":{"type":"special","value":{"kind":"root"}},"acces'
    b's":"read"}]},"network":"restricted"},"model":"gpt-5","collaboration_mode":{"mode":"defa'
    b'ult","settings":{"model":"gpt-5","reasoning_effort":null,"developer_instructions":null}'
    b'},"multi_agent_version":"v1","realtime_active":false,"summary":"none","sandbox_policy":'
    b'{"type":"read-only"}}}'
)

THREAD_SETTINGS_169 = (
    b'{"timestamp":"2026-11-25T07:41:40.526Z","ordinal":6,"type":"event_msg","payload":{"type'
    b'":"thread_settings_applied","thread_id":"01a211a7-34fd-7271-9ba0-9d11d2908130","thread_'
    b'settings":{"model":"gpt-5","model_provider_id":"mock","approval_policy":"never","approv'
    b'als_reviewer":"user","requested_approvals_reviewer":"user","permission_profile":{"type"'
    b':"managed","file_system":{"type":"restricted","entries":[{"path":{"type":"special","val'
    b'ue":{"kind":"root"}},"access":"read"}]},"network":"restricted"},"cwd":"/tmp/p169/my pro'
    b'j","runtime_workspace_roots":["/tmp/p169/my proj"],"collaboration_mode":{"mode":"defaul'
    b't","settings":{"model":"gpt-5","reasoning_effort":null,"developer_instructions":null}},'
    b'"disabled_plugin_ids":[]}}}'
)

FUNCTION_CALL_169 = (
    b'{"timestamp":"2026-11-25T07:41:40.619Z","ordinal":9,"type":"response_item","payload":{"'
    b'type":"function_call","id":"fc_mock_1","name":"exec_command","arguments":"{\\"cmd\\": '
    b'\\"echo hi\\"}","call_id":"call_mock_1","internal_chat_message_metadata_passthrough":{"'
    b'turn_id":"01a211a7-3513-7a01-8096-76f7f267c4cd"}},"metadata":{"history_sequence":4,"sam'
    b'pled_through_sequence":3,"client_authored":false,"user_input_order":1}}'
)

TOKEN_USAGE_169 = (
    b'{"timestamp":"2026-11-25T07:41:40.625Z","ordinal":10,"type":"token_usage_record","paylo'
    b'ad":{"thread_id":"01a211a7-34fd-7271-9ba0-9d11d2908130","turn_id":"01a211a7-3513-7a01-8'
    b'096-76f7f267c4cd","session_id":"01a211a7-34fd-7271-9ba0-9d11d2908130","root_turn_id":"0'
    b'1a211a7-3513-7a01-8096-76f7f267c4cd","response_id":"resp_mock_1","usage":{"input_tokens'
    b'":100,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":10,"reasonin'
    b'g_output_tokens":0,"total_tokens":110},"turn_token_usage":{"input_tokens":100,"cached_i'
    b'nput_tokens":0,"cache_write_input_tokens":0,"output_tokens":10,"reasoning_output_tokens'
    b'":0,"total_tokens":110},"thread_token_usage":{"input_tokens":100,"cached_input_tokens":'
    b'0,"cache_write_input_tokens":0,"output_tokens":10,"reasoning_output_tokens":0,"total_to'
    b'kens":110}}}'
)

COMMAND_EXECUTION_169 = (
    b'{"timestamp":"2026-11-25T07:41:40.811Z","ordinal":11,"type":"event_msg","payload":{"typ'
    b'e":"item_completed","thread_id":"01a211a7-34fd-7271-9ba0-9d11d2908130","turn_id":"01a21'
    b'1a7-3513-7a01-8096-76f7f267c4cd","item":{"type":"CommandExecution","id":"call_mock_1","'
    b'process_id":"49392","command":["/bin/bash","-lc","echo hi"],"cwd":"file:///tmp/p169/my%'
    b'20proj","parsed_cmd":[{"type":"unknown","cmd":"echo hi"}],"source":"unified_exec_startu'
    b'p","status":"completed","aggregated_output":"pyenv: cannot rehash: /root/.pyenv/shims i'
    b'sn\'t writable\\nhi\\n","exit_code":0,"duration":{"secs":0,"nanos":4997}},"started_at_m'
    b's":1795592500811,"completed_at_ms":1795592500811}}'
)

FUNCTION_OUTPUT_169 = (
    b'{"timestamp":"2026-11-25T07:41:40.817Z","ordinal":12,"type":"response_item","payload":{'
    b'"type":"function_call_output","id":"fco_01a211a7-3651-7b82-ab7f-9d81e4c13cd1","call_id"'
    b':"call_mock_1","output":"Chunk ID: 2d973f\\nWall time: 0.0000 seconds\\nProcess exited '
    b"with code 0\\nOriginal token count: 15\\nOutput:\\npyenv: cannot rehash: /root/.pyenv/s"
    b'hims isn\'t writable\\nhi\\n","internal_chat_message_metadata_passthrough":{"turn_id":"'
    b'01a211a7-3513-7a01-8096-76f7f267c4cd","create_time":1795592500.817777}},"metadata":{"hi'
    b'story_sequence":5,"sampled_through_sequence":3,"client_authored":false,"fallback_token_'
    b'limit_override":3000}}'
)

META_080 = (
    b'{"timestamp":"2026-11-25T07:41:42.825Z","type":"session_meta","payload":{"id":"01a211a7'
    b'-3e26-7a90-9390-04dd49cd5ba1","timestamp":"2026-11-25T07:41:42.822Z","cwd":"/tmp/p080/p'
    b'roj","originator":"codex_exec","cli_version":"0.80.0","instructions":"## Skills\\nA ski'
    b"ll is a set of local instructions to follow that is stored in a `SKILL.md` file. Below "
    b"is the list of ski\\n\xe2\x80\xa6\\nclear instructions), state the issue, pick the next"
    b'-best approach, and continue.","source":"exec","model_provider":"mock"}}'
)

AGENTS_MD_080 = (
    b'{"timestamp":"2026-11-25T07:41:42.825Z","type":"response_item","payload":{"type":"messa'
    b'ge","role":"user","content":[{"type":"input_text","text":"# AGENTS.md instructions for '
    b"/tmp/p080/proj\\n\\n<INSTRUCTIONS>\\n## Skills\\nA skill is a set of local instructions"
    b" to follow t\\n\xe2\x80\xa6\\nns), state the issue, pick the next-best approach, and co"
    b'ntinue.\\n</INSTRUCTIONS>"}]}}'
)

ENV_CONTEXT_080 = (
    b'{"timestamp":"2026-11-25T07:41:42.825Z","type":"response_item","payload":{"type":"messa'
    b'ge","role":"user","content":[{"type":"input_text","text":"<environment_context>\\n  <cw'
    b"d>/tmp/p080/proj</cwd>\\n  <approval_policy>never</approval_policy>\\n  <sandbox_mode>r"
    b"ead-only</sandbox_mode>\\n  <network_access>restricted</network_access>\\n  <shell>bash"
    b'</shell>\\n</environment_context>"}]}}'
)

TURN_CONTEXT_080 = (
    b'{"timestamp":"2026-11-25T07:41:42.857Z","type":"turn_context","payload":{"cwd":"/tmp/p0'
    b'80/proj","approval_policy":"never","sandbox_policy":{"type":"read-only"},"model":"gpt-5'
    b'","summary":"auto","user_instructions":"## Skills\\nA skill is a set of local instructi'
    b"ons to follow that is stored in a `SKILL.md` file. Below is the list of ski\\n\xe2\x80"
    b"\xa6\\nclear instructions), state the issue, pick the next-best approach, and continue."
    b'","truncation_policy":{"mode":"bytes","limit":10000}}}'
)

FUNCTION_CALL_080 = (
    b'{"timestamp":"2026-11-25T07:41:42.863Z","type":"response_item","payload":{"type":"funct'
    b'ion_call","name":"shell","arguments":"{\\"command\\": [\\"bash\\", \\"-lc\\", \\"echo h'
    b'i\\"]}","call_id":"call_mock_1"}}'
)

FUNCTION_OUTPUT_080 = (
    b'{"timestamp":"2026-11-25T07:41:42.957Z","type":"response_item","payload":{"type":"funct'
    b'ion_call_output","call_id":"call_mock_1","output":"{\\"output\\":\\"mktemp: failed to c'
    b"reate file via template \xe2\x80\x98/root/.pyenv/shims/tmp.XXXXXXXXXX\xe2\x80\x99: Perm"
    b"ission denied\\\\npyenv: cannot rehash: /root/.pyenv/shims isn't writable\\\\nhi\\\\n\\"
    b'",\\"metadata\\":{\\"exit_code\\":0,\\"duration_seconds\\":0.1}}"}}'
)

REAL_169 = [
    META_169,
    ENV_CONTEXT_169,
    WORLD_STATE_169,
    TURN_CONTEXT_169,
    THREAD_SETTINGS_169,
    FUNCTION_CALL_169,
    TOKEN_USAGE_169,
    COMMAND_EXECUTION_169,
    FUNCTION_OUTPUT_169,
]
REAL_080 = [
    META_080,
    AGENTS_MD_080,
    ENV_CONTEXT_080,
    TURN_CONTEXT_080,
    FUNCTION_CALL_080,
    FUNCTION_OUTPUT_080,
]

WIN_169 = PathMapper([r"/tmp/p169=C:\Users\alex\p169"])
HOME_080 = PathMapper(["/tmp/p080/proj=/home/bob/proj"])

_STRING_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def token_diff(old: bytes, new: bytes) -> list[tuple[Any, Any]]:
    """(old, new) decoded values of the string tokens that differ; every other byte must match.

    Independent of the module under test: outside JSON strings there are no quote characters,
    so a regex finds every string token, and the bytes between tokens must be identical.
    """
    old_tokens = list(_STRING_TOKEN.finditer(old))
    new_tokens = list(_STRING_TOKEN.finditer(new))
    assert len(old_tokens) == len(new_tokens)
    diffs = []
    old_pos = new_pos = 0
    for a, b in zip(old_tokens, new_tokens, strict=True):
        assert old[old_pos : a.start()] == new[new_pos : b.start()]
        if a.group() != b.group():
            diffs.append((json.loads(a.group()), json.loads(b.group())))
        old_pos, new_pos = a.end(), b.end()
    assert old[old_pos:] == new[new_pos:]
    return diffs


def get(obj: Any, key_path: tuple[Any, ...]) -> Any:
    for k in key_path:
        obj = obj[k]
    return obj


def put(obj: Any, key_path: tuple[Any, ...], value: Any) -> None:
    get(obj, key_path[:-1])[key_path[-1]] = value


def assert_rewritten(old: bytes, new: bytes, expected: dict[tuple[Any, ...], str]) -> None:
    """``new`` is ``old`` with exactly the ``expected`` values replaced, and nothing else."""
    want = json.loads(old)
    for key_path, value in expected.items():
        put(want, key_path, value)
    assert json.loads(new) == want
    assert len(token_diff(old, new)) == len(expected)


# -- the real lines ---------------------------------------------------------------------------

P169 = "/tmp/p169/my proj"
W169 = r"C:\Users\alex\p169\my proj"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            META_169,
            {("payload", "cwd"): W169, ("payload", "runtime_workspace_roots", 0): W169},
        ),
        (
            WORLD_STATE_169,
            {("payload", "state", "environments", "environments", "local", "cwd"): W169},
        ),
        (TURN_CONTEXT_169, {("payload", "cwd"): W169}),
        (
            THREAD_SETTINGS_169,
            {
                ("payload", "thread_settings", "cwd"): W169,
                ("payload", "thread_settings", "runtime_workspace_roots", 0): W169,
            },
        ),
        (
            COMMAND_EXECUTION_169,
            {("payload", "item", "cwd"): "file:///C:/Users/alex/p169/my%20proj"},
        ),
    ],
)
def test_real_169_lines_change_only_their_paths(
    line: bytes, expected: dict[tuple[Any, ...], str]
) -> None:
    for term in (b"\n", b"\r\n", b""):
        out = rewrite_line(line + term, WIN_169)
        assert out.endswith(term) and not out[: len(out) - len(term)].endswith(b"\n")
        assert_rewritten(line, out[: len(out) - len(term)], expected)
    # Windows paths are written the way Codex on Windows writes them: escaped backslashes
    assert b'"cwd":"C:\\\\Users\\\\alex\\\\p169\\\\my proj"' in rewrite_line(META_169, WIN_169)


@pytest.mark.parametrize("line", [META_080, TURN_CONTEXT_080])
def test_real_080_lines_change_only_their_paths(line: bytes) -> None:
    out = rewrite_line(line + b"\n", HOME_080)
    assert out.endswith(b"\n")
    assert_rewritten(line, out[:-1], {("payload", "cwd"): "/home/bob/proj"})


@pytest.mark.parametrize(
    "line",
    [
        ENV_CONTEXT_169,
        FUNCTION_CALL_169,
        TOKEN_USAGE_169,
        FUNCTION_OUTPUT_169,
        AGENTS_MD_080,
        ENV_CONTEXT_080,
        FUNCTION_CALL_080,
        FUNCTION_OUTPUT_080,
    ],
)
def test_lines_without_path_fields_come_out_as_the_same_object(line: bytes) -> None:
    for mapper in (WIN_169, HOME_080):
        assert rewrite_line(line + b"\n", mapper) == line + b"\n"
        assert rewrite_line(line, mapper) is line


def test_lines_of_another_project_are_untouched() -> None:
    other = PathMapper(["/Users/someone=/home/someone"])
    for line in REAL_169 + REAL_080:
        assert rewrite_line(line, other) is line
        assert rewrite_line(line, other, rewrite_text=True) is line


def test_whole_real_files_with_stats() -> None:
    stats = RewriteStats()
    lines = [line + b"\n" for line in REAL_169]
    out = list(rewrite_lines(lines, WIN_169, stats=stats))
    assert len(out) == len(lines)
    assert stats.to_dict() == {"lines": 9, "lines_changed": 5, "values_changed": 7}
    stats = RewriteStats()
    list(rewrite_lines([line + b"\r\n" for line in REAL_080], HOME_080, stats=stats))
    assert (stats.lines, stats.lines_changed, stats.values_changed) == (6, 2, 2)


# -- free text --------------------------------------------------------------------------------


def test_free_text_only_with_the_option() -> None:
    assert rewrite_line(ENV_CONTEXT_169, WIN_169) is ENV_CONTEXT_169
    out = rewrite_line(ENV_CONTEXT_169, WIN_169, rewrite_text=True)
    ((old, new),) = token_diff(ENV_CONTEXT_169, out)
    assert (
        old.replace(f"<cwd>{P169}</cwd>", f"<cwd>{W169}</cwd>").replace(
            f"<root>{P169}</root>", f"<root>{W169}</root>"
        )
        == new
    )
    assert "/tmp/p169" not in new

    out = rewrite_line(AGENTS_MD_080, HOME_080, rewrite_text=True)
    ((old, new),) = token_diff(AGENTS_MD_080, out)
    assert new == old.replace(
        "instructions for /tmp/p080/proj\n", "instructions for /home/bob/proj\n"
    )

    out = rewrite_line(ENV_CONTEXT_080, HOME_080, rewrite_text=True)
    assert token_diff(ENV_CONTEXT_080, out)[0][1].startswith(
        "<environment_context>\n  <cwd>/home/bob/proj</cwd>\n"
    )


def test_world_state_xml_text_only_with_the_option() -> None:
    structured = rewrite_line(WORLD_STATE_169, WIN_169)
    assert len(token_diff(WORLD_STATE_169, structured)) == 1
    both = rewrite_line(WORLD_STATE_169, WIN_169, rewrite_text=True)
    diffs = token_diff(WORLD_STATE_169, both)
    assert len(diffs) == 2
    assert f"<root>{W169}</root>" in diffs[1][1]


def test_text_constructs_and_what_is_left_alone() -> None:
    mapper = PathMapper(["/a/proj=/b/proj"])
    text = (
        '<image name=[Image #1] path="/a/proj/shot one.png">'
        " see /a/proj/readme (plain prose is never rewritten) "
        "<cwd>/a/project2</cwd> <cwd>/a/proj/sub</cwd>"
    )
    line = json.dumps({"type": "message", "role": "user", "content": [{"text": text}]}).encode()
    assert rewrite_line(line, mapper) is line  # bare-era item: only with the option
    ((_, new),) = token_diff(line, rewrite_line(line, mapper, rewrite_text=True))
    assert new == (
        '<image name=[Image #1] path="/b/proj/shot one.png">'
        " see /a/proj/readme (plain prose is never rewritten) "
        "<cwd>/a/project2</cwd> <cwd>/b/proj/sub</cwd>"
    )


def test_bare_era_records_keep_their_fields() -> None:
    mapper = PathMapper(["/a/proj=/b/proj"])
    line = b'{"id":"x","timestamp":"2025-08-01T00:00:00Z","cwd":"/a/proj","instructions":null}'
    assert rewrite_line(line, mapper) is line
    assert rewrite_line(line, mapper, rewrite_text=True) is line


# -- shapes from the protocol -----------------------------------------------------------------

MAPPER = PathMapper(["/Users/alex/work=/home/alex/work", r"D:\Games=/games"], wsl=True)


def test_sandbox_policy_and_permission_profile_paths() -> None:
    line = (
        b'{"timestamp":"t","type":"turn_context","payload":{"cwd":"/Users/alex/work/app",'
        b'"sandbox_policy":{"type":"workspace-write","writable_roots":["/Users/alex/work/app/out",'
        b'"/tmp"],"read_only_access":{"type":"restricted","readable_roots":["/Users/alex/work/lib"]},'
        b'"workspace_roots":["/Users/alex/work"],"network_access":false},'
        b'"permission_profile":{"type":"managed","file_system":{"type":"restricted","entries":['
        b'{"path":{"type":"special","value":{"kind":"root"}},"access":"read"},'
        b'{"path":{"type":"path","path":"/Users/alex/work/app"},"access":"write"}]}},'
        b'"model":"gpt-5","temperature":1.0E+0}}'
    )
    out = rewrite_line(line, MAPPER)
    sp = ("payload", "sandbox_policy")
    assert_rewritten(
        line,
        out,
        {
            ("payload", "cwd"): "/home/alex/work/app",
            (*sp, "writable_roots", 0): "/home/alex/work/app/out",
            (*sp, "read_only_access", "readable_roots", 0): "/home/alex/work/lib",
            (*sp, "workspace_roots", 0): "/home/alex/work",
            ("payload", "permission_profile", "file_system", "entries", 1, "path", "path"): (
                "/home/alex/work/app"
            ),
        },
    )
    assert b'"temperature":1.0E+0' in out


def test_legacy_exec_events_and_item_started() -> None:
    for ptype in ("exec_command_begin", "exec_command_end"):
        line = (
            b'{"timestamp":"t","type":"event_msg","payload":{"type":"'
            + ptype.encode()
            + b'","call_id":"c","command":["ls"],"cwd":"/mnt/d/Games/x","exit_code":0}}'
        )
        assert_rewritten(line, rewrite_line(line, MAPPER), {("payload", "cwd"): "/games/x"})
    line = (
        b'{"timestamp":"t","type":"event_msg","payload":{"type":"item_started","item":'
        b'{"type":"CommandExecution","cwd":"file:///D:/Games/My%20Game"}}}'
    )
    out = rewrite_line(line, MAPPER)
    assert_rewritten(line, out, {("payload", "item", "cwd"): "file:///games/My%20Game"})
    # the same key in another item type is not a path field
    other = line.replace(b"CommandExecution", b"AgentMessage")
    assert rewrite_line(other, MAPPER) is other


def test_windows_source_in_any_spelling() -> None:
    mapper = PathMapper([r"C:\Users\Alex\Projects=/home/alex/projects"])
    for recorded in (
        r"C:\Users\Alex\Projects\app",
        r"c:\users\alex\PROJECTS\app",
        "C:/Users/Alex/Projects/app",
        r"\\?\C:\Users\Alex\Projects\app",
    ):
        line = json.dumps({"timestamp": "t", "type": "session_meta", "payload": {"cwd": recorded}})
        out = rewrite_line(line.encode(), mapper)
        assert json.loads(out)["payload"]["cwd"] == "/home/alex/projects/app", recorded
    url = b'{"type":"event_msg","payload":{"type":"item_completed","item":{"type":"CommandExecution","cwd":"file:///c:/Users/Alex/Projects/a%20b"}}}'
    assert json.loads(rewrite_line(url, mapper))["payload"]["item"]["cwd"] == (
        "file:///home/alex/projects/a%20b"
    )


def test_posix_to_windows_file_url_and_non_ascii() -> None:
    mapper = PathMapper([r"/Users/zoë/Проекты=D:\Work"])
    line = (
        b'{"type":"event_msg","payload":{"type":"item_completed","item":{"type":"CommandExecution",'
        b'"cwd":"file:///Users/zo%C3%AB/%D0%9F%D1%80%D0%BE%D0%B5%D0%BA%D1%82%D1%8B/%E6%97%A5%20x"}}}'
    )
    out = json.loads(rewrite_line(line, mapper))["payload"]["item"]["cwd"]
    assert out == "file:///D:/Work/%E6%97%A5%20x"
    assert from_file_url(out) == parse("D:\\Work\\日 x")


def test_escaping_style_of_the_old_token_is_kept() -> None:
    mapper = PathMapper(["/home/jos\u00e9=/srv/caf\u00e9"])
    ascii_style = b'{"type":"session_meta","payload":{"cwd":"/home/jos\\u00e9/x","n":1e5}}'
    out = rewrite_line(ascii_style, mapper)
    assert out == b'{"type":"session_meta","payload":{"cwd":"/srv/caf\\u00e9/x","n":1e5}}'
    raw_style = '{"type":"session_meta","payload":{"cwd":"/home/jos\u00e9/x"}}'.encode()
    assert rewrite_line(raw_style, mapper) == (
        '{"type":"session_meta","payload":{"cwd":"/srv/caf\u00e9/x"}}'.encode()
    )
    slashes = b'{"type":"session_meta","payload":{"cwd":"\\/home\\/jos\\u00e9\\/x"}}'
    assert rewrite_line(slashes, mapper) == (
        b'{"type":"session_meta","payload":{"cwd":"\\/srv\\/caf\\u00e9\\/x"}}'
    )
    # unusual spacing, other escapes and number spellings stay as written
    spaced = (
        b'{ "type" : "turn_context" ,\t"payload" : { "x" : -0.0 , "q" : "\\u2018\\"\\u2019" ,'
        b' "cwd" : "/home/jos\\u00e9" , "y" : [ 1.50 , 2E-3 ] } }'
    )
    out = rewrite_line(spaced, mapper)
    assert out == spaced.replace(b"/home/jos\\u00e9", b"/srv/caf\\u00e9")


def test_duplicate_keys_only_the_value_json_sees() -> None:
    mapper = PathMapper(["/a=/b"])
    line = b'{"type":"session_meta","payload":{"cwd":"/keep","cwd":"/a/x"}}'
    assert (
        rewrite_line(line, mapper)
        == b'{"type":"session_meta","payload":{"cwd":"/keep","cwd":"/b/x"}}'
    )


def test_history_only_and_identity_rules_change_nothing() -> None:
    line = b'{"type":"session_meta","payload":{"cwd":"/a/old/x"}}'
    assert rewrite_line(line, PathMapper(["/a=/b"], history_only=["/a/old"])) is line
    assert rewrite_line(line, PathMapper(["/a=/a"])) is line
    assert rewrite_line(line, PathMapper(history_only=["/a"])) is line


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"\n",
        b"\r\n",
        b'{"type":"session_meta","payload":{"cwd":"/a/x"',  # truncated
        b'{"type":"session_meta","payload":{"cwd":"/a/x"}}junk\n',
        b'{"type":"session_meta","payload":{"cwd":"/a/\xff"}}\n',  # invalid UTF-8
        b'\xef\xbb\xbf{"type":"session_meta","payload":{"cwd":"/a/x"}}',  # BOM
        b'["cwd", "/a/x"]',
        b'"cwd"',
        b'{"type":"session_meta","payload":{"cwd":"relative/a/x"}}',
        b'{"type":"session_meta","payload":{"cwd":["/a/x"]}}',
        b"[" * 100000 + b'{"cwd":"/a/x"}' + b"]" * 100000,
    ],
)
def test_unreadable_lines_pass_through(line: bytes) -> None:
    mapper = PathMapper(["/a=/b"])
    assert rewrite_line(line, mapper) == line
    assert rewrite_line(line, mapper, rewrite_text=True) == line


def test_lone_surrogate_in_a_mapped_value_is_written_escaped() -> None:
    line = b'{"type":"session_meta","payload":{"cwd":"/a/x\\ud800"}}'
    out = rewrite_line(line, PathMapper(["/a/x\ud800=/b"]))
    assert out == b'{"type":"session_meta","payload":{"cwd":"/b"}}'
    out = rewrite_line(line, PathMapper(["/a=/b"]))
    assert out == b'{"type":"session_meta","payload":{"cwd":"/b/x\\ud800"}}'


def test_line_changes_reports_key_paths() -> None:
    changes = line_changes(META_169 + b"\n", WIN_169)
    assert [(c.key_path, c.old, c.new, c.text) for c in changes] == [
        (("payload", "cwd"), P169, W169, False),
        (("payload", "runtime_workspace_roots", 0), P169, W169, False),
    ]
    assert line_changes(FUNCTION_OUTPUT_169, WIN_169) == []
    assert [c.text for c in line_changes(ENV_CONTEXT_169, WIN_169, rewrite_text=True)] == [True]


def test_json_is_only_parsed_for_candidate_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real = rewrite_mod._changes

    def spy(body: bytes, *args: Any) -> Any:
        calls.append(body)
        return real(body, *args)

    monkeypatch.setattr(rewrite_mod, "_changes", spy)
    elsewhere = PathMapper(["/Users/someone/elsewhere=/x"])
    for line in REAL_169 + REAL_080:
        rewrite_line(line, elsewhere, rewrite_text=True)  # another project: never parsed
    assert calls == []
    for line in REAL_169:
        rewrite_line(line, WIN_169)
    # only lines with a path field and the rule's name ("p169") are parsed
    assert len(calls) == 5
    calls.clear()
    for line in REAL_169:
        rewrite_line(line, WIN_169, rewrite_text=True)
    assert len(calls) == 6  # + the <environment_context> message


# -- properties -------------------------------------------------------------------------------

_NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\x00"),
    min_size=1,
    max_size=6,
).filter(lambda s: s not in (".", ".."))
_NAMES = st.lists(_NAME, min_size=0, max_size=3)

OLD_ROOTS = ["/Users/alex", "/Users/alex/My Projects/app", r"C:\Users\Alex", "/mnt/d/Work"]
NEW_ROOTS = ["/home/alex", r"D:\Home\alex", "/srv/x y", r"\\nas\share\alex"]
PROPERTY_MAPPER = PathMapper(
    [f"{o}={n}" for o, n in zip(OLD_ROOTS, NEW_ROOTS, strict=True)], wsl=True
)


@st.composite
def paths(draw: st.DrawFn) -> str:
    """A path under one of the OLD roots, under a NEW root, or elsewhere."""
    bases = [*OLD_ROOTS, *NEW_ROOTS, "/Users/alexandra", r"E:\x", r"D:\Work", "/"]
    text = str(parse(draw(st.sampled_from(bases))).joined(draw(_NAMES)))
    if text[1:3] == ":\\":  # other spellings of the same Windows place
        text = draw(
            st.sampled_from(
                [text, text.lower(), text.upper(), text.replace("\\", "/"), "\\\\?\\" + text]
            )
        )
    elif text.startswith("/mnt/d/") and draw(st.booleans()):
        text = "/mnt/D/" + text[7:]
    return text


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    paths(),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def records(draw: st.DrawFn) -> tuple[dict[str, Any], dict[tuple[Any, ...], str]]:
    """A rollout record with some path fields, and the key paths of those fields."""
    p = draw(paths())
    kind = draw(st.sampled_from(["session_meta", "turn_context", "tsa", "cmd", "world", "other"]))
    payload: dict[str, Any] = draw(st.dictionaries(st.sampled_from(["a", "b", "n"]), _JSON))
    fields: dict[tuple[Any, ...], str] = {}
    if kind == "session_meta":
        roots = draw(st.lists(paths(), max_size=2))
        payload.update(cwd=p, runtime_workspace_roots=roots)
        fields[("payload", "cwd")] = p
        fields.update({("payload", "runtime_workspace_roots", i): r for i, r in enumerate(roots)})
    elif kind == "turn_context":
        roots = draw(st.lists(paths(), max_size=2))
        payload.update(cwd=p, sandbox_policy={"type": "workspace-write", "writable_roots": roots})
        fields[("payload", "cwd")] = p
        fields.update(
            {("payload", "sandbox_policy", "writable_roots", i): r for i, r in enumerate(roots)}
        )
    elif kind == "tsa":
        payload.update(type="thread_settings_applied", thread_settings={"cwd": p, "model": "m"})
        fields[("payload", "thread_settings", "cwd")] = p
        kind = "event_msg"
    elif kind == "cmd":
        url = to_file_url(parse(p))
        payload.update(type="item_completed", item={"type": "CommandExecution", "cwd": url})
        fields[("payload", "item", "cwd")] = url
        kind = "event_msg"
    elif kind == "world":
        payload.update(state={"environments": {"local": {"cwd": p}}})
        fields[("payload", "state", "environments", "local", "cwd")] = p
        kind = "world_state"
    else:
        payload.update(cwd=p)  # a "cwd" in a record type that has no path fields
    record = {"timestamp": "2026-11-25T07:41:40.506Z", "type": kind, "payload": payload}
    if draw(st.booleans()):
        record = {"timestamp": record["timestamp"], "ordinal": 3, **record}
    return record, fields


@st.composite
def encoded(draw: st.DrawFn, record: dict[str, Any]) -> bytes:
    sep = draw(st.sampled_from([(",", ":"), (", ", ": "), (",", " : ")]))
    text = json.dumps(record, separators=sep, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace("/", "\\/")
    return text.encode()


def expected_value(value: str, mapper: PathMapper) -> str:
    if value.startswith("file:"):
        new = mapper.map(str(from_file_url(value)))
        return value if new is None else to_file_url(parse(new))
    res = mapper.resolve(value)
    return res.new_path if res.changed and res.new_path is not None else value


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_property_only_mapped_values_change(data: st.DataObject) -> None:
    record, fields = data.draw(records())
    line = data.draw(encoded(record))
    out = rewrite_line(line, PROPERTY_MAPPER)
    want = json.loads(line)
    changed = 0
    for key_path, value in fields.items():
        new = expected_value(value, PROPERTY_MAPPER)
        changed += new != value
        put(want, key_path, new)
    assert json.loads(out) == want
    assert len(token_diff(line, out)) == changed
    if not changed:
        assert out == line


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_property_lines_without_mapped_paths_are_identical(data: st.DataObject) -> None:
    record, _ = data.draw(records())
    line = data.draw(encoded(record))
    elsewhere = PathMapper(["/opt/nothing-here=/x", r"Z:\none=/y"], wsl=True)
    assert rewrite_line(line, elsewhere) is line
    assert rewrite_line(line, elsewhere, rewrite_text=True) is line
    assert rewrite_line(line, PathMapper(history_only=OLD_ROOTS)) is line


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_property_rewrite_is_idempotent(data: st.DataObject) -> None:
    # NEW roots are never under an OLD root (nor the reverse), so a second pass has nothing to do
    record, _ = data.draw(records())
    line = data.draw(encoded(record))
    once = rewrite_line(line, PROPERTY_MAPPER, rewrite_text=True)
    assert rewrite_line(once, PROPERTY_MAPPER, rewrite_text=True) == once
    p = data.draw(paths())
    first = PROPERTY_MAPPER.map(p) or p
    assert (PROPERTY_MAPPER.map(first) or first) == first


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_property_prefix_of_a_file_maps_to_prefix_of_the_mapped_file(
    data: st.DataObject,
) -> None:
    lines: list[bytes] = []
    for _ in range(data.draw(st.integers(1, 8))):
        if data.draw(st.booleans()):
            body = data.draw(st.sampled_from(REAL_169 + REAL_080))
        else:
            body = data.draw(encoded(data.draw(records())[0]))
        lines.append(body + data.draw(st.sampled_from([b"\n", b"\r\n"])))
    if data.draw(st.booleans()):
        lines[-1] = lines[-1].rstrip(b"\r\n")  # last line without a terminator
    mapper = data.draw(st.sampled_from([PROPERTY_MAPPER, WIN_169, HOME_080]))
    whole = b"".join(rewrite_lines(lines, mapper))
    k = data.draw(st.integers(0, len(lines)))
    prefix = b"".join(rewrite_lines(lines[:k], mapper))
    assert whole.startswith(prefix)
    assert whole.count(b"\n") == b"".join(lines).count(b"\n")
    # a file cut in the middle of a line: the partial line is left as it is
    if k:
        partial = lines[k - 1][: len(lines[k - 1]) // 2]
        cut = b"".join(rewrite_lines([*lines[: k - 1], partial], mapper))
        assert cut == b"".join(rewrite_lines(lines[: k - 1], mapper)) + partial
