"""
The one request path: sessions, auth header, per-attempt deadlines, retries and paid-call
limits. What each attempt's answer or failure means is ``_outcome``'s job.

Free calls (balance, task queries) are retried on anything transient. Calls that cost points
are retried only when the request provably never reached the service (the connection was
refused or never opened) or the service refused it with 429, so a song is never paid for twice
by accident.

The rules every call keeps: each attempt has an overall deadline (``Timeouts.total``) that
includes reading the body; every Retry-After is capped; redirects are never followed (a 3xx
is a :class:`RedirectError` saying where it pointed); a body over ``max_response_bytes`` is
refused, from its Content-Length without reading it or as soon as a streamed body passes the
cap; aiohttp's exceptions become :class:`SunoError` subclasses (built in ``_outcome``) whose
causes carry no request headers and no frames, so the key reaches no traceback, log or repr.
Paid POSTs go on a fresh connection (when the session is ours) and run shielded, so a
cancelled caller never loses the task ids the service answered.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import logging
import ssl as _ssl
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import aiohttp
import aiolimiter
import anyio
import attrs
import stamina
from multidict import CIMultiDictProxy
from yarl import URL

from ._budget import Budget
from ._config import DEFAULT_MAX_RESPONSE_BYTES, RateLimit, RetryPolicy, Timeouts
from ._errors import (
    ConfigurationError,
    RateLimitError,
    RedirectError,
    RequestInfo,
    ResponseTooLargeError,
    ServerError,
    SessionClosedError,
    SunoError,
    TLSError,
    TransportError,
    UsageError,
    WrongEventLoopError,
)
from ._outcome import connection_error, read_answer, redirect_error, too_large
from ._proxy import ProxyChoice

if TYPE_CHECKING:
    from ._shared import SharedBudget

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "Deadline",
    "RawResponse",
    "RetryPolicy",
    "Timeouts",
    "Transport",
]

logger: Final = logging.getLogger("suno_async")
T = TypeVar("T")

#: Failures a retry cannot mend: the same certificate, redirect or oversized body again.
_NEVER_RETRIED: Final = (TLSError, RedirectError, ResponseTooLargeError)


@attrs.frozen
class Deadline:
    """Seconds an attempt may take, and the setting they come from, for the timeout's message."""

    seconds: float
    setting: str
    #: Whether ``seconds`` is what is left of the setting rather than all of it.
    left: bool = False
    #: What happens next, when the caller knows (the watcher asks again later).
    then: str = ""

    def __str__(self) -> str:
        if self.left:
            return f"the {self.seconds:.3g}s left of {self.setting}"
        return f"{self.setting}={self.seconds:g}s"


@attrs.frozen
class RawResponse:
    """The HTTP side of the last answer, for users who need a header or the status."""

    method: str
    path: str
    status: int
    headers: CIMultiDictProxy[str] = attrs.field(repr=False)
    elapsed_s: float
    attempts: int


def _is_loopback(host: str | None) -> bool:
    if host in {"localhost", None}:
        return host is not None
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> URL:
    try:
        url = URL(base_url.rstrip("/"))
        usable = url.scheme in {"http", "https"} and bool(url.host)  # an IDNA host may fail
    except ValueError:  # "http://[::1", say
        usable = False
    if not usable:
        msg = f"base_url must be an http(s) URL, got {base_url!r}"
        raise ConfigurationError(msg)
    if url.scheme == "http" and not _is_loopback(url.host) and not allow_insecure_http:
        msg = (
            f"base_url {base_url!r} is plain http: the API key would cross the network in "
            "clear text. Use https, or pass allow_insecure_http=True if you mean it"
        )
        raise ConfigurationError(msg)
    return url


class Secret(Generic[T]):
    """Keeps the key (or headers holding it) out of every repr, str and traceback local dump."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


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
        ssl: _ssl.SSLContext | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_paid_in_flight: int = 4,
        paid_rate: float | None = None,
        proxies: ProxyChoice | None = None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        self._headers = Secret({"Authorization": f"Bearer {api_key}", "Accept": "application/json"})
        self._base_url = base_url
        self._client_timeout = timeouts.to_aiohttp()
        # Built once: every attempt is bounded by it unless a budget or deadline is shorter.
        self._total = None if timeouts.total is None else Deadline(timeouts.total, "Timeouts.total")
        self._urls: dict[str, URL] = {}
        self.retry = retry
        self._session = session
        self._paid_session: aiohttp.ClientSession | None = None
        self._owns_session = session is None
        self._user_agent = user_agent
        self._ssl: _ssl.SSLContext | bool = True if ssl is None else ssl
        self._max_bytes = max_response_bytes
        self._proxies = proxies or ProxyChoice(None, trust_env=False)
        self._paid_slots = asyncio.Semaphore(max_paid_in_flight)
        self._paid_rate = paid_rate
        self._limiter: aiolimiter.AsyncLimiter | None = None
        self._paid_in_flight: set[asyncio.Future[Any]] = set()
        #: Every attempt draws a token from it, retries and polls included; None: no budget.
        self.budget: Budget | None = None if rate_limit is None else Budget(rate_limit)
        self._shared: SharedBudget | None = None
        if rate_limit is not None and rate_limit.redis_url is not None:
            from ._shared import SharedBudget  # noqa: PLC0415  (redis only when asked for)

            self._shared = SharedBudget(rate_limit, api_key=api_key)
        self._loop: weakref.ReferenceType[asyncio.AbstractEventLoop] | None = None
        self.last_response: contextvars.ContextVar[RawResponse | None] = contextvars.ContextVar(
            "suno_async_last_response", default=None
        )
        self.requests_sent: int = 0
        #: Answers that were a 429, budget or not.
        self.rate_limited: int = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"Transport(base_url={str(self._base_url)!r})"

    @property
    def closed(self) -> bool:
        return self._closed

    def check_usable(self, what: str) -> None:
        """
        Refuse at once a closed session or a loop other than the session's first one.

        ``what`` names the call in the error. The first use binds the session to its loop.
        """
        if self._closed:
            raise SessionClosedError(
                message=f"{what}: this AsyncSuno session is closed; create a new one"
            )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            msg = f"{what}: needs a running event loop; call it from async code"
            raise UsageError(msg) from None
        if self._loop is None:
            self._loop = weakref.ref(loop)
        elif self._loop() is not loop:
            msg = (
                f"{what}: this AsyncSuno session was first used under another event loop, "
                "and a session belongs to one loop; create one AsyncSuno per event loop "
                "(e.g. inside the asyncio.run that uses it) and close it there"
            )
            raise WrongEventLoopError(msg)

    def _client_session(self, request: RequestInfo) -> aiohttp.ClientSession:
        if self._closed:
            # A call that waited for a paid slot or a backoff while the session closed.
            raise SessionClosedError(
                request=request,
                message=f"{request}: the AsyncSuno session was closed before this call was sent",
            )
        paid = request.paid
        if self._session is None:
            self._session = self._new_session(force_close=False)
        elif not self._owns_session:
            self._check_callers_session(request, self._session)
        if paid and self._owns_session:
            # A pooled connection the service closes as the POST leaves makes the call's fate
            # unknowable; a fresh connection costs one handshake per paid call, and they are
            # few and slow anyway.
            if self._paid_session is None:
                self._paid_session = self._new_session(force_close=True)
            return self._paid_session
        return self._session

    @staticmethod
    def _check_callers_session(request: RequestInfo, session: aiohttp.ClientSession) -> None:
        """
        A caller's session that is closed or bound to another loop, refused before aiohttp
        raises a bare RuntimeError from frames whose locals hold the request headers.
        """
        if session.closed:
            raise SessionClosedError(
                request=request,
                message=f"{request}: the aiohttp.ClientSession passed as session= is closed, "
                "so nothing was sent; keep it open until this AsyncSuno is closed",
            )
        if getattr(session, "_loop", None) is not asyncio.get_running_loop():
            msg = (
                f"{request}: the aiohttp.ClientSession passed as session= was made under "
                "another event loop, so nothing was sent; make it under the loop that uses "
                "this AsyncSuno"
            )
            raise WrongEventLoopError(msg)

    def _new_session(self, *, force_close: bool) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=force_close),
            timeout=self._client_timeout,
            headers={"User-Agent": self._user_agent},
            raise_for_status=False,
        )

    async def aclose(self) -> None:
        """Let paid POSTs in flight finish (their ids matter), then close what we opened."""
        self._closed = True
        if self.budget is not None:
            self.budget.close()
        if self._paid_in_flight:
            await asyncio.wait(set(self._paid_in_flight))
        if self._shared is not None:
            await self._shared.aclose()
        if self._owns_session:
            for session in (self._session, self._paid_session):
                if session is not None:
                    await session.close()
            self._session = self._paid_session = None

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
        deliver: Callable[[Any], Any] | None = None,
        deadline: Deadline | None = None,
        on_send: Callable[[], object] | None = None,
    ) -> Any:
        """
        Send the call (retrying what is safe) and return the envelope's ``data``.

        ``remember`` false leaves :attr:`last_response` alone: for the watcher's own polls,
        made in a task whose context no caller reads. ``deliver`` turns the data into the
        result inside the attempt; for a paid call it runs even when the caller was
        cancelled meanwhile, so the ids it reads are never lost. ``deadline`` bounds each
        attempt further, body included (the watcher's ``poll_timeout``). ``on_send`` is
        called when a paid attempt has its slot and its turn and leaves: a cancellation
        before it leaves nothing sent, one after it waits for the answer.
        """
        request = RequestInfo(method, path, paid=paid)
        self.check_usable(str(request))
        policy = retry or self.retry
        started = time.monotonic()
        # The budget bounds the call's last attempt too, not only whether one more starts.
        until = None if policy.budget is None else started + policy.budget
        attempt_once = partial(
            self._attempt,
            request,
            params=params,
            json_body=json_body,
            started=started,
            remember=remember,
            deliver=deliver,
            until=until,
            deadline=deadline,
            on_send=on_send,
        )
        if policy.attempts == 1:
            # The watcher's polls: it retries on later ticks, so no retry machinery per call.
            return await attempt_once()

        def retry_hook(exc: BaseException) -> bool | float:
            if self._closed or isinstance(exc, _NEVER_RETRIED):
                return False
            if isinstance(exc, RateLimitError):
                # Refused, so not charged: a paid call waits it out too.
                return True if exc.retry_after is None else exc.retry_after
            if isinstance(exc, TransportError) and not exc.may_have_charged:
                return True
            if paid:
                return False
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
                return await attempt_once()
        msg = "unreachable: stamina always yields at least one attempt"  # pragma: no cover
        raise AssertionError(msg)  # pragma: no cover

    async def _attempt(
        self,
        request: RequestInfo,
        *,
        params: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
        started: float,
        remember: bool,
        deliver: Callable[[Any], Any] | None,
        until: float | None = None,
        deadline: Deadline | None = None,
        on_send: Callable[[], object] | None = None,
    ) -> Any:
        if self._closed:
            raise SessionClosedError(
                request=request,
                message=f"{request}: the AsyncSuno session was closed; the call was not sent again",
            )
        answered: list[RawResponse] = []
        try:
            if not request.paid:
                await self._draw(paid=False)
                data = await self._once(
                    request, params, json_body, started, answered, until=until, deadline=deadline
                )
                return data if deliver is None else deliver(data)
            async with self._paid_slots:
                if self._paid_rate is not None:
                    await self._rate_limiter().acquire()
                # Within the paid slot: the budget's paid share goes to calls ready to leave.
                await self._draw(paid=True)
                if on_send is not None:
                    on_send()
                return await self._shielded(
                    self._once(
                        request,
                        params,
                        json_body,
                        started,
                        answered,
                        deliver,
                        until=until,
                        deadline=deadline,
                    )
                )
        finally:
            if remember and answered:
                self.last_response.set(answered[0])

    async def _draw(self, *, paid: bool) -> None:
        """A token of the budget, then a turn of the key's shared budget when there is one."""
        budget = self.budget
        if budget is None:
            return
        await budget.acquire(paid=paid)
        shared = self._shared
        if shared is not None and not self._closed:
            await shared.take()
            budget.share = 1 / budget.limit.processes if shared.fallen_back else 1.0

    def _rate_limiter(self) -> aiolimiter.AsyncLimiter:
        if self._limiter is None:
            rate = self._paid_rate
            assert rate is not None  # noqa: S101  (only called with a rate)
            # One call per 1/rate seconds, no burst: a paid call's pace is what it says.
            self._limiter = aiolimiter.AsyncLimiter(1, 1 / rate)
        return self._limiter

    async def _shielded(self, work: Awaitable[T]) -> T:
        """
        Run ``work`` to its end even if the caller is cancelled meanwhile; then re-raise
        that cancellation. The attempt's own deadline bounds the wait.
        """
        task = asyncio.ensure_future(work)
        self._paid_in_flight.add(task)
        task.add_done_callback(self._paid_in_flight.discard)
        cancelled: asyncio.CancelledError | None = None
        with anyio.CancelScope(shield=True):
            while not task.done():
                try:
                    await asyncio.wait((task,))
                except asyncio.CancelledError as exc:  # noqa: PERF203  (rare: once per cancel)
                    cancelled = exc
        if cancelled is not None:
            if not task.cancelled() and task.exception() is not None:
                logger.warning(
                    "a paid call whose caller was cancelled failed: %s", task.exception()
                )
            raise cancelled
        return task.result()

    async def _once(  # noqa: PLR0917  (private; every caller passes the same five)
        self,
        request: RequestInfo,
        params: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
        started: float,
        answered: list[RawResponse],
        deliver: Callable[[Any], Any] | None = None,
        *,
        until: float | None = None,
        deadline: Deadline | None = None,
    ) -> Any:
        """
        One attempt; its HTTP answer, if any, is appended to ``answered``. It ends at the
        first of ``Timeouts.total``, ``until`` (the call's RetryPolicy.budget) and
        ``deadline``: aiohttp's own per-request timer bounds it, body included, as the
        request already runs one and a cancel scope of our own would cost as much again.
        """
        session = self._client_session(request)
        url = self._urls.get(request.path)
        if url is None:
            url = self._base_url.with_path(self._base_url.path + request.path, encoded=False)
            self._urls[request.path] = url
        self.requests_sent += 1
        limit = self._total
        if until is not None:
            left = Deadline(max(until - time.monotonic(), 0.0), "RetryPolicy.budget", left=True)
            if limit is None or left.seconds < limit.seconds:
                limit = left
        if deadline is not None and (limit is None or deadline.seconds < limit.seconds):
            limit = deadline
        timeout = self._client_timeout
        if limit is not None:
            timeout = aiohttp.ClientTimeout(
                total=limit.seconds, sock_connect=timeout.sock_connect, sock_read=timeout.sock_read
            )
        failure: SunoError | None = None
        try:
            if limit is not None and limit.seconds <= 0:
                raise TimeoutError
            # Per request, so the phases apply to a session the caller passed in too.
            async with session.request(
                request.method,
                url,
                params=params,
                json=json_body,
                headers=self._headers.reveal(),
                timeout=timeout,
                ssl=self._ssl,
                allow_redirects=False,
                proxy=self._proxies.for_url(url),
            ) as response:
                status = response.status
                response_headers = response.headers
                body = await self._read_body(request, response)
        except SunoError:
            raise
        except (aiohttp.ClientError, TimeoutError, asyncio.TimeoutError) as exc:
            failure = connection_error(request, url, exc, limit=limit, closed=self._closed)
        if failure is not None:
            # Raised outside the except clause, so no chain leads back to aiohttp's frames.
            raise failure
        elapsed = time.monotonic() - started
        answered.append(
            RawResponse(
                method=request.method,
                path=request.path,
                status=status,
                headers=response_headers,
                elapsed_s=elapsed,
                attempts=request.attempts,
            )
        )
        logger.debug(
            "%s %s -> %s (attempt %d, %.3fs)",
            request.method,
            request.path,
            status,
            request.attempts,
            elapsed,
        )
        try:
            data = read_answer(
                request, status, response_headers, body, max_retry_after=self.retry.max_retry_after
            )
        except RateLimitError as exc:
            self.rate_limited += 1
            if self.budget is not None:
                self.budget.refusal(exc.retry_after)
            raise
        return data if deliver is None else deliver(data)

    async def _read_body(self, request: RequestInfo, response: aiohttp.ClientResponse) -> bytes:
        """The body, unless the answer is a redirect or larger than the cap."""
        status = response.status
        if 300 <= status < 400:
            raise redirect_error(request, status, response.headers.get("Location"))
        length = response.content_length
        if length is not None and length > self._max_bytes:
            raise too_large(request, length, self._max_bytes)
        if length is not None and "Content-Encoding" not in response.headers:
            return await response.read()  # no bigger than announced: nothing to inflate
        body = bytearray()
        async for chunk in response.content.iter_any():
            body += chunk
            if len(body) > self._max_bytes:
                raise too_large(request, None, self._max_bytes)
        return bytes(body)
