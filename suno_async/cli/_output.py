"""
Where the command's words go: results on stdout, chatter on stderr, or JSON lines for scripts.

Three modes, chosen once: ``json`` (one JSON object per line on stdout, nothing else there),
``rich`` (a live progress display on a terminal) and ``plain`` (one line per step, for logs
and pipes). Results are printed the same way in ``rich`` and ``plain``; only progress differs.
"""

from __future__ import annotations

import enum
import json
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, Final, Literal, Protocol

import attrs

from .._errors import SunoError, TaskFailedError
from .._models import LyricsAlignment, Song, Task, TaskStatus, Video, Wav

__all__ = ["Mode", "Output", "ProgressView", "Tally", "choose_mode", "describe", "to_jsonable"]

Mode = Literal["json", "rich", "plain"]


def choose_mode(*, json_lines: bool, progress: bool) -> Mode:
    """JSON when asked; a live display only on a terminal with rich installed."""
    if json_lines:
        return "json"
    if not progress or os.environ.get("TERM") == "dumb" or not sys.stderr.isatty():
        return "plain"
    try:
        import rich  # noqa: F401, PLC0415  (an optional dependency: the `cli` extra)
    except ImportError:
        return "plain"
    return "rich"


def to_jsonable(value: object) -> Any:
    """Results as plain JSON values: attrs classes as objects, enums by name, no raw extras."""
    kind = type(value)
    if attrs.has(kind):
        return {
            field.name: to_jsonable(getattr(value, field.name))
            for field in attrs.fields(kind)
            if field.name != "extra" and not field.name.startswith("_")
        }
    if isinstance(value, enum.Enum):
        return value.name.lower() if isinstance(value, TaskStatus) else value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def describe(result: object) -> tuple[str, dict[str, Any]]:
    """One human line and the JSON fields for a task's result (or the error in its place)."""
    if isinstance(result, SunoError):
        task_id = getattr(result, "task_id", None)
        fields: dict[str, Any] = {"task_id": task_id, "ok": False, "error": str(result)}
        if isinstance(result, TaskFailedError):
            fields["errormsg"] = result.errormsg
            fields["errormsg_en"] = result.errormsg_en
        prefix = f"{task_id}  failed  " if task_id is not None else "failed  "
        return prefix + str(result), fields
    data = to_jsonable(result)
    kind = "alignment" if isinstance(result, LyricsAlignment) else type(result).__name__.lower()
    fields = {"task_id": data.get("task_id", data.get("id")), "ok": True, "kind": kind, kind: data}
    if isinstance(result, Song):
        length = f"{result.duration:.1f}s" if result.duration is not None else "?s"
        text = f"{result.task_id}  {result.title or '(untitled)'}  {length}  {result.audio_url}"
        return f"{text}  clip {result.id}", fields
    if isinstance(result, Video):
        return f"{result.task_id}  video  {result.url}", fields
    if isinstance(result, Wav):
        return f"{result.task_id}  wav  {result.url}", fields
    if isinstance(result, LyricsAlignment):
        words = " ".join(w.word for w in result.words[:8])
        return f"{result.task_id}  {len(result.words)} aligned words: {words}", fields
    if isinstance(result, Task):
        status = result.status.name.lower()
        media = result.file_info.mp3_url or result.file_info.mp4_url if result.file_info else None
        text = f"{result.id}  {status}"
        if result.custom_id:
            text += f"  clip {result.custom_id}"
        if media:
            text += f"  {media}"
        if result.status is TaskStatus.FAILED:
            text += f"  {result.errormsg_en or result.errormsg or 'no reason given'}"
        return text, fields
    return str(result), fields


@attrs.define
class Tally:
    """What a progress display shows: counts per state, money, requests and time."""

    total: int
    counts: dict[str, int]
    finished: int = 0
    points_spent: int = 0
    requests: int = 0
    started: float = attrs.Factory(time.monotonic)
    #: Finished before this run began (a resumed run): they say nothing about its pace.
    baseline: int = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def eta(self) -> float | None:
        """Seconds left at the pace so far; None until something has finished."""
        if self.total <= self.finished:
            return 0.0
        done_now = self.finished - self.baseline
        if done_now <= 0:
            return None
        return self.elapsed / done_now * (self.total - self.finished)

    def line(self) -> str:
        states = ", ".join(f"{name} {count}" for name, count in self.counts.items() if count)
        eta = self.eta
        left = f", about {_clock(eta)} left" if eta else ""
        return (
            f"[{_clock(self.elapsed)}] {self.finished}/{self.total} finished"
            f" ({states or 'nothing yet'}); {self.points_spent} points spent,"
            f" {self.requests} requests{left}"
        )

    def fields(self) -> dict[str, Any]:
        eta = self.eta
        return {
            "total": self.total,
            "finished": self.finished,
            "counts": dict(self.counts),
            "points_spent": self.points_spent,
            "requests": self.requests,
            "elapsed_s": round(self.elapsed, 3),
            "eta_s": None if eta is None else round(eta, 3),
        }


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}" if whole >= 60 else f"{seconds:.1f}s"


class ProgressView(Protocol):
    """A live display or a line printer: told the tally now and then, and once at the end."""

    def update(self, tally: Tally) -> None: ...
    def close(self, tally: Tally) -> None: ...


#: Characters a terminal acts on rather than shows: C0 controls (tab and newline aside), DEL,
#: C1 controls, the bidi controls that reorder a line, and the Unicode line and paragraph
#: separators that line readers split on. They are written as ``\\uXXXX`` (in a JSON line
#: too, where that is the same string), so a title from the service or a line of a file
#: cannot move the cursor, retitle the window, disguise what is printed or split a JSON line.
_ESCAPED: Final = {
    code: f"\\u{code:04x}"
    for code in (
        *range(0x09),
        *range(0x0B, 0x20),
        *range(0x7F, 0xA0),
        0x061C,
        0x200E,
        0x200F,
        0x2028,
        0x2029,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
}


class Output:
    """The command's voice; every line the command writes goes through here."""

    def __init__(self, mode: Mode, *, debug: bool = False) -> None:
        self.mode = mode
        self.debug = debug

    @property
    def json(self) -> bool:
        return self.mode == "json"

    def _write(self, stream: Literal["out", "err"], text: str) -> None:
        # Looked up on every call: rich's live display swaps sys.stdout for a proxy.
        target = sys.stdout if stream == "out" else sys.stderr
        target.write(text.translate(_ESCAPED) + "\n")
        target.flush()

    def emit(self, event: str, text: str | None = None, **fields: Any) -> None:
        """A result or event: ``text`` on stdout for people, the fields as JSON for scripts."""
        if self.json:
            payload = {"event": event, **{k: to_jsonable(v) for k, v in fields.items()}}
            self._write("out", json.dumps(payload, ensure_ascii=False))
        elif text is not None:
            self._write("out", text)

    def note(self, text: str) -> None:
        """Chatter for people (what is happening, hints); never on stdout, never in JSON."""
        if not self.json:
            self._write("err", text)

    def warn(self, text: str, event: str, **fields: Any) -> None:
        """Something to act on before money is spent: on stderr even with --json (and as JSON)."""
        if self.json:
            self.emit(event, **fields)
        self._write("err", f"suno-async: warning: {text}")

    def result(self, result: object) -> None:
        text, fields = describe(result)
        self.emit("result", text, **fields)

    def error(self, message: str, *, code: int, kind: str) -> None:
        """The one line an error ends the command with (and its JSON twin for scripts)."""
        if self.json:
            self.emit("error", message=message, error=kind, exit_code=code)
        self._write("err", f"suno-async: error: {message}")

    def progress(self, tally: Tally, *, interval: float = 2.0) -> ProgressView:
        """A live display on a terminal, else throttled lines (or JSON progress events)."""
        if self.mode == "rich":
            from ._live import RichView  # noqa: PLC0415  (rich is imported only when shown)

            return RichView(tally)
        return _LineView(self, interval)


class _LineView:
    """Progress as a line (or a JSON event) when the counts change, at most every interval."""

    def __init__(self, output: Output, interval: float) -> None:
        self._output = output
        self._interval = interval
        self._last_at = 0.0
        self._last: tuple[object, ...] | None = None

    def _key(self, tally: Tally) -> tuple[object, ...]:
        return (tally.finished, tuple(tally.counts.items()), tally.points_spent)

    def update(self, tally: Tally) -> None:
        now = time.monotonic()
        if self._key(tally) == self._last or now - self._last_at < self._interval:
            return
        self._show(tally, now)

    def close(self, tally: Tally) -> None:
        if self._key(tally) != self._last:
            self._show(tally, time.monotonic())

    def _show(self, tally: Tally, now: float) -> None:
        self._last_at = now
        self._last = self._key(tally)
        if self._output.json:
            self._output.emit("progress", **tally.fields())
        else:
            self._output.note(tally.line())
