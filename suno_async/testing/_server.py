"""An in-process stand-in for the open.suno.cn Suno API.

The real service cannot be reached from where the project is built and tested, so this
server follows the API reference closely enough for a client to be developed and
benchmarked against it: the envelope, the ledger, task lifecycles on a simulated clock,
batch queries, realistic payload quirks, and injectable transport and protocol faults.

It is deliberately independent of the SDK: it imports nothing from ``suno_async``
outside this subpackage, so a bug in the client cannot hide behind a matching bug here.
The clock, the faults, the reference's rules and the song making live in modules of their
own; this one holds the HTTP app, the ledger and the endpoint handlers.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import time
from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import web

from . import _data
from ._clock import SimClock
from ._faults import Fault, drop, fault_response, take_fault
from ._media import media_for
from ._rules import (
    NOT_FOUND_CLIP,
    NOT_FOUND_TASK,
    PRICES,
    SPEEDS,
    UPSAMPLE_MODELS,
    VARIATIONS,
    ApiError,
    bad,
    dumps,
    flag,
    integer,
    is_v5,
    json_object,
    maybe_text,
    metadata,
    number,
    required,
    text,
)
from ._songs import SONG_KINDS, Call, FakeTask, SongMaker, TaskPlan

if TYPE_CHECKING:
    from collections.abc import Callable

    from multidict import MultiMapping
    from typing_extensions import Self

__all__ = ["FakeSunoServer", "FakeTask", "Fault", "TaskPlan"]


@attrs.frozen
class _Raw:
    """Already serialised ``data``: terminal rows are cached as JSON text and spliced."""

    text: str


def _admin_error(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=dumps({"error": message}), content_type="application/json")


class FakeSunoServer:
    """A local HTTP server that behaves like the Suno reseller API, with knobs for tests.

    Task status is computed when read from a simulated clock (``speed`` simulated seconds
    per real second, plus whatever ``advance()`` adds), so a hundred thousand idle tasks
    cost nothing and a benchmark can run hours of generation in seconds.
    """

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
    ) -> None:
        if max_page_size < 1:
            msg = "max_page_size must be at least 1"
            raise ValueError(msg)
        self.api_key = api_key
        self.points = points
        self.max_page_size = max_page_size
        self.batch_returns_total = batch_returns_total
        self.errors_as_http_200 = errors_as_http_200
        self.failure_rate = failure_rate
        self.queued_s = queued_s
        self.generating_s = generating_s
        self.latency = latency
        self.error_rate = error_rate
        self.host = host
        self.port = port
        self.requests: collections.Counter[str] = collections.Counter()
        self.batch_sizes: list[int] = []
        self.faults: list[Fault] = []
        self.plans: list[TaskPlan] = []

        self._rng = random.Random(seed)
        self._fault_rng = random.Random(self._rng.getrandbits(64))
        seed_base = self._rng.getrandbits(64)
        owner = {
            "user_id": _data.suno_id(self._rng),
            "display_name": "FakeSunoUser",
            "handle": "fakesunouser",
            "avatar_image_url": "https://cdn1.suno.ai/defaultPink.webp",
        }
        self._clock = SimClock(speed)
        self._tasks: dict[int, FakeTask] = {}
        self._clips: dict[str, tuple[Call, int]] = {}
        self._songs = SongMaker(
            tasks=self._tasks,
            clips=self._clips,
            seed_base=seed_base,
            owner=owner,
            media_stem=self._media_stem,
        )
        self._next_id = 199824
        self._runner: web.AppRunner | None = None
        self._origin: str | None = None
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
        }

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_route("*", "/api/v1/{tail:.*}", self._api)
        app.router.add_get("/media/{name}", self._media)
        app.router.add_get("/_fake/stats", self._admin_stats)
        app.router.add_post("/_fake/completions", self._admin_completions)
        app.router.add_post("/_fake/advance", self._admin_advance)
        app.router.add_post("/_fake/reset-counters", self._admin_reset)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._origin = f"http://{host}:{self.port}"

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def origin(self) -> str:
        if self._origin is None:
            msg = "the server has not been started"
            raise RuntimeError(msg)
        return self._origin

    @property
    def url(self) -> str:
        return f"{self.origin}/api/v1"

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

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
        for sibling in task.call.task_ids:
            self._tasks[sibling].row_cache = None

    def completed_at_wall(self, task_id: int) -> float | None:
        task = self._tasks[task_id]
        if task.finished_wall is not None:
            return task.finished_wall
        return self._clock.wall_reaching(task.done_at, task.created_mono)

    # -- request plumbing ----------------------------------------------------------------

    def _error(self, code: int, message: str) -> web.Response:
        body = {"code": code, "message": message, "data": None, "success": False}
        status = 200 if self.errors_as_http_200 else code
        return web.Response(status=status, text=dumps(body), content_type="application/json")

    @staticmethod
    def _ok(data: object, message: str) -> web.Response:
        fragment = data.text if isinstance(data, _Raw) else dumps(data)
        text = f'{{"code":200,"message":{dumps(message)},"data":{fragment},"success":true}}'
        return web.Response(text=text, content_type="application/json")

    async def _api(self, request: web.Request) -> web.StreamResponse:
        key = f"{request.method} /{request.match_info['tail']}"
        self.requests[key] += 1
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        fault = take_fault(self.faults, key, self.error_rate, self._fault_rng)
        if fault is not None and fault.kind not in ("latency", "drop_after"):
            return await fault_response(request, fault, self._error)
        response = await self._handle(request, key)
        if fault is not None and fault.kind == "latency":
            # Work first, answer late: a client that gives up has still been charged.
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.kind == "drop_after":
            return drop(request)
        return response

    async def _handle(self, request: web.Request, key: str) -> web.Response:
        handler = self._handlers.get(key)
        if handler is None:
            return self._error(404, "接口不存在 (no such endpoint)")
        try:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token.strip() != self.api_key:
                raise ApiError(401, "未授权: invalid API key")
            body = json_object(await request.read()) if request.method == "POST" else {}
            data = handler(request.query, body)
        except ApiError as exc:
            return self._error(exc.code, exc.message)
        return self._ok(data, "查询成功" if key == "GET /points/balance" else "请求成功")

    # -- ledger and task creation ----------------------------------------------------------

    def _charge(self, kind: str) -> None:
        cost = PRICES.get(kind, 1)
        if self.points < cost:
            raise ApiError(402, "积分不足 (insufficient points)")
        self.points -= cost

    def _create(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        count: int = 1,
        mv: str | None = None,
        custom_id: str | None = None,
    ) -> list[int]:
        self._charge(kind)
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
            )
        return call.task_ids

    def _clip(self, body: dict[str, Any], field: str) -> tuple[str, FakeTask]:
        """Resolve a Suno id the server produced; task ids and failed clips are refused."""
        value = body.get(field)
        if (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.strip().isdigit()
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
        mv = text(body, "mv")
        prompt_limit, tags_limit, title_limit = (5000, 1000, 100) if is_v5(mv) else (3000, 200, 80)
        has_description = body.get("gpt_description_prompt") is not None
        has_prompt = body.get("prompt") is not None
        if has_description and has_prompt:
            raise bad(
                "gpt_description_prompt",
                "与 prompt 只能二选一",
                "and prompt are mutually exclusive",
            )
        if not has_description and not has_prompt:
            raise bad(
                "prompt",
                "或 gpt_description_prompt 必须提供一个",
                "or gpt_description_prompt is required",
            )
        instrumental = flag(body, "make_instrumental")
        params: dict[str, Any] = {"mv": mv, "make_instrumental": instrumental}
        if has_prompt:
            params["prompt"] = text(body, "prompt", limit=prompt_limit, empty=instrumental)
            params["tags"] = text(body, "tags", limit=tags_limit)
            params["title"] = text(body, "title", limit=title_limit)
        else:
            params["gpt_description_prompt"] = text(body, "gpt_description_prompt")
            params["tags"] = maybe_text(body, "tags", limit=tags_limit)
            params["title"] = maybe_text(body, "title", limit=title_limit)
        params["negative_tags"] = maybe_text(body, "negative_tags", limit=tags_limit)
        mode = body.get("task") or None
        if mode == "extend":
            params["continue_clip_id"], _ = self._clip(body, "continue_clip_id")
            params["continue_at"] = number(body, "continue_at")
            if params["continue_at"] < 0:
                raise bad("continue_at", "不能为负数", "must not be negative")
        elif mode == "cover":
            params["cover_clip_id"], _ = self._clip(body, "cover_clip_id")
        elif mode is not None:
            raise bad("task", "只能是 extend 或 cover", "must be 'extend' or 'cover'")
        params["task"] = mode
        params["metadata"] = metadata(body.get("metadata"))
        return self._create("generate", params, count=2, mv=mv)

    def _task(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        task_id = integer(query.get("id"), "id")
        task = self._tasks.get(task_id)
        if task is None:
            raise ApiError(404, NOT_FOUND_TASK)
        row = self._songs.row(task, self.now())
        if task_id % 2 == 0:
            # The reference's own example nests success and message inside data.
            row = row[:-1] + ',"success":true,"message":"请求成功"}'
        return _Raw(row)

    def _tasks_page(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        pieces = [piece.strip() for piece in query.get("ids", "").split(",")]
        pieces = [piece for piece in pieces if piece]
        self.batch_sizes.append(len(pieces))
        if not pieces:
            raise required("ids")
        ids = [integer(piece, "ids") for piece in pieces]
        page = integer(query.get("page", "1"), "page")
        size = integer(query.get("size", "10"), "size")
        if page < 1:
            raise bad("page", "必须大于 0", "must be at least 1")
        if size < 1:
            raise bad("size", "必须大于 0", "must be at least 1")
        size = min(size, self.max_page_size)
        tasks = self._tasks
        known = [tasks[task_id] for task_id in ids if task_id in tasks]
        now = self.now()
        rows = ",".join(
            self._songs.row(task, now) for task in known[(page - 1) * size : page * size]
        )
        total = f',"total":{len(known)}' if self.batch_returns_total else ""
        return _Raw(f'{{"rows":[{rows}]{total}}}')

    def _upload(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        url = text(body, "audio_url")
        if not url.startswith(("http://", "https://")):
            raise bad("audio_url", "必须是 http(s) 链接", "must be an http(s) URL")
        return self._create("upload", {"audio_url": url}, mv="chirp-v4")[0]

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
        model = text(body, "model_name")
        if model not in UPSAMPLE_MODELS:
            raise bad("model_name", "只能是 chirp-carp、chirp-bass 或 chirp-up", "is not supported")
        variation = maybe_text(body, "variation_category")
        if variation is not None and variation not in VARIATIONS:
            raise bad("variation_category", "只能是 subtle、normal 或 high", "is not supported")
        if variation is not None and model != "chirp-carp":
            raise bad("variation_category", "仅适用于 chirp-carp (v5)", "is for chirp-carp only")
        params = {"clip_id": clip_id, "model_name": model, "variation_category": variation}
        return self._create("upsample", params, count=2, mv=model)

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
        start = number(body, "crop_start_s")
        end = number(body, "crop_end_s")
        if not 0 <= start < end:
            raise bad(
                "crop_start_s",
                "必须满足 0 <= crop_start_s < crop_end_s",
                "must be >= 0 and < crop_end_s",
            )
        params = {"clip_id": clip_id, "crop_start_s": start, "crop_end_s": end}
        return self._create("crop", params, mv=source.mv)[0]

    def _speed(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        clip_id, source = self._clip(body, "clip_id")
        multiplier = number(body, "speed_multiplier")
        if multiplier not in SPEEDS:
            raise bad("speed_multiplier", "只能是 0.25/0.5/0.75/1/1.25/1.5/2", "is not supported")
        params = {
            "clip_id": clip_id,
            "speed_multiplier": multiplier,
            "keep_pitch": flag(body, "keep_pitch"),
            "title": maybe_text(body, "title"),
        }
        return self._create("speed", params, mv=source.mv)[0]

    # -- rows and results --------------------------------------------------------------

    def _media_stem(self, task_id: int) -> str:
        return f"{self.origin}/media/{task_id}"

    # -- media and admin -----------------------------------------------------------------

    async def _media(self, request: web.Request) -> web.StreamResponse:
        self.requests["GET /media"] += 1
        found = media_for(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound
        content_type, payload = found
        return web.Response(body=payload, content_type=content_type)

    def _stats(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "total_requests": self.total_requests,
            "points": self.points,
            "now": self.now(),
        }

    async def _admin_stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._stats())

    async def _admin_json(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise _admin_error("body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _admin_error("body must be a JSON object")
        return body

    async def _admin_completions(self, request: web.Request) -> web.StreamResponse:
        body = await self._admin_json(request)
        result: dict[str, float | None] = {}
        for raw_id in body.get("ids") or []:
            try:
                task_id = int(raw_id)
            except (TypeError, ValueError):
                raise _admin_error(f"not a task id: {raw_id!r}") from None
            result[str(raw_id)] = (
                self.completed_at_wall(task_id) if task_id in self._tasks else None
            )
        return web.json_response({"completed_at_wall": result})

    async def _admin_advance(self, request: web.Request) -> web.StreamResponse:
        body = await self._admin_json(request)
        try:
            now = self.advance(float(body.get("seconds", 0.0)))
        except (TypeError, ValueError) as exc:
            raise _admin_error(str(exc)) from None
        return web.json_response({"now": now})

    async def _admin_reset(self, request: web.Request) -> web.StreamResponse:
        self.requests.clear()
        self.batch_sizes.clear()
        return web.json_response(self._stats())
