"""
The batch task query, ``GET /music/tasks``: the watcher polls through it, ``get_tasks`` reads.

It asks about many ids at once, follows short pages until every row the service has for
them has come, and learns the service's page size when a page proves smaller than asked.
Which rows matter, and what they mean, is the caller's business: each page goes to its
``take``. One instance per session, so the page size is learnt once for both users.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Final, TypeVar

import attrs

from ._config import NO_RETRY, RetryPolicy
from ._convert import WireFormatError, parse_batch, peek_row, unreadable
from ._errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    SunoError,
    UndecodableResponseError,
)
from ._transport import Deadline, Transport

__all__ = ["BatchQuery", "Rows", "get_with_deadline", "is_refusal"]

T = TypeVar("T")
#: Takes a page's rows, and every id it has an answer for out of the pending dict.
Take = Callable[[Sequence[Any], dict[int, T]], None]


#: Ids named in full in an error message; past that, how many more.
_NAMED_IDS: Final = 10


def _named(ids: Sequence[int]) -> str:
    shown = ", ".join(map(str, ids[:_NAMED_IDS]))
    more = len(ids) - _NAMED_IDS
    return f"{shown} and {more} more" if more > 0 else shown


@attrs.define
class Rows:
    """
    What the batch query answered about the ids asked: each id's row, or why it has none.

    ``found`` holds the rows whose id and status read; ``unreadable`` the rows whose id
    reads but not their status (an answer all the same, so its id is no unknown one); and
    ``unattributed`` the rows whose id does not read, which may answer any id left.
    """

    asked: tuple[int, ...]
    found: dict[int, Any] = attrs.Factory(dict)
    unreadable: dict[int, tuple[Exception, Any]] = attrs.Factory(dict)
    unattributed: list[tuple[WireFormatError, Any]] = attrs.Factory(list)

    def error(self) -> UndecodableResponseError | None:
        """
        The error for rows that could not be read, naming the ids involved, with a snippet
        of what could not be read: a caller must not take such an id for an unknown one.
        """
        if self.unreadable:
            ids = list(self.unreadable)
            exc, row = self.unreadable[ids[0]]
            what = f"task {ids[0]}: the row" if len(ids) == 1 else f"tasks {_named(ids)}: rows"
            return unreadable(f"GET /music/tasks: {what}", exc, row, show=True)
        left = [task_id for task_id in self.asked if task_id not in self.found]
        if not self.unattributed or not left:
            return None  # every id asked was answered: a stray row tells nobody anything
        exc, row = self.unattributed[0]
        what = (
            f"GET /music/tasks: {len(self.unattributed)} row(s) with no readable task id, "
            f"which may answer task(s) {_named(left)},"
        )
        return unreadable(what, exc, row, show=True)


class BatchQuery:
    """Asks about many task ids per request; counts its requests for the watcher's stats."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._page_cap: int | None = None
        self.requests: int = 0

    def size(self, wanted: int) -> int:
        """Ids per query: ``wanted``, or the service's page size once learnt, if smaller."""
        return wanted if self._page_cap is None else min(wanted, self._page_cap)

    async def ask(
        self,
        pending: dict[int, T],
        take: Take[T],
        *,
        retry: RetryPolicy | None = NO_RETRY,
        remember: bool = False,
        deadline: float | None = None,
    ) -> None:
        """
        Ask about the ids in ``pending`` until each is answered or known to be unknown.

        ``take`` takes answered ids out of ``pending``, so what is left (also after a failed
        request) was not answered. A page shorter than asked means ids unknown to the
        service or a page size smaller than ours; when the total (or a further page) says
        the latter, the size is learnt. The defaults suit the watcher's polls: a later tick
        is their retry, and nobody reads their ``last_response``. ``deadline`` bounds each
        request, its body included.
        """
        # Rows of a short page with no total: cut by the page size only if more rows follow.
        cut: int | None = None
        for _ in range(len(pending)):
            before = len(pending)
            self.requests += 1
            params = {"ids": ",".join(map(str, pending)), "page": "1", "size": str(before)}
            data = await get_with_deadline(
                self._transport,
                "/music/tasks",
                params,
                retry=retry,
                remember=remember,
                deadline=deadline,
            )
            try:
                page = parse_batch(data)
            except WireFormatError as exc:
                raise unreadable("GET /music/tasks: the batch answer", exc, data) from exc
            take(page.rows, pending)
            progressed = len(pending) < before
            if cut is not None and progressed:
                self._learn(cut)
            if not pending or not progressed:
                return
            if page.total is not None:
                if page.total <= len(page.rows):
                    return  # the rest are ids the service does not know
                self._learn(len(page.rows))
            else:
                cut = len(page.rows)

    async def rows(
        self, ids: Sequence[int], size: int, *, retry: RetryPolicy | None = None
    ) -> Rows:
        """
        The rows of ``ids`` by id, ``size`` ids a query; an id the service lacks has none.

        Some deployments refuse a whole batch for one id they do not know: a refused batch
        is asked about in halves until that id stands alone, and left out, so every other
        id is still answered. A refusal of one id that does not say it is unknown is raised.
        Rows that cannot be read are kept apart, never dropped: see :class:`Rows`.
        """
        answer = Rows(asked=tuple(dict.fromkeys(ids)))
        found, unreadable_rows = answer.found, answer.unreadable

        def take(rows: Sequence[Any], pending: dict[int, None]) -> None:
            for row in rows:
                try:
                    task_id, _ = peek_row(row)
                except WireFormatError as exc:
                    about = exc.task_id
                    if about is None:
                        answer.unattributed.append((exc, row))
                    elif about in pending:
                        del pending[about]  # answered, if unreadably
                        unreadable_rows[about] = (exc, row)
                    continue
                if task_id in pending:
                    del pending[task_id]
                    found[task_id] = row

        async def ask_about(chunk: dict[int, None]) -> None:
            try:
                await self.ask(chunk, take, retry=retry, remember=True)
            except APIError as exc:
                if not is_refusal(exc):
                    raise
                left = list(chunk)  # the ids not answered before the refusal
                if len(left) == 1:
                    if isinstance(exc, NotFoundError):
                        return
                    raise
                half = len(left) // 2
                await ask_about(dict.fromkeys(left[:half]))
                await ask_about(dict.fromkeys(left[half:]))

        unique = answer.asked
        step = self.size(size)
        for start in range(0, len(unique), step):
            await ask_about(dict.fromkeys(unique[start : start + step]))
        return answer

    def _learn(self, size: int) -> None:
        self._page_cap = min(self._page_cap or size, size)


async def get_with_deadline(
    transport: Transport,
    path: str,
    params: dict[str, str],
    *,
    retry: RetryPolicy | None = NO_RETRY,
    remember: bool = False,
    deadline: float | None = None,
) -> Any:
    """A free GET whose whole answer, body included, must come within ``deadline`` seconds."""
    limit = None if deadline is None else _poll_deadline(deadline)
    return await transport.call(
        "GET", path, paid=False, params=params, retry=retry, remember=remember, deadline=limit
    )


@lru_cache(maxsize=8)
def _poll_deadline(seconds: float) -> Deadline:
    """A poll's deadline, made once per policy rather than once per query."""
    return Deadline(seconds, "PollPolicy.poll_timeout", then="its ids are asked about again later")


def is_refusal(exc: SunoError) -> bool:
    """
    Whether the service itself answered no about the ids asked (not an outage or a limit).

    An error envelope in an HTTP 200 or a 4xx is an answer about the ids, and so is "this
    task does not exist" under any code (a :class:`NotFoundError`); any other HTTP 5xx, a
    timeout or a cut connection says nothing about them, and neither does a refused key or
    a rate limit.
    """
    if not isinstance(exc, APIError) or isinstance(exc, (AuthenticationError, RateLimitError)):
        return False
    return exc.status < 500 or isinstance(exc, NotFoundError)
