"""
The one stored real answer of the live service, served over HTTP and read end to end.

``SAMPLE`` is the task query answer recorded in the live service notes, verbatim; only its
``"media_urls": [...]`` (not JSON once ``extend`` is decoded) is given a made-up, well-formed
list. Its variants change one field each: a failed task's reason, a ``status_code``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from aiohttp import web

from helpers import FAST_POLL, FAST_RETRY, KEY, serve
from suno_async import AsyncSuno, Song, Task, TaskFailedError, TaskKind, TaskStatus

pytestmark = pytest.mark.anyio

TASK_ID = 139434909
ROW_ID = 2623250

SAMPLE = r"""{"code": 200, "message": "success", "data": {
  "id": 2623250,
  "task_id": "139434909",
  "status": "completed",
  "error": null,
  "points_cost": 18,
  "points_refunded": false,
  "result": {
    "id": 139434909,
    "status": 3,
    "custom_id": "4852c1a7-0000-4000-8000-377ee9ebdefa",
    "errormsg": null,
    "proxy_url": "https://proxy.example/api/v2/proxy/resource?url=...&expires=1790052868&token=...",
    "fileInfo": {"width": 1024, "height": 1024, "size": 5632639, "duration": 152.4,
                 "mp4Url": "", "mp3Url": "http://cdn.example/4852c1a7-....m4a",
                 "cosUrl": "https://img.example/image_4852c1a7-....jpeg",
                 "bigUrl": "https://img.example/image_4852c1a7-....jpeg",
                 "thumbImg": "https://img.example/image_...jpeg?imageView2/2/w/1200",
                 "filename": "1790049216793"},
    "extend": "[{\"id\": \"4852c1a7-...\", \"status\": \"complete\", \"title\": \"Summer Breeze\", \"audio_url\": \"http://cdn.example/4852c1a7-....m4a\", \"image_url\": \"...\", \"image_large_url\": \"...\", \"video_url\": \"\", \"media_urls\": [\"https://cdn.example/encrypted-4852c1a7.m4a\"], \"model_name\": \"chirp-hawk\", \"major_model_version\": \"v6\", \"metadata\": {\"tags\": \"...\", \"prompt\": \"[Verse 1]...\", \"gpt_description_prompt\": \"...\", \"duration\": 152.4, \"make_instrumental\": false}, \"created_at\": \"2026-09-22T03:52:50.293Z\"}]"
  }
}}"""  # noqa: E501 - kept as recorded

AUDIO = "http://cdn.example/4852c1a7-....m4a"
COVER = "https://img.example/image_4852c1a7-....jpeg"


def sample() -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(SAMPLE)
    return answer


def failed(reason_key: str) -> dict[str, Any]:
    """The sample as a failed task, its reason under ``reason_key`` only."""
    answer = sample()
    row = answer["data"]
    row["status"], row["result"]["status"] = "failed", 4
    row["result"]["fileInfo"] = row["result"]["extend"] = None
    row[reason_key] = "生成失败: the lyrics broke a content rule"
    return answer


def with_status_code() -> dict[str, Any]:
    """A flat variant: a word and a status_code, no status in result; the number wins."""
    answer = sample()
    row = answer["data"]
    row["status"], row["status_code"] = "processing", 3
    del row["result"]["status"]
    return answer


@contextlib.asynccontextmanager
async def live_answer(answer: dict[str, Any]) -> AsyncIterator[AsyncSuno]:
    """A session on a tiny service answering both task queries with ``answer``."""
    text = SAMPLE if answer == sample() else json.dumps(answer)
    row = json.dumps(answer["data"])
    batch = f'{{"code": 200, "message": "success", "data": {{"list": [{row}], "total": 1}}}}'

    async def single(request: web.Request) -> web.Response:
        assert request.query["id"] == str(TASK_ID)
        return web.Response(text=text, content_type="application/json")

    async def tasks(request: web.Request) -> web.Response:
        assert request.query["ids"] == str(TASK_ID)
        return web.Response(text=batch, content_type="application/json")

    routes = {"GET /music/task": single, "GET /music/tasks": tasks}
    async with (
        serve(routes) as url,
        AsyncSuno(KEY, base_url=url, poll=FAST_POLL, retry=FAST_RETRY) as suno,
    ):
        yield suno


def check_task(task: Task) -> None:
    assert task.id == TASK_ID
    assert task.status is TaskStatus.SUCCEEDED
    assert task.extra["row_id"] == ROW_ID
    assert task.custom_id == "4852c1a7-0000-4000-8000-377ee9ebdefa"
    info = task.file_info
    assert info is not None
    assert (info.mp3_url, info.cover_url, info.mp4_url) == (AUDIO, COVER, None)
    assert (info.duration, info.size) == (152.4, 5632639)


def check_song(song: Song) -> None:
    assert song.task_id == TASK_ID
    assert (song.title, song.audio_url, song.model_name) == ("Summer Breeze", AUDIO, "chirp-hawk")
    assert (song.tags, song.duration, song.lyrics) == ("...", 152.4, "[Verse 1]...")
    assert "https://cdn.example/encrypted-4852c1a7.m4a" not in (song.audio_url, song.video_url)


async def test_the_sample_reads_through_get_task() -> None:
    """The row id is kept aside, never taken for the task id; media and cover are read."""
    async with live_answer(sample()) as suno:
        check_task(await suno.get_task(TASK_ID))
        [task] = await suno.get_tasks([TASK_ID])
        check_task(task)
        check_song(suno.result_of(task, TaskKind.SONG))


async def test_the_sample_reads_through_wait() -> None:
    """A wait on the id, polled in batches, gives the same song and task."""
    async with live_answer(sample()) as suno:
        with anyio.fail_after(5):
            song = await suno.wait([suno.handle(TASK_ID, TaskKind.SONG)])
            [task] = await suno.wait([TASK_ID])
        check_song(song[0])
        check_task(task)


@pytest.mark.parametrize("reason_key", ["error", "error_message"])
async def test_a_failed_variant_gives_its_reason(reason_key: str) -> None:
    """The live reason, under either name, is the task's errormsg and the wait's error."""
    async with live_answer(failed(reason_key)) as suno:
        task = await suno.get_task(TASK_ID)
        assert task.status is TaskStatus.FAILED
        assert task.errormsg == "生成失败: the lyrics broke a content rule"
        with anyio.fail_after(5), pytest.raises(TaskFailedError, match="content rule"):
            await suno.wait([suno.handle(TASK_ID, TaskKind.SONG)])


async def test_a_status_code_variant_is_read_by_its_number() -> None:
    """status_code 3 beside the word "processing": the number is the status."""
    async with live_answer(with_status_code()) as suno:
        task = await suno.get_task(TASK_ID)
        assert task.status is TaskStatus.SUCCEEDED
        assert "status_code" not in task.extra
        with anyio.fail_after(5):
            [song] = await suno.wait([suno.handle(TASK_ID, TaskKind.SONG)])
        check_song(song)
