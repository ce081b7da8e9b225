"""The points ledger over real HTTP: the fake's own ledger in both dialects, hostile pagers."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web

from helpers import KEY, ok, serve
from suno_async import (
    AsyncSuno,
    PointsEntry,
    PointsEntryKind,
    UndecodableResponseError,
    ValidationError,
)
from suno_async.testing import FakeSunoServer, TaskPlan

pytestmark = pytest.mark.anyio

LOG = "GET /points/logs"
CONSUME, RECHARGE, ADJUST, REFUND = (
    PointsEntryKind.CONSUME,
    PointsEntryKind.RECHARGE,
    PointsEntryKind.ADJUST,
    PointsEntryKind.REFUND,
)


async def test_the_ledger_books_charges_refunds_and_adjustments(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """A call, its failed half's refund and an adjustment, newest first, balances running."""
    fake.plans.extend([TaskPlan(), TaskPlan(succeed=False)])
    handles = await suno.generate(title="t", description="d")
    await suno.wait(handles, return_exceptions=True)
    fake.points = 5000
    page = await suno.points_log(page=1, limit=10)
    assert [e.kind for e in page.entries] == [ADJUST, REFUND, CONSUME, RECHARGE]
    assert [e.change for e in page.entries] == [5000 - 9982, 18, -36, 10_000]
    assert [e.balance for e in page.entries] == [5000, 9982, 9964, 10_000]
    assert (page.total, page.page, page.limit) == (4, 1, 10)
    assert sum(e.change for e in page.entries) == (await suno.balance()).remaining_points
    failed = handles[1].task_id
    assert str(failed) in (page.entries[1].remark or "")
    assert all(str(h.task_id) in (page.entries[2].remark or "") for h in handles)
    assert all(e.created_at for e in page.entries)
    assert fake.requests[LOG] == 1
    assert fake.paid_calls == {"POST /music/generate": 1}


async def test_points_entries_walks_every_page_once(suno: AsyncSuno, fake: FakeSunoServer) -> None:
    """Pages of two: every entry once, in the ledger's order, and no request past the total."""
    for _ in range(3):
        await suno.upload("https://example.com/riff.mp3")
    fake.points = 777
    fake.points = 778
    whole = await suno.points_log(limit=100)
    assert len(whole.entries) == whole.total == 6
    walked = [entry async for entry in suno.points_entries(limit=2)]
    assert [e.id for e in walked] == [e.id for e in whole.entries]
    assert fake.requests[LOG] == 1 + 3


async def test_a_capped_page_size_does_not_end_the_walk_early(
    suno: AsyncSuno, fake: FakeSunoServer
) -> None:
    """The service gives 3 where 5 were asked: the total, not the short page, ends the walk."""
    fake.max_page_size = 3
    for points in range(100, 107):
        fake.points = points
    walked = [entry async for entry in suno.points_entries(limit=5)]
    assert len({e.id for e in walked}) == len(walked) == 8
    assert [e.balance for e in walked[:3]] == [106, 105, 104]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": "2"}, "page"),
        ({"page": True}, "page"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": 2.0}, "limit"),
    ],
)
async def test_bad_paging_is_refused_unsent(
    suno: AsyncSuno, fake: FakeSunoServer, call: dict[str, Any], field: str
) -> None:
    """Page numbers from 1, sizes from 1 to 100, whole numbers only; nothing is sent."""
    with pytest.raises(ValidationError) as caught:
        await suno.points_log(**call)
    assert caught.value.field == field
    assert fake.total_requests == 0


@pytest.mark.parametrize(
    ("call", "field"), [({"limit": 0}, "limit"), ({"max_pages": 0}, "max_pages")]
)
async def test_a_bad_walk_is_refused_where_it_is_asked(
    suno: AsyncSuno, fake: FakeSunoServer, call: dict[str, Any], field: str
) -> None:
    """points_entries checks its arguments at the call, not at the first page."""
    with pytest.raises(ValidationError) as caught:
        suno.points_entries(**call)
    assert caught.value.field == field
    assert fake.total_requests == 0


# --- answers other than the fake's ---------------------------------------------------------


def entry(entry_id: int, **fields: Any) -> dict[str, Any]:
    return {"id": entry_id, "type": 1, "points": -1, "balance": 100, **fields}


async def walk(respond: Any, **options: Any) -> tuple[list[PointsEntry], list[dict[str, str]]]:
    """Walk a ledger ``respond(page, limit)`` answers; returns the entries and each query."""
    queries: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        queries.append(dict(request.query))
        return ok(respond(int(request.query["page"]), int(request.query["limit"])))

    async with serve({LOG: handler}) as url, AsyncSuno(KEY, base_url=url) as suno:
        entries = [e async for e in suno.points_entries(**options)]
    return entries, queries


async def test_a_service_ignoring_the_page_number_ends_the_walk() -> None:
    """The same full page again: nothing new, so the walk stops after asking twice."""
    entries, queries = await walk(lambda page, limit: {"list": [entry(i) for i in range(limit)]})
    assert len(entries) == 100
    assert [q["page"] for q in queries] == ["1", "2"]


async def test_a_ledger_that_never_ends_stops_at_max_pages(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Full pages of new ids forever and no total: max_pages pages, then a warning."""

    def endless(page: int, limit: int) -> object:
        return {"list": [entry(page * 1000 + i) for i in range(limit)]}

    with caplog.at_level(logging.WARNING, logger="suno_async"):
        entries, queries = await walk(endless, limit=3, max_pages=5)
    assert len(entries) == 15
    assert len(queries) == 5
    assert "after 5 pages" in caplog.text


async def test_without_a_total_a_short_page_is_the_last() -> None:
    """No total: a page shorter than the limit ends the walk."""
    pages = {1: [entry(1), entry(2)], 2: [entry(3)]}
    entries, queries = await walk(lambda page, limit: pages.get(page, []), limit=2)
    assert [e.id for e in entries] == [1, 2, 3]
    assert len(queries) == 2


async def test_a_grown_ledger_shows_an_entry_again_and_it_is_yielded_once() -> None:
    """A new entry pushed the first page's last onto the second: each id comes once."""
    pages = {
        1: {"total": 4, "list": [entry(9), entry(8)]},
        2: {"total": 5, "list": [entry(8), entry(7)]},
        3: {"total": 5, "list": [entry(6), entry(5)]},
    }
    entries, queries = await walk(lambda page, limit: pages[page], limit=2)
    assert [e.id for e in entries] == [9, 8, 7, 6, 5]
    assert len(queries) == 3


async def test_an_empty_page_ends_the_walk_even_below_the_total() -> None:
    """A total that overstates the ledger cannot keep the walk asking."""
    pages = {1: {"total": 50, "list": [entry(1), entry(2)]}}
    entries, queries = await walk(lambda page, limit: pages.get(page, {"total": 50}), limit=2)
    assert [e.id for e in entries] == [1, 2]
    assert len(queries) == 2


async def test_entries_read_in_their_variants() -> None:
    """Digits as strings, words for kinds, a missing remark, a kind unknown yet, a new field."""
    rows = [
        {"id": "7", "type": "4", "points": "18", "balance": "118", "created_at": "2026-12-08"},
        {"id": 8, "type": "consume", "amount": -36, "remark": "生成", "createdAt": 1765152000},
        {"id": 9, "type": 9, "points": 5, "campaign": "winter"},
    ]

    async def handler(_: web.Request) -> web.Response:
        return ok({"total": "3", "list": rows})

    async with serve({LOG: handler}) as url, AsyncSuno(KEY, base_url=url) as suno:
        page = await suno.points_log()
    refund, spent, other = page.entries
    assert (refund.id, refund.kind, refund.change, refund.balance) == (7, REFUND, 18, 118)
    assert (refund.remark, refund.created_at) == (None, "2026-12-08")
    assert (spent.kind, spent.change, spent.remark) == (CONSUME, -36, "生成")
    assert spent.created_at == "1765152000"
    assert (other.kind, other.change, other.balance) == (None, 5, None)
    assert dict(other.extra) == {"campaign": "winter", "type": 9}
    assert page.total == 3


@pytest.mark.parametrize(
    ("data", "ids", "total"),
    [
        ([entry(1), entry(2)], [1, 2], None),
        ({"rows": [entry(3)], "total": 1}, [3], 1),
        (None, [], None),
        ({"total": 0}, [], 0),
    ],
)
async def test_the_page_shapes_other_ledgers_send(
    data: object, ids: list[int], total: object
) -> None:
    """A bare list, rows, a null data or no list at all: all read as a page."""

    async def handler(_: web.Request) -> web.Response:
        return ok(data)

    async with serve({LOG: handler}) as url, AsyncSuno(KEY, base_url=url) as suno:
        page = await suno.points_log(page=2, limit=5)
    assert [e.id for e in page.entries] == ids
    assert (page.total, page.page, page.limit) == (total, 2, 5)


async def test_an_entry_without_an_id_is_an_unreadable_answer() -> None:
    """The error names the call and the entry, free of charge talk."""

    async def handler(_: web.Request) -> web.Response:
        return ok({"list": [entry(1), {"type": 1, "points": 3}]})

    async with serve({LOG: handler}) as url, AsyncSuno(KEY, base_url=url) as suno:
        with pytest.raises(UndecodableResponseError) as caught:
            await suno.points_log()
    assert "GET /points/logs" in str(caught.value)
    assert "entry 1" in str(caught.value)
    assert caught.value.may_have_charged is False
