"""A task whose final state the session has seen is answered from memory, with no request."""

from __future__ import annotations

import anyio
import pytest

from helpers import OpenSuno, start_songs
from suno_async import StatusChange, TaskFailedError, TaskStatus
from suno_async.testing import FakeSunoServer

pytestmark = pytest.mark.anyio


async def test_a_wait_after_status_changes_ended_sends_nothing(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """handle.wait(), suno.wait, watch and as_completed after the stream saw the end: no poll."""
    fake.speed = 0.0
    suno = await open_suno(poll=fake.poll_policy())
    (handle,) = (await start_songs(suno, 1))[:1]
    seen: list[StatusChange] = []
    with anyio.fail_after(5):
        async with handle.status_changes() as stream:
            fake.finish(handle.task_id)
            seen.extend([change async for change in stream])
    assert seen[-1].new is TaskStatus.SUCCEEDED
    requests, ticks = fake.total_requests, suno.stats.ticks
    with anyio.fail_after(1):
        song = await handle.wait()
        again = await suno.wait([handle, handle.task_id])
        watched = await suno.watch(handle.task_id)
        streamed = [task async for task in suno.as_completed([handle])]
    assert song.task_id == again[0].task_id == watched.id == streamed[0].task_id
    assert again[1].id == handle.task_id
    assert fake.total_requests == requests
    assert suno.stats.ticks == ticks
    assert suno.watcher.outstanding() == []


async def test_a_failed_task_seen_failing_fails_again_from_memory(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """A task seen failing raises TaskFailedError on the next wait, sending no request."""
    fake.speed = 0.0
    suno = await open_suno(poll=fake.poll_policy())
    (handle,) = (await start_songs(suno, 1))[:1]
    fake.finish(handle.task_id, succeed=False, errormsg="content refused")
    with anyio.fail_after(5):
        (first,) = await suno.wait([handle], return_exceptions=True)
    assert isinstance(first, TaskFailedError)
    requests = fake.total_requests
    with anyio.fail_after(1), pytest.raises(TaskFailedError):
        await handle.wait()
    assert fake.total_requests == requests
