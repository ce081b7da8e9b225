"""Proxies: the one given, else the environment's, for API calls and downloads alike."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import attrs
import pytest
from aiohttp import web
from yarl import URL

from helpers import FAST_POLL, NO_RETRY, serving
from suno_async import AsyncSuno, ConfigurationError, NetworkError, Timeouts
from suno_async._proxy import ProxyChoice
from suno_async.testing import FakeSunoServer, TaskPlan

pytestmark = pytest.mark.anyio

#: A name that never resolves (RFC 2606): reached only through a proxy that maps it.
UNRESOLVABLE = "suno.test"


@attrs.define
class ForwardProxy:
    """A plain HTTP forward proxy that sends every request for any host to one upstream."""

    upstream: str
    seen: list[tuple[str, str, str | None]] = attrs.Factory(list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, str(request.url), request.headers.get("Authorization")))
        target = URL(self.upstream).with_path(request.path).with_query(request.query)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in {"host", "proxy-connection", "connection"}
        }
        body = await request.read()
        async with (
            aiohttp.ClientSession(trust_env=False) as session,
            session.request(
                request.method, target, headers=headers, data=body, allow_redirects=False
            ) as answer,
        ):
            content = await answer.read()
            kept = {
                k: v
                for k, v in answer.headers.items()
                if k.lower() not in {"transfer-encoding", "content-encoding", "connection"}
            }
            return web.Response(status=answer.status, body=content, headers=kept)


@contextlib.asynccontextmanager
async def forward_proxy(upstream: str) -> AsyncIterator[tuple[str, ForwardProxy]]:
    proxy = ForwardProxy(upstream)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    async with serving(app) as origin:
        yield origin, proxy


def _through_proxy(fake: FakeSunoServer) -> str:
    return str(URL(fake.url).with_host(UNRESOLVABLE))


async def test_a_given_proxy_carries_api_calls_and_downloads(
    fake: FakeSunoServer, tmp_path: Path
) -> None:
    """``proxy=`` sends every request through it: a host only the proxy knows is reached."""
    fake.plans.extend([TaskPlan(), TaskPlan()])
    async with (
        forward_proxy(fake.origin) as (origin, proxy),
        AsyncSuno(
            fake.api_key,
            base_url=_through_proxy(fake),
            allow_insecure_http=True,
            poll=FAST_POLL,
            proxy=origin,
        ) as suno,
    ):
        song, _ = await suno.wait(await suno.generate(title="t", description="pop"))
        path = await suno.download(song, tmp_path)
    assert path.stat().st_size > 0
    api = [seen for seen in proxy.seen if "/api/v1/" in seen[1]]
    media = [seen for seen in proxy.seen if "/media/" in seen[1]]
    assert api
    assert all(URL(url).host == UNRESOLVABLE for _, url, _ in api)
    assert {auth for _, _, auth in api} == {f"Bearer {fake.api_key}"}
    assert [auth for _, _, auth in media] == [None]
    assert fake.requests["GET /media"] == 1


async def test_the_environment_proxy_is_honoured_and_no_proxy_goes_direct(
    fake: FakeSunoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """HTTP_PROXY is followed; a host in NO_PROXY goes direct (and here cannot resolve)."""
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {UNRESOLVABLE} login someone password hunter2\n")
    monkeypatch.setenv("NETRC", str(netrc))
    async with forward_proxy(fake.origin) as (origin, proxy):
        monkeypatch.setenv("HTTP_PROXY", origin)
        async with AsyncSuno(
            fake.api_key, base_url=_through_proxy(fake), allow_insecure_http=True
        ) as suno:
            assert (await suno.balance()).remaining_points == fake.points
        assert [auth for _, _, auth in proxy.seen] == [f"Bearer {fake.api_key}"]
        monkeypatch.setenv("NO_PROXY", f"example.org, .{UNRESOLVABLE.split('.')[1]}")
        async with AsyncSuno(
            fake.api_key,
            base_url=_through_proxy(fake),
            allow_insecure_http=True,
            timeouts=Timeouts(connect=5.0, total=10.0),
            retry=NO_RETRY,
        ) as direct:
            with pytest.raises(NetworkError):
                await direct.balance()
        assert len(proxy.seen) == 1


async def test_trust_env_false_ignores_the_environment_and_loopback_is_direct(
    fake: FakeSunoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy variable never catches loopback, and ``trust_env=False`` ignores it."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    async with AsyncSuno(fake.api_key, base_url=fake.url) as suno:
        assert (await suno.balance()).remaining_points == fake.points
    async with forward_proxy(fake.origin) as (origin, proxy):
        monkeypatch.setenv("HTTP_PROXY", origin)
        async with AsyncSuno(
            fake.api_key,
            base_url=_through_proxy(fake),
            allow_insecure_http=True,
            trust_env=False,
            timeouts=Timeouts(connect=5.0, total=10.0),
            retry=NO_RETRY,
        ) as suno:
            with pytest.raises(NetworkError):
                await suno.balance()
        assert proxy.seen == []


@pytest.mark.parametrize(
    ("proxy", "words"),
    [
        ("socks5://127.0.0.1:1080", "SOCKS is not supported"),
        ("http://user:s3cret@:3128", "not a valid URL"),
        ("ftp://user:s3cret@proxy:21", "with a host"),
        (3128, "must be a URL"),
    ],
)
async def test_a_proxy_that_cannot_be_followed_is_refused_before_any_request(
    fake: FakeSunoServer, proxy: object, words: str
) -> None:
    """Refused when the session is made, never showing a password."""
    with pytest.raises(ConfigurationError, match=words) as info:
        AsyncSuno(fake.api_key, base_url=fake.url, proxy=proxy)  # type: ignore[arg-type]
    assert "s3cret" not in str(info.value)
    assert fake.total_requests == 0


def test_no_proxy_entries_as_curl_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Domains and their subdomains, addresses, CIDRs, ports and ``*``."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "example.org, 10.0.0.0/8,.internal,host:443,[::5]:80")
    choice = ProxyChoice(None, trust_env=True)
    direct = ["a.example.org", "example.org", "10.2.3.4", "x.internal", "host", "[::5]"]
    proxied = ["open.suno.cn", "notexample.org", "[::6]", "11.0.0.1"]
    assert [choice.for_url(URL(f"https://{h}/")) for h in direct] == [None] * len(direct)
    assert {str(choice.for_url(URL(f"https://{h}/"))) for h in proxied} == {
        "http://proxy.example:3128"
    }
    monkeypatch.setenv("NO_PROXY", "*")
    assert ProxyChoice(None, trust_env=True).for_url(URL("https://open.suno.cn/")) is None
