"""Engine errors reach the web UI as codes: each code is a message key translated through the
catalog (the engine's English stays under "Technical details"), and a code the UI does not
know yet falls back to the engine's English."""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import re
from pathlib import Path

import pytest

import codex_migrate
from codex_migrate.errors import CodexMigrateError, HomeInUse, HomeNotFound
from codex_migrate.translations import translations
from codex_migrate.ui.error_text import ERROR_TEXT, FALLBACK_CODE, OS_TEXT, localize
from tests.test_ui_support import Client, confirm_token, copied_home, text_of, ui_server

SRC = Path(codex_migrate.__file__).parent
MAC = "/Users/alex/Projects"


def _error_classes() -> list[type[CodexMigrateError]]:
    for info in pkgutil.walk_packages([str(SRC)], "codex_migrate."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    found: list[type[CodexMigrateError]] = []
    todo: list[type[CodexMigrateError]] = [CodexMigrateError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found


def engine_codes() -> set[str]:
    """Every error code the engine can raise: each class's ``code``, every ``code="…"`` given
    where one of those classes is raised, and the reasons a home is in use."""
    classes = _error_classes()
    names = {cls.__name__ for cls in classes}
    codes = {cls.code for cls in classes} | set(HomeInUse.REASONS)
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in names:
                continue
            for kw in node.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Constant):
                    codes.add(kw.value.value)
    return codes


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)s", text))


def test_every_error_code_has_a_message_in_both_languages() -> None:
    codes = engine_codes()
    assert {"home-missing", "codex-running", "db-locked", "disk-full", "same-home"} <= codes
    assert "merge-conflicts" in codes and "db-schema-unknown" in codes
    wanted = codes - {FALLBACK_CODE}
    missing = sorted(wanted - set(ERROR_TEXT))
    assert not missing, f"error codes without a message in ui/error_text.py: {missing}"
    stale = sorted(set(ERROR_TEXT) - codes)
    assert not stale, f"messages for codes the engine never raises: {stale}"
    zh = translations("zh_Hans")
    for code, (message, hint) in ERROR_TEXT.items():
        for english in (message, hint):
            if english is None:
                continue
            chinese = zh.gettext(english)
            assert chinese != english, f"{code}: no Chinese for {english!r}"
            assert _placeholders(chinese) == _placeholders(english), code
            assert translations("en").gettext(english) == english


def test_a_file_system_error_is_shown_by_its_kind() -> None:
    import errno

    for exc, code in (
        (OSError(errno.ENOSPC, "No space left on device", "/h/x"), "disk-full"),
        (PermissionError(errno.EACCES, "Permission denied", "/h/x"), "permission-denied"),
        (OSError(errno.EROFS, "Read-only file system", "/h/x"), "read-only"),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "/h/x"), "file-missing"),
    ):
        shown = localize(exc, "zh_Hans")
        assert shown.translated and shown.code == code, shown
        assert "No " not in shown.message and "denied" not in shown.message
    assert localize(OSError(errno.EACCES, "Permission denied"), "zh_Hans").translated is False
    zh = translations("zh_Hans")
    for message, hint in OS_TEXT.values():
        for english in filter(None, (message, hint)):
            assert zh.gettext(english) != english, english


def test_a_code_is_shown_in_the_language_with_its_values() -> None:
    exc = HomeNotFound("/x does not exist.", code="home-missing", params={"path": "/x"})
    zh = localize(exc, "zh_Hans")
    assert zh.translated and zh.message == "文件夹 /x 不存在。"
    assert localize(exc, "en").message == "The folder /x does not exist."


@pytest.mark.parametrize(
    "exc",
    [
        CodexMigrateError("something new went wrong"),  # the fallback code
        CodexMigrateError("a code this UI does not know", code="brand-new-code"),
        HomeNotFound("params missing", code="home-missing"),  # %(path)s has no value
    ],
)
def test_an_unknown_code_falls_back_to_the_engines_english(exc: CodexMigrateError) -> None:
    shown = localize(exc, "zh_Hans")
    assert not shown.translated
    assert (shown.message, shown.hint) == (exc.message, exc.hint)


def _shown_error(page: str) -> tuple[str | None, str]:
    """The page's error code and its visible text without the technical details."""
    code = re.search(r'data-error-code="([^"]+)"', page)
    visible = re.sub(r"<details.*?</details>", "", page, flags=re.S)
    return (code.group(1) if code else None), text_of(visible)


def test_engine_errors_are_shown_in_chinese(tmp_path: Path) -> None:
    """Three kinds of engine error on the Chinese pages: a source that does not exist, the
    source being this computer's own home, and a home another codex-migrate is writing."""
    copied = copied_home(tmp_path / "work")
    home = copied.home
    missing = tmp_path / "nowhere"
    with ui_server(home) as (config, _url):
        client = Client(config.origin, config.tokens.issue())
        client.accept_language = "zh-CN"
        client.sign_in()

        page = client.wait_job(client.post("/migrate/source", {"source": str(missing)}))
        code, text = _shown_error(page.text)
        assert code == "home-missing", text[:1500]
        assert f"文件夹 {missing} 不存在。" in text
        assert "does not exist" not in text, "the engine's English only under the details"
        assert f"{missing} does not exist." in page.text  # … which are still there

        page = client.wait_job(client.post("/migrate/source", {"source": str(home)}))
        code, text = _shown_error(page.text)
        assert code == "same-home", text[:1500]
        assert "来源和这台电脑的 Codex 主目录是同一个文件夹。" in text
        assert "请选择复制来的文件夹或备份" in text  # the hint too
        assert "same home" not in text

        preview = client.post(
            "/repair", {"rule_old": MAC, "rule_new": str(copied.projects), "action": "preview"}
        )
        lock = home / "migration_transactions" / "lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text(f'{{"pid": {os.getppid()}, "since": 0}}')  # a live process holds it
        before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file() and p != lock}
        try:
            token = confirm_token(preview.text)
            posted = client.post("/repair/apply", {"confirm": token}, follow=False)
            page = client.wait_job(client.get(posted.location or ""))
        finally:
            lock.unlink()
        code, text = _shown_error(page.text)
        assert code == "other-command", text[:1500]
        assert "另一个 codex-migrate 正在处理这个主目录。" in text
        assert "working on this home" not in text
        after = {p: p.read_bytes() for p in home.rglob("*") if p.is_file() and p != lock}
        assert after == before, "nothing was written"
