"""
``python -m suno_async demo``: a short run of real calls.

With no ``SUNO_API_KEY`` it starts the package's fake server on loopback and runs every
kind of call against it, so a new user sees the SDK work with no key and no network. With a
key it only reads the balance: spending points is never a side effect of a demo.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence

from ._client import AsyncSuno
from ._models import Song, StatusChange, TaskHandle
from ._watcher import PollPolicy


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def _demo_offline(songs: int) -> None:
    from .testing import FakeSunoServer  # noqa: PLC0415 (only the offline demo needs it)

    async with FakeSunoServer(speed=60.0, queued_s=(0.0, 5.0), generating_s=(30.0, 90.0)) as fake:
        _say(f"fake Suno server on {fake.url} (simulated clock 60x faster)")
        poll = PollPolicy(interval=0.25, first_poll=dict.fromkeys(PollPolicy().first_poll, 0.0))
        changes: list[StatusChange] = []
        async with AsyncSuno(fake.api_key, base_url=fake.url, poll=poll) as suno:
            suno.watcher.add_listener(changes.append)
            balance = await suno.balance()
            _say(f"balance: {balance.remaining_points} points")

            started = time.monotonic()
            handles: list[TaskHandle[Song]] = []
            for number in range(songs // 2):
                handles += await suno.generate(
                    title=f"Demo song {number + 1}",
                    description="a cheerful pop song about asyncio",
                )
            _say(f"started {len(handles)} songs; waiting for all of them together...")
            results = await suno.wait(handles, return_exceptions=True)
            took = time.monotonic() - started
            done = [r for r in results if isinstance(r, Song)]
            for song in done:
                length = f"{song.duration or 0:6.1f}s"
                _say(f"  {song.task_id}  {song.title!s:<16} {length}  {song.audio_url}")
            for failure in (r for r in results if not isinstance(r, Song)):
                _say(f"  failed: {failure}")
            _say(
                f"{len(done)}/{len(results)} songs in {took:.1f}s, "
                f"{suno.stats.batch_requests} batch polls, {len(changes)} status changes seen"
            )
            if done:
                await _follow_ups(suno, done[0])
            balance = await suno.balance()
            _say(f"balance now: {balance.remaining_points} points")
            _say(f"HTTP requests by endpoint on the server: {dict(fake.requests)}")


async def _follow_ups(suno: AsyncSuno, song: Song) -> None:
    if song.id is None:
        return
    lyrics = song.lyrics or "la la la"
    alignment, video, wav, cropped, faster = await suno.wait(
        [
            await suno.aligned_lyrics(song.id, lyrics),
            await suno.video(song.task_id, song.id),
            await suno.convert_wav(song.task_id, song.id),
            await suno.crop(song.id, 0.0, 10.0),
            await suno.speed(song.id, 1.25, keep_pitch=True),
        ]
    )
    _say(f"aligned lyrics: {len(alignment.words)} words, first {alignment.words[:1]}")
    _say(f"video: {video.url}")
    _say(f"wav: {wav.url}")
    _say(f"cropped: {cropped.audio_url}; sped up: {faster.audio_url}")


async def _demo_online() -> None:
    async with AsyncSuno() as suno:
        balance = await suno.balance()
        _say(f"balance: {balance.remaining_points} points")
        _say("SUNO_API_KEY is set, so the demo spends nothing; see the README to generate.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suno_async")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a short demo (offline unless SUNO_API_KEY is set)")
    demo.add_argument("--songs", type=int, default=4, help="songs to generate offline")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if os.environ.get("SUNO_API_KEY"):
            asyncio.run(_demo_online())
        else:
            asyncio.run(_demo_offline(max(2, args.songs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
