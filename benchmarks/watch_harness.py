"""
The harness of ``bench_watch.py``: a fake server and a client process per strategy and N.

The server runs as ``python -m suno_async.testing`` and the client as ``bench_watch.py``
itself (``--_run-strategy``), each on a core of its own; the harness creates the tasks,
drives the server's clock, and collects the client's report and the server's counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from rows_by_hand import submitted_ids
from watch_report import fmt, summarize
from watch_settings import (
    API_KEY,
    CREATE_CONCURRENCY,
    GENERATE_PRICE,
    REQUIRED_KEYS,
    SCRIPT,
    STRATEGIES,
    Settings,
)


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
        "--dialect=live",  # the rows the service sends today, which every strategy reads
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
        return submitted_ids(answer["data"])

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
                    f"{row['cpu_s']:.3f} s CPU, p99 {fmt(row['latency_p99_s'], '.3f')} s\n"
                )
        for strategy, done in runs.items():
            rounds = [row["cpu_s"] for row in done]
            done.sort(key=lambda row: float(row["cpu_s"]))
            kept = done[len(done) // 2]
            kept["runs"] = len(done)
            kept["cpu_s_runs"] = rounds  # in the order run: round i of each strategy ran together
            results[tasks][strategy] = kept
    return {tasks: {s: rows[s] for s in STRATEGIES if s in rows} for tasks, rows in results.items()}
