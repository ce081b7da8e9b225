"""Injected misbehaviour: what a ``Fault`` is, which request it hits, and what it answers.

The server consults ``take_fault`` once per API request; a fault either replaces the answer
(``fault_response``) or, for ``latency`` and ``drop_after``, lets the request do its work
and then spoils the reply, because a client that gives up has still been charged.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

import attrs
from aiohttp import web

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

__all__ = ["FAULT_KINDS", "Fault", "drop", "fault_response", "take_fault"]

FAULT_KINDS: Final = frozenset(
    {
        "429",
        "500",
        "502_html",
        "drop_after",
        "drop_before",
        "envelope_error",
        "latency",
        "malformed",
    }
)
_HTML_502: Final = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>nginx</center></body></html>"
)


@attrs.define
class Fault:
    """
    One injected misbehaviour, consumed by the next ``times`` matching API requests.

    ``after`` lets that many matching requests through first, e.g. to fail a second page.
    """

    kind: str = attrs.field(validator=attrs.validators.in_(FAULT_KINDS))
    endpoint: str | None = None
    times: int = 1
    after: int = 0
    retry_after: str | None = "1"
    delay: float = 0.0
    code: int = 500
    message: str = "服务器内部错误"

    def matches(self, key: str) -> bool:
        """Accept ``"POST /music/generate"`` or just ``"/music/generate"``."""
        if self.endpoint is None:
            return True
        return self.endpoint in (key, key.partition(" ")[2])


def take_fault(
    faults: list[Fault], key: str, error_rate: float, rng: random.Random
) -> Fault | None:
    """The fault this request meets, if any: queued faults first, then the random 500s."""
    for index, fault in enumerate(faults):
        if fault.matches(key):
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.times -= 1
            if fault.times <= 0:
                del faults[index]
            return fault
    if error_rate > 0 and rng.random() < error_rate:
        return Fault("500")
    return None


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def drop(request: web.Request) -> web.Response:
    """Hang up on the client instead of answering."""
    # aiohttp notices the closed transport when it writes this reply and discards it
    # quietly, so the client sees a disconnect and the server logs nothing.
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=500)


async def fault_response(
    request: web.Request, fault: Fault, error: Callable[[int, str], web.Response]
) -> web.StreamResponse:
    """The answer a fault gives in place of the real one; ``error`` builds envelope errors."""
    if fault.kind == "drop_before":
        # Draining the body first makes the close a clean FIN rather than a reset.
        await request.read()
        return drop(request)
    if fault.kind == "502_html":
        return web.Response(status=502, text=_HTML_502, content_type="text/html")
    if fault.kind == "malformed":
        return web.Response(text='{"code": 200, "data": {"rem', content_type="application/json")
    if fault.kind == "429":
        message = "请求过于频繁 (too many requests)"
        body = {"code": 429, "message": message, "data": None, "success": False}
        headers = {} if fault.retry_after is None else {"Retry-After": fault.retry_after}
        return web.Response(
            status=429, text=_dumps(body), content_type="application/json", headers=headers
        )
    if fault.kind == "envelope_error":
        body = {"code": fault.code, "message": fault.message, "success": False, "data": None}
        return web.Response(text=_dumps(body), content_type="application/json")
    return error(500, fault.message)
