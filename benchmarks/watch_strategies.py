"""
The client side of ``bench_watch.py``: the strategies and the measured client process.

Each strategy is built before the client's baseline (session objects, the SDK's AsyncSuno),
so the measured phase is the waiting alone: from the N task ids to every task resolved.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final, Protocol

import aiohttp
import anyio
import orjson

from rows_by_hand import batch_rows, read_row
from watch_settings import PAGE_BYTES, SAMPLE_EVERY, Settings

if TYPE_CHECKING:
    from suno_async import AsyncSuno


class RssReader:
    """Resident set size now, from /proc/self/statm kept open (a read costs ~2 µs)."""

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:  # not Linux: fall back to the peak
            self._fd = None

    def kb(self) -> float:
        if self._fd is None:
            return _peak_rss_kb()
        return int(os.pread(self._fd, 128, 0).split()[1]) * PAGE_BYTES / 1024

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _peak_rss_kb() -> float:
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else float(peak)


class RequestLog:
    """
    Every task query the client session starts: (wall time, CPU time, raw query string).

    The query string is kept as sent and parsed after the run, so the trace costs the
    client next to nothing. At most every ``SAMPLE_EVERY`` seconds a request start also
    samples (wall time, CPU time, RSS): no timer of its own, since on small VMs every
    event-loop wake-up costs measurable CPU.
    """

    def __init__(self, rss: RssReader) -> None:
        self.starts: list[tuple[float, float, str]] = []
        self.samples: list[tuple[float, float, float]] = []
        self.single = 0
        self.batch = 0
        self._rss = rss

    def sample(self) -> None:
        self.samples.append((time.time(), time.process_time(), self._rss.kb()))

    def trace_config(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._on_request_start)
        return config

    async def _on_request_start(
        self,
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        path = params.url.path
        if path.endswith("/music/tasks"):
            self.batch += 1
        elif path.endswith("/music/task"):
            self.single += 1
        else:
            return
        now = time.time()
        self.starts.append((now, time.process_time(), params.url.raw_query_string))
        if not self.samples or now - self.samples[-1][0] >= SAMPLE_EVERY:
            self.sample()


class GcTimer:
    """CPU time spent in the cyclic garbage collector, per generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.collections = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            generation = info["generation"]
            self.seconds[generation] += time.process_time() - self._started
            self.collections[generation] += 1


@dataclass
class Waited:
    """What a strategy hands back: when each task resolved on the client, and oddities."""

    resolved: dict[int, float] = field(default_factory=dict)
    failed: int = 0
    songs: int = 0
    errors: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _session(log: RequestLog) -> aiohttp.ClientSession:
    # The SDK's own session settings (no total timeout, per-phase ones), plus the trace.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=60.0)
    return aiohttp.ClientSession(timeout=timeout, trace_configs=[log.trace_config()])


# --- the strategies ---------------------------------------------------------------------


class WatcherStrategy:
    """The SDK: ``as_completed`` over N song handles through the session's TaskWatcher."""

    def __init__(
        self, url: str, key: str, settings: Settings, session: aiohttp.ClientSession
    ) -> None:
        from suno_async import (  # noqa: PLC0415 (only the watcher client loads the SDK)
            AsyncSuno,
            PollPolicy,
            TaskKind,
        )

        policy = PollPolicy(
            interval=settings.interval,
            batch_size=settings.page_size,
            first_poll=dict.fromkeys(TaskKind, 0.0),
            concurrency=settings.concurrency,
        )
        self.suno: AsyncSuno = AsyncSuno(
            key, base_url=url, session=session, poll=policy, rate_limit=None
        )
        self.timeout = settings.timeout

    async def wait(self, ids: list[int]) -> Waited:
        from suno_async import (  # noqa: PLC0415
            Song,
            TaskFailedError,
            TaskKind,
            WaitTimeoutError,
        )

        out = Waited()
        suno = self.suno
        handles = [suno.handle(task_id, TaskKind.SONG) for task_id in ids]
        try:
            async for result in suno.as_completed(
                handles, timeout=self.timeout, return_exceptions=True
            ):
                now = time.time()
                task_id = getattr(result, "task_id", None)
                if isinstance(task_id, int):
                    out.resolved[task_id] = now
                if isinstance(result, Song):
                    out.songs += result.audio_url is not None
                elif isinstance(result, TaskFailedError):
                    out.failed += 1
                elif isinstance(result, Exception):
                    out.errors.append(repr(result)[:200])
                del result
        except WaitTimeoutError as exc:
            out.errors.append(f"timed out with {len(exc.pending)} pending")
        stats = suno.stats
        out.extra["sdk_stats"] = {
            "requests": stats.requests,
            "batch_requests": stats.batch_requests,
            "single_requests": stats.single_requests,
            "ticks": stats.ticks,
            "poll_errors": stats.poll_errors,
            "batch_size": stats.batch_size,
        }
        return out

    async def aclose(self) -> None:
        await self.suno.aclose()


class _PlainAiohttp:
    """A hand-written client: plain aiohttp on the shared traced session, one endpoint."""

    path = ""

    def __init__(
        self, url: str, key: str, settings: Settings, session: aiohttp.ClientSession
    ) -> None:
        self.endpoint = f"{url}{self.path}"
        self.headers = {"Authorization": f"Bearer {key}"}
        self.settings = settings
        self.session = session

    async def aclose(self) -> None:
        return


class PerTaskStrategy(_PlainAiohttp):
    """One coroutine per task polling ``GET /music/task?id=`` every interval, gathered."""

    path = "/music/task"

    async def wait(self, ids: list[int]) -> Waited:
        out = Waited()
        session, endpoint, headers = self.session, self.endpoint, self.headers
        interval = self.settings.interval
        deadline = time.monotonic() + self.settings.timeout

        async def poll(task_id: int) -> None:
            params = {"id": str(task_id)}
            while time.monotonic() < deadline:
                try:
                    async with session.get(endpoint, params=params, headers=headers) as response:
                        body = await response.json()
                    _, status, row = read_row(body["data"])
                    if status in {"3", "4"}:
                        if status == "3":
                            out.songs += song_url(row) is not None
                        out.resolved[task_id] = time.time()
                        out.failed += status == "4"
                        return
                except (aiohttp.ClientError, KeyError, TypeError, ValueError) as exc:
                    out.errors.append(repr(exc)[:200])
                await asyncio.sleep(interval)

        await asyncio.gather(*(poll(task_id) for task_id in ids))
        return out


def song_url(row: dict[str, Any], loads: Callable[[str], Any] = json.loads) -> str | None:
    """
    The least any client does to hand back a finished song: find its clip in ``extend``.

    The watcher returns typed songs; without this the hand-written loops would be timed
    returning nothing but "done", and the comparison would measure a different job.
    """
    extend = row.get("extend")
    clips = loads(extend) if isinstance(extend, str) and extend else extend or []
    for clip in clips:
        if clip.get("id") == row.get("custom_id"):
            url: str | None = clip.get("audio_url")
            return url
    return None


class BareStrategy(_PlainAiohttp):
    """
    The minimal hand-written batch loop: chunk, GET /music/tasks, json.loads, drop done
    (reading each finished song's clip out of ``extend``, as any client must).
    """

    path = "/music/tasks"
    #: The decoder: the standard library's here, orjson's in ``BareOrjsonStrategy``.
    loads: Callable[[str | bytes], Any] = staticmethod(json.loads)

    async def wait(self, ids: list[int]) -> Waited:
        out = Waited()
        session, endpoint, headers = self.session, self.endpoint, self.headers
        size, interval = self.settings.page_size, self.settings.interval
        outstanding = dict.fromkeys(ids, True)
        limit = asyncio.Semaphore(self.settings.concurrency)
        deadline = time.monotonic() + self.settings.timeout
        loads = self.loads

        async def fetch(chunk: list[int]) -> None:
            params = {"ids": ",".join(map(str, chunk)), "page": "1", "size": str(len(chunk))}
            try:
                async with limit, session.get(endpoint, params=params, headers=headers) as response:
                    body = await response.read()
                rows = batch_rows(loads(body)["data"])
            except (aiohttp.ClientError, KeyError, TypeError, ValueError) as exc:
                out.errors.append(repr(exc)[:200])
                return
            now = time.time()
            for raw in rows:
                task_id, status, row = read_row(raw)
                if status in {"3", "4"} and outstanding.pop(task_id, False):
                    if status == "3":
                        out.songs += song_url(row, loads) is not None
                    out.resolved[task_id] = now
                    out.failed += status == "4"

        while outstanding and time.monotonic() < deadline:
            started = time.monotonic()
            due = list(outstanding)
            await asyncio.gather(*(fetch(due[i : i + size]) for i in range(0, len(due), size)))
            if outstanding:
                await asyncio.sleep(max(0.0, started + interval - time.monotonic()))
        return out


class BareOrjsonStrategy(BareStrategy):
    """The same loop decoding with orjson, as the SDK does: the fair baseline for its CPU."""

    loads = staticmethod(orjson.loads)


class Strategy(Protocol):
    async def wait(self, ids: list[int]) -> Waited: ...
    async def aclose(self) -> None: ...


STRATEGY_TYPES: Final[
    dict[str, Callable[[str, str, Settings, aiohttp.ClientSession], Strategy]]
] = {
    "watcher": WatcherStrategy,
    "per_task": PerTaskStrategy,
    "bare": BareStrategy,
    "bare_orjson": BareOrjsonStrategy,
}


async def client_main(
    strategy: str, url: str, key: str, ids: list[int], settings: Settings
) -> tuple[dict[str, Any], cProfile.Profile | None] | None:
    """
    The measured process: set up, take the baseline, say READY, wait for GO on stdin, then
    wait for every task and return the report (and the profile, if asked for).
    """
    rss = RssReader()
    log = RequestLog(rss)
    session = _session(log)
    runner = STRATEGY_TYPES[strategy](url, key, settings, session)
    # Set-up, like the imports: anyio loads its asyncio backend on first use (~30 ms once).
    async with anyio.create_task_group():
        pass
    gc_timer = GcTimer()
    gc.collect()
    rss_base = rss.kb()
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    # Blocking on purpose: nothing else runs yet, and a reader thread would add to the RSS.
    if sys.stdin.readline().strip() != "GO":
        await runner.aclose()
        await session.close()
        return None
    profiler = cProfile.Profile(time.process_time) if settings.profile else None
    wall0, cpu0 = time.time(), time.process_time()
    log.sample()
    gc.callbacks.append(gc_timer)
    try:
        if profiler is not None:
            profiler.enable()
        waited = await runner.wait(ids)
    finally:
        if profiler is not None:
            profiler.disable()
        wall1, cpu1 = time.time(), time.process_time()
        gc.callbacks.remove(gc_timer)
        log.sample()
        await runner.aclose()
        await session.close()
        rss.close()
    report = {
        "wall0": wall0,
        "wall_s": wall1 - wall0,
        "cpu0": cpu0,
        "cpu_s": cpu1 - cpu0,
        "rss_base_kb": rss_base,
        "peak_rss_kb": _peak_rss_kb(),
        "samples": log.samples,
        "requests": log.batch + log.single,
        "batch_requests": log.batch,
        "single_requests": log.single,
        "request_starts": log.starts,
        "resolved": {str(k): v for k, v in waited.resolved.items()},
        "failed": waited.failed,
        "songs": waited.songs,
        "errors": waited.errors[:20],
        "error_count": len(waited.errors),
        "gc_s": gc_timer.seconds,
        "gc_collections": gc_timer.collections,
        "extra": waited.extra,
    }
    return report, profiler


def run_client_process(args: argparse.Namespace, settings: Settings) -> None:
    """``--_run-strategy``: the client process; prints READY, then its report as JSON."""
    strategy: str = args._run_strategy
    ids = [int(i) for i in json.loads(Path(args.ids_file).read_text())]
    outcome = asyncio.run(client_main(strategy, args.url, args.key, ids, settings))
    if outcome is None:
        return
    report, profiler = outcome
    if profiler is not None and settings.profile:
        Path(settings.profile).mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(Path(settings.profile, f"{strategy}-{len(ids)}.prof"))
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
