"""
Waiting on tasks: handles rebuilt from ids, ``wait``, ``as_completed``, ``watch`` and status
changes, all through the session's one watcher, and each outcome read as its kind promises.

``AsyncSuno`` inherits this; it keeps the session's lifecycle and its endpoints.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, TypeVar, overload

from ._arguments import check_timeout, items_of
from ._checks import check_bool
from ._convert import WireFormatError, structure_task, unreadable
from ._errors import SunoError, TaskFailedError, ValidationError
from ._listen import StatusChanges
from ._models import (
    LyricsAlignment,
    Song,
    Task,
    TaskHandle,
    TaskKind,
    TaskStatus,
    Video,
    Wav,
    check_kind,
    check_task_id,
)
from ._results import decode_row
from ._watched import Finished
from ._watcher import TaskWatcher

__all__ = ["Waitable", "Waiting"]

R = TypeVar("R", Song, LyricsAlignment, Video, Wav, Task)
Waitable = TaskHandle[Any] | int


class Waiting:
    """What a session offers for awaiting tasks; it needs the session's watcher."""

    _watcher: TaskWatcher

    def _ensure_watching(self) -> None:
        """Start the poll loop on first use (the session does it)."""
        raise NotImplementedError

    @overload
    def handle(
        self, task_id: int, kind: Literal[TaskKind.SONG], *, started_at: float | None = ...
    ) -> TaskHandle[Song]: ...
    @overload
    def handle(
        self, task_id: int, kind: Literal[TaskKind.ALIGNMENT], *, started_at: float | None = ...
    ) -> TaskHandle[LyricsAlignment]: ...
    @overload
    def handle(
        self, task_id: int, kind: Literal[TaskKind.VIDEO], *, started_at: float | None = ...
    ) -> TaskHandle[Video]: ...
    @overload
    def handle(
        self, task_id: int, kind: Literal[TaskKind.WAV], *, started_at: float | None = ...
    ) -> TaskHandle[Wav]: ...
    @overload
    def handle(
        self,
        task_id: int,
        kind: Literal[TaskKind.TASK] = ...,
        *,
        started_at: float | None = ...,
    ) -> TaskHandle[Task]: ...
    @overload
    def handle(
        self, task_id: int, kind: TaskKind, *, started_at: float | None = ...
    ) -> TaskHandle[Any]: ...

    def handle(
        self, task_id: int, kind: TaskKind = TaskKind.TASK, *, started_at: float | None = None
    ) -> TaskHandle[Any]:
        """
        Rebuild a handle from a saved task id (e.g. after a restart), typed by its ``kind``:
        ``suno.handle(199824, TaskKind.SONG)`` is a ``TaskHandle[Song]``.

        ``started_at`` is the saved ``handle.started_at`` (a ``time.time()``): the task is then
        first asked about when its kind's ``first_poll`` has passed, not at once.
        """
        return TaskHandle(task_id, kind, suno=self, started_at=started_at)

    def _handles(self, items: Sequence[Waitable]) -> list[TaskHandle[Any]]:
        items = items_of("items", items)
        return [
            item
            if isinstance(item, TaskHandle)
            else TaskHandle(check_task_id(f"items[{index}]", item), TaskKind.TASK, suno=self)
            for index, item in enumerate(items)
        ]

    @overload
    async def wait(
        self,
        items: Sequence[TaskHandle[R]],
        *,
        timeout: float | None = ...,
        return_exceptions: Literal[False] = ...,
    ) -> list[R]: ...
    @overload
    async def wait(
        self,
        items: Sequence[int],
        *,
        timeout: float | None = ...,
        return_exceptions: Literal[False] = ...,
    ) -> list[Task]: ...
    @overload
    async def wait(
        self,
        items: Sequence[TaskHandle[R]],
        *,
        timeout: float | None = ...,
        return_exceptions: Literal[True],
    ) -> list[R | SunoError]: ...
    @overload
    async def wait(
        self,
        items: Sequence[int],
        *,
        timeout: float | None = ...,
        return_exceptions: Literal[True],
    ) -> list[Task | SunoError]: ...
    @overload
    async def wait(
        self,
        items: Sequence[Waitable],
        *,
        timeout: float | None = ...,
        return_exceptions: bool = ...,
    ) -> list[Any]: ...

    async def wait(
        self,
        items: Sequence[Waitable],
        *,
        timeout: float | None = None,
        return_exceptions: bool = False,
    ) -> list[Any]:
        """
        Await many tasks together; results come back in the order given.

        Handles give their typed result (a :class:`Song`, ...); plain task ids give the
        :class:`Task`. A failed task raises :class:`TaskFailedError` once all are done, or,
        with ``return_exceptions=True``, stands in the list as its error. ``timeout`` raises
        :class:`WaitTimeoutError` listing the unfinished ids; they keep running.
        """
        handles = self._handles(items)
        timeout = check_timeout(timeout)
        check_bool("return_exceptions", return_exceptions)
        self._ensure_watching()
        outcomes = await self._watcher.wait(handles, timeout)
        results = [_result(h, o) for h, o in zip(handles, outcomes, strict=True)]
        if not return_exceptions:
            for result in results:
                if isinstance(result, SunoError):
                    raise result
        return results

    @overload
    def as_completed(
        self,
        items: Sequence[TaskHandle[R]],
        *,
        timeout: float | None = ...,
        return_exceptions: Literal[False] = ...,
    ) -> AsyncIterator[R]: ...
    @overload
    def as_completed(
        self,
        items: Sequence[int],
        *,
        timeout: float | None = ...,
        return_exceptions: Literal[False] = ...,
    ) -> AsyncIterator[Task]: ...
    @overload
    def as_completed(
        self,
        items: Sequence[TaskHandle[R]],
        *,
        timeout: float | None = ...,
        return_exceptions: Literal[True],
    ) -> AsyncIterator[R | SunoError]: ...
    @overload
    def as_completed(
        self,
        items: Sequence[int],
        *,
        timeout: float | None = ...,
        return_exceptions: Literal[True],
    ) -> AsyncIterator[Task | SunoError]: ...
    @overload
    def as_completed(
        self,
        items: Sequence[Waitable],
        *,
        timeout: float | None = ...,
        return_exceptions: bool = ...,
    ) -> AsyncIterator[Any]: ...

    def as_completed(
        self,
        items: Sequence[Waitable],
        *,
        timeout: float | None = None,
        return_exceptions: bool = False,
    ) -> AsyncIterator[Any]:
        """
        Yield each task's result as it finishes, first finished first.

        Results carry their ``task_id``; failures raise (or are yielded, with
        ``return_exceptions=True``) as :class:`TaskFailedError` in their turn. The items are
        checked here, before any iteration.
        """
        handles = self._handles(items)
        timeout = check_timeout(timeout)
        check_bool("return_exceptions", return_exceptions)
        self._ensure_watching()

        def convert(index: int, outcome: Finished | SunoError) -> Any:
            result = _result(handles[index], outcome)
            if not return_exceptions and isinstance(result, SunoError):
                raise result
            return result

        return self._watcher.as_completed(handles, timeout, convert)

    @overload
    async def watch(self, item: TaskHandle[R], *, timeout: float | None = ...) -> R: ...
    @overload
    async def watch(self, item: int, *, timeout: float | None = ...) -> Task: ...

    async def watch(self, item: Waitable, *, timeout: float | None = None) -> Any:
        """Await one task through the shared watcher: a handle gives its result, an id its Task."""
        if not isinstance(item, TaskHandle):
            item = self.handle(item)
        return (await self.wait([item], timeout=timeout))[0]

    def status_changes(self) -> StatusChanges:
        """
        Every status change of the session's tasks from this call on, for progress displays
        and bots: ``async with suno.status_changes() as changes: async for change in
        changes: ...``. Changes cost no requests (the polls of awaited tasks bring them);
        for one task's changes, use ``handle.status_changes()``. Ends when the session closes.
        """
        return self._watcher.status_changes()

    def _task_status_changes(self, handle: TaskHandle[Any]) -> StatusChanges:
        """One task's changes, the task watched meanwhile; see TaskHandle.status_changes."""
        self._ensure_watching()
        return StatusChanges(
            self._watcher,
            task_id=handle.task_id,
            follow=lambda: self.wait([handle], return_exceptions=True),
        )

    @staticmethod
    def result_of(task: Task, kind: TaskKind) -> Any:
        """Read a finished :class:`Task` as the result its kind promises."""
        if not isinstance(task, Task):
            raise ValidationError("task", f"must be a Task, got {type(task).__name__}")
        check_kind("kind", kind)
        return _result(TaskHandle(task.id, kind), (task.status, task), raise_errors=True)


def _result(
    handle: TaskHandle[Any], outcome: Finished | SunoError, *, raise_errors: bool = False
) -> Any:
    """A watched task's outcome as its handle's kind promises, or the error in its place."""
    if isinstance(outcome, SunoError):
        return outcome
    status, row = outcome
    cause: Exception | None = None
    try:
        if status is not TaskStatus.FAILED:
            return decode_row(row, handle.kind)
        task = structure_task(row)
        error: SunoError = TaskFailedError(task.id, task.errormsg, task.errormsg_en)
    except (WireFormatError, ValueError, TypeError, KeyError) as exc:
        cause = exc
        error = unreadable(f"task {handle.task_id}: its {handle.kind.value} result", exc, row)
    if raise_errors:
        raise error from cause
    return error
