"""Fixtures: a fake server on loopback with a fast clock, and sessions pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
from hypothesis import settings

import fake_http
import suno_async
from suno_async import AsyncSuno, PollPolicy, RetryPolicy, Song, TaskHandle, TaskKind
from suno_async.testing import FakeSunoServer

settings.register_profile("ci", max_examples=50, deadline=None)
settings.load_profile("ci")

#: Poll every 20 ms from the first moment: the fake clock runs fast, so waits are short.
FAST_POLL = PollPolicy(interval=0.02, first_poll=dict.fromkeys(TaskKind, 0.0))
#: Retries with millisecond backoff, so fault tests stay quick.
FAST_RETRY = RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.02, wait_jitter=0.0)


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs on asyncio only."""
    return "asyncio"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSunoServer]:
    """A fake server whose tasks finish within about a tenth of a real second."""
    async with FakeSunoServer(
        speed=1000.0, queued_s=(0.0, 10.0), generating_s=(30.0, 90.0), seed=7
    ) as server:
        yield server


@pytest.fixture
async def suno(fake: FakeSunoServer) -> AsyncIterator[AsyncSuno]:
    """A session on the fake server, polling fast and retrying fast."""
    async with AsyncSuno(
        fake.api_key, base_url=fake.url, poll=FAST_POLL, retry=FAST_RETRY
    ) as client:
        yield client


#: Opens one more session on the fake; see the ``open_suno`` fixture.
OpenSuno = Callable[..., Awaitable[AsyncSuno]]


@pytest.fixture
async def open_suno(fake: FakeSunoServer) -> AsyncIterator[OpenSuno]:
    """A factory of sessions on the fake (own poll policy, key, ...), all closed at teardown."""
    async with contextlib.AsyncExitStack() as stack:

        async def open_session(
            *, api_key: str | None = None, poll: PollPolicy = FAST_POLL, **kwargs: Any
        ) -> AsyncSuno:
            kwargs.setdefault("retry", FAST_RETRY)
            client = AsyncSuno(api_key or fake.api_key, base_url=fake.url, poll=poll, **kwargs)
            return await stack.enter_async_context(client)

        yield open_session


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Return as soon as ``predicate()`` holds, checking every few ms; fail after ``timeout``."""
    with anyio.fail_after(timeout):
        while True:
            if predicate():
                return
            await anyio.sleep(0.002)


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


@pytest.fixture
async def server() -> AsyncIterator[FakeSunoServer]:
    """A fake server on a stopped clock, for its own tests over raw HTTP (see fake_http)."""
    async with FakeSunoServer(api_key=fake_http.KEY, speed=0.0, seed=1) as fake:
        yield fake


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """A raw aiohttp session that sends the fake server's key, for those same tests."""
    async with aiohttp.ClientSession(headers=fake_http.AUTH) as session:
        yield session
