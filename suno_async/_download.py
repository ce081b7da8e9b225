"""
Downloads of finished media: streamed, atomic, resumable, and never sent the API key.

Media live on CDN hosts, not on the API: they are fetched through an HTTP session of their
own that carries no Authorization header and no cookies, never through the API transport.
Only http(s) URLs are fetched, redirects included (followed by hand, a few hops at most).

A file is written as ``.NAME.part`` beside its final name, checked against the size the
host announced, fsynced, then linked into place without replacing anything. How a file
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
import filecmp
import hashlib
import logging
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Final, Literal, Protocol

import aiohttp
import anyio
import anyio.to_thread
import attrs
import stamina
from yarl import URL

from ._errors import (
    ConfigurationError,
    DestinationExistsError,
    DownloadError,
    DownloadTimeoutError,
    MediaTooLargeError,
    ValidationError,
)
from ._models import Song, Video, Wav
from ._names import NAME_MAX_BYTES, check_filename, safe_filename

if sys.platform != "win32":
    import fcntl

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
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_CONTENT_RANGE: Final = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)


@attrs.frozen
class DownloadPolicy:
    """
    How a session downloads media: its own concurrency, timeouts, retries and deadline.

    ``max_concurrent`` files at once per session (others wait their turn, and their
    deadline starts when their turn comes). ``deadline`` bounds one file from its first
    byte asked to its rename, retries included, so a host that trickles cannot hold it
    forever. ``read`` is the longest silence tolerated within a response. A failed attempt
    (connection lost, body cut short, 5xx, 408, 429) is retried ``attempts - 1`` times with
    backoff, resuming where the host allows it.
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

    def __attrs_post_init__(self) -> None:
        for name in ("max_concurrent", "attempts", "chunk_size"):
            if getattr(self, name) < 1:
                msg = f"DownloadPolicy.{name} must be at least 1, got {getattr(self, name)}"
                raise ConfigurationError(msg)
        if self.max_redirects < 0:
            msg = f"DownloadPolicy.max_redirects must be 0 or more, got {self.max_redirects}"
            raise ConfigurationError(msg)
        for name in ("deadline", "connect", "read"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                msg = f"DownloadPolicy.{name} must be positive seconds or None, got {value}"
                raise ConfigurationError(msg)


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
    except ValueError as exc:
        raise ValidationError(field, f"is not a valid URL ({exc}): {shown}") from exc
    if url.scheme.lower() not in {"http", "https"} or not url.host:
        rule = f"only http(s) media URLs are fetched, got {shown}; a local file is not a download"
        raise ValidationError(field, rule)
    return url


def _url_ext(url: URL) -> str | None:
    ext = url.suffix.lower().lstrip(".")
    return ext if ext in _KNOWN_EXT else None


def media_source(item: object, media: MediaKind | None) -> _Source:
    """Check the item and the media asked for, and pick the URL: all before any request."""
    if media is not None and media not in _DEFAULT_EXT:
        raise ValidationError("media", f"must be one of audio, video, cover, wav; got {media!r}")
    if isinstance(item, Song):
        kind = media or "audio"
        if kind == "wav":
            rule = (
                "a Song has no WAV: start one with suno.convert_wav(song.task_id, song.id) "
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


@attrs.frozen
class _Answer:
    """What a media host said about the body it is sending."""

    total: int | None
    content_type: str | None


class _Retry(Exception):  # noqa: N818  (not an error users see: a reason to try again)
    """A transient failure worth another attempt; turned into a DownloadError if they run out."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class _Sink(Protocol):
    """Where the body goes: a file beside its final name, or memory."""

    offset: int
    final: Path | None

    async def begin(self, answer: _Answer) -> bool:
        """Get ready for the body; False when it is not needed (the file is already there)."""

    def write(self, chunk: bytes) -> None: ...

    def restart(self) -> None:
        """Forget what was written: the host is sending the whole body again."""


class _MemorySink:
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.offset = 0
        self.final: Path | None = None

    async def begin(self, answer: _Answer) -> bool:
        return True

    def write(self, chunk: bytes) -> None:
        self.buffer += chunk
        self.offset += len(chunk)

    def restart(self) -> None:
        self.buffer.clear()
        self.offset = 0


class _FileSink:
    """
    A ``.part`` file beside the final name, then a no-clobber link into place.

    The final name is known before the first request when the URL or the caller gives the
    extension, so a ``.part`` from a killed run is resumed from its size; otherwise the
    name waits for the host's Content-Type.
    """

    def __init__(self, downloader: Downloader, source: _Source, folder: Path) -> None:
        self._downloader = downloader
        self._source = source
        self.folder = folder
        self.final: Path | None = None
        self.part: Path | None = None
        self._file: IO[bytes] | None = None
        self._stack = contextlib.AsyncExitStack()
        self.offset = 0
        self.skipped = False
        self._compare = False

    async def open(self, name: str) -> None:
        final = self.folder / name
        await self._stack.enter_async_context(self._downloader.path_lock(final))
        part_name = f".{name}.part"
        if len(part_name.encode()) > NAME_MAX_BYTES:
            part_name = f".{hashlib.sha256(name.encode()).hexdigest()[:32]}.part"
        self.final, self.part = final, self.folder / part_name
        self._file, self.offset = await anyio.to_thread.run_sync(self._open_part)

    def _paths(self) -> tuple[Path, Path]:
        if self.final is None or self.part is None:  # pragma: no cover  (open sets both)
            msg = "the download's file is not open yet"
            raise RuntimeError(msg)
        return self.final, self.part

    def _open_part(self) -> tuple[IO[bytes], int]:
        final, part = self._paths()
        if final.is_symlink() or part.is_symlink():
            msg = f"{final} or its .part is a symbolic link; refusing to write through it"
            raise DestinationExistsError(msg, url=str(self._source.url), path=final)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(part, flags, 0o644)
        try:
            if sys.platform != "win32":
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            file = os.fdopen(fd, "r+b")
        except BlockingIOError:
            os.close(fd)
            msg = f"another process is downloading to {part}; let it finish, or pick another folder"
            raise DownloadError(msg, url=str(self._source.url), path=final) from None
        except BaseException:
            os.close(fd)
            raise
        return file, file.seek(0, os.SEEK_END)

    async def begin(self, answer: _Answer) -> bool:
        if self.final is None:
            await self.open(self._source.name(answer.content_type))
        final, _ = self._paths()
        try:
            size = final.stat().st_size
        except FileNotFoundError:
            return True
        if answer.total is None:
            self._compare = True
            return True
        if size == answer.total:
            self.skipped = True
            return False
        raise self._exists(f"{size} bytes, while the host's file has {answer.total}")

    def _exists(self, detail: str) -> DestinationExistsError:
        msg = (
            f"{self.final} already exists and is a different file ({detail}); it was left "
            "untouched: move it away, or pass another filename"
        )
        return DestinationExistsError(msg, url=str(self._source.url), path=self.final)

    def write(self, chunk: bytes) -> None:
        if self._file is None:  # pragma: no cover  (begin opened it)
            msg = "the download's file is not open yet"
            raise RuntimeError(msg)
        try:
            self._file.write(chunk)
        except OSError as exc:
            msg = f"cannot write {self.part} ({exc}); free some space or choose another folder"
            raise DownloadError(msg, url=str(self._source.url), path=self.final) from exc
        self.offset += len(chunk)

    def restart(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
        self.offset = 0

    async def commit(self) -> Path:
        """fsync, then link the ``.part`` into its final name; never replaces a file."""
        final, _ = self._paths()
        if not self.skipped:
            await anyio.to_thread.run_sync(self._commit)
        await self.close()
        return final

    def _commit(self) -> None:
        final, part = self._paths()
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
        if self._compare and final.exists():
            same = filecmp.cmp(part, final, shallow=False)
            if not same:
                raise self._exists("the bytes differ")
            self.skipped = True
            return
        try:
            os.link(part, final)
        except FileExistsError:
            raise self._exists("it appeared while downloading") from None
        except OSError:
            # No hard links here (FAT, some network shares): rename, refused if it exists.
            if final.exists():
                raise self._exists("it appeared while downloading") from None
            os.rename(part, final)
        _fsync_folder(self.folder)

    async def close(self) -> None:
        """Drop the ``.part`` (kept only by a kill that runs no code) and release the lock."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.part is not None:
            with contextlib.suppress(FileNotFoundError):
                self.part.unlink()
        await self._stack.aclose()


def _fsync_folder(folder: Path) -> None:
    """Make the new name durable too (POSIX); Windows cannot open a folder for this."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover  (some filesystems refuse to fsync a folder)
        pass
    finally:
        os.close(fd)


def _prepare_folder(dest: str | os.PathLike[str]) -> Path:
    folder = Path(dest).expanduser()
    if folder.exists() and not folder.is_dir():
        rule = f"{str(folder)!r} is a file: pass the folder as dest and the name as filename="
        raise ValidationError("dest", rule)
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve(strict=True)


def _content_range(value: str | None) -> tuple[int, int | None] | None:
    match = _CONTENT_RANGE.fullmatch((value or "").strip())
    if match is None:
        return None
    total = match.group(3)
    return int(match.group(1)), None if total == "*" else int(total)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, _Retry):
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

    def __init__(self, policy: DownloadPolicy, *, user_agent: str) -> None:
        self.policy = policy
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._slots: anyio.Semaphore | None = None
        self._locks: dict[Path, _PathLock] = {}
        self._closed = False
        #: Every HTTP request sent to media hosts, redirects and retries included.
        self.requests_sent = 0
        #: Body bytes taken from media hosts, retried ones included.
        self.bytes_received = 0

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
    async def _turn(self, source: _Source, path: Path | None) -> AsyncIterator[None]:
        """A download slot, then the per-file deadline from the moment the slot is taken."""
        if self._closed:
            msg = "this AsyncSuno session is closed; create a new one to download"
            raise RuntimeError(msg)
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
                raise DownloadTimeoutError(msg, url=str(source.url), path=path)

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
        folder = await anyio.to_thread.run_sync(_prepare_folder, dest)
        sink = _FileSink(self, source, folder)
        result: Path | None = None
        async with self._turn(source, folder / name if name else None):
            try:
                if name is not None:
                    await sink.open(name)
                await self._fetch(source, sink, max_bytes)
                result = await sink.commit()
            finally:
                await sink.close()
        assert result is not None  # noqa: S101  (the deadline raises instead)
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
        sink = _MemorySink()
        async with self._turn(source, None):
            await self._fetch(source, sink, max_bytes)
        return bytes(sink.buffer)

    async def _fetch(self, source: _Source, sink: _Sink, max_bytes: int | None) -> None:
        policy = self.policy
        validator: list[str | None] = [None]
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
                    await self._attempt(source, sink, max_bytes, validator)
        except _Retry as exc:
            msg = f"{source.what}: {exc.message} ({attempts} attempts); try again later"
            raise DownloadError(
                msg, url=str(source.url), path=sink.final, status=exc.status
            ) from exc
        except asyncio.TimeoutError as exc:
            msg = (
                f"{source.what}: the host sent nothing for {policy.read:g}s or never "
                f"connected ({attempts} attempts); try again later"
            )
            raise DownloadTimeoutError(msg, url=str(source.url), path=sink.final) from exc
        except aiohttp.ClientError as exc:
            msg = (
                f"{source.what}: the connection to {source.url.host} failed "
                f"({type(exc).__name__}: {exc}) ({attempts} attempts); check the network"
            )
            raise DownloadError(msg, url=str(source.url), path=sink.final) from exc

    async def _attempt(
        self, source: _Source, sink: _Sink, max_bytes: int | None, validator: list[str | None]
    ) -> None:
        offset = sink.offset
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if validator[0]:
                headers["If-Range"] = validator[0]
        response = await self._open(source, headers)
        async with response:
            answer = self._read_answer(source, response, sink, offset)
            etag = response.headers.get("ETag", "")
            validator[0] = (etag if not etag.startswith("W/") else "") or response.headers.get(
                "Last-Modified"
            )
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
        self, source: _Source, response: aiohttp.ClientResponse, sink: _Sink, offset: int
    ) -> _Answer:
        status = response.status
        content_type = response.content_type
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        if status == 206 and offset:
            span = _content_range(response.headers.get("Content-Range"))
            if span is None or span[0] != offset:
                sink.restart()
                raise _Retry("the host resumed at the wrong place", status)
            return _Answer(span[1], content_type)
        if status == 200:
            if offset:
                sink.restart()  # no Range support, or the file changed (If-Range): start over
            total = None if encoded else response.content_length
            return _Answer(total, content_type)
        if status == 416 and offset:
            sink.restart()
            raise _Retry("the host refused to resume past the end", status)
        if status in {408, 425, 429} or status >= 500:
            raise _Retry(f"{source.url.host} answered HTTP {status}", status)
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
                url, headers=headers, allow_redirects=False, timeout=timeout
            )
            if response.status not in _REDIRECTS:
                return response
            location = response.headers.get("Location", "")
            response.release()
            try:
                target = url.join(URL(location)) if location else None
            except ValueError:
                target = None
            if target is None or target.scheme not in {"http", "https"} or not target.host:
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
