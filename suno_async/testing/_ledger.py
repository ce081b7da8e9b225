"""The fake account's points and every movement of them: the ledger ``GET /points/logs`` pages.

The balance is never kept apart from the ledger: each change is an entry carrying the
balance after it, so the balance endpoint and the log cannot disagree. Refunds follow the
tasks' simulated clock: a task's status is computed when read, so a failed task's refund
is booked, at the instant it failed, by the first read of the ledger or the balance after
that instant (every charge reads the balance first, which keeps the ledger in time order).
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING, Any, Final

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._songs import FakeTask

__all__ = ["ADJUST", "CONSUME", "RECHARGE", "REFUND", "Entry", "Ledger"]

CONSUME: Final = 1
RECHARGE: Final = 2
ADJUST: Final = 3
REFUND: Final = 4
#: Entry ids start well apart from task ids, so a test cannot mistake one for the other.
FIRST_ENTRY_ID: Final = 880_001


@attrs.define
class Entry:
    """One movement of points: ``points`` is the signed change, ``balance`` what is left."""

    id: int
    type: int
    points: int
    balance: int
    remark: str | None
    created_at: str
    task_ids: tuple[int, ...] = ()

    def wire(self, *, live: bool) -> dict[str, Any]:
        """
        The entry as the log answers it. The live dialect signs ``points`` and sends every
        field; the reference dialect sends sizes (the type says which way, an adjustment
        keeps its sign), some ids and refunds as strings of digits, and no null remark:
        the two conventions a ledger is known to use, so a reader must take either.
        """
        if live:
            return {
                "id": self.id,
                "type": self.type,
                "points": self.points,
                "balance": self.balance,
                "remark": self.remark,
                "created_at": self.created_at,
            }
        points: int | str = self.points if self.type == ADJUST else abs(self.points)
        data: dict[str, Any] = {
            "id": str(self.id) if self.id % 3 == 0 else self.id,
            "type": self.type,
            "points": str(points) if self.type == REFUND else points,
            "balance": self.balance,
            "created_at": self.created_at,
        }
        if self.remark is not None:
            data["remark"] = self.remark
        return data


class Ledger:
    """The account: points in, points out, refunds of failed tasks, oldest entry first."""

    def __init__(
        self,
        points: int,
        *,
        clock: Callable[[], float],
        wall_text: Callable[[FakeTask | None], str],
    ) -> None:
        self._clock = clock
        self._wall_text = wall_text
        self._points = 0
        self._next_id = FIRST_ENTRY_ID
        self._failing: list[tuple[float, int, FakeTask]] = []
        self._order = itertools.count()
        self.entries: list[Entry] = []
        if points:
            self._book(RECHARGE, points, "充值 (top-up)")

    def _book(
        self,
        kind: int,
        change: int,
        remark: str | None,
        *,
        task: FakeTask | None = None,
        task_ids: tuple[int, ...] = (),
    ) -> Entry:
        self._points += change
        entry = Entry(
            id=self._next_id,
            type=kind,
            points=change,
            balance=self._points,
            remark=remark,
            created_at=self._wall_text(task),
            task_ids=task_ids,
        )
        self._next_id += 1
        self.entries.append(entry)
        return entry

    @property
    def balance(self) -> int:
        self.settle()
        return self._points

    def set_balance(self, points: int) -> None:
        """A test setting the points directly: booked as an adjustment, as an operator's."""
        change = points - self.balance
        if change:
            self._book(ADJUST, change, None)

    def consume(self, cost: int, kind: str) -> Entry:
        """Book a paid call's price; its task ids are filled in once the tasks exist."""
        self.settle()
        return self._book(CONSUME, -cost, f"消费: {kind}")

    def watch(self, task: FakeTask) -> None:
        """Book a refund for ``task`` once it fails (called again when its end changes)."""
        if not task.succeed and task.points_cost > 0:
            heapq.heappush(self._failing, (task.done_at, next(self._order), task))

    def settle(self) -> None:
        """Book the refunds of every task that failed by now, in the order they failed."""
        now = self._clock()
        failing = self._failing
        while failing and failing[0][0] <= now:
            task = heapq.heappop(failing)[2]
            # A task finished otherwise by finish() left a stale instant behind: skipped.
            if task.refunded or task.status_at(now) != 4:
                continue
            task.refunded = True
            self._book(
                REFUND,
                task.points_cost,
                f"退款: 任务 {task.id} 失败 (task failed)",
                task=task,
                task_ids=(task.id,),
            )

    def page(self, page: int, limit: int) -> tuple[list[Entry], int]:
        """Newest first, as account pages list them; and how many there are in all."""
        self.settle()
        newest = self.entries[::-1]
        return newest[(page - 1) * limit : page * limit], len(newest)
