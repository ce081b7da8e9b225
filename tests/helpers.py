"""
What the tests share: one key, fast policies, endpoint names, waits, loopback servers and the
API's envelope, plus plain-aiohttp calls for the fake server's own tests.

Fixtures live in ``conftest.py``, which imports from here. Two modules stay apart because
they are other jobs: ``cli_harness.py`` runs the command as a subprocess (on a pseudo-terminal
too) against a fake server on a thread of its own, and ``bulk_child.py`` is a script that the
crash tests start and kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import socket
import ssl
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import attrs
from aiohttp import web

import suno_async
from suno_async import (
    AsyncSuno,
    GenerateRequest,
    PollPolicy,
    RetryPolicy,
    Song,
    TaskHandle,
    TaskKind,
)
from suno_async.testing import FakeSunoServer, TaskPlan

#: A key that looks real and appears nowhere else, so any leak of it is unmistakable.
KEY = "sk-live-0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
#: The header a raw aiohttp session sends to be let in with ``KEY``.
AUTH = {"Authorization": f"Bearer {KEY}"}
ROOT = Path(__file__).resolve().parents[1]

#: The fake server's dialects every reading, waiting, bulk and download test runs against.
DIALECTS: tuple[str, ...] = ("live", "reference")
#: The dialect of a test that makes its own server rather than taking the fixture's.
DIALECT = DIALECTS[0]
#: The extension of the fake's song audio in each dialect: the live service serves m4a.
AUDIO_EXT = {"live": "m4a", "reference": "mp3"}


def unsigned(url: str | None) -> str:
    """A media URL without its signed ``expires=``/``token=`` query, to compare by path."""
    assert url is not None
    return url.partition("?")[0]


#: Poll every 20 ms from the first moment: the fake clock runs fast, so waits are short.
FAST_POLL = PollPolicy(interval=0.02, first_poll=dict.fromkeys(TaskKind, 0.0))
#: Retries with millisecond backoff, so fault tests stay quick.
FAST_RETRY = RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.02, wait_jitter=0.0)
#: One try only: the test, not the transport, decides what happens next.
NO_RETRY = RetryPolicy(attempts=1)

#: The fake server's request counters, by ``"METHOD /path"``.
BALANCE = "GET /points/balance"
GENERATE = "POST /music/generate"
BATCH = "GET /music/tasks"
SINGLE = "GET /music/task"


#: Opens one more session on the fake; see the ``open_suno`` fixture.
OpenSuno = Callable[..., Awaitable[AsyncSuno]]


def fast(**changes: Any) -> PollPolicy:
    """FAST_POLL with some fields changed."""
    return attrs.evolve(FAST_POLL, **changes)


def song_requests(count: int, prefix: str = "song") -> list[GenerateRequest]:
    """``count`` distinct requests for a bulk run; the same arguments give the same list."""
    return [
        GenerateRequest(model="chirp-v4", title=f"{prefix} {i}", description=f"a tune {i}")
        for i in range(count)
    ]


# --- waiting --------------------------------------------------------------------------------


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Return as soon as ``predicate()`` holds, checking every few ms; fail after ``timeout``."""
    with anyio.fail_after(timeout):
        while True:
            if predicate():
                return
            await anyio.sleep(0.002)


class ManualTimer:
    """A timer of :class:`ManualClock`: called once when the clock passes it, unless cancelled."""

    __slots__ = ("_callback", "cancelled")

    def __init__(self, callback: Callable[[], object]) -> None:
        self._callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self._callback()


class ManualClock:
    """
    A clock for the watcher that stands still until a test moves it, so a test can show a
    deadline is kept, not raced: nothing before it, done just after.

    ``await advance(seconds)`` fires each timer that falls due, in order, with ``now()`` at
    the timer's own time, and after each one waits (in real time, with a hang guard) until
    ``settled()`` holds, so the watcher acts on one deadline before the next comes. Real
    HTTP still runs on the real loop meanwhile. See :func:`manual_clock`.
    """

    def __init__(self, settled: Callable[[], bool] = lambda: True, *, start: float = 1_000.0):
        self._now = start
        self._wall_offset = time.time() - start
        self._timers: list[tuple[float, int, ManualTimer]] = []
        self._order = itertools.count()
        self._settled = settled

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self._wall_offset

    def call_at(self, when: float, callback: Callable[[], object]) -> ManualTimer:
        timer = ManualTimer(callback)
        heapq.heappush(self._timers, (when, next(self._order), timer))
        return timer

    def pending(self) -> list[float]:
        """When each timer not yet fired nor cancelled is due, soonest first."""
        return sorted(when for when, _, timer in self._timers if not timer.cancelled)

    async def advance(self, seconds: float) -> None:
        """Move ``seconds`` on, firing what falls due on the way; never backwards."""
        assert seconds >= 0
        target = self._now + seconds
        timers = self._timers
        while True:
            await until(self._settled)
            while timers and timers[0][2].cancelled:
                heapq.heappop(timers)
            if not timers or timers[0][0] > target:
                break
            when, _, timer = heapq.heappop(timers)
            self._now = max(self._now, when)
            timer.fire()
        self._now = target


class Outcome:
    """What a call run in the background returned or raised; ``done`` is set once it ended."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.value: Any = None
        self.error: Exception | None = None

    async def run(self, fn: Callable[[], Awaitable[Any]]) -> None:
        try:
            self.value = await fn()
        except Exception as exc:
            self.error = exc
        finally:
            self.done.set()

    async def ended(self, timeout: float = 5.0) -> Any:
        """Its value once it has ended (its error raised), failing after ``timeout``."""
        with anyio.fail_after(timeout):
            await self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


def manual_clock(suno: AsyncSuno) -> ManualClock:
    """
    Give the session's watcher a :class:`ManualClock` (before its first wait): its ticks,
    pauses, backoffs, stall checks, first polls and wait timeouts then move only by
    ``advance``, which lets each tick finish (its queries back) before the next timer fires.
    """
    watcher = suno.watcher
    assert watcher.stats.ticks == 0, "a watcher's clock is set before its first wait"

    def settled() -> bool:
        return watcher.sleeping or not (watcher.running or watcher.outstanding())

    clock = ManualClock(settled)
    watcher.clock = clock
    return clock


async def ticks_pass(suno: AsyncSuno, count: int) -> None:
    """Return once ``count`` more poll ticks have started."""
    target = suno.stats.ticks + count
    await until(lambda: suno.stats.ticks >= target)


async def start_songs(suno: AsyncSuno, count: int) -> list[TaskHandle[Song]]:
    """Start ``count`` song tasks with concurrent generate calls, in task id order."""
    handles: list[TaskHandle[Song]] = []

    async def generate() -> None:
        handles.extend(await suno.generate(title="Batch", description="a cheerful pop song"))

    async with anyio.create_task_group() as group:
        for _ in range((count + 1) // 2):
            group.start_soon(generate)
    handles.sort(key=lambda handle: handle.task_id)
    return handles[:count]


_SDK_DIR = Path(suno_async.__file__).resolve().parent


def sdk_tasks() -> list[asyncio.Task[Any]]:
    """The asyncio tasks now running code of the SDK (the fake server's own excluded)."""
    found = []
    for task in asyncio.all_tasks():
        if task is asyncio.current_task():
            continue
        for frame in task.get_stack():
            path = Path(frame.f_code.co_filename).resolve()
            if path.is_relative_to(_SDK_DIR) and not path.is_relative_to(_SDK_DIR / "testing"):
                found.append(task)
                break
    return found


# --- tiny loopback servers ----------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def envelope(data: object) -> str:
    """The API's successful envelope around ``data``."""
    return json.dumps({"code": 200, "message": "ok", "data": data, "success": True})


def ok(data: object) -> web.Response:
    """A successful answer carrying ``data``."""
    return web.Response(text=envelope(data), content_type="application/json")


def free_port() -> int:
    """A loopback port nothing listens on (for now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def serving(
    app: web.Application,
    *,
    ssl_context: ssl.SSLContext | None = None,
    keepalive_timeout: float = 75.0,
) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 on a free port; yield its origin (``http://127.0.0.1:PORT``)."""
    runner = web.AppRunner(
        app,
        keepalive_timeout=keepalive_timeout,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=0.1,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        scheme = "https" if ssl_context is not None else "http"
        yield f"{scheme}://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def _coroutine(handler: Handler) -> Handler:
    """aiohttp takes coroutine functions only; a counting object's __call__ is not one."""

    async def route(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    return route


@contextlib.asynccontextmanager
async def serve(
    routes: Mapping[str, Handler],
    *,
    ssl_context: ssl.SSLContext | None = None,
    keepalive_timeout: float = 75.0,
) -> AsyncIterator[str]:
    """
    Serve ``{"GET /points/balance": handler, ...}`` under ``/api/v1`` on 127.0.0.1; yield
    the base URL. Any other path answers 404.
    """
    app = web.Application()
    for key, handler in routes.items():
        method, _, path = key.partition(" ")
        app.router.add_route(method, "/api/v1" + path, _coroutine(handler))
    async with serving(app, ssl_context=ssl_context, keepalive_timeout=keepalive_timeout) as url:
        yield url + "/api/v1"


def balance(suno: AsyncSuno) -> Awaitable[object]:
    return suno.balance()


def generate(suno: AsyncSuno) -> Awaitable[object]:
    return suno.generate(title="t", description="a song")


#: One free call and one paid call, each with its counter's name, for transport tests.
CALLS: list[tuple[str, Callable[[AsyncSuno], Awaitable[object]]]] = [
    (BALANCE, balance),
    (GENERATE, generate),
]


class Counter:
    """A handler that counts its requests and answers with ``respond``."""

    def __init__(self, respond: Handler) -> None:
        self.count = 0
        self._respond = respond

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        self.count += 1
        return await self._respond(request)


async def trickle(request: web.Request) -> web.StreamResponse:
    """A valid answer, one byte every 20 ms: no gap ever reaches a read timeout."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        for byte in envelope([1, 2]).encode():
            await response.write(bytes([byte]))
            await asyncio.sleep(0.02)
    except (ConnectionError, asyncio.CancelledError):
        pass
    return response


def rendered(error: BaseException) -> str:
    """The error's whole chain as an error tracker renders it: tracebacks with their locals."""
    parts = list(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    current: BaseException | None = error
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(vars(current))]
        current = current.__cause__ or current.__context__
    return "".join(parts)


# --- raw HTTP to the fake server (its own tests must not lean on the SDK) -------------------

CUSTOM = {"prompt": "[Verse]\n最近的风", "tags": "pop", "title": "夏夜", "mv": "chirp-v4"}


async def call(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """One request; the status and the decoded JSON body."""
    async with session.request(method, url, **kwargs) as response:
        return response.status, await response.json()


async def post(
    session: aiohttp.ClientSession, server: FakeSunoServer, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A POST to the API that must succeed."""
    status, payload = await call(session, "POST", server.url + path, json=body)
    assert status == 200, payload
    return payload


async def row(session: aiohttp.ClientSession, server: FakeSunoServer, task_id: int) -> Any:
    """The single task query's ``data`` for one id."""
    status, payload = await call(session, "GET", f"{server.url}/music/task", params={"id": task_id})
    assert status == 200, payload
    return payload["data"]


async def done_song(session: aiohttp.ClientSession, server: FakeSunoServer) -> tuple[int, str]:
    """Generate a pair that completes at once and return the first task id and its clip."""
    server.plans.extend([TaskPlan(), TaskPlan()])
    ids = (await post(session, server, "/music/generate", CUSTOM))["data"]
    return ids[0], str((await row(session, server, ids[0]))["custom_id"])
