"""Every wait ends: unknown ids, stuck tasks, huge Retry-After, slow answers, another loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp import web

from helpers import (
    NO_RETRY,
    ManualClock,
    Outcome,
    envelope,
    fast,
    manual_clock,
    ok,
    serving,
    until,
)
from suno_async import (
    AsyncSuno,
    NotFoundError,
    PollPolicy,
    ServerError,
    SunoError,
    Task,
    TaskStalledError,
    TaskStatus,
    UndecodableResponseError,
    WaitTimeoutError,
)

pytestmark = pytest.mark.anyio

#: What the reseller answers, in an HTTP 200, for a task id it does not know.
UNKNOWN_TASK = {"code": 500, "message": "任务不存在", "data": None, "success": False}


def row(task_id: int, status: int = 3) -> dict[str, Any]:
    return {
        "id": task_id,
        "status": status,
        "custom_id": None,
        "fileInfo": None,
        "errormsg": None,
        "errormsgEn": None,
        "extend": None,
    }


Handler = Callable[[web.Request, list[int]], Awaitable[web.StreamResponse]]


class OddServer:
    """
    A tiny service on loopback whose batch and single answers each test writes itself.

    ``batch(request, ids)`` answers ``GET /music/tasks``; ``single(request, [id])`` answers
    ``GET /music/task``. Every query's ids are kept in ``asked``.
    """

    def __init__(self, batch: Handler, single: Handler | None = None) -> None:
        self.batch = batch
        self.single = single or batch
        self.asked: list[tuple[str, list[int]]] = []
        self.url = ""

    async def _tasks(self, request: web.Request) -> web.StreamResponse:
        ids = [int(piece) for piece in request.query["ids"].split(",")]
        self.asked.append(("batch", ids))
        return await self.batch(request, ids)

    async def _task(self, request: web.Request) -> web.StreamResponse:
        ids = [int(request.query["id"])]
        self.asked.append(("single", ids))
        return await self.single(request, ids)

    def count(self, kind: str) -> int:
        return sum(1 for asked_kind, _ in self.asked if asked_kind == kind)

    async def __aenter__(self) -> OddServer:
        app = web.Application()
        app.router.add_get("/api/v1/music/tasks", self._tasks)
        app.router.add_get("/api/v1/music/task", self._task)
        self._stack = contextlib.AsyncExitStack()
        self.url = await self._stack.enter_async_context(serving(app)) + "/api/v1"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()


async def rows_of_known(known: set[int], ids: list[int], status: int = 3) -> web.Response:
    """A batch page of the known ids, or the reseller's 任务不存在 if any id is unknown."""
    if any(task_id not in known for task_id in ids):
        return web.json_response(UNKNOWN_TASK)
    return ok({"rows": [row(task_id, status) for task_id in ids], "total": len(ids)})


@contextlib.asynccontextmanager
async def session(server: OddServer, poll: PollPolicy) -> AsyncIterator[AsyncSuno]:
    """A session on ``server`` that polls by ``poll`` and retries nothing itself."""
    async with AsyncSuno(
        "k", base_url=server.url, poll=poll, rate_limit=None, retry=NO_RETRY
    ) as suno:
        yield suno


# --- unknown ids --------------------------------------------------------------------------


async def test_one_unknown_id_holds_back_no_other_id_of_its_batch() -> None:
    """A batch refused for one unknown id is split until that id stands alone; the rest resolve."""
    known = set(range(1, 13))

    async def batch(_: web.Request, ids: list[int]) -> web.Response:
        return await rows_of_known(known, ids)

    async with OddServer(batch) as server, session(server, fast()) as suno:
        with anyio.fail_after(5):
            results = await suno.wait([*sorted(known), 99], return_exceptions=True)
    tasks, (unknown,) = results[:-1], results[-1:]
    assert [task.id for task in tasks if isinstance(task, Task)] == sorted(known)
    assert isinstance(unknown, NotFoundError)
    assert "task 99 is unknown to the service" in str(unknown)
    assert unknown.task_id == 99
    # Halving 13 ids takes at most 2 * ceil(log2(13)) queries, then one single query.
    assert server.count("batch") <= 1 + 2 * 4
    assert server.asked[-1] == ("single", [99])


async def test_a_lone_id_refused_again_and_again_ends_with_the_last_error() -> None:
    """An id the service keeps refusing on its own ends after max_failures, not never."""

    async def refuse(_: web.Request, ids: list[int]) -> web.Response:
        return web.json_response({"code": 500, "message": "系统繁忙", "success": False})

    async with OddServer(refuse) as server:
        policy = fast(max_failures=3, max_backoff=0.05)
        async with session(server, policy) as suno:
            with anyio.fail_after(5), pytest.raises(ServerError) as info:
                await suno.watch(7)
            assert suno.watcher.outstanding() == []
    assert (info.value.api_message, info.value.task_id) == ("系统繁忙", 7)
    # One batch query traces the refusal to the id; then three single queries end it.
    assert [kind for kind, _ in server.asked] == ["batch", "single", "single", "single"]


async def test_an_outage_is_no_id_s_fault_and_ends_no_wait_by_itself() -> None:
    """HTTP 5xx answers back off without counting against any id, however many they are."""
    failures = 6

    async def flaky(_: web.Request, ids: list[int]) -> web.Response:
        if len(server.asked) <= failures:
            return web.json_response({"code": 502, "message": "bad gateway"}, status=502)
        return ok({"rows": [row(task_id) for task_id in ids], "total": len(ids)})

    server = OddServer(flaky)
    async with server, session(server, fast(max_failures=2, max_backoff=0.02)) as suno:
        with anyio.fail_after(5):
            (task,) = await suno.wait([5])
    assert task.id == 5
    assert suno.stats.poll_errors == failures
    assert server.count("single") == 0


async def test_a_single_answer_about_another_task_is_no_answer() -> None:
    """A row for another id, from the single query, never resolves the id asked about."""

    async def left_out(_: web.Request, ids: list[int]) -> web.Response:
        return ok({"rows": [], "total": 0})

    async def another(_: web.Request, ids: list[int]) -> web.Response:
        return ok(row(99, status=3))

    async with (
        OddServer(left_out, another) as server,
        session(server, fast(stall_timeout=0.3)) as suno,
    ):
        with anyio.fail_after(5), pytest.raises(TaskStalledError):
            await suno.watch(3)
        assert server.count("single") >= 1


async def test_a_row_the_service_keeps_sending_unreadable_ends_the_wait() -> None:
    """Its own row unreadable, asked alone: the wait ends with that at its second reading."""

    async def left_out(_: web.Request, ids: list[int]) -> web.Response:
        return ok({"rows": [], "total": 0})

    async def garbled(_: web.Request, ids: list[int]) -> web.Response:
        return ok(row(ids[0], status=99))

    async with (
        OddServer(left_out, garbled) as server,
        session(server, fast(max_failures=3, max_backoff=0.05, stall_timeout=None)) as suno,
    ):
        with anyio.fail_after(5), pytest.raises(UndecodableResponseError, match="task 3"):
            await suno.watch(3)
        assert suno.watcher.outstanding() == []
    assert server.count("single") == 2


# --- tasks that never finish --------------------------------------------------------------


async def test_a_task_generating_forever_ends_with_task_stalled_error() -> None:
    """
    A task whose status never changes ends with a typed error after stall_timeout, and
    within about twice it (progress is looked for once per stall_timeout), polled all along.
    """

    async def generating(_: web.Request, ids: list[int]) -> web.Response:
        return ok({"rows": [row(task_id, status=2) for task_id in ids], "total": len(ids)})

    async with OddServer(generating) as server, session(server, fast(stall_timeout=0.3)) as suno:
        clock = manual_clock(suno)
        watched = Outcome()
        async with anyio.create_task_group() as group:
            group.start_soon(watched.run, partial(suno.watch, 3))
            await until(lambda: suno.watcher.outstanding() == [3])
            await clock.advance(0.29)
            assert not watched.done.is_set()
            assert server.count("batch") >= 14  # a tick every 0.02 s
            await clock.advance(0.4)
            with pytest.raises(TaskStalledError) as info:
                await watched.ended()
        assert suno.watcher.outstanding() == []
    error = info.value
    assert isinstance(error, WaitTimeoutError)  # code catching timeouts catches this too
    assert (error.task_id, error.last_status, error.pending) == (3, TaskStatus.GENERATING, (3,))
    assert "no progress for 0.3s (still generating)" in str(error)
    assert "get_task(3)" in str(error)


async def test_a_task_that_keeps_changing_status_is_not_stalled() -> None:
    """
    Progress restarts the stall clock: a task that takes longer than stall_timeout, each
    status shorter, is waited for.
    """
    steps = iter([1] * 10 + [2] * 10 + [3] * 100)  # a tick each: 0.2 s, 0.2 s, done

    async def moving(_: web.Request, ids: list[int]) -> web.Response:
        return ok({"rows": [row(task_id, next(steps)) for task_id in ids], "total": len(ids)})

    async with OddServer(moving) as server, session(server, fast(stall_timeout=0.25)) as suno:
        clock = manual_clock(suno)
        waited = Outcome()
        async with anyio.create_task_group() as group:
            group.start_soon(waited.run, partial(suno.wait, [4]))
            await until(lambda: suno.watcher.outstanding() == [4])
            await clock.advance(1.0)
            (task,) = await waited.ended()
    assert task.status is TaskStatus.SUCCEEDED
    assert server.count("batch") == 21


# --- pauses and slow answers --------------------------------------------------------------


@pytest.mark.parametrize(
    "retry_after", ["1e9", "inf", "Fri, 31 Dec 9999 23:59:59 GMT"], ids=["1e9", "inf", "9999"]
)
async def test_a_huge_retry_after_pauses_polling_no_longer_than_max_pause(
    retry_after: str,
) -> None:
    """A 429 asking for a pause of years is waited out for max_pause, then polling goes on."""

    async def limited(_: web.Request, ids: list[int]) -> web.Response:
        if len(server.asked) == 1:
            body = {"code": 429, "message": "too many requests", "success": False}
            return web.json_response(body, status=429, headers={"Retry-After": retry_after})
        return ok({"rows": [row(task_id) for task_id in ids], "total": len(ids)})

    server = OddServer(limited)
    async with server, session(server, fast(max_pause=0.2)) as suno:
        clock = manual_clock(suno)
        waited = Outcome()
        async with anyio.create_task_group() as group:
            group.start_soon(waited.run, partial(suno.wait, [8]))
            await until(lambda: suno.stats.poll_errors == 1)
            await clock.advance(0.19)
            assert server.count("batch") == 1
            await clock.advance(0.02)
            (task,) = await waited.ended()
    assert task.id == 8
    assert server.count("batch") == 2


async def test_a_trickled_answer_holds_up_no_other_wait() -> None:
    """
    The loop waits on a tick's queries for a second at most (or an interval, if longer): a
    batch answer sent a few bytes at a time holds up no other id, and is cut at poll_timeout.
    """
    trickled: list[int] = []
    trickling = anyio.Event()

    async def batch(request: web.Request, ids: list[int]) -> web.StreamResponse:
        body = envelope({"rows": [row(task_id) for task_id in ids]}).encode()
        if 1 not in ids or trickled:
            return web.Response(body=body, content_type="application/json")
        trickled.append(1)
        trickling.set()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        for index in range(len(body)):
            await response.write(body[index : index + 1])
            await asyncio.sleep(0.2)
        return response

    async with OddServer(batch) as server:
        # poll_timeout is the HTTP request's own deadline, in real time: the test must reach
        # id 2's answer within it, a matter of milliseconds.
        policy = fast(poll_timeout=1.5)
        async with session(server, policy) as suno:
            # No settling between timers: the tick's wait on the trickled query is the one
            # timer under test.
            clock = ManualClock()
            suno.watcher.clock = clock
            first, second = Outcome(), Outcome()
            with anyio.fail_after(10):
                async with anyio.create_task_group() as group:
                    group.start_soon(first.run, partial(suno.wait, [1]))
                    await trickling.wait()
                    group.start_soon(second.run, partial(suno.wait, [2]))
                    await until(lambda: len(suno.watcher.outstanding()) == 2)
                    await clock.advance(0.99)
                    assert server.asked == [("batch", [1])]
                    await clock.advance(0.02)
                    await second.ended()
                    assert not first.done.is_set()
                    await until(lambda: suno.stats.poll_errors == 1)  # cut at poll_timeout
                    await clock.advance(0.05)  # its backoff
                    await first.ended()
    assert server.asked == [("batch", [1]), ("batch", [2]), ("batch", [1])]


# --- one session, two event loops ----------------------------------------------------------


def test_a_session_used_under_a_second_event_loop_says_so_instead_of_hanging() -> None:
    """A session first used under one loop raises a SunoError under another, at once."""

    async def batch(_: web.Request, ids: list[int]) -> web.Response:
        return ok({"rows": [row(task_id) for task_id in ids], "total": len(ids)})

    holder: dict[str, Any] = {}

    async def first() -> None:
        server = OddServer(batch)
        await server.__aenter__()
        holder["server"] = server
        http = aiohttp.ClientSession()
        suno = AsyncSuno(
            "k", base_url=server.url, poll=fast(), rate_limit=None, retry=NO_RETRY, session=http
        )
        holder["suno"] = suno
        assert [task.id for task in await suno.wait([1])] == [1]
        await http.close()
        await server.__aexit__()

    async def second() -> None:
        suno: AsyncSuno = holder["suno"]
        with pytest.raises(SunoError, match="another event loop"):
            await asyncio.wait_for(suno.wait([2]), timeout=5)
        assert not suno.watcher.running

    asyncio.run(first())
    asyncio.run(second())


# --- logs -------------------------------------------------------------------------------


async def test_retried_poll_failures_log_info_and_one_warning_per_streak(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each failed poll is an INFO line; a streak of five gives one WARNING; none contradicts."""
    failures = 7

    async def flaky(_: web.Request, ids: list[int]) -> web.Response:
        if len(server.asked) <= failures:
            body = {"code": 500, "message": "internal error", "success": False}
            return web.json_response(body, status=500)
        return ok({"rows": [row(task_id) for task_id in ids], "total": len(ids)})

    caplog.set_level(logging.INFO, logger="suno_async")
    server = OddServer(flaky)
    async with server, session(server, fast(max_backoff=0.02)) as suno:
        with anyio.fail_after(5):
            await suno.wait([6])
    records = [r for r in caplog.records if r.name == "suno_async.watcher"]
    warnings = [r for r in records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "failed 5 times in a row" in warnings[0].getMessage()
    failed = [r for r in records if "failed" in r.getMessage()]
    assert len(failed) == failures
    assert "answer again after 7 failures" in records[-1].getMessage()
    for record in records:
        text = record.getMessage()
        assert "exhausted" not in text
        assert "retrying" not in text
