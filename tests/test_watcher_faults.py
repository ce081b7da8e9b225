"""TaskWatcher under faults: failed polls fail no future, and a refused key fails them all."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio
import pytest

from helpers import BATCH, SINGLE, OpenSuno, fast, manual_clock, start_songs, until
from suno_async import (
    AsyncSuno,
    AuthenticationError,
    NotFoundError,
    Song,
    UndecodableResponseError,
)
from suno_async.testing import FakeSunoServer, Fault, TaskPlan

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("kind", ["500", "502_html", "malformed", "drop_before", "429"])
async def test_failed_polls_fail_no_future(
    fake: FakeSunoServer, suno: AsyncSuno, kind: str
) -> None:
    """Three failed batch polls in a row are counted, backed off, and every wait resolves."""
    fake.faults.append(Fault(kind, endpoint=BATCH, times=3, retry_after="0.05"))
    handles = await start_songs(suno, 4)
    songs = await suno.wait(handles, timeout=10)
    assert [song.task_id for song in songs] == [h.task_id for h in handles]
    stats = suno.stats
    assert not fake.faults
    assert stats.tasks_resolved == 4
    assert fake.requests[SINGLE] == 0
    # aiohttp itself resends a GET once when a reused connection drops, unseen by the
    # watcher: every fault is either a poll error or such a resend.
    resent = fake.requests[BATCH] - stats.batch_requests
    assert stats.poll_errors + resent == 3
    if kind != "drop_before":
        assert (stats.poll_errors, resent) == (3, 0)


async def test_retry_after_pauses_every_poll(fake: FakeSunoServer, suno: AsyncSuno) -> None:
    """Retry-After holds back every poll, those of ids awaited during the pause too."""
    clock = manual_clock(suno)
    fake.plans += [TaskPlan(generating_s=0.0) for _ in range(2)]
    fake.faults.append(Fault("429", endpoint=BATCH, retry_after="0.3"))
    a, b = await suno.generate(title="Paused", description="a song")
    results: dict[str, Song] = {}

    async def keep(name: str, handle: Any) -> None:
        results[name] = await handle.wait()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(keep, "a", a)
            await until(lambda: suno.stats.poll_errors == 1)
            group.start_soon(keep, "b", b)
            await until(lambda: suno.stats.outstanding == 2)
            await clock.advance(0.29)
            assert fake.requests[BATCH] == 1
            await clock.advance(0.02)
    assert (results["a"].task_id, results["b"].task_id) == (a.task_id, b.task_id)
    # One refused poll of a, then one poll of both once the pause is over.
    assert fake.requests[BATCH] == 2
    assert fake.batch_sizes == [2]  # the server lists the queries it answered


async def test_a_failed_follow_up_page_fails_no_future(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """A poll whose second page fails is retried as a whole; no row is lost."""
    fake.max_page_size = 5
    # The first batch query passes untouched; the second, its follow-up page, fails.
    fake.faults += [Fault("latency", endpoint=BATCH), Fault("500", endpoint=BATCH)]
    suno = await open_suno(poll=fast(batch_size=20))
    handles = await start_songs(suno, 12)
    songs = await suno.wait(handles, timeout=10)
    assert [song.task_id for song in songs] == [h.task_id for h in handles]
    assert suno.stats.poll_errors == 1
    assert suno.stats.batch_size == 5
    assert fake.batch_sizes[0] == 12  # its follow-up of 7 ids failed, so is not listed
    assert fake.requests[BATCH] == len(fake.batch_sizes) + 1


async def test_a_refused_batch_is_asked_again_in_halves(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """A batch query the service refuses (4xx) is asked again at once, split in two."""
    fake.faults.append(Fault("envelope_error", endpoint=BATCH, code=400, message="参数错误"))
    fake.speed = 0.0
    handles = await start_songs(suno, 3)
    async with anyio.create_task_group() as group:
        group.start_soon(partial(suno.wait, handles, timeout=10))
        await until(lambda: len(fake.batch_sizes) == 2)
        fake.advance(1_000)
    # The refused query is not among those the server lists as answered.
    assert fake.batch_sizes[:2] == [1, 2]
    assert suno.stats.poll_errors == 1
    assert suno.stats.single_requests == fake.requests[SINGLE] == 0
    assert suno.stats.tasks_resolved == 3


async def test_server_errors_on_the_single_query_are_not_taken_for_unknown(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """A 5xx on the single-task query is retried; only the service's 404 fails the id."""
    fake.faults.append(Fault("500", endpoint=SINGLE, times=2))
    suno = await open_suno(poll=fast(miss_limit=1))
    with pytest.raises(NotFoundError, match="unknown to the service"):
        await suno.watch(10**8, timeout=10)
    assert suno.stats.poll_errors == 2
    assert suno.stats.single_requests == fake.requests[SINGLE] == 3


async def test_a_single_query_refused_again_and_again_backs_off(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """A single query the service keeps refusing is retried with backoff, not every tick."""
    fake.faults.append(Fault("envelope_error", endpoint=SINGLE, code=400, times=1_000))
    fake.speed = 0.0
    suno = await open_suno(poll=fast(miss_limit=1, max_backoff=1.0))
    clock = manual_clock(suno)
    (known,) = await start_songs(suno, 1)
    unknown = known.task_id + 1_000
    async with anyio.create_task_group() as group:
        group.start_soon(partial(suno.wait, [known, unknown], return_exceptions=True))
        await until(lambda: suno.stats.outstanding == 2)
        await clock.advance(30 * suno.watcher.policy.interval)
        group.cancel_scope.cancel()
    assert suno.stats.ticks >= 30
    # Backoff doubles from one interval: a handful of tries in 30 ticks, not one per tick.
    assert 2 <= fake.requests[SINGLE] <= 10
    assert suno.stats.poll_errors == fake.requests[SINGLE]


async def test_a_refused_key_fails_every_awaiter_at_once(
    fake: FakeSunoServer, suno: AsyncSuno, open_suno: OpenSuno
) -> None:
    """A key the service refuses fails every awaiter with AuthenticationError after one poll."""
    fake.speed = 0.0
    handles = await start_songs(suno, 3)
    ids = [h.task_id for h in handles]
    wrong = await open_suno(api_key="not-the-key")
    errors: list[BaseException] = []

    async def one(items: list[int]) -> None:
        with pytest.raises(AuthenticationError) as info:
            await wrong.wait(items)
        errors.append(info.value)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            for task_id in ids:
                group.start_soon(one, [task_id])
            group.start_soon(one, ids)
    assert len(errors) == 4
    assert all("API key was refused" in str(error) for error in errors)
    assert fake.requests[BATCH] == 1
    assert wrong.stats.poll_errors == 1
    assert wrong.stats.outstanding == 0


async def test_an_unreadable_result_fails_its_own_awaiters_only(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """A finished row whose extend is not JSON fails that task's song, not the others."""
    broken = await suno.generate(title="Broken", description="a song with a bad extend")
    fine = await suno.generate(title="Fine", description="a song with a good extend")
    fake.task(broken[0].task_id).call.extend = "{not json"
    with anyio.fail_after(10):
        results = await suno.wait([*broken, *fine], return_exceptions=True)
        tasks = await suno.wait([handle.task_id for handle in broken])
    for handle, result in zip(broken, results, strict=False):
        assert isinstance(result, UndecodableResponseError)
        assert f"task {handle.task_id}: its song result could not be read" in str(result)
    assert all(isinstance(result, Song) for result in results[2:])
    assert [task.extend for task in tasks] == ["{not json", "{not json"]
    assert suno.watcher.outstanding() == []
