"""Downloads over loopback HTTP: the fake server's media, and small hostile media hosts."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import anyio
import pytest
from aiohttp import web

from helpers import AUDIO_EXT, DIALECT, FAST_POLL, serving, until
from suno_async import (
    AsyncSuno,
    ConfigurationError,
    DestinationExistsError,
    DownloadError,
    DownloadPolicy,
    DownloadTimeoutError,
    MediaTooLargeError,
    Song,
    ValidationError,
    Video,
    Wav,
    safe_filename,
)
from suno_async.testing import FakeSunoServer, Fault, TaskPlan
from suno_async.testing._media import MEDIA_TYPES

pytestmark = pytest.mark.anyio

#: Retries in milliseconds, so fault tests stay quick.
FAST = DownloadPolicy(wait_initial=0.001, wait_max=0.002, wait_jitter=0.0, read=5.0)
BODY = bytes(range(256)) * 400  # 102,400 bytes: a few chunks, every byte value


class MediaHost:
    """
    A media host with knobs for every misbehaviour, which fails any request that carries an
    Authorization header (and remembers it, so the test fails even if the client retries).
    """

    def __init__(
        self,
        body: bytes = BODY,
        *,
        ranges: bool = True,
        cuts: int = 0,
        cut_at: int | None = None,
        declared: int | None = None,
        size: int | None = None,
        piece: int = 16 * 1024,
        delay: float = 0.0,
        hold: float = 0.0,
        content_type: str = "audio/mpeg",
    ) -> None:
        self.body = body
        self.ranges = ranges
        self.cuts = cuts
        self.cut_at = cut_at if cut_at is not None else len(body) // 2
        self.declared = declared
        self.size = size
        self.piece = piece
        self.delay = delay
        self.hold = hold
        self.content_type = content_type
        self.headers: list[dict[str, str]] = []
        self.authorization_seen = False
        self.sent = 0
        self.active = 0
        self.peak = 0
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        return app

    def body_from(self, start: int) -> tuple[int, Callable[[int, int], bytes]]:
        if self.size is None:
            return len(self.body), lambda a, b: self.body[a:b]
        block = bytes(range(256)) * 256
        return self.size, lambda a, b: (block * ((b - a) // len(block) + 2))[
            a % len(block) : a % len(block) + b - a
        ]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.headers.append(dict(request.headers))
        if "Authorization" in request.headers:
            self.authorization_seen = True
            raise web.HTTPInternalServerError(text="the API key reached a media host")
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            return await self.serve(request)
        finally:
            self.active -= 1

    async def serve(self, request: web.Request) -> web.StreamResponse:
        total, read = self.body_from(0)
        start, status = 0, 200
        wanted = request.headers.get("Range", "")
        if wanted and self.ranges:
            start, status = int(wanted.removeprefix("bytes=").rstrip("-")), 206
        response = web.StreamResponse(status=status)
        response.content_type = self.content_type
        response.content_length = self.declared if self.declared is not None else total - start
        response.headers["ETag"] = '"v1"'
        if status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{total - 1}/{total}"
        await response.prepare(request)
        await anyio.sleep(self.hold)
        end = total
        if self.cuts > 0:
            self.cuts -= 1
            end = max(start, min(total, self.cut_at))
        position = start
        while position < end:
            chunk = read(position, min(end, position + self.piece))
            try:
                await response.write(chunk)
            except ConnectionResetError:  # the client stopped reading, as it may
                return response
            self.sent += len(chunk)
            position += len(chunk)
            if self.delay:
                await anyio.sleep(self.delay)
        if end < total or (self.declared or 0) > total:
            assert request.transport is not None
            request.transport.close()  # cut: the client sees the body end early
            return response
        await response.write_eof()
        return response


@contextlib.asynccontextmanager
async def hosting(host: MediaHost) -> AsyncIterator[str]:
    async with serving(host.app()) as base:
        host.url = base
        yield base


@pytest.fixture
async def offline() -> AsyncIterator[AsyncSuno]:
    """A session whose API is never called: only its downloads are exercised."""
    async with AsyncSuno("sk-test-secret", base_url="http://127.0.0.1:9", downloads=FAST) as s:
        yield s


def song(url: str, *, title: str | None = "Song", task_id: int = 42) -> Song:
    return Song(task_id=task_id, id="clip", title=title, audio_url=url, image_url=url)


def inside(folder: Path) -> Path:
    return folder.resolve()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- against the fake server ----------------------------------------------------------


async def test_song_media_from_the_fake_server(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """
    A finished song's audio and cover (and its video, where the dialect gives songs one)
    land under {task_id}-{title}.{ext}, named by what they are: m4a from the live service.
    """
    ext = AUDIO_EXT[fake.dialect]
    fake.plans.extend([TaskPlan(), TaskPlan()])
    first, second = await suno.wait(await suno.generate(title="夏夜的风", description="pop"))
    audio = await suno.download(first, tmp_path)
    cover = await suno.download(first, tmp_path, media="cover")
    other = await suno.download(second, tmp_path)
    saved = [audio, cover, other]
    assert audio == inside(tmp_path) / f"{first.task_id}-夏夜的风.{ext}"
    assert cover.suffix == ".png"
    assert other.name == f"{second.task_id}-夏夜的风.{ext}"
    assert audio.read_bytes() == MEDIA_TYPES[ext][1]
    assert cover.read_bytes() == MEDIA_TYPES["png"][1]
    if fake.dialect == "reference":
        video = await suno.download(first, tmp_path, media="video")
        assert video.name == f"{first.task_id}-夏夜的风.mp4"
        assert video.read_bytes() == MEDIA_TYPES["mp4"][1]
        saved.append(video)
    else:
        with pytest.raises(ValidationError, match="no video URL"):
            await suno.download(first, tmp_path, media="video")
    assert leftovers(tmp_path) == sorted(p.name for p in saved)
    assert fake.requests["GET /media"] == len(saved)
    assert await suno.download_bytes(first) == MEDIA_TYPES[ext][1]


async def test_video_and_wav_from_the_fake_server(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A Video and a Wav download under their task id, with their own media only."""
    fake.plans.extend([TaskPlan(), TaskPlan()])
    first, _ = await suno.wait(await suno.generate(title="t", description="pop"))
    assert first.id is not None
    video: Video = await (await suno.video(first.task_id, suno_id=first.id)).wait()
    wav: Wav = await (await suno.convert_wav(first.task_id, suno_id=first.id)).wait()
    assert (await suno.download(video, tmp_path)).name == f"{video.task_id}.mp4"
    saved = await suno.download(wav, tmp_path, filename="mine.wav")
    assert saved == inside(tmp_path) / "mine.wav"
    assert saved.read_bytes() == MEDIA_TYPES["wav"][1]
    with pytest.raises(ValidationError, match="media"):
        await suno.download(video, tmp_path, media="audio")
    with pytest.raises(ValidationError, match="convert_wav"):
        await suno.download(first, tmp_path, media="wav")


async def test_a_cut_fake_download_resumes_on_a_media_origin(tmp_path: Path) -> None:
    """The fake's media origin cuts a 3 MB file half way: it is resumed, never sent the key."""
    async with (
        FakeSunoServer(
            dialect=DIALECT,
            speed=1000.0,
            queued_s=(0.0, 10.0),
            generating_s=(30.0, 90.0),
            separate_media_origin=True,
            media_bytes=3_000_000,
            seed=3,
        ) as fake,
        AsyncSuno(
            fake.api_key, base_url=fake.url, poll=FAST_POLL, rate_limit=None, downloads=FAST
        ) as suno,
    ):
        first, _ = await suno.wait(await suno.generate(title="Cut", description="pop"))
        assert first.audio_url is not None
        assert first.audio_url.startswith(fake.media_origin)
        assert fake.media_origin != fake.origin
        fake.faults.append(Fault("truncated", endpoint="GET /media"))
        path = await suno.download(first, tmp_path)
        expected = fake.media_file(first.audio_url).content()
    assert path.read_bytes() == expected
    assert len(expected) == 3_000_000
    ranges = [r.headers.get("Range") for r in fake.media_requests]
    assert ranges[0] is None
    assert ranges[1] is not None
    assert 0 < int(ranges[1].removeprefix("bytes=").rstrip("-")) < len(expected)
    assert not any("Authorization" in r.headers for r in fake.media_requests)
    assert leftovers(tmp_path) == [path.name]


async def test_a_part_longer_than_the_file_starts_over(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A stale .part past the file's end gets 416 from the fake, and a clean restart."""
    fake.plans.extend([TaskPlan(), TaskPlan()])
    ext = AUDIO_EXT[fake.dialect]
    first, _ = await suno.wait(await suno.generate(title="t", description="pop"))
    (tmp_path / f".{first.task_id}-t.{ext}.part").write_bytes(bytes(100_000))
    path = await suno.download(first, tmp_path)
    assert path.read_bytes() == MEDIA_TYPES[ext][1]
    assert [r.headers.get("Range") for r in fake.media_requests] == ["bytes=100000-", None]
    assert leftovers(tmp_path) == [path.name]


@pytest.mark.skipif(sys.platform == "win32", reason="the .part lock is POSIX flock")
async def test_another_process_writing_the_part_is_not_disturbed(
    offline: AsyncSuno, tmp_path: Path
) -> None:
    """A .part locked by another writer is left alone, with an error that says so."""
    import fcntl

    part = tmp_path / ".a.mp3.part"
    with part.open("wb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(DownloadError, match="another process"):
            await offline.download("http://127.0.0.1:9/a.mp3", tmp_path)
    assert offline.downloads.requests_sent == 0
    assert leftovers(tmp_path) == [".a.mp3.part"]


# --- the key stays home ----------------------------------------------------------------


async def test_the_api_key_never_reaches_a_media_host(offline: AsyncSuno, tmp_path: Path) -> None:
    """Neither the host nor the one it redirects to ever sees an Authorization header."""
    target = MediaHost()

    async def bounce(request: web.Request) -> web.StreamResponse:
        assert "Authorization" not in request.headers
        raise web.HTTPFound(f"{target.url}/cdn/final.mp3")

    front = web.Application()
    front.router.add_get("/{tail:.*}", bounce)
    async with hosting(target), serving(front) as front_url:
        async with (  # the check itself can fail:
            aiohttp.ClientSession() as plain,
            plain.get(f"{target.url}/x", headers={"Authorization": "k"}) as r,
        ):
            assert r.status == 500
        target.authorization_seen = False
        path = await offline.download(song(f"{front_url}/a.mp3"), tmp_path)
        data = await offline.download_bytes(f"{front_url}/b.mp3")
    assert path.read_bytes() == data == BODY
    assert not target.authorization_seen
    assert all("sk-test-secret" not in str(h) for h in target.headers)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.mp3",
        "data:audio/mpeg;base64,AAAA",
        "../../x.mp3",
        "/etc/passwd",
        "javascript:alert(1)",
        "",
    ],
)
async def test_only_http_urls_are_fetched(offline: AsyncSuno, tmp_path: Path, url: str) -> None:
    """Anything but http(s) is refused before any request, as a string or in a Song."""
    with pytest.raises(ValidationError, match="item"):
        await offline.download(url, tmp_path)
    with pytest.raises(ValidationError, match="item"):
        await offline.download(song(url), tmp_path)
    with pytest.raises(ValidationError, match="item"):
        await offline.download_bytes(url)
    assert offline.downloads.requests_sent == 0
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("location", "match", "status", "sent"),
    [
        pytest.param("file:///etc/passwd", "not an http", 302, 1, id="to-a-local-file"),
        pytest.param("/again.mp3", "redirects", None, FAST.max_redirects + 1, id="in-a-loop"),
    ],
)
async def test_a_bad_redirect_is_not_followed(
    offline: AsyncSuno, tmp_path: Path, *, location: str, match: str, status: int | None, sent: int
) -> None:
    """A redirect to file:// or a redirect loop (after max_redirects hops) is a DownloadError."""

    async def bounce(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(location)

    app = web.Application()
    app.router.add_get("/{tail:.*}", bounce)
    async with serving(app) as base:
        with pytest.raises(DownloadError, match=match) as caught:
            await offline.download(f"{base}/a.mp3", tmp_path)
    assert caught.value.status == status
    assert offline.downloads.requests_sent == sent
    assert leftovers(tmp_path) == []


# --- cut, wrong and huge bodies ------------------------------------------------------------


async def test_a_cut_body_is_resumed_with_range(offline: AsyncSuno, tmp_path: Path) -> None:
    """After a cut, the next attempt asks for the rest only and the file is whole."""
    host = MediaHost(cuts=1, cut_at=40_000)
    async with hosting(host) as base:
        path = await offline.download(f"{base}/a.mp3", tmp_path)
    assert path.read_bytes() == BODY
    assert [h.get("Range") for h in host.headers] == [None, "bytes=40000-"]
    assert host.headers[1]["If-Range"] == '"v1"'
    assert host.sent == len(BODY)
    assert leftovers(tmp_path) == ["a.mp3"]


async def test_a_host_without_range_restarts_cleanly(offline: AsyncSuno, tmp_path: Path) -> None:
    """A host that answers 200 to a Range request sends it all again; no byte is doubled."""
    host = MediaHost(ranges=False, cuts=2, cut_at=30_000)
    async with hosting(host) as base:
        data = await offline.download_bytes(f"{base}/a.mp3")
        path = await offline.download(f"{base}/a.mp3", tmp_path)
    assert data == BODY
    assert path.read_bytes() == BODY
    assert [h.get("Range") for h in host.headers] == [None, "bytes=30000-", "bytes=30000-", None]


async def test_a_part_left_by_a_killed_run_is_resumed(offline: AsyncSuno, tmp_path: Path) -> None:
    """A .part from a killed process is resumed from its size, then removed."""
    (tmp_path / ".42-Song.mp3.part").write_bytes(BODY[:50_000])
    host = MediaHost()
    async with hosting(host) as base:
        path = await offline.download(song(f"{base}/a.mp3"), tmp_path)
    assert path.read_bytes() == BODY
    assert host.headers[0]["Range"] == "bytes=50000-"
    assert leftovers(tmp_path) == ["42-Song.mp3"]


async def test_a_stale_part_under_a_name_known_late_is_not_glued_on(
    offline: AsyncSuno, tmp_path: Path
) -> None:
    """Named from the Content-Type, so asked for whole: a .part left there is dropped."""
    (tmp_path / ".42-Song.mp3.part").write_bytes(BODY[:30_000])
    host = MediaHost()
    async with hosting(host) as base:
        path = await offline.download(song(f"{base}/media/abc"), tmp_path)
    assert path.read_bytes() == BODY
    assert "Range" not in host.headers[0]
    assert leftovers(tmp_path) == ["42-Song.mp3"]


class ChangingHost(MediaHost):
    """Cuts the first answer; then resumes with another file's tail, as if it changed."""

    def __init__(self, new: bytes) -> None:
        super().__init__(cuts=1, cut_at=40_000)
        self.new = new

    async def serve(self, request: web.Request) -> web.StreamResponse:
        if len(self.headers) == 1:
            return await super().serve(request)  # the old file, cut
        wanted = request.headers.get("Range", "")
        if wanted:  # the new file's tail, ignoring If-Range
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            total = len(self.new)
            headers = {"ETag": '"v2"', "Content-Range": f"bytes {start}-{total - 1}/{total}"}
            return web.Response(status=206, body=self.new[start:], headers=headers)
        return web.Response(body=self.new, headers={"ETag": '"v2"'})


async def test_a_file_changed_while_resumed_starts_over(offline: AsyncSuno, tmp_path: Path) -> None:
    """A resume answered with another size is never spliced on: the new file, whole."""
    new = bytes(reversed(BODY)) * 2
    host = ChangingHost(new)
    async with hosting(host) as base:
        path = await offline.download(f"{base}/a.mp3", tmp_path)
    assert path.read_bytes() == new
    assert [h.get("Range") for h in host.headers] == [None, "bytes=40000-", None]


async def test_a_host_name_idna_refuses_is_a_typed_error(
    offline: AsyncSuno, tmp_path: Path
) -> None:
    """A URL, or a redirect, to a host name that IDNA cannot encode: typed errors."""
    with pytest.raises(ValidationError, match="not a valid URL"):
        await offline.download("http://xn--/x.mp3", tmp_path)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://xn--/x.mp3")

    app = web.Application()
    app.router.add_get("/{tail:.*}", redirect)
    async with serving(app) as base:
        with pytest.raises(DownloadError, match="not an http"):
            await offline.download_bytes(f"{base}/a.mp3")


async def test_a_part_path_that_cannot_be_opened_is_a_download_error(
    offline: AsyncSuno, tmp_path: Path
) -> None:
    """The .part cannot be written (here a folder holds its name): a typed error."""
    (tmp_path / ".42-Song.mp3.part").mkdir()
    async with hosting(MediaHost()) as base:
        with pytest.raises(DownloadError, match="cannot write"):
            await offline.download(song(f"{base}/a.mp3"), tmp_path)


_FULL_DISK_CHILD = """
import asyncio, resource, signal, sys
from aiohttp import web
from suno_async import AsyncSuno, SunoError

async def main():
    async def host(request):
        return web.Response(body=b"x" * 5000, content_type="audio/mpeg")
    app = web.Application()
    app.router.add_get("/{tail:.*}", host)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/a.mp3"
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
    async with AsyncSuno("sk-test", base_url="http://127.0.0.1:9") as suno:
        for _ in range(2):
            try:
                await asyncio.wait_for(suno.download(url, sys.argv[1]), 5)
            except SunoError as exc:
                print(type(exc).__name__)
    await runner.cleanup()

asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE stands in")
async def test_a_full_disk_when_finishing_is_typed_and_frees_the_name(tmp_path: Path) -> None:
    """
    The last buffered bytes fail to write (a file size limit stands in for a full disk):
    a DownloadError, and the name is free again, so the next try fails the same way.
    """
    child = await anyio.run_process(
        [sys.executable, "-c", _FULL_DISK_CHILD, str(tmp_path)], check=False
    )
    assert child.stdout.decode().split() == ["DownloadError", "DownloadError"], child.stderr
    assert leftovers(tmp_path) == []


async def test_a_body_shorter_than_announced_fails_cleanly(
    offline: AsyncSuno, tmp_path: Path
) -> None:
    """A Content-Length the host never honours fails after the retries; no file is left."""
    host = MediaHost(declared=len(BODY) + 1000)
    async with hosting(host) as base:
        with pytest.raises(DownloadError, match="4 attempts") as caught:
            await offline.download(f"{base}/a.mp3", tmp_path)
    assert caught.value.url == f"{host.url}/a.mp3"
    assert len(host.headers) == FAST.attempts
    assert leftovers(tmp_path) == []


async def test_a_huge_announced_body_is_refused_unread(offline: AsyncSuno, tmp_path: Path) -> None:
    """Past max_bytes by Content-Length: refused before reading the body."""
    host = MediaHost(size=50 * 2**20, hold=0.05)
    async with hosting(host) as base:
        with pytest.raises(MediaTooLargeError, match="max_bytes") as caught:
            await offline.download_bytes(f"{base}/a.mp3", max_bytes=2**20)
        with pytest.raises(MediaTooLargeError):
            await offline.download(f"{base}/a.mp3", tmp_path, max_bytes=2**20)
    assert caught.value.size == 50 * 2**20
    assert host.sent < 8 * 2**20
    assert len(host.headers) == 2
    assert leftovers(tmp_path) == []


async def test_a_huge_unannounced_body_stops_at_the_cap(offline: AsyncSuno) -> None:
    """With no Content-Length, reading stops just past max_bytes."""
    app = web.Application()

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(2000):
            await response.write(bytes(64 * 1024))
        return response

    app.router.add_get("/{tail:.*}", endless)
    async with serving(app) as base:
        with pytest.raises(MediaTooLargeError, match="sent more"):
            await offline.download_bytes(f"{base}/a.mp3", max_bytes=300_000)


# --- deadlines, cancellation, limits --------------------------------------------------------


async def test_a_trickling_host_hits_the_deadline(tmp_path: Path) -> None:
    """A host that sends a little, often, cannot hold a download past its deadline."""
    host = MediaHost(piece=10, delay=0.01)
    policy = DownloadPolicy(deadline=0.3, read=5.0)
    async with hosting(host) as base, AsyncSuno("k", downloads=policy) as suno:
        started = time.monotonic()
        with pytest.raises(DownloadTimeoutError, match="deadline") as caught:
            await suno.download(f"{base}/a.mp3", tmp_path)
        assert caught.value.path == inside(tmp_path) / "a.mp3"
        assert time.monotonic() - started < 2.0
    assert 0 < host.sent < len(BODY)
    assert leftovers(tmp_path) == []


async def test_a_silent_host_times_out_per_read(tmp_path: Path) -> None:
    """A host that stops sending fails each attempt on the read timeout."""
    host = MediaHost(hold=1.0)
    policy = DownloadPolicy(read=0.1, attempts=2, wait_initial=0.001, wait_jitter=0.0)
    async with hosting(host) as base, AsyncSuno("k", downloads=policy) as suno:
        with pytest.raises(DownloadTimeoutError, match="2 attempts"):
            await suno.download_bytes(f"{base}/a.mp3")
    assert len(host.headers) == 2


async def test_cancellation_leaves_no_temporary_file(offline: AsyncSuno, tmp_path: Path) -> None:
    """A download cancelled mid-body removes its .part."""
    host = MediaHost(piece=1000, delay=0.01)
    async with hosting(host) as base:
        with anyio.move_on_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(offline.download, f"{base}/a.mp3", tmp_path)
                await until(lambda: host.sent > 5000)
                assert leftovers(tmp_path) == [".a.mp3.part"]
                group.cancel_scope.cancel()
    assert leftovers(tmp_path) == []


async def test_the_concurrency_limit_is_respected(tmp_path: Path) -> None:
    """No more than max_concurrent files are fetched at once, and that many are."""
    host = MediaHost(hold=0.05)
    policy = DownloadPolicy(max_concurrent=2)
    async with (
        hosting(host) as base,
        AsyncSuno("k", downloads=policy) as suno,
        anyio.create_task_group() as group,
    ):
        for n in range(6):
            group.start_soon(suno.download, f"{base}/{n}.mp3", tmp_path)
    assert host.peak == 2
    assert len(leftovers(tmp_path)) == 6


@pytest.mark.parametrize("fsync", [False, True])
async def test_fsync_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fsync: bool
) -> None:
    """DownloadPolicy(fsync=True) flushes the file and then its folder; the default neither."""
    synced: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    async with (
        hosting(MediaHost()) as base,
        AsyncSuno("k", downloads=DownloadPolicy(fsync=fsync)) as suno,
    ):
        path = await suno.download(f"{base}/a.mp3", tmp_path)
    assert path.read_bytes() == BODY
    expected = 0 if not fsync else 1 if sys.platform == "win32" else 2
    assert len(synced) == expected


async def test_memory_stays_flat_for_a_large_file(offline: AsyncSuno, tmp_path: Path) -> None:
    """A 32 MiB file streams through a small, bounded amount of memory."""
    size = 32 * 2**20
    host = MediaHost(size=size, piece=256 * 1024)
    async with hosting(host) as base:
        tracemalloc.start()
        try:
            path = await offline.download(f"{base}/big.mp3", tmp_path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert path.stat().st_size == size
    _, read = host.body_from(0)
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(read(0, size)).digest()
    assert peak < 4 * 2**20, f"peak {peak} bytes"


# --- files on disk --------------------------------------------------------------------------


async def test_a_complete_file_is_skipped(offline: AsyncSuno, tmp_path: Path) -> None:
    """A file of the host's size is kept without reading the body again."""
    host = MediaHost()
    async with hosting(host) as base:
        first = await offline.download(f"{base}/a.mp3", tmp_path)
        mtime = first.stat().st_mtime_ns
        received = offline.downloads.bytes_received
        again = await offline.download(f"{base}/a.mp3", tmp_path)
    assert again == first
    assert first.stat().st_mtime_ns == mtime
    assert offline.downloads.bytes_received == received == len(BODY)
    assert len(host.headers) == 2
    assert leftovers(tmp_path) == ["a.mp3"]


async def test_a_different_file_is_never_clobbered(offline: AsyncSuno, tmp_path: Path) -> None:
    """A file of another size under the name raises and stays as it was."""
    (tmp_path / "a.mp3").write_bytes(b"mine")
    host = MediaHost()
    async with hosting(host) as base:
        with pytest.raises(DestinationExistsError, match="untouched") as caught:
            await offline.download(f"{base}/a.mp3", tmp_path)
    assert isinstance(caught.value, FileExistsError)
    assert (tmp_path / "a.mp3").read_bytes() == b"mine"
    assert leftovers(tmp_path) == ["a.mp3"]


async def test_unannounced_size_is_compared_byte_for_byte(
    offline: AsyncSuno, tmp_path: Path
) -> None:
    """Without a Content-Length, an identical file is kept and a different one refused."""
    app = web.Application()

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(BODY)
        return response

    app.router.add_get("/{tail:.*}", chunked)
    async with serving(app) as base:
        path = await offline.download(f"{base}/a.mp3", tmp_path)
        assert await offline.download(f"{base}/a.mp3", tmp_path) == path
        path.write_bytes(BODY[:-1] + b"!")
        with pytest.raises(DestinationExistsError, match="differ"):
            await offline.download(f"{base}/a.mp3", tmp_path)
    assert leftovers(tmp_path) == ["a.mp3"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
async def test_a_symlink_cannot_lead_outside(offline: AsyncSuno, tmp_path: Path) -> None:
    """A name that is a symlink to elsewhere is refused, and the target stays untouched."""
    outside = tmp_path / "outside.mp3"
    outside.write_bytes(b"x")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.mp3").symlink_to(outside)
    host = MediaHost()
    async with hosting(host) as base:
        with pytest.raises(DestinationExistsError, match="symbolic link"):
            await offline.download(f"{base}/a.mp3", folder)
    assert outside.read_bytes() == b"x"


async def test_name_from_content_type_and_default(offline: AsyncSuno, tmp_path: Path) -> None:
    """A URL without an extension is named from the Content-Type."""
    host = MediaHost(content_type="image/webp")
    async with hosting(host) as base:
        path = await offline.download(f"{base}/image/abc", tmp_path)
        cover = await offline.download(song(f"{base}/cover"), tmp_path, media="cover")
    assert path.name == "abc.webp"
    assert cover.name == "42-Song.webp"


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("../../x", "42-_._x.mp3"),
        ("CON", "42-CON.mp3"),
        ("a/b\\c:d", "42-a_b_c_d.mp3"),
        ("  trailing dots... ", "42-trailing dots.mp3"),
        ("line\nbreak\x00", "42-line break.mp3"),
        ("evil\u202eexe.mp3", "42-evilexe.mp3.mp3"),
        ("Cafe\u0301", "42-Café.mp3"),
        (None, "42.mp3"),
    ],
)
async def test_hostile_titles_stay_inside_the_folder(
    offline: AsyncSuno, tmp_path: Path, title: str | None, name: str
) -> None:
    """Hostile titles give a plain file name inside the folder."""
    host = MediaHost()
    async with hosting(host) as base:
        path = await offline.download(song(f"{base}/a.mp3", title=title), tmp_path)
    assert path == inside(tmp_path) / name
    assert path.read_bytes() == BODY


async def test_a_300_emoji_title(offline: AsyncSuno, tmp_path: Path) -> None:
    """300 emoji are cut to fit 255 bytes, keeping the id and the extension."""
    host = MediaHost()
    async with hosting(host) as base:
        path = await offline.download(song(f"{base}/a.mp3", title="🎵" * 300), tmp_path)
    assert path.name.startswith("42-🎵")
    assert path.name.endswith("🎵.mp3")
    assert len(path.name.encode()) <= 255
    assert leftovers(tmp_path) == [path.name]


@pytest.mark.parametrize(
    "filename", ["../x.mp3", "a/b.mp3", "..", "CON.mp3", "x.mp3.", "", "a.mp3:evil", "a\x00.mp3"]
)
async def test_a_bad_filename_is_refused(offline: AsyncSuno, tmp_path: Path, filename: str) -> None:
    """A filename that is not one plain name is refused before any request."""
    with pytest.raises(ValidationError, match="filename"):
        await offline.download("http://127.0.0.1:9/a.mp3", tmp_path, filename=filename)
    assert offline.downloads.requests_sent == 0


async def test_bad_items_and_options(offline: AsyncSuno, tmp_path: Path) -> None:
    """Wrong items, media, caps and destinations are refused before any request."""
    with pytest.raises(ValidationError, match="item"):
        await offline.download(12, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="media"):
        await offline.download(song("http://h/a.mp3"), tmp_path, media="lyrics")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="no audio URL yet"):
        await offline.download(Song(task_id=1, id="c"), tmp_path)
    with pytest.raises(ValidationError, match="max_bytes"):
        await offline.download_bytes("http://h/a.mp3", max_bytes=0)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ValidationError, match="dest"):
        await offline.download("http://h/a.mp3", tmp_path / "file")
    with pytest.raises(ConfigurationError, match="downloads"):
        AsyncSuno("k", downloads=4)  # type: ignore[arg-type]
    assert offline.downloads.requests_sent == 0


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_concurrent", 0),
        ("max_concurrent", 1.5),
        ("attempts", True),
        ("deadline", 0),
        ("deadline", float("nan")),
        ("read", "30"),
        ("wait_initial", -1),
        ("max_redirects", -1),
        ("fsync", 1),
    ],
)
def test_policy_refuses_bad_values(option: str, value: object) -> None:
    """Each DownloadPolicy setting is checked and named."""
    with pytest.raises(ConfigurationError, match=f"DownloadPolicy.{option}"):
        DownloadPolicy(**{option: value})  # type: ignore[arg-type]


async def test_a_missing_folder_is_made(offline: AsyncSuno, tmp_path: Path) -> None:
    """dest is created with its parents."""
    host = MediaHost()
    async with hosting(host) as base:
        path = await offline.download(f"{base}/a.mp3", tmp_path / "x" / "y")
    assert path.parent == inside(tmp_path / "x" / "y")


async def test_http_errors_say_what_to_do(offline: AsyncSuno, tmp_path: Path) -> None:
    """A 404 is not retried and suggests fresh URLs; a 503 is retried."""
    calls: list[str] = []

    async def status(request: web.Request) -> web.StreamResponse:
        calls.append(request.path)
        return web.Response(status=int(request.path.strip("/").split(".")[0]))

    app = web.Application()
    app.router.add_get("/{tail:.*}", status)
    async with serving(app) as base:
        with pytest.raises(DownloadError, match="get_task") as caught:
            await offline.download(f"{base}/404.mp3", tmp_path)
        assert caught.value.status == 404
        assert caught.value.path == inside(tmp_path) / "404.mp3"
        with pytest.raises(DownloadError, match="503") as caught:
            await offline.download_bytes(f"{base}/503.mp3")
    assert calls.count("/404.mp3") == 1
    assert calls.count("/503.mp3") == FAST.attempts


async def test_retry_after_is_honoured(offline: AsyncSuno) -> None:
    """A 429 with Retry-After waits that long before asking again."""
    times: list[float] = []

    async def busy(request: web.Request) -> web.StreamResponse:
        times.append(time.monotonic())
        if len(times) == 1:
            return web.Response(status=429, headers={"Retry-After": "0.2"})
        return web.Response(body=BODY, content_type="audio/mpeg")

    app = web.Application()
    app.router.add_get("/{tail:.*}", busy)
    async with serving(app) as base:
        assert await offline.download_bytes(f"{base}/a.mp3") == BODY
    assert times[1] - times[0] >= 0.19


async def test_one_path_at_a_time(offline: AsyncSuno, tmp_path: Path) -> None:
    """Two downloads to one name in a session: one writes, the other finds it complete."""
    host = MediaHost(piece=4096, delay=0.002)
    async with hosting(host) as base, anyio.create_task_group() as group:
        for _ in range(2):
            group.start_soon(offline.download, f"{base}/a.mp3", tmp_path)
    assert (tmp_path / "a.mp3").read_bytes() == BODY
    assert offline.downloads.bytes_received == len(BODY)
    assert leftovers(tmp_path) == ["a.mp3"]


async def test_a_closed_session_refuses_downloads(tmp_path: Path) -> None:
    """Downloading after aclose is a RuntimeError."""
    suno = AsyncSuno("k")
    await suno.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await suno.download_bytes("http://127.0.0.1:9/a.mp3")


def test_a_reserved_name_cut_to_fit_still_fits() -> None:
    """The "_" in front of a reserved device name is counted in the 255 bytes."""
    name = safe_filename("CON." + "a" * 300, ext="mp3")
    assert name.startswith("_CON.")
    assert name.endswith(".mp3")
    assert len(name.encode()) == 255


def test_safe_filename_rules() -> None:
    """The name rules on their own."""
    assert safe_filename("My Song", task_id=7, ext="MP3") == "7-My Song.mp3"
    assert safe_filename("nul", ext="mp3") == "_nul.mp3"
    assert safe_filename("com1.tar", ext="gz") == "_com1.tar.gz"
    assert safe_filename("", ext="mp3") == "download.mp3"
    assert safe_filename("...", task_id=1) == "1"
    assert safe_filename("👩\u200d👩\u200d👧" * 40, task_id=1, ext="mp3", max_bytes=30) == (
        "1-👩\u200d👩\u200d👧.mp3"
    )
    long = safe_filename("é" * 300, task_id=123456789, ext="mp3")
    assert len(long.encode()) == 255 - 1  # "é" is two bytes: the odd byte is left out
    assert long.startswith("123456789-é")


# --- links that expire -----------------------------------------------------------------


async def test_an_expired_link_is_fetched_again_from_a_fresh_task_query(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Past the hour a link lasts, the host refuses it; one task query gives a fresh one."""
    fake.plans.extend([TaskPlan(), TaskPlan()])
    first, second = await suno.wait(await suno.generate(title="t", description="pop"))
    fake.advance(3600 + 60)
    queries = fake.requests["GET /music/task"]
    path = await suno.download(first, tmp_path)
    ext = AUDIO_EXT[fake.dialect]
    assert path.read_bytes() == MEDIA_TYPES[ext][1]
    assert fake.requests["GET /music/task"] == queries + 1
    refused, fetched = fake.media_requests
    assert refused.path != fetched.path
    assert await suno.download_bytes(second) == MEDIA_TYPES[ext][1]
    assert fake.requests["GET /music/task"] == queries + 2
    assert leftovers(tmp_path) == [path.name]


@pytest.mark.parametrize("status", ["403", "404", "410"])
async def test_a_fresh_link_refused_too_says_the_file_expired(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path, status: str
) -> None:
    """A host that refuses the fresh link as well: a DownloadError that says why, once."""
    fake.plans.extend([TaskPlan(), TaskPlan()])
    first, _ = await suno.wait(await suno.generate(title="t", description="pop"))
    queries = fake.requests["GET /music/task"]
    fake.faults.append(Fault(status, endpoint="GET /media", times=2))
    with pytest.raises(DownloadError, match="expired") as info:
        await suno.download(first, tmp_path)
    assert info.value.status == int(status)
    assert "keep your own copy" in str(info.value)
    assert fake.requests["GET /music/task"] == queries + 1
    assert len(fake.media_requests) == 2
    assert leftovers(tmp_path) == []


async def test_a_refusal_other_than_gone_is_not_retried(dialect: str, tmp_path: Path) -> None:
    """A 500 from the media host is not an expired link: no task query is spent on it."""
    async with (
        FakeSunoServer(speed=1000.0, seed=7, dialect=dialect, media_link_ttl=1e9) as fake,
        AsyncSuno(fake.api_key, base_url=fake.url, poll=FAST_POLL, rate_limit=None) as suno,
    ):
        fake.plans.extend([TaskPlan(), TaskPlan()])
        first, _ = await suno.wait(await suno.generate(title="t", description="pop"))
        queries = fake.requests["GET /music/task"]
        fake.faults.append(Fault("500", endpoint="GET /media", times=10))
        with pytest.raises(DownloadError) as info:
            await suno.download(first, tmp_path)
        assert (info.value.status, "expired" in str(info.value)) == (500, False)
        assert fake.requests["GET /music/task"] == queries
