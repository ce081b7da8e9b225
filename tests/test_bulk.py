"""generate_many: sending under the money guards, collecting, resuming from the journal."""

from __future__ import annotations

import contextlib
from pathlib import Path

import anyio
import pytest

from helpers import FAST_POLL, FAST_RETRY, GENERATE, song_requests, until
from suno_async import (
    AsyncSuno,
    AuthenticationError,
    BalanceTooLowError,
    BulkOutcome,
    GenerateRequest,
    InsufficientPointsError,
    JournalError,
    JournalLockedError,
    JournalMismatchError,
    MediaTooLargeError,
    RateLimitError,
    SessionClosedError,
    TaskFailedError,
    UsageError,
    ValidationError,
)
from suno_async._journal import Journal, read_journal
from suno_async.testing import FakeSunoServer, Fault, TaskPlan

pytestmark = pytest.mark.anyio


async def run_all(
    suno: AsyncSuno, reqs: list[GenerateRequest], **kwargs: object
) -> list[BulkOutcome]:
    with anyio.fail_after(10):
        async with suno.generate_many(reqs, **kwargs) as run:  # type: ignore[arg-type]
            return [outcome async for outcome in run]


def states(path: Path) -> list[str]:
    return [row["state"] for row in read_journal(path)]


async def test_every_request_is_sent_once_and_answered_with_its_songs(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """Each request is one paid call; its outcome carries the request, ids and both songs."""
    reqs = song_requests(6)
    async with suno.generate_many(reqs) as run:
        assert run.estimate.points == 6 * 36
        assert run.estimate.balance == 10_000
        outcomes = [outcome async for outcome in run]
        progress = run.progress
    assert fake.requests[GENERATE] == 6
    assert sorted(o.index for o in outcomes) == list(range(6))
    for outcome in outcomes:
        assert outcome.ok
        assert outcome.request is reqs[outcome.index]
        assert len(outcome.task_ids) == 2
        assert [s.task_id for s in outcome.songs] == list(outcome.task_ids)
    assert (progress.done, progress.failed, progress.planned, progress.total) == (6, 0, 0, 6)
    assert progress.points_spent == 6 * 36
    assert progress.requests_sent == suno.requests_sent
    assert fake.points == 10_000 - 6 * 36


async def test_a_rerun_on_a_finished_journal_sends_nothing(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A journal remembers every finished request: running it again pays for nothing."""
    journal = tmp_path / "run.db"
    first = await run_all(suno, song_requests(4), journal=journal)
    assert len(first) == 4
    assert states(journal) == ["done"] * 4
    rows = read_journal(journal)
    assert sorted(tuple(r["task_ids"]) for r in rows) == sorted(o.task_ids for o in first)
    async with suno.generate_many(song_requests(4), journal=journal) as run:
        assert [o async for o in run] == []
        assert run.progress.done == 4
        assert run.estimate.to_send == 0
    assert fake.requests[GENERATE] == 4


async def test_started_requests_are_collected_by_id_and_never_sent_again(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A request the journal knows as started is awaited by its ids, with no new paid call."""
    path = tmp_path / "run.db"
    reqs = song_requests(2)
    handles = await suno.submit_generate(reqs[0])
    journal = Journal(path)
    await journal.open(reqs)
    await journal.commit(journal.set_state(0, "sending"))
    await journal.commit(journal.set_state(0, "started", task_ids=[h.task_id for h in handles]))
    await journal.aclose()
    outcomes = await run_all(suno, reqs, journal=path)
    assert fake.requests[GENERATE] == 2  # the one above, and request 1
    by_index = {o.index: o for o in outcomes}
    assert by_index[0].task_ids == tuple(h.task_id for h in handles)
    assert by_index[0].state == "done"
    assert states(path) == ["done", "done"]


async def test_a_request_cut_off_while_sending_is_unknown_and_not_resent(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """`sending` in the journal may have been charged: reported unknown, sent only on request."""
    path = tmp_path / "run.db"
    reqs = song_requests(3)
    journal = Journal(path)
    await journal.open(reqs)
    await journal.commit(journal.set_state(1, "sending"))
    await journal.aclose()
    async with suno.generate_many(reqs, journal=path) as run:
        assert run.estimate.unknown == 1
        outcomes = [o async for o in run]
        assert run.progress.unknown == 1
    assert outcomes[0].state == "unknown"
    assert outcomes[0].index == 1
    assert fake.requests[GENERATE] == 2
    assert states(path) == ["done", "sending", "done"]
    again = await run_all(suno, reqs, journal=path, resend_unknown=True)
    assert [(o.index, o.state) for o in again] == [(1, "done")]
    assert fake.requests[GENERATE] == 3
    assert states(path) == ["done"] * 3
    assert read_journal(path)[1]["attempts"] == 2


async def test_a_run_that_does_not_fit_the_balance_sends_nothing(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Cost over balance is refused before the first paid call, saying how to proceed."""
    fake.points = 100
    path = tmp_path / "run.db"
    with pytest.raises(BalanceTooLowError, match=r"needs 180 points .* balance is 100") as info:
        await run_all(suno, song_requests(5), journal=path)
    assert (info.value.needed, info.value.balance) == (180, 100)
    assert fake.requests[GENERATE] == 0
    assert states(path) == ["planned"] * 5
    # max_points within the balance lets what fits go.
    outcomes = await run_all(suno, song_requests(5), journal=path, max_points=100)
    assert [o.state for o in outcomes].count("done") == 2
    assert fake.requests[GENERATE] == 2


async def test_max_points_caps_the_whole_journal(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """The budget counts earlier runs too; what does not fit is reported as not sent."""
    path = tmp_path / "run.db"
    outcomes = await run_all(suno, song_requests(5), journal=path, max_points=80)
    assert sorted(o.state for o in outcomes) == ["done", "done", "not_sent", "not_sent", "not_sent"]
    async with suno.generate_many(song_requests(5), journal=path, max_points=80) as run:
        async for _ in run:
            pass
        assert (run.progress.planned, run.progress.not_sent) == (0, 3)  # each counted once
    not_sent = [o for o in outcomes if o.state == "not_sent"]
    assert "max_points=80" in str(not_sent[0].errors[0])
    assert fake.requests[GENERATE] == 2
    again = await run_all(suno, song_requests(5), journal=path, max_points=80)
    assert [(o.index, o.state) for o in again] == [(o.index, "not_sent") for o in not_sent]
    assert fake.requests[GENERATE] == 2
    rest = await run_all(suno, song_requests(5), journal=path)
    assert sorted(o.index for o in rest) == [o.index for o in not_sent]
    assert fake.requests[GENERATE] == 5


async def test_a_dry_run_estimates_and_sends_nothing(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A dry run reads the balance (free), yields nothing and creates no journal."""
    path = tmp_path / "run.db"
    fake.points = 50
    async with suno.generate_many(song_requests(3), journal=path, dry_run=True) as run:
        estimate = run.estimate
        assert [o async for o in run] == []
    assert (estimate.to_send, estimate.points, estimate.balance) == (3, 108, 50)
    assert not estimate.fits
    assert fake.requests[GENERATE] == 0
    assert not path.exists()


async def test_running_out_of_points_mid_run_stops_sending_and_collects_the_rest(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Refused for points mid-run: nothing more is sent, the started ones finish."""
    path = tmp_path / "run.db"
    async with suno.generate_many(song_requests(6), journal=path) as run:
        fake.points = 2 * 36  # spent elsewhere after the balance check
        outcomes = [o async for o in run]
        assert isinstance(run.stop_reason, InsufficientPointsError)
        assert run.progress.not_sent == 4
    done = [o for o in outcomes if o.state == "done"]
    not_sent = [o for o in outcomes if o.state == "not_sent"]
    assert (len(done), len(not_sent)) == (2, 4)
    assert isinstance(not_sent[0].errors[0], InsufficientPointsError)
    assert sorted(states(path)) == ["done", "done"] + ["planned"] * 4
    fake.points = 10_000
    rest = await run_all(suno, song_requests(6), journal=path)
    assert sorted(o.index for o in rest) == sorted(o.index for o in not_sent)
    assert states(path) == ["done"] * 6


async def test_failed_songs_and_refused_requests_are_failed_outcomes(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A failed song fails its request; a request the service refuses (uncharged) too."""
    path = tmp_path / "run.db"
    fake.plans.extend([TaskPlan(succeed=False), TaskPlan()])
    fake.faults.append(Fault("envelope_error", "/music/generate", after=1, code=400, message="bad"))
    async with suno.generate_many(song_requests(3), journal=path) as run:
        outcomes = sorted([o async for o in run], key=lambda o: o.index)
    assert [o.state for o in outcomes] == ["failed", "failed", "done"]
    assert isinstance(outcomes[0].errors[0], TaskFailedError)
    assert len(outcomes[0].songs) == 1
    assert outcomes[1].task_ids == ()
    assert states(path) == ["failed", "failed", "done"]
    assert fake.requests[GENERATE] == 3
    # The refused request charged nothing, in this run's count and in the next one's.
    assert run.progress.points_spent == 2 * 36
    # The failed song's half of its call came back, as the service refunds a failed task.
    assert 10_000 - fake.points == 2 * 36 - 18
    async with suno.generate_many(song_requests(3), journal=path) as rerun:
        assert [o async for o in rerun] == []
        assert rerun.estimate.already_started == 2
        assert rerun.progress.points_spent == 2 * 36
    assert fake.requests[GENERATE] == 3


async def test_a_call_that_may_have_been_charged_is_unknown(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A connection dropped after the service worked: unknown, left in `sending`."""
    path = tmp_path / "run.db"
    fake.faults.append(Fault("drop_after", "/music/generate"))
    outcomes = await run_all(suno, song_requests(2), journal=path)
    unknown = [o for o in outcomes if o.state == "unknown"]
    assert len(unknown) == 1
    assert sorted(states(path)) == ["done", "sending"]
    assert fake.requests[GENERATE] == 2


async def test_a_rate_limit_past_the_retries_stops_sending_and_a_rerun_sends_the_rest(
    fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Refused for the rate, uncharged, after every retry: the requests stay planned."""
    path = tmp_path / "run.db"
    fake.faults.append(Fault("429", "/music/generate", retry_after="0", times=FAST_RETRY.attempts))
    async with AsyncSuno(
        fake.api_key,
        base_url=fake.url,
        poll=FAST_POLL,
        retry=FAST_RETRY,
        max_paid_in_flight=1,
        rate_limit=None,  # the budget's slow-down after 429s is test_budget's business
    ) as suno:
        async with suno.generate_many(song_requests(3), journal=path) as run:
            outcomes = [o async for o in run]
            assert isinstance(run.stop_reason, RateLimitError)
            assert run.progress.points_spent == 0
        assert sorted((o.index, o.state) for o in outcomes) == [(i, "not_sent") for i in range(3)]
        assert all(isinstance(o.errors[0], RateLimitError) for o in outcomes)
        assert states(path) == ["planned"] * 3
        rest = await run_all(suno, song_requests(3), journal=path)
    assert sorted((o.index, o.state) for o in rest) == [(i, "done") for i in range(3)]
    assert fake.paid_calls[GENERATE] == 3


async def test_cancelled_while_waiting_for_the_paid_rate_nothing_more_is_sent(
    fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A Ctrl-C waits for the POST in flight, not for those still waiting for their turn."""
    path = tmp_path / "run.db"
    async with AsyncSuno(
        fake.api_key, base_url=fake.url, poll=FAST_POLL, rate_limit=None, paid_rate=2.0
    ) as suno:
        with anyio.move_on_after(5) as scope:
            async with suno.generate_many(song_requests(6), journal=path):
                await until(lambda: fake.paid_calls[GENERATE] == 1)
                scope.cancel()
                await anyio.sleep(5)
        assert fake.paid_calls[GENERATE] == 1
        assert sorted(states(path)) == ["planned"] * 5 + ["started"]
        rest = await run_all(suno, song_requests(6), journal=path)
    assert sorted((o.index, o.state) for o in rest) == [(i, "done") for i in range(6)]
    assert fake.paid_calls[GENERATE] == 6


async def test_a_session_closed_mid_run_leaves_what_was_not_sent_planned(
    fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Requests refused by a closed session never left: a re-run sends them."""
    path = tmp_path / "run.db"
    async with AsyncSuno(
        fake.api_key, base_url=fake.url, poll=FAST_POLL, rate_limit=None, paid_rate=4.0
    ) as suno:
        with anyio.fail_after(10):
            async with suno.generate_many(song_requests(4), journal=path) as run:
                await until(lambda: fake.paid_calls[GENERATE] == 1)
                await suno.aclose()
                # The waits of the started request end with the session, so may the iteration.
                with contextlib.suppress(SessionClosedError):
                    async for _ in run:
                        pass
    assert "failed" not in states(path)
    sent = fake.paid_calls[GENERATE]
    assert states(path).count("planned") == 4 - sent
    async with AsyncSuno(fake.api_key, base_url=fake.url, poll=FAST_POLL, rate_limit=None) as suno:
        rest = await run_all(suno, song_requests(4), journal=path)
    assert sorted((o.index, o.state) for o in rest) == [(i, "done") for i in range(4)]
    assert fake.paid_calls[GENERATE] == 4


async def test_a_journal_that_cannot_be_opened_is_a_journal_error(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A journal path under a file: a JournalError saying so, and nothing sent."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(JournalError, match="cannot open the journal"):
        await run_all(suno, song_requests(2), journal=blocker / "run.db")
    assert fake.total_requests == 0


async def test_two_runs_on_one_journal_the_second_refuses(suno: AsyncSuno, tmp_path: Path) -> None:
    """While a run holds a journal, another run on it is refused before sending."""
    path = tmp_path / "run.db"
    async with suno.generate_many(song_requests(2), journal=path) as run:
        with pytest.raises(JournalLockedError):
            await run_all(suno, song_requests(2), journal=path)
        assert len([o async for o in run]) == 2
    with pytest.raises(JournalMismatchError, match="request 1"):
        await run_all(suno, [*song_requests(1), *song_requests(1, "other")], journal=path)


async def test_leaving_early_stops_and_a_rerun_finishes(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Breaking out (as Ctrl-C would) leaves a journal a re-run completes without repeats."""
    path = tmp_path / "run.db"
    async with suno.generate_many(song_requests(8), journal=path) as run:
        async for _ in run:
            break
    after_break = states(path)
    sent_before = fake.requests[GENERATE]
    # Whatever may have reached the service is marked so; the rest is still planned.
    assert sent_before <= sum(1 for s in after_break if s != "planned")
    rest = await run_all(suno, song_requests(8), journal=path)
    assert len(rest) == 8 - after_break.count("done") - after_break.count("sending")
    assert fake.requests[GENERATE] == sent_before + after_break.count("planned")
    assert set(states(path)) <= {"done", "sending"}


async def test_a_run_used_out_of_order_says_how_to_use_it(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """Iterated before `async with`, read too early, or entered twice: a UsageError, no send."""
    run = suno.generate_many(song_requests(1))
    with pytest.raises(UsageError, match="async with"):
        run.__aiter__()
    with pytest.raises(UsageError, match="async with run"):
        _ = run.estimate
    assert fake.requests[GENERATE] == 0
    async with run:
        assert [o.index async for o in run] == [0]
    with pytest.raises(UsageError, match="runs once"):
        await run.__aenter__()
    assert fake.requests[GENERATE] == 1


async def test_bad_arguments_are_refused_before_anything_runs(suno: AsyncSuno) -> None:
    """Not a list, a wrong item, bad media or budget: refused at the call, naming the field."""
    with pytest.raises(TypeError, match="list of GenerateRequest"):
        suno.generate_many(song_requests(1)[0])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"requests\[1\]"):
        suno.generate_many([*song_requests(1), {"title": "x"}])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="media"):
        suno.generate_many(song_requests(1), media=("flac",))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="max_points"):
        suno.generate_many(song_requests(1), max_points=-1)


async def test_songs_are_downloaded_once_and_the_journal_knows(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Each song's asked-for media land in the folder; a re-run fetches nothing again."""
    path, out = tmp_path / "run.db", tmp_path / "out"
    outcomes = await run_all(
        suno, song_requests(3), journal=path, download_to=out, media=("audio", "cover")
    )
    assert all(o.ok for o in outcomes)
    files = sorted(out.iterdir())
    assert len(files) == 3 * 2 * 2
    assert sorted(p for o in outcomes for p in o.paths) == files
    assert all(f.stat().st_size > 0 for f in files)
    for outcome in outcomes:
        assert {int(p.name.partition("-")[0]) for p in outcome.paths} == set(outcome.task_ids)
    assert states(path) == ["downloaded"] * 3
    assert sorted(p for row in read_journal(path) for p in row["paths"]) == [str(f) for f in files]
    media_gets = fake.requests["GET /media"]
    async with suno.generate_many(
        song_requests(3), journal=path, download_to=out, media=("audio", "cover")
    ) as run:
        assert [o async for o in run] == []
        assert run.progress.downloaded == 3
    assert fake.requests["GET /media"] == media_gets
    assert fake.requests[GENERATE] == 3


async def test_missing_downloads_are_fetched_on_a_rerun_without_sending(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Finished without downloads, then run with a folder: files come, no paid call."""
    path, out = tmp_path / "run.db", tmp_path / "out"
    await run_all(suno, song_requests(2), journal=path)
    assert states(path) == ["done", "done"]
    outcomes = await run_all(suno, song_requests(2), journal=path, download_to=out)
    assert sorted(o.index for o in outcomes) == [0, 1]
    assert all(len(o.paths) == 2 and o.ok for o in outcomes)
    assert len(list(out.iterdir())) == 4
    assert states(path) == ["downloaded", "downloaded"]
    assert fake.requests[GENERATE] == 2


async def test_a_deleted_download_is_fetched_again_on_a_rerun_without_sending(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A file of a `downloaded` request gone from disk comes back; the others stay as they are."""
    path, out = tmp_path / "run.db", tmp_path / "out"
    await run_all(suno, song_requests(2), journal=path, download_to=out)
    assert states(path) == ["downloaded", "downloaded"]
    files = sorted(out.iterdir())
    kept = {f: f.stat().st_mtime_ns for f in files[1:]}
    files[0].unlink()
    outcomes = await run_all(suno, song_requests(2), journal=path, download_to=out)
    assert len(outcomes) == 1
    assert outcomes[0].ok
    assert files[0].stat().st_size > 0
    assert {f: f.stat().st_mtime_ns for f in files[1:]} == kept
    assert states(path) == ["downloaded", "downloaded"]
    assert fake.requests[GENERATE] == 2


async def test_cancelled_while_calls_are_in_flight_the_ids_still_reach_the_journal(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Ctrl-C during the POSTs: their answers are still read and their ids written."""
    path = tmp_path / "run.db"
    fake.faults.append(Fault("latency", "/music/generate", delay=0.3, times=100))
    with anyio.move_on_after(5) as scope:
        async with suno.generate_many(song_requests(6), journal=path):
            await until(lambda: fake.requests[GENERATE] == 4)
            scope.cancel()
            await anyio.sleep(5)
    assert sorted(states(path)) == ["planned"] * 2 + ["started"] * 4
    assert sorted(i for row in read_journal(path) for i in row["task_ids"]) == sorted(
        i for call in fake.accepted_calls for i in call.task_ids
    )
    fake.faults.clear()
    outcomes = await run_all(suno, song_requests(6), journal=path)
    assert sorted((o.index, o.state) for o in outcomes) == [(i, "done") for i in range(6)]
    assert fake.paid_calls[GENERATE] == 6


async def test_a_refused_key_while_waiting_leaves_requests_pending_for_the_rerun(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A burst of 401s on task queries ends this run's waits, not the tasks: none is failed."""
    path = tmp_path / "run.db"
    fake.speed = 0.0  # nothing finishes while the key is refused
    fake.faults.append(Fault("401", "/music/tasks", times=3))
    fake.faults.append(Fault("401", "/music/task", times=3))
    outcomes = await run_all(suno, song_requests(4), journal=path)
    assert "failed" not in {o.state for o in outcomes}
    pending = [o for o in outcomes if o.state == "pending"]
    assert pending
    assert all(isinstance(o.errors[0], AuthenticationError) for o in pending)
    assert states(path).count("started") == len(pending)
    fake.faults.clear()
    fake.speed = 1000.0
    fake.advance(600)
    rest = await run_all(suno, song_requests(4), journal=path)
    assert sorted((o.index, o.state) for o in rest) == sorted((o.index, "done") for o in pending)
    assert states(path) == ["done"] * 4
    assert fake.paid_calls[GENERATE] == 4


async def test_the_good_song_of_a_failed_request_is_fetched_by_a_rerun(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """One song failed, the other's download failed: the re-run fetches the paid-for one."""
    path, out = tmp_path / "run.db", tmp_path / "out"
    fake.plans.extend([TaskPlan(succeed=False), TaskPlan()])
    fake.faults.append(Fault("404", "GET /media", times=2))  # the link, then its fresh one
    (first,) = await run_all(suno, song_requests(1), journal=path, download_to=out)
    assert (first.state, first.files_missing, first.paths) == ("failed", 1, ())
    assert states(path) == ["started"]
    (again,) = await run_all(suno, song_requests(1), journal=path, download_to=out)
    assert (again.state, again.files_missing, len(again.paths)) == ("failed", 0, 1)
    assert again.paths[0].stat().st_size > 0
    assert states(path) == ["failed"]
    assert await run_all(suno, song_requests(1), journal=path, download_to=out) == []
    assert fake.paid_calls[GENERATE] == 1


async def test_links_expired_before_the_downloads_are_refreshed_within_the_run(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """Links past their hour when the downloads start: the run asks for fresh ones itself."""
    path, out = tmp_path / "run.db", tmp_path / "out"
    fake.speed = 0.0
    with anyio.fail_after(10):
        async with suno.generate_many(song_requests(2), journal=path, download_to=out) as run:
            await until(lambda: fake.paid_calls[GENERATE] == 2 and "sending" not in states(path))
            fake.faults.append(Fault("latency", "/music/tasks", delay=0.5, times=1000))
            fake.advance(600)  # every song is done from now on
            asked = fake.requests["GET /music/tasks"]
            # This poll's answer is signed now and arrives after the links have expired.
            await until(lambda: fake.requests["GET /music/tasks"] > asked)
            fake.advance(3600 + 600)
            fake.faults.clear()
            outcomes = [o async for o in run]
    assert sorted((o.index, o.state, o.files_missing) for o in outcomes) == [
        (0, "done", 0),
        (1, "done", 0),
    ]
    assert all(o.ok for o in outcomes)
    assert len(list(out.iterdir())) == 4
    # Each file was asked for by its expired link (refused), then by the fresh one.
    assert len(fake.media_requests) == 8
    assert fake.requests["GET /music/task"] >= 1
    assert states(path) == ["downloaded"] * 2


async def test_a_download_past_the_cap_is_refused_and_leaves_nothing(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A host announcing 2 GiB: refused by its size, nothing kept, the cap named; a re-run."""
    path, out = tmp_path / "run.db", tmp_path / "out"
    fake.faults.append(Fault("oversized", "GET /media"))
    (outcome,) = await run_all(
        suno, song_requests(1), journal=path, download_to=out, max_download_bytes=10**6
    )
    assert (outcome.state, outcome.files_missing, len(outcome.paths)) == ("done", 1, 1)
    (error,) = outcome.errors
    assert isinstance(error, MediaTooLargeError)
    assert (error.max_bytes, error.size) == (10**6, 2 * 2**30)
    assert "max_download_bytes" in str(error)
    assert "--max-download-mb" in str(error)
    assert sorted(p.name for p in out.iterdir()) == [outcome.paths[0].name]
    assert suno.downloads.bytes_received < 2 * 10**6
    assert states(path) == ["done"]
    (again,) = await run_all(suno, song_requests(1), journal=path, download_to=out)
    assert (again.files_missing, len(again.paths)) == (0, 2)
    assert states(path) == ["downloaded"]
    with pytest.raises(ValidationError, match="max_download_bytes"):
        suno.generate_many(song_requests(1), max_download_bytes=0)


async def test_the_balance_hint_after_a_resume_counts_what_the_journal_spent(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """The suggested max_points sends what the balance pays for, earlier spending included."""
    path = tmp_path / "run.db"
    await run_all(suno, song_requests(5), journal=path, max_points=72)
    fake.points = 40
    with pytest.raises(BalanceTooLowError, match="max_points=112") as info:
        await run_all(suno, song_requests(5), journal=path)
    assert (info.value.spent, info.value.max_points) == (72, 112)
    outcomes = await run_all(suno, song_requests(5), journal=path, max_points=112)
    assert [o.state for o in outcomes].count("done") == 1
    assert fake.paid_calls[GENERATE] == 3
