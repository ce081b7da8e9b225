"""
What the watcher knows of each task it watches, and what a poll's answer means for it.

An :class:`Entry` per task id holds the future its awaiters share and the counts of how its
polls went; :func:`take_news` turns a batch page into the few rows worth a look; the
functions below say whether a failed poll was the service's answer about an id, and build
the errors a wait can end with.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Literal, Protocol, TypeVar

import attrs

from ._config import PollPolicy
from ._convert import WireFormatError, peek_row
from ._errors import (
    APIError,
    NotFoundError,
    SunoError,
    WrongEventLoopError,
)
from ._models import TaskHandle, TaskStatus

__all__ = [
    "UNREADABLE_READINGS",
    "Entry",
    "Finished",
    "Garbled",
    "News",
    "Sink",
    "Watched",
    "WatcherStats",
    "brief",
    "first_polls",
    "internal_error",
    "other_loop_error",
    "ring",
    "take_news",
    "unknown_task",
]

Sink = Callable[["Entry"], None]
#: What a watched future resolves to: the final status and the row, still raw, so each
#: result is read once, into the type its awaiter wants (a song needs no Task first).
Finished = tuple[TaskStatus, Any]


@attrs.frozen
class WatcherStats:
    """
    Counters for logs and benchmarks; a snapshot, so reading it costs nothing later.

    ``budget_per_minute`` is the request budget in use now (lower than the session's
    ``RateLimit`` for a while after a 429; None without one), ``rate_limited`` counts the
    requests of the session the service refused with 429, and ``poll_period`` is about how
    many seconds pass between two polls of the same task: the poll interval, or longer
    when the budget cannot ask about every outstanding task each interval.
    """

    requests: int
    batch_requests: int
    single_requests: int
    ticks: int
    last_tick_requests: int
    tasks_resolved: int
    poll_errors: int
    outstanding: int
    batch_size: int
    budget_per_minute: float | None = None
    rate_limited: int = 0
    poll_period: float = 0.0


class Watched(Protocol):
    """
    What a poll knows of a task: its last status, and the one the last clean answer gave.

    ``seen`` is False before the first answer, and None after a miss or a failure, when
    any answer is news (it clears the counts that the miss or failure left).
    """

    status: TaskStatus | None
    seen: TaskStatus | Literal[False] | None


W = TypeVar("W", bound=Watched)
#: A row worth a look: the task it answers, its status, and the row itself, still raw.
News = tuple[W, TaskStatus, Any]
#: A row about a task asked about, whose status could not be read: the task, why, the row.
Garbled = tuple[W, WireFormatError, Any]
#: Readings of a task's own row that could not be read, in a row, that end its wait. One
#: may be a row caught half-written; a second says the shape itself is one nothing reads,
#: and waiting longer (with backoff, minutes) would only hide that from the caller.
UNREADABLE_READINGS: Final = 2


def take_news(
    rows: Sequence[Any],
    pending: dict[int, W],
    news: list[News[W]],
    garbled: list[Garbled[W]],
    *,
    running: bool = True,
) -> list[Any]:
    """
    Match a page's rows to the tasks asked about, taking each answered id out of ``pending``.

    Rows with a final status, or a new one, go to ``news``; a row saying "still running, as
    before" costs a peek and nothing more, as that is most rows of every tick. With
    ``running`` false, nobody follows a running task's steps: a new running status is only
    recorded in place (after a miss or failure it is news all the same). A row whose id
    reads but whose status does not is still that id's answer: it goes to ``garbled``, so
    the id is neither dropped nor taken for one the service left out. Rows for ids not
    asked about (or answered already) are ignored. Returns the rows with no readable id,
    which no task can be told of.
    """
    unattributed: list[Any] = []
    for row in rows:
        try:
            task_id, status = peek_row(row)
        except WireFormatError as exc:
            if exc.task_id is None:
                unattributed.append(row)
            else:
                asked = pending.pop(exc.task_id, None)
                if asked is not None:
                    garbled.append((asked, exc, row))
            continue
        watched = pending.pop(task_id, None)
        if watched is None:
            continue
        if status < TaskStatus.SUCCEEDED:
            seen = watched.seen
            if status is seen:
                continue
            if not running and seen is not None:
                watched.seen = watched.status = status
                continue
        news.append((watched, status, row))
    return unattributed


class Entry:
    """
    One task id being watched: its outcome once known, how many wait on it, how polls went.

    ``sinks`` are told synchronously when the entry is finished: ``wait`` and
    ``as_completed`` learn of each result in the tick that brings it, with no future and no
    done-callback scheduled through the event loop per task.
    """

    __slots__ = (
        "alone",
        "asked_at",
        "awaiters",
        "deadline",
        "done",
        "failures",
        "misses",
        "not_before",
        "outcome",
        "place",
        "refusals",
        "seen",
        "sinks",
        "stall_since",
        "stall_status",
        "status",
        "task_id",
        "unreadable",
    )

    def __init__(self, task_id: int, not_before: float) -> None:
        self.task_id = task_id
        # Done once finished, or let go by its last awaiter: nothing may finish it after.
        self.done = False
        self.outcome: Finished | SunoError | None = None
        self.not_before = not_before
        self.awaiters = 0
        self.misses = 0
        self.failures = 0
        # Refusals of this id asked about on its own, in a row; ``alone`` once a batch
        # refusal was traced to it: it is asked about singly from then on.
        self.refusals = 0
        self.alone = False
        # Answers of this id whose row could not be read, in a row (UNREADABLE_READINGS).
        self.unreadable = 0
        self.status: TaskStatus | None = None
        # The status the stall check last saw, and since when: progress is a new status. The
        # clock starts at the first poll: the wait before it is the watcher's choice.
        self.stall_status: TaskStatus | None = None
        self.stall_since = not_before
        # The status the last clean answer gave: a row repeating it is no news. False before
        # the first answer; None after a miss or a failure, so the next answer is looked at
        # (and clears the counts).
        self.seen: TaskStatus | Literal[False] | None = False
        # The dict this entry is in (a batch, waiting or single); None once gone.
        self.place: dict[int, Entry] | None = None
        self.sinks: list[Sink] = []
        # When a batch query last asked about it, and the earliest timeout of a wait on it:
        # what the poll schedule orders by when the budget cannot ask about every id a tick.
        self.asked_at = -math.inf
        self.deadline = math.inf

    def remove_sink(self, sink: Sink) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)

    def finish(self, outcome: Finished | SunoError) -> bool:
        """
        Keep the outcome and tell the sinks, once; False when it was done already (or let go).

        The sinks are dropped as they are told, so nobody needs to remove theirs after.
        """
        if self.done:
            return False
        self.done = True
        self.outcome = outcome
        sinks, self.sinks = self.sinks, []
        for sink in sinks:
            sink(self)
        return True

    def result(self) -> Finished | SunoError:
        """The outcome of a finished entry."""
        outcome = self.outcome
        if outcome is None:  # pragma: no cover (only read once finished)
            msg = f"task {self.task_id} is not finished"
            raise AssertionError(msg)
        return outcome


def ring(alarm: asyncio.Future[None] | None) -> None:
    if alarm is not None and not alarm.done():
        alarm.set_result(None)


def internal_error(exc: Exception) -> SunoError:
    return SunoError(
        f"the task watcher failed ({type(exc).__name__}: {exc}); the tasks keep running on "
        "the service: wait on their ids again, and please report this"
    )


def brief(exc: SunoError) -> str:
    """An error in a few words for a log line: no hint of what to do next, which may not hold."""
    if isinstance(exc, APIError):
        said = f" {exc.api_message!r}" if exc.api_message else ""
        code = f" code {exc.code}" if exc.code is not None else ""
        return f"{type(exc).__name__}: HTTP {exc.status}{code}{said}"
    return f"{type(exc).__name__}: {exc}"


def other_loop_error() -> SunoError:
    return WrongEventLoopError(
        "this AsyncSuno session was first used under another event loop, and a session "
        "belongs to one loop: create the session inside the loop that uses it (e.g. inside "
        "the coroutine that asyncio.run runs)"
    )


def unknown_task(task_id: int, cause: APIError) -> NotFoundError:
    error = NotFoundError(
        f"task {task_id} is unknown to the service (never created, expired, or another "
        "account's): check the id",
        status=cause.status,
        code=cause.code,
        api_message=cause.api_message,
        request=cause.request,
    )
    error.task_id = task_id
    return error


def first_polls(handles: Iterable[TaskHandle[Any]], policy: PollPolicy, now: float) -> list[float]:
    """
    Seconds until each task is first worth asking about, counted from when it started.

    A saved id of unknown age is asked about at once. ``started_at`` is a wall-clock time
    (``now`` is one too), so a handle rebuilt in another process keeps its wait; one ahead
    of ``now`` (another machine's clock) waits no longer than a task started now.
    """
    polls: list[float] = []
    for handle in handles:
        first_poll = policy.first_poll.get(handle.kind, 0.0)
        started_at = handle.started_at
        polls.append(
            0.0 if started_at is None else min(first_poll, max(0.0, started_at + first_poll - now))
        )
    return polls
