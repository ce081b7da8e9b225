"""The transport's rules over loopback HTTP: deadlines, caps, redirects, closing, loops, keys."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import math
import time
from collections.abc import Awaitable, Callable

import aiohttp
import anyio
import pytest
from aiohttp import web

from helpers import (
    BALANCE,
    CALLS,
    FAST_RETRY,
    GENERATE,
    KEY,
    NO_RETRY,
    Counter,
    balance,
    envelope,
    free_port,
    generate,
    ok,
    rendered,
    serve,
    trickle,
    until,
)
from suno_async import (
    APIError,
    AsyncSuno,
    NetworkError,
    RateLimitError,
    RedirectError,
    ResponseTooLargeError,
    RetryPolicy,
    SessionClosedError,
    SunoError,
    SunoTimeoutError,
    Timeouts,
    UndecodableResponseError,
)
from suno_async._outcome import parse_retry_after
from suno_async._transport import DEFAULT_MAX_RESPONSE_BYTES
from suno_async.testing import FakeSunoServer, Fault

pytestmark = pytest.mark.anyio

# --- an overall deadline per attempt -------------------------------------------------------


#: What ends a trickled attempt: (timeouts, retry policy, the error's words, a bound in seconds).
LIMITS = [
    pytest.param(
        Timeouts(read=0.5, total=0.3), NO_RETRY, r"Timeouts\.total=0\.3s", 1.0, id="total"
    ),
    # Issue 9's case: ``read=2`` and a short budget, ``total`` far away: the budget ends it.
    pytest.param(
        Timeouts(read=2, total=30),
        RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.01, budget=0.4),
        r"RetryPolicy\.budget",
        1.5,
        id="retry-budget",
    ),
]


@pytest.mark.parametrize(("timeouts", "retry", "match", "bound"), LIMITS)
@pytest.mark.parametrize(("key", "call"), CALLS, ids=["free", "paid"])
async def test_a_trickled_body_ends_at_the_deadline(
    key: str,
    call: Callable[[AsyncSuno], Awaitable[object]],
    *,
    timeouts: Timeouts,
    retry: RetryPolicy,
    match: str,
    bound: float,
) -> None:
    """
    A body trickled a byte every 20 ms never trips ``read``; Timeouts.total or the retry
    budget ends the attempt, long before the body would, and nothing is sent again.
    """
    handler = Counter(trickle)
    async with (
        serve({key: handler}) as url,
        AsyncSuno(KEY, base_url=url, timeouts=timeouts, retry=retry) as suno,
    ):
        started = time.monotonic()
        with pytest.raises(SunoTimeoutError, match=match) as caught:
            await call(suno)
        assert time.monotonic() - started < bound
    assert caught.value.may_have_charged is (key == GENERATE)
    assert handler.count == 1


async def test_total_deadline_defaults_to_a_bound() -> None:
    """Every attempt has an overall deadline unless the caller removes it on purpose."""
    total = Timeouts().total
    assert total is not None
    assert Timeouts().read is not None
    assert total >= Timeouts().read  # type: ignore[operator]


# --- Retry-After is always capped ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e9", 60.0),
        ("inf", 60.0),
        ("1e400", 60.0),
        ("-5", 0.0),
        ("nan", None),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 60.0),
        ("not a date", None),
        ("3", 3.0),
    ],
)
def test_retry_after_is_capped(value: str, expected: float | None) -> None:
    """Huge, infinite, far-future, negative and NaN Retry-After values give a bounded delay."""
    assert parse_retry_after(value, cap=60.0) == expected


@pytest.mark.parametrize("value", ["1e9", "inf", "Fri, 31 Dec 9999 23:59:59 GMT"])
async def test_a_huge_retry_after_reaches_callers_capped(fake: FakeSunoServer, value: str) -> None:
    """The RateLimitError itself carries the capped delay, so no reader of it waits forever."""
    policy = RetryPolicy(attempts=2, wait_initial=0.01, wait_max=0.01, max_retry_after=0.05)
    fake.faults.append(Fault("429", endpoint=BALANCE, retry_after=value, times=2))
    async with AsyncSuno(fake.api_key, base_url=fake.url, retry=policy) as suno:
        with anyio.fail_after(2), pytest.raises(RateLimitError) as caught:
            await suno.balance()
    assert caught.value.retry_after == 0.05
    assert fake.requests == {BALANCE: 2}


async def test_a_past_http_date_means_now() -> None:
    """A Retry-After date in the past asks for no wait at all."""
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert parse_retry_after(past, cap=60.0) == 0.0
    assert not math.isnan(parse_retry_after("0", cap=1.0) or 0.0)


# --- closing while a call is in flight -----------------------------------------------------


async def test_aclose_ends_a_free_call_in_flight_without_a_retry(fake: FakeSunoServer) -> None:
    """A free call in flight at aclose() ends with SessionClosedError; nothing is sent again."""
    fake.faults.append(Fault("latency", endpoint=BALANCE, delay=0.3))
    suno = AsyncSuno(fake.api_key, base_url=fake.url, retry=FAST_RETRY)
    caught: list[BaseException] = []

    async def call() -> None:
        try:
            await suno.balance()
        except SunoError as exc:
            caught.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await until(lambda: fake.requests[BALANCE] == 1)
        await suno.aclose()
    await anyio.sleep(0.35)
    assert len(caught) == 1
    assert isinstance(caught[0], SessionClosedError)
    assert "closed" in str(caught[0])
    assert fake.requests == {BALANCE: 1}
    assert suno._transport._session is None  # no new ClientSession was opened


async def test_calls_on_a_closed_session_raise_session_closed_error(fake: FakeSunoServer) -> None:
    """Every call on a closed session raises SessionClosedError (a SunoError) and sends nothing."""
    suno = AsyncSuno(fake.api_key, base_url=fake.url)
    await suno.aclose()
    for call in (balance, generate, lambda s: s.get_task(1), lambda s: s.wait([1])):
        with pytest.raises(SessionClosedError, match="closed"):
            await call(suno)
    with pytest.raises(SessionClosedError):
        async with suno:
            pass
    assert fake.total_requests == 0


def test_session_closed_error_stays_compatible() -> None:
    """The error keeps its old positional task id, and is also a RuntimeError."""
    by_task = SessionClosedError(7)
    assert by_task.task_id == 7
    assert "task 7" in str(by_task)
    plain = SessionClosedError()
    assert plain.task_id is None
    assert isinstance(plain, RuntimeError)
    assert "closed" in str(plain)


# --- redirects are never followed ----------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_paid_call_never_follows_a_redirect(status: int) -> None:
    """A redirected paid POST is neither replayed nor downgraded: a RedirectError says where."""
    elsewhere = Counter(lambda _: asyncio.sleep(0, ok([1, 2])))
    async with serve({GENERATE: elsewhere}) as other_url:

        async def redirect(_: web.Request) -> web.Response:
            return web.Response(status=status, headers={"Location": other_url + "/music/generate"})

        handler = Counter(redirect)
        async with (
            serve({GENERATE: handler}) as url,
            AsyncSuno(KEY, base_url=url, retry=FAST_RETRY) as suno,
        ):
            with pytest.raises(RedirectError) as caught:
                await generate(suno)
    error = caught.value
    assert error.status == status
    assert error.location == other_url + "/music/generate"
    assert error.may_have_charged is True
    assert "nothing was followed" in str(error)
    assert other_url in str(error)
    assert (handler.count, elsewhere.count) == (1, 0)


async def test_a_free_call_never_follows_a_redirect_either() -> None:
    """A redirected GET is refused too, charged nothing, and is not retried."""
    target = "http://example.com/api/v1/points/balance"

    async def redirect(_: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": target})

    handler = Counter(redirect)
    async with (
        serve({BALANCE: handler}) as url,
        AsyncSuno(KEY, base_url=url, retry=FAST_RETRY) as suno,
    ):
        with pytest.raises(RedirectError) as caught:
            await suno.balance()
    assert caught.value.location == target
    assert caught.value.may_have_charged is False
    assert handler.count == 1


# --- response size caps --------------------------------------------------------------------


async def test_a_huge_content_length_is_refused_unread() -> None:
    """A body announced at 200 MiB is refused from its headers, at once, and never fetched again."""

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 200 * 1024 * 1024
        await response.prepare(request)
        try:
            await response.write(b"{" + b" " * 1023)
            for _ in range(250):  # until the client hangs up, 5 s at most
                if request.transport is None or request.transport.is_closing():
                    break
                await asyncio.sleep(0.02)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    handler = Counter(huge)
    async with (
        serve({BALANCE: handler}) as url,
        AsyncSuno(
            KEY, base_url=url, retry=FAST_RETRY, timeouts=Timeouts(read=10.0, total=20.0)
        ) as suno,
    ):
        started = time.monotonic()
        with pytest.raises(ResponseTooLargeError) as caught:
            await suno.balance()
        # Reading the body instead would last until the host gives up (5 s): a loaded
        # machine's delays stay far below that.
        assert time.monotonic() - started < 2.5
    assert caught.value.size == 200 * 1024 * 1024
    assert caught.value.limit == DEFAULT_MAX_RESPONSE_BYTES
    assert caught.value.may_have_charged is False
    assert handler.count == 1


async def test_a_compressed_body_is_capped_as_it_inflates() -> None:
    """A gzip body whose announced length fits, but whose JSON would not, is cut at the cap."""
    inflated = envelope({"pad": " " * (8 * 1024 * 1024)}).encode()
    packed = gzip.compress(inflated)

    async def bomb(request: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=packed, headers=headers)

    async with (
        serve({BALANCE: bomb}) as url,
        AsyncSuno(KEY, base_url=url, retry=FAST_RETRY, max_response_bytes=1024 * 1024) as suno,
    ):
        with pytest.raises(ResponseTooLargeError) as caught:
            await suno.balance()
    assert len(packed) < 1024 * 1024 < len(inflated)
    assert caught.value.limit == 1024 * 1024


async def test_get_task_refuses_a_row_about_another_task() -> None:
    """The single query answered with another task's row: an unreadable answer, not that task."""

    async def another(request: web.Request) -> web.Response:
        text = envelope({"id": 111_111_111_111_111_111_111, "status": 3, "custom_id": "x"})
        return web.Response(text=text, content_type="application/json")

    async with serve({"GET /music/task": another}) as url, AsyncSuno(KEY, base_url=url) as suno:
        with pytest.raises(UndecodableResponseError, match="not task 199824"):
            await suno.get_task(199_824)


async def test_a_message_nested_a_thousand_deep_is_read_as_text() -> None:
    """An error envelope whose message is not text is still a typed error, never a crash."""
    nested = "[" * 1000 + "]" * 1000

    async def odd(request: web.Request) -> web.Response:
        text = f'{{"code": 400, "message": {nested}, "data": null}}'
        return web.Response(text=text, content_type="application/json")

    async with serve({BALANCE: odd}) as url, AsyncSuno(KEY, base_url=url) as suno:
        with pytest.raises(APIError) as caught:
            await suno.balance()
    assert caught.value.code == 400
    assert caught.value.api_message.startswith("[[[")


@pytest.mark.parametrize(("key", "call"), CALLS, ids=["free", "paid"])
async def test_a_streamed_body_past_the_cap_is_cut(
    key: str, call: Callable[[AsyncSuno], Awaitable[object]]
) -> None:
    """A chunked body stops being read past max_response_bytes; retries do not fetch it again."""
    sent: list[int] = []

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for _ in range(200):
                await response.write(b" " * 65536)
                sent.append(65536)
                await asyncio.sleep(0)
            await response.write(b"{}")
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    handler = Counter(endless)
    async with (
        serve({key: handler}) as url,
        AsyncSuno(KEY, base_url=url, retry=FAST_RETRY, max_response_bytes=256 * 1024) as suno,
    ):
        with pytest.raises(ResponseTooLargeError) as caught:
            await call(suno)
    assert caught.value.size is None
    assert caught.value.may_have_charged is (key == GENERATE)
    assert handler.count == 1
    assert sum(sent) < 100 * 65536  # the client hung up long before the end


def test_the_default_cap_fits_a_thousand_row_page() -> None:
    """The default cap is far above a 1,000-row batch page (a few MB)."""
    assert 32 * 1024 * 1024 <= DEFAULT_MAX_RESPONSE_BYTES <= 64 * 1024 * 1024


# --- JSON nested too deep ------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("where", ["answer", "data"])
@pytest.mark.parametrize(("key", "call"), CALLS, ids=["free", "paid"])
async def test_json_nested_100_000_deep_is_undecodable(
    key: str, call: Callable[[AsyncSuno], Awaitable[object]], where: str
) -> None:
    """Deep JSON, as the answer or inside its data, is UndecodableResponseError, not recursion."""
    text = DEEP if where == "answer" else envelope(None).replace("null", DEEP)

    async def deep(_: web.Request) -> web.Response:
        return web.Response(text=text, content_type="application/json")

    async with (
        serve({key: deep}) as url,
        AsyncSuno(KEY, base_url=url, retry=NO_RETRY) as suno,
    ):
        with pytest.raises(UndecodableResponseError) as caught:
            await call(suno)
    assert caught.value.may_have_charged is (key == GENERATE)


# --- the key reaches no traceback ----------------------------------------------------------


async def test_the_key_is_in_no_traceback_with_locals() -> None:
    """Redirect loops, refused connections, timeouts, bad bodies and drops never show the key."""

    async def loop(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": str(request.url)})

    async def drop(request: web.Request) -> web.Response:
        await request.read()
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    async def bad(_: web.Request) -> web.Response:
        return web.Response(text='{"code": 200, "data": {"rem', content_type="application/json")

    async def silent(_: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return ok(1)

    routes = {BALANCE: loop, GENERATE: drop, "GET /music/task": bad, "GET /music/tasks": trickle}
    routes["POST /music/upload"] = silent
    errors: list[BaseException] = []
    async with serve(routes) as url:
        timeouts = Timeouts(read=0.1, total=0.2)
        async with AsyncSuno(KEY, base_url=url, retry=FAST_RETRY, timeouts=timeouts) as suno:
            for call, error_type in [
                (balance, RedirectError),
                (generate, NetworkError),
                (lambda s: s.get_task(1), UndecodableResponseError),
                (lambda s: s.get_tasks([1]), SunoTimeoutError),
                (lambda s: s.upload("https://example.com/a.mp3"), SunoTimeoutError),
            ]:
                with pytest.raises(error_type) as caught:
                    await call(suno)
                errors.append(caught.value)
    nowhere = f"http://127.0.0.1:{free_port()}/api/v1"
    async with AsyncSuno(KEY, base_url=nowhere, retry=NO_RETRY) as suno:
        with pytest.raises(NetworkError) as refused:
            await suno.balance()
        errors.append(refused.value)
    assert isinstance(refused.value.__cause__, aiohttp.ClientConnectorError)
    for error in errors:
        text = rendered(error)
        assert "Traceback" in text
        assert KEY not in text, text


@pytest.mark.parametrize(
    "build",
    [
        lambda: AsyncSuno(KEY, base_url="ftp://example.com"),
        lambda: AsyncSuno(KEY, timeouts="slow"),  # type: ignore[arg-type]
        lambda: AsyncSuno(KEY + "\x7f"),
    ],
    ids=["base_url", "timeouts", "pasted key"],
)
async def test_a_bad_setting_does_not_show_the_key(build: Callable[[], object]) -> None:
    """A ConfigurationError from the constructor keeps the key out of its frames' locals."""
    with pytest.raises(SunoError) as caught:
        build()
    assert KEY not in rendered(caught.value)


# --- one event loop per session ------------------------------------------------------------


async def test_a_session_used_from_another_loop_says_so(fake: FakeSunoServer) -> None:
    """Another loop gets WrongEventLoopError at once, from calls and waits alike, never a hang."""
    from suno_async import WrongEventLoopError

    async with AsyncSuno(fake.api_key, base_url=fake.url, retry=FAST_RETRY) as suno:
        handles = await suno.generate(title="t", description="d")
        errors: list[BaseException] = []

        def elsewhere() -> None:
            async def use() -> None:
                for call in (
                    balance,
                    generate,
                    lambda s: s.wait(handles),
                    lambda s: s.get_tasks([1]),
                ):
                    try:
                        await asyncio.wait_for(call(suno), 2)
                    except BaseException as exc:  # noqa: PERF203  (each call is checked below)
                        errors.append(exc)

            asyncio.run(use())

        sent = fake.total_requests
        with anyio.fail_after(10):
            await anyio.to_thread.run_sync(elsewhere)
        assert fake.total_requests == sent
        assert (await suno.balance()).remaining_points > 0  # still fine on its own loop
    assert len(errors) == 4
    for error in errors:
        assert isinstance(error, WrongEventLoopError), repr(error)
        assert "one AsyncSuno per event loop" in str(error)


def _all_subclasses(cls: type[SunoError]) -> list[type[SunoError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _all_subclasses(sub)
    return found


def test_may_have_charged_is_readable_on_every_error() -> None:
    """Every SunoError class answers may_have_charged, False unless a paid call may have cost."""
    for cls in _all_subclasses(SunoError):
        assert getattr(cls, "may_have_charged", None) is False, cls
