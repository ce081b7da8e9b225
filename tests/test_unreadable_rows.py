"""
Rows nobody can read: get_tasks names them, a wait on one ends in two readings, and a body
cut short is still the transport's to retry. Both dialects, over real HTTP to the fake.
"""

from __future__ import annotations

import logging

import anyio
import pytest

from helpers import BATCH, SINGLE, start_songs
from suno_async import AsyncSuno, Song, UndecodableResponseError
from suno_async.testing import FakeSunoServer, Fault

pytestmark = pytest.mark.anyio


async def _finished_ids(suno: AsyncSuno, count: int) -> list[int]:
    handles = await start_songs(suno, count)
    await suno.wait(handles, timeout=10)
    return [handle.task_id for handle in handles]


async def test_get_tasks_raises_on_a_row_it_cannot_read_naming_its_id(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """The id was answered: it is neither left out nor taken for an unknown one."""
    fine, bad = await _finished_ids(suno, 2)
    fake.faults.append(Fault("unreadable_row", endpoint=BATCH, task_ids=(bad,)))
    with pytest.raises(UndecodableResponseError) as caught:
        await suno.get_tasks([fine, bad])
    message = str(caught.value)
    assert f"task {bad}: the row could not be read" in message
    assert str(fine) not in message
    assert "'mystery'" in caught.value.snippet
    assert caught.value.snippet in message
    assert len(caught.value.snippet) <= 200
    assert fake.faults_injected["unreadable_row"] == 1
    # Asked again once the service reads well: every id is there.
    assert [task.id for task in await suno.get_tasks([fine, bad])] == [fine, bad]


async def test_get_tasks_leaves_out_only_an_id_the_service_does_not_answer(
    suno: AsyncSuno,
) -> None:
    """An id never answered is an unknown id, left out, as before."""
    [known] = await _finished_ids(suno, 1)
    assert [task.id for task in await suno.get_tasks([known, 987_654])] == [known]


async def test_get_tasks_raises_on_a_row_with_no_readable_id_naming_the_ids_left(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """A row that names no task may answer any id left: those ids are named, not dropped."""
    fine, bad = await _finished_ids(suno, 2)
    fake.faults.append(Fault("anonymous_row", endpoint=BATCH, task_ids=(bad,)))
    with pytest.raises(UndecodableResponseError) as caught:
        await suno.get_tasks([fine, bad])
    message = str(caught.value)
    assert f"no readable task id, which may answer task(s) {bad}," in message
    assert "'n/a'" in caught.value.snippet
    assert len(caught.value.snippet) <= 200


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
async def test_get_tasks_retries_a_body_cut_or_garbled(
    fake: FakeSunoServer, suno: AsyncSuno, kind: str
) -> None:
    """Not valid JSON is no row at all: the transport asks again, and every id comes."""
    ids = await _finished_ids(suno, 2)
    fake.faults.append(Fault(kind, endpoint=BATCH))
    before = fake.requests[BATCH]
    assert [task.id for task in await suno.get_tasks(ids)] == ids
    assert fake.faults_injected[kind] == 1
    assert fake.requests[BATCH] >= before + 2


async def test_a_wait_on_an_unreadable_row_ends_at_its_second_reading(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """Its awaiters alone get the error, at once; the other id of the batch resolves."""
    fine, bad = await start_songs(suno, 2)
    fake.faults.append(Fault("unreadable_row", endpoint=BATCH, rate=1.0, task_ids=(bad.task_id,)))
    with anyio.fail_after(5):
        failed = await suno.wait([bad], return_exceptions=True)
        polls = fake.requests[BATCH]
        done = await suno.wait([fine, bad], return_exceptions=True)
    [error] = failed
    assert isinstance(error, UndecodableResponseError)
    assert f"task {bad.task_id}: its row, answered 2 times in a row," in str(error)
    assert "'mystery'" in error.snippet
    assert error.snippet in str(error)
    assert polls <= 3  # the second reading, not minutes of backoff
    assert fake.requests[SINGLE] == 0
    assert isinstance(done[0], Song)
    assert isinstance(done[1], UndecodableResponseError)  # read again: unreadable again
    assert suno.watcher.outstanding() == []


async def test_one_unreadable_reading_then_a_readable_one_resolves(
    fake: FakeSunoServer, suno: AsyncSuno
) -> None:
    """Two in a row end a wait: one alone, as a row caught half-written, does not."""
    handles = await start_songs(suno, 2)
    fake.faults.append(Fault("unreadable_row", endpoint=BATCH, task_ids=(handles[0].task_id,)))
    with anyio.fail_after(10):
        songs = await suno.wait(handles)
    assert [song.task_id for song in songs] == [h.task_id for h in handles]
    assert fake.faults_injected["unreadable_row"] == 1


async def test_a_row_with_no_readable_id_is_warned_of_once_and_its_wait_still_ends(
    fake: FakeSunoServer, suno: AsyncSuno, caplog: pytest.LogCaptureFixture
) -> None:
    """
    Unattributable in a batch: one WARNING with a snippet, the id asked about alone, where
    the answer is its own, and its wait ends; the other id resolves.
    """
    fine, bad = await start_songs(suno, 2)
    fake.faults.append(Fault("anonymous_row", rate=1.0, task_ids=(bad.task_id,)))
    with caplog.at_level(logging.DEBUG, logger="suno_async.watcher"), anyio.fail_after(10):
        song, error = await suno.wait([fine, bad], return_exceptions=True)
    assert isinstance(song, Song)
    assert isinstance(error, UndecodableResponseError)
    assert "'n/a'" in error.snippet
    assert fake.requests[SINGLE] >= 2
    warned = [
        r for r in caplog.records if r.levelno == logging.WARNING and "no readable task id" in r.msg
    ]
    assert len(warned) == 1
    assert "n/a" in warned[0].getMessage()
    assert suno.watcher.outstanding() == []
