"""generate_many's input: a list grown at the end, a journal lost beside its media, repeats."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from helpers import GENERATE, song_requests
from suno_async import (
    AsyncSuno,
    BulkOutcome,
    DuplicateRequestsWarning,
    ExistingMediaError,
    GenerateRequest,
    JournalMismatchError,
)
from suno_async._journal import read_journal
from suno_async.testing import FakeSunoServer

pytestmark = pytest.mark.anyio


async def run_all(
    suno: AsyncSuno, reqs: list[GenerateRequest], **kwargs: object
) -> list[BulkOutcome]:
    with anyio.fail_after(10):
        async with suno.generate_many(reqs, **kwargs) as run:  # type: ignore[arg-type]
            return [outcome async for outcome in run]


async def test_requests_added_at_the_end_are_sent_and_the_others_kept(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A finished list grown at the end: only the new requests are sent, once each."""
    journal = tmp_path / "run.db"
    await run_all(suno, song_requests(3), journal=journal)
    outcomes = await run_all(suno, song_requests(5), journal=journal)
    assert sorted((o.index, o.state) for o in outcomes) == [(3, "done"), (4, "done")]
    assert fake.requests[GENERATE] == 5
    assert [row["state"] for row in read_journal(journal)] == ["done"] * 5
    assert await run_all(suno, song_requests(5), journal=journal) == []
    assert fake.requests[GENERATE] == 5


async def test_a_dry_run_of_a_grown_list_writes_nothing(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A dry run counts the added requests without adding them to the journal."""
    journal = tmp_path / "run.db"
    await run_all(suno, song_requests(2), journal=journal)
    async with suno.generate_many(song_requests(4), journal=journal, dry_run=True) as run:
        assert run.estimate.to_send == 2
    assert len(read_journal(journal)) == 2
    assert fake.requests[GENERATE] == 2


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param(
            lambda reqs: [
                reqs[0],
                GenerateRequest(model="chirp-v4", title="other", description="x"),
                *reqs[2:],
            ],
            "request 1 .* is not the journal's request 1",
            id="changed",
        ),
        pytest.param(lambda reqs: reqs[:2], "holds 3 requests, the list only 2", id="removed"),
        pytest.param(lambda reqs: reqs[1:] + reqs[:1], "request 0", id="reordered"),
    ],
)
async def test_an_edited_request_is_refused_with_a_hint_that_pays_nothing_twice(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path, change: object, match: str
) -> None:
    """Changed, removed or moved requests are refused; the hint never says start afresh."""
    journal = tmp_path / "run.db"
    reqs = song_requests(3)
    await run_all(suno, reqs, journal=journal)
    with pytest.raises(JournalMismatchError, match=match) as info:
        await run_all(suno, change(reqs), journal=journal)  # type: ignore[operator]
    message = str(info.value)
    assert "add new requests only at the end" in message
    assert "new journal" not in message
    assert fake.requests[GENERATE] == 3


@pytest.mark.parametrize("loss", ["deleted", "emptied", "renamed"])
async def test_a_new_journal_beside_this_runs_media_is_refused(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path, loss: str
) -> None:
    """
    The journal gone, cut to 0 bytes or passed under a new name while the folder holds the
    run's songs: refused, nothing paid; allow_existing_media=True pays again on purpose.
    """
    journal, out = tmp_path / "run.db", tmp_path / "out"
    reqs = song_requests(4)
    await run_all(suno, reqs, journal=journal, download_to=out)
    assert fake.requests[GENERATE] == 4
    if loss == "deleted":
        journal.unlink()
    elif loss == "emptied":
        journal.write_bytes(b"")
    else:
        journal = tmp_path / "other.db"
    with pytest.raises(ExistingMediaError, match="already holds 8 file") as info:
        await run_all(suno, reqs, journal=journal, download_to=out)
    assert "Nothing was sent" in str(info.value)
    assert fake.requests[GENERATE] == 4
    # The refusal left the journal new: a second try is refused just the same.
    with pytest.raises(ExistingMediaError):
        await run_all(suno, reqs, journal=journal, download_to=out)
    outcomes = await run_all(
        suno, reqs, journal=journal, download_to=out, allow_existing_media=True
    )
    assert len(outcomes) == 4
    assert fake.requests[GENERATE] == 8


async def test_a_part_file_alone_counts_and_other_files_do_not(
    suno: AsyncSuno, fake: FakeSunoServer, tmp_path: Path
) -> None:
    """A `.part` of one of the run's songs is refused; files of other songs are no reason."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "123-Unrelated tune.mp3").write_bytes(b"x")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    reqs = song_requests(2)
    outcomes = await run_all(suno, reqs, journal=tmp_path / "a.db", download_to=out)
    assert len(outcomes) == 2
    other = tmp_path / "other"
    other.mkdir()
    (other / f".999-{reqs[1].title}.mp3.part").write_bytes(b"half")
    with pytest.raises(ExistingMediaError, match=r"1 file\(s\).*\.part"):
        await run_all(suno, reqs, journal=tmp_path / "b.db", download_to=other)
    assert fake.requests[GENERATE] == 2


async def test_identical_requests_warn_before_sending_and_are_each_paid(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """Repeated requests are named in a warning before the first call; each is still sent."""
    one, two = song_requests(2)
    with pytest.warns(DuplicateRequestsWarning, match=r"2 request\(s\).*requests 0 = 2 = 3"):
        run = suno.generate_many([one, two, one, one])
    assert fake.requests[GENERATE] == 0
    with anyio.fail_after(10):
        async with run:
            outcomes = [o async for o in run]
    assert len(outcomes) == 4
    assert fake.requests[GENERATE] == 4
