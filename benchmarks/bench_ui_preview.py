"""The web UI's migrate preview on a real-shaped home: how long, and how big the page is.

The source is :mod:`benchmarks.real_home` (real Codex rollouts, 12 projects under 4 roots);
the target an empty home. Through a real server on 127.0.0.1, as a browser does: sign in,
read the source (a job), bind every root (step 3), then the preview job; reported are the
source read and preview jobs' wall time, the time to render the preview page from the job's
result, and the page's size (collapsed, and with the first project opened). Never asserts.

    python -m benchmarks.bench_ui_preview --sessions 3000
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from benchmarks.real_home import ROOTS, make_home
from codex_migrate.ui.server import make_config, running


class _Browser:
    """Just enough of one: a cookie, the CSRF token, and waiting for a job to end."""

    def __init__(self, origin: str) -> None:
        self.parts = urlsplit(origin)
        self.cookie = ""
        self.csrf = ""

    def go(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        conn = http.client.HTTPConnection(self.parts.hostname, self.parts.port, timeout=600)
        headers = {"Host": self.parts.netloc}
        if self.cookie:
            headers["Cookie"] = self.cookie
        body = None
        if form is not None:
            body = urlencode({"csrf": self.csrf, **form})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://{self.parts.netloc}"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        if cookie := resp.getheader("set-cookie"):
            self.cookie = cookie.split(";", 1)[0]
        if m := re.search(r'name="csrf" value="([^"]+)"', text):
            self.csrf = m.group(1)
        return resp.status, resp.getheader("location") or "", text

    def until_done(self, location: str) -> float:
        """Follow a 303 to a job's page until the job redirects back; its wall time."""
        started = time.monotonic()
        while location.startswith("/jobs/"):
            status, _, _ = self.go("GET", location)
            if status == 303:
                break
            time.sleep(0.1)
        return time.monotonic() - started


@contextlib.contextmanager
def _listing_cache(folder: Path) -> Iterator[None]:
    """The UI runs in this process: a listing cache of the benchmark's own (empty, as in
    earlier rounds), never the user's cache folder."""
    saved = os.environ.get("CODEX_MIGRATE_CACHE_DIR")
    os.environ["CODEX_MIGRATE_CACHE_DIR"] = str(folder)
    try:
        yield
    finally:
        os.environ.pop("CODEX_MIGRATE_CACHE_DIR", None)
        if saved is not None:
            os.environ["CODEX_MIGRATE_CACHE_DIR"] = saved


def run(sessions: int) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory(prefix="bench-ui-preview-") as tmp:
        root = Path(tmp)
        shape = make_home(root / "source", sessions)
        target = root / "target" / ".codex"
        target.mkdir(parents=True)
        with (
            _listing_cache(root / "listing-cache"),
            running(lambda port: make_config(target, port, no_codex=True)) as (config, url),
        ):
            b = _Browser(config.origin)
            b.go("GET", urlsplit(url).path + "?" + urlsplit(url).query)
            b.go("GET", "/")
            _, loc, _ = b.go("POST", "/migrate/source", {"source": str(root / "source")})
            read_s = b.until_done(loc)
            for n, old in enumerate(ROOTS):
                b.go(
                    "POST",
                    "/migrate/map",
                    {"rule_old": old.rstrip("/"), "rule_new": str(root / f"root{n}")},
                )
            _, loc, _ = b.go("POST", "/migrate/map", {"action": "preview"})
            _, loc, _ = b.go("GET", loc)
            preview_s = b.until_done(loc)
            started = time.monotonic()
            status, _, page = b.go("GET", "/migrate/preview")
            render_s = time.monotonic() - started
            assert status == 200 and 'name="confirm"' in page, page[:2000]
            projects = re.findall(r'href="/migrate/preview\?open=([^"#]+)#', page)
            first = projects[0] if projects else ""
            started = time.monotonic()
            _, _, opened = b.go("GET", f"/migrate/preview?open={first}")
            open_s = time.monotonic() - started
        return {
            "home": shape.describe(),
            "read_source_s": round(read_s, 2),
            "preview_job_s": round(preview_s, 2),
            "render_preview_s": round(render_s, 3),
            "preview_kb": round(len(page.encode()) / 1024, 1),
            "projects_collapsed": len(projects),
            "render_opened_project_s": round(open_s, 3),
            "opened_project_kb": round(len(opened.encode()) / 1024, 1),
            "opened": first,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=3000)
    args = parser.parse_args()
    print(json.dumps(run(args.sessions), indent=2))


if __name__ == "__main__":
    main()
