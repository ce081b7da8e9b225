"""`suno-async bulk` and `suno-async demo`, as subprocesses against fake servers."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_harness import (
    Run,
    ThreadedFake,
    check_no_key,
    cli_env,
    finish,
    run_cli,
    run_here,
    start_cli,
    write_jsonl,
)
from helpers import ROOT
from suno_async import JournalError
from suno_async._journal import read_journal
from suno_async.cli import ExitCode
from suno_async.cli._bulk import JOURNAL_NAME
from suno_async.testing import Fault, TaskPlan


@pytest.fixture
def fake() -> Iterator[ThreadedFake]:
    with ThreadedFake() as server:
        yield server


def test_a_malformed_line_is_reported_by_number_and_nothing_sent(
    fake: ThreadedFake, tmp_path: Path
) -> None:
    """Every line is checked first: the bad ones are named by number, exit 2, no request."""
    path = tmp_path / "songs.jsonl"
    good = {"title": "Rain", "description": "lo-fi beats"}
    lines = [json.dumps(good), "", json.dumps(good), "{not json", json.dumps({"title": "x"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = run_cli("bulk", str(path), "--out", str(tmp_path / "out"), fake=fake)
    assert run.code == ExitCode.NOTHING_SENT
    (line,) = run.stderr.strip().splitlines()
    assert "line 4: not JSON" in line
    assert "line 5: description/lyrics: give exactly one" in line
    assert "Nothing was sent" in line
    assert fake.sync(lambda: fake.server.total_requests) == 0


def test_a_line_nested_too_deep_is_bad_input(fake: ThreadedFake, tmp_path: Path) -> None:
    """JSON nested past the parser's depth is a bad line like any other: exit 2, unsent."""
    path = tmp_path / "deep.jsonl"
    nested = "[" * 3000 + "]" * 3000
    path.write_text(f'{{"title": "A", "description": "a", "n": {nested}}}\n', encoding="utf-8")
    run = run_here("bulk", str(path), "--out", str(tmp_path / "out"), env=cli_env(fake))
    assert run.code == ExitCode.NOTHING_SENT
    assert "line 1: not JSON" in run.stderr
    assert fake.sync(lambda: fake.server.total_requests) == 0


def test_a_journal_that_cannot_be_opened_is_exit_3(fake: ThreadedFake, tmp_path: Path) -> None:
    """A journal path under a file is a setup problem (3), not the service's (4)."""
    path = write_jsonl(tmp_path / "songs.jsonl", [{"title": "Rain", "description": "lo-fi"}])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    args = ("bulk", str(path), "--out", str(tmp_path / "out"), "--journal", str(blocker / "j.db"))
    run = run_here(*args, env=cli_env(fake))
    assert run.code == ExitCode.CONFIG
    assert "cannot open the journal" in run.stderr
    assert fake.sync(lambda: fake.server.total_requests) == 0


def test_an_unknown_field_is_named(fake: ThreadedFake, tmp_path: Path) -> None:
    """A typo in a field name is caught with the list of the real ones."""
    path = write_jsonl(tmp_path / "a.jsonl", [{"title": "t", "descripton": "d"}])
    run = run_here("bulk", str(path), "--out", str(tmp_path / "out"), env=cli_env(fake))
    assert run.code == ExitCode.NOTHING_SENT
    assert "line 1: unknown field 'descripton'" in run.stderr


def test_the_readme_demo_runs_offline_with_journal_and_songs(
    fake: ThreadedFake, tmp_path: Path
) -> None:
    """
    The README's `suno-async demo`, run as the installed script: exit 0, two dozen songs
    (two failed on purpose) in the journal and on disk, and with a key and a base URL set it
    still talks to its own fake server only.
    """
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "&& suno-async demo\n" in readme
    script = Path(sys.executable).with_name("suno-async")
    out = tmp_path / "demo"
    done = subprocess.run(
        [str(script), "demo", "--out", str(out), "--json"],
        env=cli_env(fake),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    check_no_key(done.stdout, done.stderr)
    run = Run(done.returncode, done.stdout, done.stderr)
    assert run.code == ExitCode.OK, run.stderr
    assert fake.sync(lambda: fake.server.total_requests) == 0
    outcomes = run.of("outcome")
    assert len(outcomes) == 12
    assert sum(len(o["songs"]) for o in outcomes) == 22  # two dozen, two failed on purpose
    assert sorted(o["state"] for o in outcomes).count("failed") == 2
    (demo,) = run.of("demo")
    assert demo["folder"] == str(out)
    rows = read_journal(out / JOURNAL_NAME)
    assert [row["index"] for row in rows] == list(range(12))
    assert sorted(row["state"] for row in rows) == ["downloaded"] * 10 + ["failed"] * 2
    assert len({task_id for row in rows for task_id in row["task_ids"]}) == 24
    paths = sorted(Path(path) for row in rows for path in row["paths"])
    assert paths == _audio(out)
    assert len(paths) == 22
    assert all(path.stat().st_size > 0 for path in paths)


def _songs_file(tmp_path: Path, count: int) -> Path:
    rows = [{"title": f"Song {n}", "description": f"a song numbered {n}"} for n in range(count)]
    return write_jsonl(tmp_path / "songs.jsonl", rows)


def test_bulk_runs_to_the_end_and_a_rerun_sends_nothing(fake: ThreadedFake, tmp_path: Path) -> None:
    """Every request done and downloaded, journal beside the media; a re-run pays nothing."""
    path, out = _songs_file(tmp_path, 4), tmp_path / "out"
    args = ("bulk", str(path), "--out", str(out), "--json", "--max-in-flight", "2")
    run = run_cli(*args, fake=fake)
    assert run.code == ExitCode.OK, run.stderr
    outcomes = run.of("outcome")
    assert sorted(o["line"] for o in outcomes) == [1, 2, 3, 4]
    assert all(o["state"] == "done" and len(o["paths"]) == 2 for o in outcomes)
    assert len(_audio(out)) == 8
    assert (out / "suno-journal.sqlite").exists()
    (summary,) = run.of("summary")
    assert (summary["done"], summary["points_spent"]) == (4, 144)
    assert fake.paid_calls() == 4
    again = run_cli("bulk", str(path), "--out", str(out), "--json", fake=fake)
    assert again.code == ExitCode.OK, again.stderr
    assert again.of("outcome") == []
    assert again.of("estimate")[0]["to_send"] == 0
    assert fake.paid_calls() == 4


def test_media_kinds_and_no_download(fake: ThreadedFake, tmp_path: Path) -> None:
    """--media picks what of each song is saved; --no-download saves nothing."""
    path = _songs_file(tmp_path, 1)
    both = run_cli(
        "bulk", str(path), "--out", str(tmp_path / "a"), "--media", "audio,cover", fake=fake
    )
    assert both.code == ExitCode.OK, both.stderr
    assert len(_audio(tmp_path / "a")) == 2
    assert (
        len(
            [
                p
                for p in (tmp_path / "a").iterdir()
                if p.suffix in {".png", ".jpg", ".jpeg", ".webp"}
            ]
        )
        == 2
    )
    none = run_here(
        "bulk", str(path), "--out", str(tmp_path / "b"), "--no-download", env=cli_env(fake)
    )
    assert none.code == ExitCode.OK, none.stderr
    assert not _audio(tmp_path / "b")
    bad = run_here(
        "bulk", str(path), "--out", str(tmp_path / "c"), "--media", "lyrics", env=cli_env(fake)
    )
    assert bad.code == ExitCode.NOTHING_SENT


def test_dry_run_sends_nothing(fake: ThreadedFake, tmp_path: Path) -> None:
    """--dry-run prints the cost against the balance and sends nothing paid."""
    path = _songs_file(tmp_path, 3)
    run = run_here("bulk", str(path), "--out", str(tmp_path / "o"), "--dry-run", env=cli_env(fake))
    assert run.code == ExitCode.OK, run.stderr
    assert "3 to send now (108 points, balance 10000)" in run.stdout
    assert fake.paid_calls() == 0


def test_budget_and_balance_stop_with_exit_3(fake: ThreadedFake, tmp_path: Path) -> None:
    """--max-points sends what fits (the rest not sent); a run over the balance sends nothing."""
    path, out = _songs_file(tmp_path, 4), tmp_path / "out"
    capped = run_cli(
        "bulk", str(path), "--out", str(out), "--max-points", "72", "--json", fake=fake
    )
    assert capped.code == ExitCode.CONFIG
    states = sorted(o["state"] for o in capped.of("outcome"))
    assert states == ["done", "done", "not_sent", "not_sent"]
    assert fake.paid_calls() == 2
    fake.sync(lambda: setattr(fake.server, "points", 50))
    poor = run_here("bulk", str(path), "--out", str(tmp_path / "o2"), env=cli_env(fake))
    assert poor.code == ExitCode.CONFIG
    assert "balance is 50" in poor.stderr
    assert fake.paid_calls() == 2


def test_a_rate_limit_that_outlasts_the_retries_is_exit_4(
    fake: ThreadedFake, tmp_path: Path
) -> None:
    """Sending stopped by the rate limit: try again later (4), and a re-run sends the rest."""
    path, out = _songs_file(tmp_path, 3), tmp_path / "out"
    limit = Fault("429", "/music/generate", retry_after="0", times=1_000)
    fake.sync(lambda: fake.server.faults.append(limit))
    limited = run_here("bulk", str(path), "--out", str(out), "--json", env=cli_env(fake))
    assert limited.code == ExitCode.SERVICE, limited.stderr
    assert sorted(o["state"] for o in limited.of("outcome")) == ["not_sent"] * 3

    def charged() -> int:
        return fake.sync(lambda: len(fake.server.accepted_calls))

    assert charged() == 0
    fake.sync(fake.server.faults.clear)
    resumed = run_here("bulk", str(path), "--out", str(out), "--json", env=cli_env(fake))
    assert resumed.code == ExitCode.OK, resumed.stderr
    assert charged() == 3


def test_a_failed_song_makes_exit_1(fake: ThreadedFake, tmp_path: Path) -> None:
    """One failed song: its request is reported failed (with the other song saved), exit 1."""
    fake.sync(lambda: fake.server.plans.extend([TaskPlan(), TaskPlan(succeed=False)]))
    path, out = _songs_file(tmp_path, 2), tmp_path / "out"
    run = run_cli("bulk", str(path), "--out", str(out), "--json", fake=fake)
    assert run.code == ExitCode.TASKS_FAILED
    assert sorted(o["state"] for o in run.of("outcome")) == ["done", "failed"]
    assert len(_audio(out)) == 3


def _started(journal: Path) -> int:
    """Requests the running bulk command has recorded as started (read-only, as it runs)."""
    from suno_async._journal import read_journal

    if not journal.exists():
        return 0
    try:
        return sum(row["state"] == "started" for row in read_journal(journal))
    except (JournalError, sqlite3.Error):  # created but not yet set up
        return 0


def test_sigint_then_resume_pays_each_request_once(fake: ThreadedFake, tmp_path: Path) -> None:
    """Ctrl-C mid-wait stops cleanly (exit 130); the same command then finishes the job."""
    fake.sync(lambda: setattr(fake.server, "speed", 0.0))  # nothing finishes until resumed
    path, out = _songs_file(tmp_path, 6), tmp_path / "out"
    proc = start_cli("bulk", str(path), "--out", str(out), "--json", fake=fake)
    journal = out / "suno-journal.sqlite"
    deadline = time.monotonic() + 30
    while _started(journal) < 6:  # every request accepted and its ids on disk
        assert time.monotonic() < deadline, fake.paid_calls()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stopped = finish(proc)
    assert stopped.code == ExitCode.INTERRUPTED, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert "the journal is saved: run the same command again to resume" in stopped.stderr
    assert fake.paid_calls() == 6

    fake.sync(lambda: setattr(fake.server, "speed", 1000.0))
    resumed = run_cli("bulk", str(path), "--out", str(out), "--json", fake=fake)
    assert resumed.code == ExitCode.OK, resumed.stderr
    assert resumed.of("estimate")[0]["already_started"] == 6
    assert sorted(o["line"] for o in resumed.of("outcome")) == [1, 2, 3, 4, 5, 6]
    assert fake.paid_calls() == 6
    titles = fake.sync(lambda: [c.body["title"] for c in fake.server.accepted_calls])
    assert sorted(titles) == [f"Song {n}" for n in range(6)]
    assert len(_audio(out)) == 12


def test_a_second_ctrl_c_quits_at_once_without_a_traceback(
    fake: ThreadedFake, tmp_path: Path
) -> None:
    """
    Ctrl-C twice in quick succession, while POSTs are still out (the first Ctrl-C waits for
    them): it quits at once, with no traceback, and the run resumes without paying twice.
    """
    fake.sync(lambda: setattr(fake.server, "speed", 0.0))
    fake.sync(lambda: setattr(fake.server, "paid_latency", 1.0))
    path, out = _songs_file(tmp_path, 12), tmp_path / "out"
    proc = start_cli("bulk", str(path), "--out", str(out), "--json", fake=fake)
    journal = out / "suno-journal.sqlite"
    deadline = time.monotonic() + 30
    while _started(journal) < 1:  # the first answers are in; the next POSTs are out
        assert time.monotonic() < deadline, fake.paid_calls()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stopped = finish(proc)
    # Exit 130, or killed by the second SIGINT while exiting: a shell sees 130 either way.
    assert stopped.code in {ExitCode.INTERRUPTED, -signal.SIGINT}, stopped.stderr
    assert "Traceback" not in stopped.stderr
    fake.sync(lambda: setattr(fake.server, "speed", 1000.0))
    fake.sync(lambda: setattr(fake.server, "paid_latency", 0.0))
    resumed = run_cli("bulk", str(path), "--out", str(out), "--json", fake=fake)
    assert "Traceback" not in resumed.stderr
    # A POST cut off by the quit is `unknown` and not sent again: no song is paid twice.
    titles = fake.sync(lambda: [c.body["title"] for c in fake.server.accepted_calls])
    assert len(titles) == len(set(titles))


def test_a_changed_file_is_refused_by_its_journal(fake: ThreadedFake, tmp_path: Path) -> None:
    """Re-running with a different file on the same journal names the change; nothing sent."""
    path, out = _songs_file(tmp_path, 2), tmp_path / "out"
    first = run_here("bulk", str(path), "--out", str(out), "--no-download", env=cli_env(fake))
    assert first.code == ExitCode.OK, first.stderr
    rows = [
        {"title": "Song 0", "description": "a song numbered 0"},
        {"title": "Other", "description": "x"},
    ]
    write_jsonl(path, rows)
    changed = run_here("bulk", str(path), "--out", str(out), "--no-download", env=cli_env(fake))
    assert changed.code == ExitCode.NOTHING_SENT
    (line,) = changed.stderr.strip().splitlines()
    assert f"line 2 of {path} is not what the journal recorded" in line
    assert "'Other'" in line
    assert fake.paid_calls() == 2


def test_a_byte_order_mark_is_skipped(fake: ThreadedFake, tmp_path: Path) -> None:
    """A file saved with a UTF-8 BOM (as some Windows editors do) reads like any other."""
    path = _songs_file(tmp_path, 2)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    run = run_here("bulk", str(path), "--out", str(tmp_path / "o"), "--dry-run", env=cli_env(fake))
    assert run.code == ExitCode.OK, run.stderr
    assert "2 to send now" in run.stdout


def test_a_line_that_is_not_utf8_is_named_by_number(fake: ThreadedFake, tmp_path: Path) -> None:
    """Bad UTF-8 is a bad line like any other: its number is given, nothing is sent."""
    path = _songs_file(tmp_path, 3)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = b'{"title": "caf\xe9", "description": "latin-1, not UTF-8"}\n'
    path.write_bytes(b"".join(lines))
    run = run_here("bulk", str(path), "--out", str(tmp_path / "o"), env=cli_env(fake))
    assert run.code == ExitCode.NOTHING_SENT
    assert "line 2: not UTF-8 text" in run.stderr
    assert fake.paid_calls() == 0


def test_a_huge_field_name_is_quoted_as_a_snippet(fake: ThreadedFake, tmp_path: Path) -> None:
    """A field name of hundreds of kilobytes is cut in the message, which stays one short line."""
    name = "x" * 300_000
    path = write_jsonl(tmp_path / "a.jsonl", [{"title": "t", "description": "d", name: 1}])
    run = run_here("bulk", str(path), "--out", str(tmp_path / "o"), env=cli_env(fake))
    assert run.code == ExitCode.NOTHING_SENT
    assert "line 1: unknown field 'xxxx" in run.stderr
    assert "(300000 characters)" in run.stderr
    assert len(run.stderr) < 1_000


def test_a_line_past_the_cap_is_refused(fake: ThreadedFake, tmp_path: Path) -> None:
    """A line longer than any prompt (here 2 MB of zero bytes) is refused as the wrong file."""
    path = tmp_path / "zeros"
    path.write_bytes(b"\0" * 2_000_000)
    run = run_here("bulk", str(path), "--out", str(tmp_path / "o"), env=cli_env(fake))
    assert run.code == ExitCode.NOTHING_SENT
    assert "line 1 is longer than 1048576 bytes" in run.stderr
    assert fake.paid_calls() == 0


def test_an_endless_file_is_refused(fake: ThreadedFake, tmp_path: Path) -> None:
    """`bulk /dev/zero` reads a bounded amount and ends with a clear error."""
    run = run_here("bulk", "/dev/zero", "--out", str(tmp_path / "o"), env=cli_env(fake))
    assert run.code == ExitCode.NOTHING_SENT
    assert "is longer than" in run.stderr


def test_a_file_past_the_total_cap_is_refused(fake: ThreadedFake, tmp_path: Path) -> None:
    """Many short lines past the total cap are refused before any is sent."""
    from suno_async.cli._jsonl import MAX_FILE_BYTES

    path = tmp_path / "big.jsonl"
    line = b" " * 1023 + b"\n"
    with path.open("wb") as file:
        for _ in range(MAX_FILE_BYTES // len(line) + 1):
            file.write(line)
    run = run_here("bulk", str(path), "--out", str(tmp_path / "o"), env=cli_env(fake))
    assert run.code == ExitCode.NOTHING_SENT
    assert "is larger than 64 MB" in run.stderr


def test_lines_added_at_the_end_are_sent_on_the_next_run(
    fake: ThreadedFake, tmp_path: Path
) -> None:
    """A finished file grown by a line: only the new line is sent, named by its number."""
    path, out = _songs_file(tmp_path, 2), tmp_path / "out"
    first = run_here("bulk", str(path), "--out", str(out), "--json", env=cli_env(fake))
    assert first.code == ExitCode.OK, first.stderr
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps({"title": "Song 2", "description": "an added one"}) + "\n")
    grown = run_here("bulk", str(path), "--out", str(out), "--json", env=cli_env(fake))
    assert grown.code == ExitCode.OK, grown.stderr
    assert [o["line"] for o in grown.of("outcome")] == [3]
    assert fake.paid_calls() == 3


def test_a_lost_journal_beside_the_media_is_refused(fake: ThreadedFake, tmp_path: Path) -> None:
    """The journal deleted after a finished run: refused (exit 3) with the safe next step."""
    path, out = _songs_file(tmp_path, 2), tmp_path / "out"
    first = run_here("bulk", str(path), "--out", str(out), env=cli_env(fake))
    assert first.code == ExitCode.OK, first.stderr
    (out / JOURNAL_NAME).write_bytes(b"")
    again = run_here("bulk", str(path), "--out", str(out), env=cli_env(fake))
    assert again.code == ExitCode.CONFIG
    (line,) = again.stderr.strip().splitlines()
    assert "already holds 4 file(s) of this run's songs" in line
    assert "pass it with --journal" in line
    assert "--allow-existing-media" in line
    assert fake.paid_calls() == 2
    forced = run_here(
        "bulk", str(path), "--out", str(out), "--allow-existing-media", env=cli_env(fake)
    )
    assert forced.code == ExitCode.OK, forced.stderr
    assert fake.paid_calls() == 4


def test_identical_lines_are_named_before_sending_and_dedupe_pays_once(
    fake: ThreadedFake, tmp_path: Path
) -> None:
    """Repeated lines are named on stderr (each paid); --dedupe sends each request once."""
    song = {"title": "Rain", "description": "lo-fi"}
    path = write_jsonl(tmp_path / "a.jsonl", [song, {"title": "B", "description": "b"}, song])
    paid = run_here("bulk", str(path), "--out", str(tmp_path / "a"), env=cli_env(fake))
    assert paid.code == ExitCode.OK, paid.stderr
    assert "warning: identical lines (1 = 3): each is sent and paid" in paid.stderr
    assert fake.paid_calls() == 3
    once = run_here(
        "bulk", str(path), "--out", str(tmp_path / "b"), "--dedupe", "--json", env=cli_env(fake)
    )
    assert once.code == ExitCode.OK, once.stderr
    assert "each is sent once (--dedupe)" in once.stderr
    assert once.of("duplicates")[0]["lines"] == [[1, 3]]
    assert sorted(o["line"] for o in once.of("outcome")) == [1, 2]
    assert fake.paid_calls() == 5


def test_sigterm_mid_post_stops_like_ctrl_c(fake: ThreadedFake, tmp_path: Path) -> None:
    """
    SIGTERM (docker stop, systemd) while POSTs are out: sending stops, the calls in flight
    are answered and journaled (none left unknown), exit 143 with the resume hint.
    """
    fake.sync(lambda: setattr(fake.server, "speed", 0.0))
    fake.sync(lambda: setattr(fake.server, "paid_latency", 0.5))
    path, out = _songs_file(tmp_path, 8), tmp_path / "out"
    proc = start_cli("bulk", str(path), "--out", str(out), "--max-in-flight", "2", fake=fake)
    deadline = time.monotonic() + 30
    while fake.sync(lambda: fake.server.requests["POST /music/generate"]) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    stopped = finish(proc)
    assert stopped.code == ExitCode.TERMINATED, stopped.stderr
    assert "terminated; the journal is saved: run the same command again" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    states = [row["state"] for row in read_journal(out / JOURNAL_NAME)]
    assert "sending" not in states
    assert len(states) - states.count("planned") == fake.paid_calls() < 8


def _audio(out: Path) -> list[Path]:
    """The songs on disk, whatever the dialect names them (mp3, or the live m4a)."""
    return sorted(p for p in out.iterdir() if p.suffix in {".mp3", ".m4a"})


def test_downloads_that_failed_are_exit_4_and_a_rerun_fetches_them(
    fake: ThreadedFake, tmp_path: Path
) -> None:
    """Every song done, no file on disk: exit 4 saying how many are missing, not "all done"."""
    path, out = _songs_file(tmp_path, 4), tmp_path / "out"
    outage = Fault("503", "GET /media", retry_after=None, times=100_000)
    fake.sync(lambda: fake.server.faults.append(outage))
    run = run_cli("bulk", str(path), "--out", str(out), fake=fake)
    assert run.code == ExitCode.SERVICE, run.stderr
    assert "8 file(s) are missing" in run.stderr
    assert "run the same command again to fetch them" in run.stderr
    assert "4 done, 0 failed, 0 pending" in run.stdout
    assert _audio(out) == []
    fake.sync(fake.server.faults.clear)
    again = run_cli("bulk", str(path), "--out", str(out), "--json", fake=fake)
    assert again.code == ExitCode.OK, again.stderr
    assert len(_audio(out)) == 8
    assert fake.paid_calls() == 4


def test_a_key_refused_mid_wait_and_a_media_outage_end_collected_by_the_next_run(
    fake: ThreadedFake, tmp_path: Path
) -> None:
    """
    401s on task queries and a media outage in the middle of a run: nothing is failed, the
    run exits 4 naming what is pending, and the next run collects every song, paying nothing.
    """
    path, out = _songs_file(tmp_path, 6), tmp_path / "out"
    fake.sync(lambda: setattr(fake.server, "speed", 0.0))
    proc = start_cli("bulk", str(path), "--out", str(out), "--json", fake=fake)
    journal = out / JOURNAL_NAME
    deadline = time.monotonic() + 30
    while _started(journal) < 6:
        assert time.monotonic() < deadline, fake.paid_calls()
        time.sleep(0.05)
    refused = "access_key 无效或已被禁用"
    burst = [
        Fault("401", "/music/tasks", times=3, message=refused),
        Fault("401", "/music/task", times=3, message=refused),
    ]
    outage = Fault("503", "GET /media", retry_after=None, times=100_000)

    def strike() -> None:
        fake.server.faults.extend([*burst, outage])
        fake.server.advance(300)  # some songs finish now, their files meet the outage
        fake.server.speed = 1000.0

    fake.sync(strike)
    first = finish(proc)
    assert first.code == ExitCode.SERVICE, first.stderr
    states = [o["state"] for o in first.of("outcome")]
    assert "failed" not in states
    assert "pending" in states
    (summary,) = first.of("summary")
    assert summary["pending"] == states.count("pending")
    assert summary["failed"] == 0
    assert "Traceback" not in first.stderr
    assert fake.paid_calls() == 6
    fake.sync(fake.server.faults.clear)
    second = run_cli("bulk", str(path), "--out", str(out), "--json", fake=fake)
    assert second.code == ExitCode.OK, second.stderr
    assert [row["state"] for row in read_journal(journal)] == ["downloaded"] * 6
    assert len(_audio(out)) == 12
    assert fake.paid_calls() == 6


def test_the_budget_is_told_in_options_and_line_numbers(fake: ThreadedFake, tmp_path: Path) -> None:
    """--max-points and 1-based lines, and a balance hint that counts the journal's spending."""
    path, out = _songs_file(tmp_path, 4), tmp_path / "out"
    capped = run_here("bulk", str(path), "--out", str(out), "--max-points", "72", env=cli_env(fake))
    assert capped.code == ExitCode.CONFIG
    assert "--max-points 72 is reached: line 3" in capped.stdout + capped.stderr
    assert "max_points=" not in capped.stdout + capped.stderr
    fake.sync(lambda: setattr(fake.server, "points", 40))
    poor = run_here("bulk", str(path), "--out", str(out), env=cli_env(fake))
    assert poor.code == ExitCode.CONFIG
    assert "pass --max-points 112" in poor.stderr
    fitting = run_here(
        "bulk", str(path), "--out", str(out), "--max-points", "112", env=cli_env(fake)
    )
    assert fitting.code == ExitCode.CONFIG  # the budget stops the last request again
    assert fake.paid_calls() == 3


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_journal_that_cannot_be_written_mid_run_collects_and_lists_the_ids(
    fake: ThreadedFake, tmp_path: Path
) -> None:
    """
    The journal's file stops growing mid-run (a file size limit, as a full disk): sending
    stops, what was started is still awaited and downloaded, the ids the journal lacks are
    printed by line, and the run exits 3 without a traceback.
    """
    fake.sync(lambda: setattr(fake.server, "speed", 0.0))
    fake.sync(lambda: setattr(fake.server, "paid_latency", 0.3))
    path, out = _songs_file(tmp_path, 6), tmp_path / "out"
    child = str(Path(__file__).with_name("cli_child.py"))
    proc = subprocess.Popen(
        [
            *(sys.executable, child, "--poll-interval", "0.02", "bulk", str(path)),
            *("--out", str(out), "--json", "--max-in-flight", "2"),
        ],
        env=cli_env(fake, PYTHONPATH=str(ROOT)),  # this checkout, not an installed copy
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = out / JOURNAL_NAME
    deadline = time.monotonic() + 30
    # Two started, and a POST the fake holds for 0.3 s out: its answer meets the limit.
    while (started := _started(journal)) < 2 or fake.paid_calls() <= started:
        assert time.monotonic() < deadline, fake.paid_calls()
        time.sleep(0.02)
    proc.send_signal(signal.SIGUSR1)
    time.sleep(0.5)  # the POSTs in flight are answered; their ids cannot be written

    def finish_songs() -> None:
        fake.server.paid_latency = 0.0
        fake.server.speed = 1000.0
        fake.server.advance(600)

    fake.sync(finish_songs)
    run = finish(proc)
    assert run.code == ExitCode.CONFIG, run.stderr
    assert "Traceback" not in run.stderr
    (summary,) = run.of("summary")
    assert "could not be written" in summary["stop_reason"]
    accepted = fake.sync(
        lambda: {c.body["title"]: list(c.task_ids) for c in fake.server.accepted_calls}
    )
    assert 2 <= len(accepted) < 6
    rows = read_journal(journal)
    for row in rows:
        line = str(row["index"] + 1)
        ids = accepted.get(row["request"]["title"])
        if row["state"] == "sending":  # charged, its ids not on disk: they are printed
            assert summary["unsaved"][line] == ids
        elif row["state"] != "planned":
            assert row["task_ids"] == ids
    assert any(row["state"] == "sending" for row in rows)
    assert sorted(summary["unsaved"]) == sorted(
        str(r["index"] + 1) for r in rows if r["state"] != "planned"
    )
    # Every song paid for was still awaited and downloaded.
    assert len(_audio(out)) == 2 * len(accepted)
