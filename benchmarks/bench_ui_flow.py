"""The web UI's migrate flow against the CLI doing the same work, in the same run.

On a real-shaped home (:mod:`benchmarks.real_home`), every root mapped, into an empty home,
without Codex: the UI's three steps through a real server on 127.0.0.1 (read the source, the
preview, the confirmed write: each a job, timed from the POST until the job hands back), and
the CLI's ``scan --json``, ``import --dry-run --json`` and ``import --yes --json``. The UI serves
its pages while the job runs, so each of its times includes the polling a browser does.
Never asserts on time. Every step of both faces runs with a new, empty listing cache (as in
earlier rounds: a cold read of the home each time; ``bench_real`` has the warm figures), in
folders of the benchmark's own, never the user's cache.

    python -m benchmarks.bench_ui_flow --sessions 3000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.bench_ui_preview import _Browser
from benchmarks.measure import compile_package, measure
from benchmarks.real_home import ROOTS, make_home, map_args
from codex_migrate.ui.server import make_config, running

CLI = [sys.executable, "-m", "codex_migrate"]
#: A new empty listing-cache folder (its path) for each timed step.
Fresh = Callable[[], str]


def _cold(fresh: Fresh) -> None:
    """The in-process UI's next step reads with a new, empty cache."""
    os.environ["CODEX_MIGRATE_CACHE_DIR"] = fresh()


def _env(fresh: Fresh) -> dict[str, str]:
    return {**os.environ, "CODEX_MIGRATE_CACHE_DIR": fresh()}


def _ui(source: Path, target: Path, projects: Path, fresh: Fresh) -> dict[str, float]:
    with running(lambda port: make_config(target, port, no_codex=True)) as (config, url):
        b = _Browser(config.origin)
        b.go("GET", urlsplit(url).path + "?" + urlsplit(url).query)
        b.go("GET", "/")
        _cold(fresh)
        started = time.monotonic()
        _, loc, _ = b.go("POST", "/migrate/source", {"source": str(source)})
        b.until_done(loc)
        scan_s = time.monotonic() - started
        for n, old in enumerate(ROOTS):
            b.go(
                "POST",
                "/migrate/map",
                {"rule_old": old.rstrip("/"), "rule_new": str(projects / f"root{n}")},
            )
        _cold(fresh)
        started = time.monotonic()
        _, loc, _ = b.go("POST", "/migrate/map", {"action": "preview"})
        _, loc, _ = b.go("GET", loc)
        b.until_done(loc)
        _, _, page = b.go("GET", "/migrate/preview")
        preview_s = time.monotonic() - started
        token = re.search(r'name="confirm" value="([^"]+)"', page)
        assert token, page[:2000]
        _cold(fresh)
        started = time.monotonic()
        _, loc, _ = b.go("POST", "/migrate/apply", {"confirm": token.group(1)})
        while True:  # the job's page turns into the result page when the write is done
            status, _, page = b.go("GET", loc)
            if status == 200 and "data-events=" not in page:
                break
            time.sleep(0.1)
        apply_s = time.monotonic() - started
        assert "Import finished" in page, page[:2000]
    return {"scan": scan_s, "preview": preview_s, "apply": apply_s}


def _cli(source: Path, target: Path, projects: Path, fresh: Fresh) -> dict[str, float]:
    base = [*CLI, "import", str(source), "--codex-home", str(target), *map_args(projects)]
    base += ["--no-codex", "--json"]
    return {
        "scan": measure([*CLI, "scan", str(source), "--json"], env=_env(fresh)).seconds,
        "preview": measure([*base, "--dry-run"], env=_env(fresh)).seconds,
        "apply": measure([*base, "--yes"], env=_env(fresh)).seconds,
    }


def run(sessions: int) -> dict[str, object]:
    compile_package()  # time the tool as installed, not its first run from a checkout
    with tempfile.TemporaryDirectory(prefix="bench-ui-flow-") as tmp:
        root = Path(tmp)
        shape = make_home(root / "source", sessions)
        count = itertools.count()

        def fresh() -> str:
            return str(root / "caches" / str(next(count)))

        # warm the page cache (the listing cache stays cold: see the module's docstring)
        measure([*CLI, "scan", str(root / "source"), "--json"], env=_env(fresh))
        ui_home, cli_home = root / "ui" / ".codex", root / "cli" / ".codex"
        ui_home.mkdir(parents=True)
        cli_home.mkdir(parents=True)
        saved = os.environ.get("CODEX_MIGRATE_CACHE_DIR")
        try:
            ui = _ui(root / "source", ui_home, root / "ui-projects", fresh)
        finally:
            os.environ.pop("CODEX_MIGRATE_CACHE_DIR", None)
            if saved is not None:
                os.environ["CODEX_MIGRATE_CACHE_DIR"] = saved
        cli = _cli(root / "source", cli_home, root / "cli-projects", fresh)
        same = sorted(p.name for p in (ui_home / "sessions").rglob("*.jsonl")) == sorted(
            p.name for p in (cli_home / "sessions").rglob("*.jsonl")
        )
        return {
            "home": shape.describe(),
            "ui_s": {k: round(v, 2) for k, v in ui.items()},
            "cli_s": {k: round(v, 2) for k, v in cli.items()},
            "ui_over_cli": {k: round(ui[k] / cli[k], 2) for k in ui},
            "same_sessions_written": same,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=3000)
    args = parser.parse_args()
    print(json.dumps(run(args.sessions), indent=2))


if __name__ == "__main__":
    main()
