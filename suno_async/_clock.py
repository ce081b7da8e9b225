"""
The watcher's time: what it reads as now, and the timers it sleeps on, from one object.

The default is what the watcher has always used: ``time.monotonic()``, the running loop's
timers, and ``time.time()`` for when a task started. The SDK's own tests give the watcher a
clock they move by hand instead (``suno.watcher.clock``, before the first wait), so a stall,
a pause or a timeout can be shown to come at its deadline and not before, however loaded
the machine running them. Not a public API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "SystemClock", "Timer"]


class Timer(Protocol):
    """A scheduled call that can be called off (``asyncio.TimerHandle`` is one)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Where the watcher reads the time and schedules its wake-ups."""

    def now(self) -> float:
        """Monotonic seconds: deadlines, pauses, backoffs and stalls are counted in these."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch, like ``time.time()``: a handle's ``started_at``."""
        ...

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        """Call ``callback`` on the running loop once ``now()`` reaches ``when``."""
        ...


class SystemClock:
    """The real time: ``time.monotonic()``, ``time.time()`` and the running loop's timers."""

    __slots__ = ()

    now = staticmethod(time.monotonic)
    wall = staticmethod(time.time)

    @staticmethod
    def call_at(when: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
        # Relative to time.monotonic(), which the loop's own time() need not be (uvloop).
        return asyncio.get_running_loop().call_later(when - time.monotonic(), callback)
