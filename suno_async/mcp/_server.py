"""
Launching the server: its options, the session and ledger it owns, and the two transports
(stdio for a host that starts it, streamable HTTP on loopback for one that connects to it).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import secrets
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Final

from mcp.server.mcpserver import MCPServer

from .._client import AsyncSuno
from .._config import PollPolicy
from .._models import TaskStatus
from ..cli._exit import CliError
from ..cli._session import fast_poll, read_key
from ._ledger import Ledger
from ._service import Service, Settings, track_statuses
from ._tools import INSTRUCTIONS, add_tools

__all__ = ["build_parser", "parse", "serve", "serve_http", "served"]

#: The demo's cap when the operator gives none: its points are the fake server's own.
DEMO_MAX_POINTS: Final = 1000


def _default_state() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "suno-async" / "mcp"


def _whole(text: str) -> int:
    value = int(text)
    if value < 0:
        msg = "must be 0 or more"
        raise argparse.ArgumentTypeError(msg)
    return value


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        msg = f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8765; port 0 picks a free one)"
        raise argparse.ArgumentTypeError(msg)
    return (host.strip("[]") or "127.0.0.1", int(port))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="suno-async mcp",
        description=(
            "An MCP server for AI agents: balance, estimate, generate, status, wait, download "
            "and aligned_lyrics as tools. The key comes from SUNO_API_KEY or --api-key-file "
            "and never reaches an agent. Paid tools refuse unless --max-points caps them."
        ),
        epilog='Agent host config: {"command": "suno-async", "args": ["mcp", "--max-points", '
        '"200"]}. Try --demo first: a fake server, no key, nothing spent.',
    )
    parser.add_argument(
        "--max-points",
        type=_whole,
        metavar="N",
        help="allow paid tools to spend up to N points in all, over every run on --state",
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="DIR",
        help=f"where the ledger of paid calls lives (default {_default_state()}; "
        "the demo: a new temporary folder)",
    )
    parser.add_argument(
        "--downloads", type=Path, metavar="DIR", help="let the download tool save into DIR"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="answer paid tools with their cost only"
    )
    parser.add_argument(
        "--http",
        type=_address,
        metavar="HOST:PORT",
        help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (loopback only)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="let --http listen on a non-loopback address (anyone who reaches it spends "
        "your points: put authentication in front)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help=f"run against the package's own fake server: no key, nothing real spent "
        f"(cap {DEMO_MAX_POINTS} points unless --max-points says otherwise)",
    )
    parser.add_argument("--api-key-file", type=Path, metavar="FILE")
    parser.add_argument("--base-url", metavar="URL")
    parser.add_argument("--poll-interval", type=float, help=argparse.SUPPRESS)
    return parser


def check_address(args: argparse.Namespace) -> None:
    """Refuse a non-loopback --http address unless --allow-remote says the operator means it."""
    if args.http is None:
        return
    host = args.http[0]
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not args.allow_remote:
        msg = (
            f"--http {host} is not a loopback address: anyone who reaches it could spend "
            "your points; use 127.0.0.1, or add --allow-remote behind an authenticating proxy"
        )
        raise CliError(msg)


@contextlib.asynccontextmanager
async def served(
    args: argparse.Namespace, *, api_key: str | None = None
) -> AsyncIterator[MCPServer[Any]]:
    """
    The MCP server with its session and ledger open; both close when the block ends.

    ``api_key`` is for a process that embeds the server with a key of its own (the tests);
    the command reads it from SUNO_API_KEY or --api-key-file.
    """
    check_address(args)
    async with contextlib.AsyncExitStack() as stack:
        max_points = args.max_points
        state = args.state
        poll: PollPolicy | None = None
        if args.demo:
            from ..testing import FakeSunoServer  # noqa: PLC0415  (only the demo needs it)

            key = "demo-" + secrets.token_hex(8)
            fake = await stack.enter_async_context(FakeSunoServer(api_key=key, speed=60.0, seed=1))
            base_url: str | None = fake.url
            poll = fake.poll_policy()
            max_points = DEMO_MAX_POINTS if max_points is None else max_points
            if state is None:
                state = Path(
                    stack.enter_context(tempfile.TemporaryDirectory(prefix="suno-mcp-demo-"))
                )
            print(f"suno-async mcp: demo on a fake server at {fake.url}", file=sys.stderr)
        else:
            key = api_key if api_key is not None else read_key(args)
            base_url = args.base_url
        if args.poll_interval is not None:
            poll = fast_poll(args.poll_interval)
        ledger = Ledger(state or _default_state())
        ledger.open()
        stack.callback(ledger.close)
        statuses: dict[int, TaskStatus] = {}
        suno = AsyncSuno(
            key, base_url=base_url, poll=poll, on_status_change=track_statuses(statuses)
        )
        del key
        await stack.enter_async_context(suno)
        settings = Settings(max_points=max_points, downloads=args.downloads, dry_run=args.dry_run)
        if args.downloads is not None:
            args.downloads.mkdir(parents=True, exist_ok=True)
        server: MCPServer[Any] = MCPServer(
            "suno-async", instructions=INSTRUCTIONS, log_level="WARNING"
        )
        add_tools(server, Service(suno, ledger, settings, statuses))
        yield server


async def serve(args: argparse.Namespace) -> None:
    """Serve until the host hangs up (stdio) or the process is stopped (HTTP)."""
    async with served(args) as server:
        if args.http is None:
            await server.run_stdio_async()
            return
        await serve_http(server, *args.http)


def _announce(url: str, stop: Callable[[], None]) -> None:
    del stop  # the process is stopped by a signal
    print(f"suno-async mcp: serving {url}", file=sys.stderr, flush=True)


async def serve_http(
    server: MCPServer[Any],
    host: str,
    port: int,
    *,
    started: Callable[[str, Callable[[], None]], object] = _announce,
) -> None:
    """
    Serve streamable HTTP until stopped. The socket is bound here, so port 0 works and
    ``started`` hears the real URL (and a way to stop) before the first request.
    """
    import uvicorn  # noqa: PLC0415  (an mcp dependency, needed for HTTP only)

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        bound = sock.getsockname()[1]
        app = server.streamable_http_app(host=host)
        web = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))

        def stop() -> None:
            web.should_exit = True

        shown = f"[{host}]" if ":" in host else host
        started(f"http://{shown}:{bound}/mcp", stop)
        await web.serve(sockets=[sock])


def parse(argv: Sequence[str]) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))
