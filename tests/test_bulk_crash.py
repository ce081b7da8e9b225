"""
A bulk script killed (kill -9, Ctrl-C) at several points, then run again: nothing is paid
twice, everything started is collected, and the journal tells the truth.

The fake server runs in the test's process, the script in a subprocess of its own, so the
kill leaves the server and its counters standing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest

from bulk_child import bulk_requests
from helpers import DIALECT, FAST_POLL, FAST_RETRY, GENERATE, until
from suno_async import AsyncSuno, BulkOutcome
from suno_async._journal import STATES, read_journal
from suno_async.testing import FakeSunoServer, Fault

pytestmark = pytest.mark.anyio

CHILD = str(Path(__file__).with_name("bulk_child.py"))
#: The states whose row must carry the task ids the service answered.
WITH_IDS = {"started", "done", "failed", "downloaded"}


async def start_child(
    fake: FakeSunoServer, journal: Path, count: int, *extra: str
) -> anyio.abc.Process:
    return await anyio.open_process(
        [sys.executable, CHILD, fake.url, str(journal), str(count), *extra],
        env={**os.environ, "SUNO_API_KEY": fake.api_key},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def read_all(stream: anyio.abc.ByteReceiveStream | None) -> str:
    if stream is None:
        return ""
    with anyio.fail_after(5):
        return b"".join([chunk async for chunk in stream]).decode()


def journal_states(journal: Path) -> list[str]:
    if not journal.exists():
        return []
    try:
        return [row["state"] for row in read_journal(journal)]
    except Exception:
        return []


async def kill_when(
    process: anyio.abc.Process,
    journal: Path,
    ready: Callable[[list[str]], bool],
    signum: signal.Signals = signal.SIGKILL,
) -> list[str]:
    """Send ``signum`` once the journal's states satisfy ``ready``; return them."""
    seen: list[str] = []

    def check() -> bool:
        nonlocal seen
        seen = journal_states(journal)
        return bool(seen) and ready(seen)

    try:
        await until(check, timeout=10)
    finally:
        process.send_signal(signum)
        with anyio.fail_after(10):
            await process.wait()
    return seen


def accepted_titles(fake: FakeSunoServer) -> Counter[str]:
    """How many times the service accepted (and charged) each title."""
    return Counter(call.body["title"] for call in fake.accepted_calls)


def check_journal(journal: Path, fake: FakeSunoServer) -> list[dict[str, Any]]:
    """Every row is in a known state, holds ids exactly when it should, and matches the server."""
    rows = read_journal(journal)
    for row in rows:
        assert row["state"] in STATES
        assert bool(row["task_ids"]) == (row["state"] in WITH_IDS), row
        for task_id in row["task_ids"]:
            assert fake.task(task_id).params["title"] == row["request"]["title"]
    assert max(accepted_titles(fake).values(), default=0) <= 1
    return rows


async def resume(
    suno: AsyncSuno, journal: Path, count: int, out: Path | None = None
) -> list[BulkOutcome]:
    with anyio.fail_after(20):
        async with suno.generate_many(
            bulk_requests(count), journal=journal, download_to=out
        ) as run:
            return [outcome async for outcome in run]


async def test_killed_before_the_first_paid_answer(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Killed while every POST waits for its answer: those are unknown and never re-sent."""
    journal = tmp_path / "run.db"
    fake.faults.append(Fault("latency", "/music/generate", delay=1.0, times=100))
    child = await start_child(fake, journal, 6)
    seen = await kill_when(
        child, journal, lambda s: s.count("sending") == 4 and fake.requests[GENERATE] == 4
    )
    assert "started" not in seen
    fake.faults.clear()
    outcomes = await resume(suno, journal, 6)
    unknown = sorted(o.index for o in outcomes if o.state == "unknown")
    assert len(unknown) == 4
    assert sorted(o.index for o in outcomes if o.state == "done") == sorted(
        set(range(6)) - set(unknown)
    )
    rows = check_journal(journal, fake)
    assert [rows[i]["state"] for i in unknown] == ["sending"] * 4
    assert fake.requests[GENERATE] == 6  # four cut off (and charged), two sent on resume
    assert sum(accepted_titles(fake).values()) == 6


async def test_killed_mid_submission(suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path) -> None:
    """Killed with some requests started and some not sent: each is paid at most once."""
    journal = tmp_path / "run.db"
    fake.faults.append(Fault("latency", "/music/generate", delay=0.05, times=1000))
    child = await start_child(fake, journal, 16)
    seen = await kill_when(
        child, journal, lambda s: s.count("started") + s.count("done") >= 5 and "planned" in s
    )
    fake.faults.clear()
    outcomes = await resume(suno, journal, 16)
    rows = check_journal(journal, fake)
    finished_before = {i for i, state in enumerate(seen) if state == "done"}
    assert {o.index for o in outcomes} == set(range(16)) - finished_before
    unknown = [o.index for o in outcomes if o.state == "unknown"]
    assert len(unknown) <= 4
    assert all(rows[i]["state"] == "done" for i in set(range(16)) - set(unknown))
    titles = accepted_titles(fake)
    assert all(titles[f"crash {i}"] == 1 for i in range(16) if i not in unknown)


async def test_killed_mid_wait(suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path) -> None:
    """Killed while every task is generating: the re-run collects them all, sending nothing."""
    journal = tmp_path / "run.db"
    fake.speed = 1.0  # songs take 30 s or more: the script is surely waiting
    child = await start_child(fake, journal, 5)
    await kill_when(child, journal, lambda s: s == ["started"] * 5)
    assert fake.requests[GENERATE] == 5
    fake.advance(600)
    outcomes = await resume(suno, journal, 5)
    assert sorted((o.index, o.state) for o in outcomes) == [(i, "done") for i in range(5)]
    assert fake.requests[GENERATE] == 5
    assert [row["state"] for row in check_journal(journal, fake)] == ["done"] * 5


async def test_ctrl_c_stops_cleanly_and_the_run_resumes(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """SIGINT mid-run: the script exits on its own with the journal written; a re-run ends it."""
    journal = tmp_path / "run.db"
    fake.speed = 1.0
    fake.faults.append(Fault("latency", "/music/generate", delay=0.05, times=1000))
    child = await start_child(fake, journal, 12)
    await kill_when(
        child, journal, lambda s: s.count("started") >= 3 and "planned" in s, signal.SIGINT
    )
    assert child.returncode == 130
    stderr = await read_all(child.stderr)
    assert "interrupted: run again to resume" in stderr
    assert "Traceback" not in stderr
    after = journal_states(journal)
    sent = fake.requests[GENERATE]
    # Calls in flight were answered before the script left: none is left unknown.
    assert "sending" not in after
    assert sent == len(after) - after.count("planned")
    fake.faults.clear()
    fake.advance(600)
    fake.speed = 1000.0
    outcomes = await resume(suno, journal, 12)
    rows = check_journal(journal, fake)
    assert len(outcomes) == 12
    unknown = {o.index for o in outcomes if o.state == "unknown"}
    assert unknown == {i for i, state in enumerate(after) if state == "sending"}
    assert all(rows[i]["state"] == "done" for i in set(range(12)) - unknown)
    assert fake.requests[GENERATE] == sent + after.count("planned")


def partly_written(folder: Path) -> bool:
    """Whether some download has written part of its file (and not finished it)."""
    for part in folder.glob(".*.part"):
        with contextlib.suppress(OSError):  # it may be renamed into place meanwhile
            if part.stat().st_size > 0:
                return True
    return False


async def test_killed_mid_download(tmp_path: Path) -> None:
    """Killed while files stream in: the re-run leaves each song on disk once, whole."""
    journal, out = tmp_path / "run.db", tmp_path / "out"
    async with FakeSunoServer(
        dialect=DIALECT,
        speed=1000.0,
        queued_s=(0.0, 10.0),
        generating_s=(30.0, 60.0),
        media_bytes=200_000,
    ) as fake:
        fake.faults.append(Fault("slow_body", "GET /media", delay=3.0, times=1000))
        child = await start_child(fake, journal, 4, str(out))
        await kill_when(
            child,
            journal,
            lambda s: s == ["started"] * 4 and partly_written(out),
        )
        fake.faults.clear()
        async with AsyncSuno(
            fake.api_key, base_url=fake.url, poll=FAST_POLL, retry=FAST_RETRY, rate_limit=None
        ) as suno:
            outcomes = await resume(suno, journal, 4, out)
        assert sorted(o.index for o in outcomes) == [0, 1, 2, 3]
        rows = check_journal(journal, fake)
        assert [row["state"] for row in rows] == ["downloaded"] * 4
        assert fake.paid_calls[GENERATE] == 4
        files = sorted(out.iterdir())
        task_ids = sorted(i for row in rows for i in row["task_ids"])
        assert sorted(int(f.name.partition("-")[0]) for f in files) == task_ids
        for song in (song for o in outcomes for song in o.songs):
            assert song.audio_url is not None
            (path,) = out.glob(f"{song.task_id}-*")
            assert path.read_bytes() == fake.media_file(song.audio_url).content()
        # The cut files were resumed where they stopped, not fetched again from the start.
        assert any("Range" in r.headers for r in fake.media_requests)
