"""
TaskWatcher: every outstanding task id of a session, polled together in batch queries.

One entry per task id holds a future and a count of its awaiters. Each tick gathers the ids
that are due into ``ceil(due / batch_size)`` calls of ``GET /music/tasks``; a row is only
peeked (id and status) until its task has finished, and only then decoded in full.

Every wait ends. A failed poll fails no future by itself: its ids are asked again later,
with backoff, and a Retry-After pause is capped. A batch the service refuses is split until
the id it refuses stands alone, so one bad id holds back no other; an id refused on its own
``max_failures`` times ends with the last error, an id whose own row twice in a row has a
shape nothing reads ends with that (its batch's other ids go on), and a task whose status
stays the same for ``stall_timeout`` ends with :class:`TaskStalledError`. Each query has
its own deadline, and the queries of a tick run on a few workers the loop does not wait on
for longer than an interval, so one slow answer delays nobody else's.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import OrderedDict, deque
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Sequence,
)
from functools import partial
from typing import Any, Final, TypeVar

import anyio
import anyio.abc

from ._batch import BatchQuery, Take, get_with_deadline, is_refusal
from ._clock import Clock, SystemClock
from ._config import PollPolicy
from ._convert import WireFormatError, other_task, peek_row, snippet, unreadable
from ._errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    SessionClosedError,
    SunoError,
    TaskStalledError,
    WaitTimeoutError,
    WrongEventLoopError,
)
from ._listen import StatusChanges
from ._models import StatusChange, TaskHandle, TaskStatus
from ._places import Places
from ._transport import Transport
from ._watched import (
    UNREADABLE_READINGS,
    Entry,
    Finished,
    Garbled,
    News,
    Sink,
    WatcherStats,
    brief,
    first_polls,
    internal_error,
    other_loop_error,
    ring,
    take_news,
    unknown_task,
)

__all__ = ["PollPolicy", "TaskWatcher", "WatcherStats"]

T = TypeVar("T")
logger: Final = logging.getLogger("suno_async.watcher")
#: The least time the loop gives a tick's queries before it moves on to the next tick.
_MIN_TICK_WAIT: Final = 1.0
#: Failed polls in a row before one WARNING says so; each failure alone is logged at INFO.
_WARN_STREAK: Final = 5
#: Final outcomes kept for a later wait on the same id (a bot's wait right after its
#: status changes ended): the most recent few hundred, each a raw row of a few KB, so a
#: session that lives for days and awaits millions of songs stays the same size.
_KNOWN_OUTCOMES: Final = 256


class TaskWatcher:
    """Resolves a future per task id from batched ``/music/tasks`` polls."""

    def __init__(
        self,
        transport: Transport,
        policy: PollPolicy,
        *,
        query: BatchQuery | None = None,
        on_status_change: Callable[[StatusChange], object] | None = None,
    ) -> None:
        self._transport = transport
        self._query = query or BatchQuery(transport)
        self.policy = policy
        #: Where the time is read and timers set; the SDK's tests put a clock they move by
        #: hand here before the first wait.
        self.clock: Clock = SystemClock()
        self._places = Places()
        # The final outcomes seen lately, oldest first: a task's final state never changes,
        # so a wait on it (after status_changes() saw it end, say) needs no request.
        self._known: OrderedDict[int, Finished] = OrderedDict()
        # The queries of the ticks, run by at most ``concurrency`` workers.
        self._jobs: deque[Callable[[], Awaitable[None]]] = deque()
        self._workers = 0
        self._group: anyio.abc.TaskGroup | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stall_check_at = math.inf
        self._failed_in_a_row = 0
        self._warned_unattributed = False
        self._listeners: list[Callable[[StatusChange], object]] = []
        if on_status_change is not None:
            self._listeners.append(on_status_change)
        self._streams: set[Callable[[], object]] = set()
        # Set while the poll loop sleeps: a new id due sooner wakes it through this.
        self._alarm: asyncio.Future[None] | None = None
        self._wake_at = math.inf
        self._tick_floor = 0.0
        self._paused_until = 0.0
        self._running = False
        self._closed = False
        self._single_requests = 0
        self._ticks = 0
        self._last_tick_requests = 0
        self._resolved = 0
        self._poll_errors = 0
        self._stalled = 0
        # Seconds between two polls of one id, as the last tick's schedule had it.
        self._period = 0.0

    # --- public surface -----------------------------------------------------------------

    @property
    def batch_size(self) -> int:
        """The ids per query: the policy's, or the service's page size once learnt."""
        return self._query.size(self.policy.batch_size)

    @property
    def stats(self) -> WatcherStats:
        budget = self._transport.budget
        return WatcherStats(
            budget_per_minute=None if budget is None else budget.per_minute,
            rate_limited=self._transport.rate_limited,
            poll_period=self._poll_period(),
            requests=self._query.requests + self._single_requests,
            batch_requests=self._query.requests,
            single_requests=self._single_requests,
            ticks=self._ticks,
            last_tick_requests=self._last_tick_requests,
            tasks_resolved=self._resolved,
            poll_errors=self._poll_errors,
            outstanding=len(self._places),
            batch_size=self.batch_size,
        )

    def _poll_period(self) -> float:
        """About how long between two polls of one task: an interval, or what the budget allows."""
        return max(self._period, self.policy.interval)

    def outstanding(self) -> list[int]:
        """The task ids being polled now."""
        return list(self._places.entries)

    def add_listener(self, listener: Callable[[StatusChange], object]) -> Callable[[], None]:
        """Call ``listener`` on every status change; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def listen(
        self, on_change: Callable[[StatusChange], object], on_close: Callable[[], object]
    ) -> Callable[[], None]:
        """
        Call ``on_change`` on every status change and ``on_close`` when the session closes
        (at once if it has); returns the function that stops both, safe to call twice.
        """
        if self._closed:
            on_close()
            return lambda: None
        self._listeners.append(on_change)
        self._streams.add(on_close)

        def stop() -> None:
            if on_change in self._listeners:
                self._listeners.remove(on_change)
            self._streams.discard(on_close)

        return stop

    def status_changes(self) -> StatusChanges:
        """Every status change from now on, as the polls see them; ends when the session closes."""
        return StatusChanges(self)

    async def run(self) -> None:
        """The poll loop; runs in the session's task group until the session closes."""
        self._running = True
        self._loop = asyncio.get_running_loop()
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                while True:
                    await self._sleep_until_due()
                    started = self.clock.now()
                    self._places.wake_due(started, self.policy.miss_limit)
                    if started >= self._stall_check_at:
                        self._end_stalled(started)
                    if self._places.due():
                        self._tick_floor = started + self.policy.interval
                        try:
                            await self._tick(started)
                        except Exception as exc:
                            # A bug here must not leave awaiters hanging on a dead loop.
                            logger.exception("the task watcher failed a tick")
                            self._fail_all(internal_error(exc))
                    # Wake each interval while anything is outstanding; a tick with nothing
                    # due sends nothing, so ids waiting out their first poll cost nothing.
                    self._wake_at = (
                        max(started + self.policy.interval, self._paused_until)
                        if self._places
                        else math.inf
                    )
        finally:
            self._running = False
            self._group = None

    @property
    def running(self) -> bool:
        """Whether the poll loop runs, on an event loop that is still open."""
        return self._running and self._loop is not None and not self._loop.is_closed()

    @property
    def sleeping(self) -> bool:
        """
        Whether the poll loop sleeps between ticks, waiting for its clock alone: what a test
        that moves the clock by hand waits for before moving it again.
        """
        return self._alarm is not None and not self._alarm.done()

    def close(self) -> None:
        """Fail every pending awaiter with :class:`SessionClosedError`; poll no more."""
        self._closed = True
        for on_close in list(self._streams):
            on_close()
        self._jobs.clear()
        for entry in self._places.clear():
            entry.finish(SessionClosedError(entry.task_id, entry.status))

    # --- awaiting -----------------------------------------------------------------------

    def _acquire(self, handles: Sequence[TaskHandle[Any]]) -> list[Entry]:
        """
        The entry of each handle's id, made where there is none; each gains one awaiter.

        A new id is first asked about once its kind of task can plausibly be done, counted
        from when it started (at once for a saved id of unknown age).
        """
        ids = [handle.task_id for handle in handles]
        if self._closed and ids:
            raise SessionClosedError(ids[0])
        places = self._places
        entries = places.entries
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None and ids:
                raise other_loop_error()
            self._loop = loop
        # A new id waits out a Retry-After pause like the others.
        now, floor = self.clock.now(), self._paused_until
        acquired: list[Entry] = []
        earliest = math.inf
        polls = first_polls(handles, self.policy, self.clock.wall())
        for task_id, first_poll in zip(ids, polls, strict=True):
            entry = entries.get(task_id)
            if entry is None and task_id in self._known:
                entry = Entry(task_id, now)
                entry.finish(self._known[task_id])
            elif entry is None:
                not_before = now + first_poll if now + first_poll > floor else floor
                entry = Entry(task_id, not_before)
                places.add(entry, due=not_before <= now)
                earliest = min(earliest, not_before)
            entry.awaiters += 1
            acquired.append(entry)
        if earliest < math.inf and self.policy.stall_timeout is not None:
            self._stall_check_at = min(self._stall_check_at, earliest + self.policy.stall_timeout)
        # A new id joins the next tick; it never brings one closer than the interval.
        wake_at = max(earliest, self._tick_floor)
        if wake_at < self._wake_at:
            self._wake_at = wake_at
            ring(self._alarm)
        return acquired

    def _release(self, entry: Entry) -> None:
        entry.awaiters -= 1
        if entry.awaiters == 0 and not entry.done:
            # Let go: nobody waits for it, so it is polled no more and never finished.
            self._places.forget(entry)
            entry.done = True

    def _end_stalled(self, now: float) -> None:
        """
        End the waits of tasks whose status has not changed for ``stall_timeout``.

        Progress is seen here, not on every row: this runs only when the earliest possible
        stall is due, so a healthy session pays one pass per ``stall_timeout`` at most.
        """
        limit = self.policy.stall_timeout
        if limit is None:
            self._stall_check_at = math.inf
            return
        next_check = math.inf
        for entry in self._places:
            if entry.status is not entry.stall_status:
                entry.stall_status, entry.stall_since = entry.status, now
            deadline = entry.stall_since + limit
            if deadline > now:
                next_check = min(next_check, deadline)
                continue
            self._stalled += 1
            logger.warning(
                "task %d showed no progress for %gs; its wait ends", entry.task_id, limit
            )
            self._settle(entry, TaskStalledError(entry.task_id, entry.status, limit))
        self._stall_check_at = next_check

    async def wait(
        self, handles: Sequence[TaskHandle[Any]], timeout: float | None
    ) -> list[Finished | SunoError]:
        """
        Await every id; a task that failed to be watched gives its error in its place.

        One sink counts the entries down, so ten thousand waits cost ten thousand small
        calls, not ten thousand asyncio tasks or callbacks.
        """
        entries = self._acquire(handles)
        all_done = asyncio.get_running_loop().create_future()
        pending = [e for e in entries if not e.done]
        remaining = len(pending)

        def one_done(_: Entry) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0:
                ring(all_done)

        for entry in pending:
            entry.sinks.append(one_done)
        # A timer on the watcher's clock, like its other deadlines, not a cancel scope.
        clock = self.clock
        expiry = None if timeout is None or not pending else clock.now() + timeout
        timer = None if expiry is None else clock.call_at(expiry, partial(ring, all_done))
        if expiry is not None:
            for entry in pending:
                entry.deadline = min(entry.deadline, expiry)
        try:
            if pending:
                await all_done
            if remaining:  # woken by the timer
                unfinished = [e.task_id for e in entries if not e.done]
                raise WaitTimeoutError(timeout or 0.0, unfinished)
        finally:
            if timer is not None:
                timer.cancel()
            for entry in pending:
                entry.remove_sink(one_done)
            for entry in entries:
                self._release(entry)
        return [e.result() for e in entries]

    async def as_completed(
        self,
        handles: Sequence[TaskHandle[Any]],
        timeout: float | None,
        convert: Callable[[int, Finished | SunoError], T],
    ) -> AsyncGenerator[T, None]:
        """
        Yield ``convert(index, outcome)`` as each id finishes, first finished first.

        ``convert`` runs here rather than in a second generator around this one, as this is
        the path of every result. An entry is let go as soon as it is yielded, so results the
        caller has dropped are not kept alive by the iteration.
        """
        ready: deque[Entry] = deque()
        positions: dict[Entry, list[int]] = {}
        waiter: asyncio.Future[None] | None = None
        expired = False

        def one_done(entry: Entry) -> None:
            ready.append(entry)
            ring(waiter)

        def expire() -> None:
            nonlocal expired
            expired = True
            ring(waiter)

        # One timer for the whole iteration: a cancel scope per wait would cost more than
        # the results it waits for, as a wait often brings a handful.
        loop, clock = asyncio.get_running_loop(), self.clock
        timer = None if timeout is None else clock.call_at(clock.now() + timeout, expire)
        try:
            positions = self._places_of(handles, one_done, ready)
            if timeout is not None:
                expiry = clock.now() + timeout
                for entry in positions:
                    entry.deadline = min(entry.deadline, expiry)
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
                result = entry.result()
                entry.awaiters -= len(where)  # it is finished: letting go is counting down
                for index in where:
                    yield convert(index, result)
        finally:
            if timer is not None:
                timer.cancel()
            for entry, where in positions.items():
                entry.remove_sink(one_done)
                for _ in where:
                    self._release(entry)

    def _places_of(
        self, handles: Sequence[TaskHandle[Any]], sink: Sink, ready: deque[Entry]
    ) -> dict[Entry, list[int]]:
        """
        Where each acquired entry stands in ``ids`` (more than one place for an id given twice).

        An unfinished entry gets ``sink``; a finished one goes to ``ready`` at once.
        """
        positions: dict[Entry, list[int]] = {}
        for index, entry in enumerate(self._acquire(handles)):
            places = positions.get(entry)
            if places is not None:
                places.append(index)
                continue
            positions[entry] = [index]
            if entry.done:  # not for a fresh entry; never left waiting, though
                ready.append(entry)
            else:
                entry.sinks.append(sink)
        return positions

    # --- polling ------------------------------------------------------------------------

    async def _sleep_until_due(self) -> None:
        """
        Sleep until ``_wake_at``, which a new id may bring closer meanwhile.

        A timer sets a future rather than a cancel scope timing out: the loop wakes every
        interval, and a timeout would throw and catch a cancellation each time.
        """
        loop, clock = asyncio.get_running_loop(), self.clock
        while (wake_at := self._wake_at) > clock.now():
            self._alarm = alarm = loop.create_future()
            timer = None if math.isinf(wake_at) else clock.call_at(wake_at, partial(ring, alarm))
            try:
                await alarm
            finally:
                self._alarm = None
                if timer is not None:
                    timer.cancel()

    async def _tick(self, started: float) -> None:
        """
        Queue the due ids' queries for the workers, then wait for them, up to an interval.

        Usually every query is back well within that, and the next tick asks about every id
        again. A query still out after it (a trickled body, say) keeps its ids out of later
        ticks until it is back or its ``poll_timeout`` passes; the others go on being polled.
        """
        self._ticks += 1
        before = self._query.requests + self._single_requests
        # Each query asks about its batch as it stands now, even if an id is let go before
        # the query leaves: the tick's queries are decided when it starts.
        singles = self._places.take_single()
        batches = self._within_budget(
            self._places.take_batches(self.batch_size), started, len(singles)
        )
        jobs: list[Callable[[], Awaitable[None]]] = [
            partial(self._poll, batch, dict(batch)) for batch in batches
        ]
        jobs.extend(partial(self._check_one, entry) for entry in singles)
        if not jobs:  # its batches emptied since they came back: no query to wait a second for
            return
        remaining = len(jobs)
        done = asyncio.get_running_loop().create_future()

        async def run(job: Callable[[], Awaitable[None]]) -> None:
            nonlocal remaining
            try:
                await job()
            except Exception as exc:
                # A bug here must not leave awaiters hanging on a dead loop.
                logger.exception("the task watcher failed a poll")
                self._fail_all(internal_error(exc))
            finally:
                remaining -= 1
                if remaining == 0:
                    self._last_tick_requests = self._query.requests + self._single_requests - before
                    ring(done)

        self._jobs.extend(partial(run, job) for job in jobs)
        self._start_workers()
        wait = max(self.policy.interval, _MIN_TICK_WAIT)
        timer = self.clock.call_at(started + wait, partial(ring, done))
        try:
            await done
        finally:
            timer.cancel()

    def _pages_per_tick(self, singles: int) -> float:
        """
        The queries the budget lets polls send in an interval: its rate, less the paid
        calls' share while they wait, less the tick's single checks; at least one page.
        """
        budget = self._transport.budget
        if budget is None:
            return math.inf
        rate = budget.per_minute / 60.0
        if budget.paid_waiting:
            rate *= 1.0 - budget.limit.paid_share
        return max(1, math.floor(rate * self.policy.interval) - singles)

    def _within_budget(
        self, batches: list[dict[int, Entry]], now: float, singles: int
    ) -> list[dict[int, Entry]]:
        """
        The batches to ask about this tick: all of them when the budget allows, else the
        pages asked about least recently; the others wait, untouched, for a later tick.

        Full pages rotate, so every id is asked about about once per ``pages / allowed``
        intervals and none starves. An id someone waits on with a timeout counts as asked a
        rotation earlier than it was: it comes sooner, and still takes its turn.
        """
        allowed = self._pages_per_tick(singles)
        interval = self.policy.interval
        if allowed == math.inf:  # no budget: no schedule to keep
            self._period = interval
            return batches
        if len(batches) <= allowed:
            self._period = interval
        else:
            period = self._period = interval * len(batches) / allowed
            cut = int(allowed)

            def age(batch: dict[int, Entry]) -> float:
                return min(
                    e.asked_at - period if e.deadline < math.inf else e.asked_at
                    for e in batch.values()
                )

            batches.sort(key=age)
            for batch in batches[cut:]:
                self._places.give_back(batch)
            del batches[cut:]
        for batch in batches:
            for entry in batch.values():
                entry.asked_at = now
        return batches

    def _start_workers(self) -> None:
        group = self._group
        if group is None:  # pragma: no cover (ticks run inside run(), which sets it)
            return
        for _ in range(min(self.policy.concurrency - self._workers, len(self._jobs))):
            self._workers += 1
            group.start_soon(self._worker)

    async def _worker(self) -> None:
        try:
            while self._jobs:
                await self._jobs.popleft()()
        finally:
            self._workers -= 1

    async def _poll(self, batch: dict[int, Entry], asked: dict[int, Entry]) -> None:
        """One batch's query: its entries stay in it, and it is asked about again next tick."""
        try:
            await self._poll_batch(batch, asked)
        finally:
            self._places.give_back(batch)

    async def _poll_batch(self, batch: dict[int, Entry], asked: dict[int, Entry]) -> None:
        """
        Ask about ``asked``, of ``batch``. A batch the service refuses is split in two, each
        half asked at once, until the refused id stands alone: one bad id costs a few
        queries, and every other id of its batch is answered in the same tick.
        """
        news: list[News[Entry]] = []
        garbled: list[Garbled[Entry]] = []
        failure: SunoError | None = None
        try:
            await self._query.ask(
                asked, self._taker(news, garbled), deadline=self.policy.poll_timeout
            )
        except SunoError as exc:
            failure = exc
        for entry, status, row in news:
            self._apply(entry, status, row)
        for entry, error, row in garbled:
            self._unreadable_row(entry, error, row)
        if failure is None:
            self._poll_went_well()
            limit = self.policy.miss_limit
            for entry in asked.values():  # the ids the answer left out
                if entry.place is batch:
                    entry.misses += 1
                    entry.seen = None
                    if entry.misses >= limit:
                        self._places.to_single(entry)
        else:
            left = [entry for entry in asked.values() if entry.place is batch]
            if len(left) > 1 and is_refusal(failure):
                self._poll_errors += 1
                logger.info(
                    "the service refused a batch of %d ids (%s); asking in halves to find "
                    "the id it refuses",
                    len(left),
                    brief(failure),
                )
                half = len(left) // 2
                await self._poll_batch(batch, {entry.task_id: entry for entry in left[:half]})
                await self._poll_batch(batch, {entry.task_id: entry for entry in left[half:]})
            else:
                self._poll_failed(left, failure)

    def _poll_went_well(self) -> None:
        if self._failed_in_a_row >= _WARN_STREAK:
            logger.info("task polls answer again after %d failures", self._failed_in_a_row)
        self._failed_in_a_row = 0

    def _poll_failed(
        self, batch: list[Entry], exc: SunoError, *, about_the_id: bool = False
    ) -> None:
        """
        Ask about ``batch`` again later, with backoff; or end what no retry can help.

        A refused key or an unusable caller's session ends every wait. An id refused on its
        own (or ``about_the_id``: its own row unreadable) is asked about singly from then
        on, and after ``max_failures`` such answers in a row it ends with the last one.
        Outages, timeouts and rate limits are nobody's fault: they only back off (and
        ``stall_timeout`` bounds them).
        """
        self._poll_errors += 1
        self._failed_in_a_row += 1
        if isinstance(exc, (AuthenticationError, SessionClosedError, WrongEventLoopError)):
            # A refused key, or a caller's aiohttp session closed or bound to another loop.
            logger.error("task polling stopped: %s", exc)
            self._fail_all(exc)
            return
        policy = self.policy
        now = self.clock.now()
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            pause = min(exc.retry_after, policy.max_pause)
            self._paused_until = max(self._paused_until, now + pause)
        refused = len(batch) == 1 and (about_the_id or is_refusal(exc))
        backoff_max = 0.0
        for entry in batch:
            entry.failures += 1
            entry.seen = None
            if refused:
                if not entry.alone:
                    # First traced to this id: ask about it with the single query next tick.
                    entry.alone = True
                    entry.misses = policy.miss_limit
                    self._places.to_single(entry)
                    continue
                entry.refusals += 1
                if entry.refusals >= policy.max_failures:
                    logger.warning(
                        "task %d: the service refused it %d times in a row; its wait ends "
                        "with the last answer: %s",
                        entry.task_id,
                        entry.refusals,
                        brief(exc),
                    )
                    if isinstance(exc, APIError):
                        exc.task_id = entry.task_id
                    self._settle(entry, exc)
                    continue
            backoff = min(policy.interval * 2 ** (entry.failures - 1), policy.max_backoff)
            backoff_max = max(backoff_max, backoff)
            entry.not_before = max(now + backoff, self._paused_until)
            self._places.to_waiting(entry)
        if self._failed_in_a_row == _WARN_STREAK:
            logger.warning(
                "task polls failed %d times in a row (last: %s); still asking, with backoff",
                self._failed_in_a_row,
                brief(exc),
            )
        else:
            logger.info(
                "a task poll of %d id(s) failed (%s); asking again in %.3gs",
                len(batch),
                brief(exc),
                max(backoff_max, self._paused_until - now),
            )

    async def _check_one(self, entry: Entry) -> None:
        """The single-task query, for an id batch answers leave out or a batch refused."""
        self._single_requests += 1
        try:
            row = await get_with_deadline(
                self._transport,
                "/music/task",
                {"id": str(entry.task_id)},
                deadline=self.policy.poll_timeout,
            )
            if row is None:
                raise NotFoundError(
                    f"task {entry.task_id} is unknown to the service",
                    status=200,
                    code=None,
                )
            found, status = peek_row(row)
        except APIError as exc:
            if isinstance(exc, NotFoundError):
                self._settle(entry, unknown_task(entry.task_id, exc))
            else:
                self._poll_failed([entry], exc)
        except WireFormatError as exc:
            about = exc.task_id
            if about is not None and about != entry.task_id:
                self._other_task(entry, other_task(about, entry.task_id), row)
            else:
                # The answer to this id alone, its id or status unreadable: this id's row.
                self._poll_went_well()
                self._unreadable_row(entry, exc, row)
        except SunoError as exc:
            self._poll_failed([entry], exc)
        else:
            if found == entry.task_id:
                self._poll_went_well()
                self._apply(entry, status, row)
            else:
                self._other_task(entry, other_task(found, entry.task_id), row)
        self._places.single_back(entry)

    def _other_task(self, entry: Entry, exc: WireFormatError, row: object) -> None:
        """
        The single query answered about another task: counted like a refusal of this id,
        so a service that keeps doing so ends the wait after ``max_failures``.
        """
        error = unreadable(f"task {entry.task_id}: the row", exc, row)
        self._poll_failed([entry], error, about_the_id=True)

    def _unreadable_row(self, entry: Entry, exc: WireFormatError, row: object) -> None:
        """
        This id's own row came, and could not be read: its awaiters alone are told, on the
        ``UNREADABLE_READINGS``-th such answer in a row, with the part that could not be
        read. Until then it is asked about again at the next tick, without backoff: the
        service answered, so nothing needs to cool down, and a reading of a row nothing
        can read is not worth minutes of waiting.
        """
        entry.unreadable += 1
        entry.seen = None  # the next readable answer is news, and clears the count
        if entry.unreadable < UNREADABLE_READINGS:
            logger.info(
                "task %d: its row could not be read (%s); asking again next tick",
                entry.task_id,
                exc,
            )
            return
        error = unreadable(
            f"task {entry.task_id}: its row, answered {entry.unreadable} times in a row,",
            exc,
            row,
        )
        logger.warning("task %d: its wait ends: %s", entry.task_id, error)
        self._settle(entry, error)

    def _taker(self, news: list[News[Entry]], garbled: list[Garbled[Entry]]) -> Take[Entry]:
        """
        What takes a batch page's rows for a poll: see :func:`take_news`. Whether anyone
        listens is read when the page comes, as a listener may subscribe while it is out.
        """

        def take(rows: Sequence[Any], pending: dict[int, Entry]) -> None:
            running = bool(self._listeners)
            unattributed = take_news(rows, pending, news, garbled, running=running)
            if unattributed:
                self._unattributed(unattributed)

        return take

    def _unattributed(self, rows: Sequence[Any]) -> None:
        """
        Rows whose task id cannot be read tell no wait anything: the ids they may answer
        count as left out, and end by the rules for those (asked about alone, where an
        unreadable answer is that id's). Said once at WARNING, with a snippet to report,
        then at DEBUG: a service sending such rows sends them every tick.
        """
        level = logging.DEBUG if self._warned_unattributed else logging.WARNING
        self._warned_unattributed = True
        logger.log(
            level,
            "skipped %d task row(s) with no readable task id, e.g. %s; the ids they may "
            "answer are asked about again",
            len(rows),
            snippet(rows[0]),
        )

    def _apply(self, entry: Entry, status: TaskStatus, row: Any) -> None:
        entry.misses = entry.failures = entry.refusals = entry.unreadable = 0
        entry.seen = status
        if status is not entry.status:
            if self._listeners:
                self._notify(StatusChange(task_id=entry.task_id, old=entry.status, new=status))
            entry.status = status
        if status >= TaskStatus.SUCCEEDED:
            self._settle(entry, (status, row))
        elif entry.alone:
            self._places.to_single(entry)
        else:
            self._places.to_batches(entry)

    def _settle(self, entry: Entry, outcome: Finished | SunoError) -> None:
        """Finish an entry once; a future already done (cancelled) is never touched."""
        self._places.forget(entry)
        if entry.finish(outcome):
            self._resolved += 1
            if not isinstance(outcome, SunoError):
                # Errors are not kept: a stall, a closed session or an outage may mend.
                known = self._known
                known[entry.task_id] = outcome
                if len(known) > _KNOWN_OUTCOMES:
                    known.popitem(last=False)

    def _fail_all(self, exc: SunoError) -> None:
        for entry in self._places:
            self._settle(entry, exc)

    def _notify(self, change: StatusChange) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # noqa: PERF203 (one listener's bug must not stop the others)
                logger.exception("a status-change listener raised; it stays subscribed")
