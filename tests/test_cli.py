"""The `suno-async` command, run as a subprocess against the fake server in a thread."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_harness import (
    ThreadedFake,
    check_no_key,
    cli_env,
    command,
    finish,
    run_cli,
    run_here,
    run_in_pty,
    start_cli,
)
from helpers import KEY, free_port
from suno_async.cli import ExitCode, main
from suno_async.cli._parser import PAID_COMMANDS
from suno_async.testing import TaskPlan


@pytest.fixture
def fake() -> Iterator[ThreadedFake]:
    """A fresh fake server whose songs finish within about a tenth of a second."""
    with ThreadedFake() as server:
        yield server


@pytest.fixture(scope="module")
def shared() -> Iterator[ThreadedFake]:
    """One fake server for the follow-up calls, which need a finished song to work on."""
    with ThreadedFake() as server:
        yield server


@pytest.fixture(scope="module")
def song(shared: ThreadedFake) -> dict[str, Any]:
    """A finished song on the shared server, as `generate --wait --json` reports it."""
    run = run_cli(
        "--json", "generate", "--title", "Seed", "--description", "x", "--wait", fake=shared
    )
    assert run.code == 0, run.stderr
    result: dict[str, Any] = run.of("result")[0]["song"]
    return result


def test_import_suno_async_leaves_the_cli_out() -> None:
    """The library never imports the command line or its optional dependency, rich."""
    code = (
        "import sys, suno_async; "
        "assert 'rich' not in sys.modules, 'rich'; "
        "assert 'suno_async.cli' not in sys.modules, 'cli'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_console_script_is_installed_and_same_as_module() -> None:
    """`suno-async` (the installed script) and `python -m suno_async` print the same help."""
    script = Path(sys.executable).with_name("suno-async")
    assert script.exists(), "pip install -e . provides the suno-async script"
    by_script = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=True, timeout=30
    )
    by_module = run_cli("--help")
    assert by_module.code == 0
    assert by_script.stdout.replace("suno-async", "") == by_module.stdout.replace("suno-async", "")
    assert "exit codes:" in by_script.stdout


def test_version_is_the_installed_one(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the distribution's version and exits 0, sending nothing."""
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"suno-async {version('suno-async')}\n"


@pytest.mark.parametrize(
    "name", ["balance", "points-log", *PAID_COMMANDS, "task", "wait", "bulk", "demo"]
)
def test_every_command_has_help_with_an_example(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each subcommand's --help shows an example of itself and the exit codes."""
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"example:\n  suno-async {name}" in out
    assert "130  interrupted" in out


def test_usage_error_is_exit_2_and_one_line(fake: ThreadedFake) -> None:
    """A bad option value is refused by the parser: nothing sent, exit 2."""
    args = ("generate", "--title", "t", "--description", "d", "--weirdness", "2")
    run = run_here(*args, env=cli_env(fake))
    assert run.code == ExitCode.NOTHING_SENT
    assert "must be within 0..1" in run.stderr
    assert fake.sync(lambda: fake.server.total_requests) == 0


def test_balance_plain_and_json(fake: ThreadedFake) -> None:
    """balance prints the points, or one JSON event with them."""
    plain = run_cli("balance", fake=fake)
    assert (plain.code, plain.stdout) == (0, "10000 points\n")
    as_json = run_cli("balance", "--json", fake=fake)
    assert as_json.events() == [{"event": "balance", "remaining_points": 10000}]


def test_generate_without_wait_prints_ids(fake: ThreadedFake) -> None:
    """Without --wait the two task ids come back at once, with how to wait for them."""
    run = run_cli("--json", "generate", "--title", "Rain", "--description", "lo-fi", fake=fake)
    assert run.code == 0
    (started,) = run.events()
    assert started["event"] == "started"
    assert len(started["task_ids"]) == 2
    assert started["points"] == 36
    assert fake.paid_calls() == 1
    plain = run_here("generate", "--title", "Rain", "--description", "lo-fi", env=cli_env(fake))
    assert plain.stdout.startswith("started generate: task ")
    assert "suno-async wait" in plain.stderr


def test_generate_wait_json_reports_status_and_results(fake: ThreadedFake) -> None:
    """--wait --json: started, status events, then one result per song and a summary."""
    run = run_cli(
        "generate",
        "--title",
        "Blues",
        "--lyrics",
        "[Verse] waiting on futures",
        "--tags",
        "blues",
        "--vocal-gender",
        "f",
        "--style-weight",
        "0.5",
        "--wait",
        "--json",
        fake=fake,
    )
    assert run.code == ExitCode.OK, run.stderr
    ids = run.of("started")[0]["task_ids"]
    results = run.of("result")
    assert sorted(r["task_id"] for r in results) == sorted(ids)
    assert all(r["ok"] and r["song"]["title"] == "Blues" for r in results)
    assert {e["status"] for e in run.of("status")} <= {"queued", "generating", "succeeded"}
    (summary,) = run.of("summary")
    assert (summary["succeeded"], summary["failed"], summary["points_spent"]) == (2, 0, 36)
    sent = fake.sync(lambda: fake.server.task(ids[0]).params)
    assert sent["metadata"]["vocal_gender"] == "f"


def test_lyrics_from_stdin(fake: ThreadedFake) -> None:
    """--lyrics-file - reads the lyrics from stdin, as pipes expect."""
    args = ["--json", "generate", "--title", "t", "--lyrics-file", "-", "--tags", "folk"]
    done = subprocess.run(
        command(*args),
        input="[Verse] from a pipe\n",
        env=cli_env(fake),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    task_id = json.loads(done.stdout)["task_ids"][0]
    assert fake.sync(lambda: fake.server.task(task_id).params["prompt"]) == "[Verse] from a pipe\n"


def test_a_failed_song_is_exit_1(fake: ThreadedFake) -> None:
    """One failed song of two: exit 1, the failure reported with the service's reason."""
    fake.sync(lambda: fake.server.plans.extend([TaskPlan(succeed=False), TaskPlan()]))
    run = run_cli("generate", "--title", "t", "--description", "d", "--wait", "--json", fake=fake)
    assert run.code == ExitCode.TASKS_FAILED
    results = run.of("result")
    assert sorted(r["ok"] for r in results) == [False, True]
    failed = next(r for r in results if not r["ok"])
    assert failed["errormsg"]


def test_invalid_input_sends_nothing_even_without_a_key(fake: ThreadedFake) -> None:
    """Lyrics without tags fail validation first: exit 2, no key needed, no request."""
    env = cli_env(fake)
    del env["SUNO_API_KEY"]
    run = run_here("generate", "--title", "t", "--lyrics", "la la", env=env)
    assert run.code == ExitCode.NOTHING_SENT
    assert run.stderr.strip() == (
        "suno-async: error: tags: is required with lyrics (custom mode), e.g. 'pop, rock'"
    )
    assert fake.sync(lambda: fake.server.total_requests) == 0


def test_key_problems_are_exit_3(fake: ThreadedFake, tmp_path: Path) -> None:
    """No key, a refused key, a missing key file and too few points all exit 3."""
    env = cli_env(fake)
    del env["SUNO_API_KEY"]
    missing = run_here("balance", env=env)
    assert missing.code == ExitCode.CONFIG
    assert "SUNO_API_KEY" in missing.stderr
    refused = run_here("balance", env=cli_env(fake, SUNO_API_KEY="wrong-key"))
    assert refused.code == ExitCode.CONFIG
    no_file = run_here("balance", "--api-key-file", str(tmp_path / "nope"), env=cli_env(fake))
    assert no_file.code == ExitCode.CONFIG
    assert "No such file" in no_file.stderr
    fake.sync(lambda: setattr(fake.server, "points", 10))
    poor = run_here("generate", "--title", "t", "--description", "d", env=cli_env(fake))
    assert poor.code == ExitCode.CONFIG
    assert len(poor.stderr.strip().splitlines()) == 1


def test_api_key_file(fake: ThreadedFake, tmp_path: Path) -> None:
    """--api-key-file is read (whitespace trimmed) in place of SUNO_API_KEY."""
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    env = cli_env(fake)
    del env["SUNO_API_KEY"]
    run = run_here("balance", "--api-key-file", str(key_file), env=env)
    assert run.code == 0, run.stderr
    key_file.write_text("wrong-key\n", encoding="utf-8")
    refused = run_here("balance", "--api-key-file", str(key_file), env=env)
    assert refused.code == ExitCode.CONFIG
    assert f"read from --api-key-file {str(key_file)!r}" in refused.stderr


def test_debug_shows_the_traceback_but_never_the_key(fake: ThreadedFake) -> None:
    """--debug adds the traceback and the library's logs; the key stays out of both."""
    fake.sync(lambda: setattr(fake.server, "points", 10))
    args = ("generate", "--title", "t", "--description", "d", "--wait")
    quiet = run_cli(*args, fake=fake)
    assert "Traceback" not in quiet.stderr
    loud = run_cli("--debug", *args, fake=fake)
    assert loud.code == ExitCode.CONFIG
    assert "Traceback" in loud.stderr
    assert "InsufficientPointsError" in loud.stderr
    assert "DEBUG" in loud.stderr  # the library's own logs, which must not hold the key either


def test_follow_up_calls(shared: ThreadedFake, song: dict[str, Any], tmp_path: Path) -> None:
    """Every other paid call, each waited for, against a song the fake server made."""
    clip, task = song["id"], str(song["task_id"])
    media = str(tmp_path / "media")
    calls = {
        "extend": ["extend", clip, "--at", "30", "--title", "t2", "--description", "more"],
        "cover": ["cover", clip, "--title", "t3", "--lyrics", "la", "--tags", "jazz"],
        "remaster": ["remaster", clip, "--model", "chirp-carp", "--variation", "subtle"],
        "crop": ["crop", clip, "--start", "1", "--end", "5"],
        "speed": ["speed", clip, "--multiplier", "1.25", "--keep-pitch"],
        "upload": ["upload", "https://example.com/riff.mp3"],
        "whole-song": ["whole-song", clip],
        "align": ["align", clip, "--lyrics", "la la la", "--download", media],
        "video": ["video", task, "--download", media],
        "wav": ["wav", task, "--clip", clip],
        "sound": ["sound", "--title", "Rain", "--tags", "rain, loop", "--tempo", "90", "--loop"],
    }
    assert set(calls) | {"generate"} == set(PAID_COMMANDS)
    # All at once: each is a process of its own, and the suite stays fast.
    procs = {
        name: start_cli("--json", *args, "--wait", fake=shared) for name, args in calls.items()
    }
    runs = {name: finish(proc) for name, proc in procs.items()}
    for name, run in runs.items():
        assert run.code == ExitCode.OK, (name, run.stderr)
        results = run.of("result")
        assert results, name
        assert all(r["ok"] for r in results), (name, results)
    assert {r["kind"] for r in runs["wav"].of("result")} == {"wav"}
    assert {r["kind"] for r in runs["video"].of("result")} == {"video"}
    assert {r["kind"] for r in runs["align"].of("result")} == {"alignment"}
    assert len(runs["remaster"].of("result")) == 2
    saved = sorted(
        Path(e["path"]).suffix for n in ("video", "align") for e in runs[n].of("downloaded")
    )
    assert saved == [".json", ".mp4"]
    assert all(Path(e["path"]).parent == tmp_path / "media" for e in runs["video"].of("downloaded"))


def test_generate_download_saves_both_songs(fake: ThreadedFake, tmp_path: Path) -> None:
    """--download waits, then saves each song's audio under a safe name with its task id."""
    out = tmp_path / "songs"
    run = run_cli(
        "generate", "--title", "../Rain/", "--description", "d", "--download", str(out), fake=fake
    )
    assert run.code == ExitCode.OK, run.stderr
    files = sorted(out.iterdir())
    ids = run.stdout.splitlines()[0].removeprefix("started generate: task ").split()
    assert [f.name.split("-")[0] for f in files] == ids
    assert all(f.suffix == ".m4a" and f.stat().st_size > 0 for f in files)
    assert run.stdout.count(" saved ") == 2


def test_video_of_an_unknown_task_sends_no_paid_call(fake: ThreadedFake) -> None:
    """The clip lookup fails first (free), so nothing paid is sent."""
    run = run_here("video", "424242", env=cli_env(fake))
    assert run.code == ExitCode.NOTHING_SENT
    assert "424242" in run.stderr
    assert fake.paid_calls() == 0


def test_task_and_wait(fake: ThreadedFake) -> None:
    """task shows status now; wait collects tasks started by an earlier command."""
    started = run_cli("--json", "generate", "--title", "t", "--description", "d", fake=fake)
    ids = [str(i) for i in started.of("started")[0]["task_ids"]]
    now = run_cli("task", *ids, "--json", fake=fake)
    assert now.code == 0
    assert [r["task_id"] for r in now.of("result")] == [int(i) for i in ids]
    waited = run_cli("wait", *ids, "--json", fake=fake)
    assert waited.code == 0, waited.stderr
    assert all(r["ok"] and r["kind"] == "song" for r in waited.of("result"))
    unknown = run_here("task", ids[0], "999999", env=cli_env(fake))
    assert unknown.code == ExitCode.TASKS_FAILED
    assert "999999  not found" in unknown.stdout
    bad = run_here("task", "3f1c9a52-0000-4000-8000-000000000000", env=cli_env(fake))
    assert bad.code == ExitCode.NOTHING_SENT
    assert "looks like a Suno id" in bad.stderr


def test_wait_timeout_is_exit_4_and_names_the_ids(fake: ThreadedFake) -> None:
    """A wait that times out exits 4 and says how to collect the tasks later."""
    fake.sync(lambda: fake.server.plans.extend([TaskPlan(generating_s=1e6)] * 2))
    started = run_cli("--json", "generate", "--title", "t", "--description", "d", fake=fake)
    ids = [str(i) for i in started.of("started")[0]["task_ids"]]
    run = run_cli("wait", *ids, "--timeout", "0.3", fake=fake)
    assert run.code == ExitCode.SERVICE
    assert f"suno-async wait {' '.join(ids)}" in run.stderr


def test_progress_on_a_terminal_and_in_a_pipe(fake: ThreadedFake, tmp_path: Path) -> None:
    """A terminal gets rich's live display; a pipe gets plain progress lines."""
    args = ["generate", "--title", "t", "--description", "d", "--wait"]
    tty = run_in_pty(args, cli_env(fake))
    assert tty.code == 0, tty.stdout
    assert "\x1b[" in tty.stdout  # drawn, not printed
    assert "2/2" in tty.stdout
    assert "pts" in tty.stdout
    piped = run_cli(*args, fake=fake)
    assert "\x1b" not in piped.stdout + piped.stderr
    assert "2/2 finished" in piped.stderr
    assert "36 points spent" in piped.stderr
    assert len(piped.stdout.splitlines()) == 3  # started, then one line per song
    results = tmp_path / "results.txt"
    split = run_in_pty(args, cli_env(fake), stdout_to=results)
    assert "\x1b[" in split.stdout  # the display on the terminal (stderr)...
    lines = results.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3  # ...and every result in the file, none drawn on the terminal
    assert lines[0].startswith("started generate: task ")
    check_no_key(*lines)
    bare = run_in_pty(args, cli_env(fake), without_rich=True)
    assert bare.code == 0, bare.stdout
    assert "2/2 finished" in bare.stdout  # plain lines: the command works without the extra


def test_ctrl_c_while_waiting_is_exit_130(fake: ThreadedFake) -> None:
    """SIGINT mid-wait: a clean stop (no traceback) that says how to collect the tasks."""
    fake.sync(lambda: fake.server.plans.extend([TaskPlan(generating_s=1e6)] * 2))
    args = ("--json", "generate", "--title", "t", "--description", "d", "--wait")
    proc = start_cli(*args, fake=fake)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the ids are out: the wait begins right after
    assert json.loads(first)["event"] == "started"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    run = finish(proc)
    assert run.code == ExitCode.INTERRUPTED
    assert "Traceback" not in run.stderr
    assert "tasks already started keep running" in run.stderr
    started = json.loads(first)["task_ids"]
    assert run.of("pending") == [{"event": "pending", "task_ids": started}]
    plain = run_here("wait", *map(str, started), "--timeout", "0.1", env=cli_env(fake))
    assert plain.code == ExitCode.SERVICE
    assert f"suno-async wait {' '.join(map(str, started))}" in plain.stderr


def test_text_from_the_service_cannot_drive_the_terminal(fake: ThreadedFake) -> None:
    """A title holding escape sequences is printed with them escaped, never raw."""
    title = "X\x1b[2J\x1b]0;pwned\x07Y\u202e"
    split = "A\u2028B"  # a JSON line a line reader would cut in two
    run = run_here("generate", "--title", title, "--description", "d", "--wait", env=cli_env(fake))
    assert run.code == ExitCode.OK, run.stderr
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in run.stdout + run.stderr
    assert "X\\u001b[2J\\u001b]0;pwned\\u0007Y\\u202e" in run.stdout
    args = ("--json", "generate", "--title", split, "--description", "d", "--wait")
    lines = run_here(*args, env=cli_env(fake))
    assert lines.code == ExitCode.OK, lines.stderr
    assert [e["song"]["title"] for e in lines.of("result")] == [split, split]


@pytest.mark.parametrize("base_url", ["", "http://[::1"])
def test_an_unusable_base_url_is_exit_3(fake: ThreadedFake, base_url: str) -> None:
    """An empty or malformed --base-url is refused: never the real service, never a crash."""
    run = run_here("--base-url", base_url, "balance", env=cli_env(fake))
    assert run.code == ExitCode.CONFIG
    assert "base_url must be an http(s) URL" in run.stderr
    assert fake.sync(lambda: fake.server.total_requests) == 0


def test_retries_on_the_way_are_not_printed_without_debug() -> None:
    """A network failure is one line; the retries before it are for --debug."""
    run = run_cli("--base-url", f"http://127.0.0.1:{free_port()}/api/v1", "balance")
    assert run.code == ExitCode.SERVICE
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_ctrl_c_during_a_paid_call_still_shows_its_ids() -> None:
    """SIGINT while the POST is in flight: the answer's ids are still printed, exit 130."""
    with ThreadedFake(paid_latency=1.0) as slow:
        proc = start_cli("--json", "generate", "--title", "t", "--description", "d", fake=slow)
        deadline = time.monotonic() + 20
        while not slow.sync(lambda: slow.server.requests["POST /music/generate"]):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        run = finish(proc)
        assert run.code == ExitCode.INTERRUPTED, run.stderr
        (started,) = [e for e in run.events() if e["event"] == "started"]
        assert started["task_ids"] == list(
            slow.sync(lambda: slow.server.accepted_calls[0].task_ids)
        )


def test_points_log_prints_the_ledger(fake: ThreadedFake) -> None:
    """One page as lines, every page as JSON entries with a signed change."""
    assert run_cli("upload", "https://example.com/a.mp3", fake=fake).code == ExitCode.OK
    fake.sync(lambda: setattr(fake.server, "points", 5000))
    plain = run_cli("points-log", "--limit", "2", fake=fake)
    assert plain.code == ExitCode.OK, plain.stderr
    lines = plain.stdout.splitlines()
    assert len(lines) == 2
    assert "adjust" in lines[0]
    assert "balance 5000" in lines[0]
    assert "consume  -1  balance 9999" in lines[1]
    every = run_cli("points-log", "--all", "--limit", "1", "--json", fake=fake)
    assert every.code == ExitCode.OK, every.stderr
    entries = every.of("entry")
    assert [(e["kind"], e["change"]) for e in entries] == [
        ("adjust", 5000 - 9999),
        ("consume", -1),
        ("recharge", 10_000),
    ]
    assert every.of("summary") == [{"event": "summary", "entries": 3, "total": 3}]


def test_a_bad_sound_is_refused_before_a_key_is_needed(fake: ThreadedFake) -> None:
    """A tempo out of range: exit 2, the field named, nothing sent."""
    env = cli_env(fake)
    del env["SUNO_API_KEY"]
    run = run_here("sound", "--title", "t", "--tags", "a bell", "--tempo", "0", env=env)
    assert run.code == ExitCode.NOTHING_SENT
    assert run.stderr.strip() == "suno-async: error: tempo: must be at least 1, got 0"
    assert fake.sync(lambda: fake.server.total_requests) == 0


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGTERM, ExitCode.TERMINATED), (signal.SIGHUP, ExitCode.HUNG_UP)],
    ids=["SIGTERM", "SIGHUP"],
)
def test_a_stop_signal_during_a_paid_call_still_shows_its_ids(
    signum: signal.Signals, code: ExitCode
) -> None:
    """`generate --wait` hit by SIGTERM or SIGHUP mid-POST prints the charged ids, exits 128+N."""
    with ThreadedFake(paid_latency=1.0) as slow:
        args = ("--json", "generate", "--title", "t", "--description", "d", "--wait")
        proc = start_cli(*args, fake=slow)
        deadline = time.monotonic() + 20
        while not slow.sync(lambda: slow.server.requests["POST /music/generate"]):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signum)
        run = finish(proc)
        assert run.code == code, run.stderr
        assert code == 128 + signum
        (started,) = [e for e in run.events() if e["event"] == "started"]
        assert started["task_ids"] == list(
            slow.sync(lambda: slow.server.accepted_calls[0].task_ids)
        )
        assert "Traceback" not in run.stderr
