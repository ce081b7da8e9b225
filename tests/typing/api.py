"""
Type-checked, never run: the public API as users write it.

If a change makes these lines need a cast or an ignore, the API got worse for users.
"""

from __future__ import annotations

import time
from pathlib import Path

from typing_extensions import assert_type

from suno_async import (
    AsyncSuno,
    DownloadError,
    DownloadPolicy,
    LyricsAlignment,
    PointsEntry,
    PointsEntryKind,
    PointsLogPage,
    PollPolicy,
    RateLimit,
    RetryPolicy,
    Song,
    SoundRequest,
    StatusChange,
    StatusChanges,
    SunoError,
    Task,
    TaskFailedError,
    TaskHandle,
    TaskKind,
    Timeouts,
    Video,
    Wav,
    safe_filename,
)
from suno_async.testing import FakeSunoServer


async def songs() -> list[Song]:
    async with AsyncSuno("key", timeouts=Timeouts(connect=5, read=30)) as suno:
        first, second = await suno.generate(title="t", description="a cheerful pop song")
        one: Song = await first.wait()
        both: list[Song] = await suno.wait([first, second], timeout=600)
        maybe: list[Song | SunoError] = await suno.wait([first], return_exceptions=True)
        assert one in both or maybe
        return both


async def follow_ups(suno: AsyncSuno, song: Song) -> tuple[LyricsAlignment, Video, Wav]:
    assert song.id is not None
    alignment = await (await suno.aligned_lyrics(song.id, lyrics="la la")).wait()
    video = await (await suno.video(song.task_id, suno_id=song.id)).wait()
    wav = await (await suno.convert_wav(song.task_id, suno_id=song.id)).wait()
    crop: TaskHandle[Song] = await suno.crop(song.id, start_s=0, end_s=10)
    faster: TaskHandle[Song] = await suno.speed(song.id, multiplier=1.5, keep_pitch=True)
    remastered: tuple[TaskHandle[Song], ...] = await suno.remaster(
        song.id, model="chirp-carp", variation="high"
    )
    print(crop, faster, remastered)
    return alignment, video, wav


async def sounds_and_points(suno: AsyncSuno) -> list[PointsEntry]:
    loops: tuple[TaskHandle[Song], ...] = await suno.sound(
        title="Rain", tags="rain on a tin roof", model="chirp-crow", tempo=90, loop=True
    )
    sound: Song = await loops[0].wait()
    again = await suno.submit_sound(SoundRequest(title="Bell", tags="a bell", key="C minor"))
    print(sound.audio_url, again)
    page: PointsLogPage = await suno.points_log(page=2, limit=20)
    spent = sum(e.change for e in page.entries if e.kind is PointsEntryKind.CONSUME)
    assert_type(page.total, int | None)
    print(spent)
    return [entry async for entry in suno.points_entries(limit=100, max_pages=10)]


async def by_id(suno: AsyncSuno) -> list[Task]:
    tasks: list[Task] = await suno.wait([199824, 199825])
    handle: TaskHandle[Song] = suno.handle(199824, TaskKind.SONG)
    song: Song = await handle.wait()
    assert song.title
    async for result in suno.as_completed([handle]):
        finished: Song = result
        print(finished.audio_url)
    async for outcome in suno.as_completed([1, 2], return_exceptions=True):
        either: Task | SunoError = outcome
        print(either)
    try:
        await suno.get_task(199824)
    except TaskFailedError as exc:
        print(exc.task_id, exc.errormsg_en)
    return tasks


async def offline() -> int:
    async with (
        FakeSunoServer(speed=100.0) as fake,
        AsyncSuno(
            fake.api_key,
            base_url=fake.url,
            poll=PollPolicy(interval=0.1),
            retry=RetryPolicy(attempts=2),
        ) as suno,
    ):
        balance = await suno.balance()
        return balance.remaining_points


async def budgeted(redis_url: str) -> float | None:
    shared = RateLimit(per_minute=100, redis_url=redis_url, processes=4)
    async with AsyncSuno("key", rate_limit=shared) as suno, AsyncSuno("key", rate_limit=None):
        stats = suno.stats
        assert_type(stats.poll_period, float)
        assert_type(stats.rate_limited, int)
        return stats.budget_per_minute


async def downloads(song: Song, video: Video, wav: Wav) -> bytes:
    policy = DownloadPolicy(max_concurrent=8, deadline=120)
    async with AsyncSuno("key", downloads=policy) as suno:
        audio: Path = await suno.download(song, "songs")
        cover: Path = await suno.download(song, Path("songs"), media="cover", filename="c.jpeg")
        others: list[Path] = [await suno.download(v, "media") for v in (video, wav)]
        try:
            await suno.download("https://cdn.example/a.mp3", "media", max_bytes=10_000_000)
        except DownloadError as exc:
            print(exc.url, exc.path, exc.status)
        print(audio, cover, others, safe_filename(song.title, task_id=song.task_id, ext="mp3"))
        return await suno.download_bytes(song, max_bytes=2**20)


async def typed_handles(suno: AsyncSuno) -> None:
    # assert_type fails on Any: a rebuilt handle is as typed as one a call returned.
    song_handle = suno.handle(199824, TaskKind.SONG, started_at=time.time() - 30)
    assert_type(song_handle, TaskHandle[Song])
    assert_type(await song_handle.wait(), Song)
    assert_type(suno.handle(1, TaskKind.ALIGNMENT), TaskHandle[LyricsAlignment])
    assert_type(suno.handle(1, TaskKind.VIDEO), TaskHandle[Video])
    assert_type(suno.handle(1, TaskKind.WAV), TaskHandle[Wav])
    assert_type(suno.handle(1), TaskHandle[Task])
    assert_type(await suno.watch(song_handle), Song)
    assert_type(await suno.watch(199824, timeout=60), Task)
    assert_type(await suno.wait([song_handle]), list[Song])
    saved = (song_handle.task_id, song_handle.kind, song_handle.started_at)
    rebuilt = suno.handle(saved[0], saved[1], started_at=saved[2])
    print(rebuilt.task_id)


async def listening(suno: AsyncSuno, handle: TaskHandle[Song]) -> list[StatusChange]:
    seen: list[StatusChange] = []
    async with suno.status_changes() as changes:
        async for change in changes:
            seen.append(change)
            if change.new.finished:
                break
    mine: StatusChanges = handle.status_changes()
    async with mine:
        seen.extend([change async for change in mine])
    return seen
