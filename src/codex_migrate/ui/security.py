"""The gate in front of every request: the UI can read and rewrite private conversations.

* Host: only ``127.0.0.1:<port>`` (a DNS-rebinding page has another Host).
* Authentication: a random one-time token per run, in the URL the CLI opens; its first use
  sets a session cookie (HttpOnly, SameSite=Strict) and redirects to a URL without the token.
  The token is spent then: used again from anywhere without that cookie it gets 403. Any
  request with neither gets 403.
* Writes (every method but GET/HEAD): the ``Origin`` (or, without it, the ``Referer``) must be
  this server, the body must be a small urlencoded form, and it must carry the session's CSRF
  token (field ``csrf`` or header ``X-CSRF-Token``).
* No CORS: no ``Access-Control-*`` header is ever sent and ``OPTIONS`` is refused.
* Headers: a strict CSP (no inline script, nothing from other origins), no framing, no sniffing,
  no caching, referrers only to ourselves.

A pure ASGI middleware, so it guards static files and the event streams as well.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import FormData, Headers, UploadFile

from codex_migrate.ui.sessions import Session, SessionStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_FORM_BYTES = 1_000_000
SAFE_METHODS = ("GET", "HEAD")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
FORBIDDEN_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>403</title></head>
<body><h1>403</h1><p>{en}</p><p lang="zh-Hans">{zh}</p></body></html>"""
#: Why a request was refused, in both languages (the page has no session, so no locale yet).
REASONS = {
    "host": (
        "This address is not accepted. Open the link that codex-migrate printed "
        "(it starts with http://127.0.0.1).",
        "不接受此地址。请打开 codex-migrate 打印的链接（以 http://127.0.0.1 开头）。",
    ),
    "token": (
        "Not signed in. Open the link that `codex-migrate ui` printed in the terminal; it "
        "contains a one-time key for this run.",
        "未登录。请打开 `codex-migrate ui` 在终端中打印的链接，其中包含本次运行的密钥。",
    ),
    "token-used": (
        "This sign-in link was already used. Each link opens one browser session; to open "
        "the UI in another browser, stop `codex-migrate ui` and start it again.",
        "此登录链接已被使用。每个链接只能打开一个浏览器会话；如需在另一个浏览器中打开，"
        "请停止并重新启动 `codex-migrate ui`。",
    ),
    "origin": (
        "Refused: the request did not come from this page.",
        "已拒绝：该请求并非来自本页面。",
    ),
    "csrf": (
        "Refused: the form was stale or forged. Reload the page and try again.",
        "已拒绝：表单已过期或被伪造。请重新加载页面后再试。",
    ),
    "method": ("Refused: cross-origin requests are not allowed.", "已拒绝：不允许跨域请求。"),
    "form": ("Refused: unexpected request body.", "已拒绝：请求内容不符合要求。"),
}


class OneTimeTokens:
    """Sign-in keys that each work once: the first use becomes a session cookie, and the same
    key is refused after that, so a link that leaks (shell history, a screenshot, a proxy
    log) is worthless once the user has opened it."""

    def __init__(self, first: str) -> None:
        self._unused = {first}
        self._spent: set[str] = set()
        self._lock = threading.Lock()

    def issue(self) -> str:
        """Another one-time key (for a second browser, or a test's second session)."""
        token = new_token()
        with self._lock:
            self._unused.add(token)
        return token

    def redeem(self, given: str) -> str:
        """``"ok"`` (now spent), ``"spent"`` (used before) or ``"wrong"``; constant-time."""
        with self._lock:
            match = next(
                (t for t in self._unused if hmac.compare_digest(given.encode(), t.encode())), None
            )
            if match is not None:
                self._unused.discard(match)
                self._spent.add(match)
                return "ok"
            if any(hmac.compare_digest(given.encode(), t.encode()) for t in self._spent):
                return "spent"
        return "wrong"


class Guard:
    """Wraps the app; see the module docstring for the rules."""

    def __init__(
        self, app: ASGIApp, *, tokens: OneTimeTokens, port: int, sessions: SessionStore
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.port = port
        self.sessions = sessions
        self.host = f"127.0.0.1:{port}"
        self.origin = f"http://{self.host}"
        self.cookie = f"codex_migrate_session_{port}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self._close_ws(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get("host") != self.host:
            await self._forbid(send, "host")
            return
        method = scope["method"]
        if method == "OPTIONS":
            await self._forbid(send, "method")
            return
        session = self.sessions.get(self._cookie(headers))
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        given = query.get("token")
        if given is not None and method in SAFE_METHODS:
            verdict = self.tokens.redeem(given)
            if verdict == "ok" or (verdict == "spent" and session is not None):
                # A spent key from the browser it signed in (a reload of the first URL) just
                # leaves the URL; from anywhere else it is refused.
                await self._sign_in(scope, send, session, query)
                return
            await self._forbid(send, "token-used" if verdict == "spent" else "token")
            return
        if session is None:
            await self._forbid(send, "token")
            return
        state = scope.setdefault("state", {})
        state["session"] = session
        if method not in SAFE_METHODS:
            if not self._same_origin(headers):
                await self._forbid(send, "origin")
                return
            body = await self._read_body(receive)
            if body is None or not self._is_form(headers, body):
                await self._forbid(send, "form")
                return
            pairs: list[tuple[str, str | UploadFile]] = list(
                parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            )
            form = FormData(pairs)
            given_csrf = headers.get("x-csrf-token") or form.get("csrf") or ""
            if not isinstance(given_csrf, str) or not hmac.compare_digest(
                given_csrf.encode(), session.csrf.encode()
            ):
                await self._forbid(send, "csrf")
                return
            state["form"] = form
            receive = _replay(body)
        await self.app(scope, receive, _with_headers(send))

    # -- helpers ---------------------------------------------------------------------------
    def _cookie(self, headers: Headers) -> str | None:
        raw = headers.get("cookie")
        if not raw:
            return None
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except Exception:
            return None
        morsel = jar.get(self.cookie)
        return morsel.value if morsel else None

    def _same_origin(self, headers: Headers) -> bool:
        origin = headers.get("origin")
        if origin is not None:
            return origin == self.origin
        referer = headers.get("referer")
        return referer is not None and (
            referer == self.origin or referer.startswith(self.origin + "/")
        )

    @staticmethod
    def _is_form(headers: Headers, body: bytes) -> bool:
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        return ctype == "application/x-www-form-urlencoded" or (not body and not ctype)

    @staticmethod
    async def _read_body(receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_FORM_BYTES:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def _sign_in(
        self, scope: Scope, send: Send, session: Session | None, query: dict[str, str]
    ) -> None:
        """First use of the token: a session cookie, then the same URL without the token."""
        if session is None:
            session = self.sessions.create()
        rest = {k: v for k, v in query.items() if k != "token"}
        location = scope.get("path", "/") + (f"?{urlencode(rest)}" if rest else "")
        if not location.startswith("/") or location.startswith("//"):
            location = "/"
        cookie = f"{self.cookie}={session.id}; Path=/; HttpOnly; SameSite=Strict"
        await _with_headers(send)(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1", "replace")),
                    (b"set-cookie", cookie.encode()),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def _forbid(self, send: Send, reason: str) -> None:
        en, zh = REASONS[reason]
        body = FORBIDDEN_PAGE.format(en=en, zh=zh).encode()
        await _with_headers(send)(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-codex-migrate-refused", reason.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _close_ws(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1008})


def _replay(body: bytes) -> Receive:
    """A ``receive`` that hands the already-read body to the app once."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (k, v)
                for k, v in message.get("headers", [])
                if not k.lower().startswith(b"access-control-")
            ]
            present = {k.lower() for k, _ in headers}
            headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def new_token() -> str:
    return secrets.token_urlsafe(32)
