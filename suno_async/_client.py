"""AsyncSuno: the session, with one coroutine per endpoint and the watcher that awaits tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl as _ssl
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import aiohttp
import anyio
from yarl import URL

from ._arguments import (
    check_key,
    check_settings,
    check_transport_settings,
    task_ids_of,
)
from ._batch import BatchQuery
from ._bulk import DEFAULT_MAX_DOWNLOAD_BYTES, BulkRun, Media
from ._checks import show
from ._config import RateLimit
from ._convert import (
    WireFormatError,
    parse_task_ids,
    peek_own_row,
    structure_balance,
    structure_points_log,
    structure_task,
    unreadable,
)
from ._download import DEFAULT_MAX_BYTES, Downloadable, Downloader, DownloadPolicy, MediaKind
from ._encode import encode_request
from ._errors import (
    ConfigurationError,
    DownloadError,
    NotFoundError,
    RequestInfo,
    SessionClosedError,
    SunoError,
    ValidationError,
)
from ._models import (
    DEFAULT_MODEL,
    AlignedLyricsRequest,
    Balance,
    ConvertWavRequest,
    CropRequest,
    GenerateRequest,
    LyricsAlignment,
    RemasterModel,
    RemasterRequest,
    Song,
    SpeedRequest,
    StatusChange,
    Task,
    TaskHandle,
    TaskKind,
    UploadRequest,
    Video,
    VideoRequest,
    Wav,
    WholeSongRequest,
    check_suno_id,
    check_task_id,
)
from ._points import (
    DEFAULT_LIMIT,
    LIMIT_MAX,
    MAX_PAGES,
    PointsEntry,
    PointsLogPage,
    check_paging,
    walk_points_log,
)
from ._proxy import ProxyChoice, check_proxy
from ._sound import DEFAULT_SOUND_MODEL, SoundModel, SoundRequest
from ._transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    RawResponse,
    RetryPolicy,
    Secret,
    Timeouts,
    Transport,
    check_base_url,
)
from ._waiting import Waiting
from ._watcher import PollPolicy, TaskWatcher, WatcherStats

__all__ = ["DEFAULT_BASE_URL", "AsyncSuno"]

DEFAULT_BASE_URL: Final = "https://open.suno.cn/api/v1"
#: 100 requests a minute: under the live service's 120 per key, with room for drift.
DEFAULT_RATE_LIMIT: Final = RateLimit()
#: How a media host refuses a link that has expired or a file it no longer keeps.
_GONE: Final = frozenset({403, 404, 410})
_KINDS: Final[dict[type[Video | Wav], TaskKind]] = {Video: TaskKind.VIDEO, Wav: TaskKind.WAV}


def _still_gone(exc: DownloadError) -> DownloadError:
    """The error of a download whose fresh link was refused as gone too."""
    msg = (
        f"{exc}. The link expired and the fresh one the task gave was refused too: media "
        "links last about an hour and the service keeps its copies about a day, so the "
        "file may be gone; download songs soon after they finish and keep your own copy"
    )
    return DownloadError(msg, url=exc.url, path=exc.path, status=exc.status)


logger: Final = logging.getLogger("suno_async")

#: Called with a paid call's task ids as soon as they are read, even if its caller was
#: cancelled meanwhile.
OnStarted = Callable[[tuple[int, ...]], object]


def _user_agent() -> str:
    from . import __version__  # noqa: PLC0415  (the version is read lazily from metadata)

    return f"suno-async/{__version__} aiohttp/{aiohttp.__version__}"


class AsyncSuno(Waiting):
    """
    A session with the Suno API: one coroutine per endpoint, and a watcher that awaits every
    started task of the session together in batch queries.

    Use it as ``async with AsyncSuno() as suno:``; it is safe to share among any number of
    coroutines of one event loop. The key comes from ``api_key`` or ``SUNO_API_KEY``, the
    base URL from ``base_url`` or ``SUNO_BASE_URL``.

    ``ssl`` is the TLS context for the service (certificates are verified by default; pass
    one for a private CA). ``max_response_bytes`` caps any answer's size. At most
    ``max_paid_in_flight`` paid POSTs are in flight at once, and no more than ``paid_rate``
    start per second when it is given. ``rate_limit`` is the key's request budget, which
    every request draws from (polls, free and paid calls, retries): by default 100 a
    minute, under the live service's 120 per key; ``RateLimit(per_minute=...)`` sets
    another, None sends as fast as the other limits let. It is per session, unless its
    ``redis_url`` shares it with every process and host on the key. To follow progress,
    iterate ``status_changes()`` (or ``handle.status_changes()``); ``on_status_change`` is
    a plain callback, called in the poll loop, that tools like the command line use.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        allow_insecure_http: bool = False,
        on_status_change: Callable[[StatusChange], object] | None = None,
        downloads: DownloadPolicy | None = None,
        ssl: _ssl.SSLContext | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_paid_in_flight: int = 4,
        paid_rate: float | None = None,
        proxy: str | URL | None = None,
        trust_env: bool = True,
        rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
    ) -> None:
        # Held in a Secret at once: should a later check raise, no frame's locals show the key.
        key = Secret(api_key if api_key is not None else os.environ.get("SUNO_API_KEY"))
        key_field = "api_key" if api_key is not None else "SUNO_API_KEY"
        del api_key
        check_settings(
            api_key=None,
            base_url=base_url,
            session=session,
            timeouts=timeouts,
            retry=retry,
            poll=poll,
            allow_insecure_http=allow_insecure_http,
            on_status_change=on_status_change,
            downloads=downloads,
        )
        check_transport_settings(
            ssl=ssl,
            max_response_bytes=max_response_bytes,
            max_paid_in_flight=max_paid_in_flight,
            paid_rate=paid_rate,
            trust_env=trust_env,
            rate_limit=rate_limit,
        )
        proxies = ProxyChoice(check_proxy(proxy), trust_env=trust_env)
        if key.reveal() is not None:
            check_key(key_field, key)
        if not key.reveal() or not str(key.reveal()).strip():
            msg = (
                "no API key: pass AsyncSuno(api_key=...) or set SUNO_API_KEY "
                "(for offline use, start suno_async.testing.FakeSunoServer)"
            )
            raise ConfigurationError(msg)
        # An empty base_url is refused, not taken for the real service; an empty
        # SUNO_BASE_URL is unset, as shells have it.
        url = (
            base_url
            if base_url is not None
            else os.environ.get("SUNO_BASE_URL") or DEFAULT_BASE_URL
        )
        self.base_url: URL = check_base_url(url, allow_insecure_http=allow_insecure_http)
        self._transport = Transport(
            api_key=str(key.reveal()).strip(),
            base_url=self.base_url,
            timeouts=timeouts or Timeouts(),
            retry=retry or RetryPolicy(),
            session=session,
            user_agent=_user_agent(),
            ssl=ssl,
            max_response_bytes=max_response_bytes,
            max_paid_in_flight=max_paid_in_flight,
            paid_rate=paid_rate,
            proxies=proxies,
            rate_limit=rate_limit,
        )
        self._batch = BatchQuery(self._transport)
        self._watcher = TaskWatcher(
            self._transport,
            poll or PollPolicy(),
            query=self._batch,
            on_status_change=on_status_change,
        )
        self._downloader = Downloader(
            downloads or DownloadPolicy(), user_agent=_user_agent(), proxies=proxies
        )
        self._host: asyncio.Task[None] | None = None
        self._closed = False
        self._orphaned: list[int] = []
        self._max_paid_in_flight = max_paid_in_flight

    def __repr__(self) -> str:
        # Also shown half-built, as a traceback's locals show the constructor's self.
        state = "closed" if getattr(self, "_closed", False) else "open"
        return f"<AsyncSuno base_url={str(getattr(self, 'base_url', None))!r} {state}>"

    # --- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> AsyncSuno:
        self._transport.check_usable("async with AsyncSuno()")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """
        Stop watching and close the HTTP session (unless the caller passed it in).

        Pending awaiters get :class:`SessionClosedError` naming their task id: the tasks go on
        on the service and can be awaited by id from a new session. Free calls in flight end
        with :class:`SessionClosedError` and are not retried; paid POSTs in flight are let
        finish first, so their task ids still reach their callers (within their deadline).
        """
        if self._closed:
            return
        self._closed = True
        self._watcher.close()
        with anyio.CancelScope(shield=True):
            if self._host is not None:
                self._host.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._host
            await self._transport.aclose()
            await self._downloader.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    def _ensure_watching(self) -> None:
        """Start the poll loop on first use, in a task group this session owns."""
        if self._closed:
            msg = "this AsyncSuno session is closed; create a new one to wait on tasks"
            raise SessionClosedError(message=msg)
        self._transport.check_usable("waiting on tasks")
        if self._host is None:
            self._host = asyncio.get_running_loop().create_task(
                self._host_watcher(), name="suno-async task watcher"
            )

    async def _host_watcher(self) -> None:
        # A task of its own hosts the group, so the session can be opened and closed from
        # different tasks (fixtures, web app lifespans) without crossing cancel scopes.
        async with anyio.create_task_group() as group:
            group.start_soon(self._watcher.run)

    # --- raw access ---------------------------------------------------------------------

    @property
    def last_response(self) -> RawResponse | None:
        """The HTTP response of this asyncio task's latest call (status, headers)."""
        return self._transport.last_response.get()

    @property
    def stats(self) -> WatcherStats:
        """The watcher's counters: requests, tasks resolved, polls per tick."""
        return self._watcher.stats

    @property
    def watcher(self) -> TaskWatcher:
        """
        The session's poll loop, for diagnostics and the SDK's own tests: not a stable API.

        Everything it does is reached through the session (``wait``, ``as_completed``,
        ``status_changes``, ``stats``); its class is not exported, as only a session can
        build one (it needs the session's transport).
        """
        return self._watcher

    @property
    def max_paid_in_flight(self) -> int:
        """The most paid POSTs this session lets be in flight at once."""
        return self._max_paid_in_flight

    @property
    def orphaned_task_ids(self) -> tuple[int, ...]:
        """
        Ids of tasks a paid call started whose caller never got them (it was cancelled, or
        its ``on_started`` raised): they cost points and run on the service; wait on them
        by id. Each is also logged as a warning.
        """
        return tuple(self._orphaned)

    @property
    def requests_sent(self) -> int:
        """Every HTTP request this session sent, calls and polls, attempts included."""
        return self._transport.requests_sent

    # --- endpoints ----------------------------------------------------------------------

    async def balance(self) -> Balance:
        """Points left on the account (free)."""
        data = await self._transport.call("GET", "/points/balance", paid=False)
        balance: Balance = self._decode(
            lambda: structure_balance(data), "GET", "/points/balance", data
        )
        return balance

    async def points_log(self, *, page: int = 1, limit: int = DEFAULT_LIMIT) -> PointsLogPage:
        """
        One page of the points ledger (free): what each call cost, each refund and top-up,
        with the balance after it; see :meth:`points_entries` to read it all.
        """
        page, limit = check_paging(page, limit)
        path = "/points/logs"
        params = {"page": str(page), "limit": str(limit)}
        data = await self._transport.call("GET", path, paid=False, params=params)
        log: PointsLogPage = self._decode(
            lambda: structure_points_log(data, page=page, limit=limit), "GET", path, data
        )
        return log

    def points_entries(
        self, *, limit: int = LIMIT_MAX, max_pages: int = MAX_PAGES
    ) -> AsyncIterator[PointsEntry]:
        """
        Every entry of the points ledger, page by page (free), each once: ``async for entry in
        suno.points_entries(): ...``. It ends on an empty, short or final page, or a page of
        entries already seen; at most ``max_pages`` pages are read.
        """

        async def fetch(page: int, size: int) -> PointsLogPage:
            return await self.points_log(page=page, limit=size)

        return walk_points_log(fetch, limit=limit, max_pages=max_pages)

    async def generate(
        self,
        *,
        title: str,
        description: str | None = None,
        lyrics: str | None = None,
        tags: str | None = None,
        model: str = DEFAULT_MODEL,
        negative_tags: str | None = None,
        instrumental: bool = False,
        vocal_gender: Literal["m", "f"] | None = None,
        style_weight: float | None = None,
        weirdness: float | None = None,
        on_started: OnStarted | None = None,
    ) -> tuple[TaskHandle[Song], ...]:
        """
        Start two songs (0.36 CNY): from a ``description`` (the service writes the lyrics),
        or from your ``lyrics`` with style ``tags``. Returns one handle per song.
        """
        request = GenerateRequest(
            model=model,
            title=title,
            description=description,
            lyrics=lyrics,
            tags=tags,
            negative_tags=negative_tags,
            instrumental=instrumental,
            vocal_gender=vocal_gender,
            style_weight=style_weight,
            weirdness=weirdness,
        )
        return await self.submit_generate(request, on_started=on_started)

    async def extend(
        self,
        clip_id: str,
        *,
        continue_at: float,
        title: str,
        lyrics: str | None = None,
        description: str | None = None,
        tags: str | None = None,
        model: str = DEFAULT_MODEL,
        negative_tags: str | None = None,
        instrumental: bool = False,
        vocal_gender: Literal["m", "f"] | None = None,
        style_weight: float | None = None,
        weirdness: float | None = None,
        audio_weight: float | None = None,
        on_started: OnStarted | None = None,
    ) -> tuple[TaskHandle[Song], ...]:
        """Continue the clip ``clip_id`` (a Suno id) from ``continue_at`` seconds: two songs."""
        clip_id = check_suno_id("clip_id", clip_id)
        request = GenerateRequest(
            model=model,
            title=title,
            description=description,
            lyrics=lyrics,
            tags=tags,
            negative_tags=negative_tags,
            instrumental=instrumental,
            vocal_gender=vocal_gender,
            style_weight=style_weight,
            weirdness=weirdness,
            audio_weight=audio_weight,
            continue_clip_id=clip_id,
            continue_at=continue_at,
        )
        return await self.submit_generate(request, on_started=on_started)

    async def cover(
        self,
        clip_id: str,
        *,
        title: str,
        lyrics: str | None = None,
        description: str | None = None,
        tags: str | None = None,
        model: str = DEFAULT_MODEL,
        negative_tags: str | None = None,
        instrumental: bool = False,
        vocal_gender: Literal["m", "f"] | None = None,
        style_weight: float | None = None,
        weirdness: float | None = None,
        audio_weight: float | None = None,
        on_started: OnStarted | None = None,
    ) -> tuple[TaskHandle[Song], ...]:
        """Cover the clip ``clip_id`` (a Suno id) in a new style: two songs."""
        clip_id = check_suno_id("clip_id", clip_id)
        request = GenerateRequest(
            model=model,
            title=title,
            description=description,
            lyrics=lyrics,
            tags=tags,
            negative_tags=negative_tags,
            instrumental=instrumental,
            vocal_gender=vocal_gender,
            style_weight=style_weight,
            weirdness=weirdness,
            audio_weight=audio_weight,
            cover_clip_id=clip_id,
        )
        return await self.submit_generate(request, on_started=on_started)

    async def submit_generate(
        self, request: GenerateRequest, *, on_started: OnStarted | None = None
    ) -> tuple[TaskHandle[Song], ...]:
        """
        Send a prepared :class:`GenerateRequest` (new song, extend or cover).

        ``on_started(task_ids)`` is called once, as soon as the service's answer is read and
        before this returns, even if the caller was cancelled meanwhile: the POST runs
        shielded, so a cancellation takes effect only once it is answered (or times out).
        """
        if not isinstance(request, GenerateRequest):
            raise ValidationError(
                "request", f"must be a GenerateRequest, got {type(request).__name__}"
            )
        ids = await self._start("/music/generate", request, on_started)
        return self._new_handles(ids, TaskKind.SONG)

    async def upload(
        self, audio_url: str, *, on_started: OnStarted | None = None
    ) -> TaskHandle[Song]:
        """Upload reference audio by URL (0.01 CNY), for a later extend or cover."""
        request = UploadRequest(audio_url)
        return await self._start_one("/music/upload", request, TaskKind.SONG, on_started)

    async def whole_song(
        self, clip_id: str, *, on_started: OnStarted | None = None
    ) -> TaskHandle[Song]:
        """Join a chain of extensions ending at ``clip_id`` into one song (0.01 CNY)."""
        request = WholeSongRequest(clip_id)
        return await self._start_one("/music/whole-song", request, TaskKind.SONG, on_started)

    async def aligned_lyrics(
        self, suno_id: str, *, lyrics: str, on_started: OnStarted | None = None
    ) -> TaskHandle[LyricsAlignment]:
        """Word timestamps for a finished song's lyrics (0.01 CNY)."""
        request = AlignedLyricsRequest(suno_id=suno_id, lyrics=lyrics)
        return await self._start_one(
            "/music/aligned-lyrics", request, TaskKind.ALIGNMENT, on_started
        )

    async def remaster(
        self,
        clip_id: str,
        *,
        model: RemasterModel | str,
        variation: Literal["subtle", "normal", "high"] | None = None,
        on_started: OnStarted | None = None,
    ) -> tuple[TaskHandle[Song], ...]:
        """
        Remaster a clip (0.36 CNY, two songs).

        ``model`` is one of :data:`REMASTER_MODELS` or a newer ``chirp-*`` name;
        ``variation`` is for V5 and newer models only.
        """
        request = RemasterRequest(clip_id=clip_id, model=model, variation=variation)
        ids = await self._start("/music/upsample", request, on_started)
        return self._new_handles(ids, TaskKind.SONG)

    async def sound(
        self,
        *,
        title: str,
        tags: str,
        model: SoundModel | str = DEFAULT_SOUND_MODEL,
        tempo: int | None = None,
        key: str | None = None,
        loop: bool = False,
        on_started: OnStarted | None = None,
    ) -> tuple[TaskHandle[Song], ...]:
        """
        Start a sound effect or a loop described by its style ``tags``; ``tempo`` in BPM,
        ``key`` such as ``"C minor"``. Its price is not published: it is sent as a paid call,
        never repeated once it may have reached the service. Results read as songs.
        """
        request = SoundRequest(title=title, tags=tags, model=model, tempo=tempo, key=key, loop=loop)
        return await self.submit_sound(request, on_started=on_started)

    async def submit_sound(
        self, request: SoundRequest, *, on_started: OnStarted | None = None
    ) -> tuple[TaskHandle[Song], ...]:
        """Send a prepared :class:`SoundRequest`, as :meth:`submit_generate` sends songs."""
        if not isinstance(request, SoundRequest):
            raise ValidationError(
                "request", f"must be a SoundRequest, got {type(request).__name__}"
            )
        ids = await self._start("/music/sound", request, on_started)
        return self._new_handles(ids, TaskKind.SONG)

    async def video(
        self, task_id: int, *, suno_id: str, on_started: OnStarted | None = None
    ) -> TaskHandle[Video]:
        """A music video for a finished song task (0.01 CNY)."""
        request = VideoRequest(task_id=task_id, suno_id=suno_id)
        return await self._start_one("/music/video", request, TaskKind.VIDEO, on_started)

    async def convert_wav(
        self, task_id: int, *, suno_id: str, on_started: OnStarted | None = None
    ) -> TaskHandle[Wav]:
        """A WAV file of a finished song task (0.01 CNY)."""
        request = ConvertWavRequest(task_id=task_id, suno_id=suno_id)
        return await self._start_one("/music/convert-wav", request, TaskKind.WAV, on_started)

    async def crop(
        self, clip_id: str, *, start_s: float, end_s: float, on_started: OnStarted | None = None
    ) -> TaskHandle[Song]:
        """Keep ``start_s`` to ``end_s`` seconds of a clip (0.01 CNY)."""
        request = CropRequest(clip_id=clip_id, start_s=start_s, end_s=end_s)
        return await self._start_one("/music/crop", request, TaskKind.SONG, on_started)

    async def speed(
        self,
        clip_id: str,
        *,
        multiplier: float,
        keep_pitch: bool = False,
        title: str | None = None,
        on_started: OnStarted | None = None,
    ) -> TaskHandle[Song]:
        """A faster or slower copy of a clip (0.01 CNY); ``multiplier`` from 0.25 to 2."""
        request = SpeedRequest(
            clip_id=clip_id, multiplier=multiplier, keep_pitch=keep_pitch, title=title
        )
        return await self._start_one("/music/speed", request, TaskKind.SONG, on_started)

    async def get_task(self, task_id: int) -> Task:
        """One task as the service sees it now (free); see :meth:`wait` to await it."""
        task_id = check_task_id("task_id", task_id)
        path = "/music/task"
        data = await self._transport.call("GET", path, paid=False, params={"id": str(task_id)})
        if data is None:
            raise NotFoundError(f"GET {path}: task {task_id} is unknown to the service", status=200)

        def read() -> Task:
            peek_own_row(data, task_id)
            return structure_task(data)

        task: Task = self._decode(read, "GET", path, data)
        return task

    async def get_tasks(self, task_ids: Sequence[int]) -> list[Task]:
        """
        Many tasks at once (free), paging through the batch query itself.

        Ids the service does not know are left out of the result. An id the service
        answered for is never left out: a row that cannot be read raises
        :class:`UndecodableResponseError` naming the ids involved, so an unreadable task is
        not taken for an unknown one.
        """
        ids = task_ids_of("task_ids", task_ids)
        if not ids:
            return []
        answer = await self._batch.rows(ids, self._watcher.policy.batch_size)
        tasks: list[Task] = []
        for task_id in ids:
            row = answer.found.get(task_id)
            if row is not None:
                try:
                    tasks.append(structure_task(row))
                except (WireFormatError, ValueError, TypeError, KeyError) as exc:
                    answer.unreadable[task_id] = (exc, row)
        error = answer.error()
        if error is not None:
            raise error
        return tasks

    def generate_many(
        self,
        requests: Sequence[GenerateRequest],
        *,
        journal: str | os.PathLike[str] | None = None,
        download_to: str | os.PathLike[str] | None = None,
        media: Sequence[Media] = ("audio",),
        max_points: int | None = None,
        dry_run: bool = False,
        resend_unknown: bool = False,
        allow_existing_media: bool = False,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    ) -> BulkRun:
        """
        Run many generate requests to the end, each paid for at most once::

            async with suno.generate_many(requests, journal="run.db", download_to="out") as run:
                async for outcome in run:
                    print(outcome.index, outcome.state, outcome.paths)

        ``journal`` (a SQLite file) makes the run resumable after any crash: run it again with
        the same requests and it collects what was started, downloads what is missing and
        never re-sends a request that may have reached the service (``resend_unknown=True``
        re-sends the ones a crash cut off mid-call). The cost is checked against the balance
        before the first paid call; ``max_points`` caps the journal's spending; ``dry_run``
        only computes ``run.estimate``. ``run.progress`` counts requests per state.
        A new journal beside files of these songs in ``download_to`` is refused
        (:class:`ExistingMediaError`: the earlier run's journal is missing, and starting
        afresh would pay again) unless ``allow_existing_media=True``. Requests added at the
        end of the list are taken in by an existing journal; changed ones are refused.
        ``max_download_bytes`` caps each downloaded file (200 MB by default, several times
        the largest real song or video), so a host that sends without end cannot fill the
        disk; a file past it is refused with :class:`MediaTooLargeError` and not kept.
        """
        return BulkRun(
            self,
            requests,
            journal=journal,
            download_to=download_to,
            media=media,
            max_points=max_points,
            dry_run=dry_run,
            resend_unknown=resend_unknown,
            allow_existing_media=allow_existing_media,
            max_download_bytes=max_download_bytes,
        )

    # --- plumbing -----------------------------------------------------------------------

    async def _start(
        self,
        path: str,
        request: object,
        on_started: OnStarted | None = None,
        *,
        on_send: Callable[[], object] | None = None,
    ) -> list[int]:
        if on_started is not None and not callable(on_started):
            raise ValidationError(
                "on_started", f"must be a function taking the task ids, got {show(on_started)}"
            )
        body = encode_request(request)
        started: list[int] = []

        def deliver(data: object) -> list[int]:
            ids: list[int] = self._decode(
                lambda: parse_task_ids(data), "POST", path, data, paid=True
            )
            started.extend(ids)
            logger.info("POST %s started task(s) %s", path, ", ".join(map(str, ids)))
            if on_started is not None:
                on_started(tuple(ids))
            return ids

        try:
            result: list[int] = await self._transport.call(
                "POST", path, paid=True, json_body=body, deliver=deliver, on_send=on_send
            )
        except BaseException:
            if started:
                self._orphaned.extend(started)
                logger.warning(
                    "POST %s started task(s) %s but its caller did not get them; they are "
                    "kept in AsyncSuno.orphaned_task_ids",
                    path,
                    ", ".join(map(str, started)),
                )
            raise
        return result

    async def _start_one(
        self,
        path: str,
        request: object,
        kind: TaskKind,
        on_started: OnStarted | None = None,
    ) -> TaskHandle[Any]:
        ids = await self._start(path, request, on_started)
        return self._new_handles(ids[:1], kind)[0]

    def _new_handles(self, ids: list[int], kind: TaskKind) -> tuple[TaskHandle[Any], ...]:
        started = self._watcher.clock.wall()
        return tuple(TaskHandle(i, kind, suno=self, started_at=started) for i in ids)

    @staticmethod
    def _decode(
        fn: Callable[[], Any], method: str, path: str, data: object, *, paid: bool = False
    ) -> Any:
        try:
            return fn()
        except (WireFormatError, ValueError, TypeError, KeyError) as exc:
            request = RequestInfo(method, path, paid=paid)
            what = f"{method} {path}: the answer's data"
            raise unreadable(what, exc, data, request=request, paid=paid) from exc

    # --- downloads (see _download.py) ---------------------------------------------------

    async def download(
        self,
        item: Downloadable,
        dest: str | os.PathLike[str],
        *,
        media: MediaKind | None = None,
        filename: str | None = None,
        max_bytes: int | None = None,
    ) -> Path:
        """
        Save a finished song's audio, video or cover, a :class:`Video`, a :class:`Wav`, or
        an http(s) URL into the folder ``dest``; returns the file's path.

        ``media`` picks what of a :class:`Song` (``"audio"`` by default, ``"video"``,
        ``"cover"``). The name is :func:`safe_filename` ``{task_id}-{title}.{ext}`` unless
        ``filename`` gives one (still inside ``dest``). Streamed in chunks, without the API
        key, under :class:`DownloadPolicy` limits; written atomically; a file already there
        at the host's size is kept, a different one raises :class:`DestinationExistsError`.
        """
        self._transport.check_usable("download")
        try:
            return await self._downloader.download(
                item, dest, media=media, filename=filename, max_bytes=max_bytes
            )
        except DownloadError as exc:
            fresh = await self._fresh_links(item, exc)
        try:
            return await self._downloader.download(
                fresh, dest, media=media, filename=filename, max_bytes=max_bytes
            )
        except DownloadError as exc:
            if exc.status not in _GONE:
                raise
            raise _still_gone(exc) from exc

    async def download_bytes(
        self,
        item: Downloadable,
        *,
        media: MediaKind | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> bytes:
        """
        The media as bytes (for bots), refused with :class:`MediaTooLargeError` past
        ``max_bytes`` (100 MiB by default) without reading the rest.
        """
        self._transport.check_usable("download_bytes")
        try:
            return await self._downloader.download_bytes(item, media=media, max_bytes=max_bytes)
        except DownloadError as exc:
            fresh = await self._fresh_links(item, exc)
        try:
            return await self._downloader.download_bytes(fresh, media=media, max_bytes=max_bytes)
        except DownloadError as exc:
            if exc.status not in _GONE:
                raise
            raise _still_gone(exc) from exc

    async def _fresh_links(self, item: Downloadable, exc: DownloadError) -> Song | Video | Wav:
        """
        The item again with the links of one fresh task query, when its host refused the
        link as gone; otherwise ``exc`` is raised again. Links expire about an hour after
        the task finished, and asking the task again gives fresh ones.
        """
        if exc.status not in _GONE or not isinstance(item, (Song, Video, Wav)):
            raise exc
        kind = TaskKind.SONG if isinstance(item, Song) else _KINDS[type(item)]
        logger.info(
            "task %s: its media link was refused (HTTP %s); asking for fresh links",
            item.task_id,
            exc.status,
        )
        try:
            task = await self.get_task(item.task_id)
            fresh: Song | Video | Wav = Waiting.result_of(task, kind)
        except SunoError as error:
            msg = (
                f"{exc}; asking task {item.task_id} again for fresh links failed too "
                f"({error}); the service keeps its files about a day: keep your own copy"
            )
            raise DownloadError(msg, url=exc.url, path=exc.path, status=exc.status) from error
        return fresh

    @property
    def downloads(self) -> Downloader:
        """The session's downloader: its policy and ``requests_sent`` to media hosts."""
        return self._downloader
