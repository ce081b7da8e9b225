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
``bare_orjson``
    the same loop decoding with ``orjson.loads``, as the SDK does: the fair baseline. The
    targets: the watcher's CPU at most 1.2x this loop's, and at most 0.8x the ``json`` one's.

The code: ``watch_strategies.py`` (the client process and its strategies),
``watch_harness.py`` (servers, clients, the clock), ``watch_report.py`` (ticks, the table,
the verdicts) and ``watch_settings.py`` (what they share); this file is the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import aiohttp

from checkout import use_this_checkout
from watch_harness import harness
from watch_report import checks, strategy_json, table
from watch_settings import DEFAULT_TASKS, STRATEGIES, Settings
from watch_strategies import run_client_process

use_this_checkout()


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
