"""The MCP server, driven by the mcp package's own client over stdio and HTTP."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp", reason="pip install -e '.[test,mcp]' installs the mcp SDK")

from mcp import Client

from cli_harness import ThreadedFake
from helpers import KEY
from mcp_harness import TOOLS, data, error, in_process, server_args, stdio
from suno_async.mcp import main
from suno_async.testing import FakeSunoServer

pytestmark = pytest.mark.anyio

SONG = {"title": "Loopback Blues", "description": "a slow blues about localhost"}


async def test_generate_wait_download_and_a_retry_that_is_not_paid_again(
    tmp_path: Path,
) -> None:
    """
    Over stdio: the seven tools are listed with schemas and descriptions; a capped generate
    starts two songs; a retried request_id costs nothing more; wait and download end it.
    """
    downloads = tmp_path / "songs"
    with ThreadedFake() as fake:
        args = server_args(fake, tmp_path / "state", "--max-points", "100")
        args += ["--downloads", str(downloads)]
        async with stdio(args, tmp_path / "err") as client:
            tools = (await client.list_tools()).tools
            assert {tool.name for tool in tools} == TOOLS
            assert all(len(t.description or "") > 40 for t in tools)
            assert all(t.input_schema["type"] == "object" for t in tools)
            paid = {t.name for t in tools if "request_id" in t.input_schema["properties"]}
            assert paid == {"generate", "aligned_lyrics"}
            first = data(await client.call_tool("generate", {"songs": [SONG], "request_id": "a"}))
            ids = first["task_ids"]
            assert len(ids) == 2
            assert first["points_left_under_cap"] == 64
            assert fake.paid_calls() == 1

            again = data(await client.call_tool("generate", {"songs": [SONG], "request_id": "a"}))
            assert again["task_ids"] == ids
            assert again["replayed"] is True
            assert again["points_charged_now"] == 0
            assert fake.paid_calls() == 1

            waited = data(await client.call_tool("wait", {"task_ids": ids, "timeout_s": 20}))
            assert waited["pending"] == []
            songs = waited["finished"]
            assert [s["task_id"] for s in songs] == ids
            assert all(s["title"] == SONG["title"] and s["duration_s"] > 0 for s in songs)
            assert all(s["audio_url"].startswith("http://127.0.0.1") for s in songs)

            saved = data(await client.call_tool("download", {"task_ids": ids}))
            paths = [Path(f["path"]) for f in saved["files"]]
            assert [p.parent for p in paths] == [downloads, downloads]
            assert all(p.stat().st_size > 0 for p in paths)
    assert KEY not in (tmp_path / "err").read_text(encoding="utf-8")


async def test_a_call_over_the_cap_is_refused_before_any_request(
    fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Over the cap, or with no cap at all, a paid tool sends nothing and says what to do."""
    capped = in_process(fake, tmp_path / "capped", "--max-points", "50")
    async with capped as url, Client(url) as client:
        before = fake.total_requests
        message = error(await client.call_tool("generate", {"songs": [SONG, SONG]}))
        assert "72 points" in message
        assert "only 50" in message
        assert "--max-points" in message
        assert fake.total_requests == before
    async with in_process(fake, tmp_path / "open") as url, Client(url) as client:
        message = error(await client.call_tool("generate", {"songs": [SONG]}))
        assert "--max-points N" in message
    assert fake.paid_calls == {}


async def test_a_dry_run_answers_with_the_cost_only(fake: FakeSunoServer, tmp_path: Path) -> None:
    """--dry-run gives the estimate of a paid call and sends no POST."""
    extra = ("--max-points", "500", "--dry-run")
    async with in_process(fake, tmp_path / "state", *extra) as url, Client(url) as client:
        answer = data(await client.call_tool("generate", {"songs": [SONG, SONG, SONG]}))
        plan = data(await client.call_tool("estimate", {"songs": 6}))
    assert answer["dry_run"] is True
    assert answer["points"] == 108
    assert plan["points"] == 108
    assert plan["fits_under_cap"] is True
    assert fake.paid_calls == {}


async def test_a_server_killed_mid_wait_collects_the_same_songs_and_pays_nothing_twice(
    tmp_path: Path,
) -> None:
    """After a restart the ledger replays the request_id, the cap holds, the wait ends."""
    state = tmp_path / "state"
    with ThreadedFake(speed=40.0) as fake:
        args = server_args(fake, state, "--max-points", "40")
        async with stdio(args, tmp_path / "err") as client:
            ids = data(await client.call_tool("generate", {"songs": [SONG], "request_id": "k"}))[
                "task_ids"
            ]
            with anyio.move_on_after(0.5) as scope:
                await client.call_tool("wait", {"task_ids": ids, "timeout_s": 30})
            assert scope.cancelled_caught  # the server is stopped mid-wait, below
        async with stdio(args, tmp_path / "err") as client:
            again = data(await client.call_tool("generate", {"songs": [SONG], "request_id": "k"}))
            assert again["task_ids"] == ids
            assert again["points_spent_under_cap"] == 36
            refused = error(await client.call_tool("generate", {"songs": [SONG]}))
            assert "only 4" in refused
            waited = data(await client.call_tool("wait", {"task_ids": ids, "timeout_s": 30}))
        assert [s["task_id"] for s in waited["finished"]] == ids
        assert fake.paid_calls() == 1


async def test_twenty_concurrent_waits_share_batch_queries_over_http(
    tmp_path: Path,
) -> None:
    """20 agents waiting on the same 200 ids cost the batch queries of one wait."""
    interval = 0.2
    async with (
        FakeSunoServer(speed=300.0, seed=7) as fake,
        in_process(
            fake, tmp_path / "state", "--max-points", "3600", "--poll-interval", str(interval)
        ) as url,
    ):
        async with Client(url) as client:
            ids: list[int] = []
            for half in ("h1", "h2"):
                call = {"songs": [SONG] * 50, "request_id": half}
                ids += data(await client.call_tool("generate", call))["task_ids"]
        assert len(set(ids)) == 200
        before = dict(fake.requests)
        results: list[dict[str, Any]] = []

        async def agent() -> None:
            async with Client(url) as each:
                answer = await each.call_tool("wait", {"task_ids": ids, "timeout_s": 30})
                results.append(data(answer))

        started = time.monotonic()
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(agent)
        elapsed = time.monotonic() - started
        after = dict(fake.requests)
    assert len(results) == 20
    assert all(len(r["finished"]) == 200 for r in results)
    batch = after.get("GET /music/tasks", 0) - before.get("GET /music/tasks", 0)
    single = after.get("GET /music/task", 0) - before.get("GET /music/task", 0)
    assert single == 0
    # Two pages of 100 ids a tick at most, for all twenty waits together.
    assert 0 < batch <= 2 * (elapsed / interval + 2)


def test_http_refuses_a_non_loopback_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Serving on every interface needs --allow-remote; the refusal is one line."""
    state = tmp_path / "s"
    code = main(["--http", "0.0.0.0:0", "--state", str(state)])
    err = capsys.readouterr().err
    assert code == 2
    assert "--allow-remote" in err
    assert len(err.strip().splitlines()) == 1
    assert not state.exists()
