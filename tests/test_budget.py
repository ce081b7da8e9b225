"""The request budget: every request draws from it, paid calls keep a share, 429s slow it."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from helpers import BALANCE, BATCH, GENERATE, OpenSuno, until
from suno_async import AsyncSuno, ConfigurationError, RateLimit
from suno_async._budget import Budget
from suno_async.testing import FakeSunoServer, Fault

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "changes",
    [
        {"per_minute": 0},
        {"per_minute": -5.0},
        {"per_minute": float("inf")},
        {"per_minute": "100"},
        {"burst": 0},
        {"burst": 1.5},
        {"paid_share": 0},
        {"paid_share": 1.5},
        {"paid_share": True},
        {"recover_after": 0},
    ],
)
def test_a_bad_rate_limit_is_refused_naming_its_field(changes: dict[str, Any]) -> None:
    """Each field is checked when the RateLimit is made, and the error names it."""
    (field,) = changes
    with pytest.raises(ConfigurationError, match=f"RateLimit.{field}"):
        RateLimit(**changes)


async def test_a_session_refuses_a_rate_limit_that_is_not_one(fake: FakeSunoServer) -> None:
    """rate_limit takes a RateLimit or None; a bare number is refused, not guessed at."""
    with pytest.raises(ConfigurationError, match="rate_limit"):
        AsyncSuno(fake.api_key, base_url=fake.url, rate_limit=100)  # type: ignore[arg-type]


async def test_polls_free_and_paid_calls_all_draw_from_one_budget(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """With 3 tokens and the next one 10 s off, a generate, its polls and a balance send 3."""
    fake.speed = 0.0
    suno = await open_suno(rate_limit=RateLimit(per_minute=6, burst=3))
    (handle, _) = await suno.generate(title="Budget", description="a short jingle")
    async with anyio.create_task_group() as group:
        group.start_soon(handle.wait)
        group.start_soon(suno.balance)
        await anyio.sleep(1.0)  # fifty ticks of FAST_POLL: without a budget, fifty polls
        group.cancel_scope.cancel()
    assert fake.requests[GENERATE] == 1
    assert fake.total_requests == 3
    assert suno.stats.budget_per_minute == 6


@pytest.mark.parametrize("first", ["free", "paid"])
async def test_paid_and_free_calls_queued_together_share_the_budget(
    fake: FakeSunoServer, open_suno: OpenSuno, first: str
) -> None:
    """
    Whichever kind queued first, the other gets its share of the first tokens: paid calls
    keep sending while free ones (polls, balance) keep being answered.
    """
    fake.points = 1_000_000
    suno = await open_suno(
        rate_limit=RateLimit(per_minute=600, burst=1, paid_share=0.5), max_paid_in_flight=16
    )
    done: list[str] = []

    async def paid() -> None:
        await suno.generate(title="Share", description="a cheerful pop song")
        done.append("paid")

    async def free() -> None:
        await suno.balance()
        done.append("free")

    counts = {"paid": 12, "free": 12}
    order = [first, "free" if first == "paid" else "paid"]
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            for kind in order:
                for _ in range(counts[kind]):
                    group.start_soon(paid if kind == "paid" else free)
                await anyio.sleep(0.05)  # all of the first kind queue before the other
    assert fake.requests[GENERATE] == fake.requests[BALANCE] == 12
    # One token went at once; of the next ten, the kind that queued second had its half.
    later = done[1:11]
    second = order[1]
    assert later.count(second) >= 4, done


async def test_a_429_slows_the_session_and_its_retry_still_succeeds(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """A refused balance call halves the budget in use; stats count the refusal."""
    suno = await open_suno(rate_limit=RateLimit(per_minute=600, burst=5))
    fake.faults.append(Fault("429", endpoint=BALANCE, retry_after=None))
    await suno.balance()
    assert fake.requests[BALANCE] == 2
    stats = suno.stats
    assert stats.rate_limited == 1
    assert stats.budget_per_minute == 300


async def test_a_retry_after_holds_every_request_until_it_passes(
    fake: FakeSunoServer, open_suno: OpenSuno
) -> None:
    """After a 429 asking for 2 s, no other request of the session leaves before then."""
    suno = await open_suno(rate_limit=RateLimit(per_minute=6000, burst=20))
    fake.faults.append(Fault("429", endpoint=BALANCE, retry_after="2"))
    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            group.start_soon(suno.balance)
            await until(lambda: suno.stats.rate_limited == 1)
            group.start_soon(suno.get_tasks, [1])
            await anyio.sleep(0.5)
            assert fake.total_requests == 1  # the refused call alone
    assert fake.requests[BALANCE] == 2
    assert fake.requests[BATCH] == 1


class Clock:
    """A monotonic clock moved by hand, for the budget's steps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_429s_halve_the_rate_down_to_a_floor_and_quiet_gives_it_back_step_by_step() -> None:
    """Multiplicative decrease per refusal (one per second at most), additive recovery."""
    clock = Clock()
    budget = Budget(RateLimit(per_minute=160, recover_after=10), now=clock)
    budget.refusal(None)
    assert budget.per_minute == 80
    budget.refusal(None)  # answered together with the first: the same refusal
    assert budget.per_minute == 80
    assert budget.refused == 2
    for _ in range(6):
        clock.now += 1.0
        budget.refusal(None)
    assert budget.per_minute == 10  # a sixteenth of 160, however many more come
    rates = []
    for _ in range(11):
        clock.now += 10.0
        rates.append(budget.per_minute)
    assert rates == pytest.approx([26, 42, 58, 74, 90, 106, 122, 138, 154, 160, 160])
