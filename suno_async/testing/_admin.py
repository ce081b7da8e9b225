"""The ``/_fake`` admin endpoints: another process inspects and steers the fake over HTTP.

A benchmark or crash test that runs the fake with ``python -m suno_async.testing`` cannot
reach the object, so the counters, the record of paid calls, the clock and the completion
instants are served on the API's origin, outside ``/api/v1`` so no client mistakes them for
the API.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import web

from ._rules import dumps

if TYPE_CHECKING:
    from ._server import FakeSunoServer

__all__ = ["admin_routes"]


def _refuse(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=dumps({"error": message}), content_type="application/json")


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise _refuse("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _refuse("body must be a JSON object")
    return body


def admin_routes(server: FakeSunoServer) -> list[web.RouteDef]:
    """
    ``GET /_fake/stats`` (counters), ``GET /_fake/paid-calls`` (the charged calls),
    ``POST /_fake/completions`` (``{"ids": [...]}`` -> when each finished, wall clock),
    ``POST /_fake/advance`` (``{"seconds": s}`` -> the new simulated time) and
    ``POST /_fake/reset-counters``.
    """

    async def stats(request: web.Request) -> web.StreamResponse:
        return web.json_response(server.stats())

    async def paid_calls(request: web.Request) -> web.StreamResponse:
        calls = [attrs.asdict(call) for call in server.accepted_calls]
        return web.json_response({"paid_calls": calls}, dumps=dumps)

    async def completions(request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        ids = body.get("ids") or []
        if not isinstance(ids, list):
            raise _refuse(f"ids must be a list of task ids, got {ids!r}")
        result: dict[str, float | None] = {}
        for raw_id in ids:
            try:
                task_id = int(raw_id)
            except (TypeError, ValueError):
                raise _refuse(f"not a task id: {raw_id!r}") from None
            try:
                result[str(raw_id)] = server.completed_at_wall(task_id)
            except KeyError:
                result[str(raw_id)] = None
        return web.json_response({"completed_at_wall": result})

    async def advance(request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        seconds = body.get("seconds", 0.0)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise _refuse(f"seconds must be a number, got {seconds!r}")
        if not math.isfinite(seconds):
            raise _refuse(f"seconds must be finite, got {seconds!r}")
        try:
            now = server.advance(float(seconds))
        except ValueError as exc:
            raise _refuse(str(exc)) from None
        return web.json_response({"now": now})

    async def reset(request: web.Request) -> web.StreamResponse:
        server.reset_counters()
        return web.json_response(server.stats())

    return [
        web.get("/_fake/stats", stats),
        web.get("/_fake/paid-calls", paid_calls),
        web.post("/_fake/completions", completions),
        web.post("/_fake/advance", advance),
        web.post("/_fake/reset-counters", reset),
    ]
