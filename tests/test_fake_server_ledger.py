"""The fake server's sound endpoint and points ledger, over raw HTTP in both dialects."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from helpers import call, post, row
from suno_async.testing import FakeSunoServer, TaskPlan

pytestmark = pytest.mark.anyio

SOUND = {"title": "Bell", "tags": "a temple bell", "mv": "chirp-crow", "tempo": 60, "loop": True}


async def log(
    client: aiohttp.ClientSession, server: FakeSunoServer, **params: Any
) -> dict[str, Any]:
    status, payload = await call(client, "GET", server.url + "/points/logs", params=params)
    assert status == 200, payload
    data: dict[str, Any] = payload["data"]
    return data


async def test_a_sound_is_two_finished_clips_with_audio(
    server: FakeSunoServer, live_server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """Each dialect answers its own ids shape; the finished rows carry audio and the tempo."""
    for fake in (server, live_server):
        fake.plans.extend([TaskPlan(), TaskPlan()])
        data = (await post(client, fake, "/music/sound", SOUND))["data"]
        ids = data["task_ids"] if fake.dialect == "live" else data
        assert len(ids) == 2
        assert fake.points == 10_000 - 36
        found = await row(client, fake, ids[0])
        if fake.dialect == "live":
            assert (found["status"], found["task_id"]) == ("completed", str(ids[0]))
            info, clips = found["result"]["fileInfo"], json.loads(found["result"]["extend"])
            assert info["mp3Url"].partition("?")[0].endswith(f"/media/{ids[0]}.m4a")
        else:
            assert int(found["status"]) == 3
            info, clips = found["fileInfo"], json.loads(found["extend"])
            assert info["mp3Url"].partition("?")[0].endswith(f"/media/{ids[0]}.mp3")
        clip = next(c for c in clips if c["id"] == (found.get("result") or found)["custom_id"])
        assert (clip["title"], clip["model_name"]) == ("Bell", "chirp-crow")
        assert clip["metadata"]["duration"] == 16.0  # four bars at 60 BPM
        assert (clip["metadata"]["tempo"], clip["metadata"]["loop"]) == (60, True)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mv": "chirp-hawk"}, "mv"),
        ({"mv": None}, "mv"),
        ({"tempo": 0}, "tempo"),
        ({"tempo": "fast"}, "tempo"),
        ({"title": ""}, "title"),
        ({"tags": "x" * 1001}, "tags"),
        ({"key": "C" * 21}, "key"),
        ({"loop": "sometimes"}, "loop"),
    ],
)
async def test_a_bad_sound_body_is_refused_uncharged(
    server: FakeSunoServer, client: aiohttp.ClientSession, changes: dict[str, Any], field: str
) -> None:
    """The fake's own rules name the field and charge nothing."""
    body = {k: v for k, v in {**SOUND, **changes}.items() if v is not None}
    status, payload = await call(client, "POST", server.url + "/music/sound", json=body)
    assert (status, payload["code"]) == (400, 400)
    assert field in payload["message"]
    assert server.points == 10_000
    assert server.ledger.entries[-1].type == 2  # the opening top-up alone


async def test_the_ledger_matches_the_balance_through_a_refund(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """A failed task's half comes back once it fails; every balance follows the changes."""
    server.plans.extend([TaskPlan(), TaskPlan(generating_s=50, succeed=False)])
    ids = (await post(client, server, "/music/sound", SOUND))["data"]
    assert [e.type for e in server.ledger.entries] == [2, 1]
    server.advance(49)
    assert server.points == 10_000 - 36
    server.advance(1)
    status, payload = await call(client, "GET", server.url + "/points/balance")
    assert status == 200
    assert payload["data"]["remaining_points"] == 10_000 - 18
    entries = server.ledger.entries
    assert [(e.type, e.points, e.balance) for e in entries] == [
        (2, 10_000, 10_000),
        (1, -36, 9964),
        (4, 18, 9982),
    ]
    assert entries[1].task_ids == tuple(ids)
    assert entries[2].task_ids == (ids[1],)
    server.advance(1000)
    assert server.points == 10_000 - 18  # refunded once, however often it is read


async def test_finish_moves_a_refund(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """A task ended early as failed is refunded; one planned to fail but made to succeed is not."""
    server.plans.extend([TaskPlan(generating_s=100), TaskPlan(generating_s=100, succeed=False)])
    first, second = (await post(client, server, "/music/sound", SOUND))["data"]
    server.finish(first, succeed=False)
    server.finish(second, succeed=True)
    server.advance(1000)
    refunds = [e for e in server.ledger.entries if e.type == 4]
    assert [e.task_ids for e in refunds] == [(first,)]
    assert server.points == 10_000 - 18


async def test_setting_points_is_an_adjustment(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """A test setting the balance books the difference, signed, as an adjustment."""
    server.points = 250
    server.points = 250
    data = await log(client, server, page=1, limit=10)
    assert data["total"] == 2
    adjust = data["list"][0]
    assert (adjust["type"], adjust["points"], adjust["balance"]) == (3, 250 - 10_000, 250)
    assert "remark" not in adjust  # the reference dialect leaves a null remark out


async def test_the_two_dialects_write_entries_their_own_way(
    server: FakeSunoServer, live_server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """Live: signed numbers and every field; reference: sizes, and some digits as strings."""
    for fake in (server, live_server):
        fake.plans.extend([TaskPlan(), TaskPlan(succeed=False)])
        await post(client, fake, "/music/sound", SOUND)
    live = await log(client, live_server, page=1, limit=10)
    assert set(live) == {"total", "list", "page", "limit"}
    refund, spent, opening = live["list"]
    assert (refund["points"], spent["points"], opening["points"]) == (18, -36, 10_000)
    assert all(
        set(e) == {"id", "type", "points", "balance", "remark", "created_at"} for e in live["list"]
    )
    reference = await log(client, server, page=1, limit=10)
    assert set(reference) == {"total", "list"}
    refund, spent, _ = reference["list"]
    assert (refund["points"], spent["points"]) == ("18", 36)
    ids = [e["id"] for e in reference["list"]]
    assert any(isinstance(i, str) for i in ids)
    assert all(int(i) % 3 == 0 for i in ids if isinstance(i, str))


async def test_paging_is_newest_first_and_capped(
    live_server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """Pages slice the ledger newest first; a limit past max_page_size gets that many."""
    for points in range(1, 8):
        live_server.points = points
    live_server.max_page_size = 3
    first = await log(client, live_server, page=1, limit=100)
    assert [e["balance"] for e in first["list"]] == [7, 6, 5]
    assert (first["total"], first["limit"]) == (8, 3)
    last = await log(client, live_server, page=3, limit=3)
    assert [e["balance"] for e in last["list"]] == [1, 10_000]
    assert (await log(client, live_server, page=9, limit=3))["list"] == []
    for bad in ({"page": 0}, {"limit": 0}, {"page": "x"}):
        status, _ = await call(client, "GET", live_server.url + "/points/logs", params=bad)
        assert status == 400
