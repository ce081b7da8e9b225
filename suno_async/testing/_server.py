"""An in-process stand-in for the open.suno.cn Suno API.

The real service cannot be reached from where the project is built and tested, so this
server follows /work/shared/suno-api.md closely enough for a client to be developed and
benchmarked against it: the envelope, the ledger, task lifecycles on a simulated clock,
batch queries, realistic payload quirks, and injectable transport and protocol faults.

It is deliberately independent of the SDK: it imports nothing from ``suno_async``
outside this subpackage, so a bug in the client cannot hide behind a matching bug here.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import random
import re
import time
from typing import TYPE_CHECKING, Any, Final

import attrs
from aiohttp import web

from . import _data
from ._media import media_for

if TYPE_CHECKING:
    from collections.abc import Callable

    from multidict import MultiMapping
    from typing_extensions import Self

__all__ = ["FakeSunoServer", "FakeTask", "Fault", "TaskPlan"]

_FAULT_KINDS: Final = frozenset(
    {
        "429",
        "500",
        "502_html",
        "drop_after",
        "drop_before",
        "envelope_error",
        "latency",
        "malformed",
    }
)
_SONG_KINDS: Final = frozenset({"generate", "upsample", "upload", "whole-song", "crop", "speed"})
_UPSAMPLE_MODELS: Final = frozenset({"chirp-carp", "chirp-bass", "chirp-up"})
_VARIATIONS: Final = frozenset({"subtle", "normal", "high"})
_SPEEDS: Final = frozenset({0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0})
_PRICES: Final = {"generate": 36, "upsample": 36}
_HTML_502: Final = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>nginx</center></body></html>"
)
_NOT_FOUND_TASK: Final = "任务不存在 (task not found)"
_NOT_FOUND_CLIP: Final = "clip not found"


@attrs.define
class Fault:
    """
    One injected misbehaviour, consumed by the next ``times`` matching API requests.

    ``after`` lets that many matching requests through first, e.g. to fail a second page.
    """

    kind: str = attrs.field(validator=attrs.validators.in_(_FAULT_KINDS))
    endpoint: str | None = None
    times: int = 1
    after: int = 0
    retry_after: str | None = "1"
    delay: float = 0.0
    code: int = 500
    message: str = "服务器内部错误"

    def matches(self, key: str) -> bool:
        """Accept ``"POST /music/generate"`` or just ``"/music/generate"``."""
        if self.endpoint is None:
            return True
        return self.endpoint in (key, key.partition(" ")[2])


@attrs.define
class TaskPlan:
    """A scripted timeline for the next created task, so tests need not depend on chance."""

    queued_s: float = 0.0
    generating_s: float = 0.0
    succeed: bool = True
    errormsg: str = _data.DEFAULT_FAILURE[0]
    errormsg_en: str = _data.DEFAULT_FAILURE[1]


@attrs.define(eq=False)
class _Call:
    """One accepted POST; generate and upsample calls own two tasks and two clips."""

    kind: str
    params: dict[str, Any]
    created_wall: float
    task_ids: list[int] = attrs.Factory(list)
    clip_ids: list[str] = attrs.Factory(list)
    songs: list[dict[str, Any]] | None = None
    extend: str | None = None


@attrs.define(eq=False)
class FakeTask:
    """A task as the server sees it; its status is derived from the simulated clock on read."""

    id: int
    kind: str
    created_at: float
    started_at: float
    done_at: float
    succeed: bool
    errormsg: str | None
    errormsg_en: str | None
    custom_id: str | None
    mv: str | None
    created_mono: float = attrs.field(repr=False)
    created_text: str = attrs.field(repr=False)
    clock: Callable[[], float] = attrs.field(repr=False)
    call: _Call = attrs.field(repr=False)
    finished_wall: float | None = attrs.field(default=None, repr=False)
    row_cache: str | None = attrs.field(default=None, repr=False)

    @property
    def status(self) -> int:
        return self.status_at(self.clock())

    @property
    def params(self) -> dict[str, Any]:
        return self.call.params

    def status_at(self, now: float) -> int:
        if now >= self.done_at:
            return 3 if self.succeed else 4
        return 2 if now >= self.started_at else 1


class _ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@attrs.frozen
class _Raw:
    """Already serialised ``data``: terminal rows are cached as JSON text and spliced."""

    text: str


def _bad(field: str, zh: str, en: str) -> _ApiError:
    return _ApiError(400, f"参数错误: {field} {zh} ({field} {en})")


def _required(field: str) -> _ApiError:
    return _bad(field, "不能为空", "is required")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text(
    body: dict[str, Any], field: str, *, limit: int | None = None, empty: bool = False
) -> str:
    value = body.get(field)
    if value is None or (value == "" and not empty):
        raise _required(field)
    if not isinstance(value, str):
        raise _bad(field, "必须是字符串", "must be a string")
    if limit is not None and len(value) > limit:
        raise _bad(field, f"长度不能超过 {limit}", f"must be at most {limit} characters")
    return value


def _maybe_text(body: dict[str, Any], field: str, *, limit: int | None = None) -> str | None:
    if body.get(field) in (None, ""):
        return None
    return _text(body, field, limit=limit)


def _number(body: dict[str, Any], field: str) -> float:
    value = body.get(field)
    if value is None or value == "":
        raise _required(field)
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise _bad(field, "必须是数字", "must be a number")
    return number


def _integer(value: object, field: str) -> int:
    if value is None or value == "":
        raise _required(field)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _bad(field, "必须是整数", "must be an integer")


def _flag(body: dict[str, Any], field: str) -> bool:
    value = body.get(field)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad(field, "必须是布尔值", "must be a boolean")


def _unit_interval(container: dict[str, Any], field: str) -> None:
    if container.get(field) is None:
        return
    if not 0.0 <= _number(container, field) <= 1.0:
        raise _bad(field, "必须在 0 到 1 之间", "must be between 0 and 1")


def _metadata(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad("metadata", "必须是对象", "must be an object")
    gender = value.get("vocal_gender")
    if gender is not None and gender not in ("m", "f"):
        raise _bad("vocal_gender", "只能是 m 或 f", "must be 'm' or 'f'")
    sliders = value.get("control_sliders")
    if sliders is not None:
        if not isinstance(sliders, dict):
            raise _bad("control_sliders", "必须是对象", "must be an object")
        _unit_interval(sliders, "style_weight")
        _unit_interval(sliders, "weirdness_constraint")
    _unit_interval(value, "audio_weight")
    return value


def _admin_error(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=_dumps({"error": message}), content_type="application/json")


_V4_OR_OLDER = re.compile(r"v(?:[1-3]|4(?![.\-_]?5))(?!\d)", re.IGNORECASE)


def _is_v5(mv: str) -> bool:
    """The reference gives V4 and V5 limits only: names that plainly say v4 or older get V4."""
    return _V4_OR_OLDER.search(mv) is None


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
        if speed < 0:
            msg = "speed must not be negative"
            raise ValueError(msg)
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
        self._seed_base = self._rng.getrandbits(64)
        owner_id = _data.suno_id(self._rng)
        self._owner = {
            "user_id": owner_id,
            "display_name": "FakeSunoUser",
            "handle": "fakesunouser",
            "avatar_image_url": "https://cdn1.suno.ai/defaultPink.webp",
        }
        self._mono0 = time.monotonic()
        self._wall0 = time.time()
        # Clock segments (monotonic start, simulated time at start, speed); advance() and
        # speed changes append one, so completion instants can still be mapped to wall time.
        self._segments: list[tuple[float, float, float]] = [(self._mono0, 0.0, speed)]
        self._tasks: dict[int, FakeTask] = {}
        self._clips: dict[str, tuple[_Call, int]] = {}
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
        return self._segments[-1][2]

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0:
            msg = "speed must not be negative"
            raise ValueError(msg)
        mono = time.monotonic()
        self._segments.append((mono, self._sim_at(mono), value))

    def now(self) -> float:
        return self._sim_at(time.monotonic())

    def _sim_at(self, mono: float) -> float:
        start, sim, speed = self._segments[-1]
        return sim + (mono - start) * speed

    def advance(self, seconds: float) -> float:
        """Jump the simulated clock; returns the new simulated time."""
        if seconds < 0:
            msg = "the simulated clock only moves forward"
            raise ValueError(msg)
        mono = time.monotonic()
        sim = self._sim_at(mono) + seconds
        self._segments.append((mono, sim, self.speed))
        return sim

    def _mono_reaching(self, target: float) -> float | None:
        """The monotonic instant the simulated clock first reached ``target``, if it has."""
        segments = self._segments
        for index, (start, sim, speed) in enumerate(segments):
            if target <= sim:
                return start
            end = segments[index + 1][0] if index + 1 < len(segments) else math.inf
            if speed > 0:
                mono = start + (target - sim) / speed
                if mono <= end:
                    return mono if mono <= time.monotonic() else None
        return None

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
        mono = self._mono_reaching(task.done_at)
        if mono is None:
            return None
        return self._wall0 + (max(mono, task.created_mono) - self._mono0)

    # -- request plumbing ----------------------------------------------------------------

    def _take_fault(self, key: str) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.matches(key):
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[index]
                return fault
        if self.error_rate > 0 and self._fault_rng.random() < self.error_rate:
            return Fault("500")
        return None

    def _error(self, code: int, message: str) -> web.Response:
        body = {"code": code, "message": message, "data": None, "success": False}
        status = 200 if self.errors_as_http_200 else code
        return web.Response(status=status, text=_dumps(body), content_type="application/json")

    @staticmethod
    def _ok(data: object, message: str) -> web.Response:
        fragment = data.text if isinstance(data, _Raw) else _dumps(data)
        text = f'{{"code":200,"message":{_dumps(message)},"data":{fragment},"success":true}}'
        return web.Response(text=text, content_type="application/json")

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        # aiohttp notices the closed transport when it writes this reply and discards it
        # quietly, so the client sees a disconnect and the server logs nothing.
        transport = request.transport
        if transport is not None:
            transport.close()
        return web.Response(status=500)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        key = f"{request.method} /{request.match_info['tail']}"
        self.requests[key] += 1
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        fault = self._take_fault(key)
        if fault is not None and fault.kind not in ("latency", "drop_after"):
            return await self._fault_response(request, fault)
        response = await self._handle(request, key)
        if fault is not None and fault.kind == "latency":
            # Work first, answer late: a client that gives up has still been charged.
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.kind == "drop_after":
            return self._drop(request)
        return response

    async def _fault_response(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.kind == "drop_before":
            # Draining the body first makes the close a clean FIN rather than a reset.
            await request.read()
            return self._drop(request)
        if fault.kind == "502_html":
            return web.Response(status=502, text=_HTML_502, content_type="text/html")
        if fault.kind == "malformed":
            return web.Response(text='{"code": 200, "data": {"rem', content_type="application/json")
        if fault.kind == "429":
            message = "请求过于频繁 (too many requests)"
            body = {"code": 429, "message": message, "data": None, "success": False}
            headers = {} if fault.retry_after is None else {"Retry-After": fault.retry_after}
            return web.Response(
                status=429, text=_dumps(body), content_type="application/json", headers=headers
            )
        if fault.kind == "envelope_error":
            body = {"code": fault.code, "message": fault.message, "success": False, "data": None}
            return web.Response(text=_dumps(body), content_type="application/json")
        return self._error(500, fault.message)

    async def _handle(self, request: web.Request, key: str) -> web.Response:
        handler = self._handlers.get(key)
        if handler is None:
            return self._error(404, "接口不存在 (no such endpoint)")
        try:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token.strip() != self.api_key:
                raise _ApiError(401, "未授权: invalid API key")
            body = await self._body(request) if request.method == "POST" else {}
            data = handler(request.query, body)
        except _ApiError as exc:
            return self._error(exc.code, exc.message)
        return self._ok(data, "查询成功" if key == "GET /points/balance" else "请求成功")

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw.strip():
            raise _bad("body", "不能为空", "is required")
        try:
            body = json.loads(raw)
        except ValueError:
            raise _bad("body", "不是合法的 JSON", "is not valid JSON") from None
        if not isinstance(body, dict):
            raise _bad("body", "必须是 JSON 对象", "must be a JSON object")
        return body

    # -- ledger and task creation ----------------------------------------------------------

    def _charge(self, kind: str) -> None:
        cost = _PRICES.get(kind, 1)
        if self.points < cost:
            raise _ApiError(402, "积分不足 (insufficient points)")
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
        call = _Call(kind=kind, params=params, created_wall=wall)
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
            if kind in _SONG_KINDS:
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
                clock=self.now,
                call=call,
            )
        return call.task_ids

    def _clip(self, body: dict[str, Any], field: str) -> tuple[str, FakeTask]:
        """Resolve a Suno id the server produced; task ids and failed clips are refused."""
        value = body.get(field)
        if (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.strip().isdigit()
        ):
            raise _bad(field, "应为 Suno id 而不是任务 id", "must be a Suno id, not a task id")
        clip_id = _text(body, field)
        found = self._clips.get(clip_id)
        if found is None:
            raise _ApiError(404, _NOT_FOUND_CLIP)
        call, index = found
        task = self._tasks[call.task_ids[index]]
        if task.status_at(self.now()) == 4:
            raise _ApiError(404, _NOT_FOUND_CLIP)
        return clip_id, task

    # -- endpoints ---------------------------------------------------------------------

    def _balance(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        return {"remaining_points": self.points}

    def _generate(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        mv = _text(body, "mv")
        prompt_limit, tags_limit, title_limit = (5000, 1000, 100) if _is_v5(mv) else (3000, 200, 80)
        has_description = body.get("gpt_description_prompt") is not None
        has_prompt = body.get("prompt") is not None
        if has_description and has_prompt:
            raise _bad(
                "gpt_description_prompt",
                "与 prompt 只能二选一",
                "and prompt are mutually exclusive",
            )
        if not has_description and not has_prompt:
            raise _bad(
                "prompt",
                "或 gpt_description_prompt 必须提供一个",
                "or gpt_description_prompt is required",
            )
        instrumental = _flag(body, "make_instrumental")
        params: dict[str, Any] = {"mv": mv, "make_instrumental": instrumental}
        if has_prompt:
            params["prompt"] = _text(body, "prompt", limit=prompt_limit, empty=instrumental)
            params["tags"] = _text(body, "tags", limit=tags_limit)
            params["title"] = _text(body, "title", limit=title_limit)
        else:
            params["gpt_description_prompt"] = _text(body, "gpt_description_prompt")
            params["tags"] = _maybe_text(body, "tags", limit=tags_limit)
            params["title"] = _maybe_text(body, "title", limit=title_limit)
        params["negative_tags"] = _maybe_text(body, "negative_tags", limit=tags_limit)
        mode = body.get("task") or None
        if mode == "extend":
            params["continue_clip_id"], _ = self._clip(body, "continue_clip_id")
            params["continue_at"] = _number(body, "continue_at")
            if params["continue_at"] < 0:
                raise _bad("continue_at", "不能为负数", "must not be negative")
        elif mode == "cover":
            params["cover_clip_id"], _ = self._clip(body, "cover_clip_id")
        elif mode is not None:
            raise _bad("task", "只能是 extend 或 cover", "must be 'extend' or 'cover'")
        params["task"] = mode
        params["metadata"] = _metadata(body.get("metadata"))
        return self._create("generate", params, count=2, mv=mv)

    def _task(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        task_id = _integer(query.get("id"), "id")
        task = self._tasks.get(task_id)
        if task is None:
            raise _ApiError(404, _NOT_FOUND_TASK)
        row = self._row(task, self.now())
        if task_id % 2 == 0:
            # The reference's own example nests success and message inside data.
            row = row[:-1] + ',"success":true,"message":"请求成功"}'
        return _Raw(row)

    def _tasks_page(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        pieces = [piece.strip() for piece in query.get("ids", "").split(",")]
        pieces = [piece for piece in pieces if piece]
        self.batch_sizes.append(len(pieces))
        if not pieces:
            raise _required("ids")
        ids = [_integer(piece, "ids") for piece in pieces]
        page = _integer(query.get("page", "1"), "page")
        size = _integer(query.get("size", "10"), "size")
        if page < 1:
            raise _bad("page", "必须大于 0", "must be at least 1")
        if size < 1:
            raise _bad("size", "必须大于 0", "must be at least 1")
        size = min(size, self.max_page_size)
        tasks = self._tasks
        known = [tasks[task_id] for task_id in ids if task_id in tasks]
        now = self.now()
        rows = ",".join(self._row(task, now) for task in known[(page - 1) * size : page * size])
        total = f',"total":{len(known)}' if self.batch_returns_total else ""
        return _Raw(f'{{"rows":[{rows}]{total}}}')

    def _upload(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        url = _text(body, "audio_url")
        if not url.startswith(("http://", "https://")):
            raise _bad("audio_url", "必须是 http(s) 链接", "must be an http(s) URL")
        return self._create("upload", {"audio_url": url}, mv="chirp-v4")[0]

    def _whole_song(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        clip_id, source = self._clip(body, "clip_id")
        return self._create("whole-song", {"clip_id": clip_id}, mv=source.mv)[0]

    def _aligned_lyrics(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        lyrics = _text(body, "lyrics")
        suno_id, source = self._clip(body, "suno_id")
        if source.status_at(self.now()) != 3:
            raise _bad("suno_id", "对应的歌曲尚未完成", "refers to a song that is not complete")
        params = {"lyrics": lyrics, "suno_id": suno_id}
        return self._create("aligned-lyrics", params, mv=source.mv, custom_id=suno_id)[0]

    def _upsample(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        clip_id, _ = self._clip(body, "clip_id")
        model = _text(body, "model_name")
        if model not in _UPSAMPLE_MODELS:
            raise _bad(
                "model_name", "只能是 chirp-carp、chirp-bass 或 chirp-up", "is not supported"
            )
        variation = _maybe_text(body, "variation_category")
        if variation is not None and variation not in _VARIATIONS:
            raise _bad("variation_category", "只能是 subtle、normal 或 high", "is not supported")
        if variation is not None and model != "chirp-carp":
            raise _bad("variation_category", "仅适用于 chirp-carp (v5)", "is for chirp-carp only")
        params = {"clip_id": clip_id, "model_name": model, "variation_category": variation}
        return self._create("upsample", params, count=2, mv=model)

    def _song_task(self, body: dict[str, Any]) -> tuple[int, str, FakeTask]:
        task_id = _integer(body.get("task_id"), "task_id")
        task = self._tasks.get(task_id)
        if task is None:
            raise _ApiError(404, _NOT_FOUND_TASK)
        if task.kind not in _SONG_KINDS:
            raise _bad("task_id", "不是歌曲任务", "is not a song task")
        suno_id, _ = self._clip(body, "suno_id")
        if suno_id != task.custom_id:
            raise _bad("suno_id", "与 task_id 不匹配", "does not belong to task_id")
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
        start = _number(body, "crop_start_s")
        end = _number(body, "crop_end_s")
        if not 0 <= start < end:
            raise _bad(
                "crop_start_s",
                "必须满足 0 <= crop_start_s < crop_end_s",
                "must be >= 0 and < crop_end_s",
            )
        params = {"clip_id": clip_id, "crop_start_s": start, "crop_end_s": end}
        return self._create("crop", params, mv=source.mv)[0]

    def _speed(self, query: MultiMapping[str], body: dict[str, Any]) -> object:
        clip_id, source = self._clip(body, "clip_id")
        multiplier = _number(body, "speed_multiplier")
        if multiplier not in _SPEEDS:
            raise _bad("speed_multiplier", "只能是 0.25/0.5/0.75/1/1.25/1.5/2", "is not supported")
        params = {
            "clip_id": clip_id,
            "speed_multiplier": multiplier,
            "keep_pitch": _flag(body, "keep_pitch"),
            "title": _maybe_text(body, "title"),
        }
        return self._create("speed", params, mv=source.mv)[0]

    # -- rows and results --------------------------------------------------------------

    def _row(self, task: FakeTask, now: float) -> str:
        """Serialise a row; terminal rows never change, so their text is cached."""
        if task.row_cache is not None:
            return task.row_cache
        status = task.status_at(now)
        task_id = task.id
        if status == 1:
            progress = "0%"
        elif status == 2:
            span = task.done_at - task.started_at
            progress = f"{min(99, int(100 * (now - task.started_at) / span)) if span > 0 else 99}%"
        else:
            progress = "100%"
        pending: str | None = "" if task_id % 2 == 0 else None
        row = {
            # Some rows carry numbers as strings, as the reference warns they may.
            "id": str(task_id) if task_id % 3 == 0 else task_id,
            "status": str(status) if task_id % 4 == 1 else status,
            "fileInfo": self._file_info(task) if status == 3 else None,
            "custom_id": task.custom_id,
            "extend": self._extend(task) if status == 3 else pending,
            "errormsg": task.errormsg if status == 4 else None,
            "errormsgEn": task.errormsg_en if status == 4 else None,
            "created_at": task.created_text,
            "mv": task.mv,
            "type": task.kind,
            "progress": progress,
        }
        text = _dumps(row)
        if status >= 3:
            task.row_cache = text
        return text

    def _media_stem(self, task_id: int) -> str:
        return f"{self.origin}/media/{task_id}"

    def _file_info(self, task: FakeTask) -> dict[str, str | None] | None:
        stem = self._media_stem(task.id)
        if task.kind in _SONG_KINDS:
            return {"mp3Url": f"{stem}.mp3", "mp4Url": f"{stem}.mp4", "coverUrl": f"{stem}.png"}
        if task.kind == "video":
            return {"mp3Url": None, "mp4Url": f"{stem}.mp4", "coverUrl": None}
        return None

    def _extend(self, task: FakeTask) -> str:
        call = task.call
        if task.kind == "aligned-lyrics":
            rng = random.Random(f"{self._seed_base}:{task.id}")
            return _dumps(_data.alignment(str(call.params["lyrics"]), rng))
        if task.kind == "video":
            video_url = f"{self._media_stem(task.id)}.mp4"
            return _dumps({"status": "complete", "video_url": video_url})
        if task.kind == "convert-wav":
            return _dumps({"wav_file_url": f"{self._media_stem(task.id)}.wav"})
        if call.extend is None:
            songs = self._songs(call)
            clips = [
                _data.clip(
                    clip_id=clip_id,
                    media=self._media_stem(task_id),
                    owner=self._owner,
                    created_wall=call.created_wall,
                    song=song,
                    complete=self._tasks[task_id].succeed,
                )
                for clip_id, task_id, song in zip(call.clip_ids, call.task_ids, songs, strict=True)
            ]
            call.extend = _dumps(clips)
        return call.extend

    def _song_of(self, clip_id: str) -> dict[str, Any]:
        call, index = self._clips[clip_id]
        return self._songs(call)[index]

    def _songs(self, call: _Call) -> list[dict[str, Any]]:
        """Decide titles, lyrics and durations once per call, seeded by its first task id."""
        if call.songs is None:
            rng = random.Random(f"{self._seed_base}:{call.task_ids[0]}")
            call.songs = self._make_songs(call, rng)
        return call.songs

    def _make_songs(self, call: _Call, rng: random.Random) -> list[dict[str, Any]]:
        params = call.params
        kind = call.kind
        if kind == "generate":
            return self._generated_songs(params, rng)
        if kind == "upload":
            name = str(params["audio_url"]).rstrip("/").rpartition("/")[2].rpartition(".")[0]
            song = {
                "title": name or "Uploaded audio",
                "tags": "",
                "prompt": "",
                "model_name": "chirp-v4",
                "type": "upload",
                "duration": round(rng.uniform(30, 180), 2),
            }
            return [song]
        source = self._song_of(str(params["clip_id"]))
        base = {**source, "history": None, "extra_metadata": {}}
        if kind == "upsample":
            extra = {"upsample_clip_id": params["clip_id"]}
            if params["variation_category"] is not None:
                extra["variation_category"] = params["variation_category"]
            song = {**base, "model_name": params["model_name"], "type": "upsample"}
            song["extra_metadata"] = extra
            return [song, dict(song)]
        if kind == "whole-song":
            history = source.get("history") or [{}]
            offset = float(history[0].get("continue_at", 0.0))
            duration = round(offset + float(source["duration"]), 2)
            song = {**base, "type": "concat", "duration": duration}
            song["extra_metadata"] = {"concat_clip_id": params["clip_id"]}
            return [song]
        if kind == "crop":
            duration = round(params["crop_end_s"] - params["crop_start_s"], 2)
            song = {**base, "type": "edit_crop", "duration": duration}
            song["extra_metadata"] = {
                "edited_clip_id": params["clip_id"],
                "crop_start_s": params["crop_start_s"],
                "crop_end_s": params["crop_end_s"],
            }
            return [song]
        duration = round(float(source["duration"]) / params["speed_multiplier"], 2)
        song = {**base, "type": "edit_speed", "duration": duration}
        song["title"] = params["title"] or source["title"]
        song["extra_metadata"] = {
            "edited_clip_id": params["clip_id"],
            "speed_multiplier": params["speed_multiplier"],
            "keep_pitch": params["keep_pitch"],
        }
        return [song]

    def _generated_songs(self, params: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
        inherited: dict[str, Any] = {}
        history = None
        extra: dict[str, Any] = {}
        song_type = "gen"
        if params["task"] == "extend":
            inherited = self._song_of(params["continue_clip_id"])
            history = [
                {
                    "id": params["continue_clip_id"],
                    "continue_at": params["continue_at"],
                    "type": "gen",
                    "source": "web",
                    "infill": False,
                }
            ]
        elif params["task"] == "cover":
            inherited = self._song_of(params["cover_clip_id"])
            song_type = "cover"
            extra["cover_clip_id"] = params["cover_clip_id"]
        if params["metadata"]:
            extra["control_sliders"] = params["metadata"].get("control_sliders")
        if "prompt" in params:
            lyrics = params["prompt"]
        elif params["make_instrumental"]:
            lyrics = ""
        else:
            lyrics = inherited.get("prompt") or _data.random_lyrics(rng)
        base = {
            "title": params["title"] or inherited.get("title") or _data.random_title(rng),
            "tags": params["tags"] or inherited.get("tags") or _data.random_tags(rng),
            "negative_tags": params["negative_tags"],
            "prompt": lyrics,
            "gpt_description_prompt": params.get("gpt_description_prompt"),
            "make_instrumental": params["make_instrumental"],
            "model_name": params["mv"],
            "type": song_type,
            "history": history,
            "extra_metadata": extra,
        }
        return [{**base, "duration": round(rng.uniform(95, 240), 2)} for _ in range(2)]

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
