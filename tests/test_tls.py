"""TLS on a local HTTPS server with a test CA: verified by default, a caller's context honoured."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
import trustme
from aiohttp import web

from helpers import DIALECT, FAST_POLL, FAST_RETRY, KEY, ok, serve
from suno_async import AsyncSuno, NetworkError, TLSError

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts the test CA (and nothing else)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(context)
    return context


class Balance:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, _: web.Request) -> web.Response:
        self.count += 1
        return ok({"remaining_points": 42})


@pytest.fixture
def handler() -> Balance:
    return Balance()


@pytest.fixture
async def https_url(ca: trustme.CA, handler: Balance) -> AsyncIterator[str]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    async with serve({"GET /points/balance": handler}, ssl_context=server_context) as url:
        yield url


async def test_an_untrusted_certificate_is_refused(https_url: str, handler: Balance) -> None:
    """Verification is on by default: an unknown CA gives TLSError, nothing sent, no retry."""
    async with AsyncSuno(KEY, base_url=https_url, retry=FAST_RETRY) as suno:
        with pytest.raises(TLSError) as caught:
            await suno.balance()
    error = caught.value
    assert isinstance(error, NetworkError)
    assert error.may_have_charged is False
    assert "nothing was sent" in str(error)
    assert "AsyncSuno(ssl=" in str(error)
    assert error.request is not None
    assert error.request.attempts == 1  # the same certificate would be refused again
    assert handler.count == 0


async def test_a_callers_ssl_context_is_honoured(
    https_url: str, handler: Balance, trusting: ssl.SSLContext
) -> None:
    """AsyncSuno(ssl=context) trusts what the context trusts, for free and paid calls alike."""
    async with AsyncSuno(KEY, base_url=https_url, ssl=trusting) as suno:
        assert (await suno.balance()).remaining_points == 42
    assert handler.count == 1


async def test_a_callers_session_connector_context_is_honoured(
    https_url: str, handler: Balance, trusting: ssl.SSLContext
) -> None:
    """A session passed in keeps its connector's TLS settings."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusting)) as session:
        suno = AsyncSuno(KEY, base_url=https_url, session=session)
        assert (await suno.balance()).remaining_points == 42
        await suno.aclose()
        assert not session.closed  # the caller's session stays the caller's
    assert handler.count == 1


async def test_songs_generated_and_awaited_over_https_on_the_fake(
    ca: trustme.CA, trusting: ssl.SSLContext
) -> None:
    """The fake server over HTTPS: a paid call and its wait go through the caller's context."""
    from suno_async.testing import FakeSunoServer

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    async with FakeSunoServer(
        dialect=DIALECT,
        api_key=KEY,
        speed=1000.0,
        generating_s=(1.0, 2.0),
        ssl_context=server_context,
    ) as fake:
        assert fake.url.startswith("https://")
        async with AsyncSuno(KEY, base_url=fake.url, retry=FAST_RETRY) as refused:
            with pytest.raises(TLSError):
                await refused.generate(title="t", description="d")
        assert fake.points == 10_000
        async with AsyncSuno(
            KEY, base_url=fake.url, ssl=trusting, retry=FAST_RETRY, poll=FAST_POLL
        ) as suno:
            songs = await suno.wait(await suno.generate(title="t", description="d"))
    assert len(songs) == 2
    assert fake.points == 10_000 - 36
