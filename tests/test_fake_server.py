"""The fake Suno server, exercised with plain aiohttp so it is checked apart from the SDK."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest

from helpers import CUSTOM, KEY, call, done_song, post, row
from suno_async.testing import FakeSunoServer, TaskPlan

pytestmark = pytest.mark.anyio


async def test_balance_envelope(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """The balance comes inside the documented envelope and costs nothing."""
    status, payload = await call(client, "GET", server.url + "/points/balance")
    assert status == 200
    assert payload == {
        "code": 200,
        "message": "查询成功",
        "data": {"remaining_points": 10_000},
        "success": True,
    }
    assert server.requests["GET /points/balance"] == 1
    assert server.points == 10_000


async def test_auth_is_required(server: FakeSunoServer) -> None:
    """A missing or wrong key is refused with 401 and still counted."""
    async with aiohttp.ClientSession() as anonymous:
        for headers in ({}, {"Authorization": "Bearer nope"}):
            status, payload = await call(
                anonymous, "GET", server.url + "/points/balance", headers=headers
            )
            assert status == 401
            assert payload["code"] == 401
            assert payload["success"] is False
            assert "invalid API key" in payload["message"]
    assert server.requests["GET /points/balance"] == 2


async def test_errors_as_http_200(client: aiohttp.ClientSession) -> None:
    """With errors_as_http_200 the error lives only in the envelope."""
    async with FakeSunoServer(
        dialect="reference", api_key="other", errors_as_http_200=True
    ) as server:
        status, payload = await call(client, "GET", server.url + "/points/balance")
    assert status == 200
    assert payload["code"] == 401


async def test_generate_returns_two_ids_and_charges(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """A generation yields two consecutive integer task ids and costs 36 points."""
    payload = await post(client, server, "/music/generate", CUSTOM)
    first, second = payload["data"]
    assert isinstance(first, int)
    assert second == first + 1
    assert payload["success"] is True
    assert server.points == 10_000 - 36
    assert server.task(first).kind == "generate"


async def test_inspiration_mode_needs_no_title(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """Inspiration mode accepts a bare description and makes up title, tags and lyrics."""
    server.plans.extend([TaskPlan(), TaskPlan()])
    body = {"gpt_description_prompt": "一首欢快的流行歌", "mv": "chirp-v4"}
    ids = (await post(client, server, "/music/generate", body))["data"]
    clips = json.loads((await row(client, server, ids[1]))["extend"])
    assert clips[0]["title"]
    assert clips[0]["metadata"]["gpt_description_prompt"] == "一首欢快的流行歌"
    assert clips[0]["metadata"]["prompt"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**CUSTOM, "gpt_description_prompt": "x"}, "gpt_description_prompt"),
        ({"mv": "chirp-v4", "tags": "pop", "title": "t"}, "prompt"),
        ({k: v for k, v in CUSTOM.items() if k != "tags"}, "tags"),
        ({k: v for k, v in CUSTOM.items() if k != "title"}, "title"),
        ({k: v for k, v in CUSTOM.items() if k != "mv"}, "mv"),
        ({**CUSTOM, "title": "t" * 81}, "title"),
        ({**CUSTOM, "tags": "t" * 201}, "tags"),
        ({**CUSTOM, "prompt": "p" * 3001}, "prompt"),
        ({**CUSTOM, "make_instrumental": "yes"}, "make_instrumental"),
        ({**CUSTOM, "task": "remix"}, "task"),
        ({**CUSTOM, "metadata": {"vocal_gender": "x"}}, "vocal_gender"),
        ({**CUSTOM, "metadata": {"control_sliders": {"style_weight": 2}}}, "style_weight"),
    ],
)
async def test_generate_validation(
    server: FakeSunoServer, client: aiohttp.ClientSession, body: dict[str, Any], field: str
) -> None:
    """Invalid generations get a 400 naming the field and cost nothing."""
    status, payload = await call(client, "POST", server.url + "/music/generate", json=body)
    assert status == 400
    assert payload["code"] == 400
    assert field in payload["message"]
    assert server.points == 10_000
    assert not server.plans


async def test_v5_limits_are_larger(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """A 90-character title fits V5 (and v4.5 or unlisted) models but not V4 or older ones."""
    cases = (
        ("chirp-v5", 200),
        ("chirp-crow", 200),
        ("chirp-v4-5", 200),
        ("chirp-v4", 400),
        ("chirp-v3-5", 400),
    )
    for mv, expected in cases:
        body = {**CUSTOM, "mv": mv, "title": "t" * 90}
        status, _ = await call(client, "POST", server.url + "/music/generate", json=body)
        assert status == expected, mv


async def test_bad_bodies_are_rejected(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """A body that is not a JSON object is a 400, and unknown endpoints are a 404."""
    url = server.url + "/music/generate"
    status, payload = await call(client, "POST", url, data=b"{nope")
    assert (status, payload["code"]) == (400, 400)
    status, payload = await call(client, "POST", url, json=[1, 2])
    assert status == 400
    status, payload = await call(client, "GET", server.url + "/music/nothing")
    assert (status, payload["code"]) == (404, 404)


async def test_ledger_and_insufficient_points(client: aiohttp.ClientSession) -> None:
    """Calls are charged after validation, and a short balance refuses without charging."""
    async with FakeSunoServer(dialect="reference", api_key=KEY, points=40) as server:
        await post(client, server, "/music/generate", CUSTOM)
        assert server.points == 4
        status, payload = await call(client, "POST", server.url + "/music/generate", json=CUSTOM)
        assert (status, payload["code"]) == (402, 402)
        assert "积分不足" in payload["message"]
        assert server.points == 4
        await post(client, server, "/music/upload", {"audio_url": "https://x.test/a.mp3"})
        assert server.points == 3
        server.points = 0
        status, payload = await call(
            client, "POST", server.url + "/music/upload", json={"audio_url": "https://x.test/a"}
        )
        assert status == 402
        status, payload = await call(client, "GET", server.url + "/points/balance")
        assert payload["data"]["remaining_points"] == 0


async def test_lifecycle_follows_plans_and_clock(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """Tasks go queued, generating, then succeed or fail as their plans say."""
    server.plans.extend(
        [TaskPlan(queued_s=10, generating_s=20), TaskPlan(generating_s=5, succeed=False)]
    )
    first, second = (await post(client, server, "/music/generate", CUSTOM))["data"]
    assert (server.task(first).status, server.task(second).status) == (1, 2)
    running = await row(client, server, first)
    assert running["fileInfo"] is None
    assert running["extend"] in ("", None)
    assert running["errormsg"] is None
    assert server.completed_at_wall(first) is None

    server.advance(10)
    assert int((await row(client, server, first))["status"]) == 2
    failed = await row(client, server, second)
    assert int(failed["status"]) == 4
    assert failed["errormsg"] == TaskPlan().errormsg
    assert failed["errormsgEn"] == TaskPlan().errormsg_en
    assert failed["extend"] in ("", None)

    before = time.time()
    server.advance(20)
    done = await row(client, server, first)
    assert int(done["status"]) == 3
    assert done["fileInfo"]["mp3Url"].partition("?")[0] == f"{server.origin}/media/{first}.mp3"
    clips = json.loads(done["extend"])
    assert len(clips) == 2
    own = [clip for clip in clips if clip["id"] == done["custom_id"]]
    assert len(own) == 1
    assert own[0]["status"] == "complete"
    assert own[0]["metadata"]["prompt"] == CUSTOM["prompt"]
    assert own[0]["title"] == CUSTOM["title"]
    assert server.task(second).custom_id == clips[1]["id"]
    completed = server.completed_at_wall(first)
    assert completed is not None
    assert before <= completed <= time.time()


async def test_finish_ends_a_task_now(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """finish() ends a running task at once and refuses a finished one."""
    server.plans.extend([TaskPlan(generating_s=100), TaskPlan(generating_s=100)])
    first, second = (await post(client, server, "/music/generate", CUSTOM))["data"]
    server.finish(first)
    server.finish(second, succeed=False, errormsg="boom")
    assert server.task(first).status == 3
    assert (await row(client, server, second))["errormsg"] == "boom"
    assert json.loads((await row(client, server, first))["extend"])[1]["status"] == "error"
    finished = server.completed_at_wall(first)
    assert finished is not None
    assert abs(finished - time.time()) < 5
    with pytest.raises(ValueError, match="already finished"):
        server.finish(first)


async def test_completion_wall_time_follows_speed(client: aiohttp.ClientSession) -> None:
    """At 1000x a 100 s generation completes about 0.1 s of real time after creation."""
    async with FakeSunoServer(dialect="reference", api_key=KEY, speed=1000.0) as server:
        server.plans.extend([TaskPlan(generating_s=100), TaskPlan(generating_s=100)])
        created = time.time()
        task_id = (await post(client, server, "/music/generate", CUSTOM))["data"][0]
        assert server.completed_at_wall(task_id) is None
        await asyncio.sleep(0.15)
        assert server.task(task_id).status == 3
        completed = server.completed_at_wall(task_id)
        assert completed is not None
        assert created + 0.09 <= completed <= time.time()


async def test_rows_mix_strings_and_numbers(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """Some rows carry ids and statuses as strings, plus fields clients do not know."""
    ids: list[int] = []
    for _ in range(3):
        ids += (await post(client, server, "/music/generate", CUSTOM))["data"]
    rows = [await row(client, server, task_id) for task_id in ids]
    assert {type(r["id"]) for r in rows} == {int, str}
    assert {type(r["status"]) for r in rows} == {int, str}
    assert {r["extend"] for r in rows} == {"", None}
    assert all("progress" in r and r["type"] == "generate" for r in rows)
    assert any("success" in r for r in rows)


async def test_batch_paging_total_and_clamping(client: aiohttp.ClientSession) -> None:
    """Pages follow the asked order over known ids only, with size clamped to the maximum."""
    async with FakeSunoServer(
        dialect="reference", api_key=KEY, speed=0.0, max_page_size=5
    ) as server:
        ids: list[int] = []
        for _ in range(6):
            ids += (await post(client, server, "/music/generate", CUSTOM))["data"]
        asked = [1, *reversed(ids), 2]
        query = ",".join(map(str, asked))
        url = server.url + "/music/tasks"
        pages = []
        for page in (1, 2, 3, 4):
            status, payload = await call(
                client, "GET", url, params={"ids": query, "page": page, "size": 100}
            )
            assert status == 200
            assert payload["data"]["total"] == 12
            pages.append([int(r["id"]) for r in payload["data"]["rows"]])
        assert pages == [ids[::-1][:5], ids[::-1][5:10], ids[::-1][10:], []]
        _, payload = await call(client, "GET", url, params={"ids": query})
        assert len(payload["data"]["rows"]) == 5
        assert server.batch_sizes == [14] * 5
        assert server.requests["GET /music/tasks"] == 5


async def test_batch_without_total(client: aiohttp.ClientSession) -> None:
    """batch_returns_total=False leaves total out of the batch data."""
    async with FakeSunoServer(
        dialect="reference", api_key=KEY, batch_returns_total=False
    ) as server:
        ids = (await post(client, server, "/music/generate", CUSTOM))["data"]
        params = {"ids": f"{ids[0]},{ids[1]}"}
        _, payload = await call(client, "GET", server.url + "/music/tasks", params=params)
    assert set(payload["data"]) == {"rows"}
    assert len(payload["data"]["rows"]) == 2


async def test_task_query_errors(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """Malformed ids are a 400 and an unknown task a 404."""
    status, payload = await call(client, "GET", server.url + "/music/tasks", params={"ids": "1,x"})
    assert (status, payload["code"]) == (400, 400)
    assert "ids" in payload["message"]
    status, payload = await call(client, "GET", server.url + "/music/tasks")
    assert status == 400
    status, payload = await call(client, "GET", server.url + "/music/task", params={"id": 5})
    assert (status, payload["code"]) == (404, 404)
    assert "task not found" in payload["message"]
    status, _ = await call(client, "GET", server.url + "/music/task", params={"id": "abc"})
    assert status == 400


async def test_every_paid_endpoint(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """Each endpoint creates its tasks, charges its price and ends with the documented result."""
    task_id, clip_id = await done_song(client, server)
    lyrics = "[Intro]\n\n[Verse]\n最近 hello world"
    calls: list[tuple[str, dict[str, Any]]] = [
        ("/music/upload", {"audio_url": "https://example.test/ref.mp3"}),
        ("/music/whole-song", {"clip_id": clip_id}),
        ("/music/aligned-lyrics", {"lyrics": lyrics, "suno_id": clip_id}),
        ("/music/upsample", {"clip_id": clip_id, "model_name": "chirp-carp"}),
        ("/music/video", {"task_id": str(task_id), "suno_id": clip_id}),
        ("/music/convert-wav", {"task_id": task_id, "suno_id": clip_id}),
        ("/music/crop", {"clip_id": clip_id, "crop_start_s": 0, "crop_end_s": "12.5"}),
        ("/music/speed", {"clip_id": clip_id, "speed_multiplier": "1.5", "keep_pitch": True}),
    ]
    results = {path: (await post(client, server, path, body))["data"] for path, body in calls}
    assert server.points == 10_000 - 36 - 36 - 7
    assert isinstance(results["/music/upsample"], list)
    assert len(results["/music/upsample"]) == 2
    server.advance(1_000)

    for path in ("/music/upload", "/music/whole-song", "/music/crop", "/music/speed"):
        done = await row(client, server, results[path])
        clips = json.loads(done["extend"])
        assert [clip["id"] for clip in clips] == [done["custom_id"]], path
    crop = json.loads((await row(client, server, results["/music/crop"]))["extend"])[0]
    assert crop["metadata"]["duration"] == 12.5
    upsampled = json.loads((await row(client, server, results["/music/upsample"][0]))["extend"])
    assert len(upsampled) == 2
    assert upsampled[0]["major_model_version"] == "v5"

    alignment = json.loads((await row(client, server, results["/music/aligned-lyrics"]))["extend"])
    assert alignment["state"] == "complete"
    words = [word["word"] for word in alignment["alignment"]]
    assert words == ["[Intro]\n\n[Verse]\n最", "近", " hello", " world"]
    starts = [word["start_s"] for word in alignment["alignment"]]
    assert starts == sorted(starts)

    video = json.loads((await row(client, server, results["/music/video"]))["extend"])
    assert video["status"] == "complete"
    assert video["video_url"].partition("?")[0].endswith(".mp4")
    wav = json.loads((await row(client, server, results["/music/convert-wav"]))["extend"])
    assert (
        wav["wav_file_url"].partition("?")[0]
        == f"{server.origin}/media/{results['/music/convert-wav']}.wav"
    )


async def test_generate_extend_and_cover(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """Extend and cover take known clip ids, and numbers may come as strings."""
    _, clip_id = await done_song(client, server)
    server.plans.extend([TaskPlan(), TaskPlan()])
    body = {**CUSTOM, "task": "extend", "continue_clip_id": clip_id, "continue_at": "30.5"}
    ids = (await post(client, server, "/music/generate", body))["data"]
    clip = json.loads((await row(client, server, ids[0]))["extend"])[0]
    assert clip["metadata"]["history"][0] == {
        "id": clip_id,
        "continue_at": 30.5,
        "type": "gen",
        "source": "web",
        "infill": False,
    }
    cover = {**CUSTOM, "task": "cover", "cover_clip_id": clip_id}
    assert len((await post(client, server, "/music/generate", cover))["data"]) == 2


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/music/whole-song", {"clip_id": "0f65a62b-3c55-4af6-8353-56be806b93d2"}, (404, "clip")),
        ("/music/whole-song", {"clip_id": 199824}, (400, "clip_id")),
        ("/music/whole-song", {"clip_id": ""}, (400, "clip_id")),
        ("/music/generate", {**CUSTOM, "task": "extend", "continue_at": 1}, (400, "continue_clip")),
        ("/music/generate", {**CUSTOM, "task": "cover", "cover_clip_id": "x"}, (404, "clip")),
        ("/music/upsample", {"model_name": "chirp-v4"}, (400, "model_name")),
        (
            "/music/upsample",
            {"model_name": "chirp-bass", "variation_category": "high"},
            (400, "var"),
        ),
        (
            "/music/upsample",
            {"model_name": "chirp-carp", "variation_category": "wild"},
            (400, "var"),
        ),
        ("/music/speed", {"speed_multiplier": 3}, (400, "speed_multiplier")),
        ("/music/speed", {"speed_multiplier": "fast"}, (400, "speed_multiplier")),
        ("/music/crop", {"crop_start_s": 5, "crop_end_s": 5}, (400, "crop_start_s")),
        ("/music/crop", {"crop_start_s": -1, "crop_end_s": 5}, (400, "crop_start_s")),
        ("/music/video", {"task_id": "abc"}, (400, "task_id")),
        ("/music/video", {"task_id": 1}, (404, "task not found")),
        ("/music/convert-wav", {"suno_id": "wrong"}, (404, "clip")),
        ("/music/upload", {"audio_url": "ftp://x"}, (400, "audio_url")),
        ("/music/aligned-lyrics", {}, (400, "lyrics")),
    ],
)
async def test_reference_errors(
    server: FakeSunoServer,
    client: aiohttp.ClientSession,
    path: str,
    body: dict[str, Any],
    expected: tuple[int, str],
) -> None:
    """Wrong, unknown or missing references are refused without charging."""
    code, text = expected
    task_id, clip_id = await done_song(client, server)
    body = {"clip_id": clip_id, "task_id": task_id, "suno_id": clip_id, **body}
    if path == "/music/generate":
        body = {k: v for k, v in body.items() if k not in ("clip_id", "task_id", "suno_id")}
    status, payload = await call(client, "POST", server.url + path, json=body)
    assert (status, payload["code"]) == (code, code)
    assert text in payload["message"]
    assert server.points == 10_000 - 36


async def test_song_state_checks(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """Aligned lyrics need a complete song, video needs the task's own clip, failed clips vanish."""
    server.plans.extend([TaskPlan(generating_s=50), TaskPlan(succeed=False)])
    first, second = (await post(client, server, "/music/generate", CUSTOM))["data"]
    first_clip = server.task(first).custom_id
    body = {"lyrics": "la", "suno_id": first_clip}
    status, payload = await call(client, "POST", server.url + "/music/aligned-lyrics", json=body)
    assert status == 400
    assert "suno_id" in payload["message"]
    body = {"task_id": second, "suno_id": first_clip}
    status, payload = await call(client, "POST", server.url + "/music/video", json=body)
    assert status == 400
    assert "does not belong" in payload["message"]
    body = {"clip_id": server.task(second).custom_id}
    status, _ = await call(client, "POST", server.url + "/music/whole-song", json=body)
    assert status == 404
    server.advance(50)
    body = {"lyrics": "la", "suno_id": first_clip}
    status, _ = await call(client, "POST", server.url + "/music/aligned-lyrics", json=body)
    assert status == 200


async def test_request_counters(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """Requests are counted by method and path without the prefix or the query."""
    await call(client, "GET", server.url + "/points/balance")
    await call(client, "GET", server.url + "/music/task", params={"id": 1})
    await call(client, "GET", server.url + "/music/tasks", params={"ids": "1,2,3"})
    assert server.requests == {
        "GET /points/balance": 1,
        "GET /music/task": 1,
        "GET /music/tasks": 1,
    }
    assert server.total_requests == 3
    assert server.batch_sizes == [3]


async def test_seed_makes_runs_reproducible(client: aiohttp.ClientSession) -> None:
    """Two servers with the same seed hand out the same clips and timelines."""
    seen = []
    for _ in range(2):
        async with FakeSunoServer(dialect="reference", api_key=KEY, speed=0.0, seed=42) as server:
            body = {"gpt_description_prompt": "a song", "mv": "chirp-v4"}
            ids = (await post(client, server, "/music/generate", body))["data"]
            task = server.task(ids[0])
            server.advance(1_000)
            clips = json.loads((await row(client, server, ids[0]))["extend"])
            seen.append((task.custom_id, task.done_at, clips[0]["title"], clips[1]["metadata"]))
    assert seen[0] == seen[1]


async def test_clock_controls(client: aiohttp.ClientSession) -> None:
    """A zero speed freezes the clock, advance() moves it and speed can change."""
    async with FakeSunoServer(dialect="reference", api_key=KEY, speed=0.0) as server:
        assert server.now() == 0.0
        assert server.advance(5) == 5.0
        with pytest.raises(ValueError, match="forward"):
            server.advance(-1)
        server.speed = 1000.0
        await asyncio.sleep(0.01)
        assert server.now() > 5.0
    with pytest.raises(RuntimeError, match="not been started"):
        _ = FakeSunoServer(dialect="reference").url


async def test_admin_endpoints(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """The admin endpoints report, advance and reset without being counted."""
    server.plans.extend([TaskPlan(generating_s=10), TaskPlan(generating_s=20)])
    first, second = (await post(client, server, "/music/generate", CUSTOM))["data"]
    async with aiohttp.ClientSession() as admin:
        _, stats = await call(admin, "GET", f"{server.origin}/_fake/stats")
        assert stats == {
            "requests": {"POST /music/generate": 1},
            "total_requests": 1,
            "faults_injected": {},
            "paid_calls": {"POST /music/generate": 1},
            "points": 10_000 - 36,
            "now": 0.0,
        }
        _, advanced = await call(
            admin, "POST", f"{server.origin}/_fake/advance", json={"seconds": 15}
        )
        assert advanced["now"] == 15.0
        body = {"ids": [first, str(second), 1]}
        _, completions = await call(admin, "POST", f"{server.origin}/_fake/completions", json=body)
        done = completions["completed_at_wall"]
        assert isinstance(done[str(first)], float)
        assert done[str(second)] is None
        assert done["1"] is None
        _, reset = await call(admin, "POST", f"{server.origin}/_fake/reset-counters")
        assert reset["requests"] == {}
        for seconds in (-1, "nan", True, 1e309):
            status, _ = await call(
                admin, "POST", f"{server.origin}/_fake/advance", json={"seconds": seconds}
            )
            assert status == 400, seconds
        status, _ = await call(admin, "POST", f"{server.origin}/_fake/completions", json={"ids": 5})
        assert status == 400
        _, stats = await call(admin, "GET", f"{server.origin}/_fake/stats")
        assert stats["now"] == 15.0
    assert server.total_requests == 0
    assert server.batch_sizes == []
