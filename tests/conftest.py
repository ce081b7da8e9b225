"""Fixtures: a fake server on loopback with a fast clock, and sessions pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import settings

from suno_async import AsyncSuno, PollPolicy, RetryPolicy, TaskKind
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
