"""
A session's edges, over loopback: a caller's closed or foreign-loop session, a huge streamed
answer, the key in no public object, downloads after closing, bulk input that is no list.
"""

from __future__ import annotations

import asyncio
import logging
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import anyio
import pytest
from aiohttp import web

from helpers import DIALECT, FAST_POLL, KEY, Counter, rendered, serve
from suno_async import (
    AsyncSuno,
    GenerateRequest,
    ResponseTooLargeError,
    RetryPolicy,
    SessionClosedError,
    ValidationError,
    WrongEventLoopError,
)
from suno_async._transport import Secret
from suno_async.testing import FakeSunoServer

pytestmark = pytest.mark.anyio


# --- a caller's aiohttp session that cannot be used ----------------------------------------


async def test_a_callers_closed_session_is_a_suno_error_that_hides_the_key(
    fake: FakeSunoServer,
) -> None:
    """aiohttp's bare RuntimeError (its frames hold the headers) never reaches the caller."""
    http = aiohttp.ClientSession()
    async with AsyncSuno(
        KEY, base_url=fake.url, session=http, poll=FAST_POLL, rate_limit=None
    ) as suno:
        await http.close()
        errors = []
        for call in (suno.balance, lambda: suno.wait([1])):
            with anyio.fail_after(5), pytest.raises(SessionClosedError, match="session=") as caught:
                await call()
            errors.append(caught.value)
    assert fake.total_requests == 0
    for error in errors:
        assert KEY not in rendered(error)


async def test_a_callers_session_from_another_loop_is_refused_without_a_hang() -> None:
    """
    An aiohttp session made under another loop: calls and waits raise WrongEventLoopError
    at once, send nothing, and show no key (they used to raise a bare RuntimeError whose
    frames held the headers, and the watcher failed every wait with it as the cause).
    """
    other = asyncio.new_event_loop()

    async def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    http = await anyio.to_thread.run_sync(other.run_until_complete, make())
    try:
        async with (
            FakeSunoServer(dialect=DIALECT) as fake,
            AsyncSuno(
                KEY, base_url=fake.url, session=http, poll=FAST_POLL, rate_limit=None
            ) as suno,
        ):
            errors = []
            for call in (suno.balance, lambda: suno.wait([1])):
                with anyio.fail_after(5), pytest.raises(WrongEventLoopError) as caught:
                    await call()
                errors.append(caught.value)
            assert fake.total_requests == 0
    finally:
        await anyio.to_thread.run_sync(other.run_until_complete, http.close())
        other.close()
    for error in errors:
        assert "another event loop" in str(error)
        assert KEY not in rendered(error)


# --- memory stays bounded by the cap -------------------------------------------------------


async def test_a_200_mb_streamed_answer_is_cut_with_memory_bounded_by_the_cap() -> None:
    """A 200 MB chunked answer costs about the cap in memory, once, whatever the retries."""
    cap = 1024 * 1024
    sent: list[int] = []

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"<p>" + b"x" * 65533
        try:
            for _ in range(200 * 16):  # 200 MB unless the client hangs up first
                await response.write(chunk)
                sent.append(len(chunk))
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    handler = Counter(endless)
    retry = RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.01, wait_jitter=0.0)
    async with (
        serve({"GET /points/balance": handler}) as url,
        AsyncSuno(KEY, base_url=url, retry=retry, max_response_bytes=cap) as suno,
    ):
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError):
                await suno.balance()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert handler.count == 1
    assert peak < 8 * cap, peak
    assert sum(sent) < 50 * cap


# --- no object a repr, a traceback local or a log can reach shows the key ------------------


def _reachable(root: object) -> Iterator[tuple[str, object]]:
    """Every object reachable from ``root`` through attributes and containers, but a Secret."""
    seen: set[int] = set()
    stack: list[tuple[str, object]] = [("root", root)]
    while stack and len(seen) < 50_000:
        path, obj = stack.pop()
        if id(obj) in seen or isinstance(obj, Secret):
            continue
        seen.add(id(obj))
        yield path, obj
        if isinstance(obj, (str, bytes, int, float, type(None), type)):
            continue
        if isinstance(obj, dict):
            stack += [(f"{path}[{k!r}]", v) for k, v in obj.items()]
            continue
        if isinstance(obj, (list, tuple, set, frozenset)):
            stack += [(f"{path}[{i}]", v) for i, v in enumerate(obj)]
            continue
        module = type(obj).__module__ or ""
        if not module.startswith(("suno_async", "aiohttp", "multidict", "yarl")):
            continue
        stack += [(f"{path}.{k}", v) for k, v in getattr(obj, "__dict__", {}).items()]
        for cls in type(obj).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if hasattr(obj, name):
                    stack.append((f"{path}.{name}", getattr(obj, name)))


async def test_no_public_object_shows_the_key(
    fake: FakeSunoServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """
    AsyncSuno, its Transport, Downloader and watcher, a BulkRun with its journal, and a
    handle: neither their reprs nor anything reachable from them shows the key but
    through the one Secret; nor does any log line at DEBUG.
    """
    caplog.set_level(logging.DEBUG)
    request = GenerateRequest(model="chirp-v4", title="t", description="d")
    fake.api_key = KEY
    async with AsyncSuno(KEY, base_url=fake.url, poll=FAST_POLL, rate_limit=None) as suno:
        handles = await suno.generate(title="t", description="d")
        await suno.wait(handles)
        run = suno.generate_many([request], journal=tmp_path / "j.db", dry_run=True)
        async with run:
            roots: dict[str, object] = {
                "AsyncSuno": suno,
                "Transport": suno._transport,
                "Downloader": suno.downloads,
                "watcher": suno.watcher,
                "BulkRun": run,
                "handle": handles[0],
            }
            found = []
            for name, root in roots.items():
                assert KEY not in repr(root) + str(root), name
                for path, obj in _reachable(root):
                    shown = obj if isinstance(obj, str) else repr(obj)
                    if KEY in shown:
                        found.append(f"{name}: {path}")
            assert not found, found
            assert len(list(_reachable(suno))) > 100  # the walk did go deep
    assert caplog.records
    assert KEY not in caplog.text
    for record in caplog.records:
        assert KEY not in repr(vars(record))


# --- downloads keep the session's rules ----------------------------------------------------


async def test_a_closed_session_refuses_downloads_with_a_suno_error(tmp_path: Path) -> None:
    """Downloads on a closed session raise SessionClosedError (still a RuntimeError)."""
    suno = AsyncSuno(KEY)
    await suno.aclose()
    for call in (
        lambda: suno.download_bytes("http://127.0.0.1:9/a.mp3"),
        lambda: suno.download("http://127.0.0.1:9/a.mp3", tmp_path),
    ):
        with pytest.raises(SessionClosedError, match="closed"):
            await call()
    assert suno.downloads.requests_sent == 0


async def test_a_download_from_another_loop_says_so(fake: FakeSunoServer) -> None:
    """A download under another event loop is a WrongEventLoopError, sent nowhere."""
    async with AsyncSuno(fake.api_key, base_url=fake.url, poll=FAST_POLL, rate_limit=None) as suno:
        await suno.balance()  # binds the session to this loop
        errors: list[BaseException] = []

        async def elsewhere() -> None:
            try:
                await asyncio.wait_for(suno.download_bytes(f"{fake.url}/a.mp3"), 5)
            except BaseException as exc:
                errors.append(exc)

        with anyio.fail_after(10):
            await anyio.to_thread.run_sync(asyncio.run, elsewhere())
        assert suno.downloads.requests_sent == 0
    assert len(errors) == 1
    assert isinstance(errors[0], WrongEventLoopError), repr(errors[0])


@pytest.mark.parametrize("given", ["song", None, 3])
async def test_generate_many_of_no_list_is_a_validation_error(
    fake: FakeSunoServer, given: object
) -> None:
    """Bad input to generate_many is a ValidationError naming the field (still a TypeError)."""
    async with AsyncSuno(fake.api_key, base_url=fake.url) as suno:
        with pytest.raises(ValidationError) as caught:
            suno.generate_many(given)  # type: ignore[arg-type]
    assert caught.value.field == "requests"
    assert isinstance(caught.value, TypeError)
    assert fake.total_requests == 0
