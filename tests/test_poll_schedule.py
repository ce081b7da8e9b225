"""The watcher within the budget: full pages, least recently asked first, none starving."""

from __future__ import annotations

import anyio
import pytest

from helpers import OpenSuno, fast, start_songs, until
from suno_async import RateLimit
from suno_async.testing import FakeSunoServer

pytestmark = pytest.mark.anyio

#: 50 ids in pages of 5, at 40 requests a second and a tick every 50 ms: 2 pages a tick.
POLICY = fast(batch_size=5, interval=0.05)
BUDGET = RateLimit(per_minute=2400, burst=2)
PAGES, PER_TICK = 10, 2


async def test_a_small_budget_asks_about_every_id_in_turn_in_full_pages(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """Each run of PAGES queries asks about all 50 ids once; no id waits longer."""
    fake.points = 1_000_000
    suno = await open_suno(poll=POLICY, rate_limit=BUDGET)
    fake.speed = 0.0
    handles = await start_songs(suno, 50)
    ids = {str(h.task_id) for h in handles}
    fake.batch_ids.clear()
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(suno.wait, handles)
            await until(lambda: len(fake.batch_ids) >= 4 * PAGES, timeout=30)
            group.cancel_scope.cancel()
    queries = fake.batch_ids[: 4 * PAGES]
    assert all(len(query) == 5 for query in queries)
    for start in range(0, len(queries), PAGES):
        asked = [task_id for query in queries[start : start + PAGES] for task_id in query]
        assert sorted(asked) == sorted(ids)  # every id once per rotation
    last: dict[str, int] = {}
    for index, query in enumerate(queries):
        for task_id in query:
            if task_id in last:
                assert index - last[task_id] <= PAGES
            last[task_id] = index
    stats = suno.stats
    assert stats.last_tick_requests <= PER_TICK
    assert stats.poll_period == pytest.approx(POLICY.interval * PAGES / PER_TICK)
    assert stats.budget_per_minute == BUDGET.per_minute


async def test_a_wait_with_a_timeout_is_asked_about_before_its_turn(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """The id just asked about, waited on with a timeout, is asked again within a tick."""
    fake.points = 1_000_000
    suno = await open_suno(poll=POLICY, rate_limit=BUDGET)
    fake.speed = 0.0
    handles = await start_songs(suno, 50)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(suno.wait, handles)
            await until(lambda: len(fake.batch_ids) >= 2 * PAGES, timeout=30)
            just_asked = fake.batch_ids[-1][0]
            seen = len(fake.batch_ids)
            group.start_soon(lambda: suno.wait([int(just_asked)], timeout=20))
            await until(lambda: len(fake.batch_ids) >= seen + 2 * PER_TICK, timeout=30)
            group.cancel_scope.cancel()
    soon = [task_id for query in fake.batch_ids[seen : seen + 2 * PER_TICK] for task_id in query]
    assert just_asked in soon


async def test_ids_never_asked_about_come_before_the_rotation(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """Songs started while 50 others rotate are asked about within a tick of being due."""
    fake.points = 1_000_000
    suno = await open_suno(poll=POLICY, rate_limit=BUDGET)
    fake.speed = 0.0
    handles = await start_songs(suno, 50)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(suno.wait, handles)
            await until(lambda: len(fake.batch_ids) >= 2 * PAGES, timeout=30)
            newcomers = await start_songs(suno, 4)
            seen = len(fake.batch_ids)
            group.start_soon(suno.wait, newcomers)
            await until(lambda: len(fake.batch_ids) >= seen + 2 * PER_TICK, timeout=30)
            group.cancel_scope.cancel()
    soon = {task_id for query in fake.batch_ids[seen : seen + 2 * PER_TICK] for task_id in query}
    assert {str(h.task_id) for h in newcomers} <= soon
