"""
What one attempt came to: the envelope's data, or the :class:`SunoError` saying what went wrong.

Every error an attempt raises is built here, in one place: an answer that is not the API's
successful envelope (by status, envelope code or message), a redirect, a body over the cap,
and aiohttp's or the deadline's failures, whose causes keep no frames holding the request
headers. ``_transport`` does the sending: sessions, deadlines, retries and paid-call limits.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import orjson
from multidict import CIMultiDictProxy
from yarl import URL

from ._convert import Envelope, WireFormatError, parse_envelope
from ._errors import (
    APIError,
    AuthenticationError,
    InsufficientPointsError,
    NetworkError,
    NotFoundError,
    RateLimitError,
    RedirectError,
    RequestInfo,
    ResponseTooLargeError,
    ServerError,
    SessionClosedError,
    SunoError,
    SunoTimeoutError,
    TLSError,
    UndecodableResponseError,
)

if TYPE_CHECKING:
    from ._transport import Deadline

__all__ = [
    "connection_error",
    "parse_retry_after",
    "read_answer",
    "redirect_error",
    "too_large",
]

_INSUFFICIENT_HINTS: Final = ("积分不足", "余额不足", "insufficient", "not enough points")
#: What the service says of an id it does not know (the reference's 任务不存在 included).
_UNKNOWN_HINTS: Final = ("不存在", "not found", "not exist")


def parse_retry_after(
    value: str | None, *, now: float | None = None, cap: float | None = None
) -> float | None:
    """
    Retry-After in seconds or as an HTTP date, as a delay from 0 to ``cap``.

    Every answer's value is capped here, so nothing downstream (retries, the watcher's
    pause) can be stopped for long by ``1e9``, ``inf`` or a date in the year 9999.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
    if math.isnan(seconds):
        return None
    seconds = max(0.0, seconds)
    return seconds if cap is None else min(seconds, cap)


def _charge_hint(request: RequestInfo) -> str:
    """What a paid call's error adds: it may have cost points, so look before calling again."""
    if request.paid:
        return "; the call may have been charged: check tasks and balance before retrying"
    return ""


def read_answer(
    request: RequestInfo,
    status: int,
    headers: CIMultiDictProxy[str],
    body: bytes,
    *,
    max_retry_after: float,
) -> Any:
    """The one place that decides whether an answer is the API's successful envelope."""
    envelope: Envelope | None
    try:
        # orjson refuses JSON nested past 1,024 levels with a decode error, not recursion.
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        envelope = None
    else:
        try:
            envelope = parse_envelope(answer)
        except (ValueError, WireFormatError):
            envelope = None
    if envelope is None:
        if status in {401, 403, 429} or 500 > status >= 400:
            raise _api_error(status, None, headers, request, max_retry_after)
        snippet = body[:200].decode("utf-8", "replace")
        kind = "an HTML page" if snippet.lstrip().startswith("<") else "malformed JSON"
        raise UndecodableResponseError(
            f"{request}: HTTP {status} with {kind} instead of the API's JSON "
            "(a proxy, a cut connection, or JSON nested too deep?)"
            f"{_charge_hint(request)}",
            status=status,
            snippet=snippet,
            request=request,
            may_have_charged=request.paid,
        )
    if status >= 400 or not envelope.ok:
        raise _api_error(status, envelope, headers, request, max_retry_after)
    return envelope.data


def _api_error(
    status: int,
    envelope: Envelope | None,
    headers: Mapping[str, str],
    request: RequestInfo,
    max_retry_after: float,
) -> APIError:
    """The error an answer means, from its status, envelope code and message."""
    code = envelope.code if envelope else None
    api_message = envelope.message if envelope else ""
    effective = code if code is not None and code != 200 else status
    where = f"{request}: "
    said = f" ({api_message})" if api_message else ""
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "api_message": api_message,
        "request": request,
    }
    lowered = api_message.lower()
    if effective in {401, 403}:
        return AuthenticationError(
            f"{where}the API key was refused{said}; check the key (api_key, or SUNO_API_KEY)",
            **kwargs,
        )
    if effective == 402:
        return _insufficient(where, said, kwargs)
    if effective == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"), cap=max_retry_after)
        wait = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        return RateLimitError(f"{where}rate limited{said}{wait}", retry_after=retry_after, **kwargs)
    # A free call told its task does not exist is answered, whatever the code (the reseller
    # sends 任务不存在 as code 500): asking again will not change it. A paid call answered
    # so with a 5xx may still have been charged.
    unknown = any(hint in lowered for hint in _UNKNOWN_HINTS)
    if effective >= 500 and (request.paid or not unknown):
        paid = request.paid
        hint = (
            "it may have been charged: check balance and tasks before calling again"
            if paid
            else "retries were exhausted; try again later"
        )
        return ServerError(
            f"{where}the service failed with {effective}{said}; {hint}",
            may_have_charged=paid,
            **kwargs,
        )
    # The reference names no code for these two; the message is what identifies them.
    if any(hint in lowered for hint in _INSUFFICIENT_HINTS):
        return _insufficient(where, said, kwargs)
    if effective == 404 or unknown:
        check = "; check the id" if unknown else ""  # a bare 404 may be a wrong base URL
        return NotFoundError(f"{where}not found{said}{check}", **kwargs)
    return APIError(f"{where}the service refused the call with {effective}{said}", **kwargs)


def _insufficient(where: str, said: str, kwargs: dict[str, Any]) -> InsufficientPointsError:
    return InsufficientPointsError(
        f"{where}not enough points{said}; top up the account, then call again", **kwargs
    )


def _sanitised(exc: BaseException) -> BaseException | None:
    """
    aiohttp's exception as a cause that reaches no request headers: without its frames
    (their locals hold the headers) and its own chain; none when it carries the request.
    """
    if hasattr(exc, "request_info") or hasattr(exc, "history"):
        return None
    exc.__traceback__ = None
    exc.__cause__ = None
    exc.__context__ = None
    return exc


def redirect_error(request: RequestInfo, status: int, location: str | None) -> RedirectError:
    """A 3xx answer: API calls never follow one, so it says where it pointed."""
    return RedirectError(
        f"{request}: the service answered {status} redirecting to {location!r}; "
        "API calls never follow redirects, so nothing was followed: check base_url"
        f"{_charge_hint(request)}",
        status=status,
        location=location,
        request=request,
        may_have_charged=request.paid,
    )


def too_large(request: RequestInfo, size: int | None, max_bytes: int) -> ResponseTooLargeError:
    """A body over ``max_response_bytes``: refused unread, or as soon as it passes the cap."""
    told = f"{size} bytes" if size is not None else "a streamed body"
    return ResponseTooLargeError(
        f"{request}: the answer ({told}) is over max_response_bytes={max_bytes}, "
        "so it was refused unread and will not be fetched again; an API answer is never "
        f"that large (a proxy or a wrong base_url?){_charge_hint(request)}",
        limit=max_bytes,
        size=size,
        request=request,
        may_have_charged=request.paid,
    )


def connection_error(
    request: RequestInfo,
    url: URL,
    exc: BaseException,
    *,
    limit: Deadline | None = None,
    closed: bool = False,
) -> SunoError:
    """aiohttp's or the deadline's exception as a SunoError, with a cause safe to show."""
    error: SunoError
    charged = request.paid
    if closed:
        error = SessionClosedError(
            request=request,
            message=f"{request}: the AsyncSuno session was closed while this call was in "
            f"flight; it was not sent again{_charge_hint(request)}",
        )
        error.may_have_charged = charged
    elif isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = SunoTimeoutError(
            f"{request}: timed out connecting to the service; nothing was sent",
            request=request,
        )
    elif isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)):
        error = TLSError(
            f"{request}: TLS with {url.host}:{url.port} failed ({exc}); nothing was sent. "
            "If the service uses a private CA, pass AsyncSuno(ssl=ssl.create_default_"
            "context(cafile=...))",
            request=request,
        )
    elif isinstance(exc, aiohttp.ClientConnectorError):
        error = NetworkError(
            f"{request}: cannot connect to {url.host}:{url.port} ({exc.os_error}); "
            "nothing was sent, check the network or base_url",
            request=request,
        )
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        error = SunoTimeoutError(
            f"{request}: no answer in time{_charge_hint(request)}",
            request=request,
            may_have_charged=charged,
        )
    elif isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        then = f"; {limit.then}" if limit is not None and limit.then else ""
        error = SunoTimeoutError(
            f"{request}: no complete answer within {limit}{then}{_charge_hint(request)}",
            request=request,
            may_have_charged=charged,
        )
    else:
        error = NetworkError(
            f"{request}: the connection failed before an answer "
            f"({type(exc).__name__}){_charge_hint(request)}",
            request=request,
            may_have_charged=charged,
        )
    error.__cause__ = _sanitised(exc)
    return error
