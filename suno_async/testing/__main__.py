"""Run the fake Suno server as its own process, e.g. for benchmarks or crash tests.

On start it prints one line, SUNO_BASE_URL=<url> SUNO_API_KEY=<key>, so a parent that
asked for --port 0 learns the port; --url-file also writes the base URL to a file
(atomically, so a reader never sees half of it). GET /_fake/stats, GET /_fake/paid-calls,
POST /_fake/advance, POST /_fake/completions and POST /_fake/reset-counters on the same
origin let another process inspect and steer it. SIGINT or SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import textwrap
from pathlib import Path

from ._faults import FAULT_KINDS, Fault
from ._server import DIALECTS, UNKNOWN_BATCH, UNKNOWN_SINGLE, FakeSunoServer


def _fault_rate(value: str) -> Fault:
    kind, _, rate = value.partition("=")
    try:
        return Fault(kind, rate=float(rate), retry_after=None)
    except ValueError as exc:
        msg = f"{value!r}: {exc} (expected KIND=RATE, e.g. 500=0.02)"
        raise argparse.ArgumentTypeError(msg) from None


def _media_bytes(value: str) -> int | tuple[int, int]:
    low, dash, high = value.partition("-")
    try:
        return (int(low), int(high)) if dash else int(low)
    except ValueError:
        msg = f"{value!r} is not a size in bytes or a MIN-MAX range"
        raise argparse.ArgumentTypeError(msg) from None


def _parser() -> argparse.ArgumentParser:
    kinds = "\n".join(
        textwrap.fill(text, 88, initial_indent=f"  {kind:<15}", subsequent_indent=" " * 17)
        for kind, text in sorted(FAULT_KINDS.items())
    )
    parser = argparse.ArgumentParser(
        prog="python -m suno_async.testing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"fault kinds for --fault-rate:\n{kinds}",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    add("--port", type=int, default=8000, help="port to listen on; 0 picks a free one")
    add("--url-file", type=Path, help="also write the base URL to this file once listening")
    add("--api-key", default="fake-key", help="the only key accepted (default: %(default)s)")
    add("--points", type=int, default=10_000, help="the account's starting balance")
    add("--speed", type=float, default=1.0, help="simulated seconds per real second")
    add("--seed", type=int, default=None, help="seed for songs, timings and random faults")
    add("--max-page-size", type=int, default=50, help="most rows one /music/tasks page holds")
    add("--no-total", action="store_true", help="omit total from /music/tasks answers")
    add(
        "--errors-as-http-200",
        action="store_true",
        help="answer errors with HTTP 200, the error only in the envelope",
    )
    add("--failure-rate", type=float, default=0.0, help="share of tasks that end failed")
    add(
        "--queued-s",
        type=float,
        nargs=2,
        default=(0.0, 5.0),
        metavar=("MIN", "MAX"),
        help="simulated seconds a task waits in the queue (uniform in MIN..MAX)",
    )
    add(
        "--generating-s",
        type=float,
        nargs=2,
        default=(30.0, 120.0),
        metavar=("MIN", "MAX"),
        help="simulated seconds a task spends generating (uniform in MIN..MAX)",
    )
    add("--latency", type=float, default=0.0, help="seconds added before every API answer")
    add("--paid-latency", type=float, default=0.0, help="seconds added before every paid POST")
    add("--error-rate", type=float, default=0.0, help="share of API requests answered HTTP 500")
    add(
        "--fault-rate",
        type=_fault_rate,
        action="append",
        default=[],
        metavar="KIND=RATE",
        help="inject a fault kind into that share of API requests; repeatable",
    )
    add(
        "--retry-after",
        default=None,
        help="Retry-After sent by 429 and 503 faults from --fault-rate (default: none)",
    )
    add(
        "--fault-delay",
        type=float,
        default=1.0,
        help="seconds a latency or slow_body fault from --fault-rate takes",
    )
    add(
        "--dialect",
        choices=DIALECTS,
        default="live",
        help="answer as the live service does today, or as the reference page shows "
        "(default: %(default)s)",
    )
    add(
        "--unknown-single",
        choices=UNKNOWN_SINGLE,
        default="404",
        help="an unknown id in /music/task: code 404, or data null",
    )
    add(
        "--unknown-batch",
        choices=UNKNOWN_BATCH,
        default="omit",
        help="unknown ids in /music/tasks: left out of the rows, or the whole batch "
        "failing with HTTP 200 and code 500",
    )
    add(
        "--media-bytes",
        type=_media_bytes,
        default=None,
        metavar="N|MIN-MAX",
        help="size of each audio and video file (default: tiny valid files)",
    )
    add(
        "--separate-media-origin",
        action="store_true",
        help="serve media on a port of its own, as a CDN on another host would",
    )
    return parser


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


class _StartError(Exception):
    """A setting the server refused, or a port or file it could not use: one line, exit 2."""


async def _serve(args: argparse.Namespace) -> None:
    try:
        server = _server(args)
        await server.start()
    except (ValueError, TypeError, OSError, OverflowError) as exc:
        raise _StartError(exc) from exc
    try:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        if args.url_file is not None:
            try:
                _write_atomically(args.url_file, server.url + "\n")
            except OSError as exc:
                raise _StartError(exc) from exc
        sys.stdout.write(f"SUNO_BASE_URL={server.url} SUNO_API_KEY={server.api_key}\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await server.close()


def _server(args: argparse.Namespace) -> FakeSunoServer:
    for fault in args.fault_rate:
        fault.retry_after = args.retry_after
        fault.delay = args.fault_delay
    return FakeSunoServer(
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
        faults=args.fault_rate,
        paid_latency=args.paid_latency,
        unknown_single=args.unknown_single,
        unknown_batch=args.unknown_batch,
        dialect=args.dialect,
        media_bytes=args.media_bytes,
        separate_media_origin=args.separate_media_origin,
    )


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    except _StartError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")


if __name__ == "__main__":
    main()
