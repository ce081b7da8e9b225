"""
The one request path: auth header, envelope, error mapping and retries.

Free calls (balance, task queries) are retried on anything transient. Calls that cost points
are retried only when the request provably never reached the service (the connection was
refused or never opened), so a song is never paid for twice by accident.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import ipaddress
import json
import logging
import math
import time
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
import attrs
import stamina
from multidict import CIMultiDictProxy
from yarl import URL

from ._checks import check_count, check_seconds, misconfigured
from ._convert import Envelope, WireFormatError, parse_envelope
from ._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    InsufficientPointsError,
    NetworkError,
    NotFoundError,
    RateLimitError,
    RequestInfo,
    ServerError,
    SunoTimeoutError,
    TransportError,
    UndecodableResponseError,
)

__all__ = ["RawResponse", "RetryPolicy", "Timeouts", "Transport"]

logger: Final = logging.getLogger("suno_async")

_INSUFFICIENT_HINTS: Final = ("积分不足", "余额不足", "insufficient", "not enough points")


@attrs.frozen
class Timeouts:
    """
    Seconds per phase, not one total: aiohttp's total also counts the wait for a pooled
    connection, which under a thousand concurrent calls says nothing about the service.
    """

    connect: float | None = 10.0
    read: float | None = 60.0

    def __attrs_post_init__(self) -> None:
        for name in ("connect", "read"):
            check_seconds(
                f"Timeouts.{name}",
                getattr(self, name),
                positive=True,
                optional=True,
                error=misconfigured,
            )

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=None, sock_connect=self.connect, sock_read=self.read)


@attrs.frozen
class RetryPolicy:
    """
    How free calls are retried, and how a paid call is retried when it never left.

    ``attempts`` counts the first try. Retry-After is honoured up to ``max_retry_after``
    seconds; ``budget`` bounds the whole call including its waits.
    """

    attempts: int = 4
    wait_initial: float = 0.5
    wait_max: float = 10.0
    wait_jitter: float = 0.5
    max_retry_after: float = 60.0
    budget: float | None = 120.0

    def __attrs_post_init__(self) -> None:
        check_count("RetryPolicy.attempts", self.attempts, error=misconfigured)
        for name in ("wait_initial", "wait_max", "wait_jitter", "max_retry_after"):
            check_seconds(f"RetryPolicy.{name}", getattr(self, name), error=misconfigured)
        check_seconds(
            "RetryPolicy.budget", self.budget, positive=True, optional=True, error=misconfigured
        )


NO_RETRY: Final = RetryPolicy(attempts=1)


@attrs.frozen
class RawResponse:
    """The HTTP side of the last answer, for users who need a header or the status."""

    method: str
    path: str
    status: int
    headers: CIMultiDictProxy[str] = attrs.field(repr=False)
    elapsed_s: float
    attempts: int


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After in seconds or as an HTTP date, as a non-negative delay."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def _is_loopback(host: str | None) -> bool:
    if host in {"localhost", None}:
        return host is not None
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> URL:
    url = URL(base_url.rstrip("/"))
    if url.scheme not in {"http", "https"} or not url.host:
        msg = f"base_url must be an http(s) URL, got {base_url!r}"
        raise ConfigurationError(msg)
    if url.scheme == "http" and not _is_loopback(url.host) and not allow_insecure_http:
        msg = (
            f"base_url {base_url!r} is plain http: the API key would cross the network in "
            "clear text. Use https, or pass allow_insecure_http=True if you mean it"
        )
        raise ConfigurationError(msg)
    return url


class _Secret:
    """Keeps the key out of every repr, str and traceback local dump."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


def _api_error(
    status: int, envelope: Envelope | None, headers: Mapping[str, str], request: RequestInfo
) -> APIError:
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
            f"{where}the API key was refused{said}; check SUNO_API_KEY", **kwargs
        )
    if effective == 402:
        return _insufficient(where, said, kwargs)
    if effective == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        wait = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        return RateLimitError(f"{where}rate limited{said}{wait}", retry_after=retry_after, **kwargs)
    if effective >= 500:
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
    if effective == 404:
        return NotFoundError(f"{where}not found{said}", **kwargs)
    return APIError(f"{where}the service refused the call with {effective}{said}", **kwargs)


def _insufficient(where: str, said: str, kwargs: dict[str, Any]) -> InsufficientPointsError:
    return InsufficientPointsError(
        f"{where}not enough points{said}; top up the account, then call again", **kwargs
    )


class Transport:
    """Sends one API call, maps every failure to a :class:`SunoError`, retries what is safe."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: URL,
        timeouts: Timeouts,
        retry: RetryPolicy,
        session: aiohttp.ClientSession | None,
        user_agent: str,
    ) -> None:
        self._key = _Secret(api_key)
        self._base_url = base_url
        self._client_timeout = timeouts.to_aiohttp()
        self._urls: dict[str, URL] = {}
        self.retry = retry
        self._session = session
        self._owns_session = session is None
        self._user_agent = user_agent
        self.last_response: contextvars.ContextVar[RawResponse | None] = contextvars.ContextVar(
            "suno_async_last_response", default=None
        )
        self.requests_sent = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"Transport(base_url={str(self._base_url)!r})"

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._client_timeout,
                headers={"User-Agent": self._user_agent},
                raise_for_status=False,
            )
        return self._session

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def call(
        self,
        method: str,
        path: str,
        *,
        paid: bool,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        retry: RetryPolicy | None = None,
        remember: bool = True,
    ) -> Any:
        """
        Send the call (retrying what is safe) and return the envelope's ``data``.

        ``remember`` false leaves :attr:`last_response` alone: for the watcher's own polls,
        made in a task whose context no caller reads.
        """
        if self._closed:
            msg = f"{method} {path}: this AsyncSuno session is closed; create a new one"
            raise RuntimeError(msg)
        policy = retry or self.retry
        request = RequestInfo(method, path, paid=paid)
        started = time.monotonic()
        if policy.attempts == 1:
            # The watcher's polls: it retries on later ticks, so no retry machinery per call.
            return await self._once(request, params, json_body, started, remember)

        def retry_hook(exc: Exception) -> bool | float:
            if isinstance(exc, TransportError) and not exc.may_have_charged:
                return True
            if paid:
                return False
            if isinstance(exc, RateLimitError):
                if exc.retry_after is None:
                    return True
                return min(exc.retry_after, policy.max_retry_after)
            return isinstance(exc, (TransportError, ServerError))

        async for attempt in stamina.retry_context(
            on=retry_hook,
            attempts=policy.attempts,
            timeout=policy.budget,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        ):
            with attempt:
                request.attempts = attempt.num
                return await self._once(request, params, json_body, started, remember)
        msg = "unreachable: stamina always yields at least one attempt"  # pragma: no cover
        raise AssertionError(msg)  # pragma: no cover

    async def _once(
        self,
        request: RequestInfo,
        params: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
        started: float,
        remember: bool,
    ) -> Any:
        session = self._client_session()
        url = self._urls.get(request.path)
        if url is None:
            url = self._base_url.with_path(self._base_url.path + request.path, encoded=False)
            self._urls[request.path] = url
        headers = {"Authorization": f"Bearer {self._key.reveal()}", "Accept": "application/json"}
        charged_if_sent = request.paid
        self.requests_sent += 1
        try:
            # Per request, so the phases apply to a session the caller passed in too.
            async with session.request(
                request.method,
                url,
                params=params,
                json=json_body,
                headers=headers,
                timeout=self._client_timeout,
            ) as response:
                body = await response.read()
                status = response.status
                response_headers = response.headers
        except aiohttp.ConnectionTimeoutError as exc:
            raise SunoTimeoutError(
                f"{request}: timed out connecting to the service; nothing was sent",
                request=request,
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise NetworkError(
                f"{request}: cannot connect to {url.host}:{url.port} ({exc.os_error}); "
                "nothing was sent, check the network or base_url",
                request=request,
            ) from exc
        except (aiohttp.ServerTimeoutError, asyncio.TimeoutError, TimeoutError) as exc:
            raise SunoTimeoutError(
                f"{request}: no answer in time{self._charge_hint(request)}",
                request=request,
                may_have_charged=charged_if_sent,
            ) from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(
                f"{request}: the connection failed before an answer "
                f"({type(exc).__name__}){self._charge_hint(request)}",
                request=request,
                may_have_charged=charged_if_sent,
            ) from exc
        elapsed = time.monotonic() - started
        if remember:
            raw = RawResponse(
                method=request.method,
                path=request.path,
                status=status,
                headers=response_headers,
                elapsed_s=elapsed,
                attempts=request.attempts,
            )
            self.last_response.set(raw)
        logger.debug(
            "%s %s -> %s (attempt %d, %.3fs)",
            request.method,
            request.path,
            status,
            request.attempts,
            elapsed,
        )
        return self._decode(request, status, response_headers, body)

    @staticmethod
    def _charge_hint(request: RequestInfo) -> str:
        if request.paid:
            return "; the call may have been charged: check tasks and balance before retrying"
        return ""

    def _decode(
        self,
        request: RequestInfo,
        status: int,
        headers: CIMultiDictProxy[str],
        body: bytes,
    ) -> Any:
        envelope: Envelope | None
        try:
            answer = json.loads(body)
            if (
                status < 400
                and type(answer) is dict
                and answer.get("success") is True
                and answer.get("code") == 200
            ):
                return answer.get("data")  # the usual envelope, as parse_envelope reads it
            envelope = parse_envelope(answer)
        except (ValueError, WireFormatError):
            envelope = None
        if envelope is None:
            if status in {401, 403, 429} or 500 > status >= 400:
                raise _api_error(status, None, headers, request)
            snippet = body[:200].decode("utf-8", "replace")
            kind = "an HTML page" if snippet.lstrip().startswith("<") else "malformed JSON"
            raise UndecodableResponseError(
                f"{request}: HTTP {status} with {kind} instead of the API's JSON "
                f"(a proxy or a cut connection?){self._charge_hint(request)}",
                status=status,
                snippet=snippet,
                request=request,
                may_have_charged=request.paid,
            )
        if status >= 400 or not envelope.ok:
            raise _api_error(status, envelope, headers, request)
        return envelope.data
