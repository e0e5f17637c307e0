"""Shared helpers for the UI tests: a real server in a thread and a small cookie-keeping client.

Tests talk HTTP to uvicorn on 127.0.0.1 (not an in-process shortcut), so the Host, Origin and
cookie rules are exercised exactly as a browser meets them. No test here touches ``~/.codex``.
"""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from codex_migrate.ui.common import UIConfig
from codex_migrate.ui.server import Demo, build_demo, make_config, running

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    all_headers: list[tuple[str, str]]
    text: str

    @property
    def location(self) -> str | None:
        return self.headers.get("location")


@dataclass
class Client:
    """Just enough of a browser: keeps cookies, sends Origin on POST, follows 303s."""

    base: str
    token: str
    cookies: dict[str, str] = field(default_factory=dict)
    accept_language: str = "en"
    last: Resp | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def request(
        self,
        method: str,
        path: str,
        *,
        data: dict[str, object] | list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        follow: bool = True,
        cookies: bool = True,
    ) -> Resp:
        parts = urlsplit(self.base)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        hdrs = {"Host": self.host, "Accept-Language": self.accept_language}
        if cookies and self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            pairs: list[tuple[str, str]] = []
            items = data.items() if isinstance(data, dict) else data
            for k, v in items:
                if isinstance(v, (list, tuple)):
                    pairs += [(k, str(x)) for x in v]
                else:
                    pairs.append((k, str(v)))
            body = urlencode(pairs).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        if method == "POST":
            hdrs.setdefault("Origin", self.base)
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        raw = conn.getresponse()
        all_headers = raw.getheaders()
        text = raw.read().decode("utf-8", "replace")
        conn.close()
        for k, v in all_headers:
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        resp = Resp(raw.status, {k.lower(): v for k, v in all_headers}, all_headers, text)
        if follow and resp.status in (302, 303) and resp.location:
            return self.request("GET", resp.location, follow=True)
        self.last = resp
        return resp

    def get(self, path: str, **kw: object) -> Resp:
        return self.request("GET", path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, object] | None = None, **kw: object) -> Resp:
        form: dict[str, object] = {"csrf": self.csrf(), **(data or {})}
        return self.request("POST", path, data=form, **kw)  # type: ignore[arg-type]

    def sign_in(self) -> Resp:
        return self.get(f"/?token={self.token}")

    def csrf(self) -> str:
        if self.last is None or not CSRF_RE.search(self.last.text):
            self.get("/")
        assert self.last is not None
        m = CSRF_RE.search(self.last.text)
        assert m, "no CSRF token on the page"
        return m.group(1)

    def wait_job(self, resp: Resp, timeout: float = 120) -> Resp:
        """Follow a job page until its result is rendered."""
        deadline = time.monotonic() + timeout
        page = resp
        url = urlsplit(page.location or "").path if page.location else None
        m = re.search(r'data-events="(/jobs/[^/"]+)/events"', page.text)
        if m:
            url = m.group(1)
        while url and "data-events=" in page.text and time.monotonic() < deadline:
            time.sleep(0.1)
            page = self.get(url)
        return page


@contextmanager
def ui_server(
    codex_home: Path, *, demo: Demo | None = None, codex_bin: Path | None = None
) -> Iterator[tuple[UIConfig, str]]:
    def config_for(port: int) -> UIConfig:
        return make_config(
            codex_home, port, demo=demo, codex_bin=codex_bin, no_codex=codex_bin is None
        )

    with running(config_for) as (config, url):
        yield config, url


@contextmanager
def demo_server(tmp: Path) -> Iterator[tuple[UIConfig, Client, Demo]]:
    demo = build_demo(tmp / "demo")
    with ui_server(demo.codex_home, demo=demo) as (config, _url):
        client = Client(config.origin, config.token)
        yield config, client, demo


def text_of(html: str) -> str:
    """Visible text, roughly: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
