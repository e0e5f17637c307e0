"""``export-html`` / ``export-md`` on the command line: selection, output, exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from codex_migrate.cli import cli
from codex_migrate.cli.export import export_html, export_md
from codex_migrate.errors import EXIT_FAILURE, EXIT_NO_HOME, EXIT_USAGE
from tests.test_export_sessions import Rollout, full_session, home_with, tid

LEGACY_ID = "7f3e9a10-2222-7000-8000-000000000002"


@pytest.fixture(autouse=True)
def _registered() -> None:
    cli.add_command(export_html)
    cli.add_command(export_md)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    a = full_session("paginated", 1, cwd="/Users/alex/Projects/app")
    b = Rollout("legacy", LEGACY_ID, "/Users/alex/Projects/app/").user("legacy q").assistant("a")
    c = Rollout("bare", tid(3), "/Users/alex/Projects/other").user("bare q").assistant("b")
    return home_with(tmp_path, a, b, c, names={tid(1): "Screenshot fix"})


def names(out: Path, ext: str = "html") -> list[str]:
    return sorted(p.name for p in out.glob(f"*.{ext}"))


def test_all(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("export-html", "--codex-home", str(home), "--all", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "Exported 3 threads as HTML" in result.output
    assert names(out) == sorted(
        [
            f"screenshot-fix-{tid(1)}.html",
            f"legacy-q-{LEGACY_ID}.html",
            f"bare-q-{tid(3)}.html",
        ]
    )


def test_thread_by_prefix_and_project(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "a"
    result = invoke(
        "export-md", "--codex-home", str(home), "--thread", LEGACY_ID[:8], "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    assert names(out, "md") == [f"legacy-q-{LEGACY_ID}.md"]
    out = tmp_path / "b"
    # Trailing slashes do not matter; every thread of the project is chosen.
    result = invoke(
        "export-md",
        "--codex-home",
        str(home),
        "--project",
        "/Users/alex/Projects/app/",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert len(names(out, "md")) == 2


def test_json_report(home: Path, tmp_path: Path) -> None:
    result = invoke(
        "export-html", "--codex-home", str(home), "--thread", tid(1), "-o", str(tmp_path), "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (f,) = data["files"]
    assert f["turns"] == 2 and f["user_messages"] == 2 and f["assistant_messages"] == 2
    assert f["tool_calls"] == 5 and f["images_embedded"] == 1
    assert data["redact"] is False and data["skipped"] == []


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        ([], EXIT_USAGE, "exactly one of --thread, --project or --all"),
        (["--all", "--thread", "x"], EXIT_USAGE, "exactly one of"),
        (["--thread", "ffff"], EXIT_USAGE, "no thread with id 'ffff'"),
        (["--thread", "019c0000"], EXIT_USAGE, "matches several threads"),
        (["--project", "/nowhere"], EXIT_USAGE, "no project '/nowhere'"),
    ],
)
def test_bad_selections(
    home: Path, tmp_path: Path, args: list[str], status: int, message: str
) -> None:
    result = invoke("export-html", "--codex-home", str(home), "-o", str(tmp_path / "o"), *args)
    assert result.exit_code == status, result.output
    assert message in result.output
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_missing_home(tmp_path: Path) -> None:
    result = invoke("export-html", "--codex-home", str(tmp_path / "none"), "--all")
    assert result.exit_code == EXIT_NO_HOME


def test_existing_files_make_the_run_fail_but_others_are_written(
    home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert (
        invoke(
            "export-html", "--codex-home", str(home), "--thread", tid(1), "-o", str(out)
        ).exit_code
        == 0
    )
    result = invoke("export-html", "--codex-home", str(home), "--all", "-o", str(out))
    assert result.exit_code == EXIT_FAILURE
    assert "Exported 2 threads" in result.output
    assert "Skipped 1:" in result.output and "pass --overwrite" in result.output
    result = invoke(
        "export-html", "--codex-home", str(home), "--all", "-o", str(out), "--overwrite"
    )
    assert result.exit_code == 0
    assert len(names(out)) == 3
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
