"""
StatusChanges: the one way to listen to task status changes, for the session or one task.

A stream listens from the moment it is made (``suno.status_changes()`` or
``handle.status_changes()``), not from its first iteration, so no change between the call and
the ``async for`` is lost. Changes cost no requests: they are what the watcher's polls see.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._errors import SunoError
from ._models import StatusChange

if TYPE_CHECKING:
    from ._watcher import TaskWatcher

__all__ = ["StatusChanges"]


class StatusChanges:
    """
    Status changes as an async iterator, buffered from the moment it was made.

    The session's stream ends when the session closes; a task's stream (from
    ``handle.status_changes()``) ends after the task's final change, and keeps the task
    watched meanwhile, so it needs no ``wait()`` beside it (its outcome, success or error,
    is then ``await handle.wait()``). Leaving the ``async for`` early stops listening; a
    stream made and never iterated listens until ``close()``, the end of an ``async with``
    block, or the session's close.
    """

    def __init__(
        self,
        watcher: TaskWatcher,
        *,
        task_id: int | None = None,
        follow: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self._task_id = task_id
        self._queue: asyncio.Queue[StatusChange | None] = asyncio.Queue()
        self._unsubscribe = watcher.listen(self._on_change, self._end)
        # Watching the task is what makes its changes happen: a wait of our own, ended
        # (None queued) when the task ends whichever way, or when the stream is closed.
        self._follower: asyncio.Task[None] | None = None
        if follow is not None:
            self._follower = asyncio.get_running_loop().create_task(self._follow(follow))

    def _on_change(self, change: StatusChange) -> None:
        if self._task_id is None or change.task_id == self._task_id:
            self._queue.put_nowait(change)

    def _end(self) -> None:
        self._queue.put_nowait(None)

    async def _follow(self, follow: Callable[[], Awaitable[Any]]) -> None:
        try:
            await follow()
        except SunoError:
            pass  # how the task ended is for handle.wait() to tell; the stream just ends
        finally:
            self._end()

    def close(self) -> None:
        """Stop listening; an iteration in progress ends after the changes already heard."""
        self._unsubscribe()
        if self._follower is not None and not self._follower.done():
            self._follower.cancel()
        self._end()

    def __aiter__(self) -> AsyncIterator[StatusChange]:
        # A generator, so leaving the loop early (break, an exception) stops listening when
        # asyncio finalizes it; `async with` stops it at once.
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StatusChange]:
        try:
            while (change := await self._queue.get()) is not None:
                yield change
        finally:
            self.close()

    async def aclose(self) -> None:
        """Stop listening, and wait for the task's follower (if any) to let go."""
        self.close()
        if self._follower is not None:
            await asyncio.gather(self._follower, return_exceptions=True)

    async def __aenter__(self) -> StatusChanges:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
