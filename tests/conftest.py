"""Fixtures: a fake server on loopback with a fast clock, and sessions pointed at it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import settings

from helpers import AUTH, DIALECTS, FAST_POLL, FAST_RETRY, KEY, OpenSuno
from suno_async import AsyncSuno, PollPolicy
from suno_async.testing import FakeSunoServer

settings.register_profile("ci", max_examples=50, deadline=None)
settings.load_profile("ci")


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs on asyncio only."""
    return "asyncio"


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    """The dialect the fake server speaks: each test that takes it runs once per dialect."""
    return str(request.param)


@pytest.fixture
async def fake(dialect: str) -> AsyncIterator[FakeSunoServer]:
    """A fake server whose tasks finish within about a tenth of a real second."""
    async with FakeSunoServer(
        speed=1000.0, queued_s=(0.0, 10.0), generating_s=(30.0, 90.0), seed=7, dialect=dialect
    ) as server:
        yield server


@pytest.fixture
async def suno(fake: FakeSunoServer) -> AsyncIterator[AsyncSuno]:
    """A session on the fake server, polling fast and retrying fast, with no request budget."""
    async with AsyncSuno(
        fake.api_key, base_url=fake.url, poll=FAST_POLL, retry=FAST_RETRY, rate_limit=None
    ) as client:
        yield client


@pytest.fixture
async def open_suno(fake: FakeSunoServer) -> AsyncIterator[OpenSuno]:
    """A factory of sessions on the fake (own poll policy, key, ...), all closed at teardown."""
    async with contextlib.AsyncExitStack() as stack:

        async def open_session(
            *, api_key: str | None = None, poll: PollPolicy = FAST_POLL, **kwargs: Any
        ) -> AsyncSuno:
            kwargs.setdefault("retry", FAST_RETRY)
            # Tests poll every 20 ms; a test of the budget passes one.
            kwargs.setdefault("rate_limit", None)
            client = AsyncSuno(api_key or fake.api_key, base_url=fake.url, poll=poll, **kwargs)
            return await stack.enter_async_context(client)

        yield open_session


@pytest.fixture
async def server() -> AsyncIterator[FakeSunoServer]:
    """A fake server on a stopped clock, speaking the page's dialect, for its own tests over
    raw HTTP (see helpers); ``live_server`` speaks the live one."""
    async with FakeSunoServer(api_key=KEY, speed=0.0, seed=1, dialect="reference") as fake:
        yield fake


@pytest.fixture
async def live_server() -> AsyncIterator[FakeSunoServer]:
    """The same stopped-clock server, answering in the live dialect."""
    async with FakeSunoServer(api_key=KEY, speed=0.0, seed=1, dialect="live") as fake:
        yield fake


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """A raw aiohttp session that sends the fake server's key, for those same tests."""
    async with aiohttp.ClientSession(headers=AUTH) as session:
        yield session
