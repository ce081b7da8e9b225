"""An in-process stand-in for the open.suno.cn Suno API.

The real service cannot be reached from where the project is built and tested, so this
server follows the API reference closely enough for a client to be developed and
benchmarked against it: the envelope, the points ledger, task lifecycles on a simulated
clock, batch queries, realistic payload quirks, and injectable transport and protocol faults.

It is deliberately independent of the SDK: it imports nothing from ``suno_async``
outside this subpackage, so a bug in the client cannot hide behind a matching bug here.
The clock, the faults, the reference's rules, the ledger and the song making live in modules
of their own; this one holds the HTTP app and the endpoint handlers.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from typing import TYPE_CHECKING, Any, Final

import attrs
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from . import _data
from ._admin import admin_routes
from ._clock import SimClock
from ._expiry import LinkSigner
from ._faults import SPOILERS, Fault, drop, fault_response, spoil, take_fault
from ._ledger import Entry, Ledger
from ._media import MediaFile, check_size, media_for, serve
from ._rules import (
    NOT_FOUND_CLIP,
    NOT_FOUND_TASK,
    PRICES,
    ApiError,
    bad,
    crop_params,
    dumps,
    generate_params,
    integer,
    json_object,
    required,
    sound_params,
    speed_params,
    text,
    upload_params,
    upsample_params,
)
from ._settings import check_settings, one_of
from ._songs import SONG_KINDS, Call, FakeTask, SongMaker, TaskPlan

if TYPE_CHECKING:
    import ssl
    from collections.abc import Awaitable, Callable, Iterable

    from multidict import MultiMapping
    from typing_extensions import Self

    from suno_async import PollPolicy

__all__ = [
    "DIALECTS",
    "UNKNOWN_BATCH",
    "UNKNOWN_SINGLE",
    "FakeSunoServer",
    "MediaRequest",
    "PaidCall",
]

#: How the server answers: as the live service does today, or as the reference page shows.
DIALECTS: Final = ("live", "reference")
#: The most ids one batch query may ask about.
BATCH_LIMIT: Final = 100

#: The live service's words for an unknown task and for a key it does not know.
LIVE_NOT_FOUND: Final = "任务不存在"
LIVE_BAD_KEY: Final = "access_key 无效或已被禁用"
#: How the single task query answers an id it does not know.
UNKNOWN_SINGLE: Final = ("404", "null")
#: How the batch task query answers when some of its ids are unknown.
UNKNOWN_BATCH: Final = ("omit", "fail")


@attrs.frozen
class _Raw:
    """Already serialised ``data``: terminal rows are cached as JSON text and spliced."""

    text: str


@attrs.frozen
class PaidCall:
    """A paid POST the server accepted and charged: its endpoint, body and new task ids."""

    endpoint: str
    body: dict[str, Any]
    task_ids: tuple[int, ...]


@attrs.frozen
class MediaRequest:
    """A request the media host saw, with its headers (case-insensitive), to check auth."""

    path: str
    headers: CIMultiDictProxy[str]


@web.middleware
async def _quiet_hangups(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A client that hangs up mid-request is ordinary here, not an error with a traceback."""
    try:
        return await handler(request)
    except ConnectionResetError:
        # Nobody is left to read this; aiohttp discards it quietly on the closed transport.
        return web.Response(status=499)


class FakeSunoServer:
    """A local HTTP server that behaves like the Suno reseller API, with knobs for tests.

    Task status is computed when read from a simulated clock (``speed`` simulated seconds
    per real second, plus whatever ``advance()`` adds), so a hundred thousand idle tasks
    cost nothing and a benchmark can run hours of generation in seconds.

    The knobs, all keyword-only: ``seed`` fixes songs, timings and random faults;
    ``queued_s``/``generating_s`` are the simulated ranges of a task's phases and
    ``failure_rate`` the share that fails (``plans`` script them instead); ``faults`` (see
    ``Fault`` and ``FAULT_KINDS``) and ``error_rate`` misbehave; ``latency`` delays every
    API answer, ``paid_latency`` every paid POST; ``max_page_size``, ``batch_returns_total``,
    ``errors_as_http_200``, ``unknown_single`` and ``unknown_batch`` pick among the answers
    the reference allows; ``media_bytes`` sizes audio and video, ``separate_media_origin``
    serves them from a port of their own; media links expire ``media_link_ttl`` simulated
    seconds (an hour) after the task finished, and a fresh query gives fresh links (move
    the clock with ``advance()``), an expired link answering ``expired_link_status`` (403,
    or 404 or 410); ``ssl_context`` serves HTTPS. ``dialect`` picks the shapes of the
    answers (``DIALECTS``): ``"live"``, as the service answers today (the status a word,
    outputs under ``result``, a row id apart from the task id, ``task_ids`` on submit, m4a
    audio), or ``"reference"``, as the reference page shows them. What happened is
    recorded in ``requests``, ``faults_injected``, ``accepted_calls`` and ``media_requests``.

    ``points`` is the balance of a real ledger (``ledger``, paged by ``GET /points/logs``):
    each paid call books its price, each failed task gets its share back once it fails,
    and setting ``points`` books the difference as an adjustment. ``POST /music/sound``
    makes two clips for 36 points: the service publishes no price for sounds, so they are
    priced as the two-clip generation they are on Suno's side.
    """

    #: The ids of each batch query as sent, and their count: what poll tests read.
    batch_ids: list[tuple[str, ...]]
    batch_sizes: list[int]

    def __init__(
        self,
        *,
        api_key: str = "fake-key",
        points: int = 10_000,
        speed: float = 1.0,
        max_page_size: int = 50,
        batch_returns_total: bool = True,
        errors_as_http_200: bool = False,
        failure_rate: float = 0.0,
        queued_s: tuple[float, float] = (0.0, 5.0),
        generating_s: tuple[float, float] = (30.0, 120.0),
        seed: int | None = None,
        latency: float = 0.0,
        error_rate: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Iterable[Fault] = (),
        paid_latency: float = 0.0,
        unknown_single: str = "404",
        unknown_batch: str = "omit",
        media_bytes: int | tuple[int, int] | None = None,
        separate_media_origin: bool = False,
        media_link_ttl: float = 3600.0,
        expired_link_status: int = 403,
        ssl_context: ssl.SSLContext | None = None,
        dialect: str = "live",
    ) -> None:
        faults = list(faults)
        check_settings(
            max_page_size=max_page_size,
            speed=speed,
            latency=latency,
            paid_latency=paid_latency,
            failure_rate=failure_rate,
            error_rate=error_rate,
            queued_s=queued_s,
            generating_s=generating_s,
            points=points,
            port=port,
            faults=faults,
        )
        one_of("unknown_single", unknown_single, UNKNOWN_SINGLE)
        one_of("unknown_batch", unknown_batch, UNKNOWN_BATCH)
        one_of("dialect", dialect, DIALECTS)
        self.dialect = dialect
        check_size(media_bytes)
        self.api_key = api_key
        self.max_page_size = max_page_size
        self.batch_returns_total = batch_returns_total
        self.errors_as_http_200 = errors_as_http_200
        self.failure_rate = failure_rate
        self.queued_s = queued_s
        self.generating_s = generating_s
        self.latency = latency
        self.error_rate = error_rate
        self.paid_latency = paid_latency
        self.unknown_single = unknown_single
        self.unknown_batch = unknown_batch
        self.media_bytes = media_bytes
        self.separate_media_origin = separate_media_origin
        if not media_link_ttl > 0 or expired_link_status not in (403, 404, 410):
            msg = "media_link_ttl must be positive and expired_link_status 403, 404 or 410"
            raise ValueError(msg)
        self.expired_link_status = expired_link_status
        self.ssl_context = ssl_context
        self.host = host
        self.port: int = port
        self.requests: collections.Counter[str] = collections.Counter()
        self.batch_sizes, self.batch_ids = [], []
        self.faults: list[Fault] = list(faults)
        self.faults_injected: collections.Counter[str] = collections.Counter()
        self.plans: list[TaskPlan] = []
        self.accepted_calls: list[PaidCall] = []
        self.media_requests: list[MediaRequest] = []

        self._rng = random.Random(seed)
        self._fault_rng = random.Random(self._rng.getrandbits(64))
        self._links = LinkSigner(self._rng.randbytes(16), media_link_ttl)
        seed_base = self._rng.getrandbits(64)
        owner = {
            "user_id": _data.suno_id(self._rng),
            "display_name": "FakeSunoUser",
            "handle": "fakesunouser",
            "avatar_image_url": "https://cdn1.suno.ai/defaultPink.webp",
        }
        self._clock = SimClock(speed)
        self._ledger = Ledger(points, clock=self._clock.now, wall_text=self._wall_text)
        self._tasks: dict[int, FakeTask] = {}
        self._clips: dict[str, tuple[Call, int]] = {}
        self._songs = SongMaker(
            tasks=self._tasks,
            clips=self._clips,
            seed_base=seed_base,
            owner=owner,
            media_stem=self._media_stem,
            media_size=lambda name: self.media_file(name).size,
        )
        self._next_id = 199824
        self._runners: list[web.AppRunner] = []
        self._origin: str | None = None
        self._media_origin: str | None = None
        self._handlers: dict[str, Callable[[MultiMapping[str], dict[str, Any]], object]] = {
            "GET /points/balance": self._balance,
            "POST /music/generate": self._generate,
            "GET /music/task": self._task,
            "GET /music/tasks": self._tasks_page,
            "POST /music/upload": self._upload,
            "POST /music/whole-song": self._whole_song,
            "POST /music/aligned-lyrics": self._aligned_lyrics,
            "POST /music/upsample": self._upsample,
            "POST /music/video": self._video,
            "POST /music/convert-wav": self._convert_wav,
            "POST /music/crop": self._crop,
            "POST /music/speed": self._speed,
            "POST /music/sound": self._sound,
            "GET /points/logs": self._points_log,
        }

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on ``host``:``port`` (0 picks a free port), and on a second port for media."""
        if self._runners:
            return
        app = web.Application(middlewares=[_quiet_hangups])
        app.router.add_route("*", "/api/v1/{tail:.*}", self._api)
        if not self.separate_media_origin:
            app.router.add_get("/media/{name}", self._media)
        app.router.add_routes(admin_routes(self))
        try:
            self.port, self._origin = await self._listen(app, self.port)
            self._media_origin = self._origin
            if self.separate_media_origin:
                media = web.Application(middlewares=[_quiet_hangups])
                media.router.add_get("/media/{name}", self._media)
                _, self._media_origin = await self._listen(media, 0)
        except BaseException:
            await self.close()
            raise

    async def _listen(self, app: web.Application, port: int) -> tuple[int, str]:
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, self.host, port, ssl_context=self.ssl_context).start()
        bound = int(runner.addresses[0][1])
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "http" if self.ssl_context is None else "https"
        return bound, f"{scheme}://{host}:{bound}"

    async def close(self) -> None:
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()

    @property
    def origin(self) -> str:
        """Where the API and the ``/_fake`` admin endpoints are served."""
        if self._origin is None:
            msg = "the server has not been started"
            raise RuntimeError(msg)
        return self._origin

    @property
    def media_origin(self) -> str:
        """Where media files are served: ``origin``, or its own port when asked for."""
        if self._media_origin is None:
            msg = "the server has not been started"
            raise RuntimeError(msg)
        return self._media_origin

    @property
    def url(self) -> str:
        """The base URL to give the client."""
        return f"{self.origin}/api/v1"

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    # -- the ledger ----------------------------------------------------------------------

    @property
    def points(self) -> int:
        """The balance, refunds of tasks failed by now included; setting it books an adjustment."""
        return self._ledger.balance

    @points.setter
    def points(self, value: int) -> None:
        self._ledger.set_balance(value)

    @property
    def ledger(self) -> Ledger:
        """Every movement of points, oldest first in ``ledger.entries``."""
        self._ledger.settle()
        return self._ledger

    def _wall_text(self, task: FakeTask | None) -> str:
        """An entry's time as the service writes it: now, or when ``task`` ended."""
        wall = None if task is None else self.completed_at_wall(task.id)
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall or time.time()))

    # -- simulated clock ---------------------------------------------------------------

    @property
    def speed(self) -> float:
        """Simulated seconds per real second; changing it keeps the time already reached."""
        return self._clock.speed

    @speed.setter
    def speed(self, value: float) -> None:
        self._clock.speed = value

    def now(self) -> float:
        """Simulated seconds since the server was made."""
        return self._clock.now()

    def advance(self, seconds: float) -> float:
        """Jump the simulated clock; returns the new simulated time."""
        return self._clock.advance(seconds)

    def poll_policy(self, **overrides: Any) -> PollPolicy:
        """
        The SDK's default ``PollPolicy`` on this server's clock, for fast tests and demos.

        First polls come after the default simulated wait divided by ``speed``, and ticks
        every ~5 simulated seconds (at least 20 ms); at speed 0 the clock only moves by
        ``advance()``, so tasks are asked about at once and every 50 ms. ``overrides`` are
        passed on (e.g. ``batch_size=``). This is the one place the fake imports the SDK.
        """
        from suno_async import PollPolicy  # noqa: PLC0415 - the fake stays SDK-free otherwise

        default = PollPolicy()
        speed = self.speed
        if speed > 0:
            first_poll = {kind: wait / speed for kind, wait in default.first_poll.items()}
            interval = max(0.02, default.interval / speed)
        else:
            first_poll = dict.fromkeys(default.first_poll, 0.0)
            interval = 0.05
        options: dict[str, Any] = {"interval": interval, "first_poll": first_poll}
        return PollPolicy(**{**options, **overrides})

    def media_file(self, url: str) -> MediaFile:
        """The file a media URL this server handed out serves, e.g. to check a download."""
        found = media_for(url.partition("?")[0].rpartition("/")[2], self.media_bytes)
        if found is None:
            msg = f"not a media URL of this server: {url}"
            raise ValueError(msg)
        return found

    @property
    def paid_calls(self) -> collections.Counter[str]:
        """Accepted (charged) paid calls by endpoint; see ``accepted_calls`` for bodies."""
        return collections.Counter(call.endpoint for call in self.accepted_calls)

    def stats(self) -> dict[str, Any]:
        """The counters, as ``GET /_fake/stats`` serves them."""
        return {
            "requests": dict(self.requests),
            "total_requests": self.total_requests,
            "faults_injected": dict(self.faults_injected),
            "paid_calls": dict(self.paid_calls),
            "points": self.points,
            "now": self.now(),
        }

    def reset_counters(self) -> None:
        """Forget requests, batch sizes, faults injected and media requests (not paid calls)."""
        self.requests.clear()
        self.batch_sizes.clear()
        self.batch_ids.clear()
        self.faults_injected.clear()
        self.media_requests.clear()

    # -- test-facing helpers -------------------------------------------------------------

    def task(self, task_id: int) -> FakeTask:
        return self._tasks[task_id]

    def finish(self, task_id: int, succeed: bool = True, errormsg: str | None = None) -> None:
        """End a running task now; ending a finished one is refused so tests notice races."""
        task = self._tasks[task_id]
        now = self.now()
        if task.status_at(now) >= 3:
            msg = f"task {task_id} has already finished"
            raise ValueError(msg)
        task.started_at = min(task.started_at, now)
        task.done_at = now
        task.succeed = succeed
        task.finished_wall = time.time()
        if succeed:
            task.errormsg = task.errormsg_en = None
        else:
            task.errormsg = errormsg or _data.DEFAULT_FAILURE[0]
            task.errormsg_en = errormsg or _data.DEFAULT_FAILURE[1]
        task.call.extend = None
        self._ledger.watch(task)
        for sibling in task.call.task_ids:
            self._tasks[sibling].row_cache = None

    def completed_at_wall(self, task_id: int) -> float | None:
        task = self._tasks[task_id]
        if task.finished_wall is not None:
            return task.finished_wall
        return self._clock.wall_reaching(task.done_at, task.created_mono)

    # -- request plumbing ----------------------------------------------------------------

    @property
    def _live(self) -> bool:
        return self.dialect == "live"

    def _error(self, code: int, message: str, status: int | None = None) -> web.Response:
        body: dict[str, object] = {"code": code, "message": message, "data": None}
        if not self._live:
            body["success"] = False
        if status is None:
            status = 200 if self.errors_as_http_200 else code
        return web.Response(status=status, text=dumps(body), content_type="application/json")

    def _ok(self, data: object, message: str) -> web.Response:
        fragment = data.text if isinstance(data, _Raw) else dumps(data)
        if self._live:
            text = f'{{"code":200,"message":"success","data":{fragment}}}'
        else:
            text = f'{{"code":200,"message":{dumps(message)},"data":{fragment},"success":true}}'
        return web.Response(text=text, content_type="application/json")

    async def _api(self, request: web.Request) -> web.StreamResponse:
        key = f"{request.method} /{request.match_info['tail']}"
        self.requests[key] += 1
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if self.paid_latency > 0 and request.method == "POST":
            await asyncio.sleep(self.paid_latency)
        fault = take_fault(self.faults, key, self.error_rate, self._fault_rng)
        if fault is None:
            return await self._handle(request, key)
        self.faults_injected[fault.kind] += 1
        if fault.kind not in SPOILERS:
            return await fault_response(request, fault, self._error)
        return await spoil(request, await self._handle(request, key), fault)

    async def _handle(self, request: web.Request, key: str) -> web.Response:
        handler = self._handlers.get(key)
        if handler is None:
            return self._error(404, "接口不存在 (no such endpoint)")
        try:
            header = request.headers.get("Authorization")
            scheme, _, token = (header or "").partition(" ")
            if scheme.lower() != "bearer" or token.strip() != self.api_key:
                if not self._live:
                    raise ApiError(401, "未授权: invalid API key")
                raise ApiError(401, "缺少 Authorization 请求头" if header is None else LIVE_BAD_KEY)
            body = json_object(await request.read()) if request.method == "POST" else {}
            data = handler(request.query, body)
        except ApiError as exc:
            return self._error(exc.code, exc.message, exc.http_status)
        if request.method == "POST":
            ids = tuple(data) if isinstance(data, list) else (data,)
            self.accepted_calls.append(PaidCall(key, body, ids))
            if self._live:
                data = {"task_ids": list(ids)}
        return self._ok(data, "查询成功" if key == "GET /points/balance" else "请求成功")

    # -- ledger and task creation ----------------------------------------------------------

    def _charge(self, kind: str) -> tuple[int, Entry]:
        cost = PRICES.get(kind, 1)
        if self.points < cost:
            raise ApiError(402, "积分不足 (insufficient points)")
        return cost, self._ledger.consume(cost, kind)

    def _create(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        count: int = 1,
        mv: str | None = None,
        custom_id: str | None = None,
    ) -> list[int]:
        cost, charge = self._charge(kind)
        now = self.now()
        wall = time.time()
        mono = time.monotonic()
        created_text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall))
        call = Call(kind=kind, params=params, created_wall=wall)
        rng = self._rng
        for index in range(count):
            task_id = self._next_id
            self._next_id += 1
            if self.plans:
                plan = self.plans.pop(0)
                queued, generating = plan.queued_s, plan.generating_s
                succeed, errormsg, errormsg_en = plan.succeed, plan.errormsg, plan.errormsg_en
            else:
                queued = rng.uniform(*self.queued_s)
                generating = rng.uniform(*self.generating_s)
                succeed = rng.random() >= self.failure_rate
                errormsg, errormsg_en = rng.choice(_data.FAILURES)
            clip_id = custom_id
            if kind in SONG_KINDS:
                clip_id = _data.suno_id(rng)
                call.clip_ids.append(clip_id)
                self._clips[clip_id] = (call, index)
            call.task_ids.append(task_id)
            self._tasks[task_id] = FakeTask(
                id=task_id,
                kind=kind,
                created_at=now,
                started_at=now + queued,
                done_at=now + queued + generating,
                succeed=succeed,
                errormsg=None if succeed else errormsg,
                errormsg_en=None if succeed else errormsg_en,
                custom_id=clip_id,
                mv=mv,
                created_mono=mono,
                created_text=created_text,
                clock=self._clock.now,
                call=call,
                points_cost=cost // count,
            )
            self._ledger.watch(self._tasks[task_id])
        charge.task_ids = tuple(call.task_ids)
        charge.remark = f"消费: {kind} 任务 {','.join(map(str, call.task_ids))}"
        return call.task_ids

    def _clip(self, body: dict[str, Any], field: str) -> tuple[str, FakeTask]:
        """
        Resolve a Suno id the server produced; task ids (ASCII digits, as the SDK reads
        them: "²" is no task id) and failed clips are refused.
        """
        value = body.get(field)
        if (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()
        ):
            raise bad(field, "应为 Suno id 而不是任务 id", "must be a Suno id, not a task id")
        clip_id = text(body, field)
        found = self._clips.get(clip_id)
        if found is None:
            raise ApiError(404, NOT_FOUND_CLIP)
        call, index = found
        task = self._tasks[call.task_ids[index]]
        if task.status_at(self.now()) == 4:
            raise ApiError(404, NOT_FOUND_CLIP)
        return clip_id, task

    # -- endpoints ---------------------------------------------------------------------

    def _balance(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        return {"remaining_points": self.points}

    def _generate(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        params = generate_params(body, lambda body, field: self._clip(body, field)[0])
        return self._create("generate", params, count=2, mv=params["mv"])

    def _task_id(self, value: str | None, field: str) -> int:
        """An id from a query: the live service refuses a missing or non-numeric one in words."""
        if not self._live:
            return integer(value, field)
        if value is None or not value.strip():
            raise ApiError(400, f"缺少参数 {field}")
        if not (value.strip().isascii() and value.strip().isdigit()):
            raise ApiError(400, "参数 id 必须是数字")
        return int(value)

    def _task(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        task_id = self._task_id(query.get("id"), "id")
        task = self._tasks.get(task_id)
        if task is None:
            if self.unknown_single == "null":
                return None
            raise ApiError(404, LIVE_NOT_FOUND if self._live else NOT_FOUND_TASK)
        if self._live:
            return _Raw(self._signed(task, self._songs.live_row(task, self.now())))
        row = self._signed(task, self._songs.row(task, self.now()))
        if task_id % 2 == 0:
            # The reference's own example nests success and message inside data.
            row = row[:-1] + ',"success":true,"message":"请求成功"}'
        return _Raw(row)

    def _tasks_page(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        pieces = [piece.strip() for piece in query.get("ids", "").split(",")]
        pieces = [piece for piece in pieces if piece]
        self.batch_sizes.append(len(pieces))
        self.batch_ids.append(tuple(pieces))
        if not pieces:
            raise ApiError(400, "缺少参数 ids") if self._live else required("ids")
        if self._live and len(pieces) > BATCH_LIMIT:
            raise ApiError(400, f"一次最多查询 {BATCH_LIMIT} 个任务")
        ids = [self._task_id(piece, "ids") for piece in pieces]
        page = integer(query.get("page", "1"), "page")
        size = integer(query.get("size", "10"), "size")
        if page < 1:
            raise bad("page", "必须大于 0", "must be at least 1")
        if size < 1:
            raise bad("size", "必须大于 0", "must be at least 1")
        size = min(size, self.max_page_size)
        tasks = self._tasks
        known = [tasks[task_id] for task_id in ids if task_id in tasks]
        if self.unknown_batch == "fail" and len(known) < len(ids):
            # Some deployments refuse the whole batch, in an HTTP 200 with code 500.
            raise ApiError(500, LIVE_NOT_FOUND if self._live else NOT_FOUND_TASK, http_status=200)
        now = self.now()
        shown = known[(page - 1) * size : page * size]
        if self._live:
            rows = ",".join(self._signed(task, self._songs.live_row(task, now)) for task in shown)
            return _Raw(f'{{"list":[{rows}],"total":{len(known)},"page":{page},"size":{size}}}')
        rows = ",".join(self._signed(task, self._songs.row(task, now)) for task in shown)
        total = f',"total":{len(known)}' if self.batch_returns_total else ""
        return _Raw(f'{{"rows":[{rows}]{total}}}')

    def _upload(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        return self._create("upload", upload_params(body), mv="chirp-v4")[0]

    def _whole_song(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        clip_id, source = self._clip(body, "clip_id")
        return self._create("whole-song", {"clip_id": clip_id}, mv=source.mv)[0]

    def _aligned_lyrics(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        lyrics = text(body, "lyrics")
        suno_id, source = self._clip(body, "suno_id")
        if source.status_at(self.now()) != 3:
            raise bad("suno_id", "对应的歌曲尚未完成", "refers to a song that is not complete")
        params = {"lyrics": lyrics, "suno_id": suno_id}
        return self._create("aligned-lyrics", params, mv=source.mv, custom_id=suno_id)[0]

    def _upsample(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        clip_id, _ = self._clip(body, "clip_id")
        params = upsample_params(body, clip_id)
        return self._create("upsample", params, count=2, mv=params["model_name"])

    def _song_task(self, body: dict[str, Any]) -> tuple[int, str, FakeTask]:
        task_id = integer(body.get("task_id"), "task_id")
        task = self._tasks.get(task_id)
        if task is None:
            raise ApiError(404, NOT_FOUND_TASK)
        if task.kind not in SONG_KINDS:
            raise bad("task_id", "不是歌曲任务", "is not a song task")
        suno_id, _ = self._clip(body, "suno_id")
        if suno_id != task.custom_id:
            raise bad("suno_id", "与 task_id 不匹配", "does not belong to task_id")
        return task_id, suno_id, task

    def _video(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        task_id, suno_id, source = self._song_task(body)
        params = {"task_id": task_id, "suno_id": suno_id}
        return self._create("video", params, mv=source.mv, custom_id=suno_id)[0]

    def _convert_wav(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        task_id, suno_id, source = self._song_task(body)
        params = {"task_id": task_id, "suno_id": suno_id}
        return self._create("convert-wav", params, mv=source.mv, custom_id=suno_id)[0]

    def _crop(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        clip_id, source = self._clip(body, "clip_id")
        return self._create("crop", crop_params(body, clip_id), mv=source.mv)[0]

    def _speed(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        clip_id, source = self._clip(body, "clip_id")
        return self._create("speed", speed_params(body, clip_id), mv=source.mv)[0]

    def _sound(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        params = sound_params(body)
        return self._create("sound", params, count=2, mv=params["mv"])

    def _points_log(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        """Newest first; ``limit`` is capped at ``max_page_size`` as the batch query's size."""
        page = integer(query.get("page", "1"), "page")
        limit = integer(query.get("limit", "10"), "limit")
        if page < 1:
            raise bad("page", "必须大于 0", "must be at least 1")
        if limit < 1:
            raise bad("limit", "必须大于 0", "must be at least 1")
        limit = min(limit, self.max_page_size)
        entries, total = self._ledger.page(page, limit)
        shown = [entry.wire(live=self._live) for entry in entries]
        if self._live:
            return {"total": total, "list": shown, "page": page, "limit": limit}
        return {"total": total, "list": shown}

    # -- rows and results --------------------------------------------------------------

    def _signed(self, task: FakeTask, row: str) -> str:
        """The row with its media links signed for the expiry window of now."""
        now = self.now()
        if task.status_at(now) != 3:
            return row
        return self._links.sign(row, self._links.expires(task.done_at, now))

    def _media_stem(self, task_id: int) -> str:
        return f"{self.media_origin}/media/{task_id}"

    # -- media -------------------------------------------------------------------------

    async def _media(self, request: web.Request) -> web.StreamResponse:
        self.requests["GET /media"] += 1
        headers = CIMultiDictProxy(CIMultiDict(request.headers))
        self.media_requests.append(MediaRequest(request.path_qs, headers))
        found = media_for(request.match_info["name"], self.media_bytes)
        if found is None:
            raise web.HTTPNotFound
        query = request.query
        expires, token = query.get("expires"), query.get("token")
        if not self._links.valid(request.path, expires, token, self.now()):
            return web.Response(status=self.expired_link_status, text="link expired")
        fault = take_fault(self.faults, "GET /media", 0.0, self._fault_rng, named_only=True)
        if fault is None:
            return await serve(request, found)
        self.faults_injected[fault.kind] += 1
        if fault.kind == "latency":
            await asyncio.sleep(fault.delay)
        elif fault.kind in ("truncated", "slow_body"):
            trickle = fault.delay if fault.kind == "slow_body" else 0.0
            return await serve(request, found, cut=fault.kind == "truncated", trickle=trickle)
        elif fault.kind == "drop_after":
            return drop(request)
        elif fault.kind == "oversized":
            # Filler up to the announced size: a runaway host, bounded by that size.
            mib = fault.code if fault.code != 500 else 2048
            return await serve(request, attrs.evolve(found, size=mib * 2**20))
        else:
            return await fault_response(request, fault, self._error)
        return await serve(request, found)
