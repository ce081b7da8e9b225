"""Paid calls under control: fresh connections, shielded POSTs, ids never lost, limits, 429."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import pytest
from aiohttp import web

from helpers import FAST_RETRY, GENERATE, KEY, Handler, envelope, ok, serve, until
from suno_async import AsyncSuno, GenerateRequest, RetryPolicy, Timeouts
from suno_async.testing import FakeSunoServer, Fault

pytestmark = pytest.mark.anyio

REQUEST = GenerateRequest(model="chirp-v4", title="t", description="a song")
SONG_PRICE = 36


class KeepAliveEdge:
    """
    A raw HTTP/1.1 server whose keep-alive runs out just as the next request arrives: it
    answers the first request of each connection and keeps it open, then closes it, unread,
    when a second request comes on it. ``accepted`` counts POSTs it actually processed.
    """

    def __init__(self) -> None:
        self.accepted = 0
        self.dropped = 0
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/api/v1"

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if served:
                    self.dropped += 1
                    return
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                data: object = 100
                if head.startswith(b"POST"):
                    self.accepted += 1
                    data = [2 * self.accepted, 2 * self.accepted + 1]
                body = envelope(data).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Connection: keep-alive\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
                served += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_a_paid_call_never_rides_a_pooled_connection_the_server_closed() -> None:
    """A paid POST goes on a fresh connection, so a stale pooled one cannot lose it."""
    edge = KeepAliveEdge()
    async with edge as url, AsyncSuno(KEY, base_url=url, retry=FAST_RETRY) as suno:
        for _ in range(5):
            await suno.balance()  # leaves a pooled keep-alive connection behind
            handles = await suno.generate(title="t", description="d")
            assert len(handles) == 2
    assert edge.accepted == 5
    assert edge.dropped >= 1  # the free calls did meet the closed connections


async def test_paid_posts_are_shielded_from_cancellation(fake: FakeSunoServer) -> None:
    """A caller cancelled while the service answers still has its ids: callback and session."""
    fake.faults.append(Fault("latency", endpoint=GENERATE, delay=0.3))
    seen: list[tuple[int, ...]] = []
    async with AsyncSuno(fake.api_key, base_url=fake.url, retry=FAST_RETRY) as suno:
        task = asyncio.ensure_future(suno.submit_generate(REQUEST, on_started=seen.append))
        await until(lambda: fake.requests[GENERATE] == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(seen) == 1
        assert len(seen[0]) == 2
        assert suno.orphaned_task_ids == seen[0]
        songs = await suno.wait(list(seen[0]))
    assert [song.id for song in songs] == list(seen[0])
    assert fake.requests[GENERATE] == 1
    assert fake.points == 10_000 - SONG_PRICE


async def test_an_anyio_deadline_takes_effect_after_the_answer(fake: FakeSunoServer) -> None:
    """Under an anyio deadline the POST completes and returns; the ids reach on_started."""
    fake.faults.append(Fault("latency", endpoint=GENERATE, delay=0.2))
    seen: list[tuple[int, ...]] = []
    async with AsyncSuno(fake.api_key, base_url=fake.url, retry=FAST_RETRY) as suno:
        with anyio.move_on_after(0.05):
            await suno.submit_generate(REQUEST, on_started=seen.append)
        assert len(seen) == 1
        assert len(set(seen[0])) == 2
    assert fake.requests[GENERATE] == 1


async def test_on_started_is_called_once_before_the_handles_return(fake: FakeSunoServer) -> None:
    """on_started gets the ids exactly once, before submit_generate returns them."""
    seen: list[tuple[int, ...]] = []
    async with AsyncSuno(fake.api_key, base_url=fake.url, retry=FAST_RETRY) as suno:
        handles = await suno.submit_generate(REQUEST, on_started=seen.append)
        assert seen == [tuple(h.task_id for h in handles)]
        assert suno.orphaned_task_ids == ()


async def test_ids_survive_a_failing_on_started(fake: FakeSunoServer) -> None:
    """A callback that raises propagates, and the ids it was given stay on the session."""

    class JournalFullError(Exception):
        pass

    def broken(ids: tuple[int, ...]) -> None:
        raise JournalFullError(ids)

    async with AsyncSuno(fake.api_key, base_url=fake.url, retry=FAST_RETRY) as suno:
        with pytest.raises(JournalFullError) as caught:
            await suno.submit_generate(REQUEST, on_started=broken)
        assert suno.orphaned_task_ids == caught.value.args[0]
    assert fake.requests[GENERATE] == 1


async def test_aclose_lets_a_paid_post_in_flight_finish(fake: FakeSunoServer) -> None:
    """Closing the session waits for a paid POST in flight, so its caller gets its ids."""
    fake.faults.append(Fault("latency", endpoint=GENERATE, delay=0.2))
    suno = AsyncSuno(fake.api_key, base_url=fake.url, retry=FAST_RETRY)
    results: list[object] = []

    async def call() -> None:
        results.append(await suno.submit_generate(REQUEST))

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await until(lambda: fake.requests[GENERATE] == 1)
        await suno.aclose()
    assert len(results) == 1
    assert fake.points == 10_000 - SONG_PRICE


async def test_a_paid_call_refused_with_429_is_sent_again_once_accepted(
    fake: FakeSunoServer,
) -> None:
    """A 429 cost nothing: the call waits the capped Retry-After and is accepted exactly once."""
    fake.faults.append(Fault("429", endpoint=GENERATE, retry_after="0.1", times=2))
    policy = RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.02, wait_jitter=0)
    async with AsyncSuno(fake.api_key, base_url=fake.url, retry=policy) as suno:
        started = time.monotonic()
        handles = await generate_song(suno)
        assert time.monotonic() - started >= 0.2
    assert len(handles) == 2
    assert fake.requests[GENERATE] == 3
    assert fake.points == 10_000 - SONG_PRICE  # one accepted call


async def generate_song(suno: AsyncSuno) -> tuple[object, ...]:
    return await suno.generate(title="t", description="d")


async def concurrent_paid_calls(count: int, respond: Handler, **options: Any) -> None:
    """``count`` generate calls at once, on a session with ``options``, answered by ``respond``."""
    async with (
        serve({GENERATE: respond}) as url,
        AsyncSuno(KEY, base_url=url, **options) as suno,
        anyio.create_task_group() as group,
    ):
        for _ in range(count):
            group.start_soon(generate_song, suno)


async def test_max_paid_in_flight_bounds_concurrent_posts() -> None:
    """No more than max_paid_in_flight paid POSTs reach the service at once."""
    in_flight = 0
    peak = 0

    async def slow(_: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.03)
        in_flight -= 1
        return ok([1, 2])

    await concurrent_paid_calls(8, slow, max_paid_in_flight=2)
    assert peak == 2


async def test_paid_rate_spaces_paid_posts() -> None:
    """paid_rate calls per second: five calls at 20/s take at least four intervals."""
    arrivals: list[float] = []

    async def record(_: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        return ok([1, 2])

    await concurrent_paid_calls(5, record, paid_rate=20.0)
    assert len(arrivals) == 5
    assert arrivals[-1] - arrivals[0] >= 4 * 0.05 * 0.8


async def test_a_slow_paid_answer_still_ends_at_its_deadline() -> None:
    """A shielded POST is still bounded by its own deadline, and says it may have charged."""
    from suno_async import SunoTimeoutError

    async def never(_: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return ok([1, 2])

    async with (
        serve({GENERATE: never}) as url,
        AsyncSuno(KEY, base_url=url, timeouts=Timeouts(read=0.1)) as suno,
    ):
        with pytest.raises(SunoTimeoutError) as caught:
            await generate_song(suno)
    assert caught.value.may_have_charged is True


async def test_every_paid_endpoint_takes_on_started(fake: FakeSunoServer) -> None:
    """generate, upload and the other paid calls hand their ids to on_started too."""
    seen: list[tuple[int, ...]] = []
    async with AsyncSuno(fake.api_key, base_url=fake.url, retry=FAST_RETRY) as suno:
        songs = await suno.generate(title="t", description="d", on_started=seen.append)
        uploaded = await suno.upload("https://example.com/a.mp3", on_started=seen.append)
    assert seen == [tuple(h.task_id for h in songs), (uploaded.task_id,)]


async def test_a_non_callable_on_started_is_refused_before_sending(fake: FakeSunoServer) -> None:
    """on_started that is not a function is a ValidationError naming it; nothing is sent."""
    from suno_async import ValidationError

    async with AsyncSuno(fake.api_key, base_url=fake.url) as suno:
        with pytest.raises(ValidationError, match="on_started"):
            await suno.submit_generate(REQUEST, on_started=[])  # type: ignore[arg-type]
    assert fake.total_requests == 0


async def test_a_paid_call_waiting_for_a_slot_at_aclose_is_not_sent(fake: FakeSunoServer) -> None:
    """A paid call queued behind max_paid_in_flight when the session closes is never sent."""
    from suno_async import SessionClosedError

    fake.faults.append(Fault("latency", endpoint=GENERATE, delay=0.2))
    suno = AsyncSuno(fake.api_key, base_url=fake.url, retry=FAST_RETRY, max_paid_in_flight=1)
    outcomes: list[object] = []

    async def call() -> None:
        try:
            outcomes.append(await suno.submit_generate(REQUEST))
        except SessionClosedError as exc:
            outcomes.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await until(lambda: fake.requests[GENERATE] == 1)
        group.start_soon(call)
        await anyio.sleep(0.02)
        await suno.aclose()
    assert len(outcomes) == 2
    assert isinstance(outcomes[1], SessionClosedError)
    assert "before this call was sent" in str(outcomes[1])
    assert fake.requests[GENERATE] == 1
    assert suno._transport._session is None
    assert suno._transport._paid_session is None
