"""Tiny loopback servers for the transport's odd cases: trickles, redirects, huge bodies, TLS."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from aiohttp import web

#: A key that looks real and appears nowhere else, so any leak of it is unmistakable.
KEY = "sk-live-0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def envelope(data: object) -> str:
    """The API's successful envelope around ``data``."""
    return json.dumps({"code": 200, "message": "ok", "data": data, "success": True})


def ok(data: object) -> web.Response:
    return web.Response(text=envelope(data), content_type="application/json")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _coroutine(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """aiohttp takes coroutine functions only; a counting object's __call__ is not one."""

    async def route(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    return route


@contextlib.asynccontextmanager
async def serve(
    routes: Mapping[str, Handler],
    *,
    ssl_context: ssl.SSLContext | None = None,
    keepalive_timeout: float = 75.0,
) -> AsyncIterator[str]:
    """
    Serve ``{"GET /points/balance": handler, ...}`` under ``/api/v1`` on 127.0.0.1; yield
    the base URL. Any other path answers 404.
    """
    app = web.Application()
    for key, handler in routes.items():
        method, _, path = key.partition(" ")
        app.router.add_route(method, "/api/v1" + path, _coroutine(handler))
    runner = web.AppRunner(app, keepalive_timeout=keepalive_timeout, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if ssl_context is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}/api/v1"
    finally:
        await runner.cleanup()
