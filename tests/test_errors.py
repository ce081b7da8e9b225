"""Every fault the fake can inject, mapped to its error; retries that never pay twice; redaction."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import anyio
import pytest

from helpers import (
    BALANCE,
    DIALECT,
    FAST_POLL,
    FAST_RETRY,
    GENERATE,
    KEY,
    balance,
    free_port,
    rendered,
)
from suno_async import (
    APIError,
    AsyncSuno,
    AuthenticationError,
    InsufficientPointsError,
    NetworkError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    Song,
    SunoError,
    SunoTimeoutError,
    TaskHandle,
    Timeouts,
    UndecodableResponseError,
    ValidationError,
)
from suno_async.testing import FakeSunoServer, Fault, TaskPlan

pytestmark = pytest.mark.anyio

ATTEMPTS = FAST_RETRY.attempts

Call = Callable[[AsyncSuno], Awaitable[object]]


def get_tasks(suno: AsyncSuno) -> Awaitable[object]:
    return suno.get_tasks([199_999])


def generate(suno: AsyncSuno) -> Awaitable[tuple[TaskHandle[Song], ...]]:
    return suno.generate(title="夏夜", description="一首欢快的流行歌")


def upload(suno: AsyncSuno) -> Awaitable[object]:
    return suno.upload("https://example.com/demo.mp3")


FREE = [
    pytest.param(BALANCE, balance, id="balance"),
    pytest.param("GET /music/tasks", get_tasks, id="get_tasks"),
]
PAID = [
    pytest.param(GENERATE, generate, id="generate"),
    pytest.param("POST /music/upload", upload, id="upload"),
]
PRICE = {GENERATE: 36, "POST /music/upload": 1}


@pytest.fixture
async def keyed(fake: FakeSunoServer) -> AsyncIterator[AsyncSuno]:
    """A session with a realistic-looking key on the fake, polling and retrying fast."""
    fake.api_key = KEY
    async with AsyncSuno(
        KEY, base_url=fake.url, poll=FAST_POLL, rate_limit=None, retry=FAST_RETRY
    ) as suno:
        yield suno


@pytest.fixture
async def impatient(fake: FakeSunoServer) -> AsyncIterator[AsyncSuno]:
    """A session that gives up reading an answer after 50 ms."""
    fake.api_key = KEY
    async with AsyncSuno(
        KEY, base_url=fake.url, retry=FAST_RETRY, timeouts=Timeouts(connect=1.0, read=0.05)
    ) as suno:
        yield suno


# --- authentication, points, not found -------------------------------------------------------


@pytest.mark.parametrize("as_http_200", [False, True], ids=["http-401", "envelope-401"])
@pytest.mark.parametrize(("key", "call"), FREE + PAID)
async def test_wrong_key_is_not_retried(
    keyed: AsyncSuno, fake: FakeSunoServer, key: str, call: Call, as_http_200: bool
) -> None:
    """A refused key raises AuthenticationError after one request, charging nothing."""
    fake.api_key = "the-right-key"
    fake.errors_as_http_200 = as_http_200
    before = fake.points
    with pytest.raises(AuthenticationError) as caught:
        await call(keyed)
    error = caught.value
    assert (error.status, error.code) == ((200, 401) if as_http_200 else (401, 401))
    assert "SUNO_API_KEY" in str(error)
    assert error.may_have_charged is False
    assert fake.requests == {key: 1}
    assert fake.points == before


@pytest.mark.parametrize("as_http_200", [False, True], ids=["http-402", "envelope-402"])
@pytest.mark.parametrize(("key", "call"), PAID)
async def test_insufficient_points(
    keyed: AsyncSuno, fake: FakeSunoServer, key: str, call: Call, as_http_200: bool
) -> None:
    """A balance below the price raises InsufficientPointsError; nothing is charged or made."""
    fake.errors_as_http_200 = as_http_200
    fake.points = PRICE[key] - 1
    with pytest.raises(InsufficientPointsError) as caught:
        await call(keyed)
    assert caught.value.code == 402
    assert caught.value.may_have_charged is False
    assert "积分不足" in caught.value.api_message
    assert fake.requests == {key: 1}
    assert fake.points == PRICE[key] - 1
    assert (await keyed.balance()).remaining_points == PRICE[key] - 1
    with pytest.raises(KeyError):
        fake.task(199824)  # no task was created


async def test_exact_balance_pays(keyed: AsyncSuno, fake: FakeSunoServer) -> None:
    """A balance equal to the price is enough, and ends at zero."""
    fake.points = 36
    assert len(await keyed.generate(title="t", description="d")) == 2
    assert fake.points == 0


@pytest.mark.parametrize("as_http_200", [False, True], ids=["http-404", "envelope-404"])
async def test_unknown_task_is_not_found(
    keyed: AsyncSuno, fake: FakeSunoServer, as_http_200: bool
) -> None:
    """get_task() of an id the service does not know raises NotFoundError, unretried."""
    fake.errors_as_http_200 = as_http_200
    with pytest.raises(NotFoundError) as caught:
        await keyed.get_task(424242)
    assert caught.value.code == 404
    assert caught.value.status == (200 if as_http_200 else 404)
    assert fake.requests == {"GET /music/task": 1}


async def test_service_side_refusal_of_a_paid_call(keyed: AsyncSuno, fake: FakeSunoServer) -> None:
    """A 400 from the service (song not complete yet) is an APIError, unretried and uncharged."""
    fake.plans.extend([TaskPlan(queued_s=1e6)] * 2)
    handles = await keyed.generate(title="t", description="d")
    clip = fake.task(handles[0].task_id).custom_id
    assert clip is not None
    before = fake.points
    with pytest.raises(APIError) as caught:
        await keyed.aligned_lyrics(clip, lyrics="la la")
    assert type(caught.value) is APIError
    assert caught.value.status == 400
    assert caught.value.may_have_charged is False
    assert "suno_id" in caught.value.api_message
    assert fake.requests["POST /music/aligned-lyrics"] == 1
    assert fake.points == before


async def test_unknown_clip_is_not_found(keyed: AsyncSuno, fake: FakeSunoServer) -> None:
    """A well-formed Suno id the service never made raises NotFoundError, charging nothing."""
    with pytest.raises(NotFoundError) as caught:
        await keyed.crop("0f65a62b-3c55-4af6-8353-56be806b93d2", start_s=0, end_s=10)
    assert caught.value.may_have_charged is False
    assert fake.requests == {"POST /music/crop": 1}
    assert fake.points == 10_000


# --- envelope errors inside HTTP 200 ----------------------------------------------------------

ENVELOPE_CODES: list[tuple[int, str, type[APIError], int]] = [
    (401, "未授权", AuthenticationError, 1),
    (403, "forbidden", AuthenticationError, 1),
    (402, "积分不足", InsufficientPointsError, 1),
    (400, "余额不足, 请充值", InsufficientPointsError, 1),  # the message says so
    (404, "任务不存在", NotFoundError, 1),
    (400, "参数错误", APIError, 1),
    (429, "请求过于频繁", RateLimitError, ATTEMPTS),
    (429, "insufficient quota, slow down", RateLimitError, ATTEMPTS),  # the code wins
    (500, "服务器内部错误", ServerError, ATTEMPTS),
    (503, "余额不足 service", ServerError, ATTEMPTS),
    (503, "服务暂不可用", ServerError, ATTEMPTS),
]


@pytest.mark.parametrize("case", ENVELOPE_CODES, ids=lambda c: f"{c[0]}-{c[2].__name__}")
@pytest.mark.parametrize(
    ("key", "call"),
    [pytest.param(BALANCE, balance, id="free"), pytest.param(GENERATE, generate, id="paid")],
)
async def test_envelope_errors_in_http_200(
    keyed: AsyncSuno,
    fake: FakeSunoServer,
    key: str,
    call: Call,
    case: tuple[int, str, type[APIError], int],
) -> None:
    """
    An error code inside a 200 answer is an error all the same. A free call retries 429 and
    5xx; a paid call retries only 429, and only a 5xx may have charged it.
    """
    code, message, error_type, free_tries = case
    paid = key == GENERATE
    fake.faults.append(Fault("envelope_error", endpoint=key, code=code, message=message, times=9))
    with pytest.raises(error_type) as caught:
        await call(keyed)
    assert type(caught.value) is error_type
    assert (caught.value.status, caught.value.code) == (200, code)
    assert caught.value.api_message == message
    assert message in str(caught.value)
    assert caught.value.may_have_charged is (paid and code >= 500)
    tries = (ATTEMPTS if code == 429 else 1) if paid else free_tries
    assert fake.requests == {key: tries}


@pytest.mark.parametrize(("code", "message"), [(500, "任务不存在"), (400, "task not found")])
async def test_a_free_call_told_its_task_does_not_exist_is_answered(
    keyed: AsyncSuno, fake: FakeSunoServer, code: int, message: str
) -> None:
    """The reseller's 任务不存在 comes as code 500: not an outage to retry, but not found."""
    key = "GET /music/task"
    fake.faults.append(Fault("envelope_error", endpoint=key, code=code, message=message, times=9))
    with pytest.raises(NotFoundError, match="check the id") as caught:
        await keyed.get_task(199_824)
    assert (caught.value.code, caught.value.api_message) == (code, message)
    assert not caught.value.may_have_charged
    assert fake.requests == {key: 1}


async def test_a_paid_call_told_so_with_a_5xx_may_still_have_been_charged(
    keyed: AsyncSuno, fake: FakeSunoServer
) -> None:
    """A paid call's 5xx is never taken for a plain no, whatever its message says."""
    fake.faults.append(Fault("envelope_error", endpoint=GENERATE, code=500, message="任务不存在"))
    with pytest.raises(ServerError) as caught:
        await generate(keyed)
    assert caught.value.may_have_charged
    assert fake.requests == {GENERATE: 1}


async def test_success_false_with_code_200_is_an_error(
    keyed: AsyncSuno, fake: FakeSunoServer
) -> None:
    """An envelope saying success false is refused even when its code says 200."""
    fake.faults.append(Fault("envelope_error", endpoint=BALANCE, code=200, message="失败"))
    with pytest.raises(APIError, match="失败"):
        await keyed.balance()
    assert fake.requests == {BALANCE: 1}


# --- rate limits --------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "call"), FREE)
async def test_429_is_retried_after_the_delay_asked(
    keyed: AsyncSuno, fake: FakeSunoServer, key: str, call: Call
) -> None:
    """A free call waits the Retry-After seconds, then succeeds on the next attempt."""
    fake.faults.append(Fault("429", endpoint=key, retry_after="0.15"))
    started = time.monotonic()
    await call(keyed)
    elapsed = time.monotonic() - started
    assert 0.15 <= elapsed < 2  # FAST_RETRY alone would wait at most 20 ms
    assert fake.requests == {key: 2}
    raw = keyed.last_response
    assert raw is not None
    assert (raw.status, raw.attempts) == (200, 2)


async def test_429_without_retry_after_backs_off(keyed: AsyncSuno, fake: FakeSunoServer) -> None:
    """A 429 with no Retry-After is retried with the policy's own backoff."""
    fake.faults.append(Fault("429", endpoint=BALANCE, retry_after=None, times=2))
    await keyed.balance()
    assert fake.requests == {BALANCE: 3}


async def test_429_raises_rate_limit_error_when_retries_run_out(
    keyed: AsyncSuno, fake: FakeSunoServer
) -> None:
    """After the last attempt, RateLimitError carries the delay the service asked for."""
    fake.faults.append(Fault("429", endpoint=BALANCE, retry_after="0.05", times=ATTEMPTS))
    with pytest.raises(RateLimitError) as caught:
        await keyed.balance()
    assert caught.value.retry_after == 0.05
    assert caught.value.status == 429
    assert caught.value.request is not None
    assert caught.value.request.attempts == ATTEMPTS
    assert "retry after 0.05s" in str(caught.value)
    assert fake.requests == {BALANCE: ATTEMPTS}


async def test_retry_after_as_http_date(keyed: AsyncSuno, fake: FakeSunoServer) -> None:
    """Retry-After as an HTTP date is read as seconds from now (a past date means now)."""
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    fake.faults.append(Fault("429", endpoint=BALANCE, retry_after=past, times=ATTEMPTS))
    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await keyed.balance()
    assert caught.value.retry_after == 0.0
    assert time.monotonic() - started < 1
    assert fake.requests == {BALANCE: ATTEMPTS}


async def test_max_retry_after_caps_the_wait(fake: FakeSunoServer) -> None:
    """A Retry-After beyond RetryPolicy.max_retry_after waits only the cap (seconds or date)."""
    fake.api_key = KEY
    policy = RetryPolicy(
        attempts=2, wait_initial=0.01, wait_max=0.01, wait_jitter=0, max_retry_after=0.1
    )
    future = email.utils.formatdate(time.time() + 120, usegmt=True)
    # No budget: its own slow-down after a 429 is test_budget's business.
    async with AsyncSuno(KEY, base_url=fake.url, retry=policy, rate_limit=None) as suno:
        fake.faults.append(Fault("429", endpoint=BALANCE, retry_after="30"))
        started = time.monotonic()
        await suno.balance()
        assert 0.1 <= time.monotonic() - started < 2
        fake.faults.append(Fault("429", endpoint=BALANCE, retry_after=future, times=2))
        started = time.monotonic()
        with pytest.raises(RateLimitError) as caught:
            await suno.balance()
        assert 0.1 <= time.monotonic() - started < 2
    assert caught.value.retry_after == 0.1  # the error carries the capped delay too
    assert fake.requests == {BALANCE: 4}


@pytest.mark.parametrize(("key", "call"), PAID)
async def test_429_on_paid_calls_is_waited_out_within_the_policy(
    keyed: AsyncSuno, fake: FakeSunoServer, key: str, call: Call
) -> None:
    """A paid call refused with 429 cost nothing: resent after the delay, up to the attempts."""
    fake.faults.append(Fault("429", endpoint=key, retry_after="0", times=ATTEMPTS))
    with pytest.raises(RateLimitError) as caught:
        await call(keyed)
    assert caught.value.retry_after == 0.0
    assert caught.value.may_have_charged is False
    assert fake.requests == {key: ATTEMPTS}
    assert fake.points == 10_000


# --- server failures, malformed answers, dropped connections --------------------------------

#: (fault, error after exhaustion, HTTP status on the error or None)
TRANSIENT = [
    ("500", ServerError, 500),
    ("502_html", UndecodableResponseError, 502),
    ("malformed", UndecodableResponseError, 200),
    ("drop_before", NetworkError, None),
    ("drop_after", NetworkError, None),
]


@pytest.mark.parametrize("fault", [t[0] for t in TRANSIENT])
@pytest.mark.parametrize(("key", "call"), FREE)
async def test_free_calls_retry_transient_faults(
    keyed: AsyncSuno, fake: FakeSunoServer, key: str, call: Call, fault: str
) -> None:
    """A free call outlasts a run of transient faults shorter than its attempts."""
    fake.faults.append(Fault(fault, endpoint=key, times=ATTEMPTS - 1))
    await call(keyed)
    assert fake.requests == {key: ATTEMPTS}
    raw = keyed.last_response
    assert raw is not None
    assert raw.status == 200
    assert raw.attempts >= 2


@pytest.mark.parametrize(("fault", "error_type", "status"), TRANSIENT)
async def test_free_calls_give_up_after_their_attempts(
    keyed: AsyncSuno,
    fake: FakeSunoServer,
    fault: str,
    error_type: type[SunoError],
    status: int | None,
) -> None:
    """When every attempt fails, the last failure is raised as its mapped error."""
    fake.faults.append(Fault(fault, endpoint=BALANCE, times=99))
    with pytest.raises(error_type) as caught:
        await keyed.balance()
    error = caught.value
    assert type(error) is error_type
    assert getattr(error, "status", None) == status
    assert getattr(error, "may_have_charged", None) is False
    request = getattr(error, "request", None)
    assert request is not None
    assert (request.method, request.path, request.paid) == ("GET", "/points/balance", False)
    assert request.attempts == ATTEMPTS
    # aiohttp itself resends an idempotent request once on a dropped connection.
    assert ATTEMPTS <= fake.requests[BALANCE] <= 2 * ATTEMPTS


async def test_undecodable_errors_carry_a_snippet(keyed: AsyncSuno, fake: FakeSunoServer) -> None:
    """An HTML proxy page and truncated JSON are told apart and quoted in the error."""
    fake.faults.append(Fault("502_html", endpoint=BALANCE, times=ATTEMPTS))
    with pytest.raises(UndecodableResponseError) as html:
        await keyed.balance()
    assert "502 Bad Gateway" in html.value.snippet
    assert "an HTML page" in str(html.value)
    fake.faults.append(Fault("malformed", endpoint=BALANCE, times=ATTEMPTS))
    with pytest.raises(UndecodableResponseError) as truncated:
        await keyed.balance()
    assert truncated.value.snippet.startswith('{"code": 200')
    assert "malformed JSON" in str(truncated.value)


#: (fault, error) for paid calls that may have reached the service.
MAYBE_CHARGED: list[tuple[str, type[SunoError]]] = [
    ("500", ServerError),
    ("502_html", UndecodableResponseError),
    ("malformed", UndecodableResponseError),
    ("drop_before", NetworkError),
    ("drop_after", NetworkError),
]


@pytest.mark.parametrize("case", MAYBE_CHARGED, ids=lambda c: c[0])
@pytest.mark.parametrize(("key", "call"), PAID)
async def test_paid_calls_are_sent_once(
    keyed: AsyncSuno, fake: FakeSunoServer, key: str, call: Call, case: tuple[str, type[SunoError]]
) -> None:
    """A paid call that may have reached the service is never resent, and says so."""
    fault, error_type = case
    fake.faults.append(Fault(fault, endpoint=key, times=ATTEMPTS))
    with pytest.raises(error_type) as caught:
        await call(keyed)
    assert type(caught.value) is error_type
    assert getattr(caught.value, "may_have_charged", None) is True
    assert "charged" in str(caught.value)
    assert fake.requests == {key: 1}
    charged = PRICE[key] if fault == "drop_after" else 0
    assert fake.points == 10_000 - charged


async def test_drop_after_a_paid_call_charged_once_and_made_the_tasks(
    keyed: AsyncSuno, fake: FakeSunoServer
) -> None:
    """A generate whose answer was lost was charged once; its two tasks exist and finish."""
    fake.faults.append(Fault("drop_after", endpoint=GENERATE))
    with pytest.raises(NetworkError) as caught:
        await generate(keyed)
    assert caught.value.may_have_charged is True
    assert isinstance(caught.value.__cause__, aiohttp.ServerDisconnectedError)
    assert fake.requests == {GENERATE: 1}
    assert fake.points == 10_000 - 36
    made = [fake.task(199824), fake.task(199825)]
    assert [t.kind for t in made] == ["generate", "generate"]
    tasks = await keyed.wait([199824, 199825])
    assert [t.custom_id for t in tasks] == [t.custom_id for t in made]


# --- timeouts -------------------------------------------------------------------------------


async def test_read_timeout_on_a_free_call_is_retried(
    impatient: AsyncSuno, fake: FakeSunoServer
) -> None:
    """A free call that got no answer in time is asked again, and succeeds."""
    fake.faults.append(Fault("latency", endpoint=BALANCE, delay=0.3))
    await impatient.balance()
    assert fake.requests == {BALANCE: 2}


async def test_read_timeout_raises_after_the_attempts(
    impatient: AsyncSuno, fake: FakeSunoServer
) -> None:
    """Every attempt timing out raises SunoTimeoutError, which is also a TimeoutError."""
    fake.faults.append(Fault("latency", endpoint=BALANCE, delay=0.3, times=ATTEMPTS))
    with pytest.raises(SunoTimeoutError) as caught:
        await impatient.balance()
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.may_have_charged is False
    assert fake.requests == {BALANCE: ATTEMPTS}


async def test_read_timeout_on_a_paid_call_is_not_retried(
    impatient: AsyncSuno, fake: FakeSunoServer
) -> None:
    """A paid call that timed out is sent once and says it may have been charged."""
    fake.faults.append(Fault("latency", endpoint=GENERATE, delay=0.3, times=ATTEMPTS))
    with pytest.raises(SunoTimeoutError) as caught:
        await generate(impatient)
    assert caught.value.may_have_charged is True
    assert "charged" in str(caught.value)
    await anyio.sleep(0.35)  # long enough for any resend to have arrived
    assert fake.requests == {GENERATE: 1}
    assert fake.points >= 10_000 - 36


async def test_timeouts_apply_to_a_caller_session(fake: FakeSunoServer) -> None:
    """Timeouts(read=...) holds even when the caller brings the aiohttp session."""
    async with aiohttp.ClientSession() as session:
        suno = AsyncSuno(
            fake.api_key,
            base_url=fake.url,
            session=session,
            retry=RetryPolicy(attempts=1),
            timeouts=Timeouts(read=0.05),
        )
        fake.faults.append(Fault("latency", endpoint=BALANCE, delay=0.3))
        with pytest.raises(SunoTimeoutError):
            await suno.balance()
        await suno.aclose()


# --- connection refused ---------------------------------------------------------------------


async def test_paid_call_retried_while_the_connection_is_refused() -> None:
    """A generate sent while nothing listens is retried and succeeds once the service is up."""
    port = free_port()
    server = FakeSunoServer(dialect=DIALECT, api_key=KEY, port=port, speed=1000.0, seed=3)
    policy = RetryPolicy(attempts=5, wait_initial=0.05, wait_max=0.1, wait_jitter=0.0)
    handles: tuple[TaskHandle[Song], ...] = ()
    try:
        async with AsyncSuno(
            KEY, base_url=f"http://127.0.0.1:{port}/api/v1", retry=policy, poll=FAST_POLL
        ) as suno:

            async def start_later() -> None:
                await anyio.sleep(0.12)
                await server.start()

            async with anyio.create_task_group() as group:
                group.start_soon(start_later)
                handles = await generate(suno)
            raw = suno.last_response
            assert raw is not None
            assert raw.attempts >= 2
            songs = await suno.wait(handles)
    finally:
        await server.close()
    assert len(handles) == 2
    assert [s.task_id for s in songs] == [h.task_id for h in handles]
    assert server.requests[GENERATE] == 1
    assert server.points == 10_000 - 36


async def test_refused_connection_raises_network_error_charging_nothing() -> None:
    """With nothing listening, a paid call gives up with NetworkError that charged nothing."""
    port = free_port()
    policy = RetryPolicy(attempts=2, wait_initial=0.01, wait_max=0.01, wait_jitter=0.0)
    async with AsyncSuno(KEY, base_url=f"http://127.0.0.1:{port}/api/v1", retry=policy) as suno:
        with pytest.raises(NetworkError) as caught:
            await generate(suno)
    assert caught.value.may_have_charged is False
    assert "nothing was sent" in str(caught.value)
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)
    assert caught.value.request is not None
    assert caught.value.request.attempts == 2


# --- the key never leaks --------------------------------------------------------------------


async def test_the_key_never_leaks(
    keyed: AsyncSuno, fake: FakeSunoServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The key is absent from reprs, from every error and its causes, and from every log line."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="suno_async")
    errors: list[BaseException] = []

    async def expect(call: Callable[[], Awaitable[object]], error_type: type[SunoError]) -> None:
        with pytest.raises(error_type) as caught:
            await call()
        errors.append(caught.value)

    await keyed.wait(await generate(keyed))
    await keyed.balance()
    fake.faults += [
        Fault("500", endpoint=GENERATE),
        Fault("502_html", endpoint=BALANCE, times=ATTEMPTS),
        Fault("malformed", endpoint=GENERATE),
        Fault("drop_after", endpoint=GENERATE),
        Fault("429", endpoint=GENERATE, retry_after="0", times=ATTEMPTS),
        Fault("envelope_error", endpoint=BALANCE, code=401, message="bad key"),
    ]
    await expect(lambda: generate(keyed), ServerError)
    await expect(keyed.balance, UndecodableResponseError)
    await expect(lambda: generate(keyed), UndecodableResponseError)
    await expect(lambda: generate(keyed), NetworkError)
    await expect(lambda: generate(keyed), RateLimitError)
    await expect(keyed.balance, AuthenticationError)
    await expect(lambda: keyed.get_task(1), NotFoundError)
    await expect(
        lambda: keyed.speed("0f65a62b-3c55-4af6-8353-56be806b93d2", multiplier=3), ValidationError
    )
    fake.points = 0
    await expect(lambda: upload(keyed), InsufficientPointsError)
    fake.api_key = "another-key"
    await expect(keyed.balance, AuthenticationError)

    async with AsyncSuno(
        KEY, base_url=fake.url, retry=RetryPolicy(attempts=1), timeouts=Timeouts(read=0.05)
    ) as slow:
        fake.faults.append(Fault("latency", endpoint=BALANCE, delay=0.2))
        await expect(slow.balance, SunoTimeoutError)
        assert KEY not in repr(slow) + str(slow)
    port = free_port()
    async with AsyncSuno(
        KEY, base_url=f"http://127.0.0.1:{port}/api/v1", retry=RetryPolicy(attempts=1)
    ) as nowhere:
        await expect(nowhere.balance, NetworkError)

    assert len(errors) == 12
    assert any(isinstance(e.__cause__, aiohttp.ClientError) for e in errors)
    for error in errors:
        text = rendered(error)  # tracebacks with their locals, every chained error
        assert KEY not in text, text

    transport = keyed._transport
    for text in (repr(keyed), str(keyed), repr(transport), str(transport), repr(vars(transport))):
        assert KEY not in text
    assert "***" in repr(vars(transport))

    assert caplog.records
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert KEY not in repr(vars(record))
    assert KEY not in caplog.text
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("suno_async")]
    assert any(m.startswith("GET /points/balance -> 200") for m in messages)
    assert any(m.startswith("POST /music/generate -> 500") for m in messages)
    assert any(m.startswith("GET /music/tasks -> 200") for m in messages)
    assert any("/points/balance -> 401" in m for m in messages)


async def test_requests_carry_the_key_as_a_bearer_token(fake: FakeSunoServer) -> None:
    """The key does reach the service, as the Authorization header the API documents."""
    fake.api_key = KEY
    async with AsyncSuno(f"  {KEY}\n", base_url=fake.url) as suno:
        assert (await suno.balance()).remaining_points == 10_000
    assert fake.requests == {BALANCE: 1}
