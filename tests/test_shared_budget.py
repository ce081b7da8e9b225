"""
The budget shared through a real redis-server: sessions on one key stay within it together,
and a Redis out of reach leaves each on its local share, said once, with work going on.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from helpers import BALANCE, ROOT, OpenSuno
from suno_async import ConfigurationError, RateLimit
from suno_async.testing import FakeSunoServer

pytestmark = pytest.mark.anyio

HOW = "apt-get install redis-server and pip install -e '.[test,redis]'"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server of the test's own on a free loopback port, stopped at teardown."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(f"no redis-server binary on PATH: {HOW}")
    if importlib.util.find_spec("redis") is None:
        pytest.skip(f"redis-py is not installed: {HOW}")
    port = _free_port()
    server = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):  # up to 10 s for it to listen
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail("redis-server exited at start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


async def spam_balance(suno: object, seconds: float) -> None:
    """Ask for the balance over and over for ``seconds``."""
    with anyio.move_on_after(seconds):
        while True:
            await suno.balance()  # type: ignore[attr-defined]


async def test_sessions_on_one_key_share_one_budget_in_redis(
    fake: FakeSunoServer, open_suno: OpenSuno, redis_url: str
) -> None:
    """Three sessions, each allowed 10 a second alone, send about 10 a second together."""
    limit = RateLimit(per_minute=600, burst=2, redis_url=redis_url, processes=3)
    sessions = [await open_suno(rate_limit=limit) for _ in range(3)]
    async with anyio.create_task_group() as group:
        for suno in sessions:
            group.start_soon(spam_balance, suno, 1.5)
    # Alone, each would send 2 + 15; together the shared cell lets about 2 + 15 through.
    assert 8 <= fake.requests[BALANCE] <= 22
    assert all(suno.stats.budget_per_minute == 600 for suno in sessions)


async def test_redis_out_of_reach_falls_back_to_a_local_share_said_once(
    fake: FakeSunoServer, open_suno: OpenSuno, caplog: pytest.LogCaptureFixture
) -> None:
    """With nothing listening, calls still go, at per_minute / processes, and one WARNING."""
    if importlib.util.find_spec("redis") is None:
        pytest.skip(f"redis-py is not installed: {HOW}")
    url = f"redis://127.0.0.1:{_free_port()}/0"
    limit = RateLimit(per_minute=6000, burst=3, redis_url=url, processes=4)
    suno = await open_suno(rate_limit=limit)
    with caplog.at_level(logging.WARNING, logger="suno_async"):
        for _ in range(5):
            await suno.balance()
    assert fake.requests[BALANCE] == 5
    warnings = [r for r in caplog.records if "out of reach" in r.getMessage()]
    assert len(warnings) == 1
    assert suno.stats.budget_per_minute == 1500


async def test_processes_on_one_key_share_one_budget_in_redis(
    fake: FakeSunoServer, redis_url: str
) -> None:
    """Three worker processes, each allowed 10 a second alone, send about 10 a second."""
    child = str(Path(__file__).with_name("budget_child.py"))
    # The checkout under test, whatever else the interpreter has installed.
    env = {**os.environ, "SUNO_API_KEY": fake.api_key, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, child, fake.url, redis_url, "2.0"]
    results = []
    async with anyio.create_task_group() as group:

        async def run() -> None:
            results.append(await anyio.run_process(command, env=env, check=True))

        for _ in range(3):
            group.start_soon(run)
    calls = [int(result.stdout) for result in results]
    assert sum(calls) == fake.requests[BALANCE]
    # Alone, each would send 2 + 20 (66 in all); together the shared cell lets about 2 + 20
    # through in the seconds they overlap, and a few more while the later ones start.
    assert 10 <= fake.requests[BALANCE] <= 40, calls
    assert all(count > 0 for count in calls)  # none starved


def test_a_bad_redis_url_is_refused() -> None:
    """A URL with no scheme is refused when the RateLimit is made."""
    with pytest.raises(ConfigurationError, match=r"RateLimit\.redis_url"):
        RateLimit(redis_url="localhost:6379")


def test_import_suno_async_never_imports_redis() -> None:
    """The extra stays optional: the core imports redis only for a session that asks."""
    code = "import sys, suno_async; sys.exit('redis' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
