"""AsyncSuno over loopback HTTP: every endpoint, construction, last_response, shutdown."""

from __future__ import annotations

import gc
import math
from typing import Any

import aiohttp
import anyio
import pytest
from yarl import URL

from helpers import AUDIO_EXT, FAST_POLL, FAST_RETRY, unsigned
from suno_async import (
    DEFAULT_BASE_URL,
    APIError,
    AsyncSuno,
    ConfigurationError,
    LyricsAlignment,
    NotFoundError,
    PollPolicy,
    SessionClosedError,
    Song,
    Task,
    TaskKind,
    TaskStatus,
    UsageError,
    Video,
    Wav,
)
from suno_async.testing import FakeSunoServer, Fault, TaskPlan

pytestmark = pytest.mark.anyio

LYRICS = "[Verse]\n最近的风吹过我的窗\nCity lights are calling out my name\n\n[Chorus]\n我们追着光"


async def finished_pair(suno: AsyncSuno, fake: FakeSunoServer, **kwargs: Any) -> list[Song]:
    """Generate two songs that finish at once on the fake, and wait for them."""
    fake.plans.extend([TaskPlan(), TaskPlan()])
    options: dict[str, Any] = {"title": "夏夜的风", "description": "一首欢快的流行歌"} | kwargs
    return await suno.wait(await suno.generate(**options))


# --- endpoints ----------------------------------------------------------------------------


async def test_balance_reads_the_ledger_for_free(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """balance() returns the fake's points and costs nothing."""
    fake.points = 4321
    balance = await suno.balance()
    assert balance.remaining_points == 4321
    assert fake.points == 4321
    assert fake.requests == {"GET /points/balance": 1}


async def test_generate_inspiration_mode(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """A description starts two songs for 36 points; the service writes their lyrics."""
    before = fake.points
    handles = await suno.generate(
        title="夏夜的风", description="一首欢快的流行歌", model="chirp-v5", vocal_gender="f"
    )
    assert fake.points == before - 36
    assert len(handles) == 2
    assert all(h.kind is TaskKind.SONG for h in handles)
    sent = fake.task(handles[0].task_id).params
    assert sent["gpt_description_prompt"] == "一首欢快的流行歌"
    assert sent["mv"] == "chirp-v5"
    assert "prompt" not in sent
    assert sent["metadata"] == {"vocal_gender": "f"}

    songs = await suno.wait(handles)
    for handle, song in zip(handles, songs, strict=True):
        assert isinstance(song, Song)
        assert song.task_id == handle.task_id
        assert song.id == fake.task(handle.task_id).custom_id
        assert song.title == "夏夜的风"
        assert song.description == "一首欢快的流行歌"
        assert song.lyrics  # written by the service
        assert (
            unsigned(song.audio_url)
            == f"{fake.origin}/media/{handle.task_id}.{AUDIO_EXT[fake.dialect]}"
        )
        assert song.status == "complete"
        assert song.model_name == "chirp-v5"
        assert song.duration is not None
        assert song.duration > 0
    assert songs[0].id != songs[1].id
    assert fake.points == before - 36


async def test_generate_custom_mode(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """Lyrics, tags and the sliders reach the service as the API names them."""
    before = fake.points
    handles = await suno.generate(
        title="Neon",
        lyrics=LYRICS,
        tags="synthwave, driving",
        negative_tags="country",
        model="chirp-v4",
        style_weight=0.87,
        weirdness=0.75,
    )
    sent = fake.task(handles[0].task_id).params
    assert sent["prompt"] == LYRICS
    assert sent["tags"] == "synthwave, driving"
    assert sent["negative_tags"] == "country"
    assert sent["make_instrumental"] is False
    assert sent["metadata"] == {
        "control_sliders": {"style_weight": 0.87, "weirdness_constraint": 0.75}
    }
    assert "gpt_description_prompt" not in sent
    songs = [await h.wait() for h in handles]
    assert [s.lyrics for s in songs] == [LYRICS, LYRICS]
    assert [s.tags for s in songs] == ["synthwave, driving"] * 2
    assert fake.points == before - 36


async def test_generate_instrumental(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """An instrumental in custom mode sends empty lyrics and the flag; its songs have none."""
    handles = await suno.generate(title="Drift", lyrics="", tags="lofi", instrumental=True)
    sent = fake.task(handles[0].task_id).params
    assert sent["make_instrumental"] is True
    songs = await suno.wait(handles)
    assert [s.lyrics for s in songs] == [None, None]


async def test_extend_and_whole_song(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """extend() continues a clip (36 points); whole_song() joins the chain (1 point)."""
    source = (await finished_pair(suno, fake))[0]
    assert source.id is not None
    before = fake.points
    handles = await suno.extend(
        source.id,
        continue_at=42.5,
        title="夏夜的风 (Part 2)",
        lyrics="[Bridge]\n把思念写进星空的方向",
        tags="pop",
        audio_weight=0.5,
    )
    assert fake.points == before - 36
    sent = fake.task(handles[0].task_id).params
    assert sent["task"] == "extend"
    assert sent["continue_clip_id"] == source.id
    assert sent["continue_at"] == 42.5
    assert sent["metadata"] == {"audio_weight": 0.5}
    extended = await suno.wait(handles)
    assert extended[0].title == "夏夜的风 (Part 2)"
    assert extended[0].id is not None
    assert extended[0].duration is not None

    whole = await suno.whole_song(extended[0].id)
    assert whole.kind is TaskKind.SONG
    assert fake.points == before - 37
    song = await whole.wait()
    assert song.task_id == whole.task_id
    assert song.id == fake.task(whole.task_id).custom_id
    assert song.duration == round(42.5 + extended[0].duration, 2)


async def test_a_suno_id_with_spaces_around_is_sent_trimmed(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """A clip id pasted with spaces or a newline is sent as the id, as extend() always did."""
    source = (await finished_pair(suno, fake))[0]
    assert source.id is not None
    whole = await suno.whole_song(f"  {source.id}\n")
    assert fake.task(whole.task_id).params["clip_id"] == source.id
    cropped = await suno.crop(f" {source.id} ", start_s=1.0, end_s=5.0)
    assert fake.task(cropped.task_id).params["clip_id"] == source.id


async def test_a_clip_id_of_non_ascii_digits_is_an_unknown_clip(suno: AsyncSuno) -> None:
    """Non-ASCII digits ("²") are no task id, to the SDK or the fake: sent, and not found."""
    with pytest.raises(NotFoundError):
        await suno.whole_song("²")


async def test_cover(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """cover() restyles a clip as two songs for 36 points."""
    source = (await finished_pair(suno, fake))[0]
    assert source.id is not None
    before = fake.points
    handles = await suno.cover(source.id, title="Rock cover", description="the same song as rock")
    assert fake.points == before - 36
    sent = fake.task(handles[0].task_id).params
    assert sent["task"] == "cover"
    assert sent["cover_clip_id"] == source.id
    songs = await suno.wait(handles)
    assert [s.title for s in songs] == ["Rock cover", "Rock cover"]


async def test_upload(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """upload() takes an audio URL for 1 point and produces a song task."""
    before = fake.points
    handle = await suno.upload("https://example.com/audio/my-demo.mp3")
    assert handle.kind is TaskKind.SONG
    assert fake.points == before - 1
    song = await handle.wait()
    assert song.title == "my-demo"
    assert song.id == fake.task(handle.task_id).custom_id


async def test_aligned_lyrics(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """aligned_lyrics() gives every sung token its start and end in seconds (1 point)."""
    source = (await finished_pair(suno, fake, lyrics=LYRICS, tags="pop", description=None))[0]
    assert source.id is not None
    before = fake.points
    handle = await suno.aligned_lyrics(source.id, lyrics=LYRICS)
    assert handle.kind is TaskKind.ALIGNMENT
    assert fake.points == before - 1
    alignment = await handle.wait()
    assert isinstance(alignment, LyricsAlignment)
    assert alignment.task_id == handle.task_id
    assert alignment.state == "complete"
    assert "".join(w.word for w in alignment.words) == LYRICS
    assert all(w.start_s < w.end_s for w in alignment.words)
    starts = [w.start_s for w in alignment.words]
    assert starts == sorted(starts)


async def test_remaster(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """remaster() makes two songs with the remaster model for 36 points."""
    source = (await finished_pair(suno, fake))[0]
    assert source.id is not None
    before = fake.points
    handles = await suno.remaster(source.id, model="chirp-carp", variation="high")
    assert len(handles) == 2
    assert fake.points == before - 36
    sent = fake.task(handles[0].task_id).params
    assert sent == {"clip_id": source.id, "model_name": "chirp-carp", "variation_category": "high"}
    songs = await suno.wait(handles)
    assert [s.model_name for s in songs] == ["chirp-carp", "chirp-carp"]
    assert [s.title for s in songs] == [source.title, source.title]


async def test_remaster_with_a_v6_model(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """remaster() sends a V6 model with a variation, and the songs carry its name."""
    source = (await finished_pair(suno, fake))[0]
    assert source.id is not None
    handles = await suno.remaster(source.id, model="chirp-halibut", variation="subtle")
    songs = await suno.wait(handles)
    assert [s.model_name for s in songs] == ["chirp-halibut", "chirp-halibut"]


async def test_video_and_wav(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """video() and convert_wav() take a task id and its Suno id, 1 point each."""
    source = (await finished_pair(suno, fake))[0]
    assert source.id is not None
    before = fake.points
    video_handle = await suno.video(source.task_id, suno_id=source.id)
    wav_handle = await suno.convert_wav(task_id=source.task_id, suno_id=source.id)
    assert (video_handle.kind, wav_handle.kind) == (TaskKind.VIDEO, TaskKind.WAV)
    assert fake.points == before - 2
    video, wav = await suno.wait([video_handle, wav_handle])
    assert isinstance(video, Video)
    assert video.task_id == video_handle.task_id
    assert unsigned(video.url) == f"{fake.origin}/media/{video_handle.task_id}.mp4"
    assert video.status == "complete"
    assert isinstance(wav, Wav)
    assert unsigned(wav.url) == f"{fake.origin}/media/{wav_handle.task_id}.wav"


async def test_crop_and_speed(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """crop() keeps a span of seconds and speed() rescales a clip, 1 point each."""
    source = (await finished_pair(suno, fake))[0]
    assert source.id is not None
    assert source.duration is not None
    before = fake.points
    crop = await suno.crop(source.id, start_s=10.0, end_s=40.5)
    fast = await suno.speed(source.id, multiplier=2, keep_pitch=True, title="Faster")
    assert fake.points == before - 2
    assert fake.task(crop.task_id).params == {
        "clip_id": source.id,
        "crop_start_s": 10.0,
        "crop_end_s": 40.5,
    }
    assert fake.task(fast.task_id).params == {
        "clip_id": source.id,
        "speed_multiplier": 2.0,
        "keep_pitch": True,
        "title": "Faster",
    }
    cropped, faster = await suno.wait([crop, fast])
    assert cropped.duration == 30.5
    assert faster.title == "Faster"
    assert faster.duration == round(source.duration / 2, 2)


async def test_get_task_reads_both_envelope_shapes(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """get_task() reads a finished task whether success/message sit inside data or not."""
    fake.plans.extend([TaskPlan(), TaskPlan()])
    handles = await suno.generate(title="t", description="d")
    ids = [h.task_id for h in handles]
    assert {i % 2 for i in ids} == {0, 1}  # even ids nest success/message inside data
    for task_id in ids:
        task = await suno.get_task(task_id)
        assert isinstance(task, Task)
        assert task.id == task_id
        assert task.status is TaskStatus.SUCCEEDED
        assert task.custom_id == fake.task(task_id).custom_id
        assert task.file_info is not None
        assert (
            unsigned(task.file_info.mp3_url)
            == f"{fake.origin}/media/{task_id}.{AUDIO_EXT[fake.dialect]}"
        )
        assert task.extend
    assert fake.points == 10_000 - 36


async def test_get_task_of_a_running_task(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """A task still queued comes back as such, with no result yet."""
    fake.plans.extend([TaskPlan(queued_s=1e6, generating_s=1.0)] * 2)
    handles = await suno.generate(title="t", description="d")
    task = await suno.get_task(handles[0].task_id)
    assert task.status is TaskStatus.QUEUED
    assert task.file_info is None
    assert not task.extend


async def test_wait_on_plain_ids_gives_tasks(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """Waiting on saved task ids returns the Task rows, finished."""
    handles = await suno.generate(title="t", description="d")
    tasks = await suno.wait([h.task_id for h in handles])
    assert [t.id for t in tasks] == [h.task_id for h in handles]
    assert all(t.status is TaskStatus.SUCCEEDED for t in tasks)


@pytest.mark.parametrize("returns_total", [True, False])
async def test_get_tasks_pages_past_the_service_page_size(
    suno: AsyncSuno, fake: FakeSunoServer, returns_total: bool
) -> None:
    """get_tasks() keeps asking until every known row came, in order, leaving unknown ids out."""
    fake.max_page_size = 3
    fake.batch_returns_total = returns_total
    ids: list[int] = []
    for _ in range(4):
        ids.extend(h.task_id for h in await suno.generate(title="t", description="d"))
    unknown = 987_654
    asked = [ids[5], unknown, *ids[:5], *ids[6:]]
    fake.requests.clear()

    tasks = await suno.get_tasks(asked)

    assert [t.id for t in tasks] == [i for i in asked if i != unknown]
    assert all(t.custom_id == fake.task(t.id).custom_id for t in tasks)
    batches = fake.requests["GET /music/tasks"]
    assert math.ceil(len(ids) / 3) <= batches <= math.ceil(len(ids) / 3) + 1
    assert fake.total_requests == batches
    assert fake.points == 10_000 - 4 * 36


@pytest.mark.parametrize("unknown_at", [0, 4, 8])
async def test_get_tasks_leaves_out_an_id_for_which_the_service_refuses_the_batch(
    suno: AsyncSuno, fake: FakeSunoServer, unknown_at: int
) -> None:
    """
    Some deployments refuse a whole batch for one id they do not know (任务不存在 as code
    500): halves find that id, the rest are answered, and no refusal is asked again.
    """
    ids: list[int] = []
    for _ in range(4):
        ids.extend(h.task_id for h in await suno.generate(title="t", description="d"))
    fake.unknown_batch = "fail"
    asked = [*ids[:unknown_at], 987_654, *ids[unknown_at:]]
    fake.requests.clear()

    tasks = await suno.get_tasks(asked)

    assert [t.id for t in tasks] == ids
    # One refused query of 9 ids, then two halves a level, down to the lone unknown id.
    assert 3 <= fake.requests["GET /music/tasks"] <= 1 + 2 * math.ceil(math.log2(len(asked)))


async def test_get_tasks_of_ids_the_service_knows_none_of_is_empty(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """Every id refused alone as unknown: nothing to return, and nothing raised."""
    fake.unknown_batch = "fail"
    assert await suno.get_tasks([987_654, 987_655, 987_656]) == []
    assert fake.requests["GET /music/tasks"] == 5


async def test_get_tasks_raises_a_refusal_that_does_not_say_the_id_is_unknown(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """A refusal halved down to one id, and still refused for another reason, is the answer."""
    ids = [h.task_id for h in await suno.generate(title="t", description="d")]
    refusal = Fault("envelope_error", "/music/tasks", times=99, code=400, message="参数错误")
    fake.faults.append(refusal)
    with pytest.raises(APIError) as caught:
        await suno.get_tasks([*ids, *ids])
    assert caught.value.api_message == "参数错误"
    assert fake.requests["GET /music/tasks"] == 2  # both ids, then the first alone


async def test_get_tasks_with_more_ids_than_the_batch_size(fake: FakeSunoServer) -> None:
    """Ids beyond the policy's batch size are split over several queries."""
    policy = PollPolicy(interval=0.02, batch_size=4)
    async with AsyncSuno(fake.api_key, base_url=fake.url, poll=policy, rate_limit=None) as suno:
        ids: list[int] = []
        for _ in range(5):
            ids.extend(h.task_id for h in await suno.generate(title="t", description="d"))
        fake.requests.clear()
        tasks = await suno.get_tasks(ids)
    assert [t.id for t in tasks] == ids
    assert fake.requests["GET /music/tasks"] == 3
    assert max(fake.batch_sizes[-3:]) <= 4


async def test_get_tasks_answers_an_id_given_twice_in_each_place(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """A repeated id is asked about once and returned wherever it was given."""
    first, second = (h.task_id for h in await suno.generate(title="t", description="d"))
    fake.requests.clear()
    tasks = await suno.get_tasks([first, second, first])
    assert [t.id for t in tasks] == [first, second, first]
    assert fake.requests["GET /music/tasks"] == 1
    assert fake.batch_sizes[-1] == 2


async def test_get_tasks_of_no_ids_sends_nothing(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """An empty list of ids is answered without a request."""
    assert await suno.get_tasks([]) == []
    assert fake.total_requests == 0


# --- construction -------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "   "])
async def test_missing_key_is_refused_at_construction(
    monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    """No key (argument or SUNO_API_KEY) raises ConfigurationError before anything runs."""
    monkeypatch.delenv("SUNO_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="SUNO_API_KEY"):
        AsyncSuno(key)


async def test_key_and_base_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fake: FakeSunoServer
) -> None:
    """SUNO_API_KEY and SUNO_BASE_URL configure a session built without arguments."""
    monkeypatch.setenv("SUNO_API_KEY", fake.api_key)
    monkeypatch.setenv("SUNO_BASE_URL", fake.url)
    async with AsyncSuno() as suno:
        assert suno.base_url == URL(fake.url)
        assert (await suno.balance()).remaining_points == fake.points
    assert fake.requests == {"GET /points/balance": 1}


async def test_arguments_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, fake: FakeSunoServer
) -> None:
    """An explicit key and base URL are used even when the variables say otherwise."""
    monkeypatch.setenv("SUNO_API_KEY", "some-other-key")
    monkeypatch.setenv("SUNO_BASE_URL", "https://elsewhere.invalid/api/v1")
    async with AsyncSuno(fake.api_key, base_url=fake.url) as suno:
        await suno.balance()
    assert fake.requests == {"GET /points/balance": 1}


async def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SUNO_BASE_URL the session points at the provider's https endpoint."""
    monkeypatch.delenv("SUNO_BASE_URL", raising=False)
    async with AsyncSuno("k") as suno:
        assert suno.base_url == URL(DEFAULT_BASE_URL)
        assert suno.base_url.scheme == "https"


@pytest.mark.parametrize(
    "url", ["http://api.example.com/api/v1", "http://10.0.0.5:8080/api/v1", "http://[2001:db8::1]/"]
)
async def test_plain_http_to_another_host_is_refused(url: str) -> None:
    """A plain-http base URL off loopback is refused unless allow_insecure_http=True."""
    with pytest.raises(ConfigurationError, match="allow_insecure_http"):
        AsyncSuno("k", base_url=url)
    async with AsyncSuno("k", base_url=url, allow_insecure_http=True) as suno:
        assert suno.base_url.scheme == "http"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/api/v1", "http://localhost:9/api/v1", "http://[::1]:9/api/v1"],
)
async def test_plain_http_on_loopback_is_allowed(url: str) -> None:
    """Loopback addresses need no opt-in: the key never leaves the machine."""
    async with AsyncSuno("k", base_url=url) as suno:
        assert suno.base_url == URL(url)


@pytest.mark.parametrize("url", ["ftp://open.suno.cn/api/v1", "open.suno.cn/api/v1", "https://"])
async def test_base_url_must_be_http(url: str) -> None:
    """A base URL that is not an http(s) URL with a host is refused."""
    with pytest.raises(ConfigurationError, match="base_url"):
        AsyncSuno("k", base_url=url)


async def test_caller_session_is_used_and_left_open(fake: FakeSunoServer) -> None:
    """A session passed in carries the calls and is not closed by aclose()."""
    trace = aiohttp.TraceConfig()
    seen: list[str] = []

    async def on_start(_: object, __: object, params: aiohttp.TraceRequestStartParams) -> None:
        seen.append(f"{params.method} {params.url.path}")

    trace.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        suno = AsyncSuno(
            fake.api_key, base_url=fake.url, session=session, poll=FAST_POLL, rate_limit=None
        )
        await suno.balance()
        await suno.wait(await suno.generate(title="t", description="d"))
        await suno.aclose()
        assert suno.closed
        assert not session.closed
        assert seen[:2] == ["GET /api/v1/points/balance", "POST /api/v1/music/generate"]
        assert any(s.startswith("GET /api/v1/music/tasks") for s in seen)
        async with session.get(fake.url + "/points/balance") as response:
            assert response.status == 401  # still usable by its owner
    assert session.closed


async def test_own_session_is_closed(fake: FakeSunoServer) -> None:
    """The session's own aiohttp session is closed by aclose()."""
    suno = AsyncSuno(fake.api_key, base_url=fake.url)
    await suno.balance()
    own = suno._transport._session
    assert own is not None
    assert not own.closed
    await suno.aclose()
    assert own.closed


# --- last_response ------------------------------------------------------------------------


async def test_last_response_status_and_headers(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """last_response shows the latest call's status and headers, failures included."""
    before = suno.last_response
    assert before is None
    await suno.balance()
    raw = suno.last_response
    assert raw is not None
    assert (raw.method, raw.path, raw.status, raw.attempts) == ("GET", "/points/balance", 200, 1)
    assert raw.headers["Content-Type"].startswith("application/json")
    assert raw.elapsed_s >= 0

    with pytest.raises(NotFoundError):
        await suno.get_task(123)
    raw = suno.last_response
    assert raw is not None
    assert (raw.method, raw.path, raw.status) == ("GET", "/music/task", 404)


async def test_last_response_is_per_asyncio_task(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """A call in another task does not change what this task's last_response shows."""
    await suno.balance()
    seen: dict[str, Any] = {}

    async def other() -> None:
        await suno.generate(title="t", description="d")
        seen["other"] = suno.last_response

    async with anyio.create_task_group() as group:
        group.start_soon(other)
    assert seen["other"].path == "/music/generate"
    raw = suno.last_response
    assert raw is not None
    assert raw.path == "/points/balance"


async def test_last_response_shows_get_tasks_but_not_the_watchers_polls(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """get_tasks is the caller's own batch query; the polls behind a wait are not."""
    handles = await suno.generate(title="t", description="d")
    await suno.get_tasks([handle.task_id for handle in handles])
    raw = suno.last_response
    assert raw is not None
    assert (raw.method, raw.path, raw.status) == ("GET", "/music/tasks", 200)
    await suno.balance()
    polls_before = fake.requests["GET /music/tasks"]
    await suno.wait(handles)
    assert fake.requests["GET /music/tasks"] > polls_before
    raw = suno.last_response
    assert raw is not None
    assert raw.path == "/points/balance"


# --- shutdown -----------------------------------------------------------------------------


async def test_sessions_open_and_close_cleanly(fake: FakeSunoServer) -> None:
    """Sessions that waited on tasks close without leaking anything warnings would report."""
    for _ in range(3):
        async with AsyncSuno(
            fake.api_key, base_url=fake.url, poll=FAST_POLL, rate_limit=None
        ) as suno:
            await suno.wait(await suno.generate(title="t", description="d"))
            assert suno.watcher.running
        assert suno.closed
        assert not suno.watcher.running
    gc.collect()


async def test_aclose_is_idempotent(fake: FakeSunoServer) -> None:
    """Closing twice is harmless, and a closed session cannot be entered again."""
    suno = AsyncSuno(fake.api_key, base_url=fake.url)
    await suno.balance()
    await suno.aclose()
    await suno.aclose()
    assert suno.closed
    assert "closed" in repr(suno)
    with pytest.raises(SessionClosedError, match="closed"):
        async with suno:
            pass


async def test_closed_session_refuses_to_wait_or_call(fake: FakeSunoServer) -> None:
    """Waiting or calling on a closed session raises a clear error and sends nothing."""
    suno = AsyncSuno(fake.api_key, base_url=fake.url, poll=FAST_POLL, rate_limit=None)
    handles = await suno.generate(title="t", description="d")
    await suno.aclose()
    sent = fake.total_requests
    with pytest.raises(SessionClosedError, match="closed"):
        await handles[0].wait()
    with pytest.raises(SessionClosedError, match="closed"):
        await suno.wait([h.task_id for h in handles])
    with pytest.raises(SessionClosedError, match="closed"):
        await suno.balance()
    with pytest.raises(SessionClosedError, match="closed"):
        await suno.generate(title="t", description="d")
    assert fake.total_requests == sent


async def test_close_releases_pending_waits(fake: FakeSunoServer) -> None:
    """Closing while a wait is pending fails it with SessionClosedError naming the task."""
    fake.plans.extend([TaskPlan(queued_s=1e6)] * 2)
    polled = anyio.Event()
    suno = AsyncSuno(
        fake.api_key,
        base_url=fake.url,
        poll=FAST_POLL,
        retry=FAST_RETRY,
        on_status_change=lambda _: polled.set(),
    )
    handles = await suno.generate(title="t", description="d")
    caught: list[BaseException] = []

    async def waiter() -> None:
        try:
            await handles[0].wait()
        except SessionClosedError as exc:
            caught.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(waiter)
        with anyio.fail_after(5):
            await polled.wait()  # the first poll has seen the task queued
        await suno.aclose()
    assert len(caught) == 1
    assert isinstance(caught[0], SessionClosedError)
    assert caught[0].task_id == handles[0].task_id
    assert str(handles[0].task_id) in str(caught[0])
    assert fake.task(handles[0].task_id).status == 1  # it goes on on the service


def test_listening_with_no_running_loop_is_a_usage_error() -> None:
    """A handle's status_changes() called from sync code says it needs async code."""
    suno = AsyncSuno("k", base_url="http://127.0.0.1:9")
    handle = suno.handle(199824, TaskKind.SONG)
    with pytest.raises(UsageError, match="running event loop"):
        handle.status_changes()
    assert suno.requests_sent == 0
