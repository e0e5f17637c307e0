"""``--redact``: planted secrets of every kind are masked in both formats, and counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from codex_migrate.cli import cli
from codex_migrate.cli.export import export_html, export_md
from codex_migrate.export.redact import Redactor
from tests.test_export_sessions import TINY_PNG_URL, Rollout, home_with, tid

# Realistic-looking, fake secrets (none is valid anywhere).
OPENAI = "sk-proj-Zx8Qm2Lp4Rt6Vb8Nc0Xa2Sd4Fg6Hj8Kl0Qw2Er4Ty6"
ANTHROPIC = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345"
GITHUB = "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R"
AWS_ID = "AKIAQ3EXAMPLE7WXYZ12"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
SLACK = "xoxb-2210987654321-1234567890123-AbCdEfGhIjKlMnOp"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFsZXgifQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
URL_PASSWORD = "Tr0ub4dor&3x"
DB_PASSWORD = "correct horse battery staple"
BEARER = "abcDEF1234567890ghiJKL"
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1x9Qz7l0PLANTEDKEYBODY\n"
    "QmFzZTY0IGJvZHkgb2YgYSBwbGFudGVkIGtleQ==\n-----END RSA PRIVATE KEY-----"
)
SECRETS = [
    OPENAI,
    ANTHROPIC,
    GITHUB,
    AWS_ID,
    AWS_SECRET,
    SLACK,
    JWT,
    URL_PASSWORD,
    DB_PASSWORD,
    BEARER,
    "MIIEowIBAAKCAQEA1x9Qz7l0PLANTEDKEYBODY",
]


def planted_session() -> Rollout:
    """Secrets in a user message, a command, its output, a patch, an MCP call, a reasoning
    summary, an assistant reply, the project path and the thread name."""
    r = Rollout("paginated", tid(1), cwd=f"/home/alex/{GITHUB}/app")
    r.user(
        f"my key is {OPENAI} and the db is postgres://app:{URL_PASSWORD}@db:5432/x",
        images=[TINY_PNG_URL],
    )
    r.reasoning(f"The user pasted {ANTHROPIC}")
    r.shell(
        f'curl -H "Authorization: Bearer {BEARER}" https://api.example.com',
        f"AWS_ACCESS_KEY_ID={AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n",
    )
    env_file = f'+SLACK_TOKEN={SLACK}\n+DB_PASSWORD="{DB_PASSWORD}"\n'
    r.patch(f"*** Begin Patch\n*** Add File: .env\n{env_file}*** End Patch\n")
    r.mcp("vault", "read", {"token": JWT}, PRIVATE_KEY)
    r.assistant("Never paste `" + GITHUB + "` into chat.")
    r.end_turn()
    return r


EXPECTED = {
    "openai_api_key": 1,
    "password_in_url": 1,
    "anthropic_api_key": 1,
    "bearer_token": 1,
    "aws_access_key_id": 1,
    "aws_secret_access_key": 1,
    "slack_token": 1,
    "secret_assignment": 1,
    "jwt": 1,
    "private_key": 1,
    "github_token": 3,  # cwd in the header, cwd in the context block, the reply
}


def run(args: list[str]) -> object:
    cli.add_command(export_html)
    cli.add_command(export_md)
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("command", ["export-html", "export-md"])
def test_planted_secrets_are_masked_and_counted(tmp_path: Path, command: str) -> None:
    r = planted_session()
    home = home_with(tmp_path, r, names={r.id: f"Rotate {OPENAI}"})
    out = tmp_path / "out"
    args = [command, "--codex-home", str(home), "--all", "-o", str(out), "--redact"]
    result = run([*args, "--json"])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    report = json.loads(result.output)  # type: ignore[attr-defined]
    (exported,) = report["files"]
    doc = Path(exported["path"]).read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in doc, secret
        assert secret not in Path(exported["path"]).name
    # The title's key is counted too (thread name -> header); the rest as planted.
    expected = {**EXPECTED, "openai_api_key": 2}
    assert report["redactions"] == expected
    assert exported["redactions"] == expected
    assert "[REDACTED:private_key]" in doc and "[REDACTED:jwt]" in doc
    assert "postgres://app:[REDACTED:password_in_url]@db:5432/x" in doc
    assert TINY_PNG_URL in doc or "_files/image-001.png" in doc  # images untouched
    # The human summary names every kind with its count.
    shown = run([*args, "--overwrite"])
    assert shown.exit_code == 0  # type: ignore[attr-defined]
    assert f"Masked {sum(expected.values())} secrets:" in shown.output  # type: ignore[attr-defined]
    for name, count in expected.items():
        assert f"  {name}: {count}" in shown.output  # type: ignore[attr-defined]


def test_without_redact_nothing_is_masked(tmp_path: Path) -> None:
    home = home_with(tmp_path, planted_session())
    result = run(["export-html", "--codex-home", str(home), "--all", "-o", str(tmp_path / "o")])
    assert result.exit_code == 0  # type: ignore[attr-defined]
    (page,) = (tmp_path / "o").glob("*.html")
    assert OPENAI in page.read_text() and "REDACTED" not in page.read_text()
    assert "Masked" not in result.output  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens: 4096 and tokens_used=123456",
        "the password is stored in the vault",
        "DB_PASSWORD=${DB_PASSWORD}",
        "sk-short",
        "token = true",
        "See https://example.com/path:with:colons",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    redactor = Redactor()
    assert redactor(text) == text
    assert redactor.total == 0


@pytest.mark.parametrize(
    ("text", "masked", "name"),
    [
        ("Password: Hunter2xyz", "Password: [REDACTED:secret_assignment]", "secret_assignment"),
        (
            "AUTHORIZATION: Basic dXNlcjpwYXNzd29yZA==",
            "AUTHORIZATION: Basic [REDACTED:basic_auth]",
            "basic_auth",
        ),
        # Lower-casing changes this text's length: the slower exact path must give the same.
        (
            "İstanbul TOKEN=abcdefgh1",
            "İstanbul TOKEN=[REDACTED:secret_assignment]",
            "secret_assignment",
        ),
        ("BEARER abcdefghijklmnopqrstu", "BEARER [REDACTED:bearer_token]", "bearer_token"),
    ],
)
def test_case_insensitive_patterns(text: str, masked: str, name: str) -> None:
    redactor = Redactor()
    assert redactor(text) == masked
    assert redactor.summary() == {name: 1}


def test_masks_are_stable() -> None:
    redactor = Redactor()
    once = redactor(f"API_KEY={OPENAI}")
    assert once == "API_KEY=[REDACTED:openai_api_key]"
    assert redactor(once) == once
    assert redactor.summary() == {"openai_api_key": 1}
