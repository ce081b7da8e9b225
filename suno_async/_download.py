"""
Downloads of finished media: streamed, atomic, resumable, and never sent the API key.

Media live on CDN hosts, not on the API: they are fetched through an HTTP session of their
own that carries no Authorization header and no cookies, never through the API transport.
Only http(s) URLs are fetched, redirects included (followed by hand, a few hops at most).

A file is written as ``.NAME.part`` beside its final name, checked against the size the
host announced, then linked into place without replacing anything (fsynced first, file and
folder, with ``DownloadPolicy(fsync=True)``). How a file
already on disk is judged: when the host announces a size (Content-Length, or the total of
a Content-Range), a file of exactly that size is taken as complete and skipped without
reading the body; any other size is a different file and raises
:class:`DestinationExistsError`. When the host announces no size, the body is fetched and
compared byte for byte. A ``.part`` left by a killed process is resumed with a Range request
when the host answers 206, and restarted from zero when it answers 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final, Literal

import aiohttp
import anyio
import anyio.to_thread
import attrs
import stamina
from yarl import URL

from ._checks import check_count, check_seconds, misconfigured, show
from ._errors import (
    DownloadError,
    DownloadTimeoutError,
    MediaTooLargeError,
    SessionClosedError,
    ValidationError,
)
from ._models import Song, Video, Wav
from ._names import check_filename, safe_filename
from ._outcome import parse_retry_after
from ._proxy import ProxyChoice
from ._sinks import Answer, FileSink, MemorySink, Sink, prepare_folder

__all__ = ["DEFAULT_MAX_BYTES", "DownloadPolicy", "Downloader", "MediaKind"]

logger: Final = logging.getLogger("suno_async")

MediaKind = Literal["audio", "video", "cover", "wav"]
Downloadable = Song | Video | Wav | str

#: download_bytes keeps the body in memory: 100 MiB holds a long WAV, refuses a runaway host.
DEFAULT_MAX_BYTES: Final = 100 * 2**20

_DEFAULT_EXT: Final[dict[str, str]] = {
    "audio": "mp3",
    "video": "mp4",
    "cover": "jpeg",
    "wav": "wav",
}
_TYPE_EXT: Final[dict[str, str]] = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/m4a": "m4a",
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/flac": "flac",
    "audio/ogg": "ogg",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/webp": "webp",
    "image/gif": "gif",
}
_KNOWN_EXT: Final = frozenset(_TYPE_EXT.values()) | {"jpg"}
#: A media host's Retry-After is honoured up to this; the file's deadline bounds it anyway.
_MAX_RETRY_AFTER: Final = 60.0
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_CONTENT_RANGE: Final = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)


@attrs.frozen
class DownloadPolicy:
    """
    How a session downloads media: its own concurrency, timeouts, retries and deadline.

    ``max_concurrent`` files at once per session (others wait their turn, and their
    deadline starts when their turn comes). ``deadline`` bounds one file from its first
    byte asked to its last byte, retries included, so a host that trickles cannot hold it
    forever. ``read`` is the longest silence tolerated within a response. A failed attempt
    (connection lost, body cut short, 5xx, 408, 429) is retried ``attempts - 1`` times with
    backoff, resuming where the host allows it.

    ``fsync``: flush each file, and then its folder, to the disk before its final name
    counts as done. Off by default: a file linked into place survives any crash of the
    process (kill -9, Ctrl-C, an exception) without it, since the OS keeps the bytes; only a
    power cut or an OS crash in the next seconds can leave a short or empty file under its
    final name, and the media can be fetched again from the host (a bulk journal keeps the
    task ids). Turn it on when a power cut must not cost a file; each download then waits
    for the disk (tens of milliseconds per file on many disks).
    """

    max_concurrent: int = 4
    deadline: float | None = 600.0
    connect: float | None = 10.0
    read: float | None = 30.0
    attempts: int = 4
    wait_initial: float = 0.5
    wait_max: float = 5.0
    wait_jitter: float = 0.5
    max_redirects: int = 5
    chunk_size: int = 64 * 1024
    fsync: bool = False

    def __attrs_post_init__(self) -> None:
        for name in ("max_concurrent", "attempts", "chunk_size", "max_redirects"):
            floor = 0 if name == "max_redirects" else 1
            check_count(
                f"DownloadPolicy.{name}", getattr(self, name), minimum=floor, error=misconfigured
            )
        for name in ("deadline", "connect", "read"):
            field = f"DownloadPolicy.{name}"
            check_seconds(
                field, getattr(self, name), positive=True, optional=True, error=misconfigured
            )
        for name in ("wait_initial", "wait_max", "wait_jitter"):
            check_seconds(f"DownloadPolicy.{name}", getattr(self, name), error=misconfigured)
        if not isinstance(self.fsync, bool):
            raise misconfigured(
                "DownloadPolicy.fsync", f"must be True or False, not {self.fsync!r}"
            )


@attrs.frozen
class _Source:
    """What to fetch, and what to call it."""

    url: URL
    what: str
    title: str | None
    task_id: int | None
    url_ext: str | None
    default_ext: str

    def name(self, content_type: str | None) -> str:
        ext = self.url_ext or _TYPE_EXT.get(content_type or "") or self.default_ext
        return safe_filename(self.title, task_id=self.task_id, ext=ext)


def check_media_url(raw: object, field: str) -> URL:
    """An absolute http(s) URL, or a :class:`ValidationError` before any request."""
    shown = repr(raw)[:120]
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError(field, f"must be an http(s) URL, got {shown}")
    try:
        url = URL(raw.strip())
        host = url.host  # decoding an IDNA name may fail here
    except ValueError as exc:  # UnicodeError included
        raise ValidationError(field, f"is not a valid URL ({exc}): {shown}") from exc
    if url.scheme.lower() not in {"http", "https"} or not host:
        rule = f"only http(s) media URLs are fetched, got {shown}; a local file is not a download"
        raise ValidationError(field, rule)
    return url


def _url_ext(url: URL) -> str | None:
    ext = url.suffix.lower().lstrip(".")
    return ext if ext in _KNOWN_EXT else None


def media_source(item: object, media: MediaKind | None) -> _Source:
    """Check the item and the media asked for, and pick the URL: all before any request."""
    asked: object = media
    if asked is not None and (not isinstance(asked, str) or asked not in _DEFAULT_EXT):
        rule = f"must be one of audio, video, cover, wav; got {show(asked)}"
        raise ValidationError("media", rule)
    if isinstance(item, Song):
        kind = media or "audio"
        if kind == "wav":
            rule = (
                "a Song has no WAV: start one with suno.convert_wav(song.task_id, suno_id=song.id) "
                "and download the Wav it gives"
            )
            raise ValidationError("media", rule)
        urls = {
            "audio": item.audio_url,
            "video": item.video_url,
            "cover": item.image_large_url or item.image_url,
        }
        return _item_source(urls[kind], item.task_id, item.title, kind, f"song {item.task_id}")
    if isinstance(item, (Video, Wav)):
        natural: MediaKind = "video" if isinstance(item, Video) else "wav"
        if media not in {None, natural}:
            raise ValidationError("media", f"a {type(item).__name__} has only {natural}")
        what = f"{type(item).__name__.lower()} {item.task_id}"
        return _item_source(item.url, item.task_id, None, natural, what)
    if isinstance(item, str):
        url = check_media_url(item, "item")
        stem = url.name.rpartition(".")[0] if _url_ext(url) else url.name
        default = _DEFAULT_EXT[media] if media else "bin"
        return _Source(url, f"{url.host}{url.path}"[:120], stem, None, _url_ext(url), default)
    rule = f"must be a Song, Video, Wav or an http(s) URL, got {type(item).__name__}"
    raise ValidationError("item", rule)


def _item_source(
    raw: str | None, task_id: int, title: str | None, kind: MediaKind, what: str
) -> _Source:
    if not raw:
        rule = (
            f"{what} has no {kind} URL yet: download it once its task has finished "
            "(await suno.wait(...) first)"
        )
        raise ValidationError("item", rule)
    url = check_media_url(raw, f"item's {kind} URL")
    return _Source(url, f"{what}'s {kind}", title, task_id, _url_ext(url), _DEFAULT_EXT[kind])


class _Retry(Exception):  # noqa: N818  (not an error users see: a reason to try again)
    """A transient failure worth another attempt; turned into a DownloadError if they run out."""

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


def _content_range(value: str | None) -> tuple[int, int | None] | None:
    match = _CONTENT_RANGE.fullmatch((value or "").strip())
    if match is None:
        return None
    total = match.group(3)
    return int(match.group(1)), None if total == "*" else int(total)


def _retryable(exc: BaseException) -> bool | float:
    if isinstance(exc, _Retry):
        if exc.retry_after is not None:
            return min(exc.retry_after, _MAX_RETRY_AFTER)
        return True
    if isinstance(exc, (DownloadError, ValidationError, aiohttp.InvalidURL)):
        return False
    return isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError))


class _PathLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = anyio.Lock()
        self.users = 0


class Downloader:
    """
    The session's media downloads: its own HTTP session, slots, retries and deadlines.

    One per :class:`AsyncSuno`; the public face is ``AsyncSuno.download`` and
    ``AsyncSuno.download_bytes``.
    """

    def __init__(
        self, policy: DownloadPolicy, *, user_agent: str, proxies: ProxyChoice | None = None
    ) -> None:
        self.policy = policy
        self._user_agent = user_agent
        self._proxies = proxies or ProxyChoice(None, trust_env=False)
        self._session: aiohttp.ClientSession | None = None
        self._slots: anyio.Semaphore | None = None
        self._locks: dict[Path, _PathLock] = {}
        self._closed = False
        #: Every HTTP request sent to media hosts, redirects and retries included.
        self.requests_sent: int = 0
        #: Body bytes taken from media hosts, retried ones included.
        self.bytes_received: int = 0

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": self._user_agent},
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                raise_for_status=False,
            )
        return self._session

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    @contextlib.asynccontextmanager
    async def path_lock(self, path: Path) -> AsyncIterator[None]:
        """One download at a time per final path within the session."""
        entry = self._locks.setdefault(path, _PathLock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if not entry.users:
                del self._locks[path]

    @contextlib.asynccontextmanager
    async def _turn(self, source: _Source, sink: Sink) -> AsyncIterator[None]:
        """A download slot, then the per-file deadline from the moment the slot is taken."""
        if self._closed:
            msg = "download: this AsyncSuno session is closed; create a new one to download"
            raise SessionClosedError(message=msg)
        if self._slots is None:
            self._slots = anyio.Semaphore(self.policy.max_concurrent)
        async with self._slots:
            deadline = self.policy.deadline
            with anyio.move_on_after(deadline) as scope:
                yield
            if scope.cancelled_caught:
                msg = (
                    f"{source.what}: not downloaded within its {deadline:g}s deadline (the "
                    "host is too slow); try again later or raise DownloadPolicy.deadline"
                )
                raise DownloadTimeoutError(msg, url=str(source.url), path=sink.final)

    async def download(
        self,
        item: Downloadable,
        dest: str | os.PathLike[str],
        *,
        media: MediaKind | None = None,
        filename: str | None = None,
        max_bytes: int | None = None,
    ) -> Path:
        source = media_source(item, media)
        name = check_filename(filename) if filename is not None else None
        if name is None and source.url_ext:
            name = source.name(None)
        _check_max_bytes(max_bytes, allow_none=True)
        folder = await anyio.to_thread.run_sync(prepare_folder, dest)
        sink = FileSink(
            folder,
            url=str(source.url),
            name_for=source.name,
            lock=self.path_lock,
            fsync=self.policy.fsync,
        )
        try:
            async with self._turn(source, sink):
                if name is not None:
                    await sink.open(name)
                await self._fetch(source, sink, max_bytes)
            # The slot limits the network: the next file starts while this one is committed.
            result = await sink.commit()
        finally:
            await sink.close()
        logger.debug("%s: %s %s", source.what, "kept" if sink.skipped else "saved", result)
        return result

    async def download_bytes(
        self,
        item: Downloadable,
        *,
        media: MediaKind | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> bytes:
        source = media_source(item, media)
        _check_max_bytes(max_bytes, allow_none=False)
        sink = MemorySink()
        async with self._turn(source, sink):
            await self._fetch(source, sink, max_bytes)
        return bytes(sink.buffer)

    async def _fetch(self, source: _Source, sink: Sink, max_bytes: int | None) -> None:
        policy = self.policy
        resume = _Resume()
        attempts = 0
        try:
            async for attempt in stamina.retry_context(
                on=_retryable,
                attempts=policy.attempts,
                timeout=None,
                wait_initial=policy.wait_initial,
                wait_max=policy.wait_max,
                wait_jitter=policy.wait_jitter,
            ):
                with attempt:
                    attempts = attempt.num
                    await self._attempt(source, sink, max_bytes, resume)
        except DownloadError as exc:
            exc.path = exc.path or sink.final
            raise
        except _Retry as exc:
            msg = f"{source.what}: {exc.message} ({attempts} attempts); try again later"
            raise DownloadError(
                msg, url=str(source.url), path=sink.final, status=exc.status
            ) from exc
        except asyncio.TimeoutError as exc:
            msg = (
                f"{source.what}: {source.url.host} stopped sending or never connected "
                f"(read timeout {policy.read}s, connect {policy.connect}s; {attempts} "
                "attempts); try again later"
            )
            raise DownloadTimeoutError(msg, url=str(source.url), path=sink.final) from exc
        except aiohttp.ClientError as exc:
            msg = (
                f"{source.what}: the connection to {source.url.host} failed "
                f"({type(exc).__name__}: {exc}) ({attempts} attempts); check the network"
            )
            raise DownloadError(msg, url=str(source.url), path=sink.final) from exc

    async def _attempt(
        self, source: _Source, sink: Sink, max_bytes: int | None, resume: _Resume
    ) -> None:
        offset = sink.offset
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if resume.validator:
                headers["If-Range"] = resume.validator
        response = await self._open(source, headers)
        async with response:
            answer = self._read_answer(source, response, sink, offset, resume)
            resume.total = answer.total
            resume.validator = _validator(response)
            if max_bytes is not None and answer.total is not None and answer.total > max_bytes:
                raise _too_large(source, max_bytes, answer.total)
            if not await sink.begin(answer):
                return
            async for chunk in response.content.iter_chunked(self.policy.chunk_size):
                sink.write(chunk)
                self.bytes_received += len(chunk)
                if max_bytes is not None and sink.offset > max_bytes:
                    raise _too_large(source, max_bytes, None)
        if answer.total is not None and sink.offset != answer.total:
            got = f"{sink.offset} of {answer.total} bytes"
            raise _Retry(f"the body ended early ({got}) and could not be completed")

    def _read_answer(
        self,
        source: _Source,
        response: aiohttp.ClientResponse,
        sink: Sink,
        offset: int,
        resume: _Resume,
    ) -> Answer:
        """What the host's answer holds, checked against what earlier answers said."""
        status = response.status
        content_type = response.content_type
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        if status == 206 and offset:
            span = _content_range(response.headers.get("Content-Range"))
            if span is None or span[0] != offset or encoded:
                sink.restart()
                raise _Retry("the host resumed at the wrong place", status)
            validator = _validator(response)
            if (resume.total is not None and span[1] != resume.total) or (
                resume.validator and validator and validator != resume.validator
            ):
                sink.restart()  # the rest of another file would splice two files into one
                raise _Retry("the file changed on the host while it was resumed", status)
            return Answer(span[1], content_type)
        if status == 200:
            if offset:
                sink.restart()  # no Range support, or the file changed (If-Range): start over
            total = None if encoded else response.content_length
            return Answer(total, content_type)
        if status == 416 and offset:
            sink.restart()
            raise _Retry("the host refused to resume past the end", status)
        if status in {408, 425, 429} or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise _Retry(f"{source.url.host} answered HTTP {status}", status, retry_after)
        hint = (
            "the link may have expired: fetch the task again (suno.get_task) for fresh URLs"
            if status in {401, 403, 404, 410}
            else "the host refused it"
        )
        msg = f"{source.what}: {source.url.host} answered HTTP {status}; {hint}"
        raise DownloadError(msg, url=str(source.url), status=status)

    async def _open(self, source: _Source, headers: dict[str, str]) -> aiohttp.ClientResponse:
        """GET the URL, following a few http(s) redirects by hand; no key, no cookies."""
        session = self._client_session()
        policy = self.policy
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=policy.connect, sock_read=policy.read
        )
        url = source.url
        for _ in range(policy.max_redirects + 1):
            self.requests_sent += 1
            response = await session.get(
                url,
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
                proxy=self._proxies.for_url(url),
            )
            if response.status not in _REDIRECTS:
                return response
            location = response.headers.get("Location", "")
            response.release()
            target = _redirect_target(url, location)
            if target is None:
                msg = (
                    f"{source.what}: {url.host} redirected to {location[:120]!r}, which is not "
                    "an http(s) URL; it was not followed"
                )
                raise DownloadError(msg, url=str(source.url), status=response.status)
            logger.debug("%s: redirected to %s", source.what, target.host)
            url = target
        msg = (
            f"{source.what}: more than {policy.max_redirects} redirects; the link loops or "
            "the host is misconfigured"
        )
        raise DownloadError(msg, url=str(source.url))


@attrs.define
class _Resume:
    """What the answers so far say about the file: to resume it, and to know it is the same."""

    validator: str | None = None
    total: int | None = None


def _validator(response: aiohttp.ClientResponse) -> str | None:
    """What names this version of the file for If-Range: a strong ETag, or Last-Modified."""
    etag = response.headers.get("ETag", "")
    return (etag if not etag.startswith("W/") else "") or response.headers.get("Last-Modified")


def _redirect_target(url: URL, location: str) -> URL | None:
    """Where a redirect points, if that is an http(s) URL with a host that can be asked."""
    try:
        target = url.join(URL(location)) if location else None
        if target is None or target.scheme not in {"http", "https"} or not target.host:
            return None
    except ValueError:  # UnicodeError (a host IDNA refuses) included
        return None
    return target


def _check_max_bytes(max_bytes: int | None, *, allow_none: bool) -> None:
    if max_bytes is None and allow_none:
        return
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValidationError("max_bytes", f"must be a positive int, got {max_bytes!r}")


def _too_large(source: _Source, max_bytes: int, size: int | None) -> MediaTooLargeError:
    told = f"announced {size} bytes" if size is not None else "sent more"
    msg = (
        f"{source.what}: the host {told}, past max_bytes={max_bytes}; it was not read "
        "further: raise max_bytes if you expect a file this large"
    )
    return MediaTooLargeError(msg, url=str(source.url), max_bytes=max_bytes, size=size)
