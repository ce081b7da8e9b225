"""
A bulk script killed (kill -9, Ctrl-C) at several points, then run again: nothing is paid
twice, everything started is collected, and the journal tells the truth.

The fake server runs in the test's process, the script in a subprocess of its own, so the
kill leaves the server and its counters standing.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
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
from anyio.streams.buffered import BufferedByteReceiveStream

from bulk_child import bulk_requests
from helpers import DIALECT, FAST_POLL, FAST_RETRY, GENERATE, until
from suno_async import AsyncSuno, BulkOutcome, TaskKind
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


#: The signals the command meets in the wild: kill -9, docker stop / systemd, a closed terminal.
STOPS = (signal.SIGKILL, signal.SIGTERM, signal.SIGHUP)


def drop_side_files(*names: Path) -> None:
    """Delete what SQLite may keep beside a journal, as a careless copy or cleanup would."""
    for name in names:
        for suffix in ("-journal", "-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)


async def run_command(
    fake: FakeSunoServer,
    prompts: Path,
    out: Path,
    journal: Path,
    stop: tuple[signal.Signals, float] | None,
) -> tuple[int, bool]:
    """
    `suno-async bulk` once (with ``stop``, that signal is sent that many seconds after its
    estimate is out); its exit code, and whether it printed its summary first.
    """
    argv = [sys.executable, "-m", "suno_async", "--poll-interval", str(FAST_POLL.interval)]
    argv += ["bulk", str(prompts), "--out", str(out), "--journal", str(journal)]
    argv += ["--json", "--max-in-flight", "3"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNO_")}
    env |= {"SUNO_API_KEY": fake.api_key, "SUNO_BASE_URL": fake.url}
    async with await anyio.open_process(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None
        stdout = BufferedByteReceiveStream(process.stdout)
        if stop is not None:
            with anyio.fail_after(20):  # the estimate is out: the signal handlers are set
                await stdout.receive_until(b"\n", 1 << 20)
            await anyio.sleep(stop[1])
            with contextlib.suppress(ProcessLookupError):  # it may have ended on its own
                process.send_signal(stop[0])
        with anyio.fail_after(30):
            stderr = await read_all(process.stderr)
            chunks = [stdout.buffer]
            with contextlib.suppress(anyio.EndOfStream, anyio.IncompleteRead):
                while True:  # read to the end, so the child never blocks on a full pipe
                    chunks.append(await stdout.receive())
            code = await process.wait()
    assert "Traceback" not in stderr, stderr
    # SIGTERM and SIGHUP stop it gracefully (143, 129); it may have ended first (0, or 1
    # with unknowns); a signal after its work is done ends it by the default action.
    assert code in {0, 1, 143, 129, -signal.SIGKILL, -signal.SIGTERM, -signal.SIGHUP}, (
        stop,
        code,
        stderr,
    )
    return code, b'"event": "summary"' in b"".join(chunks)


@pytest.mark.slow
async def test_the_command_stopped_by_any_signal_at_random_never_pays_twice(
    tmp_path: Path,
) -> None:
    """
    `suno-async bulk` stopped by SIGKILL, SIGTERM or SIGHUP at random moments (mid-POST,
    mid-download, mid-commit when the timing falls there), its journal reached by its name,
    a symlink or a hard link, the journal's side files deleted after each stop: no request
    is paid twice, and after one more run every song of a finished request is on disk,
    byte for byte.
    """
    rng = random.Random(20261208)
    prompts = tmp_path / "prompts.jsonl"
    rows = [{"title": f"Crash {n}", "description": f"song {n}"} for n in range(24)]
    prompts.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out, real = tmp_path / "out", tmp_path / "journal.sqlite"
    symlink, hard = tmp_path / "symlink.sqlite", tmp_path / "hard.sqlite"
    symlink.symlink_to(real)
    async with FakeSunoServer(
        dialect=DIALECT,
        speed=100.0,
        queued_s=(0.0, 10.0),
        generating_s=(30.0, 60.0),
        media_bytes=150_000,
        paid_latency=0.25,
    ) as fake:
        codes: list[int] = []
        for round_ in range(7):
            names = [real, symlink] + ([hard] if hard.exists() else [])
            if real.exists() and not hard.exists():
                os.link(real, hard)
            journal = names[round_ % len(names)]
            stop = (STOPS[round_ % len(STOPS)], rng.uniform(0.0, 0.8))
            code, summed_up = await run_command(fake, prompts, out, journal, stop)
            if code in (-signal.SIGTERM, -signal.SIGHUP):
                # Only after its work is done (in the interpreter's exit) does the default
                # action of SIGTERM or SIGHUP end it: nothing is in flight by then.
                assert summed_up, (round_, code)
            codes.append(code)
            drop_side_files(real, symlink, hard)
        final, _ = await run_command(fake, prompts, out, hard if hard.exists() else real, None)
        assert final in (0, 1), codes  # 1: some requests were left unknown by a SIGKILL
        assert {143, 129} & set(codes), codes

        assert max(accepted_titles(fake).values()) == 1
        journal_rows = check_journal(real, fake)
        states = Counter(row["state"] for row in journal_rows)
        assert set(states) <= {"downloaded", "sending"}, [
            (r["state"], r["error"], r["paths"]) for r in journal_rows if r["state"] == "done"
        ]
        ids = [i for row in journal_rows if row["state"] == "downloaded" for i in row["task_ids"]]
        async with AsyncSuno(
            fake.api_key, base_url=fake.url, poll=FAST_POLL, retry=FAST_RETRY
        ) as suno:
            songs = await suno.wait([suno.handle(i, TaskKind.SONG) for i in ids])
        for song in songs:
            assert song.audio_url is not None
            (path,) = out.glob(f"{song.task_id}-*")
            assert path.read_bytes() == fake.media_file(song.audio_url).content()
        assert not list(out.glob(".*.part"))
