"""
A bulk run on one key, with and without the request budget: what each sends a minute.

    python benchmarks/bench_budget.py                 # 2,000 outstanding songs, 5 s polls
    python benchmarks/bench_budget.py --tasks 500 --seconds 3

The fake server (in this process, its clock stopped so no song finishes) holds ``--tasks``
songs; a session waits on all of them while a bulk of generate calls keeps going, for
``--seconds`` real seconds. Time is compressed ``--scale`` times (60: a real second stands
for a minute), the budget's rate and the poll interval with it, so the figures below are
per simulated minute. Side by side: the session with ``rate_limit=None`` (what every
release before the budget sent) and with the default ``RateLimit()``; each line gives the
requests a minute (polls and paid calls), the period between two polls of one song, and
the longest a song went unasked. PASS/FAIL lines close the report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import sys
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from suno_async import AsyncSuno, PollPolicy, RateLimit, TaskKind
from suno_async.testing import FakeSunoServer

GENERATE = "POST /music/generate"
BATCH = "GET /music/tasks"


async def create(fake: FakeSunoServer, tasks: int) -> list[Any]:
    """``tasks`` outstanding songs, made by a session with no budget (not measured)."""
    async with AsyncSuno(fake.api_key, base_url=fake.url, rate_limit=None) as suno:
        made: list[Any] = []

        async def one() -> None:
            made.extend(await suno.generate(title="Bench", description="a cheerful pop song"))

        async with anyio.create_task_group() as group:
            for _ in range(math.ceil(tasks / 2)):
                group.start_soon(one)
        return [(h.task_id, h.kind) for h in made[:tasks]]


async def measure(
    fake: FakeSunoServer, ids: list[Any], limit: RateLimit | None, args: argparse.Namespace
) -> dict[str, Any]:
    """Wait on every id while generate calls keep going; count what leaves, per minute."""
    scale = args.scale
    scaled = None if limit is None else RateLimit(per_minute=limit.per_minute * scale)
    poll = PollPolicy(interval=args.interval / scale, first_poll=dict.fromkeys(TaskKind, 0.0))
    fake.reset_counters()
    fake.batch_ids.clear()
    async with AsyncSuno(fake.api_key, base_url=fake.url, poll=poll, rate_limit=scaled) as suno:
        handles = [suno.handle(task_id, kind) for task_id, kind in ids]

        async def bulk() -> None:
            # Each sender stops by itself: a paid call is never cancelled in flight here.
            while time.monotonic() < started + args.seconds:
                await suno.generate(title="More", description="a cheerful pop song")

        started = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(suno.wait, handles)
            async with anyio.create_task_group() as senders:
                for _ in range(4):
                    senders.start_soon(bulk)
            group.cancel_scope.cancel()  # only the wait: the senders have ended
        elapsed = time.monotonic() - started
        period = suno.stats.poll_period * scale
    minutes = elapsed * scale / 60
    asked: dict[str, int] = {}
    longest = 0
    for index, query in enumerate(fake.batch_ids):
        for task_id in query:
            longest = max(longest, index - asked.get(task_id, 0))
            asked[task_id] = index
    queries_per_s = len(fake.batch_ids) / elapsed if fake.batch_ids else 1.0
    return {
        "mode": "none" if limit is None else f"RateLimit({limit.per_minute:g}/min)",
        "per_minute": fake.total_requests / minutes,
        "polls": fake.requests[BATCH] / minutes,
        "paid": fake.requests[GENERATE] / minutes,
        "period_s": period,
        "longest_s": longest / queries_per_s * scale,
        "asked_all": len(asked) == len(ids),
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=5.0, help="poll interval (simulated)")
    parser.add_argument("--scale", type=float, default=60.0)
    args = parser.parse_args()
    async with FakeSunoServer(speed=0.0, points=10**9) as fake:
        ids = await create(fake, args.tasks)
        rows = [await measure(fake, ids, limit, args) for limit in (None, RateLimit())]
    print(f"{args.tasks} outstanding songs, polls every {args.interval:g} s, 4 bulk senders")
    print("| mode | requests/min | polls/min | paid/min | poll period s | longest unasked s |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['mode']} | {row['per_minute']:.0f} | {row['polls']:.0f} | "
            f"{row['paid']:.0f} | {row['period_s']:.1f} | {row['longest_s']:.1f} |"
        )
    none, budget = rows
    print(f"budget / none, requests a minute: {budget['per_minute'] / none['per_minute']:.2f}x")
    checks = [
        ("the budget keeps under 120 a minute", budget["per_minute"] <= 120),
        ("paid calls keep going within the budget", budget["paid"] > 0),
        ("every song is asked about within the budget", budget["asked_all"]),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'} {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main()))
