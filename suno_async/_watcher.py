"""
TaskWatcher: every outstanding task id of a session, polled together in batch queries.

One entry per task id holds a future and a count of its awaiters. Each tick gathers the ids
that are due into ``ceil(due / batch_size)`` calls of ``GET /music/tasks``; a row is only
peeked (id and status) until its task has finished, and only then decoded in full.
A failed poll fails no future: its ids are tried again on a later tick, with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from functools import partial
from itertools import islice
from typing import Any, Final, Literal, TypeVar

import anyio
import attrs

from ._checks import check_count, check_seconds, misconfigured
from ._convert import (
    News,
    W,
    WireFormatError,
    parse_batch,
    peek_row,
    rows_with_news,
    structure_task,
)
from ._errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SessionClosedError,
    SunoError,
    UndecodableResponseError,
    WaitTimeoutError,
)
from ._models import StatusChange, Task, TaskHandle, TaskKind, TaskStatus
from ._transport import NO_RETRY, RetryPolicy, Transport

__all__ = ["PollPolicy", "TaskWatcher", "WatcherStats"]

T = TypeVar("T")
logger: Final = logging.getLogger("suno_async.watcher")
#: Ids per query: 1,000 ids of up to 7 digits keep the request line under 8 KB.
MAX_BATCH_SIZE: Final = 1_000


def _default_first_poll() -> dict[TaskKind, float]:
    return {
        TaskKind.SONG: 20.0,
        TaskKind.ALIGNMENT: 3.0,
        TaskKind.VIDEO: 10.0,
        TaskKind.WAV: 5.0,
        TaskKind.TASK: 0.0,
    }


@attrs.frozen
class PollPolicy:
    """
    How the watcher polls.

    ``first_poll`` holds, per kind of task, how long after it starts a task is first asked
    about: a song is not done in its first 20 seconds, so asking earlier only costs requests.
    ``batch_size`` is the most ids per query; a smaller page size enforced by the service is
    learnt from its answers. ``miss_limit`` is how many batch answers may leave an id out
    before it is checked with the single-task query.
    """

    interval: float = 5.0
    batch_size: int = 100
    first_poll: dict[TaskKind, float] = attrs.field(factory=_default_first_poll)
    concurrency: int = 4
    miss_limit: int = 3
    max_backoff: float = 60.0

    def __attrs_post_init__(self) -> None:
        check_seconds("PollPolicy.interval", self.interval, positive=True, error=misconfigured)
        check_count(
            "PollPolicy.batch_size",
            self.batch_size,
            maximum=MAX_BATCH_SIZE,
            error=lambda field, rule: misconfigured(
                field, f"{rule} (more ids make a query URL longer than servers accept)"
            ),
        )
        check_count("PollPolicy.concurrency", self.concurrency, error=misconfigured)
        check_count("PollPolicy.miss_limit", self.miss_limit, error=misconfigured)
        check_seconds(
            "PollPolicy.max_backoff", self.max_backoff, positive=True, error=misconfigured
        )
        first_poll: object = self.first_poll
        if not isinstance(first_poll, Mapping):
            raise misconfigured(
                "PollPolicy.first_poll",
                f"must be a dict of TaskKind to seconds, got {type(first_poll).__name__}",
            )
        # A partial mapping overrides the kinds it names and keeps the others' defaults.
        merged = _default_first_poll()
        for kind, seconds in first_poll.items():
            if not isinstance(kind, TaskKind):
                raise misconfigured(
                    "PollPolicy.first_poll", f"keys must be TaskKind members, got {kind!r}"
                )
            merged[kind] = check_seconds(  # type: ignore[assignment]
                f"PollPolicy.first_poll[{kind}]", seconds, error=misconfigured
            )
        object.__setattr__(self, "first_poll", merged)


@attrs.frozen
class WatcherStats:
    """Counters for logs and benchmarks; a snapshot, so reading it costs nothing later."""

    requests: int
    batch_requests: int
    single_requests: int
    ticks: int
    last_tick_requests: int
    tasks_resolved: int
    poll_errors: int
    outstanding: int
    batch_size: int


_Sink = Callable[["_Entry"], None]
#: What a watched future resolves to: the final status and the row, still raw, so each
#: result is read once, into the type its awaiter wants (a song needs no Task first).
Finished = tuple[TaskStatus, Any]


class _Entry:
    """
    One task id being watched: its future, how many wait on it, and how polls went.

    ``sinks`` are told synchronously when the future is finished: ``wait`` and
    ``as_completed`` learn of each result in the tick that brings it, with no done-callback
    scheduled through the event loop per task.
    """

    __slots__ = (
        "awaiters",
        "failures",
        "future",
        "misses",
        "not_before",
        "place",
        "seen",
        "sinks",
        "status",
        "task_id",
    )

    def __init__(self, task_id: int, future: asyncio.Future[Finished], not_before: float) -> None:
        self.task_id = task_id
        self.future = future
        self.not_before = not_before
        self.awaiters = 0
        self.misses = 0
        self.failures = 0
        self.status: TaskStatus | None = None
        # The status the last clean answer gave: a row repeating it is no news. False before
        # the first answer; None after a miss or a failure, so the next answer is looked at
        # (and clears the counts).
        self.seen: TaskStatus | Literal[False] | None = False
        # The watcher's dict this entry is in (batched, waiting or single); None once gone.
        self.place: dict[int, _Entry] | None = None
        # One sink, or a list once a second awaiter adds one: most ids have one awaiter.
        self.sinks: _Sink | list[_Sink] | None = None

    def add_sink(self, sink: _Sink) -> None:
        if self.sinks is None:
            self.sinks = sink
        elif isinstance(self.sinks, list):
            self.sinks.append(sink)
        else:
            self.sinks = [self.sinks, sink]

    def remove_sink(self, sink: _Sink) -> None:
        if self.sinks is sink:
            self.sinks = None
        elif isinstance(self.sinks, list) and sink in self.sinks:
            self.sinks.remove(sink)

    def finish(self, outcome: Finished | SunoError) -> bool:
        """
        Set the future and tell the sinks, once; False when it was done already (cancelled).

        The sinks are dropped as they are told, so nobody needs to remove theirs after.
        """
        future = self.future
        if future.done():
            return False
        if isinstance(outcome, SunoError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
        sinks, self.sinks = self.sinks, None
        if isinstance(sinks, list):
            for sink in sinks:
                sink(self)
        elif sinks is not None:
            sinks(self)
        return True


class _Asked:
    """A task asked about outside the watch (``fetch_tasks``): no status seen yet."""

    __slots__ = ("seen", "status", "task_id")

    def __init__(self, task_id: int) -> None:
        self.task_id = task_id
        self.status: TaskStatus | None = None
        self.seen: TaskStatus | Literal[False] | None = None


class TaskWatcher:
    """Resolves a future per task id from batched ``/music/tasks`` polls."""

    def __init__(
        self,
        transport: Transport,
        policy: PollPolicy,
        *,
        on_status_change: Callable[[StatusChange], object] | None = None,
    ) -> None:
        self._transport = transport
        self.policy = policy
        self._entries: dict[int, _Entry] = {}
        # Each entry is in one of these: polled in batch queries each tick, waiting out its
        # first poll or a backoff, or asked about alone after missing from batch answers.
        # So a tick takes its ids whole, with no pass over every entry.
        self._batched: dict[int, _Entry] = {}
        self._waiting: dict[int, _Entry] = {}
        self._single: dict[int, _Entry] = {}
        self._listeners: list[Callable[[StatusChange], object]] = []
        if on_status_change is not None:
            self._listeners.append(on_status_change)
        self._streams: set[asyncio.Queue[StatusChange | None]] = set()
        # Set while the poll loop sleeps: a new id due sooner wakes it through this.
        self._alarm: asyncio.Future[None] | None = None
        self._wake_at = math.inf
        self._tick_floor = 0.0
        self._paused_until = 0.0
        self._page_cap: int | None = None
        self._running = False
        self._closed = False
        self._batch_requests = 0
        self._single_requests = 0
        self._ticks = 0
        self._last_tick_requests = 0
        self._resolved = 0
        self._poll_errors = 0

    # --- public surface -----------------------------------------------------------------

    @property
    def batch_size(self) -> int:
        """The ids per query: the policy's, or the service's page size once learnt."""
        if self._page_cap is None:
            return self.policy.batch_size
        return min(self.policy.batch_size, self._page_cap)

    @property
    def stats(self) -> WatcherStats:
        return WatcherStats(
            requests=self._batch_requests + self._single_requests,
            batch_requests=self._batch_requests,
            single_requests=self._single_requests,
            ticks=self._ticks,
            last_tick_requests=self._last_tick_requests,
            tasks_resolved=self._resolved,
            poll_errors=self._poll_errors,
            outstanding=len(self._entries),
            batch_size=self.batch_size,
        )

    def outstanding(self) -> list[int]:
        """The task ids being polled now."""
        return list(self._entries)

    def add_listener(self, listener: Callable[[StatusChange], object]) -> Callable[[], None]:
        """Call ``listener`` on every status change; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def status_changes(self) -> AsyncIterator[StatusChange]:
        """
        Every status change from now on, as the polls see them; no extra requests.

        The iteration ends when the session closes.
        """
        if self._closed:
            return
        queue: asyncio.Queue[StatusChange | None] = asyncio.Queue()
        self._streams.add(queue)
        remove = self.add_listener(queue.put_nowait)
        try:
            while (change := await queue.get()) is not None:
                yield change
        finally:
            remove()
            self._streams.discard(queue)

    async def run(self) -> None:
        """The poll loop; runs in the session's task group until the session closes."""
        self._running = True
        try:
            while True:
                await self._sleep_until_due()
                started = time.monotonic()
                self._wake_due(started)
                if self._batched or self._single:
                    self._tick_floor = started + self.policy.interval
                    try:
                        await self._tick()
                    except Exception as exc:
                        # A bug here must not leave awaiters hanging on a dead loop.
                        logger.exception("the task watcher failed a tick")
                        self._fail_all(_internal_error(exc))
                # Wake each interval while anything is outstanding; a tick with nothing due
                # sends nothing, so ids waiting out their first poll cost no requests.
                self._wake_at = (
                    max(started + self.policy.interval, self._paused_until)
                    if self._entries
                    else math.inf
                )
        finally:
            self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def close(self) -> None:
        """Fail every pending awaiter with :class:`SessionClosedError`; poll no more."""
        self._closed = True
        for stream in self._streams:
            stream.put_nowait(None)
        entries, self._entries = self._entries, {}
        self._batched, self._waiting, self._single = {}, {}, {}
        for entry in entries.values():
            entry.place = None
            entry.finish(SessionClosedError(entry.task_id, entry.status))

    # --- awaiting -----------------------------------------------------------------------

    def _acquire(self, ids: Sequence[int], first_polls: Sequence[float]) -> list[_Entry]:
        """The entry of each id, made where there is none; each gains one awaiter."""
        if self._closed and ids:
            raise SessionClosedError(ids[0])
        entries, batched, waiting = self._entries, self._batched, self._waiting
        loop = asyncio.get_running_loop()
        # A new id waits out a Retry-After pause like the others.
        now, floor = time.monotonic(), self._paused_until
        acquired: list[_Entry] = []
        earliest = math.inf
        for task_id, first_poll in zip(ids, first_polls, strict=True):
            entry = entries.get(task_id)
            if entry is None:
                not_before = now + first_poll if now + first_poll > floor else floor
                entry = _Entry(task_id, loop.create_future(), not_before)
                entries[task_id] = entry
                place = waiting if not_before > now else batched
                place[task_id] = entry
                entry.place = place
                earliest = min(earliest, not_before)
            entry.awaiters += 1
            acquired.append(entry)
        # A new id joins the next tick; it never brings one closer than the interval.
        wake_at = max(earliest, self._tick_floor)
        if wake_at < self._wake_at:
            self._wake_at = wake_at
            _ring(self._alarm)
        return acquired

    def _release(self, entry: _Entry) -> None:
        entry.awaiters -= 1
        if entry.awaiters == 0 and not entry.future.done():
            self._forget(entry)
            entry.future.cancel()

    def _forget(self, entry: _Entry) -> None:
        """Stop polling an entry (settled or let go); a stale one is left alone."""
        place = entry.place
        if place is not None:
            entry.place = None
            del place[entry.task_id]
            del self._entries[entry.task_id]

    def _move(self, entry: _Entry, where: dict[int, _Entry]) -> None:
        place = entry.place
        if place is not None and place is not where:
            del place[entry.task_id]
            where[entry.task_id] = entry
            entry.place = where

    def _wake_due(self, now: float) -> None:
        """Entries done waiting (first poll, backoff) join the batches or the single checks."""
        due = [entry for entry in self._waiting.values() if entry.not_before <= now]
        limit = self.policy.miss_limit
        for entry in due:
            self._move(entry, self._single if entry.misses >= limit else self._batched)

    async def wait(
        self, ids: Sequence[int], first_polls: Sequence[float], timeout: float | None
    ) -> list[Finished | SunoError]:
        """
        Await every id; a task that failed to be watched gives its error in its place.

        One sink counts the entries down, so ten thousand waits cost ten thousand small
        calls, not ten thousand asyncio tasks or callbacks.
        """
        entries = self._acquire(ids, first_polls)
        all_done = asyncio.get_running_loop().create_future()
        pending = [e for e in entries if not e.future.done()]
        remaining = len(pending)

        def one_done(_: _Entry) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0:
                _ring(all_done)

        for entry in pending:
            entry.add_sink(one_done)
        try:
            if pending:
                with anyio.fail_after(timeout):
                    await all_done
        except TimeoutError:
            raise WaitTimeoutError(
                timeout or 0.0, [e.task_id for e in entries if not e.future.done()]
            ) from None
        finally:
            for entry in pending:
                entry.remove_sink(one_done)
            for entry in entries:
                self._release(entry)
        return [_outcome(e.future) for e in entries]

    async def as_completed(
        self,
        ids: Sequence[int],
        first_polls: Sequence[float],
        timeout: float | None,
        convert: Callable[[int, Finished | SunoError], T],
    ) -> AsyncGenerator[T, None]:
        """
        Yield ``convert(index, outcome)`` as each id finishes, first finished first.

        ``convert`` runs here rather than in a second generator around this one, as this is
        the path of every result. An entry is let go as soon as it is yielded, so results the
        caller has dropped are not kept alive by the iteration.
        """
        ready: deque[_Entry] = deque()
        positions: dict[_Entry, int | list[int]] = {}
        waiter: asyncio.Future[None] | None = None
        expired = False

        def one_done(entry: _Entry) -> None:
            ready.append(entry)
            _ring(waiter)

        def expire() -> None:
            nonlocal expired
            expired = True
            _ring(waiter)

        # One timer for the whole iteration: a cancel scope per wait would cost more than
        # the results it waits for, as a wait often brings a handful.
        loop = asyncio.get_running_loop()
        timer = None if timeout is None else loop.call_later(max(0.0, timeout), expire)
        try:
            positions = self._places_of(ids, first_polls, one_done, ready)
            while positions:
                if not ready:
                    if expired:
                        unfinished = [entry.task_id for entry in positions]
                        raise WaitTimeoutError(timeout or 0.0, unfinished)
                    waiter = loop.create_future()
                    try:
                        await waiter
                    finally:
                        waiter = None
                    continue
                entry = ready.popleft()
                where = positions.pop(entry)
                outcome = _outcome(entry.future)
                indexes = _places(where)
                entry.awaiters -= len(indexes)  # it is finished: letting go is counting down
                for index in indexes:
                    yield convert(index, outcome)
        finally:
            if timer is not None:
                timer.cancel()
            for entry, where in positions.items():
                entry.remove_sink(one_done)
                for _ in _places(where):
                    self._release(entry)

    def _places_of(
        self, ids: Sequence[int], first_polls: Sequence[float], sink: _Sink, ready: deque[_Entry]
    ) -> dict[_Entry, int | list[int]]:
        """
        Where each acquired entry stands in ``ids`` (a list only for an id given twice).

        An unfinished entry gets ``sink``; a finished one goes to ``ready`` at once.
        """
        positions: dict[_Entry, int | list[int]] = {}
        for index, entry in enumerate(self._acquire(ids, first_polls)):
            seen = positions.get(entry)
            if seen is None:
                positions[entry] = index
                if entry.future.done():  # not for a fresh entry; never left waiting, though
                    ready.append(entry)
                else:
                    entry.add_sink(sink)
            elif isinstance(seen, list):
                seen.append(index)
            else:
                positions[entry] = [seen, index]
        return positions

    # --- polling ------------------------------------------------------------------------

    async def _sleep_until_due(self) -> None:
        """
        Sleep until ``_wake_at``, which a new id may bring closer meanwhile.

        A timer sets a future rather than a cancel scope timing out: the loop wakes every
        interval, and a timeout would throw and catch a cancellation each time.
        """
        loop = asyncio.get_running_loop()
        while (delay := self._wake_at - time.monotonic()) > 0:
            self._alarm = alarm = loop.create_future()
            timer = None if math.isinf(delay) else loop.call_later(delay, _ring, alarm)
            try:
                await alarm
            finally:
                self._alarm = None
                if timer is not None:
                    timer.cancel()

    async def _tick(self) -> None:
        self._ticks += 1
        before = self._batch_requests + self._single_requests
        size = self.batch_size
        # Sliced straight off the dict's items: their iterator reuses one pair, so ten
        # thousand ids a tick leave the collector nothing to count.
        batched = iter(self._batched.items())
        jobs: list[Callable[[], Awaitable[None]]] = [
            partial(self._poll_batch, dict(islice(batched, size)))
            for _ in range(0, len(self._batched), size)
        ]
        jobs += [partial(self._check_one, entry) for entry in list(self._single.values())]
        jobs.reverse()

        async def worker() -> None:
            while jobs:
                await jobs.pop()()

        # A few workers share the tick's queries: ``concurrency`` in flight, few tasks made;
        # this task is one of them, so a tick of one query needs no task group at all.
        helpers = min(self.policy.concurrency, len(jobs)) - 1
        if helpers <= 0:
            await worker()
        else:
            async with anyio.create_task_group() as group:
                for _ in range(helpers):
                    group.start_soon(worker)
                await worker()
        self._last_tick_requests = self._batch_requests + self._single_requests - before

    async def _poll_batch(self, asked: dict[int, _Entry]) -> None:
        news: list[News[_Entry]] = []
        failure: SunoError | None = None
        try:
            await self._ask(asked, news)
        except SunoError as exc:
            failure = exc
        for entry, status, row in news:
            self._apply(entry, status, row)
        if failure is not None:
            self._poll_failed(list(asked.values()), failure)
            return
        limit = self.policy.miss_limit
        for entry in asked.values():
            if entry.place is not None:
                entry.misses += 1
                entry.seen = None
                if entry.misses >= limit:
                    self._move(entry, self._single)

    async def fetch_tasks(self, ids: Sequence[int]) -> list[Task]:
        """Tasks by id through the batch query, in the order given; unknown ids left out."""
        tasks: list[Task] = []
        size = self.batch_size
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            news: list[News[_Asked]] = []
            await self._ask(
                {task_id: _Asked(task_id) for task_id in chunk}, news, retry=None, remember=True
            )
            rows = {asked_for.task_id: row for asked_for, _, row in news}
            for task_id in chunk:
                if task_id not in rows:
                    continue
                try:
                    tasks.append(structure_task(rows[task_id]))
                except (WireFormatError, ValueError, TypeError, KeyError) as exc:
                    raise _undecodable(task_id, exc) from exc
        return tasks

    async def _ask(
        self,
        asked: dict[int, W],
        news: list[News[W]],
        *,
        retry: RetryPolicy | None = NO_RETRY,
        remember: bool = False,
    ) -> None:
        """
        Query the ids in ``asked``, following short pages until every known row has come.

        Answered ids leave ``asked`` as their rows arrive, so what is left (also after a
        failed request) was not answered. A page shorter than asked means ids unknown to the
        service or a page size smaller than ours; when the total (or a further page) says
        the latter, the size is learnt. The defaults suit the watcher's polls: a later tick
        is their retry, and nobody reads their ``last_response``.
        """
        # Rows of a short page with no total: cut by the page size only if more rows follow.
        cut: int | None = None
        for _ in range(len(asked)):
            before = len(asked)
            self._batch_requests += 1
            data = await self._transport.call(
                "GET",
                "/music/tasks",
                paid=False,
                params={"ids": ",".join(map(str, asked)), "page": "1", "size": str(before)},
                retry=retry,
                remember=remember,
            )
            try:
                page = parse_batch(data)
            except (WireFormatError, ValueError) as exc:
                raise UndecodableResponseError(
                    f"GET /music/tasks: the batch answer could not be read ({exc})",
                    snippet=repr(data)[:200],
                ) from exc
            skipped = rows_with_news(page.rows, asked, news, running=bool(self._listeners))
            if skipped:
                logger.warning("skipped %d task row(s) with no readable id or status", skipped)
            progressed = len(asked) < before
            if cut is not None and progressed:
                self._learn_page_size(cut)
            if not asked or not progressed:
                break
            if page.total is not None:
                if page.total <= len(page.rows):
                    break  # the rest are ids the service does not know
                self._learn_page_size(len(page.rows))
            else:
                cut = len(page.rows)

    def _learn_page_size(self, size: int) -> None:
        self._page_cap = min(self._page_cap or size, size)

    def _poll_failed(self, batch: list[_Entry], exc: SunoError) -> None:
        self._poll_errors += 1
        if isinstance(exc, AuthenticationError):
            logger.error("task polling stopped: %s", exc)
            self._fail_all(exc)
            return
        batch = [entry for entry in batch if entry.place is not None]
        now = time.monotonic()
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            self._paused_until = max(self._paused_until, now + exc.retry_after)
        elif (
            isinstance(exc, APIError)
            and not isinstance(exc, (RateLimitError, ServerError))
            and any(entry.misses < self.policy.miss_limit for entry in batch)
        ):
            # The service refused the batch itself: ask about each id on its own. A refused
            # single query falls through to the backoff below rather than repeat every tick.
            for entry in batch:
                entry.misses = self.policy.miss_limit
                entry.seen = None
                self._move(entry, self._single)
            return
        logger.warning("task poll failed, retrying on a later tick: %s", exc)
        for entry in batch:
            entry.failures += 1
            entry.seen = None
            backoff = min(self.policy.interval * 2 ** (entry.failures - 1), self.policy.max_backoff)
            entry.not_before = max(now + backoff, self._paused_until)
            self._move(entry, self._waiting)

    async def _check_one(self, entry: _Entry) -> None:
        """The single-task query for an id the batch answers keep leaving out."""
        self._single_requests += 1
        try:
            row = await self._transport.call(
                "GET",
                "/music/task",
                paid=False,
                params={"id": str(entry.task_id)},
                retry=NO_RETRY,
                remember=False,
            )
            if row is None:
                raise NotFoundError(
                    f"task {entry.task_id} is unknown to the service",
                    status=200,
                    code=None,
                )
            _, status = peek_row(row)
        except NotFoundError as exc:
            self._settle(entry, _unknown_task(entry.task_id, exc))
            return
        except (WireFormatError, ValueError) as exc:
            self._poll_failed([entry], _undecodable(entry.task_id, exc))
            return
        except SunoError as exc:
            self._poll_failed([entry], exc)
            return
        self._apply(entry, status, row)

    def _apply(self, entry: _Entry, status: TaskStatus, row: Any) -> None:
        entry.misses = entry.failures = 0
        entry.seen = status
        if status is not entry.status:
            if self._listeners:
                self._notify(StatusChange(task_id=entry.task_id, old=entry.status, new=status))
            entry.status = status
        if status >= TaskStatus.SUCCEEDED:
            self._settle(entry, (status, row))
        else:
            self._move(entry, self._batched)  # from the single checks or a backoff, if there

    def _settle(self, entry: _Entry, outcome: Finished | SunoError) -> None:
        """Finish an entry once; a future already done (cancelled) is never touched."""
        self._forget(entry)
        if entry.finish(outcome):
            self._resolved += 1

    def _fail_all(self, exc: SunoError) -> None:
        for entry in list(self._entries.values()):
            self._settle(entry, exc)

    def _notify(self, change: StatusChange) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # noqa: PERF203 (one listener's bug must not stop the others)
                logger.exception("a status-change listener raised; it stays subscribed")


def _ring(alarm: asyncio.Future[None] | None) -> None:
    if alarm is not None and not alarm.done():
        alarm.set_result(None)


def _places(where: int | list[int]) -> Sequence[int]:
    return where if isinstance(where, list) else (where,)


def _outcome(future: asyncio.Future[Finished]) -> Finished | SunoError:
    exc = future.exception()
    if exc is None:
        return future.result()
    if isinstance(exc, SunoError):
        return exc
    raise exc


def _internal_error(exc: Exception) -> SunoError:
    return SunoError(
        f"the task watcher failed ({type(exc).__name__}: {exc}); the tasks keep running on "
        "the service: wait on their ids again, and please report this"
    )


def _unknown_task(task_id: int, cause: NotFoundError) -> NotFoundError:
    return NotFoundError(
        f"task {task_id} is unknown to the service (never created, expired, or another "
        "account's): check the id",
        status=cause.status,
        code=cause.code,
        api_message=cause.api_message,
        request=cause.request,
    )


def _undecodable(task_id: int, exc: Exception) -> UndecodableResponseError:
    return UndecodableResponseError(
        f"task {task_id}: the service's row could not be read ({exc})", snippet=str(exc)[:200]
    )


def first_polls(handles: Iterable[TaskHandle[Any]], policy: PollPolicy) -> list[float]:
    """
    Seconds until each task is first worth asking about, counted from when it started.

    A saved id of unknown age is asked about at once.
    """
    now = time.monotonic()
    return [
        0.0
        if handle.started_at is None
        else max(0.0, handle.started_at + policy.first_poll.get(handle.kind, 0.0) - now)
        for handle in handles
    ]
