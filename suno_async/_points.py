"""
The points ledger, ``GET /points/logs``: its entries, its pages, and walking them to the end.

The walk is the one part with judgement in it: the service's paging is not documented, so
it must end however the service answers (an empty page, a short one, the total reached, a
page it already sent, or a page number it ignores), and never poll without a bound.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Final

import attrs

from ._checks import check_count
from ._models import EMPTY

__all__ = [
    "LIMIT_MAX",
    "MAX_PAGES",
    "PAGE_MAX",
    "PointsEntry",
    "PointsEntryKind",
    "PointsLogPage",
    "check_paging",
    "walk_points_log",
]

logger: Final = logging.getLogger("suno_async")

#: The batch query's own cap (100 ids) is the only page size the service is known to take.
LIMIT_MAX: Final = 100
DEFAULT_LIMIT: Final = 50
#: Past a million pages a page number is a mistake (a timestamp, an id), not a place.
PAGE_MAX: Final = 1_000_000
#: The walk's bound: this many pages of 100 is a ledger of 100,000 entries.
MAX_PAGES: Final = 1000


class PointsEntryKind(enum.IntEnum):
    """What moved the points, as the ledger numbers it."""

    CONSUME = 1
    RECHARGE = 2
    ADJUST = 3
    REFUND = 4


@attrs.frozen
class PointsEntry:
    """
    One line of the points ledger.

    ``points`` is the amount as the service sent it: some ledgers sign it, some give the
    size only and let ``kind`` say which way, so :attr:`change` reads it either way.
    ``kind`` is None for a kind this version does not know (its number is in
    ``extra["type"]``). ``balance`` is the points left after the entry; ``created_at`` is
    the service's own text, kept as sent rather than guessed into a time zone.
    """

    id: int
    points: int
    kind: PointsEntryKind | None = None
    balance: int | None = None
    remark: str | None = None
    created_at: str | None = None
    extra: Mapping[str, Any] = attrs.field(default=EMPTY, repr=False, eq=False)

    @property
    def change(self) -> int:
        """The signed change to the balance: negative when points were spent."""
        if self.kind is PointsEntryKind.CONSUME:
            return -abs(self.points)
        if self.kind in (PointsEntryKind.RECHARGE, PointsEntryKind.REFUND):
            return abs(self.points)
        return self.points  # an adjustment (or an unknown kind) carries its own sign


@attrs.frozen
class PointsLogPage:
    """One page of the ledger as asked for, and the ledger's ``total`` when the service says."""

    entries: tuple[PointsEntry, ...]
    total: int | None
    page: int
    limit: int


def check_paging(page: object, limit: object) -> tuple[int, int]:
    """A page number from 1 and a page size from 1 to :data:`LIMIT_MAX`, before sending."""
    return (
        check_count("page", page, maximum=PAGE_MAX),
        check_count("limit", limit, maximum=LIMIT_MAX),
    )


def walk_points_log(
    fetch: Callable[[int, int], Awaitable[PointsLogPage]],
    *,
    limit: object,
    max_pages: object,
) -> AsyncIterator[PointsEntry]:
    """
    Every entry once, page after page, until the ledger says it is done.

    Entries are told apart by id, so one the service shows again (the ledger grew while it
    was walked, pushing older entries onto the next page) is yielded once; a page holding
    nothing new means the service ignores the page number, and ends the walk as an empty
    page does, as the total reached does, or (without a total) a short page. ``max_pages``
    bounds a ledger that never ends.
    """
    # Checked here, not at the first step: a bad argument fails where it was passed.
    size = check_count("limit", limit, maximum=LIMIT_MAX)
    pages = check_count("max_pages", max_pages, maximum=PAGE_MAX)
    return _walk(fetch, size, pages)


async def _walk(
    fetch: Callable[[int, int], Awaitable[PointsLogPage]], limit: int, max_pages: int
) -> AsyncIterator[PointsEntry]:
    seen: set[int] = set()
    for page in range(1, max_pages + 1):
        result = await fetch(page, limit)
        fresh = [entry for entry in result.entries if entry.id not in seen]
        for entry in fresh:
            seen.add(entry.id)
            yield entry
        if not fresh:
            return
        # A service may cap the page size below the limit asked: with a total, a short page
        # is read as its size and the walk goes on to the total; without one it is the end.
        if len(seen) >= result.total if result.total is not None else len(result.entries) < limit:
            return
    logger.warning(
        "the points log still had entries after %d pages of %d; stopped there "
        "(raise max_pages to read further)",
        max_pages,
        limit,
    )
