"""
The commands that are one call (and maybe a wait): balance, every paid call, task, wait.

Each paid command first builds its request, so bad input is refused (exit 2) before a key is
even looked for; only then is a session opened and the call sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final

import anyio
import attrs

from .._client import AsyncSuno
from .._errors import NotFoundError, SunoError
from .._models import (
    AlignedLyricsRequest,
    ConvertWavRequest,
    CropRequest,
    GenerateRequest,
    LyricsAlignment,
    RemasterRequest,
    Song,
    SpeedRequest,
    StatusChange,
    TaskHandle,
    TaskKind,
    TaskStatus,
    UploadRequest,
    Video,
    VideoRequest,
    Wav,
    WholeSongRequest,
)
from .._points import DEFAULT_LIMIT, LIMIT_MAX, PointsEntry
from .._sound import SoundRequest
from ._exit import CliError, ExitCode
from ._output import Output, ProgressView, Tally, to_jsonable
from ._session import open_session

__all__ = [
    "PaidCall",
    "prepare_paid",
    "run_balance",
    "run_paid",
    "run_points_log",
    "run_task",
    "run_wait",
]

#: Points per call, from the API reference's price list (1 point = 0.01 CNY).
#: A sound has no published price: it is counted as the generation it is on Suno's side.
PRICES: Final = {"generate": 36, "extend": 36, "cover": 36, "remaster": 36, "sound": 36}
_STATES: Final = ("queued", "generating", "succeeded", "failed")

OnStarted = Callable[[tuple[int, ...]], object]
Start = Callable[[AsyncSuno, OnStarted], Awaitable[Sequence[TaskHandle[Any]]]]


@attrs.frozen
class PaidCall:
    """A validated paid call, ready to send: what it is, what it costs, how to start it."""

    name: str
    points: int
    start: Start


def _lyrics(args: argparse.Namespace) -> str | None:
    path: Path | None = getattr(args, "lyrics_file", None)
    if path is None:
        lyrics: str | None = args.lyrics
        return lyrics
    try:
        if str(path) == "-":
            return sys.stdin.read()
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise CliError(f"cannot read --lyrics-file {str(path)!r}: {reason}") from None


def _generate_request(args: argparse.Namespace) -> GenerateRequest:
    lyrics = _lyrics(args)
    return GenerateRequest(
        model=args.model,
        title=args.title,
        description=args.description,
        lyrics=lyrics,
        tags=args.tags,
        negative_tags=args.negative_tags,
        instrumental=args.instrumental,
        vocal_gender=args.vocal_gender,
        style_weight=args.style_weight,
        weirdness=args.weirdness,
        audio_weight=getattr(args, "audio_weight", None),
        continue_clip_id=args.clip_id if args.command == "extend" else None,
        continue_at=args.at if args.command == "extend" else None,
        cover_clip_id=args.clip_id if args.command == "cover" else None,
    )


def _single(call: Callable[[AsyncSuno, OnStarted], Awaitable[TaskHandle[Any]]]) -> Start:
    async def start(suno: AsyncSuno, on_started: OnStarted) -> Sequence[TaskHandle[Any]]:
        return (await call(suno, on_started),)

    return start


def prepare_paid(args: argparse.Namespace) -> PaidCall:
    """Validate a paid command's input into a call; raises before anything is sent."""
    name: str = args.command
    points = PRICES.get(name, 1)
    if name in ("generate", "extend", "cover"):
        request = _generate_request(args)
        return PaidCall(
            name, points, lambda suno, told: suno.submit_generate(request, on_started=told)
        )
    if name == "sound":
        sound = SoundRequest(
            title=args.title,
            tags=args.tags,
            model=args.model,
            tempo=args.tempo,
            key=args.key,
            loop=args.loop,
        )
        return PaidCall(name, points, lambda suno, told: suno.submit_sound(sound, on_started=told))
    if name == "remaster":
        remaster = RemasterRequest(clip_id=args.clip_id, model=args.model, variation=args.variation)
        return PaidCall(
            name,
            points,
            lambda suno, told: suno.remaster(
                remaster.clip_id, model=args.model, variation=args.variation, on_started=told
            ),
        )
    if name == "crop":
        crop = CropRequest(clip_id=args.clip_id, start_s=args.start, end_s=args.end)
        return PaidCall(
            name,
            points,
            _single(
                lambda suno, told: suno.crop(
                    crop.clip_id, start_s=crop.start_s, end_s=crop.end_s, on_started=told
                )
            ),
        )
    if name == "speed":
        speed = SpeedRequest(
            clip_id=args.clip_id,
            multiplier=args.multiplier,
            keep_pitch=args.keep_pitch,
            title=args.title,
        )
        return PaidCall(
            name,
            points,
            _single(
                lambda suno, told: suno.speed(
                    speed.clip_id,
                    multiplier=speed.multiplier,
                    keep_pitch=speed.keep_pitch,
                    title=speed.title,
                    on_started=told,
                )
            ),
        )
    if name == "upload":
        upload = UploadRequest(args.audio_url)
        return PaidCall(
            name,
            points,
            _single(lambda suno, told: suno.upload(upload.audio_url, on_started=told)),
        )
    if name == "whole-song":
        whole = WholeSongRequest(args.clip_id)
        return PaidCall(
            name,
            points,
            _single(lambda suno, told: suno.whole_song(whole.clip_id, on_started=told)),
        )
    if name == "align":
        align = AlignedLyricsRequest(suno_id=args.clip_id, lyrics=_lyrics(args) or "")
        return PaidCall(
            name,
            points,
            _single(
                lambda suno, told: suno.aligned_lyrics(
                    align.suno_id, lyrics=align.lyrics, on_started=told
                )
            ),
        )
    if name in ("video", "wav"):
        return PaidCall(name, points, _finished_song_call(name, args.task_id, args.clip))
    msg = f"unknown paid command {name!r}"
    raise AssertionError(msg)


def _finished_song_call(name: str, task_id: int, clip: str | None) -> Start:
    if clip is not None:
        kind = VideoRequest if name == "video" else ConvertWavRequest
        kind(task_id=task_id, suno_id=clip)

    async def start(suno: AsyncSuno, on_started: OnStarted) -> Sequence[TaskHandle[Any]]:
        suno_id = clip
        if suno_id is None:
            try:
                task = await suno.get_task(task_id)
            except NotFoundError:
                msg = f"task {task_id} is unknown to the service: nothing to make a {name} of"
                raise CliError(msg) from None
            if task.status is not TaskStatus.SUCCEEDED or not task.custom_id:
                status = task.status.name.lower()
                msg = (
                    f"task {task_id} is {status}, not a finished song: nothing to make a {name} of"
                )
                raise CliError(msg)
            suno_id = task.custom_id
        if name == "video":
            return (await suno.video(task_id, suno_id=suno_id, on_started=on_started),)
        return (await suno.convert_wav(task_id, suno_id=suno_id, on_started=on_started),)

    return start


class Tracker:
    """Counts per state for a set of awaited tasks, fed by the watcher's status changes."""

    def __init__(self) -> None:
        self.states: dict[int, str] = {}
        self.points = 0
        self._tally = Tally(total=0, counts={})
        self.suno: AsyncSuno | None = None
        self.view: ProgressView | None = None
        self.output: Output | None = None

    def on_change(self, change: StatusChange) -> None:
        if change.task_id in self.states:
            self.states[change.task_id] = change.new.name.lower()
            if self.output is not None:
                self.output.emit(
                    "status", None, task_id=change.task_id, status=change.new.name.lower()
                )
            self.refresh()

    def tally(self) -> Tally:
        counts = dict.fromkeys(_STATES, 0)
        for state in self.states.values():
            counts[state] = counts.get(state, 0) + 1
        tally = self._tally
        tally.total = len(self.states)
        tally.counts = counts
        tally.finished = counts["succeeded"] + counts["failed"]
        tally.points_spent = self.points
        tally.requests = self.suno.requests_sent if self.suno is not None else 0
        return tally

    def refresh(self) -> None:
        if self.view is not None:
            self.view.update(self.tally())


async def run_balance(args: argparse.Namespace, output: Output) -> ExitCode:
    async with open_session(args) as suno:
        balance = await suno.balance()
    points = balance.remaining_points
    output.emit("balance", f"{points} points", remaining_points=points)
    return ExitCode.OK


def _entry_line(entry: PointsEntry) -> str:
    kind = entry.kind.name.lower() if entry.kind is not None else "other"
    balance = "?" if entry.balance is None else str(entry.balance)
    when = entry.created_at or "-"
    return (
        f"{entry.id}  {when}  {kind:<8} {entry.change:+d}  balance {balance}  {entry.remark or ''}"
    )


async def run_points_log(args: argparse.Namespace, output: Output) -> ExitCode:
    """One page of the ledger, or (``--all``) every entry; one line or JSON object each."""
    shown = 0

    def show(entry: PointsEntry) -> None:
        fields = to_jsonable(entry) | {"kind": None, "change": entry.change}
        if entry.kind is not None:
            fields["kind"] = entry.kind.name.lower()
        output.emit("entry", _entry_line(entry).rstrip(), **fields)

    async with open_session(args) as suno:
        if args.all:
            async for entry in suno.points_entries(limit=args.limit or LIMIT_MAX):
                show(entry)
                shown += 1
            total: int | None = shown
        else:
            log = await suno.points_log(page=args.page, limit=args.limit or DEFAULT_LIMIT)
            for entry in log.entries:
                show(entry)
            shown, total = len(log.entries), log.total
    output.emit("summary", None, entries=shown, total=total)
    if not shown:
        output.note("no entries on this page")
    return ExitCode.OK


async def run_paid(args: argparse.Namespace, output: Output) -> ExitCode:
    call = prepare_paid(args)
    ensure_folder(args.download)
    tracker = Tracker()
    async with open_session(args, on_status_change=tracker.on_change) as suno:
        tracker.suno = suno

        def on_started(task_ids: tuple[int, ...]) -> None:
            # Told as soon as the answer is read: a Ctrl-C right after still shows the ids.
            tracker.points = call.points
            output.emit(
                "started",
                f"started {call.name}: task {' '.join(map(str, task_ids))}",
                command=call.name,
                task_ids=list(task_ids),
                points=call.points,
            )

        handles = await call.start(suno, on_started)
        shown = " ".join(str(h.task_id) for h in handles)
        if not (args.wait or args.download):
            output.note(f"follow with: suno-async wait {shown}")
            return ExitCode.OK
        return await wait_and_report(
            suno,
            list(handles),
            download=args.download,
            timeout=args.timeout,
            output=output,
            tracker=tracker,
        )


def ensure_folder(folder: Path | None, option: str = "--download") -> None:
    """Make the media folder before anything is sent: a typo should not cost a paid song."""
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot use {option} {str(folder)!r}: {exc.strerror or exc}"
        raise CliError(msg) from None


async def wait_and_report(
    suno: AsyncSuno,
    handles: list[TaskHandle[Any]],
    *,
    download: Path | None,
    timeout: float | None,
    output: Output,
    tracker: Tracker,
) -> ExitCode:
    """Await the tasks with progress, print each result as it comes, download if asked."""
    for handle in handles:
        tracker.states.setdefault(handle.task_id, "queued")
    tracker.output = output
    view = output.progress(tracker.tally())
    tracker.view = view
    failed = unsaved = 0
    try:
        async for result in suno.as_completed(handles, timeout=timeout, return_exceptions=True):
            if isinstance(result, SunoError):
                failed += 1
                task_id = getattr(result, "task_id", None)
                if task_id in tracker.states:
                    tracker.states[task_id] = "failed"
            else:
                tracker.states[result.task_id] = "succeeded"
            tracker.refresh()
            output.result(result)
            if (
                download is not None
                and not isinstance(result, SunoError)
                and not await _download(suno, result, download, output)
            ):
                unsaved += 1
    except (asyncio.CancelledError, SunoError):
        pending = [i for i, state in tracker.states.items() if state in ("queued", "generating")]
        if pending:
            output.emit("pending", None, task_ids=pending)
            output.note(
                "these tasks keep running on the service; collect them with: "
                f"suno-async wait {' '.join(map(str, pending))}"
            )
        raise
    finally:
        tracker.view = None
        view.close(tracker.tally())
    output.emit(
        "summary",
        None,
        succeeded=len(handles) - failed,
        failed=failed,
        requests=suno.requests_sent,
        points_spent=tracker.points,
        downloads_failed=unsaved,
    )
    if failed:
        return ExitCode.TASKS_FAILED
    return ExitCode.SERVICE if unsaved else ExitCode.OK


async def _download(suno: AsyncSuno, result: object, folder: Path, output: Output) -> bool:
    """Save a result's media into ``folder`` (an alignment as JSON); False if it failed."""
    task_id = getattr(result, "task_id", None)
    try:
        if isinstance(result, LyricsAlignment):
            path = folder / f"{result.task_id}-alignment.json"
            text = json.dumps(to_jsonable(result), ensure_ascii=False, indent=1)
            await anyio.Path(path).write_text(text + "\n", encoding="utf-8")
        elif isinstance(result, (Song, Video, Wav)):
            path = await suno.download(result, folder)
        else:
            return True
    except SunoError as exc:
        output.emit(
            "download_failed", f"{task_id}  download failed: {exc}", task_id=task_id, error=str(exc)
        )
        return False
    output.emit("downloaded", f"{task_id}  saved {path}", task_id=task_id, path=str(path))
    return True


async def run_task(args: argparse.Namespace, output: Output) -> ExitCode:
    async with open_session(args) as suno:
        tasks = await suno.get_tasks(args.ids)
    found = {task.id: task for task in tasks}
    for task in tasks:
        output.result(task)
    missing = [i for i in dict.fromkeys(args.ids) if i not in found]
    for task_id in missing:
        output.emit(
            "result",
            f"{task_id}  not found",
            task_id=task_id,
            ok=False,
            error=f"task {task_id} is unknown to the service",
        )
    return ExitCode.TASKS_FAILED if missing else ExitCode.OK


_KINDS: Final = {
    "song": TaskKind.SONG,
    "video": TaskKind.VIDEO,
    "wav": TaskKind.WAV,
    "alignment": TaskKind.ALIGNMENT,
}


async def run_wait(args: argparse.Namespace, output: Output) -> ExitCode:
    ensure_folder(args.download)
    tracker = Tracker()
    async with open_session(args, on_status_change=tracker.on_change) as suno:
        tracker.suno = suno
        handles = [suno.handle(i, _KINDS[args.kind]) for i in dict.fromkeys(args.ids)]
        return await wait_and_report(
            suno,
            handles,
            download=args.download,
            timeout=args.timeout,
            output=output,
            tracker=tracker,
        )
