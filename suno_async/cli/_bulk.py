"""
``bulk`` and ``demo``: many generations through the library's ``generate_many``.

The command adds what a shell user needs around it: the JSONL file checked whole before the
first paid call, the journal kept beside the media by default, a live view of the run's
counts, one line (or JSON object) per request as it completes, and an exit code that tells
a finished run from one with failures, unknowns or a stop for money.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from .._bulk import (
    GENERATE_PRICE,
    BalanceTooLowError,
    BudgetReachedError,
    BulkOutcome,
    BulkProgress,
    BulkRun,
    Media,
)
from .._client import AsyncSuno
from .._duplicates import DuplicateRequestsWarning
from .._errors import RateLimitError, SessionClosedError, SunoError, TransportError
from .._journal import JournalMismatchError
from .._leftovers import ExistingMediaError
from .._models import GenerateRequest
from ._commands import ensure_folder
from ._exit import CliError, ExitCode
from ._jsonl import line_groups, load_requests
from ._output import Output, ProgressView, Tally, to_jsonable
from ._session import fast_poll, open_session

__all__ = ["JOURNAL_NAME", "run_bulk", "run_demo"]

#: The journal's file name in the output folder, unless --journal names another.
JOURNAL_NAME: Final = "suno-journal.sqlite"
#: How often the live view reads the run's counts (a snapshot: no request is sent).
_TICK: Final = 0.25

#: The demo: twelve requests (two songs each), two of the songs failed on purpose.
DEMO_REQUESTS: Final = 12
DEMO_FAILURES: Final = frozenset({5, 18})
_DEMO_STYLES: Final = (
    "a cheerful pop song about asyncio",
    "a slow blues about waiting on futures",
    "lo-fi beats for a rainy night of debugging",
    "an 80s synthwave anthem about event loops",
)


@attrs.frozen
class _Job:
    """One bulk run as the command understood it."""

    requests: Sequence[GenerateRequest]
    lines: Sequence[int]
    out: Path
    journal: Path
    download: bool
    media: Sequence[Media] = ("audio",)
    max_points: int | None = None
    dry_run: bool = False
    resend_unknown: bool = False
    allow_existing_media: bool = False
    max_download_bytes: int = 200 * 10**6


def _say(error: SunoError, lines: Sequence[int]) -> str:
    """An error as a shell user reads it: options and 1-based line numbers, not arguments."""
    if isinstance(error, BudgetReachedError):
        first = lines[error.first_index] if error.first_index < len(lines) else "?"
        return (
            f"--max-points {error.max_points} is reached: line {first} and the lines after it "
            "that were not sent yet stay unsent; raise --max-points and run again to send them"
        )
    if isinstance(error, BalanceTooLowError):
        earlier = (
            f" (the {error.spent} points the journal already spent count toward it)"
            if error.spent
            else ""
        )
        return (
            f"this run needs {error.needed} points ({error.requests} requests) but the balance "
            f"is {error.balance}: top up, or pass --max-points {error.max_points}{earlier} to "
            "send only what fits (a later run sends the rest)"
        )
    return str(error)


def _tally(progress: BulkProgress, baseline: Tally | None = None) -> Tally:
    counts = {
        "planned": progress.planned,
        "sending": progress.sending,
        "queued": progress.queued,
        "generating": progress.generating,
        "done": progress.done - progress.downloaded,
        "downloaded": progress.downloaded,
        "failed": progress.failed,
        "unknown": progress.unknown,
        "not sent": progress.not_sent,
    }
    finished = progress.finished + progress.unknown + progress.not_sent
    tally = Tally(
        total=progress.total,
        counts=counts,
        finished=finished,
        points_spent=progress.points_spent,
        requests=progress.requests_sent,
    )
    if baseline is not None:
        tally.started = baseline.started
        tally.baseline = baseline.baseline
    else:
        tally.baseline = finished
    return tally


def _describe(outcome: BulkOutcome, line: int, lines: Sequence[int]) -> tuple[str, dict[str, Any]]:
    ids = " ".join(map(str, outcome.task_ids)) or "-"
    title = outcome.request.title
    text = f"line {line:<4} {outcome.state:<8}  {ids}  {title}"
    if outcome.paths:
        text += f"  ({len(outcome.paths)} file{'s' if len(outcome.paths) > 1 else ''})"
    errors = [_say(e, lines) for e in outcome.errors]
    if errors:
        text += "  " + "; ".join(errors)
    fields = {
        "line": line,
        "index": outcome.index,
        "key": outcome.key,
        "state": outcome.state,
        "ok": outcome.ok,
        "title": title,
        "task_ids": list(outcome.task_ids),
        "songs": to_jsonable(outcome.songs),
        "errors": errors,
        "paths": [str(p) for p in outcome.paths],
        "files_missing": outcome.files_missing,
    }
    return text, fields


async def _watch(run: BulkRun, view: ProgressView, baseline: Tally) -> None:
    while True:
        await asyncio.sleep(_TICK)
        view.update(_tally(run.progress, baseline))


async def _run_job(suno: AsyncSuno, job: _Job, output: Output) -> ExitCode:
    with warnings.catch_warnings():
        # The command has named the repeated lines by number already (see run_bulk).
        warnings.simplefilter("ignore", DuplicateRequestsWarning)
        run = suno.generate_many(
            job.requests,
            journal=job.journal,
            download_to=job.out if job.download else None,
            media=job.media,
            max_points=job.max_points,
            dry_run=job.dry_run,
            resend_unknown=job.resend_unknown,
            allow_existing_media=job.allow_existing_media,
            max_download_bytes=job.max_download_bytes,
        )
    async with run:
        estimate = run.estimate
        balance = "?" if estimate.balance is None else str(estimate.balance)
        output.emit(
            "estimate",
            f"{len(job.requests)} requests: {estimate.to_send} to send now "
            f"({estimate.points} points, balance {balance}), {estimate.already_started} "
            f"started before, {estimate.unknown} unknown, {estimate.skipped_budget} over "
            "the budget",
            **to_jsonable(estimate),
            fits=estimate.fits,
            journal=str(job.journal),
        )
        if job.dry_run:
            output.note("dry run: nothing was sent")
            return ExitCode.OK
        baseline = _tally(run.progress)
        view = output.progress(baseline)
        states: dict[str, int] = {"files_missing": 0}
        watcher = asyncio.get_running_loop().create_task(_watch(run, view, baseline))
        try:
            async for outcome in run:
                states[outcome.state] = states.get(outcome.state, 0) + 1
                states["files_missing"] += outcome.files_missing
                text, fields = _describe(outcome, job.lines[outcome.index], job.lines)
                output.emit("outcome", text, **fields)
                view.update(_tally(run.progress, baseline))
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            view.close(_tally(run.progress, baseline))
        return _finish(run, states, job, output)


def _finish(run: BulkRun, states: dict[str, int], job: _Job, output: Output) -> ExitCode:
    """
    The summary, and the exit code that says what to do next: 0 nothing; 1 look at the
    failed songs; 3 change something first (key, points, budget, disk); 4 run again later
    (requests still pending, files still missing, or sending stopped by the service).
    """
    progress = run.progress
    stop = run.stop_reason
    missing = states.get("files_missing", 0)
    possibly = (
        f", {progress.points_possibly_spent} possibly spent by the unknown ones"
        if progress.points_possibly_spent
        else ""
    )
    output.emit(
        "summary",
        f"{progress.done} done, {progress.failed} failed, {progress.pending} pending, "
        f"{progress.unknown} unknown, {progress.not_sent} not sent of {progress.total}; "
        f"{progress.points_spent} points spent in all{possibly}; media in {job.out}",
        **to_jsonable(progress),
        files_missing=missing,
        stop_reason=None if stop is None else _say(stop, job.lines),
        unsaved={str(job.lines[i]): list(ids) for i, ids in run.unsaved.items()},
        out=str(job.out),
        journal=str(job.journal),
    )
    if states.get("unknown"):
        output.note(
            f"{states['unknown']} request(s) are unknown: an earlier run was cut off while "
            "sending them, so they may have been charged. Check the balance, then run again "
            "with --resend-unknown to send them anyway"
        )
    if run.unsaved:
        ids = "; ".join(
            f"line {job.lines[i]}: {' '.join(map(str, task_ids))}"
            for i, task_ids in run.unsaved.items()
        )
        output.note(
            f"the journal lacks the task ids or last state of {len(run.unsaved)} started "
            f"request(s); keep these task ids (suno-async wait ID... fetches them): {ids}"
        )
    if states.get("pending"):
        output.note(
            f"{states['pending']} request(s) are still pending: their songs were paid for but "
            "this run stopped waiting on them (see their errors); run the same command again "
            "to collect them, nothing is sent twice"
        )
    if missing:
        output.note(
            f"{missing} file(s) are missing: their downloads failed (see the errors above); "
            "run the same command again to fetch them, nothing is sent twice"
        )
    if stop is not None:
        output.note(f"sending stopped: {_say(stop, job.lines)}")
        # A limit, the network or a closed session: try again later (4); a key, points,
        # the budget or the journal's disk: change something first (3).
        passing = isinstance(stop, (RateLimitError, TransportError, SessionClosedError))
        return ExitCode.SERVICE if passing else ExitCode.CONFIG
    if states.get("pending") or missing:
        return ExitCode.SERVICE
    if states.get("failed") or states.get("unknown"):
        return ExitCode.TASKS_FAILED
    return ExitCode.OK


def _session_options(args: argparse.Namespace) -> dict[str, Any]:
    """What the bulk options ask of the session itself."""
    if args.max_in_flight is None:
        return {}
    return {"max_paid_in_flight": args.max_in_flight}


def _repeats(
    requests: list[GenerateRequest], lines: list[int], *, dedupe: bool, output: Output
) -> tuple[list[GenerateRequest], list[int]]:
    """Name the repeated lines before anything is sent; with --dedupe, keep each once."""
    groups = line_groups(requests, lines)
    if not groups:
        return requests, lines
    shown = "; ".join(" = ".join(map(str, group)) for group in groups[:10])
    more = f"; and {len(groups) - 10} more" if len(groups) > 10 else ""
    extra = sum(len(group) - 1 for group in groups)
    if dedupe:
        text = f"identical lines ({shown}{more}): each is sent once (--dedupe)"
    else:
        text = (
            f"identical lines ({shown}{more}): each is sent and paid, {extra} extra "
            f"request(s) for {extra * GENERATE_PRICE} points; --dedupe sends each once"
        )
    output.warn(text, "duplicates", lines=groups, dedupe=dedupe)
    if not dedupe:
        return requests, lines
    repeated = {line for group in groups for line in group[1:]}
    kept = [(r, n) for r, n in zip(requests, lines, strict=True) if n not in repeated]
    return [r for r, _ in kept], [n for _, n in kept]


async def run_bulk(args: argparse.Namespace, output: Output) -> ExitCode:
    requests, lines = load_requests(args.file)
    requests, lines = _repeats(requests, lines, dedupe=args.dedupe, output=output)
    out: Path = args.out
    options = _session_options(args)
    if not args.dry_run:
        ensure_folder(out, "--out")
    job = _Job(
        requests=requests,
        lines=lines,
        out=out,
        journal=args.journal or out / JOURNAL_NAME,
        download=not args.no_download,
        media=args.media,
        max_points=args.max_points,
        dry_run=args.dry_run,
        resend_unknown=args.resend_unknown,
        allow_existing_media=args.allow_existing_media,
        max_download_bytes=args.max_download_mb * 10**6,
    )
    async with open_session(args, **options) as suno:
        try:
            return await _run_job(suno, job, output)
        except BalanceTooLowError as exc:
            raise CliError(_say(exc, lines), ExitCode.CONFIG) from exc
        except JournalMismatchError as exc:
            known = exc.index < len(lines)
            where = f"line {lines[exc.index]} of {args.file}" if known else str(args.file)
            msg = f"{where} is not what the journal recorded ({exc}). Nothing was sent"
            raise CliError(msg) from exc
        except ExistingMediaError as exc:
            flags = ("--journal", "--allow-existing-media")
            again = ExistingMediaError(exc.journal, exc.folder, exc.found, options=flags)
            raise CliError(str(again), ExitCode.CONFIG) from exc


def demo_requests() -> list[GenerateRequest]:
    return [
        GenerateRequest(
            model="chirp-v4",
            title=f"Demo song {number + 1}",
            description=_DEMO_STYLES[number % len(_DEMO_STYLES)],
        )
        for number in range(DEMO_REQUESTS)
    ]


async def run_demo(args: argparse.Namespace, output: Output) -> ExitCode:
    """
    Two dozen songs through the real bulk path, against a fake server of its own.

    Its key is made up here and its base URL is its own server's: SUNO_API_KEY,
    SUNO_BASE_URL and --base-url are never used, so the demo cannot spend real points.
    """
    from ..testing import FakeSunoServer, TaskPlan  # noqa: PLC0415  (only the demo needs it)

    out: Path = args.out or Path(tempfile.mkdtemp(prefix="suno-demo-"))
    ensure_folder(out, "--out")
    key = "demo-" + secrets.token_hex(8)
    async with FakeSunoServer(api_key=key, speed=60.0, seed=1) as fake:
        for song in range(DEMO_REQUESTS * 2):
            # Simulated seconds; the fake clock runs 60x, so every song is done within ~2 s.
            fake.plans.append(
                TaskPlan(
                    queued_s=(song % 5) * 3.0,
                    generating_s=30.0 + (song * 7) % 60,
                    succeed=song not in DEMO_FAILURES,
                )
            )
        output.note(
            f"demo: a fake Suno server on {fake.url} (offline: nothing is spent, whatever "
            "SUNO_API_KEY says)"
        )
        requests = demo_requests()
        job = _Job(
            requests=requests,
            lines=range(1, len(requests) + 1),
            out=out,
            journal=out / JOURNAL_NAME,
            download=True,
        )
        async with open_session(
            args, key=key, base_url=fake.url, poll=fast_poll(0.2), rate_limit=None
        ) as suno:
            code = await _run_job(suno, job, output)
    output.emit("demo", f"demo media folder: {out}", folder=str(out), exit_code=int(code))
    output.note(
        f"{len(DEMO_FAILURES)} songs failed on purpose, to show how failures look. With a "
        "key, `suno-async bulk FILE.jsonl --out DIR` does the same against the real service"
    )
    return ExitCode.OK if code in (ExitCode.OK, ExitCode.TASKS_FAILED) else code
