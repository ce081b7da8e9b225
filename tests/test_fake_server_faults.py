"""The fake server's faults, knobs and command line, exercised with plain aiohttp."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import sys
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from helpers import AUTH, BALANCE, CUSTOM, KEY, ROOT, call, post
from suno_async.testing import FAULT_KINDS, FakeSunoServer, Fault, PaidCall

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio


async def statuses(client: aiohttp.ClientSession, server: FakeSunoServer, count: int) -> list[int]:
    """The HTTP statuses of ``count`` balance queries, in order."""
    found = []
    for _ in range(count):
        async with client.get(server.url + "/points/balance") as response:
            await response.read()
            found.append(response.status)
    return found


@pytest.mark.parametrize("kind", ["500", "envelope_error"])
async def test_json_error_faults(
    server: FakeSunoServer, client: aiohttp.ClientSession, kind: str
) -> None:
    """A 500 fault answers HTTP 500, an envelope error answers HTTP 200 with its own code."""
    server.faults.append(Fault(kind, code=503, message="维护中"))
    status, payload = await call(client, "GET", server.url + "/points/balance")
    assert payload["success"] is False
    assert payload["data"] is None
    if kind == "500":
        assert (status, payload["code"]) == (500, 500)
    else:
        assert (status, payload["code"], payload["message"]) == (200, 503, "维护中")
    status, _ = await call(client, "GET", server.url + "/points/balance")
    assert status == 200
    assert server.requests["GET /points/balance"] == 2


async def test_proxy_and_malformed_faults(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """A 502 fault serves nginx's HTML page and a malformed fault truncated JSON."""
    server.faults += [Fault("502_html"), Fault("malformed")]
    async with client.get(server.url + "/points/balance") as response:
        assert response.status == 502
        assert response.content_type == "text/html"
        assert "502 Bad Gateway" in await response.text()
    async with client.get(server.url + "/points/balance") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        with pytest.raises(json.JSONDecodeError):
            json.loads(await response.text())


async def test_rate_limit_fault(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """A 429 fault carries Retry-After and applies only to its endpoint, times times."""
    server.faults.append(Fault("429", endpoint="GET /music/tasks", times=2, retry_after="7"))
    status, _ = await call(client, "GET", server.url + "/points/balance")
    assert status == 200
    for _ in range(2):
        async with client.get(server.url + "/music/tasks", params={"ids": "1"}) as response:
            assert response.status == 429
            assert response.headers["Retry-After"] == "7"
            payload = await response.json()
            assert payload["code"] == 429
            assert "too many requests" in payload["message"]
    assert not server.faults
    status, _ = await call(client, "GET", server.url + "/music/tasks", params={"ids": "1"})
    assert status == 200


@pytest.mark.parametrize(
    ("kind", "endpoint", "ids", "charged"),
    [
        # The fault's endpoint may name the path alone or the method and path.
        pytest.param("drop_before", "/music/generate", [199824, 199825], 1, id="drop_before"),
        pytest.param("drop_after", "POST /music/generate", [199826, 199827], 2, id="drop_after"),
    ],
)
async def test_a_dropped_connection_charges_only_when_processed(
    server: FakeSunoServer, kind: str, endpoint: str, ids: list[int], charged: int
) -> None:
    """
    A connection dropped before processing creates no task and charges nothing; one dropped
    after processing has still charged and created the tasks.
    """
    server.faults.append(Fault(kind, endpoint=endpoint))
    async with aiohttp.ClientSession(headers=AUTH) as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.post(server.url + "/music/generate", json=CUSTOM)
        payload = await post(session, server, "/music/generate", CUSTOM)
    assert payload["data"] == ids
    assert server.task(199824).kind == "generate"
    assert server.points == 10_000 - 36 * charged
    assert server.requests["POST /music/generate"] == 2


async def test_latency(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """A latency fault and the latency knob both delay the answer."""
    server.faults.append(Fault("latency", delay=0.1))
    started = time.monotonic()
    status, _ = await call(client, "GET", server.url + "/points/balance")
    assert status == 200
    assert time.monotonic() - started >= 0.1
    server.latency = 0.05
    started = time.monotonic()
    await call(client, "GET", server.url + "/points/balance")
    assert time.monotonic() - started >= 0.05


async def test_error_rate(client: aiohttp.ClientSession) -> None:
    """An error rate of one turns every API request into a 500."""
    async with FakeSunoServer(dialect="reference", api_key=KEY, error_rate=1.0) as server:
        status, payload = await call(client, "GET", server.url + "/points/balance")
    assert (status, payload["code"]) == (500, 500)


async def test_command_line_server(tmp_path: Path) -> None:
    """python -m suno_async.testing prints its base URL and key, serves, and stops on SIGTERM."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    url_file = tmp_path / "url"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "suno_async.testing",
        *("--port", "0", "--api-key", "cli-key", "--points", "77", "--seed", "3"),
        *("--url-file", str(url_file), "--fault-rate", "503=1", "--retry-after", "9"),
        *("--paid-latency", "0.01", "--unknown-single", "null", "--media-bytes", "10-20"),
        *("--dialect", "reference"),
        "--separate-media-origin",
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        base_url, api_key = (part.partition("=")[2] for part in line.split())
        assert line.startswith("SUNO_BASE_URL=http://127.0.0.1:")
        assert api_key == "cli-key"
        assert url_file.read_text(encoding="utf-8") == base_url + "\n"
        headers = {"Authorization": "Bearer cli-key"}
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(base_url + "/points/balance") as response:
                assert (response.status, response.headers["Retry-After"]) == (503, "9")
            origin = base_url.removesuffix("/api/v1")
            status, stats = await call(session, "GET", origin + "/_fake/stats")
        assert status == 200
        assert stats["faults_injected"] == {"503": 1}
    finally:
        if process.returncode is None:
            process.terminate()
        returncode = await asyncio.wait_for(process.wait(), 10)
    assert returncode == 0


def test_command_line_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    """--help gives every option a line of help and lists the fault kinds."""
    from suno_async.testing.__main__ import _parser, main

    parser = _parser()
    assert all(action.help for action in parser._actions)
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    assert all(f"  {kind} " in shown for kind in FAULT_KINDS)
    with pytest.raises(SystemExit):
        main(["--fault-rate", "5xx=0.1"])
    assert "the kinds are: 401, 403, 404, 410, 429, 500" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--speed", "-1"], "speed must be a finite number at least 0"),
        (["--port", "99999"], "port must be from 0 (a free one) to 65535"),
        (["--failure-rate", "5"], "failure_rate must be from 0 to 1"),
        (["--queued-s", "5", "1"], "queued_s must be a (min, max) pair with min <= max"),
        (["--fault-rate", "500=0.1", "--fault-delay", "-1"], "'delay' must be >= 0.0"),
    ],
)
def test_a_setting_the_server_refuses_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], option: list[str], said: str
) -> None:
    """Bad settings on the command line: a one-line error naming them, no traceback."""
    from suno_async.testing.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(option)
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert said in line


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"faults": ["500"]}, TypeError),
        ({"queued_s": (1,)}, ValueError),
        ({"failure_rate": 2.0}, ValueError),
        ({"error_rate": -0.5}, ValueError),
        ({"latency": -1}, ValueError),
        ({"points": -5}, ValueError),
        ({"generating_s": (-1, -2)}, ValueError),
        ({"speed": math.nan}, ValueError),
        ({"port": 70_000}, ValueError),
    ],
)
def test_the_server_refuses_a_setting_it_would_fail_on_later(
    settings: dict[str, Any], error: type[Exception]
) -> None:
    """A setting the server could only trip over mid-request is refused when it is made."""
    with pytest.raises(error):
        FakeSunoServer(dialect="reference", **settings)
    with pytest.raises(ValueError, match="times"):
        Fault("500", times=0)


def test_a_mistyped_fault_kind_lists_the_kinds() -> None:
    """A fault kind that does not exist is refused with every kind named."""
    said = "unknown fault kind '5xx'; the kinds are: 401, 403, 404, 410, 429, 500"
    with pytest.raises(ValueError, match=said):
        Fault("5xx")
    with pytest.raises(ValueError, match="between 0 and 1"):
        Fault("500", rate=1.5)
    assert all(FAULT_KINDS[kind] for kind in FAULT_KINDS)


async def test_rate_faults_strike_at_their_rate_reproducibly(client: aiohttp.ClientSession) -> None:
    """A fault with a rate stays, strikes about that share of requests, the same for a seed."""
    runs = []
    for _ in range(2):
        fault = Fault("500", endpoint=BALANCE, rate=0.3)
        async with FakeSunoServer(
            dialect="reference", api_key=KEY, seed=11, faults=[fault]
        ) as server:
            found = await statuses(client, server, 60)
            assert server.faults == [fault]
            assert server.faults_injected == {"500": found.count(500)}
        runs.append(found)
    assert runs[0] == runs[1]
    assert 6 <= runs[0].count(500) <= 30
    assert set(runs[0]) == {200, 500}


async def test_rate_faults_of_several_kinds_are_counted(client: aiohttp.ClientSession) -> None:
    """Each kind is counted apart, and the one-shot faults ahead of them still come first."""
    faults = [
        Fault("502_html"),
        Fault("429", rate=0.2, retry_after="86400"),
        Fault("503", rate=0.2, retry_after=None),
    ]
    async with FakeSunoServer(dialect="reference", api_key=KEY, seed=3, faults=faults) as server:
        found = await statuses(client, server, 40)
        async with client.get(server.url + "/points/balance") as response:
            retry_after = response.headers.get("Retry-After") if response.status == 429 else None
        stats = (await call(client, "GET", f"{server.origin}/_fake/stats"))[1]
    assert found[0] == 502
    counts = {"502_html": 1, "429": found.count(429), "503": found.count(503)}
    assert server.faults_injected == counts
    assert stats["faults_injected"] == server.faults_injected
    assert counts["429"] > 0
    assert counts["503"] > 0
    assert retry_after in (None, "86400")


async def test_503_fault(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """A 503 fault answers an error envelope with its Retry-After."""
    server.faults.append(Fault("503", retry_after="2"))
    async with client.get(server.url + "/points/balance") as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "2"
        assert (await response.json())["code"] == 503


async def test_slow_body_trickles_the_real_answer(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """A slow body arrives whole and correct, but only over the fault's delay."""
    server.faults.append(Fault("slow_body", delay=0.2))
    started = time.monotonic()
    status, payload = await call(client, "GET", server.url + "/points/balance")
    assert time.monotonic() - started >= 0.18
    assert (status, payload["data"]) == (200, {"remaining_points": 10_000})
    assert server.faults_injected == {"slow_body": 1}


async def test_truncated_body_has_been_charged(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """A truncated answer promises more than it sends; the call behind it was charged."""
    server.faults.append(Fault("truncated", endpoint="POST /music/generate"))
    async with client.post(server.url + "/music/generate", json=CUSTOM) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    assert server.points == 10_000 - 36
    assert server.paid_calls == {"POST /music/generate": 1}


async def test_a_client_hanging_up_logs_no_traceback(
    server: FakeSunoServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that gives up mid-request or mid-body leaves no error in the server's log."""
    server.paid_latency = 0.2
    server.faults.append(Fault("slow_body", endpoint=BALANCE, delay=0.3))
    quick = aiohttp.ClientTimeout(total=0.05)
    with caplog.at_level(logging.DEBUG, logger="aiohttp"):
        async with aiohttp.ClientSession(headers=AUTH, timeout=quick) as session:
            for method, path in (("POST", "/music/generate"), ("GET", "/points/balance")):
                with pytest.raises(asyncio.TimeoutError):
                    async with session.request(method, server.url + path, json=CUSTOM) as reply:
                        await reply.read()
        await asyncio.sleep(0.5)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
    assert server.points == 10_000


async def test_unknown_ids_modes(client: aiohttp.ClientSession) -> None:
    """Unknown ids: 404 or data null for one; left out, or the whole batch failing, for many."""
    async with FakeSunoServer(dialect="reference", api_key=KEY, speed=0.0) as server:
        first, _ = (await post(client, server, "/music/generate", CUSTOM))["data"]
        status, payload = await call(client, "GET", f"{server.url}/music/task", params={"id": 5})
        assert (status, payload["code"]) == (404, 404)
        ids = {"ids": f"{first},5"}
        status, payload = await call(client, "GET", f"{server.url}/music/tasks", params=ids)
        assert [int(r["id"]) for r in payload["data"]["rows"]] == [first]
        server.unknown_single, server.unknown_batch = "null", "fail"
        status, payload = await call(client, "GET", f"{server.url}/music/task", params={"id": 5})
        assert (status, payload["code"], payload["data"]) == (200, 200, None)
        status, payload = await call(client, "GET", f"{server.url}/music/tasks", params=ids)
        assert (status, payload["code"], payload["success"]) == (200, 500, False)
        assert "任务不存在" in payload["message"]
        status, payload = await call(
            client, "GET", f"{server.url}/music/tasks", params={"ids": str(first)}
        )
        assert (status, len(payload["data"]["rows"])) == (200, 1)
    with pytest.raises(ValueError, match="unknown_batch must be one of"):
        FakeSunoServer(dialect="reference", unknown_batch="drop")


async def test_accepted_paid_calls_are_recorded(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """Only charged calls are recorded, with their bodies and ids, here and over HTTP."""
    server.faults.append(Fault("drop_before", endpoint="POST /music/generate"))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post(server.url + "/music/generate", json=CUSTOM)
    status, _ = await call(client, "POST", server.url + "/music/generate", json={"mv": "v4"})
    assert status == 400
    ids = (await post(client, server, "/music/generate", CUSTOM))["data"]
    assert server.accepted_calls == [PaidCall("POST /music/generate", CUSTOM, tuple(ids))]
    assert server.paid_calls == {"POST /music/generate": 1}
    assert server.requests["POST /music/generate"] == 3
    _, listed = await call(client, "GET", f"{server.origin}/_fake/paid-calls")
    expected = {"endpoint": "POST /music/generate", "body": CUSTOM, "task_ids": ids}
    assert listed == {"paid_calls": [expected]}


async def test_paid_latency_delays_posts_only(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """The paid-call latency slows POSTs and leaves queries fast."""
    server.paid_latency = 0.6
    started = time.monotonic()
    await call(client, "GET", server.url + "/points/balance")
    assert time.monotonic() - started < 0.5
    started = time.monotonic()
    await post(client, server, "/music/generate", CUSTOM)
    assert time.monotonic() - started >= 0.6


async def test_poll_policy_follows_the_clock() -> None:
    """The poll policy divides the default waits by the speed, and asks at once at speed 0."""
    from suno_async import PollPolicy, TaskKind

    default = PollPolicy()
    fast = FakeSunoServer(dialect="reference", speed=100.0).poll_policy(batch_size=7)
    assert fast.first_poll[TaskKind.SONG] == pytest.approx(default.first_poll[TaskKind.SONG] / 100)
    assert fast.interval == pytest.approx(0.05)
    assert fast.batch_size == 7
    still = FakeSunoServer(dialect="reference", speed=0.0).poll_policy()
    assert set(still.first_poll.values()) == {0.0}
    assert still.interval == 0.05


async def test_the_readme_example_finishes_in_about_a_second() -> None:
    """With the fake's poll policy, a song at speed 100 is waited for in about a second."""
    from suno_async import AsyncSuno

    async with (
        FakeSunoServer(dialect="reference", speed=100.0, seed=2) as fake,
        AsyncSuno(
            fake.api_key, base_url=fake.url, poll=fake.poll_policy(), rate_limit=None
        ) as suno,
    ):
        started = time.monotonic()
        songs = await suno.wait(await suno.generate(title="Demo", description="a song"), timeout=9)
    assert len(songs) == 2
    assert time.monotonic() - started < 5.0  # ~1 s; 20 s with the default policy
