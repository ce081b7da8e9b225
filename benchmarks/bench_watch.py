"""
Waiting on N outstanding songs: the SDK's TaskWatcher against per-task polling and a bare loop.

Usage::

    python benchmarks/bench_watch.py                      # N = 100, 1,000 and 10,000
    python benchmarks/bench_watch.py --tasks 1000 --json bench-1000.json

For every N and every strategy the harness starts a fresh fake server in its own process
(``python -m suno_async.testing --speed 0``), creates N tasks there (N/2 paid generate
calls, not measured), resets the server's request counters, then starts a fresh client
process that only waits. Once the client starts waiting, the harness keeps the server's
simulated clock stopped for ``--hold`` intervals (the holding ticks: every task outstanding,
none finishing), then drives it at ``--speed`` simulated seconds per real second
(``POST /_fake/advance`` every ``--clock-step`` seconds); so every task is outstanding when
waiting starts, however long creation took. The client measures its own CPU time, RSS and
requests; the server's counters cross-check the requests, and ``POST /_fake/completions``
gives the instant each task finished, from which the resolution latency is computed.

Strategies:

``watcher``
    ``AsyncSuno.as_completed`` over N song handles: the TaskWatcher, batching every
    outstanding id into ``ceil(outstanding / batch_size)`` ``GET /music/tasks`` per tick.
``per_task``
    one coroutine per task calling ``GET /music/task`` every interval, gathered: what
    clients without a watcher do. Plain aiohttp.
``bare``
    a hand-written loop over the same batch endpoint with plain aiohttp: every interval,
    chunk the outstanding ids by page size, GET, ``json.loads``, drop finished ids. It shows
    what the SDK costs on top of the minimum.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import math
import os
import resource
import sys
import tempfile
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import parse_qs

import aiohttp
import anyio

if TYPE_CHECKING:
    from suno_async import AsyncSuno

SCRIPT: Final = str(Path(__file__).resolve())
STRATEGIES: Final = ("watcher", "per_task", "bare")
REQUIRED_KEYS: Final = (
    "requests",
    "wall_s",
    "cpu_s",
    "peak_rss_mb",
    "latency_p50_s",
    "latency_p99_s",
)
DEFAULT_TASKS: Final = (100, 1_000, 10_000)
API_KEY: Final = "bench-key"
GENERATE_PRICE: Final = 36  # points per generate call on the fake server
CREATE_CONCURRENCY: Final = 32
SAMPLE_EVERY: Final = 0.1  # at most this often a request start samples RSS and CPU
PAGE_BYTES: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# Targets from the issue.
MIN_REQUEST_RATIO: Final = 10.0
MIN_CPU_RATIO: Final = 5.0
MAX_KB_PER_TASK: Final = 3.0
MAX_CPU_MS_PER_TICK: Final = 50.0
LATENCY_SLACK_S: Final = 0.050
MAX_OVERHEAD: Final = 1.2


@dataclass(frozen=True)
class Settings:
    """What every run shares; passed to the client process on its command line."""

    interval: float = 1.0
    # One 1 s tick stands for 10 simulated seconds: twice the SDK's default 5 s interval,
    # so the load per tick is harsher than real use, yet not compressed out of shape.
    speed: float = 10.0
    page_size: int = 100
    concurrency: int = 4
    failure_rate: float = 0.03
    seed: int = 20240611
    clock_step: float = 0.02
    hold: int = 3
    per_task_max: int = 1_000
    timeout: float = 120.0
    profile: str | None = None
    pin: bool = True

    def client_args(self) -> list[str]:
        args = [
            f"--interval={self.interval}",
            f"--page-size={self.page_size}",
            f"--concurrency={self.concurrency}",
            f"--timeout={self.timeout}",
        ]
        if self.profile:
            args.append(f"--profile={self.profile}")
        return args


# --- measurement helpers (client side) ----------------------------------------------------


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


# --- the three strategies (client side) ----------------------------------------------------
#
# Each is built before the client's baseline (session objects, the SDK's AsyncSuno), so the
# measured phase is the waiting alone: from the N task ids to every task resolved.


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
        self.suno: AsyncSuno = AsyncSuno(key, base_url=url, session=session, poll=policy)
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
                    row = body["data"]
                    status = str(row["status"])
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


def song_url(row: dict[str, Any]) -> str | None:
    """
    The least any client does to hand back a finished song: find its clip in ``extend``.

    The watcher returns typed songs; without this the hand-written loops would be timed
    returning nothing but "done", and the comparison would measure a different job.
    """
    extend = row.get("extend")
    clips = json.loads(extend) if isinstance(extend, str) and extend else extend or []
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

    async def wait(self, ids: list[int]) -> Waited:
        out = Waited()
        session, endpoint, headers = self.session, self.endpoint, self.headers
        size, interval = self.settings.page_size, self.settings.interval
        outstanding = dict.fromkeys(ids, True)
        limit = asyncio.Semaphore(self.settings.concurrency)
        deadline = time.monotonic() + self.settings.timeout

        async def fetch(chunk: list[int]) -> None:
            params = {"ids": ",".join(map(str, chunk)), "page": "1", "size": str(len(chunk))}
            try:
                async with limit, session.get(endpoint, params=params, headers=headers) as response:
                    body = await response.read()
                rows = json.loads(body)["data"]["rows"]
            except (aiohttp.ClientError, KeyError, TypeError, ValueError) as exc:
                out.errors.append(repr(exc)[:200])
                return
            now = time.time()
            for row in rows:
                status = str(row["status"])
                if status in {"3", "4"}:
                    task_id = int(row["id"])
                    if outstanding.pop(task_id, False):
                        if status == "3":
                            out.songs += song_url(row) is not None
                        out.resolved[task_id] = now
                        out.failed += status == "4"

        while outstanding and time.monotonic() < deadline:
            started = time.monotonic()
            due = list(outstanding)
            await asyncio.gather(*(fetch(due[i : i + size]) for i in range(0, len(due), size)))
            if outstanding:
                await asyncio.sleep(max(0.0, started + interval - time.monotonic()))
        return out


class Strategy(Protocol):
    async def wait(self, ids: list[int]) -> Waited: ...
    async def aclose(self) -> None: ...


STRATEGY_TYPES: Final[
    dict[str, Callable[[str, str, Settings, aiohttp.ClientSession], Strategy]]
] = {
    "watcher": WatcherStrategy,
    "per_task": PerTaskStrategy,
    "bare": BareStrategy,
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


# --- analysis (harness side) ---------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks, like numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Tick:
    start: float
    cpu_start: float
    requests: int = 0
    ids: int = 0
    last: float = 0.0
    outstanding: int = 0
    expected: int = 0
    completions: int = 0
    cpu_ms: float = 0.0
    rss_kb: float = 0.0


def split_ticks(report: dict[str, Any], tasks: int, settings: Settings) -> list[Tick]:
    """
    Group request starts into ticks: a tick asks about each outstanding id once, so a
    request naming an id already asked about in the current tick starts the next one.
    """
    ticks: list[Tick] = []
    seen: set[str] = set()
    for wall, cpu, query in report["request_starts"]:
        fields = parse_qs(query)
        ids = (fields.get("ids") or fields.get("id") or [""])[0]
        asked = {part for part in ids.split(",") if part}
        if not ticks or not seen.isdisjoint(asked):
            ticks.append(Tick(start=wall, cpu_start=cpu))
            seen = set()
        seen |= asked
        tick = ticks[-1]
        tick.requests += 1
        tick.ids += len(asked)
        tick.last = wall
    if not ticks:
        return ticks
    resolved = sorted(report["resolved"].values())
    samples: list[list[float]] = report["samples"]
    cpu_end = report["cpu0"] + report["cpu_s"]
    ticks[0].cpu_start = report["cpu0"]  # the tick's set-up before its first request
    for index, tick in enumerate(ticks):
        nxt = ticks[index + 1] if index + 1 < len(ticks) else None
        done_before = bisect_left(resolved, tick.start)
        tick.outstanding = tasks - done_before
        tick.expected = math.ceil(tick.outstanding / settings.page_size)
        end = nxt.start if nxt else math.inf
        tick.completions = bisect_left(resolved, end) - done_before
        tick.cpu_ms = ((nxt.cpu_start if nxt else cpu_end) - tick.cpu_start) * 1000
        window = [s[2] for s in samples if tick.start <= s[0] < end]
        tick.rss_kb = max(window, default=0.0)
    return ticks


def summarize(
    *,
    strategy: str,
    tasks: int,
    report: dict[str, Any],
    server_stats: dict[str, Any],
    completions: dict[str, float | None],
    settings: Settings,
    creation_s: float,
) -> dict[str, Any]:
    resolved: dict[str, float] = report["resolved"]
    latencies = [
        at - done
        for task_id, at in resolved.items()
        if (done := completions.get(task_id)) is not None
    ]
    server_requests = server_stats.get("requests", {})
    server_polls = int(server_requests.get("GET /music/tasks", 0)) + int(
        server_requests.get("GET /music/task", 0)
    )
    base_kb = report["rss_base_kb"]
    first_done = min(resolved.values(), default=math.inf)
    samples: list[list[float]] = report["samples"]
    held = [s[2] for s in samples if s[0] < first_done]
    held_kb = max(held, default=report["peak_rss_kb"])
    result: dict[str, Any] = {
        "tasks": tasks,
        "requests": report["requests"],
        "server_requests": server_polls,
        "wall_s": report["wall_s"],
        "cpu_s": report["cpu_s"],
        "peak_rss_mb": report["peak_rss_kb"] / 1024,
        "rss_base_mb": base_kb / 1024,
        "rss_held_mb": held_kb / 1024,
        "mem_per_task_kb": (held_kb - base_kb) / tasks,
        "peak_mem_per_task_kb": (report["peak_rss_kb"] - base_kb) / tasks,
        "latency_p50_s": percentile(latencies, 0.50),
        "latency_p99_s": percentile(latencies, 0.99),
        "latency_max_s": max(latencies, default=None),
        "resolved": len(resolved),
        "songs": report["songs"],
        "failed": report["failed"],
        "unresolved": tasks - len(resolved),
        "errors": report["error_count"],
        "error_samples": report["errors"][:3],
        "creation_s": creation_s,
        "gc_s": sum(report["gc_s"]),
        "gc_collections": report["gc_collections"],
    }
    if strategy == "per_task":
        # No ticks: count intervals. While holding, CPU per interval from the samples.
        ticks = max(1, math.ceil(report["wall_s"] / settings.interval))
        start = report["wall0"] + settings.interval
        hold = [s for s in samples if start <= s[0] < first_done]
        rate = (hold[-1][1] - hold[0][1]) / (hold[-1][0] - hold[0][0]) if len(hold) > 2 else None
        result["ticks"] = ticks
        result["requests_per_tick"] = report["requests"] / ticks
        result["cpu_per_tick_ms"] = report["cpu_s"] * 1000 / ticks
        result["cpu_per_held_tick_ms"] = None if rate is None else rate * settings.interval * 1000
        return result
    tick_list = split_ticks(report, tasks, settings)
    count = max(1, len(tick_list))
    # Holding ticks: every task outstanding, nothing resolved; the first tick also pays
    # for setting up the wait and opening connections, so it is reported on its own.
    held_ticks = [t.cpu_ms for t in tick_list[1:] if t.completions == 0]
    busy = [t for t in tick_list[1:] if t.completions > 0]
    held_ms = sum(held_ticks) / len(held_ticks) if held_ticks else None
    per_result = None
    if busy and held_ms is not None:
        # What the ticks with results cost beyond polling their ids at the holding rate.
        resolved_in_busy = sum(t.completions for t in busy)
        polling_ms = held_ms / tasks * sum(t.ids for t in busy)
        extra_ms = sum(t.cpu_ms for t in busy) - polling_ms
        per_result = extra_ms * 1000 / resolved_in_busy if resolved_in_busy else None
    result.update(
        {
            "ticks": len(tick_list),
            "requests_per_tick": report["requests"] / count,
            "requests_per_tick_ok": all(t.requests == t.expected for t in tick_list),
            "cpu_per_tick_ms": report["cpu_s"] * 1000 / count,
            "cpu_per_tick_max_ms": max((t.cpu_ms for t in tick_list), default=0.0),
            "cpu_first_tick_ms": tick_list[0].cpu_ms if tick_list else None,
            "cpu_per_held_tick_ms": held_ms,
            "cpu_per_result_us": per_result,
            "tick_detail": [
                {
                    "requests": t.requests,
                    "expected": t.expected,
                    "outstanding": t.outstanding,
                    "ids_polled": t.ids,
                    "completions": t.completions,
                    "span_ms": round((t.last - t.start) * 1000, 1),
                    "cpu_ms": round(t.cpu_ms, 2),
                    "rss_mb": round(t.rss_kb / 1024, 2),
                }
                for t in tick_list
            ],
        }
    )
    if "sdk_stats" in report["extra"]:
        result["sdk_stats"] = report["extra"]["sdk_stats"]
    return result


# --- the harness -----------------------------------------------------------------------------


@dataclass
class FakeServer:
    process: asyncio.subprocess.Process
    url: str
    key: str

    @property
    def origin(self) -> str:
        return self.url.rsplit("/api/", 1)[0]


def pin_to_cpu(pid: int, slot: int, settings: Settings) -> None:
    """
    Put a process on a core of its own: client on the first, server on the second.

    Left to the scheduler, the two share and swap cores with the harness, and on a small
    shared VM one code's client CPU then drifts by a third from run to run.
    """
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if settings.pin and len(cpus) >= 2:
        os.sched_setaffinity(pid, {cpus[slot]})


async def start_server(tasks: int, settings: Settings) -> FakeServer:
    points = (tasks // 2 + 1) * GENERATE_PRICE + 1_000
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "suno_async.testing",
        "--host=127.0.0.1",
        "--port=0",
        "--speed=0",
        f"--max-page-size={settings.page_size}",
        f"--failure-rate={settings.failure_rate}",
        f"--seed={settings.seed}",
        f"--points={points}",
        f"--api-key={API_KEY}",
        "--queued-s",
        "0",
        "5",
        "--generating-s",
        "30",
        "120",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )
    pin_to_cpu(process.pid, 1, settings)
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        fields = dict(part.split("=", 1) for part in line.split())
        url, key = fields["SUNO_BASE_URL"], fields["SUNO_API_KEY"]
        if not url.startswith("http://127.0.0.1:"):
            msg = f"the fake server is not on loopback: {url}"
            raise RuntimeError(msg)
    except BaseException:
        await stop_process(process)
        raise
    return FakeServer(process, url, key)


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 5)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def create_tasks(session: aiohttp.ClientSession, server: FakeServer, tasks: int) -> list[int]:
    """N/2 generate calls (two songs each), not measured."""
    headers = {"Authorization": f"Bearer {server.key}"}
    limit = asyncio.Semaphore(CREATE_CONCURRENCY)

    async def one(number: int) -> list[int]:
        body = {
            "gpt_description_prompt": "a cheerful pop song about event loops",
            "mv": "chirp-v4",
            "title": f"Bench {number}",
            "make_instrumental": False,
        }
        async with (
            limit,
            session.post(f"{server.url}/music/generate", json=body, headers=headers) as response,
        ):
            answer = await response.json()
        if answer.get("code") != 200:
            msg = f"generate failed: {answer}"
            raise RuntimeError(msg)
        return [int(i) for i in answer["data"]]

    calls = await asyncio.gather(*(one(n) for n in range(math.ceil(tasks / 2))))
    return [task_id for pair in calls for task_id in pair][:tasks]


async def drive_clock(
    session: aiohttp.ClientSession, server: FakeServer, settings: Settings
) -> None:
    """
    After ``hold`` intervals with the clock stopped (every task outstanding: the holding
    ticks), advance the server's simulated clock in real time at ``speed``, until cancelled.
    """
    await asyncio.sleep(settings.hold * settings.interval)
    last = time.monotonic()
    for _ in range(int(settings.timeout * 2 / settings.clock_step) + 1):
        await asyncio.sleep(settings.clock_step)
        now = time.monotonic()
        seconds = settings.speed * (now - last)
        last = now
        async with session.post(
            f"{server.origin}/_fake/advance", json={"seconds": seconds}
        ) as response:
            response.raise_for_status()


async def run_strategy(strategy: str, tasks: int, settings: Settings) -> dict[str, Any]:
    """One fresh server and one fresh client process for one strategy at one N."""
    server = await start_server(tasks, settings)
    try:
        async with aiohttp.ClientSession() as admin:
            started = time.monotonic()
            ids = await create_tasks(admin, server, tasks)
            creation_s = time.monotonic() - started
            async with admin.post(f"{server.origin}/_fake/reset-counters") as response:
                response.raise_for_status()
            with tempfile.TemporaryDirectory(prefix="bench-watch-") as scratch:
                ids_file = Path(scratch, "ids.json")
                await asyncio.to_thread(ids_file.write_text, json.dumps(ids))
                report = await run_client(admin, strategy, server, str(ids_file), settings)
            async with admin.get(f"{server.origin}/_fake/stats") as response:
                server_stats = await response.json()
            async with admin.post(
                f"{server.origin}/_fake/completions", json={"ids": ids}
            ) as response:
                completions = (await response.json())["completed_at_wall"]
    finally:
        await stop_process(server.process)
    return summarize(
        strategy=strategy,
        tasks=tasks,
        report=report,
        server_stats=server_stats,
        completions=completions,
        settings=settings,
        creation_s=creation_s,
    )


async def run_client(
    admin: aiohttp.ClientSession,
    strategy: str,
    server: FakeServer,
    ids_file: str,
    settings: Settings,
) -> dict[str, Any]:
    client = await asyncio.create_subprocess_exec(
        sys.executable,
        SCRIPT,
        f"--_run-strategy={strategy}",
        f"--url={server.url}",
        f"--key={server.key}",
        f"--ids-file={ids_file}",
        *settings.client_args(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**26,
    )
    pin_to_cpu(client.pid, 0, settings)
    clock: asyncio.Task[None] | None = None
    try:
        assert client.stdin is not None
        assert client.stdout is not None
        ready = await asyncio.wait_for(client.stdout.readline(), 60)
        if ready.strip() != b"READY":
            msg = f"{strategy} client did not start: {ready!r}"
            raise RuntimeError(msg)
        clock = asyncio.create_task(drive_clock(admin, server, settings))
        client.stdin.write(b"GO\n")
        await client.stdin.drain()
        line = await asyncio.wait_for(client.stdout.readline(), settings.timeout + 60)
        await asyncio.wait_for(client.wait(), 30)
    finally:
        if clock is not None:
            clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await clock
        await stop_process(client)
    if not line.strip():
        msg = f"{strategy} client exited with {client.returncode} and no report"
        raise RuntimeError(msg)
    report: dict[str, Any] = json.loads(line)
    return report


# --- output ----------------------------------------------------------------------------------


def _fmt(value: object, spec: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        return format(value, spec)
    return str(value)


def table(results: dict[int, dict[str, dict[str, Any]]], settings: Settings) -> str:
    header = (
        "| N | strategy | requests (server) | req/tick | ticks | wall s | CPU s "
        "| CPU ms/tick held | CPU ms/tick all | peak RSS MB | KB/task held "
        "| latency p50 s | p99 s |"
    )
    lines = [
        header,
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for tasks, by_strategy in results.items():
        for strategy in STRATEGIES:
            row = by_strategy.get(strategy)
            if row is None:
                continue
            if "skipped" in row:
                lines.append(
                    f"| {tasks:,} | {strategy} | skipped: {row['skipped']} | | | | | | | | | | |"
                )
                continue
            lines.append(
                f"| {tasks:,} | {strategy} | {row['requests']:,} ({row['server_requests']:,}) "
                f"| {_fmt(row['requests_per_tick'], '.1f')} | {row['ticks']} "
                f"| {row['wall_s']:.2f} | {row['cpu_s']:.3f} "
                f"| {_fmt(row['cpu_per_held_tick_ms'], '.1f')} "
                f"| {_fmt(row['cpu_per_tick_ms'], '.1f')} | {row['peak_rss_mb']:.1f} "
                f"| {_fmt(row['mem_per_task_kb'], '.2f')} "
                f"| {_fmt(row['latency_p50_s'], '.3f')} | {_fmt(row['latency_p99_s'], '.3f')} |"
            )
    lines.append("")
    lines.append(
        f"Poll interval {settings.interval:g} s for all three; server page size "
        f"{settings.page_size} (= watcher batch_size and bare chunk size); watcher and bare "
        f"run {settings.concurrency} queries at a time; fake clock stopped for the first "
        f"{settings.hold} intervals (holding ticks), then {settings.speed:g}x (songs take "
        f"30-125 simulated s); failure rate {settings.failure_rate:g}. Requests = task "
        "queries counted by the client (by the server). CPU ms/tick held = mean client CPU of "
        "the holding ticks after the first; all = CPU s / ticks. KB/task held = RSS growth "
        "over the pre-wait baseline while all N tasks were outstanding, per task."
        + (" Client and server each ran on a core of its own." if settings.pin else "")
    )
    every_row = [row for rows in results.values() for row in rows.values()]
    runs = max((row.get("runs", 1) for row in every_row), default=1)
    if runs > 1:
        lines[-1] += f" Each row is the median-CPU run of {runs}, run round-robin."
    return "\n".join(lines)


def checks(results: dict[int, dict[str, dict[str, Any]]], settings: Settings) -> list[str]:
    """The issue's targets, as ratios measured in this run; INFO lines give context."""
    lines: list[str] = []
    for tasks, rows in results.items():
        for name, row in rows.items():
            if "skipped" in row:
                continue
            if row["requests"] != row["server_requests"] or row["errors"] or row["unresolved"]:
                lines.append(
                    f"WARN: N={tasks:,} {name}: client counted {row['requests']} requests, "
                    f"server {row['server_requests']}; {row['errors']} errors "
                    f"{row['error_samples']}; {row['unresolved']} unresolved"
                )

    def verdict(ok: bool, text: str) -> None:
        lines.append(f"{'PASS' if ok else 'FAIL'}: {text}")

    def ran(tasks: int, strategy: str) -> dict[str, Any] | None:
        row = results.get(tasks, {}).get(strategy)
        return None if row is None or "skipped" in row else row

    for tasks in results:
        watcher = ran(tasks, "watcher")
        if watcher is None:
            continue
        pairs = [(t["requests"], t["expected"]) for t in watcher["tick_detail"]]
        verdict(
            watcher["requests_per_tick_ok"] and watcher["unresolved"] == 0,
            f"N={tasks:,}: watcher requests per tick == ceil(outstanding / {settings.page_size}) "
            f"on all {watcher['ticks']} ticks ((sent, expected) per tick: {pairs}); "
            f"{watcher['resolved']:,} resolved, {watcher['unresolved']} unresolved",
        )
    watcher, per_task = ran(1_000, "watcher"), ran(1_000, "per_task")
    if watcher and per_task:
        requests = per_task["server_requests"] / max(1, watcher["server_requests"])
        cpu = per_task["cpu_s"] / watcher["cpu_s"]
        verdict(
            requests >= MIN_REQUEST_RATIO,
            f"N=1,000: per_task/watcher requests = {per_task['server_requests']:,}/"
            f"{watcher['server_requests']:,} = {requests:.1f}x (target >= {MIN_REQUEST_RATIO:g}x)",
        )
        verdict(
            cpu >= MIN_CPU_RATIO,
            f"N=1,000: per_task/watcher client CPU = {per_task['cpu_s']:.3f}/"
            f"{watcher['cpu_s']:.3f} s = {cpu:.1f}x (target >= {MIN_CPU_RATIO:g}x)",
        )
    else:
        lines.append("SKIP: N=1,000 watcher vs per_task (not both in this run)")
    watcher = ran(10_000, "watcher")
    if watcher:
        verdict(
            watcher["mem_per_task_kb"] <= MAX_KB_PER_TASK,
            f"N=10,000: watcher holds {watcher['mem_per_task_kb']:.2f} KB/task while all are "
            f"outstanding (target <= {MAX_KB_PER_TASK:g})",
        )
        lines.append(
            f"INFO: N=10,000: peak RSS growth {watcher['peak_mem_per_task_kb']:.2f} KB/task "
            f"(peak {watcher['peak_rss_mb']:.0f} MB, after results arrived)"
        )
        held = watcher["cpu_per_held_tick_ms"]
        verdict(
            held is not None and held <= MAX_CPU_MS_PER_TICK,
            f"N=10,000: watcher CPU {_fmt(held, '.1f')} ms per holding tick (10,000 "
            f"outstanding, {watcher['tick_detail'][0]['requests']} requests; target <= "
            f"{MAX_CPU_MS_PER_TICK:g} ms)",
        )
        bare = ran(10_000, "bare")
        bare_text = (
            f"; bare: {_fmt(bare['cpu_per_held_tick_ms'], '.1f')} ms held, "
            f"{bare['cpu_per_tick_ms']:.1f} ms mean, {bare['cpu_per_tick_max_ms']:.1f} ms worst"
            if bare
            else ""
        )
        lines.append(
            f"INFO: N=10,000: watcher CPU per tick over the whole wait "
            f"{watcher['cpu_per_tick_ms']:.1f} ms mean, {watcher['cpu_per_tick_max_ms']:.1f} ms "
            f"worst, first tick {watcher['cpu_first_tick_ms']:.1f} ms{bare_text}"
        )
    else:
        lines.append("SKIP: N=10,000 watcher memory and CPU per tick (not in this run)")
    bound = settings.interval + LATENCY_SLACK_S
    for tasks in results:
        watcher = ran(tasks, "watcher")
        if watcher is None or watcher["latency_p99_s"] is None:
            continue
        verdict(
            watcher["latency_p99_s"] <= bound,
            f"N={tasks:,}: watcher latency p99 {watcher['latency_p99_s']:.3f} s (target <= "
            f"interval + {LATENCY_SLACK_S * 1000:g} ms = {bound:.3f} s); "
            + ", ".join(
                f"{name} {_fmt(other['latency_p99_s'], '.3f')} s"
                for name in ("bare", "per_task")
                if (other := ran(tasks, name)) is not None
            ),
        )
    for tasks in results:
        watcher, bare = ran(tasks, "watcher"), ran(tasks, "bare")
        if watcher is None or bare is None:
            continue
        overhead = watcher["cpu_s"] / bare["cpu_s"]
        verdict(
            overhead <= MAX_OVERHEAD,
            f"N={tasks:,}: watcher/bare client CPU = {watcher['cpu_s']:.3f}/{bare['cpu_s']:.3f} "
            f"s = {overhead:.2f}x (target <= {MAX_OVERHEAD:g}x)",
        )
        w_held, b_held = watcher["cpu_per_held_tick_ms"], bare["cpu_per_held_tick_ms"]
        if w_held and b_held:
            lines.append(
                f"INFO: N={tasks:,}: per holding tick {w_held:.1f} vs {b_held:.1f} ms "
                f"({w_held / b_held:.2f}x); per result ≈ "
                f"{_fmt(watcher['cpu_per_result_us'], '.0f')} vs "
                f"{_fmt(bare['cpu_per_result_us'], '.0f')} µs; GC "
                f"{watcher['gc_s'] * 1000:.0f} vs {bare['gc_s'] * 1000:.0f} ms"
            )
        if (by_round := _ratios_by_round(watcher, bare)) is not None:
            lines.append(f"INFO: N={tasks:,}: {by_round}")
    return lines


def _ratios_by_round(watcher: dict[str, Any], bare: dict[str, Any]) -> str | None:
    """
    The CPU ratio of each round: its two runs are seconds apart, so the spread of these
    shows how much of a difference is the machine's load rather than the code.
    """
    pairs = list(zip(watcher.get("cpu_s_runs", ()), bare.get("cpu_s_runs", ()), strict=False))
    if len(pairs) < 2:
        return None
    ratios = sorted(w / b for w, b in pairs)
    median = percentile(ratios, 0.5) or 0.0
    return (
        f"watcher/bare CPU round by round {', '.join(f'{r:.2f}' for r in ratios)}x "
        f"(median {median:.2f}x)"
    )


def strategy_json(results: dict[int, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """
    ``{"watcher": {...}, "per_task": {...}, "bare": {...}}``: each strategy at the largest N
    it ran (its ``tasks`` key says which), with every N under ``by_tasks``.
    """
    out: dict[str, Any] = {}
    for strategy in STRATEGIES:
        by_tasks = {
            str(tasks): rows[strategy] for tasks, rows in results.items() if strategy in rows
        }
        if not by_tasks:
            continue
        ran = [row for row in by_tasks.values() if "skipped" not in row]
        latest = dict(ran[-1] if ran else next(reversed(by_tasks.values())))
        if len(by_tasks) > 1:
            latest["by_tasks"] = by_tasks
        out[strategy] = latest
    return out


def _tasks(values: Sequence[str]) -> list[int]:
    out: list[int] = []
    for value in values:
        out.extend(int(part.replace("_", "")) for part in value.split(",") if part.strip())
    if not out or min(out) < 1:
        msg = "--tasks wants positive integers"
        raise argparse.ArgumentTypeError(msg)
    return out


def parser() -> argparse.ArgumentParser:
    defaults = Settings()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--tasks",
        nargs="+",
        default=[",".join(map(str, DEFAULT_TASKS))],
        help="N, several or a comma list (default 100,1000,10000)",
    )
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--strategies", default=",".join(STRATEGIES), help="comma list")
    p.add_argument("--interval", type=float, default=defaults.interval, help="poll interval, s")
    p.add_argument("--speed", type=float, default=defaults.speed, help="simulated s per real s")
    p.add_argument("--page-size", type=int, default=defaults.page_size)
    p.add_argument("--concurrency", type=int, default=defaults.concurrency)
    p.add_argument("--failure-rate", type=float, default=defaults.failure_rate)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--clock-step", type=float, default=defaults.clock_step)
    p.add_argument(
        "--hold",
        type=int,
        default=defaults.hold,
        help="intervals with the fake clock stopped before songs progress (holding ticks)",
    )
    p.add_argument(
        "--per-task-max",
        type=int,
        default=defaults.per_task_max,
        help="skip per_task above this N (it would need N requests a second)",
    )
    p.add_argument("--timeout", type=float, default=defaults.timeout, help="per strategy, s")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each strategy this many times, round-robin; keep the median-CPU run",
    )
    p.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    p.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="let the scheduler place client and server (by default each has its own core)",
    )
    p.add_argument(
        "--profile",
        metavar="DIR",
        help="cProfile each client's waiting phase into DIR/STRATEGY-N.prof (inflates CPU)",
    )
    p.add_argument("--_run-strategy", choices=STRATEGIES, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--key", help=argparse.SUPPRESS)
    p.add_argument("--ids-file", help=argparse.SUPPRESS)
    return p


async def harness(
    tasks_list: list[int], strategies: list[str], settings: Settings, repeat: int
) -> dict[int, dict[str, dict[str, Any]]]:
    """
    Every strategy at every N, ``repeat`` times round-robin (so drifts in the machine's load
    hit all strategies alike); the run with the median client CPU is kept.
    """
    results: dict[int, dict[str, dict[str, Any]]] = {}
    for tasks in tasks_list:
        results[tasks] = {}
        runs: dict[str, list[dict[str, Any]]] = {}
        for strategy in strategies:
            if strategy == "per_task" and tasks > settings.per_task_max:
                results[tasks][strategy] = {
                    "tasks": tasks,
                    "skipped": f"N > --per-task-max {settings.per_task_max} "
                    f"(would need ~{tasks / settings.interval:,.0f} requests/s)",
                    **dict.fromkeys(REQUIRED_KEYS),
                }
            else:
                runs[strategy] = []
        for attempt in range(repeat):
            for strategy, done in runs.items():
                sys.stderr.write(f"bench_watch: N={tasks:,} {strategy} run {attempt + 1} ...\n")
                sys.stderr.flush()
                row = await run_strategy(strategy, tasks, settings)
                done.append(row)
                sys.stderr.write(
                    f"bench_watch: N={tasks:,} {strategy}: {row['requests']} requests, "
                    f"{row['cpu_s']:.3f} s CPU, p99 {_fmt(row['latency_p99_s'], '.3f')} s\n"
                )
        for strategy, done in runs.items():
            rounds = [row["cpu_s"] for row in done]
            done.sort(key=lambda row: float(row["cpu_s"]))
            kept = done[len(done) // 2]
            kept["runs"] = len(done)
            kept["cpu_s_runs"] = rounds  # in the order run: round i of each strategy ran together
            results[tasks][strategy] = kept
    return {tasks: {s: rows[s] for s in STRATEGIES if s in rows} for tasks, rows in results.items()}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings(
        interval=args.interval,
        speed=args.speed,
        page_size=args.page_size,
        concurrency=args.concurrency,
        failure_rate=args.failure_rate,
        seed=args.seed,
        clock_step=args.clock_step,
        hold=args.hold,
        per_task_max=args.per_task_max,
        timeout=args.timeout,
        profile=str(Path(args.profile).resolve()) if args.profile else None,
        pin=args.pin,
    )
    if args._run_strategy:
        run_client_process(args, settings)
        return 0
    strategies = [s.strip() for s in str(args.strategies).split(",") if s.strip()]
    unknown = set(strategies) - set(STRATEGIES)
    if unknown:
        parser().error(f"unknown strategies: {sorted(unknown)}")
    if args.repeat < 1:
        parser().error("--repeat must be at least 1")
    results = asyncio.run(harness(_tasks(args.tasks), strategies, settings, args.repeat))
    print(table(results, settings))
    print()
    verdicts = checks(results, settings)
    print("\n".join(verdicts))
    print()
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"aiohttp {aiohttp.__version__}, {sys.platform}"
    )
    if args.json:
        payload = strategy_json(results)
        payload_settings = {"settings": asdict(settings)}
        for row in payload.values():
            row.update(payload_settings)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    failed = any(line.startswith("FAIL") for line in verdicts)
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
