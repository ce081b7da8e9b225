"""TaskWatcher over real HTTP: lifecycle, sharing, batching, pages, misses, timeouts, cancels."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import anyio
import pytest

from helpers import (
    BATCH,
    FAST_POLL,
    SINGLE,
    OpenSuno,
    Outcome,
    fast,
    manual_clock,
    sdk_tasks,
    start_songs,
    ticks_pass,
    until,
)
from suno_async import (
    AsyncSuno,
    NotFoundError,
    PollPolicy,
    SessionClosedError,
    Song,
    StatusChange,
    Task,
    TaskFailedError,
    TaskHandle,
    TaskKind,
    TaskStatus,
    WaitTimeoutError,
)
from suno_async.testing import FakeSunoServer, Fault, TaskPlan

pytestmark = pytest.mark.anyio

#: Long enough for several ticks of FAST_POLL to pass.
FEW_TICKS = 5 * FAST_POLL.interval


async def poll_for_ticks(suno: AsyncSuno, items: Sequence[Any], ticks: int) -> None:
    """Wait on ``items`` until ``ticks`` more ticks have started, then stop waiting."""
    target = suno.stats.ticks + ticks
    async with anyio.create_task_group() as group:
        group.start_soon(partial(suno.wait, items))
        await until(lambda: suno.stats.ticks >= target)
        group.cancel_scope.cancel()


async def finished_task(suno: AsyncSuno, fake: FakeSunoServer) -> int:
    """
    A task that has already succeeded, never waited on: the first wait on it costs one tick
    of its own (later ones none, as the session then knows its end).
    """
    fake.plans.append(TaskPlan(queued_s=0.0, generating_s=0.0))
    first, _ = await suno.generate(title="Sentinel", description="a short jingle")
    return first.task_id


class Outcomes:
    """Runs awaiters in a task group and keeps what each returned or raised."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def run(self, name: str, fn: Callable[[], Awaitable[Any]]) -> None:
        try:
            self.values[name] = await fn()
        except Exception as exc:
            self.values[name] = exc


# --- lifecycle ----------------------------------------------------------------------------


async def test_session_that_never_waits_sends_no_poll(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """Nothing is polled and no loop runs until somebody waits, even with tasks started."""
    await anyio.sleep(FEW_TICKS)
    assert fake.total_requests == 0
    await suno.generate(title="Unwatched", description="a calm piano piece")
    await anyio.sleep(FEW_TICKS)
    assert fake.requests[BATCH] == fake.requests[SINGLE] == 0
    assert suno.stats.ticks == 0
    assert not suno.watcher.running
    assert sdk_tasks() == []


async def test_polling_stops_when_nothing_is_outstanding(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """Once every awaited task has resolved, the loop sleeps and sends nothing more."""
    clock = manual_clock(suno)
    fake.speed = 0.0
    handles = await start_songs(suno, 4)
    fake.advance(1_000)
    with anyio.fail_after(5):
        songs = await suno.wait(handles)  # polled at once: no clock to move
    assert [song.task_id for song in songs] == [h.task_id for h in handles]
    polls, ticks = fake.requests[BATCH], suno.stats.ticks
    await clock.advance(100 * FAST_POLL.interval)
    assert (fake.requests[BATCH], suno.stats.ticks) == (polls, ticks)
    assert suno.stats.outstanding == 0
    assert suno.watcher.running


async def test_aclose_fails_pending_awaiters_and_leaves_nothing_running(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """aclose() fails every pending awaiter with SessionClosedError naming its task id."""
    suno = await open_suno()
    fake.speed = 0.0
    a, b, c = await start_songs(suno, 3)
    outcomes = Outcomes()

    async def first_of(items: list[TaskHandle[Song]]) -> Song:
        async for song in suno.as_completed(items):
            return song
        raise AssertionError

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(outcomes.run, "handle", a.wait)
            group.start_soon(outcomes.run, "wait", partial(suno.wait, [b.task_id, a]))
            group.start_soon(outcomes.run, "as_completed", partial(first_of, [c]))
            await ticks_pass(suno, 2)
            await suno.aclose()
    expected = {"handle": a.task_id, "wait": b.task_id, "as_completed": c.task_id}
    for name, task_id in expected.items():
        error = outcomes.values[name]
        assert isinstance(error, SessionClosedError), name
        assert error.task_id == task_id
        assert f"task {task_id}" in str(error)
        assert error.last_status in {TaskStatus.QUEUED, TaskStatus.GENERATING}
    assert sdk_tasks() == []
    polls = fake.requests[BATCH]
    await anyio.sleep(FEW_TICKS)
    assert fake.requests[BATCH] == polls
    with pytest.raises((RuntimeError, SessionClosedError), match="closed"):
        await a.wait()


async def test_leaving_the_context_fails_pending_awaiters(fake: FakeSunoServer) -> None:
    """Leaving ``async with`` while others still wait ends their waits instead of hanging."""
    fake.speed = 0.0
    outcomes = Outcomes()
    with anyio.fail_after(5):
        async with (
            anyio.create_task_group() as group,
            AsyncSuno(fake.api_key, base_url=fake.url, poll=FAST_POLL, rate_limit=None) as suno,
        ):
            handles = await start_songs(suno, 2)
            for handle in handles:
                group.start_soon(outcomes.run, str(handle.task_id), handle.wait)
            await until(lambda: suno.stats.outstanding == 2)
    for handle in handles:
        error = outcomes.values[str(handle.task_id)]
        assert isinstance(error, SessionClosedError)
        assert error.task_id == handle.task_id
    assert sdk_tasks() == []


async def test_status_changes_end_when_the_session_closes(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """A status_changes() iteration ends when the session closes instead of hanging."""
    suno = await open_suno()
    fake.speed = 0.0
    (handle,) = await start_songs(suno, 1)
    seen: list[StatusChange] = []

    async def follow() -> None:
        async for change in suno.status_changes():
            seen.append(change)  # noqa: PERF401 (the test reads it meanwhile)

    outcomes = Outcomes()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(follow)
            group.start_soon(outcomes.run, "song", handle.wait)
            await until(lambda: len(seen) == 1)
            await suno.aclose()
    assert (seen[0].task_id, seen[0].old) == (handle.task_id, None)
    assert isinstance(outcomes.values["song"], SessionClosedError)
    with anyio.fail_after(1):
        assert [change async for change in suno.status_changes()] == []


async def test_a_task_is_collected_by_plain_id_from_a_new_session(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """Ids from a closed session are awaited by plain id from a new one: resume after restart."""
    fake.speed = 0.0
    first = await open_suno()
    handles = await start_songs(first, 2)
    ids = [h.task_id for h in handles]
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(partial(first.wait, handles, return_exceptions=True))
            await ticks_pass(first, 1)
            await first.aclose()
    fake.advance(1_000)
    second = await open_suno()
    tasks = await second.wait(ids, timeout=10)
    assert [task.id for task in tasks] == ids
    assert all(t.status is TaskStatus.SUCCEEDED for t in tasks)
    song = await second.handle(ids[1], TaskKind.SONG).wait(timeout=10)
    assert isinstance(song, Song)
    assert song.task_id == ids[1]
    assert song.id == tasks[1].custom_id
    assert sorted([task.id async for task in second.as_completed(ids, timeout=10)]) == ids


# --- waiting --------------------------------------------------------------------------------


async def test_awaiters_of_one_id_share_one_entry(fake: FakeSunoServer, suno: AsyncSuno) -> None:
    """Four awaiters of one id make one entry, polled once per tick."""
    fake.speed = 0.0
    (handle,) = await start_songs(suno, 1)
    outcomes = Outcomes()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(outcomes.run, "handle", handle.wait)
            group.start_soon(outcomes.run, "both", partial(suno.wait, [handle, handle.task_id]))
            group.start_soon(outcomes.run, "watch", partial(suno.watch, handle.task_id))
            await ticks_pass(suno, 3)
            assert suno.watcher.outstanding() == [handle.task_id]
            fake.advance(1_000)
    song, (again, task), watched = (outcomes.values[k] for k in ("handle", "both", "watch"))
    assert isinstance(song, Song)
    assert song == again
    assert task.id == watched.id == handle.task_id
    assert set(fake.batch_sizes) == {1}
    assert fake.requests[BATCH] == suno.stats.batch_requests == suno.stats.ticks
    assert suno.stats.tasks_resolved == 1


async def test_wait_returns_results_in_the_order_given(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """Handles give typed results, plain ids give the Task, in the order they were passed."""
    handles = await start_songs(suno, 6)
    items: list[Any] = [handles[3], handles[0].task_id, handles[5], handles[1], handles[4].task_id]
    results = await suno.wait(items, timeout=10)
    for item, result in zip(items, results, strict=True):
        if isinstance(item, int):
            assert isinstance(result, Task)
            assert (result.id, result.status) == (item, TaskStatus.SUCCEEDED)
        else:
            assert isinstance(result, Song)
            assert result.task_id == item.task_id
    song = await handles[2].wait(timeout=10)
    assert song.task_id == handles[2].task_id


async def test_a_failed_task_raises_task_failed_error(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """
    A task ending in status 4 raises TaskFailedError with the service's reasons: both of
    the page's, or the one reason a live row carries.
    """
    english = "gen failed" if fake.dialect == "reference" else None
    fake.plans += [
        TaskPlan(generating_s=20.0),
        TaskPlan(generating_s=40.0, succeed=False, errormsg="生成失败", errormsg_en="gen failed"),
    ]
    ok, bad = await suno.generate(title="Doomed", description="a song that will fail")
    with pytest.raises(TaskFailedError) as info:
        await bad.wait(timeout=10)
    assert (info.value.task_id, info.value.errormsg, info.value.errormsg_en) == (
        bad.task_id,
        "生成失败",
        english,
    )
    assert f"task {bad.task_id} failed: {english or '生成失败'}" in str(info.value)
    with pytest.raises(TaskFailedError):
        await suno.wait([ok, bad], timeout=10)
    song, error = await suno.wait([ok, bad], timeout=10, return_exceptions=True)
    assert isinstance(song, Song)
    assert isinstance(error, TaskFailedError)
    assert error.task_id == bad.task_id


async def test_as_completed_yields_first_finished_first(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """as_completed follows the order the tasks finish in, not the order they were given."""
    fake.speed = 0.0
    fake.plans += [TaskPlan(queued_s=0.0, generating_s=s) for s in (300.0, 150.0, 450.0, 0.0)]
    handles = [
        *await suno.generate(title="One", description="a slow ballad"),
        *await suno.generate(title="Two", description="a fast punk song"),
    ]
    seen: list[int] = []

    async def collect() -> None:
        async for song in suno.as_completed(handles):
            seen.append(song.task_id)  # noqa: PERF401 (the test reads it meanwhile)

    # The clock moves only once the task finished last has been yielded: one finish per
    # step, however slowly the machine polls.
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(collect)
            for count in range(1, 4):
                await until(lambda: len(seen) == count)  # noqa: B023 (used before the next step)
                fake.advance(150.0)
    assert seen == [handles[i].task_id for i in (3, 1, 0, 2)]


async def test_as_completed_raises_a_failure_in_its_turn(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """A failure is raised (or yielded) in its turn, and leaving early releases the rest."""
    fake.speed = 0.0
    fake.plans += [
        TaskPlan(queued_s=0.0, generating_s=0.0),
        TaskPlan(queued_s=0.0, generating_s=100.0, succeed=False),
    ]
    fake.plans += [TaskPlan(generating_s=1e6), TaskPlan(generating_s=1e6)]
    done, failing = await suno.generate(title="Mixed", description="a song")
    slow = await suno.generate(title="Slow", description="a very long song")
    items = [*slow, failing, done]
    seen: list[Any] = []
    raised: list[TaskFailedError] = []

    async def consume() -> None:
        try:
            async for song in suno.as_completed(items):
                seen.append(song)  # noqa: PERF401 (kept as they come, before the failure raises)
        except TaskFailedError as exc:
            raised.append(exc)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(consume)
            await until(lambda: len(seen) == 1)  # the failing task ends only after this
            fake.advance(100.0)
    assert [song.task_id for song in seen] == [done.task_id]
    assert [error.task_id for error in raised] == [failing.task_id]
    assert suno.watcher.outstanding() == []
    with anyio.fail_after(10):
        stream = suno.as_completed([failing, done], return_exceptions=True)
        outcomes = [outcome async for outcome in stream]
    assert {type(o) for o in outcomes} == {Song, TaskFailedError}


async def test_as_completed_yields_an_id_given_twice_in_each_place(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """An id given as a handle and as a plain id is one entry, yielded once per place."""
    (handle,) = await start_songs(suno, 1)
    with anyio.fail_after(10):
        results = [r async for r in suno.as_completed([handle, handle.task_id, handle])]
    assert sorted(type(r).__name__ for r in results) == ["Song", "Song", "Task"]
    assert {getattr(r, "task_id", getattr(r, "id", None)) for r in results} == {handle.task_id}
    assert suno.watcher.outstanding() == []
    assert suno.stats.tasks_resolved == 1


# --- batching -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 7, 50, 51, 230])
@pytest.mark.parametrize(
    ("batch_size", "page_size"),
    [(100, 50), (10, 50), (100, 7)],
    ids=["page-smaller", "batch-smaller", "odd-page"],
)
async def test_each_tick_sends_ceil_due_over_batch_size(
    fake: FakeSunoServer, open_suno: OpenSuno, count: int, batch_size: int, page_size: int
) -> None:
    """Once the page size is known, every tick sends ceil(due / batch size) queries, no more."""
    fake.points = 1_000_000
    fake.max_page_size = page_size
    suno = await open_suno(poll=fast(batch_size=batch_size))
    sentinel = await finished_task(suno, fake)
    second_sentinel = await finished_task(suno, fake)
    fake.speed = 0.0
    handles = await start_songs(suno, count)

    # The first ticks learn the service's page size, if a query ever meets it.
    await poll_for_ticks(suno, handles, 2)
    await suno.watch(sentinel, timeout=5)
    size = page_size if min(count, batch_size) > page_size else batch_size
    assert suno.stats.batch_size == size

    fake.batch_sizes.clear()
    fake.requests.clear()
    before = suno.stats
    await poll_for_ticks(suno, handles, 3)
    await suno.watch(second_sentinel, timeout=5)
    after = suno.stats
    assert fake.batch_sizes.pop() == 1  # the sentinel's own tick, the last one
    ticks = after.ticks - before.ticks - 1
    per_tick = math.ceil(count / size)
    chunks = sorted([size] * (count // size) + ([count % size] if count % size else []))
    assert ticks >= 3
    assert len(fake.batch_sizes) == ticks * per_tick
    for tick in range(ticks):
        assert sorted(fake.batch_sizes[tick * per_tick : (tick + 1) * per_tick]) == chunks
    assert after.batch_requests - before.batch_requests == fake.requests[BATCH]
    assert fake.requests[SINGLE] == 0
    assert after.single_requests == before.single_requests

    # The tasks finish; the next wait collects every one of them in a single tick.
    fake.advance(10_000)
    before = suno.stats
    songs = await suno.wait(handles, timeout=10)
    assert [song.task_id for song in songs] == [h.task_id for h in handles]
    await until(lambda: suno.stats.last_tick_requests == per_tick)
    after = suno.stats
    assert after.ticks - before.ticks == 1
    assert after.batch_requests - before.batch_requests == per_tick
    assert after.tasks_resolved - before.tasks_resolved == count
    assert after.outstanding == 0


async def test_awaiters_arriving_between_ticks_join_the_next_one(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """New awaiters start no extra tick: they join the next one, an interval after the last."""
    suno = await open_suno(poll=fast(interval=0.2))
    fake.speed = 0.0
    handles = await start_songs(suno, 10)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(handles[0].wait)
            await ticks_pass(suno, 1)
            for handle in handles[1:]:
                group.start_soon(handle.wait)
            await until(lambda: suno.stats.outstanding == 10)
            assert suno.stats.ticks == 1
            await ticks_pass(suno, 1)
            fake.advance(1_000)
    assert fake.batch_sizes[:2] == [1, 10]
    assert suno.stats.tasks_resolved == 10


@pytest.mark.parametrize("returns_total", [True, False], ids=["total", "no-total"])
async def test_short_pages_are_followed_and_the_page_size_learnt(
    fake: FakeSunoServer, open_suno: OpenSuno, returns_total: bool
) -> None:
    """A page size below the batch size drops no row, and the watcher learns it."""
    fake.max_page_size = 6
    fake.batch_returns_total = returns_total
    suno = await open_suno(poll=fast(batch_size=40))
    handles = await start_songs(suno, 37)
    songs = await suno.wait(handles, timeout=10)
    assert [song.task_id for song in songs] == [h.task_id for h in handles]
    assert suno.stats.batch_size == 6
    # The first tick follows the short pages with the ids still missing ...
    assert fake.batch_sizes[:7] == [37, 31, 25, 19, 13, 7, 1]
    # ... and the later ones ask for no more than a page.
    assert all(size <= 6 for size in fake.batch_sizes[7:])
    assert fake.requests[BATCH] == suno.stats.batch_requests
    assert fake.requests[SINGLE] == 0


async def test_a_failed_later_page_keeps_the_rows_an_earlier_page_brought(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """Rows are applied page by page: a failed follow-up page costs only its own ids a tick."""
    fake.max_page_size = 2
    fake.plans.extend(TaskPlan(queued_s=0.0, generating_s=0.0) for _ in range(4))
    changes: list[StatusChange] = []
    suno = await open_suno(poll=fast(batch_size=4), on_status_change=changes.append)
    handles = await start_songs(suno, 4)
    fake.faults.append(Fault("500", endpoint=BATCH, after=1))
    songs = [song async for song in suno.as_completed(handles, timeout=10)]
    assert sorted(song.task_id for song in songs) == sorted(h.task_id for h in handles)
    # The first page's two rows count although the page after them failed (refused by a
    # fault, so not in batch_sizes): the next tick asks only for the two ids that page would have
    # brought, however long each tick took.
    assert fake.batch_sizes == [4, 2]
    assert fake.requests[BATCH] == 3
    finished = [change.task_id for change in changes if change.new is TaskStatus.SUCCEEDED]
    assert set(finished[:2]) == {h.task_id for h in handles[:2]}
    assert suno.stats.poll_errors == 1


@pytest.mark.parametrize("returns_total", [True, False], ids=["total", "no-total"])
async def test_unknown_ids_do_not_shrink_the_page_size(
    fake: FakeSunoServer, open_suno: OpenSuno, returns_total: bool
) -> None:
    """A page made short by ids the service does not know teaches no page size."""
    fake.batch_returns_total = returns_total
    suno = await open_suno(poll=fast(batch_size=40, miss_limit=2))
    handles = await start_songs(suno, 3)
    unknown = handles[-1].task_id + 1_000
    results = await suno.wait([*handles, unknown], timeout=10, return_exceptions=True)
    assert [type(r) for r in results] == [Song, Song, Song, NotFoundError]
    assert suno.stats.batch_size == 40


async def test_stats_match_the_servers_counters(fake: FakeSunoServer, suno: AsyncSuno) -> None:
    """The watcher's counters agree with what the server saw."""
    handles = await start_songs(suno, 20)
    await suno.wait(handles, timeout=10)
    await until(lambda: suno.stats.last_tick_requests == 1)
    stats = suno.stats
    assert stats.tasks_resolved == 20
    assert stats.outstanding == 0
    assert stats.batch_requests == fake.requests[BATCH] == stats.ticks  # 20 ids: one query
    assert stats.single_requests == fake.requests[SINGLE] == 0
    assert stats.requests == stats.batch_requests + stats.single_requests
    assert stats.poll_errors == 0
    assert suno.requests_sent == fake.total_requests


async def test_two_thousand_tasks_take_few_requests(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """Two thousand tasks resolve with a few dozen queries per tick, not one per task."""
    fake.points = 1_000_000
    suno = await open_suno(poll=fast(interval=0.05))
    with anyio.fail_after(15):
        handles = await start_songs(suno, 2_000)
        songs = await suno.wait(handles)
    assert [song.task_id for song in songs] == [h.task_id for h in handles]
    stats = suno.stats
    assert stats.tasks_resolved == 2_000
    assert stats.batch_size == fake.max_page_size
    assert stats.batch_requests == fake.requests[BATCH]
    assert fake.requests[SINGLE] == 0
    # At most one query per page of due ids per tick, plus the first tick's follow-ups.
    assert stats.batch_requests <= stats.ticks * math.ceil(2_000 / fake.max_page_size) + 20
    assert stats.requests * 20 <= 2_000 * stats.ticks


# --- ids the service leaves out ---------------------------------------------------------------


async def test_an_id_left_out_stays_pending_until_the_service_has_it(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """An id missing from the batch answers is not failed: it resolves once the service has it."""
    suno = await open_suno(poll=fast(miss_limit=1_000))
    _, last = await suno.generate(title="Before", description="a song")
    upcoming = last.task_id + 1  # the fake numbers its tasks in sequence
    outcomes = Outcomes()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(outcomes.run, "task", partial(suno.watch, upcoming))
            await ticks_pass(suno, 3)
            assert suno.watcher.outstanding() == [upcoming]
            fake.plans.append(TaskPlan(generating_s=0.0))
            created, _ = await suno.generate(title="After", description="a song")
            assert created.task_id == upcoming
    task = outcomes.values["task"]
    assert isinstance(task, Task)
    assert (task.id, task.status) == (upcoming, TaskStatus.SUCCEEDED)
    assert fake.requests[SINGLE] == 0


async def test_an_unknown_id_is_checked_singly_then_fails_not_found(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """After miss_limit misses an id gets one single query; unknown there, it fails clearly."""
    suno = await open_suno(poll=fast(miss_limit=3))
    fake.speed = 0.0
    (known,) = await start_songs(suno, 1)
    unknown = known.task_id + 1_000
    seen: list[Any] = []
    outcomes = Outcomes()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(outcomes.run, "other", known.wait)
            stream = suno.as_completed([known, unknown], return_exceptions=True)
            async for outcome in stream:
                seen.append(outcome)
                if isinstance(outcome, NotFoundError):
                    assert fake.batch_sizes[:3] == [2, 2, 2]
                    assert fake.requests[SINGLE] == 1
                    fake.advance(1_000)
    error, song = seen
    assert isinstance(error, NotFoundError)
    assert f"task {unknown} is unknown to the service" in str(error)
    assert isinstance(song, Song)
    assert song.task_id == known.task_id
    assert outcomes.values["other"] == song
    assert set(fake.batch_sizes[3:]) == {1}
    assert fake.requests[SINGLE] == 1
    with pytest.raises(NotFoundError, match=str(unknown)):
        await suno.watch(unknown, timeout=5)


# --- timeouts and cancellation ----------------------------------------------------------------


async def test_a_timeout_lists_pending_ids_and_stops_polling_them(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """
    WaitTimeoutError names the unfinished ids, at the deadline and not before; they are no
    longer polled, and later collected.
    """
    clock = manual_clock(suno)
    sentinel = await finished_task(suno, fake)
    fake.speed = 0.0
    handles = await start_songs(suno, 3)
    ids = [h.task_id for h in handles]

    async def iterate() -> None:
        async for _ in suno.as_completed(ids, timeout=0.1):
            pass

    waits: list[Callable[[], Awaitable[Any]]] = [partial(suno.wait, handles, timeout=0.1), iterate]
    for wait in waits:
        waited = Outcome()
        async with anyio.create_task_group() as group:
            group.start_soon(waited.run, wait)
            await until(lambda: suno.stats.outstanding == 3)
            await clock.advance(0.09)
            assert not waited.done.is_set()
            await clock.advance(0.02)
            with pytest.raises(WaitTimeoutError) as info:
                await waited.ended()
        assert info.value.pending == tuple(ids)
        assert all(str(task_id) in str(info.value) for task_id in ids)
        assert suno.stats.outstanding == 0

    watched = Outcome()
    async with anyio.create_task_group() as group:
        group.start_soon(watched.run, partial(suno.watch, sentinel))
        await until(lambda: watched.done.is_set() or suno.stats.outstanding == 1)
        await clock.advance(FAST_POLL.interval)
        await watched.ended()
    polls = fake.requests[BATCH]
    await clock.advance(FEW_TICKS)
    assert fake.requests[BATCH] == polls

    fake.advance(1_000)
    waited = Outcome()
    async with anyio.create_task_group() as group:
        group.start_soon(waited.run, partial(suno.wait, ids))
        await until(lambda: waited.done.is_set() or suno.stats.outstanding == 3)
        await clock.advance(FAST_POLL.interval)
        tasks = await waited.ended()
    assert [(t.id, t.status) for t in tasks] == [(i, TaskStatus.SUCCEEDED) for i in ids]


async def test_as_completed_yields_what_finished_before_its_deadline_then_times_out(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """The deadline covers the whole iteration; results in before it are still yielded."""
    done = await finished_task(suno, fake)
    fake.speed = 0.0
    stuck = (await start_songs(suno, 1))[0]
    clock = manual_clock(suno)
    got: list[int] = []

    async def collect() -> None:
        async for result in suno.as_completed([done, stuck.task_id], timeout=0.3):
            got.append(result.id)  # noqa: PERF401 (kept as they come, up to the timeout)

    collected = Outcome()
    async with anyio.create_task_group() as group:
        group.start_soon(collected.run, collect)
        await until(lambda: got == [done])  # polled at once: no clock to move
        await clock.advance(0.29)
        assert not collected.done.is_set()
        await clock.advance(0.02)
        with pytest.raises(WaitTimeoutError) as info:
            await collected.ended()
    assert got == [done]
    assert info.value.pending == (stuck.task_id,)
    assert suno.stats.outstanding == 0


async def test_a_timeout_leaves_other_awaiters_polling(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """One awaiter's timeout does not stop the polling of an id another awaiter still wants."""
    clock = manual_clock(suno)
    fake.speed = 0.0
    a, b = await start_songs(suno, 2)
    outcomes = Outcomes()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(outcomes.run, "a", a.wait)
            await until(lambda: suno.stats.outstanding == 1)
            group.start_soon(outcomes.run, "both", partial(suno.wait, [a, b], timeout=0.1))
            await until(lambda: suno.stats.outstanding == 2)
            await clock.advance(0.11)
            await until(lambda: "both" in outcomes.values)
            error = outcomes.values["both"]
            assert isinstance(error, WaitTimeoutError)
            assert error.pending == (a.task_id, b.task_id)
            assert suno.watcher.outstanding() == [a.task_id]
            mark = len(fake.batch_sizes)
            await clock.advance(3 * FAST_POLL.interval)
            assert len(fake.batch_sizes[mark:]) >= 2
            assert set(fake.batch_sizes[mark:]) == {1}
            fake.advance(1_000)
            await clock.advance(FAST_POLL.interval)
    assert outcomes.values["a"].task_id == a.task_id


async def test_cancelled_awaiters_leave_the_others_undisturbed(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """Cancelled awaiters release their ids; ids still awaited by others keep being polled."""
    fake.speed = 0.0
    a, b, c, d = await start_songs(suno, 4)
    outcomes = Outcomes()

    async def drain(items: list[TaskHandle[Song]]) -> None:
        async for _ in suno.as_completed(items):
            pass

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(outcomes.run, "ab", partial(suno.wait, [a, b]))
            async with anyio.create_task_group() as doomed:
                doomed.start_soon(a.wait)
                doomed.start_soon(c.wait)
                doomed.start_soon(partial(suno.wait, [c, a]))
                doomed.start_soon(drain, [c, b])
                await ticks_pass(suno, 2)
                assert sorted(suno.watcher.outstanding()) == [a.task_id, b.task_id, c.task_id]
                doomed.cancel_scope.cancel()
            with anyio.move_on_after(2 * FAST_POLL.interval):
                await d.wait()
            assert sorted(suno.watcher.outstanding()) == [a.task_id, b.task_id]
            await ticks_pass(suno, 1)
            mark = len(fake.batch_sizes)
            await ticks_pass(suno, 3)
            assert fake.batch_sizes[mark:]
            assert set(fake.batch_sizes[mark:]) == {2}
            fake.advance(1_000)
    songs = outcomes.values["ab"]
    assert [song.task_id for song in songs] == [a.task_id, b.task_id]
    assert suno.stats.tasks_resolved == 2


# --- status changes -------------------------------------------------------------------------


async def test_status_changes_reach_callback_and_iterator_without_extra_requests(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """Callback and status_changes() both see queued, generating, succeeded from the polls."""
    from_callback: list[StatusChange] = []
    suno = await open_suno(on_status_change=from_callback.append)
    fake.speed = 0.0
    fake.plans += [TaskPlan(queued_s=100.0, generating_s=100.0) for _ in range(2)]
    handle, _ = await suno.generate(title="Progress", description="a song")
    from_iterator: list[StatusChange] = []

    async def follow() -> None:
        async for change in suno.status_changes():
            from_iterator.append(change)  # noqa: PERF401 (the test reads it meanwhile)

    def statuses(changes: list[StatusChange]) -> list[tuple[TaskStatus | None, TaskStatus]]:
        return [(change.old, change.new) for change in changes]

    outcomes = Outcomes()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(follow)
            group.start_soon(outcomes.run, "song", handle.wait)
            await until(lambda: len(from_iterator) == 1)
            fake.advance(150.0)
            await until(lambda: len(from_iterator) == 2)
            fake.advance(100.0)
            await until(lambda: "song" in outcomes.values)
            group.cancel_scope.cancel()
    expected = [
        (None, TaskStatus.QUEUED),
        (TaskStatus.QUEUED, TaskStatus.GENERATING),
        (TaskStatus.GENERATING, TaskStatus.SUCCEEDED),
    ]
    assert statuses(from_callback) == statuses(from_iterator) == expected
    assert all(change.task_id == handle.task_id for change in from_callback)
    assert isinstance(outcomes.values["song"], Song)
    assert fake.requests[BATCH] == suno.stats.batch_requests == suno.stats.ticks
    assert fake.requests[SINGLE] == 0
    assert len(suno.watcher._listeners) == 1  # the iterator unsubscribed when cancelled


@pytest.mark.parametrize("listen_after", [0, 1], ids=["first-answer", "a-step"])
async def test_a_late_listener_hears_the_status_the_task_really_had(
    fake: FakeSunoServer, open_suno: OpenSuno, listen_after: int
) -> None:
    """
    Statuses nobody listens to (the first answer, a step) are still recorded, so a late
    listener gets the true old one.
    """
    suno = await open_suno()
    fake.speed = 0.0
    fake.plans += [TaskPlan(queued_s=100.0, generating_s=100.0) for _ in range(2)]
    handle, _ = await suno.generate(title="Progress", description="a song")
    steps = [150.0, 100.0]  # queued -> generating -> succeeded
    changes = [
        (TaskStatus.QUEUED, TaskStatus.GENERATING),
        (TaskStatus.GENERATING, TaskStatus.SUCCEEDED),
    ]
    heard: list[StatusChange] = []
    outcomes = Outcomes()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(outcomes.run, "song", handle.wait)
            await ticks_pass(suno, 2)
            for step in steps[:listen_after]:
                fake.advance(step)
                await ticks_pass(suno, 2)
            suno.watcher.add_listener(heard.append)
            for step in steps[listen_after:-1]:
                fake.advance(step)
                await ticks_pass(suno, 2)
            fake.advance(steps[-1])
            await until(lambda: "song" in outcomes.values)
    assert [(c.old, c.new) for c in heard] == changes[listen_after:]
    assert isinstance(outcomes.values["song"], Song)


async def test_a_raising_listener_stays_subscribed_and_spoils_nothing(
    fake: FakeSunoServer, suno: AsyncSuno, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener that raises is logged, keeps its subscription, and the waits still resolve."""
    calls: list[StatusChange] = []

    def broken(change: StatusChange) -> None:
        calls.append(change)
        raise RuntimeError

    remove = suno.watcher.add_listener(broken)
    handles = await start_songs(suno, 2)
    songs = await suno.wait(handles, timeout=10)
    assert len(songs) == 2
    last = {change.task_id: change.new for change in calls}
    assert last == {h.task_id: TaskStatus.SUCCEEDED for h in handles}
    assert "listener raised" in caplog.text
    remove()
    count = len(calls)
    await suno.wait(await start_songs(suno, 2), timeout=10)
    assert len(calls) == count


# --- first poll -----------------------------------------------------------------------------


async def test_new_songs_are_not_polled_before_they_can_be_done(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """A song started now is first asked about only after its kind's first-poll delay."""
    policy = PollPolicy(interval=0.02, first_poll={TaskKind.SONG: 0.3})
    suno = await open_suno(poll=policy)
    clock = manual_clock(suno)
    handles = await start_songs(suno, 2)
    fake.advance(1_000)
    waited = Outcome()
    async with anyio.create_task_group() as group:
        group.start_soon(waited.run, partial(suno.wait, handles))
        await until(lambda: suno.stats.outstanding == 2)
        await clock.advance(0.29)
        assert fake.requests[BATCH] == 0
        await clock.advance(0.02)
        songs = await waited.ended()
    assert [song.task_id for song in songs] == [h.task_id for h in handles]
    assert fake.requests[BATCH] == 1


async def test_first_poll_counts_from_the_start_of_the_task(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """
    A handle whose task started its first-poll delay ago, or a saved id, is polled at once;
    one started just now is not. A delay of a minute tells "at once" from "later" with no
    race against a loaded machine.
    """
    policy = PollPolicy(interval=0.02, first_poll={TaskKind.SONG: 60.0})
    suno = await open_suno(poll=policy)
    new, other = await start_songs(suno, 2)
    fake.advance(1_000)
    with pytest.raises(WaitTimeoutError):
        await new.wait(timeout=0.1)
    assert fake.requests[BATCH] == fake.requests[SINGLE] == 0
    assert new.started_at is not None
    old = suno.handle(new.task_id, TaskKind.SONG, started_at=new.started_at - 60.0)
    with anyio.fail_after(5):
        song = await old.wait()
    assert song.task_id == new.task_id
    with anyio.fail_after(5):
        saved = await suno.handle(other.task_id, TaskKind.SONG).wait()
    assert saved.task_id == other.task_id


async def test_a_start_time_ahead_of_the_clock_waits_no_longer_than_a_new_task(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """A saved start an hour ahead (another machine's clock) is first polled as a new task."""
    suno = await open_suno(poll=PollPolicy(interval=0.02, first_poll={TaskKind.SONG: 0.1}))
    (started, _) = await start_songs(suno, 2)
    ahead = suno.handle(started.task_id, TaskKind.SONG, started_at=time.time() + 3_600)
    with anyio.fail_after(5):
        song = await ahead.wait()
    assert song.task_id == started.task_id


async def test_the_stall_clock_starts_at_the_first_poll(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """Waiting out its first poll is no sign of a stuck task: it is asked about, then read."""
    policy = PollPolicy(interval=0.02, stall_timeout=0.2, first_poll={TaskKind.SONG: 0.6})
    suno = await open_suno(poll=policy)
    handles = await start_songs(suno, 2)
    with anyio.fail_after(5):
        songs = await suno.wait(handles)
    assert [song.task_id for song in songs] == [h.task_id for h in handles]
    assert fake.requests[BATCH] >= 1


def test_batch_size_is_bounded_by_url_length() -> None:
    """A batch larger than a request line can carry is refused when the policy is built."""
    PollPolicy(batch_size=1_000)
    with pytest.raises(ValueError, match="batch_size: is at most 1000"):
        PollPolicy(batch_size=1_001)
