"""sound(): sound effects and loops over real HTTP, under the paid-call rules of generate."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest
from aiohttp import web

from helpers import FAST_RETRY, GENERATE, KEY, ok, serve, until
from suno_async import (
    APIError,
    AsyncSuno,
    NetworkError,
    RetryPolicy,
    Song,
    SoundRequest,
    TaskKind,
    ValidationError,
)
from suno_async.testing import FakeSunoServer, Fault, TaskPlan

pytestmark = pytest.mark.anyio

SOUND = "POST /music/sound"
PRICE = 36


async def test_a_sound_loop_waits_into_songs(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """Two clips start for 36 points, the body names every option, and they read as songs."""
    fake.plans.extend([TaskPlan(), TaskPlan()])
    before = fake.points
    handles = await suno.sound(
        title="Rain loop", tags="rain on a tin roof", tempo=120, key=" C minor ", loop=True
    )
    assert [h.kind for h in handles] == [TaskKind.SONG, TaskKind.SONG]
    songs = await suno.wait(handles)
    assert fake.accepted_calls[-1].body == {
        "title": "Rain loop",
        "tags": "rain on a tin roof",
        "mv": "chirp-fenix",
        "tempo": 120,
        "key": "C minor",
        "loop": True,
    }
    for song, handle in zip(songs, handles, strict=True):
        assert isinstance(song, Song)
        assert song.task_id == handle.task_id
        assert song.title == "Rain loop"
        assert song.tags == "rain on a tin roof"
        assert song.model_name == "chirp-fenix"
        assert song.audio_url is not None
        assert song.audio_url.startswith(fake.media_origin)
        assert song.duration == 8.0  # four bars of four beats at 120 BPM
    assert fake.points == before - PRICE
    assert fake.paid_calls == {SOUND: 1}


async def test_unset_options_stay_out_of_the_body(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """No tempo and no key leave them to the service; the older model is sent by name."""
    fake.plans.extend([TaskPlan(), TaskPlan()])
    handles = await suno.sound(title="Door", tags="a heavy wooden door slams", model="chirp-crow")
    assert fake.accepted_calls[-1].body == {
        "title": "Door",
        "tags": "a heavy wooden door slams",
        "mv": "chirp-crow",
        "loop": False,
    }
    songs = await suno.wait(handles)
    assert {song.model_name for song in songs} == {"chirp-crow"}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"tempo": 0}, "tempo", "at least 1"),
        ({"tempo": 301}, "tempo", "at most 300"),
        ({"tempo": 90.5}, "tempo", "whole number"),
        ({"tempo": True}, "tempo", "whole number"),
        ({"tempo": "120"}, "tempo", "whole number"),
        ({"key": ""}, "key", "blank"),
        ({"key": "120"}, "key", "note A to G"),
        ({"key": "H minor"}, "key", "note A to G"),
        ({"key": "C minor\nF major"}, "key", "note A to G"),
        ({"key": "C" + " minor" * 4}, "key", "at most 20"),
        ({"model": "chirp-v4"}, "model", "cannot make sounds"),
        ({"model": "chirp-carp"}, "model", "cannot make sounds"),
        ({"model": "chirp-v3-5"}, "model", "offline"),
        ({"model": "fenix"}, "model", "'chirp-'"),
        ({"title": " "}, "title", "blank"),
        ({"title": "t" * 101}, "title", "at most 100"),
        ({"tags": ""}, "tags", "blank"),
        ({"tags": "x" * 1001}, "tags", "at most 1000"),
        ({"loop": "yes"}, "loop", "True or False"),
    ],
)
async def test_bad_input_is_refused_before_anything_is_sent(
    suno: AsyncSuno, fake: FakeSunoServer, changes: dict[str, Any], field: str, words: str
) -> None:
    """Each rule names its field; nothing reaches the service."""
    options: dict[str, Any] = {"title": "t", "tags": "a bell", **changes}
    with pytest.raises(ValidationError) as caught:
        await suno.sound(**options)
    assert caught.value.field == field
    assert words in caught.value.rule
    assert fake.total_requests == 0


async def test_a_newer_model_is_sent_and_its_refusal_costs_nothing(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """A chirp-* name this release does not list goes out; the service has the last word."""
    with pytest.raises(APIError) as caught:
        await suno.sound(title="t", tags="a bell", model="chirp-newbird")
    assert caught.value.status == 400
    assert caught.value.may_have_charged is False
    assert fake.accepted_calls == []
    assert fake.requests[SOUND] == 1
    assert fake.points == 10_000


async def test_submit_sound_takes_only_a_sound_request(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """A prepared request is sent as built; anything else is refused unsent."""
    request = SoundRequest(title="Bell", tags="a temple bell", tempo=60)
    handles = await suno.submit_sound(request)
    assert len(handles) == 2
    assert fake.accepted_calls[-1].body["tempo"] == 60
    with pytest.raises(ValidationError, match="must be a SoundRequest"):
        await suno.submit_sound({"title": "Bell"})  # type: ignore[arg-type]
    assert fake.requests[SOUND] == 1


# --- the paid-call rules ------------------------------------------------------------------


async def test_an_answer_lost_after_the_charge_is_not_sent_again(fake: FakeSunoServer) -> None:
    """The connection drops once the sound was charged: one POST, and the error says so."""
    fake.faults.append(Fault("drop_after", endpoint=SOUND))
    policy = RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.02, wait_jitter=0)
    async with AsyncSuno(fake.api_key, base_url=fake.url, retry=policy) as suno:
        with pytest.raises(NetworkError) as caught:
            await suno.sound(title="t", tags="a bell")
    assert caught.value.may_have_charged is True
    assert fake.requests[SOUND] == 1
    assert fake.points == 10_000 - PRICE


async def test_a_sound_refused_with_429_is_sent_again_and_charged_once(
    fake: FakeSunoServer,
) -> None:
    """A 429 cost nothing, so the call waits and is accepted exactly once."""
    fake.faults.append(Fault("429", endpoint=SOUND, retry_after="0.05", times=2))
    policy = RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.02, wait_jitter=0)
    async with AsyncSuno(fake.api_key, base_url=fake.url, retry=policy) as suno:
        handles = await suno.sound(title="t", tags="a bell")
    assert len(handles) == 2
    assert fake.requests[SOUND] == 3
    assert fake.paid_calls == {SOUND: 1}
    assert fake.points == 10_000 - PRICE


async def test_a_cancelled_caller_still_leaves_the_ids(fake: FakeSunoServer) -> None:
    """The POST is shielded: cancelled mid-answer, the ids reach on_started and the session."""
    fake.faults.append(Fault("latency", endpoint=SOUND, delay=0.3))
    seen: list[tuple[int, ...]] = []
    async with AsyncSuno(fake.api_key, base_url=fake.url, retry=FAST_RETRY) as suno:
        task = asyncio.ensure_future(suno.sound(title="t", tags="a bell", on_started=seen.append))
        await until(lambda: fake.requests[SOUND] == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(seen) == 1
        assert suno.orphaned_task_ids == seen[0]
    assert tuple(call.task_ids for call in fake.accepted_calls) == (seen[0],)


async def test_sounds_and_songs_share_the_paid_slots() -> None:
    """max_paid_in_flight bounds sounds and generations together, as one budget."""
    in_flight = peak = 0

    async def slow(_: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.03)
        in_flight -= 1
        return ok({"task_ids": [1, 2]})

    async with (
        serve({SOUND: slow, GENERATE: slow}) as url,
        AsyncSuno(KEY, base_url=url, max_paid_in_flight=2) as suno,
        anyio.create_task_group() as group,
    ):
        for _ in range(4):
            group.start_soon(lambda: suno.sound(title="t", tags="a bell"))
            group.start_soon(lambda: suno.generate(title="t", description="d"))
    assert peak == 2
