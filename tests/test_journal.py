"""The SQLite journal of bulk runs: creation, matching, locking, writes and export."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import attrs
import pytest

from helpers import song_requests
from suno_async import GenerateRequest
from suno_async._journal import (
    Journal,
    JournalConflictError,
    JournalError,
    JournalLockedError,
    JournalMismatchError,
    export_journal,
    read_journal,
    request_key,
)

pytestmark = pytest.mark.anyio


async def test_new_journal(tmp_path: Path) -> None:
    """A new journal holds one planned row per request, keyed stably; reopening loads them."""
    path = tmp_path / "run.db"
    journal = Journal(path)
    rows = await journal.open(song_requests(3))
    await journal.aclose()
    assert [r.state for r in rows] == ["planned"] * 3
    assert [r.key for r in rows] == [request_key(i, r) for i, r in enumerate(song_requests(3))]
    again = Journal(path)
    assert await again.open(song_requests(3)) == rows
    await again.aclose()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (1,)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_main_file_alone_holds_every_state(tmp_path: Path) -> None:
    """While a run holds the journal, a copy of the main file alone already holds every state."""
    path = tmp_path / "run.db"
    journal = Journal(path)
    await journal.open(song_requests(3))
    await journal.commit(journal.set_state(0, "sending"))
    await journal.commit(journal.set_state(1, "started", task_ids=[7]))
    copy = tmp_path / "copy.db"
    copy.write_bytes(path.read_bytes())  # a backup of the main file, without any side file
    await journal.aclose()
    assert _names(tmp_path) == ["copy.db", "run.db"]  # no side file, no lock file
    assert [(r["state"], r["task_ids"]) for r in read_journal(copy)] == [
        ("sending", []),
        ("started", [7]),
        ("planned", []),
    ]


def test_keys_depend_on_position_and_content() -> None:
    """The same request at another place, or with one field changed, has another key."""
    one, two = song_requests(2)
    assert request_key(0, one) == request_key(0, attrs.evolve(one))
    assert request_key(0, one) != request_key(1, one)
    assert request_key(0, one) != request_key(0, two)


def _with_another_third() -> list[GenerateRequest]:
    changed = song_requests(4)
    changed[2] = GenerateRequest(model="chirp-v4", title="other", description="x")
    return changed


@pytest.mark.parametrize(
    ("other", "held", "match", "index"),
    [
        pytest.param(
            _with_another_third(),
            False,
            r"request 2 \(title 'other'\)",
            2,
            id="a-request-changed",
        ),
        pytest.param(
            song_requests(3),
            False,
            "holds 4 requests, the list only 3",
            3,
            id="a-request-removed",
        ),
        pytest.param(
            song_requests(4),
            True,
            "in use by another run",
            None,
            id="held-by-another-run",
        ),
    ],
)
async def test_an_open_that_cannot_resume_the_journal_is_refused(
    tmp_path: Path,
    other: list[GenerateRequest],
    held: bool,
    match: str,
    index: int | None,
) -> None:
    """
    Other requests are refused naming the first that differs; while a run holds the
    journal another cannot open it. A refused open leaves the lock free.
    """
    path = tmp_path / "run.db"
    first = Journal(path)
    await first.open(song_requests(4))
    if not held:
        await first.aclose()
    error = JournalLockedError if held else JournalMismatchError
    with pytest.raises(error, match=match) as info:
        await Journal(path).open(other)
    if held:
        await first.aclose()
    else:
        assert isinstance(info.value, JournalMismatchError)
        assert info.value.index == index
    again = Journal(path)
    await again.open(song_requests(4))
    await again.aclose()


async def test_changes_reach_the_disk_and_export_as_jsonl(tmp_path: Path) -> None:
    """Committed and recorded changes are on disk after a flush, and export line by line."""
    path = tmp_path / "run.db"
    journal = Journal(path)
    await journal.open(song_requests(3))
    await journal.commit(journal.set_state(0, "sending"))
    assert read_journal(path)[0]["state"] == "sending"
    journal.record(journal.set_state(0, "started", task_ids=[11, 12]))
    journal.record(journal.set_state(1, "sending"))
    journal.record(journal.set_state(1, "planned", error="refused"))
    await journal.flush()
    journal.record(journal.set_state(0, "downloaded", paths=["a.mp3", "b.mp3"]))
    await journal.aclose()
    out = io.StringIO()
    assert export_journal(path, out) == 3
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["state"] == "downloaded"
    assert lines[0]["task_ids"] == [11, 12]
    assert lines[0]["paths"] == ["a.mp3", "b.mp3"]
    assert lines[0]["attempts"] == 1
    assert lines[0]["request"]["title"] == "song 0"
    assert (lines[1]["state"], lines[1]["error"], lines[1]["attempts"]) == ("planned", "refused", 1)
    assert lines[2]["state"] == "planned"
    target = tmp_path / "run.jsonl"
    assert export_journal(path, target) == 3
    assert target.read_text(encoding="utf-8") == out.getvalue()


async def test_a_failed_write_refuses_later_commits_and_keeps_recording(tmp_path: Path) -> None:
    """A write SQLite refuses fails its waiter and every later commit; records still land."""
    journal = Journal(tmp_path / "run.db")
    await journal.open(song_requests(2))
    bad = journal.set_state(0, "bogus")  # type: ignore[arg-type]
    with pytest.raises(JournalError, match="could not be written"):
        await journal.commit(bad)
    with pytest.raises(JournalError, match="run again to resume"):
        await journal.commit(journal.set_state(1, "sending"))
    journal.record(journal.set_state(0, "started", task_ids=[7, 8]))
    await journal.flush()
    assert journal.unsaved() == frozenset()
    assert journal.failure() is not None
    await journal.aclose()
    rows = read_journal(tmp_path / "run.db")
    assert [(r["state"], r["task_ids"]) for r in rows] == [("started", [7, 8]), ("planned", [])]


async def test_files_that_are_not_journals_are_refused(tmp_path: Path) -> None:
    """A text file, or a journal from a newer version, is refused and left as it was."""
    text = tmp_path / "notes.db"
    text.write_text("not sqlite at all, just some words that fill a page" * 100)
    with pytest.raises(JournalError, match="not a journal"):
        await Journal(text).open(song_requests(1))
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(JournalError, match="schema 99, newer"):
        await Journal(newer).open(song_requests(1))
    with pytest.raises(JournalError, match="no journal at"):
        read_journal(tmp_path / "missing.db")


async def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    """A SQLite file of another program is not made into a journal: refused, unchanged."""
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="another program's database"):
        await Journal(path).open(song_requests(1))
    conn = sqlite3.connect(path)
    try:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    assert (tables, mode) == (["users"], "delete")


async def test_reading_a_damaged_journal_is_a_journal_error(tmp_path: Path) -> None:
    """A folder in its place, a newer schema or a row that is not JSON: JournalError."""
    folder = tmp_path / "folder.db"
    folder.mkdir()
    with pytest.raises(JournalError, match="not a readable journal"):
        export_journal(folder, io.StringIO())
    path = tmp_path / "run.db"
    journal = Journal(path)
    await journal.open(song_requests(1))
    await journal.aclose()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE requests SET task_ids = 'not json'")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="not a readable journal"):
        export_journal(path, io.StringIO())
    with pytest.raises(JournalError, match="not a usable journal"):
        await Journal(path).open(song_requests(1))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(JournalError, match="schema 99, newer"):
        read_journal(path)


def _link(path: Path, how: str) -> Path:
    other = path.with_name(f"{how}.db")
    if how == "symlink":
        other.symlink_to(path)
    else:
        other.hardlink_to(path)
    return other


@pytest.mark.parametrize("how", ["symlink", "hardlink"])
async def test_a_second_name_meets_the_same_lock(tmp_path: Path, how: str) -> None:
    """A run on the journal through a symlink or a hard link is refused while another holds it."""
    path = tmp_path / "run.db"
    first = Journal(path)
    await first.open(song_requests(2))
    with pytest.raises(JournalLockedError) as info:
        await Journal(_link(path, how)).open(song_requests(2))
    assert isinstance(info.value, JournalError)
    await first.aclose()


async def test_sending_only_from_the_state_last_seen(tmp_path: Path) -> None:
    """A row another writer moved on is not moved to sending: the commit says so."""
    path = tmp_path / "run.db"
    journal = Journal(path)
    await journal.open(song_requests(2))
    await journal.commit(journal.set_state(0, "started", task_ids=[5]))
    with pytest.raises(JournalConflictError):
        await journal.commit(journal.set_state(0, "sending", only_from="planned"))
    await journal.commit(journal.set_state(1, "sending", only_from="planned"))
    await journal.aclose()
    assert [r["state"] for r in read_journal(path)] == ["started", "sending"]
