"""What ``deltaprop playground`` does: serve the page, print its address, open a browser."""

from __future__ import annotations

import webbrowser
from collections.abc import Callable

from deltaprop.cli._errors import UserError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def run_playground(host: str, port: int, open_browser: bool, echo: Callable[[str], None]) -> None:
    """Serve the playground on ``host:port`` until interrupted (Ctrl+C)."""
    try:
        from deltaprop.playground import serve
    except ImportError as error:
        raise UserError(
            f"The playground needs the 'playground' extra ({error.name} is missing): "
            'pip install "deltaprop[playground]".'
        ) from None
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be from 0 to 65535; got {port}.")
    if host not in LOOPBACK:
        echo(
            f"Warning: --host {host} makes the playground reachable from other machines; "
            "anyone who can reach it can train networks on this computer."
        )

    def ready(url: str) -> None:
        echo(f"The deltaprop playground runs at {url}  (Ctrl+C stops it)")
        if open_browser:
            webbrowser.open(url)

    try:
        serve(host, port, on_ready=ready)
    except OSError as error:
        raise UserError(f"Cannot listen on {host}:{port}: {error.strerror or error}.") from None
