"""``codex-migrate ui``: start the local web UI (loaded by the main group).

The server listens on 127.0.0.1 only; the printed URL carries a random token for this run,
which the browser exchanges for a session cookie. Ctrl+C stops it.
"""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from codex_migrate.cli.common import codex_home_option


@click.command("ui")
@codex_home_option("This computer's Codex home")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.option("--no-browser", is_flag=True, help="Print the URL; do not open a browser.")
@click.option("--demo", is_flag=True, help="Serve throwaway demo homes: safe to try everything.")
@click.option(
    "--codex-bin",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="The Codex binary used after an import (default: `codex` on PATH).",
)
@click.option("--no-codex", is_flag=True, help="Do not run Codex after an import.")
def ui_command(
    codex_home: Path | None,
    port: int,
    no_browser: bool,
    demo: bool,
    codex_bin: Path | None,
    no_codex: bool,
) -> None:
    """Open the web UI: migrate, repair, back up, export and roll back, in your browser.

    Everything runs on this computer; the page is served on 127.0.0.1 only and needs the link
    printed here (it holds a one-time key for this run).
    """
    from codex_migrate.home import default_home
    from codex_migrate.ui.server import (
        bind,
        build_demo,
        make_config,
        remove_demo,
        serve,
        url_of,
    )

    demo_homes = build_demo() if demo else None
    if demo_homes:  # throwaway homes: no listing cache of them in the user's cache folder
        from codex_migrate.cachefiles import cache_off

        click.get_current_context().with_resource(cache_off())
    home = demo_homes.codex_home if demo_homes else (codex_home or default_home())
    try:
        sock = bind(port)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"
        ) from exc
    config = make_config(
        home, sock.getsockname()[1], codex_bin=codex_bin, no_codex=no_codex, demo=demo_homes
    )
    url = url_of(config)
    if demo_homes:
        click.echo(f"Demo homes in {demo_homes.root} (removed when the UI stops).")
    click.secho(f"codex-migrate UI: {url}", bold=True)
    click.echo("Keep this link private: it opens your Codex history. Press Ctrl+C to stop.")
    if not no_browser:
        webbrowser.open(url)
    try:
        serve(config, sock)
    finally:
        sock.close()
        if demo_homes:
            remove_demo(demo_homes)
