"""Injected misbehaviour: what a ``Fault`` is, which request it meets, and what it answers.

The server consults ``take_fault`` once per request. A fault either replaces the answer
(``fault_response``), or lets the request do its work and then spoils the reply
(``latency``, ``drop_after``, ``slow_body``, ``truncated``: a client that gives up on such
an answer has still been charged). A fault with a ``rate`` stays in the list and strikes
at random, from the server's seeded generator, so a soak run can be replayed.
"""

from __future__ import annotations

import asyncio
import json
import types
from typing import TYPE_CHECKING, Any, Final

import attrs
from aiohttp import web

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "FAULT_KINDS",
    "SPOILERS",
    "Fault",
    "drop",
    "fault_response",
    "spoil",
    "take_fault",
]

#: The status word ``unreadable_row`` puts in rows: no dialect has it.
UNKNOWN_STATUS: Final = "mystery"
#: What ``anonymous_row`` puts where a row's ids were.
_NO_ID: Final = "n/a"
#: Every fault kind, with what the client meets. The keys are what ``Fault(kind)`` accepts.
FAULT_KINDS: Final[Mapping[str, str]] = types.MappingProxyType(
    {
        "401": "HTTP 401 with an error envelope, as the service refuses a key it does not "
        "know (for a moment, or for good)",
        "403": "HTTP 403 with an error envelope, as a media host refuses an expired link",
        "404": "HTTP 404 with an error envelope, as a media host that purged a file",
        "410": "HTTP 410 with an error envelope, as a media host whose file is gone",
        "429": "HTTP 429 with an error envelope and a Retry-After header of `retry_after` "
        "(None sends none; any text goes, so huge or malformed values can be tried)",
        "500": "HTTP 500 with an error envelope carrying `message`",
        "502_html": "HTTP 502 with nginx's HTML error page instead of JSON",
        "503": "HTTP 503 with an error envelope, and Retry-After if `retry_after` is set",
        "drop_after": "the request is processed (and charged), then the connection is closed "
        "without an answer",
        "drop_before": "the connection is closed before the request is processed: nothing is "
        "charged",
        "envelope_error": "HTTP 200 whose envelope carries `code` and `message`",
        "latency": "the request is processed, then answered `delay` seconds later",
        "malformed": "HTTP 200 with JSON cut off in the middle",
        "oversized": "media only: a body announced as `code` MiB (2048 by default: 2 GiB) and "
        "sent until the client hangs up",
        "slow_body": "the real answer, trickled in small pieces over `delay` seconds",
        "truncated": "the real answer's headers promise the whole body but only half of it is "
        "sent before the connection closes",
        "unreadable_row": "task queries answer with the rows of `task_ids` (every row if empty) "
        f"holding the status {UNKNOWN_STATUS!r}, outside and in `result`: well-formed JSON "
        "that no reader knows",
        "anonymous_row": "task queries answer with the rows of `task_ids` (every row if empty) "
        "holding no readable task id, in either dialect",
    }
)
#: Kinds that rewrite the task rows of a task query's real answer; other answers pass.
ROW_SPOILERS: Final = frozenset({"anonymous_row", "unreadable_row"})
#: Kinds that let the request do its work and then spoil the real answer.
SPOILERS: Final = frozenset({"drop_after", "latency", "slow_body", "truncated", *ROW_SPOILERS})
_HTML_502: Final = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>nginx</center></body></html>"
)
_TRICKLE_PIECES: Final = 10


def _known_kind(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in FAULT_KINDS:
        known = ", ".join(sorted(FAULT_KINDS))
        msg = f"unknown fault kind {value!r}; the kinds are: {known}"
        raise ValueError(msg)


def _probability(
    instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        msg = f"Fault.rate must be between 0 and 1, got {value}"
        raise ValueError(msg)


def _ids(ids: Iterable[int]) -> tuple[int, ...]:
    return tuple(ids)


@attrs.define
class Fault:
    """
    One injected misbehaviour; ``kind`` is one of ``FAULT_KINDS`` (its docs say what each does).

    Without a ``rate`` it is consumed by the next ``times`` matching requests, after letting
    ``after`` of them through (e.g. to fail a second page). With a ``rate`` it stays in the
    list and strikes each matching request with that probability; ``times`` and ``after``
    are then unused. ``endpoint`` is ``"POST /music/generate"``, just ``"/music/generate"``,
    or None for every API request; media downloads meet only faults naming
    ``"GET /media"``, so a fault meant for the API never spoils a download by accident.
    """

    kind: str = attrs.field(validator=_known_kind)
    endpoint: str | None = None
    # Checked when made; the server counts them down as they strike.
    times: int = attrs.field(
        default=1, validator=attrs.validators.ge(1), on_setattr=attrs.setters.NO_OP
    )
    after: int = attrs.field(
        default=0, validator=attrs.validators.ge(0), on_setattr=attrs.setters.NO_OP
    )
    retry_after: str | None = "1"
    delay: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    code: int = 500
    message: str = "服务器内部错误"
    rate: float | None = attrs.field(default=None, kw_only=True, validator=_probability)
    task_ids: tuple[int, ...] = attrs.field(default=(), kw_only=True, converter=_ids)

    def matches(self, key: str) -> bool:
        """Accept ``"POST /music/generate"`` or just ``"/music/generate"``."""
        if self.endpoint is None:
            return True
        return self.endpoint in (key, key.partition(" ")[2])


def take_fault(
    faults: list[Fault],
    key: str,
    error_rate: float,
    rng: random.Random,
    *,
    named_only: bool = False,
) -> Fault | None:
    """
    The fault this request meets, if any: the list in order, then the random 500s.

    ``named_only`` skips faults without an endpoint (and the error rate): media requests.
    """
    for index, fault in enumerate(faults):
        if (named_only and fault.endpoint is None) or not fault.matches(key):
            continue
        if fault.rate is not None:
            if rng.random() < fault.rate:
                return fault
            continue
        if fault.after > 0:
            fault.after -= 1
            return None
        fault.times -= 1
        if fault.times <= 0:
            del faults[index]
        return fault
    if not named_only and error_rate > 0 and rng.random() < error_rate:
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


def _envelope(status: int, code: int, message: str, retry_after: str | None) -> web.Response:
    body = {"code": code, "message": message, "data": None, "success": False}
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return web.Response(
        status=status, text=_dumps(body), content_type="application/json", headers=headers
    )


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
        return _envelope(429, 429, "请求过于频繁 (too many requests)", fault.retry_after)
    if fault.kind in ("401", "403", "404", "410"):
        return _envelope(int(fault.kind), int(fault.kind), fault.message, None)
    if fault.kind == "503":
        return _envelope(503, 503, "服务暂时不可用 (service unavailable)", fault.retry_after)
    if fault.kind == "envelope_error":
        body = {"code": fault.code, "message": fault.message, "success": False, "data": None}
        return web.Response(text=_dumps(body), content_type="application/json")
    return error(500, fault.message)


async def spoil(request: web.Request, response: web.Response, fault: Fault) -> web.StreamResponse:
    """Deliver the real ``response`` the way a spoiling fault says (see ``SPOILERS``)."""
    if fault.kind == "latency":
        await asyncio.sleep(fault.delay)
        return response
    if fault.kind == "drop_after":
        return drop(request)
    if fault.kind in ROW_SPOILERS:
        return _spoil_rows(request, response, fault)
    body = response.body
    assert isinstance(body, bytes)  # noqa: S101 - the handlers answer with text only
    stream = web.StreamResponse(status=response.status, headers=response.headers)
    stream.content_length = len(body)
    await stream.prepare(request)
    if fault.kind == "truncated":
        await stream.write(body[: len(body) // 2])
        drop(request)
        return stream
    piece = max(1, -(-len(body) // _TRICKLE_PIECES))
    for start in range(0, len(body), piece):
        await asyncio.sleep(fault.delay / _TRICKLE_PIECES)
        await stream.write(body[start : start + piece])
    await stream.write_eof()
    return stream


def _row_task_id(row: dict[str, Any]) -> int | None:
    """The task a row of either dialect is about: ``task_id``, ``result.id``, else ``id``."""
    result = row.get("result")
    inner = result if isinstance(result, dict) else {}
    for value in (row.get("task_id"), inner.get("id"), row.get("id")):
        if value is not None and str(value).isdigit():
            return int(value)
    return None


def _spoil_row(row: dict[str, Any], kind: str) -> None:
    result = row.get("result")
    places = [row, result] if isinstance(result, dict) else [row]
    for place in places:
        if kind == "unreadable_row":
            place["status"] = UNKNOWN_STATUS
        else:
            for key in ("id", "task_id"):
                if key in place:
                    place[key] = _NO_ID


def _spoil_rows(request: web.Request, response: web.Response, fault: Fault) -> web.Response:
    """
    The task rows of a task query's answer rewritten as the fault says, for the chosen
    ids; the answers of other calls, and errors, are left as they are.
    """
    tail = request.match_info.get("tail", "")
    body = response.body
    if request.method != "GET" or tail not in ("music/task", "music/tasks"):
        return response
    assert isinstance(body, bytes)  # noqa: S101 - the handlers answer with text only
    answer = json.loads(body)
    data = answer.get("data")
    if not isinstance(data, dict):
        return response
    batch = data.get("list", data.get("rows"))
    rows = batch if isinstance(batch, list) else [data]
    chosen = set(fault.task_ids)
    for row in rows:
        if isinstance(row, dict) and (not chosen or _row_task_id(row) in chosen):
            _spoil_row(row, fault.kind)
    text = _dumps(answer)
    return web.Response(status=response.status, text=text, content_type="application/json")
