"""The public API a newcomer expects: keyword options, typed handles, one way to listen."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

import suno_async
from helpers import OpenSuno, start_songs, until
from suno_async import (
    AsyncSuno,
    PollPolicy,
    Song,
    StatusChange,
    StatusChanges,
    TaskKind,
    TaskStatus,
    WaitTimeoutError,
)
from suno_async.testing import FakeSunoServer

pytestmark = pytest.mark.anyio

UUID = "0f65a62b-3c55-4af6-8353-56be806b93d2"

#: Each call with its options passed by position, as they could be swapped unnoticed.
POSITIONAL: list[tuple[str, Callable[[Any], Awaitable[object]]]] = [
    ("video", lambda s: s.video(199824, UUID)),
    ("convert_wav", lambda s: s.convert_wav(199824, UUID)),
    ("crop", lambda s: s.crop(UUID, 10, 0)),
    ("speed", lambda s: s.speed(UUID, 2)),
    ("remaster", lambda s: s.remaster(UUID, "chirp-carp")),
    ("aligned_lyrics", lambda s: s.aligned_lyrics("la la", UUID)),
]


@pytest.mark.parametrize("call", [c[1] for c in POSITIONAL], ids=[c[0] for c in POSITIONAL])
async def test_options_are_keyword_only(
    suno: AsyncSuno, fake: FakeSunoServer, call: Callable[[Any], Awaitable[object]]
) -> None:
    """Options that could be swapped must be named: passed by position, nothing is sent."""
    with pytest.raises(TypeError, match="positional argument"):
        await call(suno)
    assert fake.total_requests == 0


def test_task_watcher_is_not_exported() -> None:
    """The watcher is reached through the session only; its class is not public API."""
    assert not hasattr(suno_async, "TaskWatcher")
    assert "TaskWatcher" not in suno_async.__all__


async def test_a_rebuilt_handle_keeps_its_start_time(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """A handle rebuilt with its saved started_at waits out its first poll; an old one does not."""
    fake.speed = 0.0
    policy = PollPolicy(interval=0.02, first_poll={TaskKind.SONG: 60.0})
    starter = await open_suno(poll=policy)
    (handle,) = await start_songs(starter, 1)
    assert handle.started_at is not None
    assert abs(handle.started_at - time.time()) < 5
    fake.finish(handle.task_id)

    later = await open_suno(poll=policy)
    fresh = later.handle(handle.task_id, TaskKind.SONG, started_at=handle.started_at)
    fake.requests.clear()
    with pytest.raises(WaitTimeoutError):
        await fresh.wait(timeout=0.2)
    assert fake.requests["GET /music/tasks"] == 0

    old = later.handle(handle.task_id, TaskKind.SONG, started_at=time.time() - 61)
    with anyio.fail_after(5):
        song = await old.wait()
    assert isinstance(song, Song)
    assert song.task_id == handle.task_id


async def test_status_changes_listen_from_the_call(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """Changes between status_changes() and the first iteration are kept, not lost."""
    changes = suno.status_changes()
    assert isinstance(changes, StatusChanges)
    handles = await suno.generate(title="t", description="d")
    with anyio.fail_after(5):
        await suno.wait(handles)
    seen: list[StatusChange] = []
    async with changes:
        with anyio.fail_after(5):
            async for change in changes:
                seen.append(change)
                if sum(c.new is TaskStatus.SUCCEEDED for c in seen) == len(handles):
                    break
    assert {c.task_id for c in seen} == {h.task_id for h in handles}
    assert all(c.new is TaskStatus.SUCCEEDED for c in seen[-2:])
    assert suno.watcher._listeners == []


async def test_a_handle_follows_its_own_task(fake: FakeSunoServer, open_suno: OpenSuno) -> None:
    """handle.status_changes() gives that task's changes only, watching it, and then ends."""
    fake.speed = 0.0
    suno = await open_suno(poll=fake.poll_policy())
    mine, other = await start_songs(suno, 2)
    stream = mine.status_changes()  # listening, and the task watched, from here
    seen: list[StatusChange] = []

    async def finish_later() -> None:
        await until(lambda: suno.stats.ticks >= 1)
        fake.finish(other.task_id)
        fake.finish(mine.task_id)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(finish_later)
            async with stream:
                seen.extend([change async for change in stream])
    assert [c.task_id for c in seen] == [mine.task_id] * len(seen)
    assert seen[-1].new is TaskStatus.SUCCEEDED
    assert seen[0].old is None
    song = await mine.wait()
    assert song.task_id == mine.task_id
    assert suno.watcher._listeners == []


async def test_a_stream_made_after_close_ends_at_once(open_suno: OpenSuno) -> None:
    """A stream of a closed session, or one closed by hand, ends without waiting."""
    suno = await open_suno()
    stream = suno.status_changes()
    stream.close()
    with anyio.fail_after(1):
        assert [change async for change in stream] == []
    await suno.aclose()
    with anyio.fail_after(1):
        assert [change async for change in suno.status_changes()] == []


async def test_a_task_stream_of_a_closed_session_ends_quietly(open_suno: OpenSuno) -> None:
    """A task's stream whose session closes ends, with no error left unretrieved."""
    suno = await open_suno()
    (handle,) = await start_songs(suno, 1)
    stream = handle.status_changes()
    await suno.aclose()
    with anyio.fail_after(2):
        async with stream:
            assert [change async for change in stream] == []
