"""
generate_many: a list of generate requests run to the end, each paid for at most once.

A run sends under the session's paid-call limits, awaits every started task through the
session's watcher, downloads the media when asked, and yields one :class:`BulkOutcome` per
request as it completes. With a journal (see ``_journal``) it survives kill -9: a re-run
awaits what was started, downloads what is missing, skips what is finished, and never sends
again a request that may have reached the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal

import anyio
import attrs

from ._checks import check_bool, check_count, show
from ._duplicates import warn_duplicates
from ._errors import (
    AuthenticationError,
    InsufficientPointsError,
    MediaTooLargeError,
    RateLimitError,
    SessionClosedError,
    SunoError,
    TaskFailedError,
    TransportError,
    UsageError,
    ValidationError,
)
from ._journal import (
    Journal,
    JournalConflictError,
    JournalError,
    JournalRow,
    State,
    request_key,
)
from ._leftovers import refuse_existing_media
from ._models import GenerateRequest, Song, StatusChange, TaskHandle, TaskKind, TaskStatus

if TYPE_CHECKING:
    from ._client import AsyncSuno

__all__ = [
    "DEFAULT_MAX_DOWNLOAD_BYTES",
    "BalanceTooLowError",
    "BudgetReachedError",
    "BulkOutcome",
    "BulkProgress",
    "BulkRun",
    "CostEstimate",
]

logger: Final = logging.getLogger("suno_async.bulk")

#: Points per ``POST /music/generate`` (0.36 CNY, two songs), from the API's price list.
GENERATE_PRICE: Final = 36
Media = Literal["audio", "video", "cover"]
MEDIA: Final[tuple[Media, ...]] = ("audio", "video", "cover")
OutcomeState = Literal["done", "failed", "pending", "unknown", "not_sent"]
#: The cap on one downloaded file of a bulk run. Real songs are far below it: a 4-minute
#: m4a is 4-8 MB, an mp3 about 10 MB, a WAV about 50 MB and a song's video 30-60 MB, so
#: 200 MB leaves room for long songs and high-bitrate videos, while a host announcing
#: gigabytes or sending without end costs 200 MB of disk per file at most, not the disk.
DEFAULT_MAX_DOWNLOAD_BYTES: Final = 200 * 10**6
#: Refusals that charged nothing and would meet the next request too: sending stops, the
#: request stays planned, and a re-run sends it once the key, the points, the rate limit,
#: the network or the session is back.
_STOPPERS: Final = (
    InsufficientPointsError,
    AuthenticationError,
    RateLimitError,
    TransportError,
    SessionClosedError,
)


class BalanceTooLowError(SunoError):
    """
    The run costs more points than the account holds; nothing was sent.

    ``max_points`` is the budget that sends what the balance pays for: the budget counts
    the whole journal, so it is the balance plus the ``spent`` points of earlier runs (a
    budget of just the balance would send nothing after a resume).
    """

    def __init__(self, needed: int, balance: int, requests: int, spent: int = 0) -> None:
        self.needed = needed
        self.balance = balance
        self.requests = requests
        self.spent: int = spent
        self.max_points: int = spent + balance
        earlier = f" (the journal's {spent} points spent so far count toward it)" if spent else ""
        super().__init__(
            f"this run needs {needed} points ({requests} requests x {GENERATE_PRICE}) but the "
            f"balance is {balance}: top up, or pass max_points={self.max_points}{earlier} to "
            "send only what fits (the rest is reported as not sent, and a later run resumes it)"
        )


class BudgetReachedError(SunoError):
    """
    ``max_points`` is reached: the request at ``first_index`` (0-based) and the ones after
    it were not sent. Attributes keep the figures so a front end can say it its own way.
    """

    def __init__(self, max_points: int, first_index: int) -> None:
        self.max_points = max_points
        self.first_index = first_index
        super().__init__(
            f"max_points={max_points} is reached: request(s) from {first_index} on were "
            "not sent; raise max_points and run again to send them"
        )


@attrs.frozen
class BulkOutcome:
    """
    What became of one request (one paid call, two songs).

    ``state`` is ``done`` (every song finished), ``failed`` (the service reported a song
    failed, or refused the request: see ``errors``), ``pending`` (started, but the wait
    ended without the service's verdict: a refused key, a timeout, an outage, an id not
    found; the journal keeps it started and a re-run awaits it again), ``unknown`` (an
    earlier run was cut off while sending it: it may have been charged, so it is not sent
    again unless asked) or ``not_sent`` (sending stopped first: ``errors`` says why; a
    later run sends it).

    ``files_missing`` counts the files asked for, of the songs that finished, that are not
    on disk (a download failed: see ``errors``); a re-run fetches them without paying.
    """

    index: int
    key: str
    request: GenerateRequest
    state: OutcomeState
    task_ids: tuple[int, ...] = ()
    songs: tuple[Song, ...] = ()
    errors: tuple[SunoError, ...] = ()
    paths: tuple[Path, ...] = ()
    files_missing: int = 0

    @property
    def ok(self) -> bool:
        return self.state == "done" and not self.errors


@attrs.frozen
class BulkProgress:
    """
    Counts of requests over the whole journal (earlier runs included), read without any
    request: ``queued`` and ``generating`` split the started ones by what the watcher saw;
    ``pending`` is the started ones this run stopped awaiting (a re-run awaits them);
    ``downloaded`` is the finished ones with every file on disk. ``points_spent`` is what
    the service surely charged, ``points_possibly_spent`` what the ``unknown`` requests
    may have cost on top of it.
    """

    total: int
    planned: int
    sending: int
    queued: int
    generating: int
    done: int
    failed: int
    downloaded: int
    unknown: int
    not_sent: int
    points_spent: int
    requests_sent: int
    pending: int = 0
    points_possibly_spent: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.failed


@attrs.frozen
class CostEstimate:
    """What the run will spend, checked against the balance before the first paid call."""

    to_send: int
    price: int
    points: int
    balance: int | None
    already_started: int
    unknown: int
    skipped_budget: int

    @property
    def fits(self) -> bool:
        return self.balance is None or self.points <= self.balance


_SPENT: Final = frozenset({"started", "pending", "done", "failed", "downloaded"})
#: In-memory states: the journal's, plus ``unknown`` (left in ``sending``) and ``pending``
#: (left in ``started``).
_RunState = State | Literal["unknown", "pending"]


class _NotAListError(ValidationError, TypeError):
    """Bad input like every other (a ValidationError), and the TypeError it always was."""


class BulkRun:
    """
    One run of :meth:`AsyncSuno.generate_many`: ``async with run:`` then ``async for
    outcome in run:``. Leaving the block early (break, Ctrl-C, cancellation) stops sending
    and waiting and leaves the journal written up to that moment: a re-run resumes.
    """

    def __init__(
        self,
        suno: AsyncSuno,
        requests: Sequence[GenerateRequest],
        *,
        journal: str | os.PathLike[str] | None = None,
        download_to: str | os.PathLike[str] | None = None,
        media: Sequence[Media] = ("audio",),
        max_points: int | None = None,
        dry_run: bool = False,
        resend_unknown: bool = False,
        allow_existing_media: bool = False,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    ) -> None:
        given: object = requests
        if isinstance(given, (str, bytes, GenerateRequest)) or not isinstance(given, Sequence):
            raise _NotAListError(
                "requests",
                "pass a list of GenerateRequest, e.g. suno.generate_many([request, ...])",
            )
        for index, request in enumerate(requests):
            if not isinstance(request, GenerateRequest):
                raise ValidationError(
                    f"requests[{index}]",
                    f"must be a GenerateRequest, got {type(request).__name__}",
                )
        kinds: object = media
        if (
            isinstance(kinds, str)
            or not isinstance(kinds, Sequence)
            or not kinds
            or any(kind not in MEDIA for kind in kinds)
        ):
            rule = f"must be a non-empty list of {MEDIA}, got {show(kinds)}"
            raise ValidationError("media", rule)
        for name, path in (("journal", journal), ("download_to", download_to)):
            if path is not None and not isinstance(path, (str, os.PathLike)):
                raise ValidationError(name, f"must be a path (a str or a Path), got {show(path)}")
        check_bool("dry_run", dry_run)
        check_bool("resend_unknown", resend_unknown)
        check_bool("allow_existing_media", allow_existing_media)
        budget: object = max_points
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, int) or budget < 0
        ):
            raise ValidationError("max_points", f"must be a whole number >= 0, got {max_points!r}")
        # Before anything is sent, and at the caller's line (generate_many's caller).
        warn_duplicates(requests, GENERATE_PRICE, stacklevel=3)
        self._max_download_bytes = check_count("max_download_bytes", max_download_bytes)
        self._suno = suno
        self._requests = tuple(requests)
        self.journal_path: Path | None = None if journal is None else Path(journal)
        self._download_to = None if download_to is None else Path(download_to)
        self._media = tuple(dict.fromkeys(media))
        self._max_points = max_points
        self._dry_run = dry_run
        self._resend_unknown = resend_unknown
        self._allow_existing_media = allow_existing_media
        self._keys = [request_key(i, r) for i, r in enumerate(self._requests)]
        self._states: list[_RunState] = ["planned"] * len(self._requests)
        self._counts: Counter[str] = Counter(planned=len(self._requests))
        self._generating: set[int] = set()
        self._task_index: dict[int, int] = {}
        self._not_sent: dict[int, SunoError] = {}
        # Failed requests the service refused without charging (so with no task ids).
        self._unpaid_failures: set[int] = set()
        # What stopped the sending, so the requests after it say why they were not sent.
        self._halted_by: SunoError | None = None
        self._committed_points = 0
        self._journal: Journal | None = None
        self._outcomes: asyncio.Queue[BulkOutcome | BaseException | None] = asyncio.Queue()
        self._host: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], None] | None = None
        self._entered = False
        self._estimate: CostEstimate | None = None
        self.stop_reason: SunoError | None = None
        #: Why the journal could not be written, if it could not at some point of the run.
        self.journal_error: JournalError | None = None
        #: Started requests whose last state is not in the journal (it could not be
        #: written), with their task ids: known once the iteration has ended.
        self.unsaved: dict[int, tuple[int, ...]] = {}
        self._task_ids: dict[int, tuple[int, ...]] = {}
        #: CPU seconds the journal's writer thread spent, known once the run is left.
        self.journal_cpu_seconds: float = 0.0

    # --- what a front end reads ---------------------------------------------------------

    @property
    def estimate(self) -> CostEstimate:
        """The cost of this run against the balance; known once the run is entered."""
        if self._estimate is None:
            msg = "the estimate is known once the run is entered: `async with run:`"
            raise UsageError(msg)
        return self._estimate

    @property
    def progress(self) -> BulkProgress:
        """Counts per state right now; reading them sends nothing."""
        counts = self._counts
        generating = len(self._generating)
        return BulkProgress(
            total=len(self._requests),
            planned=counts["planned"] - len(self._not_sent),
            sending=counts["sending"],
            queued=counts["started"] - generating,
            generating=generating,
            done=counts["done"] + counts["downloaded"],
            failed=counts["failed"],
            downloaded=counts["downloaded"],
            unknown=counts["unknown"],
            not_sent=len(self._not_sent),
            points_spent=GENERATE_PRICE
            * (sum(counts[s] for s in _SPENT) - len(self._unpaid_failures)),
            requests_sent=self._suno.requests_sent,
            pending=counts["pending"],
            points_possibly_spent=GENERATE_PRICE * counts["unknown"],
        )

    # --- entering and leaving -----------------------------------------------------------

    async def __aenter__(self) -> BulkRun:
        if self._entered:
            msg = "a BulkRun runs once; call generate_many again to resume it"
            raise UsageError(msg)
        self._entered = True
        rows = await self._open_journal()
        try:
            lost = await anyio.to_thread.run_sync(self._rows_missing_files, rows)
            for row in rows:
                state: _RunState = row.state
                if state == "sending":
                    state = "unknown"
                elif row.index in lost:
                    state = "done"
                self._move(row.index, state)
                if state == "failed" and not row.task_ids:
                    self._unpaid_failures.add(row.index)
                for task_id in row.task_ids:
                    self._task_index[task_id] = row.index
                if row.task_ids:
                    self._task_ids[row.index] = row.task_ids
            to_send, to_collect = self._plan(rows, lost)
            self._estimate = await self._estimate_cost(to_send, rows)
            if not self._dry_run:
                self._check_balance(self._estimate)
                sendable = self._estimate.to_send
                self._skip(to_send[sendable:])
                to_send = to_send[:sendable]
        except BaseException:
            await self._close_journal()
            raise
        if self._dry_run:
            await self._close_journal()
            self._outcomes.put_nowait(None)
            return self
        for index in range(len(self._requests)):
            if self._states[index] == "unknown" and index not in to_send:
                self._emit(self._outcome(index, "unknown"))
        self._unlisten = self._suno.watcher.add_listener(self._status_changed)
        self._host = asyncio.get_running_loop().create_task(
            self._run(to_send, to_collect), name="suno-async bulk run"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            if self._host is not None:
                self._host.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._host
            if self._unlisten is not None:
                self._unlisten()
                self._unlisten = None
            await self._close_journal()

    def __aiter__(self) -> AsyncIterator[BulkOutcome]:
        if not self._entered:
            msg = "enter the run first: `async with suno.generate_many(...) as run:`"
            raise UsageError(msg)
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BulkOutcome]:
        while (item := await self._outcomes.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
        self._outcomes.put_nowait(None)  # a second iteration ends at once too

    # --- planning -----------------------------------------------------------------------

    async def _open_journal(self) -> list[JournalRow]:
        path = self.journal_path
        if path is None or (self._dry_run and not path.exists()):
            return [JournalRow(i, k, "planned") for i, k in enumerate(self._keys)]
        journal = Journal(path)
        on_new = None
        if self._download_to is not None and not (self._allow_existing_media or self._dry_run):
            # A new journal beside this run's files: its own journal is elsewhere, or lost.
            titles = [request.title for request in self._requests]
            on_new = functools.partial(refuse_existing_media, path, self._download_to, titles)
        rows = await journal.open(self._requests, write=not self._dry_run, on_new=on_new)
        self._journal = journal
        return rows

    async def _close_journal(self) -> None:
        journal, self._journal = self._journal, None
        if journal is not None:
            await journal.aclose()
            self.journal_cpu_seconds = journal.cpu_seconds

    def _rows_missing_files(self, rows: list[JournalRow]) -> frozenset[int]:
        """
        Downloaded requests one of whose files is gone or empty (deleted, or cut short by a
        power cut before the page cache reached the disk): fetched again.
        """
        if self._download_to is None:
            return frozenset()
        return frozenset(
            row.index
            for row in rows
            if row.state == "downloaded" and not all(map(_on_disk, row.paths))
        )

    def _plan(
        self, rows: list[JournalRow], lost: frozenset[int]
    ) -> tuple[list[int], list[tuple[int, tuple[int, ...]]]]:
        """What this run sends, and which started or unfetched requests it collects by id."""
        to_send: list[int] = []
        to_collect: list[tuple[int, tuple[int, ...]]] = []
        downloads = self._download_to is not None
        for row in rows:
            if row.state == "planned" or (row.state == "sending" and self._resend_unknown):
                to_send.append(row.index)
            elif row.state == "started" or (
                downloads and (row.state == "done" or row.index in lost)
            ):
                to_collect.append((row.index, row.task_ids))
        return to_send, to_collect

    async def _estimate_cost(self, to_send: list[int], rows: list[JournalRow]) -> CostEstimate:
        spent = sum(1 for row in rows if row.state in _SPENT) - len(self._unpaid_failures)
        unknown = sum(1 for row in rows if row.state == "sending")
        # Unknown requests may have been charged: the budget counts them as spent.
        self._committed_points = GENERATE_PRICE * (spent + unknown)
        sendable = len(to_send)
        if self._max_points is not None:
            left = max(0, self._max_points - self._committed_points)
            sendable = min(sendable, left // GENERATE_PRICE)
        balance = None
        if sendable:
            balance = (await self._suno.balance()).remaining_points
        return CostEstimate(
            to_send=sendable,
            price=GENERATE_PRICE,
            points=sendable * GENERATE_PRICE,
            balance=balance,
            already_started=spent,
            unknown=unknown,
            skipped_budget=len(to_send) - sendable,
        )

    def _check_balance(self, estimate: CostEstimate) -> None:
        if not estimate.fits and estimate.balance is not None:
            raise BalanceTooLowError(
                estimate.points, estimate.balance, estimate.to_send, self._committed_points
            )

    def _skip(self, indexes: list[int]) -> None:
        """Requests past the budget: reported as not sent, never sent."""
        if indexes and self._max_points is not None:
            reason = BudgetReachedError(self._max_points, indexes[0])
            self._stop(reason)
            for index in indexes:
                self._not_sent[index] = reason

    # --- running ------------------------------------------------------------------------

    async def _run(self, to_send: list[int], to_collect: list[tuple[int, tuple[int, ...]]]) -> None:
        try:
            async with anyio.create_task_group() as group:
                for index, task_ids in to_collect:
                    handles = [self._suno.handle(i, TaskKind.SONG) for i in task_ids]
                    group.start_soon(self._collect, index, handles)
                pending = iter(to_send)
                slots = self._suno.max_paid_in_flight
                for _ in range(min(slots, len(to_send))):
                    group.start_soon(self._sender, pending, group)
            await self._settle_journal()
        except Exception as exc:  # a bug or a dead journal: end the iteration with it
            inner = getattr(exc, "exceptions", None)
            error = inner[0] if inner and len(inner) == 1 else exc
            logger.error("the bulk run failed: %s", error)
            self._emit_error(error)
            return
        for index, reason in sorted(self._not_sent.items()):
            self._emit(self._outcome(index, "not_sent", errors=(reason,)))
        self._outcomes.put_nowait(None)

    async def _sender(self, pending: Iterator[int], group: anyio.abc.TaskGroup) -> None:
        """Send requests one at a time; as many senders run as paid calls may be in flight."""
        for index in pending:
            if self._halted_by is not None:
                self._not_sent[index] = self._halted_by
                continue
            if (
                self._max_points is not None
                and self._committed_points + GENERATE_PRICE > self._max_points
            ):
                self._skip([index])
                continue
            handles = await self._send(index)
            if handles is not None:
                group.start_soon(self._collect, index, handles)

    async def _send(self, index: int) -> list[TaskHandle[Song]] | None:
        was = self._states[index]
        # What the journal holds: unknown ones were left in `sending`, pending in `started`.
        was_on_disk: State
        if was == "unknown":
            was_on_disk = "sending"
        elif was == "pending":
            was_on_disk = "started"
        else:
            was_on_disk = was
        self._move(index, "sending")
        try:
            await self._commit(index, "sending", only_from=was_on_disk)
        except JournalConflictError:  # another writer moved the row: leave it as it is
            raise
        except JournalError as exc:
            # `sending` is not on disk, so the POST must not leave: a crash after it would
            # leave no trace of a charged request. What was started is still collected.
            self._move(index, "planned")
            self._journal_failed(exc)
            if self._halted_by is None:
                logger.error("bulk run: sending stopped: %s", exc)
                self.stop_reason = self._halted_by = exc
            self._not_sent[index] = exc
            return None
        except BaseException:  # cancelled (or a dead journal) before the POST: it never left
            self._unsend(index)
            raise
        self._committed_points += GENERATE_PRICE
        sent = False

        def on_send() -> None:
            nonlocal sent
            sent = True

        def on_started(task_ids: tuple[int, ...]) -> None:
            self._started(index, task_ids)

        try:
            # Once the POST leaves, a Ctrl-C waits for its answer (at most its own timeout),
            # so the ids reach the journal (from on_started) before the journal closes.
            # Before it leaves (waiting for a paid slot or the paid rate), nothing is sent.
            task_ids = await self._suno._start(
                "/music/generate", self._requests[index], on_started, on_send=on_send
            )
        except SunoError as exc:
            self._refused(index, exc)
            return None
        except BaseException:
            if not sent:
                self._committed_points -= GENERATE_PRICE
                self._unsend(index)
            raise
        self._started(index, tuple(task_ids))
        return list(self._suno._new_handles(task_ids, TaskKind.SONG))

    def _unsend(self, index: int) -> None:
        """A request that never left: planned again, for this run or the next."""
        self._move(index, "planned")
        with contextlib.suppress(SunoError):
            self._record(index, "planned")

    def _started(self, index: int, task_ids: tuple[int, ...]) -> None:
        """The service accepted request ``index``: its ids go to disk at once."""
        if self._states[index] != "sending":
            return
        self._move(index, "started")
        for task_id in task_ids:
            self._task_index[task_id] = index
        self._task_ids[index] = task_ids
        self._record(index, "started", task_ids=task_ids)

    def _refused(self, index: int, exc: SunoError) -> None:
        if getattr(exc, "may_have_charged", True):
            # The journal keeps it in `sending`: a re-run reports it as unknown.
            logger.warning("request %d may have been charged: %s", index, exc)
            self._move(index, "unknown")
            self._emit(self._outcome(index, "unknown", errors=(exc,)))
            return
        self._committed_points -= GENERATE_PRICE
        if isinstance(exc, _STOPPERS):
            self._move(index, "planned")
            self._record(index, "planned", error=str(exc))
            if self._halted_by is None:  # the halt, not a budget met at the start, is the reason
                logger.warning("bulk run: sending stopped: %s", exc)
                self.stop_reason = self._halted_by = exc
            self._not_sent[index] = exc
            return
        self._unpaid_failures.add(index)
        self._move(index, "failed")
        self._record(index, "failed", error=str(exc))
        self._emit(self._outcome(index, "failed", errors=(exc,)))

    def _stop(self, reason: SunoError) -> None:
        if self.stop_reason is None:
            logger.warning("bulk run: sending stopped: %s", reason)
            self.stop_reason = reason

    async def _collect(self, index: int, handles: list[TaskHandle[Song]]) -> None:
        """Await a request's songs, download them, record and yield the outcome."""
        results = await self._suno.wait(handles, return_exceptions=True)
        if any(isinstance(r, SessionClosedError) for r in results):
            return  # the session is closing: the journal still says started; resume later
        songs = tuple(r for r in results if isinstance(r, Song))
        # Only the service's own verdict fails a request. A refused key, a timeout, an
        # outage or an id not found end this run's wait, not the task: it may well finish
        # on the service, and it was paid for, so the next run awaits it again.
        failures = [r for r in results if isinstance(r, TaskFailedError)]
        unanswered = [
            r for r in results if isinstance(r, SunoError) and not isinstance(r, TaskFailedError)
        ]
        errors: list[SunoError] = [*failures, *unanswered]
        paths: list[Path] = []
        missing = 0
        if self._download_to is not None:
            paths, download_errors = await self._fetch(self._download_to, songs)
            errors.extend(download_errors)
            missing = len(songs) * len(self._media) - len(paths)
        task_ids = tuple(h.task_id for h in handles)
        outcome: OutcomeState
        now: _RunState
        # `started` on disk means "more to collect": a request whose songs are not all
        # answered, or whose good songs are not all on disk, is collected by the next run.
        state: State
        if unanswered:
            outcome, state, now = "pending", "started", "pending"
        elif failures:
            outcome = now = "failed"
            state = "started" if missing else "failed"
        elif self._download_to is not None and not missing:
            outcome, state, now = "done", "downloaded", "downloaded"
        else:
            outcome, state, now = "done", "done", "done"
        self._generating.discard(index)
        self._move(index, now)
        message = "; ".join(str(e) for e in errors) or None
        self._record(index, state, task_ids=task_ids, paths=[str(p) for p in paths], error=message)
        self._emit(
            self._outcome(
                index,
                outcome,
                task_ids=task_ids,
                songs=songs,
                errors=tuple(errors),
                paths=tuple(paths),
                files_missing=missing,
            )
        )

    async def _fetch(
        self, folder: Path, songs: tuple[Song, ...]
    ) -> tuple[list[Path], list[SunoError]]:
        """Every asked-for file of the songs (a complete file on disk is kept as it is)."""
        paths: list[Path] = []
        errors: list[SunoError] = []
        cap = self._max_download_bytes

        async def one(song: Song, media: Media) -> None:
            try:
                paths.append(await self._suno.download(song, folder, media=media, max_bytes=cap))
            except MediaTooLargeError as exc:
                errors.append(_over_the_cap(exc, cap))
            except SunoError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as group:
            for song in songs:
                for media in self._media:
                    group.start_soon(one, song, media)
        paths.sort()
        return paths, errors

    async def _settle_journal(self) -> None:
        """
        Wait until every change is on disk, or known not to be: a journal that could not be
        written ends the run with its error as the reason, and ``unsaved`` lists the started
        requests whose task ids or states it lacks, so a front end can print them.
        """
        journal = self._journal
        if journal is None:
            return
        try:
            await journal.flush()
        except JournalError as exc:
            self._journal_failed(exc)
        unsaved = journal.unsaved()
        if unsaved:
            self._journal_failed(journal.failure())
        self.unsaved = {i: self._task_ids[i] for i in sorted(unsaved) if i in self._task_ids}
        if self.journal_error is not None:
            self._stop(self.journal_error)
            if self.unsaved:
                logger.error(
                    "the journal lacks the last state of these started requests: %s",
                    "; ".join(
                        f"request {i}: task ids {' '.join(map(str, ids))}"
                        for i, ids in self.unsaved.items()
                    ),
                )

    def _journal_failed(self, exc: JournalError | None) -> None:
        if exc is not None and self.journal_error is None:
            logger.error("%s", exc)
            self.journal_error = exc

    # --- bookkeeping --------------------------------------------------------------------

    def _move(self, index: int, state: _RunState) -> None:
        counts = self._counts
        counts[self._states[index]] -= 1
        counts[state] += 1
        self._states[index] = state

    def _status_changed(self, change: StatusChange) -> None:
        index = self._task_index.get(change.task_id)
        if (
            index is not None
            and change.new is TaskStatus.GENERATING
            and self._states[index] == "started"
        ):
            self._generating.add(index)

    def _record(self, index: int, state: State, **fields: Any) -> None:
        if self._journal is not None:
            self._journal.record(self._journal.set_state(index, state, **fields))

    async def _commit(self, index: int, state: State, *, only_from: State | None = None) -> None:
        if self._journal is not None:
            await self._journal.commit(self._journal.set_state(index, state, only_from=only_from))

    def _outcome(self, index: int, state: OutcomeState, **fields: Any) -> BulkOutcome:
        return BulkOutcome(index, self._keys[index], self._requests[index], state, **fields)

    def _emit(self, outcome: BulkOutcome) -> None:
        self._outcomes.put_nowait(outcome)

    def _emit_error(self, exc: BaseException) -> None:
        self._outcomes.put_nowait(exc)


def _over_the_cap(exc: MediaTooLargeError, cap: int) -> MediaTooLargeError:
    """The downloader's error, saying how a bulk run's cap is raised."""
    told = f"announced {exc.size} bytes" if exc.size is not None else "sent more"
    what = str(exc).partition(":")[0]
    msg = (
        f"{what}: the host {told}, past the bulk download cap of {cap} bytes; nothing of it "
        "was kept: raise the cap (generate_many(..., max_download_bytes=N), or "
        "--max-download-mb) if you expect a file this large, then run again"
    )
    error = MediaTooLargeError(msg, url=exc.url, path=exc.path, max_bytes=cap, size=exc.size)
    error.__cause__ = exc
    return error


def _on_disk(path: str) -> bool:
    try:
        return os.stat(path).st_size > 0
    except OSError:
        return False
