"""What the watcher makes of a batch page's rows: news, steps recorded in place, skips."""

from __future__ import annotations

from typing import Literal

import attrs

from suno_async import TaskStatus
from suno_async._convert import WireFormatError
from suno_async._watched import take_news


@attrs.define
class _Seen:
    task_id: int
    seen: TaskStatus | Literal[False] | None = None
    status: TaskStatus | None = None


def test_take_news_records_running_steps_in_place_when_nobody_follows_them() -> None:
    """
    running=False: a new running status is recorded, also a fresh task's first one; a final
    answer is news, and so is any answer after a miss or failure (seen None).
    """
    moved = _Seen(1, TaskStatus.QUEUED, TaskStatus.QUEUED)
    troubled = _Seen(2, None, TaskStatus.QUEUED)
    done = _Seen(3, TaskStatus.GENERATING, TaskStatus.GENERATING)
    fresh = _Seen(4, False)
    asked = {1: moved, 2: troubled, 3: done, 4: fresh}
    rows = [
        {"id": 1, "status": 2},
        {"id": 2, "status": 1},
        {"id": 3, "status": 4},
        {"id": 4, "status": 1},
    ]
    news: list[tuple[_Seen, TaskStatus, object]] = []
    assert take_news(rows, asked, news, [], running=False) == []
    assert [(seen.task_id, status) for seen, status, _ in news] == [
        (2, TaskStatus.QUEUED),
        (3, TaskStatus.FAILED),
    ]
    assert (moved.seen, moved.status) == (TaskStatus.GENERATING, TaskStatus.GENERATING)
    assert (fresh.seen, fresh.status) == (TaskStatus.QUEUED, TaskStatus.QUEUED)
    assert (troubled.seen, troubled.status) == (None, TaskStatus.QUEUED)  # left to _apply


def test_take_news_reads_every_shape_and_keeps_the_unreadable() -> None:
    """
    A page's rows are matched in bulk; a row whose id reads but whose status does not is
    that id's answer, kept with its error; rows with no readable id come back.
    """
    asked = {task_id: _Seen(task_id) for task_id in (1, 2, 3, 5, 9)}
    rows = [
        {"id": 1, "status": 2},
        {"id": "2", "status": "3"},
        {"task_id": 3, "status": 1.0},
        {"id": "x", "status": 2},
        {"id": 5, "status": [2]},
        "not a row",
        {"id": 7, "status": 3},  # not asked about
    ]
    news: list[tuple[_Seen, TaskStatus, object]] = []
    garbled: list[tuple[_Seen, WireFormatError, object]] = []
    assert take_news(rows, asked, news, garbled) == [{"id": "x", "status": 2}, "not a row"]
    assert {seen.task_id: status for seen, status, _ in news} == {
        1: TaskStatus.GENERATING,
        2: TaskStatus.SUCCEEDED,
        3: TaskStatus.QUEUED,
    }
    assert [row for _, _, row in news] == rows[:3]
    [(seen, error, row)] = garbled
    assert (seen.task_id, error.task_id, row) == (5, 5, rows[4])
    assert error.part == {"status": [2]}
    assert sorted(asked) == [9]  # the unanswered stay


def test_take_news_skips_a_running_task_whose_status_is_unchanged() -> None:
    """Only a new or final status is news; a duplicate row for one id counts once."""
    running = _Seen(1, TaskStatus.GENERATING)
    queued = _Seen(2, TaskStatus.QUEUED)
    done = _Seen(3, TaskStatus.SUCCEEDED)
    asked = {1: running, 2: queued, 3: done}
    rows = [
        {"id": 1, "status": 2},
        {"id": 2, "status": 2},
        {"id": 3, "status": 3},
        {"id": 2, "status": 3},
    ]
    news: list[tuple[_Seen, TaskStatus, object]] = []
    assert take_news(rows, asked, news, []) == []
    assert [(seen.task_id, status) for seen, status, _ in news] == [
        (2, TaskStatus.GENERATING),
        (3, TaskStatus.SUCCEEDED),
    ]
    assert asked == {}
