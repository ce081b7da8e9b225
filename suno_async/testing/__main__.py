"""Run the fake server as its own process, for benchmarks that must not share a loop with it.

The single line printed on start lets a parent that asked for ``--port 0`` learn the port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from ._server import FakeSunoServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m suno_async.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key", default="fake-key")
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--max-page-size", type=int, default=50)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument(
        "--queued-s", type=float, nargs=2, default=(0.0, 5.0), metavar=("MIN", "MAX")
    )
    parser.add_argument(
        "--generating-s", type=float, nargs=2, default=(30.0, 120.0), metavar=("MIN", "MAX")
    )
    parser.add_argument("--no-total", action="store_true", help="omit total from /music/tasks")
    parser.add_argument("--errors-as-http-200", action="store_true")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    server = FakeSunoServer(
        api_key=args.api_key,
        points=args.points,
        speed=args.speed,
        max_page_size=args.max_page_size,
        batch_returns_total=not args.no_total,
        errors_as_http_200=args.errors_as_http_200,
        failure_rate=args.failure_rate,
        queued_s=tuple(args.queued_s),
        generating_s=tuple(args.generating_s),
        seed=args.seed,
        latency=args.latency,
        error_rate=args.error_rate,
        host=args.host,
        port=args.port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with server:
        sys.stdout.write(f"SUNO_BASE_URL={server.url} SUNO_API_KEY={server.api_key}\n")
        sys.stdout.flush()
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
