"""
Shared pieces of the MCP server's tests: the server started as a real subprocess (over stdio
or HTTP) against a fake server in a thread, and driven by the mcp package's own client.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import CallToolResult

from cli_harness import ThreadedFake
from helpers import KEY, ROOT
from suno_async.mcp._server import parse, serve_http, served
from suno_async.testing import FakeSunoServer

#: Every tool the server offers, and no other.
TOOLS = {"balance", "estimate", "generate", "status", "wait", "download", "aligned_lyrics"}


def server_args(fake: ThreadedFake, state: Path, *extra: str, poll: float = 0.02) -> list[str]:
    """The command line of a server on ``fake`` keeping its ledger in ``state``."""
    return [
        "-m",
        "suno_async",
        "mcp",
        "--base-url",
        fake.url,
        "--poll-interval",
        str(poll),
        "--state",
        str(state),
        *extra,
    ]


@contextlib.asynccontextmanager
async def stdio(args: list[str], errlog: Path) -> AsyncIterator[Client]:
    """A client of the server started over stdio, its stderr kept in ``errlog``."""
    params = StdioServerParameters(
        command=sys.executable, args=args, env={"SUNO_API_KEY": KEY}, cwd=str(ROOT)
    )
    with errlog.open("a", encoding="utf-8") as log:
        async with Client(stdio_client(params, errlog=log)) as client:
            yield client


@contextlib.contextmanager
def http_server(args: list[str], errlog: Path) -> Iterator[str]:
    """The server serving HTTP on a free loopback port; yields its URL."""
    with errlog.open("w+", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, *args, "--http", "127.0.0.1:0"],
            cwd=ROOT,
            env={**os.environ, "SUNO_API_KEY": KEY},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            yield _served_url(errlog, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _served_url(errlog: Path, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for line in errlog.read_text(encoding="utf-8").splitlines():
            if "serving http://" in line:
                return line.split("serving ", 1)[1].strip()
        if proc.poll() is not None:
            msg = f"the server exited: {errlog.read_text(encoding='utf-8')}"
            raise AssertionError(msg)
        time.sleep(0.05)
    msg = "the server never said where it serves"
    raise AssertionError(msg)


def data(result: CallToolResult) -> dict[str, Any]:
    """A successful tool call's JSON answer; it never carries the key."""
    assert not result.is_error, result.content
    assert KEY not in json.dumps(result.structured_content)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def error(result: CallToolResult) -> str:
    """A failed tool call's one-line message; it never carries the key."""
    assert result.is_error
    text = "".join(getattr(part, "text", "") for part in result.content)
    assert "\n" not in text.strip()
    assert "Traceback" not in text
    assert KEY not in text
    return text


def counts(fake: ThreadedFake) -> dict[str, int]:
    """The fake's request counters, read on its own loop."""
    return fake.sync(lambda: dict(fake.server.requests))


@contextlib.asynccontextmanager
async def in_process(fake: FakeSunoServer, state: Path, *extra: str) -> AsyncIterator[str]:
    """The server on this event loop, serving HTTP on a free loopback port; yields its URL."""
    args = parse(["--base-url", fake.url, "--state", str(state), "--poll-interval", "0.02", *extra])
    ready = anyio.Event()
    found: list[tuple[str, Callable[[], None]]] = []

    def started(url: str, stop: Callable[[], None]) -> None:
        found.append((url, stop))
        ready.set()

    async with served(args, api_key=fake.api_key) as server, anyio.create_task_group() as group:
        group.start_soon(lambda: serve_http(server, "127.0.0.1", 0, started=started))
        with anyio.fail_after(10):
            await ready.wait()
        url, stop = found[0]
        try:
            yield url
        finally:
            stop()
