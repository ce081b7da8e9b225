"""
Soak: thousands of tasks awaited through one session while the fake server misbehaves.

Many coroutines share one session; each starts songs, then waits on them (with ``wait``,
``as_completed`` or a handle) next to ids the service does not know, while a share of the
waits is cancelled at random. The fake server injects 5xx, 429 with Retry-After (huge ones
too), dropped connections, trickled and truncated bodies, HTML pages and malformed JSON at
set rates, and refuses every batch that holds an unknown id (HTTP 200, code 500, 任务不存在).

Every awaiter must end with the right result or the right typed error; no future may be
left pending; no paid call may reach the service twice; nothing may warn; and the memory
the SDK's own code holds must not grow from round to round.

The short form runs in the normal suite. The long form runs for minutes::

    SUNO_SOAK=long python -m pytest tests/test_soak.py -s

``SUNO_SOAK_REPORT=path.json`` writes the run's figures (as the README quotes them).
"""

from __future__ import annotations

import collections
import gc
import json
import logging
import os
import random
import time
import tracemalloc
import warnings
from functools import partial
from pathlib import Path

import anyio
import attrs
import pytest

import suno_async
from helpers import BATCH, DIALECT, GENERATE, SINGLE
from suno_async import (
    AsyncSuno,
    NotFoundError,
    PollPolicy,
    RetryPolicy,
    Song,
    SunoError,
    TaskFailedError,
    TaskHandle,
    TaskKind,
)
from suno_async.testing import FakeSunoServer, Fault

pytestmark = pytest.mark.anyio

LONG = os.environ.get("SUNO_SOAK", "") == "long"
POLLS = (BATCH, SINGLE)


@attrs.frozen
class Plan:
    """How big a soak is: rounds of ``workers`` coroutines, each starting ``songs_each`` songs."""

    rounds: int
    workers: int
    calls_each: int
    unknown_rate: float = 0.05
    cancel_rate: float = 0.15


SHORT = Plan(rounds=3, workers=36, calls_each=5)
LONGER = Plan(rounds=8, workers=100, calls_each=8)


def poll_faults() -> list[Fault]:
    """What the polls meet, at rates that make every kind strike many times a round."""
    return [Fault("500", endpoint=endpoint, rate=0.03) for endpoint in POLLS] + [
        Fault(kind, endpoint=endpoint, rate=rate, retry_after=retry_after, delay=delay)
        for endpoint in POLLS
        for kind, rate, retry_after, delay in (
            ("503", 0.02, "0.05", 0.0),
            ("429", 0.02, "0.05", 0.0),
            ("429", 0.005, "1e9", 0.0),
            ("drop_before", 0.02, None, 0.0),
            ("slow_body", 0.01, None, 1.0),
            ("truncated", 0.02, None, 0.0),
            ("502_html", 0.02, None, 0.0),
            ("malformed", 0.01, None, 0.0),
        )
    ]


def paid_faults() -> list[Fault]:
    """What the paid calls meet: a 429 costs nothing; a 500 or a drop may have charged."""
    return [
        Fault("429", endpoint=GENERATE, rate=0.03, retry_after="0.02"),
        Fault("500", endpoint=GENERATE, rate=0.01),
        Fault("drop_after", endpoint=GENERATE, rate=0.01),
    ]


class Tally:
    """What every awaiter ended with, and what went wrong."""

    def __init__(self) -> None:
        self.awaited = 0
        self.results = 0
        self.typed_errors: collections.Counter[str] = collections.Counter()
        self.cancelled = 0
        self.wrong: list[str] = []
        self.started: dict[int, str] = {}  # task id -> the title of the call that made it
        self.call_errors: collections.Counter[str] = collections.Counter()


def check(tally: Tally, fake: FakeSunoServer, handle_id: int, outcome: object) -> None:
    """The outcome an awaiter of ``handle_id`` got must be what the server says it is."""
    tally.awaited += 1
    if handle_id not in tally.started:
        if isinstance(outcome, NotFoundError) and str(handle_id) in str(outcome):
            tally.typed_errors["NotFoundError"] += 1
        else:
            tally.wrong.append(f"unknown id {handle_id} ended with {outcome!r}")
        return
    status = fake.task(handle_id).status
    if status == 3 and isinstance(outcome, Song) and outcome.task_id == handle_id:
        tally.results += 1
    elif status == 4 and isinstance(outcome, TaskFailedError) and outcome.task_id == handle_id:
        tally.typed_errors["TaskFailedError"] += 1
    else:
        tally.wrong.append(f"task {handle_id} (status {status}) ended with {outcome!r}")


async def worker(
    suno: AsyncSuno, fake: FakeSunoServer, tally: Tally, plan: Plan, *, name: str, seed: int
) -> None:
    """Start songs, then wait on them (and on unknown ids) one way or another."""
    rng = random.Random(seed)
    handles: list[TaskHandle[Song]] = []
    for call in range(plan.calls_each):
        title = f"{name}-{call}"
        try:
            started = await suno.generate(title=title, description="a soak test song")
        except SunoError as exc:
            tally.call_errors[type(exc).__name__] += 1
            continue
        for handle in started:
            tally.started[handle.task_id] = title
        handles += started
    unknown = [
        suno.handle(10**9 + seed * 100 + index, TaskKind.SONG)
        for index in range(len(handles))
        if rng.random() < plan.unknown_rate
    ]
    items = handles + unknown
    rng.shuffle(items)
    if rng.random() < plan.cancel_rate:
        # Give up early on purpose; what these waits leave behind is checked at the end.
        with anyio.move_on_after(rng.uniform(0.0, 0.3)) as scope:
            await suno.wait(items, return_exceptions=True)
        if scope.cancelled_caught:
            tally.cancelled += 1
    way = rng.randrange(3)
    if way == 0:
        outcomes = await suno.wait(items, return_exceptions=True)
        for item, outcome in zip(items, outcomes, strict=True):
            check(tally, fake, item.task_id, outcome)
    elif way == 1:
        seen = set()
        async for outcome in suno.as_completed(items, return_exceptions=True):
            task_id = getattr(outcome, "task_id", None)
            if task_id is None:
                tally.wrong.append(f"{name}: as_completed gave {outcome!r} with no task id")
                continue
            seen.add(task_id)
            check(tally, fake, task_id, outcome)
        if seen != {item.task_id for item in items}:
            tally.wrong.append(f"{name}: as_completed missed {len(items) - len(seen)} ids")
    else:
        for item in items:
            result: object
            try:
                result = await item.wait()
            except SunoError as exc:
                result = exc
            check(tally, fake, item.task_id, result)


def sdk_memory() -> int:
    """Bytes now held by allocations made in the SDK's own code (the fake server's excluded)."""
    root = str(Path(suno_async.__file__).resolve().parent)
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(inclusive=True, filename_pattern=f"{root}/*"),
            tracemalloc.Filter(inclusive=False, filename_pattern=f"{root}/testing/*"),
        ]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


@pytest.mark.timeout(1800 if LONG else 60)
async def test_soak(caplog: pytest.LogCaptureFixture) -> None:
    """Under every fault at once, every awaiter ends right, and nothing leaks or repeats."""
    plan = LONGER if LONG else SHORT
    caplog.set_level(logging.WARNING, logger="suno_async")
    policy = PollPolicy(
        interval=0.05,
        first_poll=dict.fromkeys(TaskKind, 0.0),
        max_backoff=0.2,
        max_pause=0.1,
        poll_timeout=0.4,
    )
    retry = RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.05, wait_jitter=0.0)
    tally = Tally()
    memory: list[int] = []
    began = time.monotonic()
    tracemalloc.start(1)
    try:
        async with FakeSunoServer(
            dialect=DIALECT,
            speed=1000.0,
            queued_s=(0.0, 20.0),
            generating_s=(20.0, 200.0),
            failure_rate=0.05,
            points=10**9,
            seed=11,
            unknown_batch="fail",
            faults=[*poll_faults(), *paid_faults()],
        ) as fake:
            async with AsyncSuno(
                fake.api_key, base_url=fake.url, poll=policy, rate_limit=None, retry=retry
            ) as suno:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    for round_ in range(plan.rounds):
                        with anyio.fail_after(60 if not LONG else 600):
                            async with anyio.create_task_group() as group:
                                for index in range(plan.workers):
                                    seed = round_ * plan.workers + index
                                    group.start_soon(
                                        partial(
                                            worker,
                                            suno,
                                            fake,
                                            tally,
                                            plan,
                                            name=f"r{round_}w{index}",
                                            seed=seed,
                                        )
                                    )
                        gc.collect()
                        memory.append(sdk_memory())
                # Every wait has ended: nothing is left for the watcher to poll or resolve.
                assert suno.watcher.outstanding() == []
                assert suno.stats.outstanding == 0
                stats = suno.stats
            titles = collections.Counter(call.body["title"] for call in fake.accepted_calls)
            injected = dict(sorted(fake.faults_injected.items()))
    finally:
        tracemalloc.stop()
    duplicates = sum(count - 1 for count in titles.values() if count > 1)
    report = {
        "form": "long" if LONG else "short",
        "seconds": round(time.monotonic() - began, 1),
        "tasks_started": len(tally.started),
        "tasks_awaited": tally.awaited,
        "results": tally.results,
        "typed_errors": dict(tally.typed_errors),
        "unknown_ids_awaited": tally.typed_errors["NotFoundError"],
        "paid_call_errors": dict(tally.call_errors),
        "waits_cancelled": tally.cancelled,
        "faults_injected": injected,
        "results_lost": len(tally.wrong),
        "waits_left_hanging": stats.outstanding,
        "duplicate_paid_calls": duplicates,
        "poll_requests": stats.requests,
        "poll_errors": stats.poll_errors,
        "sdk_memory_bytes_by_round": memory,
        "warnings": len(caught),
    }
    print(json.dumps(report, ensure_ascii=False))
    if path := os.environ.get("SUNO_SOAK_REPORT"):
        text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
        await anyio.Path(path).write_text(text)
    assert tally.wrong == []
    assert duplicates == 0
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert tally.awaited >= plan.rounds * plan.workers * plan.calls_each
    # Every kind of fault struck, each more than once.
    assert set(injected) >= {"429", "500", "502_html", "503", "drop_before", "truncated"}
    # Once warm (caches filled, the pool's connections open), the SDK's own allocations
    # stay put from round to round: nothing grows with the tasks awaited.
    assert memory[-1] - memory[1] < 64 * 1024
