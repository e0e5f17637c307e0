"""Running the UI: a socket on 127.0.0.1 only, uvicorn on it, and the demo homes for ``--demo``.

The socket is bound before the app is built so the app knows its real port (``--port 0`` picks
a free one), which the Host and Origin checks need.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from codex_migrate.ui import native
from codex_migrate.ui.app import create_app
from codex_migrate.ui.common import UIConfig
from codex_migrate.ui.security import new_token

HOST = "127.0.0.1"


def bind(port: int) -> socket.socket:
    """A listening socket on the loopback address only."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


@dataclass
class Demo:
    """Throwaway homes: a Mac's copied history, this machine's (empty) home, project folders."""

    root: Path
    source: Path
    codex_home: Path
    projects: Path


def build_demo(root: Path | None = None) -> Demo:
    from codex_migrate.demo import MARKER, build_demo_home

    base = Path(root or tempfile.mkdtemp(prefix="codex-migrate-ui-demo-"))
    source = build_demo_home(base / "copied-from-mac")
    home = base / "this-computer" / ".codex"
    home.mkdir(parents=True, exist_ok=True)
    projects = base / "this-computer" / "code"
    for name in ("webshop", "data-pipeline", "my app", "café-menu"):
        (projects / name).mkdir(parents=True, exist_ok=True)
    for name in ("backups", "exports", "Sync"):  # the demo's default destinations
        (base / name).mkdir(exist_ok=True)
    (base / MARKER).write_text("built by codex-migrate ui --demo\n")
    return Demo(base, source, home, projects)


def make_config(
    codex_home: Path,
    port: int,
    *,
    codex_bin: Path | None = None,
    no_codex: bool = False,
    demo: Demo | None = None,
) -> UIConfig:
    config = UIConfig(
        codex_home=codex_home.absolute(),
        port=port,
        token=new_token(),
        codex_bin=codex_bin,
        no_codex=no_codex,
        native_dialogs=native.available(),
    )
    if demo is not None:
        config.demo = True
        config.demo_source = demo.source
        config.browse_places = [demo.root]
        config.write_root = demo.root
    return config


def url_of(config: UIConfig) -> str:
    return f"{config.origin}/?token={config.token}"


def make_server(config: UIConfig) -> uvicorn.Server:
    app = create_app(config)
    uv_config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        proxy_headers=False,
        ws="none",
    )
    return uvicorn.Server(uv_config)


def serve(config: UIConfig, sock: socket.socket, *, wait_for_job: float = 600.0) -> None:
    """Serve until Ctrl+C; then let a running write finish (it is one transaction either way,
    but finishing beats leaving it to the next command's recovery) and release the sessions."""
    server = make_server(config)
    try:
        server.run(sockets=[sock])
    finally:
        inner = getattr(server.config.app, "app", None)
        state = getattr(inner, "state", None)
        if state is not None:
            state.jobs.cancel_reads()  # a read is only redone; a write is let finish
            state.jobs.wait_idle(wait_for_job)
            state.sessions.close_all()


@contextlib.contextmanager
def running(
    config_for_port: Callable[[int], UIConfig], port: int = 0
) -> Iterator[tuple[UIConfig, str]]:
    """Serve in a background thread (tests, embedding); yields (config, URL with token)."""
    sock = bind(port)
    config = config_for_port(sock.getsockname()[1])
    server = make_server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        yield config, url_of(config)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def remove_demo(demo: Demo) -> None:
    shutil.rmtree(demo.root, ignore_errors=True)
