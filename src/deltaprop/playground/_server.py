"""The playground's web server: the page, its files, and one WebSocket per page.

Starlette serves ``static/`` (the page works with no network: every file it loads is
here) and ``/ws``, where a page sends checked messages (:mod:`._messages`) and gets
frames.  Training runs in a worker thread, never on the event loop, and frames go out
at most :data:`MAX_FPS` times a second.  Only the hosts given may reach the server
(loopback by default, against DNS rebinding), a WebSocket whose ``Origin`` is another
site is refused, and the page can reach no file: the export travels inside the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import socket
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from deltaprop.playground._messages import MAX_MESSAGE, Message, MessageError, parse_message
from deltaprop.playground._session import Session
from deltaprop.playground._state import MAX_SEED, Settings, SettingsError, from_hash, settings_dict, to_hash

STATIC = Path(__file__).parent / "static"
MAX_FPS = 20  # frames a second while training
FRAME_SECONDS = 0.04  # training time per frame, at most
EPOCHS_PER_FRAME = 10  # epochs per frame, at most
MAX_PAGES = 8  # pages (WebSockets) open at once
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)
INTERNAL = "The server could not do that (an internal error; the terminal running the playground shows it)."
log = logging.getLogger("deltaprop.playground")


def _finite(value: Any) -> Any:
    """JSON data with every NaN or infinity replaced by None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


async def _index(request: Request) -> Response:
    return FileResponse(
        STATIC / "index.html", headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
    )


class _Connection:
    """One page's socket: its session, whether it plays, and the answer to each message."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.session: Session | None = None
        self.playing = False

    async def send(self, data: dict[str, Any]) -> None:
        await self.ws.send_text(json.dumps(_finite(data), allow_nan=False, separators=(",", ":")))

    async def send_run(self, session: Session) -> None:
        await self.send(session.setup())
        await self.send(await asyncio.to_thread(session.frame, self.playing))

    async def handle(self, message: Message) -> None:
        kind, f = message
        if kind == "hello":
            problem = None
            try:
                settings = from_hash(f["hash"])
            except SettingsError as error:
                settings, problem = Settings(), f"{error} The playground starts from its defaults."
            self.session = await asyncio.to_thread(Session, settings)
            self.playing = False
            await self.send_run(self.session)
            if problem:
                await self.send({"type": "error", "message": problem})
            return
        session = self.session
        if session is None:
            raise MessageError("Send a 'hello' message with the page's hash first.")
        if kind == "play":
            self.playing = session.problem is None
        elif kind == "pause":
            self.playing = False
        elif kind == "step":
            self.playing = False
            await asyncio.to_thread(session.step)
        elif kind == "reset":
            self.playing = False
            await asyncio.to_thread(session.reset)
            await self.send(session.setup())
        elif kind == "regenerate":
            await asyncio.to_thread(session.regenerate, secrets.randbelow(MAX_SEED))
            await self.send(session.setup())
        elif kind == "set":
            touched = await asyncio.to_thread(session.change, f["changes"])
            if touched == "reset":
                await self.send(session.setup())
            else:
                await self.send(
                    {
                        "type": "settings",
                        "settings": settings_dict(session.settings),
                        "hash": to_hash(session.settings),
                    }
                )
                if touched == "view":
                    return
        elif kind == "set_weight":
            await asyncio.to_thread(session.set_weight, f["layer"], f["to"], f["from"], f["value"])
        elif kind == "set_bias":
            await asyncio.to_thread(session.set_bias, f["layer"], f["unit"], f["value"])
        elif kind == "inspect":
            await self.send(await asyncio.to_thread(session.inspect, f["set"], f["index"]))
            return
        elif kind == "export":
            await self.send(await asyncio.to_thread(session.export))
            return
        await self.send(await asyncio.to_thread(session.frame, self.playing))

    async def train(self) -> None:
        """One frame's worth of epochs, then the frame."""
        session = self.session
        if session is None:
            self.playing = False
            return
        await asyncio.to_thread(session.run_for, FRAME_SECONDS, EPOCHS_PER_FRAME)
        if session.problem is not None:
            self.playing = False
        await self.send(await asyncio.to_thread(session.frame, self.playing))


_NOTHING = object()  # no message waiting: train a frame


async def _reader(ws: WebSocket, inbox: asyncio.Queue[Any]) -> None:
    """Every message the page sends (text, or bytes, which are refused), into ``inbox``; None at the end."""
    try:
        while True:
            event = await ws.receive()
            if event["type"] == "websocket.disconnect":
                break
            text = event.get("text")
            await inbox.put(text if text is not None else event.get("bytes", b""))
    finally:
        await inbox.put(None)


async def _socket(ws: WebSocket) -> None:
    origin = ws.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != ws.headers.get("host"):
        await ws.close(code=1008, reason="This playground accepts its own page only.")
        return
    state = ws.app.state
    if state.pages >= MAX_PAGES:
        await ws.close(code=1013, reason=f"At most {MAX_PAGES} playground pages may be open at once.")
        return
    state.pages += 1
    await ws.accept()
    connection = _Connection(ws)
    inbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)
    reader = asyncio.create_task(_reader(ws, inbox))
    loop = asyncio.get_running_loop()
    try:
        while True:
            if connection.playing:
                text = inbox.get_nowait() if not inbox.empty() else _NOTHING
            else:
                text = await inbox.get()
            if text is None:
                break
            if text is not _NOTHING:
                try:
                    await connection.handle(parse_message(text))
                except (MessageError, SettingsError) as error:
                    await connection.send({"type": "error", "message": str(error)})
                except WebSocketDisconnect:
                    raise
                except Exception:
                    log.exception("The playground failed on a message")
                    await connection.send({"type": "error", "message": INTERNAL})
                continue
            start = loop.time()
            await connection.train()
            await asyncio.sleep(max(0.0, 1.0 / MAX_FPS - (loop.time() - start)))
    except (WebSocketDisconnect, RuntimeError):
        pass  # the page went away
    finally:
        state.pages -= 1
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


def create_app(allowed_hosts: list[str] | None = None) -> Starlette:
    """The playground as an ASGI app: ``/`` the page, ``/static`` its files, ``/ws`` its socket.

    Parameters
    ----------
    allowed_hosts : list of str, optional
        The host names the server answers to (the HTTP ``Host``); default the
        loopback names, so that a web page elsewhere cannot reach it by DNS rebinding.
    """
    hosts = list(allowed_hosts) if allowed_hosts is not None else list(LOOPBACK)
    routes = [
        Route("/", _index),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        WebSocketRoute("/ws", _socket),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)])
    app.state.pages = 0  # open WebSockets, at most MAX_PAGES
    return app


def make_server(host: str = "127.0.0.1", port: int = 8000) -> tuple[Any, socket.socket, str]:
    """A uvicorn server of the playground on a bound socket, and its URL (``port=0``: any free port)."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound = sock.getsockname()[1]
    hosts = list(LOOPBACK) if host in LOOPBACK else ["*"]
    config = uvicorn.Config(
        create_app(hosts),
        log_level="warning",
        ws="websockets-sansio",
        ws_max_size=4 * MAX_MESSAGE,
        lifespan="off",
    )
    name = f"[{host}]" if ":" in host else host
    return uvicorn.Server(config), sock, f"http://{name}:{bound}/"


def serve(host: str = "127.0.0.1", port: int = 8000, on_ready: Any = None) -> None:
    """Run the playground until interrupted; ``on_ready(url)`` is called once it listens."""
    server, sock, url = make_server(host, port)

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if on_ready is not None and server.started:
            on_ready(url)
        await task

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
