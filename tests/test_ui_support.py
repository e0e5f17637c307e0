"""Shared helpers for the UI tests: a real server in a thread and a small cookie-keeping client.

Tests talk HTTP to uvicorn on 127.0.0.1 (not an in-process shortcut), so the Host, Origin and
cookie rules are exercised exactly as a browser meets them. No test here touches ``~/.codex``.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from codex_migrate.ui.common import UIConfig
from codex_migrate.ui.server import Demo, build_demo, make_config, running

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
CONFIRM_RE = re.compile(r'name="confirm" value="([^"]+)"')


def confirm_token(html: str) -> str:
    """The one-time confirm token of a preview page (the confirm protocol, ``ui.confirm``)."""
    m = CONFIRM_RE.search(html)
    assert m, "no confirm form on this page: " + re.sub(r"<[^>]+>", " ", html)[:1500]
    return m.group(1)


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
    """Just enough of a browser: keeps cookies, sends Origin on POST, follows 303s, and (as the
    page's script does) follows a job's progress page to where it leads when the job ends."""

    base: str
    token: str
    cookies: dict[str, str] = field(default_factory=dict)
    accept_language: str = "en"
    last: Resp | None = None
    csrf_token: str | None = None

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
        wait: bool = True,
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
            return self.request("GET", resp.location, follow=True, wait=wait)
        self.last = resp
        if follow and wait and "data-events=" in resp.text:
            return self.wait_job(resp)
        return resp

    def get(self, path: str, **kw: object) -> Resp:
        return self.request("GET", path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, object] | None = None, **kw: object) -> Resp:
        form: dict[str, object] = {"csrf": self.csrf(), **(data or {})}
        return self.request("POST", path, data=form, **kw)  # type: ignore[arg-type]

    def sign_in(self) -> Resp:
        """Spend the one-time link; the session's CSRF token is read from the page it leads to
        (it stays the same for the session, so later posts never depend on what page came
        last: a job's progress page, a fragment, an error)."""
        page = self.get(f"/?token={self.token}")
        m = CSRF_RE.search(page.text)
        self.csrf_token = m.group(1) if m else None
        return page

    def csrf(self) -> str:
        if self.csrf_token:
            return self.csrf_token
        page = self.last if self.last is not None and CSRF_RE.search(self.last.text) else None
        page = page or self.get("/")
        m = CSRF_RE.search(page.text)
        assert m, f"no CSRF token on the page (HTTP {page.status}): {page.text[:500]}"
        self.csrf_token = m.group(1)
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
            page = self.get(url, wait=False)
        return page

    def events(self, job: str, timeout: float = 60) -> Iterator[tuple[str, dict[str, object]]]:
        """The job's server-sent events as they arrive: ``(name, data)`` pairs."""
        parts = urlsplit(self.base)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request("GET", f"{job}/events", headers={"Host": self.host, "Cookie": cookie})
        raw = conn.getresponse()
        assert raw.status == 200, raw.status
        assert raw.getheader("content-type", "").startswith("text/event-stream")
        name, data = "message", ""
        try:
            while line := raw.readline():
                text = line.decode().rstrip("\r\n")
                if text.startswith("event: "):
                    name = text[len("event: ") :]
                elif text.startswith("data: "):
                    data += text[len("data: ") :]
                elif not text and data:
                    yield name, json.loads(data)
                    name, data = "message", ""
        finally:
            conn.close()

    def job_of(self, resp: Resp) -> str:
        """The ``/jobs/ID`` a (not followed) response leads to."""
        assert resp.status == 303 and (resp.location or "").startswith("/jobs/"), resp.status
        return urlsplit(resp.location or "").path


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
        client = Client(config.origin, config.tokens.issue())
        yield config, client, demo


def form_then_confirm(
    client: Client, form: str, data: dict[str, object] | list[tuple[str, str]], apply: str
) -> Resp:
    """Post a write's form, then confirm the preview it leads to; the confirm POST's response
    (a 303 to the job, or a refusal), not followed."""
    preview = client.post(form, data)
    return client.post(apply, {"confirm": confirm_token(preview.text)}, follow=False)


def text_of(html: str) -> str:
    """Visible text, roughly: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@dataclass
class CopiedHome:
    """The demo's Mac home copied to this machine together with its state DB (see
    :func:`copied_home`): what ``doctor`` is for."""

    home: Path
    projects: Path
    ids: dict[str, str]


def copied_home(root: Path, *, backfill: str = "running") -> CopiedHome:
    """The demo's Mac home, copied here with its state DB (as rsync or a cloud drive does).

    Its rows still name the Mac's files (``row-path-missing``), one is relative, one records the
    wrong history format, one thread has no row, a name lives only in ``session_index.jsonl``,
    a row has no file here, and ``backfill_state`` is ``running`` with a fresh lease (or
    ``backfill``). The projects are under ``/Users/alex/Projects`` (missing here: Repair's
    job), except one ``codex exec`` session and one clean session in a folder that exists.
    """
    import sqlite3

    from codex_migrate.demo import MAC_ROOT, build_demo_home, paginated_rollout

    home = build_demo_home(root / "copied")
    projects = root / "code"
    (projects / "tools").mkdir(parents=True)
    rollouts = {p.name[-42:-6]: p for p in home.rglob("rollout-*.jsonl")}
    ordered = sorted(rollouts)
    ids = {
        "checkout": ordered[0],  # named only in session_index.jsonl; Mac path
        "slow-build": ordered[1],  # relative rollout_path
        "archived": ordered[2],  # archived; Mac path
        "csv": ordered[3],  # legacy file, row says paginated
        "no-row": ordered[4],  # no DB row
        "bare": ordered[5],  # 2025 format: hidden, nothing to repair
        "orphan": "019a6f3c-00ff-70ff-80ff-0000000000ff",
        "exec": "019a6f3c-0101-7101-8101-000000000101",
        "clean": "019a6f3c-0102-7102-8102-000000000102",
    }
    for key, source in (("exec", "exec"), ("clean", "cli")):
        thread_id = ids[key]
        when = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        turns = [(f"A {key} task", "Ok")]
        text = paginated_rollout(thread_id, str(projects / "tools"), when, turns)
        text = text.replace('"source":"cli"', f'"source":"{source}"', 1)
        day = home / "sessions" / "2026" / "03" / "01"
        path = day / f"rollout-2026-03-01T09-00-00-{thread_id}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        rollouts[thread_id] = path

    from codex_migrate.catalog import build_catalog
    from codex_migrate.home import open_home

    titles = {t.id: t.title or "" for t in build_catalog(open_home(home)).threads}
    mac_home = "/Users/alex/.codex"
    rows: list[dict[str, object]] = []

    def row(key: str, rollout_path: str, cwd: str, **extra: object) -> None:
        thread_id = ids[key]
        title = titles.get(thread_id) or "An old session"
        rows.append(
            {
                "id": thread_id,
                "rollout_path": rollout_path,
                "cwd": cwd,
                "title": title,
                "preview": title,
                "first_user_message": title,
                "history_mode": "paginated",
                "archived": 0,
                **extra,
            }
        )

    def mac_path(key: str) -> str:
        return mac_home + "/" + str(rollouts[ids[key]].relative_to(home))

    row("checkout", mac_path("checkout"), f"{MAC_ROOT}/webshop")
    row("slow-build", str(rollouts[ids["slow-build"]].relative_to(home)), f"{MAC_ROOT}/webshop")
    row("archived", mac_path("archived"), f"{MAC_ROOT}/my app", archived=1)
    row("csv", str(rollouts[ids["csv"]]), f"{MAC_ROOT}/data-pipeline")
    row("orphan", f"{mac_home}/sessions/2026/02/01/rollout-x-{ids['orphan']}.jsonl", MAC_ROOT)
    row("exec", str(rollouts[ids["exec"]]), str(projects / "tools"))
    row("clean", str(rollouts[ids["clean"]]), str(projects / "tools"))

    db = home / "state_5.sqlite"
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT NOT NULL, cwd TEXT NOT NULL,"
        " title TEXT NOT NULL DEFAULT '', preview TEXT NOT NULL DEFAULT '',"
        " first_user_message TEXT NOT NULL DEFAULT '', name TEXT,"
        " archived INTEGER NOT NULL DEFAULT 0, archived_at INTEGER,"
        " history_mode TEXT NOT NULL DEFAULT 'legacy', source TEXT, model_provider TEXT,"
        " created_at INTEGER, updated_at INTEGER)"
    )
    conn.execute(
        "CREATE TABLE backfill_state (id INTEGER PRIMARY KEY, status TEXT, updated_at INTEGER)"
    )
    conn.execute("INSERT INTO backfill_state VALUES (1, ?, ?)", (backfill, int(time.time())))
    for r in rows:
        cols = ", ".join(r)
        marks = ", ".join("?" for _ in r)
        conn.execute(f"INSERT INTO threads ({cols}) VALUES ({marks})", list(r.values()))
    conn.commit()
    conn.close()
    return CopiedHome(home, projects, ids)


def wait_for_url(proc: subprocess.Popen[str], seconds: float = 90) -> Client:
    """The client for the token URL a started ``codex-migrate ui`` prints on its stdout."""
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        m = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        if m:
            return Client(m.group(1), m.group(2))
    raise AssertionError("no UI URL printed:\n" + "".join(seen))


def sign_in(client: Client, tries: int = 100) -> Resp:
    """Sign in with the URL's token, while the server may still be starting to listen."""
    for _ in range(tries):
        try:
            page = client.sign_in()
            break
        except ConnectionError:
            time.sleep(0.1)
    assert page.status == 200
    return page


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop a started UI as Ctrl-C does; kill it if it does not end."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
