"""The watcher's clock: the real one by default, and the manual one the timing tests move."""

from __future__ import annotations

import asyncio
import time

import anyio
import pytest

from helpers import ManualClock
from suno_async._clock import SystemClock

pytestmark = pytest.mark.anyio


async def test_a_manual_clock_fires_what_falls_due_in_order_at_its_own_time() -> None:
    """Timers fire soonest first (ties in the order set), cancelled ones never, later ones wait."""
    clock = ManualClock(start=10.0)
    fired: list[tuple[str, float]] = []

    def note(name: str) -> None:
        fired.append((name, clock.now()))

    clock.call_at(10.3, lambda: note("c"))
    clock.call_at(10.1, lambda: note("a"))
    clock.call_at(10.2, lambda: note("b")).cancel()
    clock.call_at(10.1, lambda: note("a again"))
    clock.call_at(11.0, lambda: note("late"))
    wall = clock.wall()
    await clock.advance(0.5)
    assert fired == [("a", 10.1), ("a again", 10.1), ("c", 10.3)]
    assert clock.now() == 10.5
    assert clock.wall() == pytest.approx(wall + 0.5)
    assert clock.pending() == [11.0]


async def test_a_timer_set_by_a_fired_one_fires_in_the_same_advance() -> None:
    """A loop that sleeps, wakes and sleeps again runs as many rounds as the advance covers."""
    clock = ManualClock(start=0.0)
    woke: list[float] = []

    def wake() -> None:
        woke.append(clock.now())
        clock.call_at(clock.now() + 0.25, wake)

    clock.call_at(0.25, wake)
    await clock.advance(1.1)
    assert woke == [0.25, 0.5, 0.75, 1.0]
    assert clock.pending() == [1.25]


async def test_a_manual_clock_waits_until_settled_before_each_timer() -> None:
    """After each timer it waits for ``settled()``, so what a timer starts ends first."""
    busy = False
    order: list[str] = []
    clock = ManualClock(lambda: not busy, start=0.0)

    async def work() -> None:
        nonlocal busy
        await anyio.sleep(0.01)
        order.append("work done")
        busy = False

    def start_work() -> None:
        nonlocal busy
        busy = True
        order.append("timer 1")
        group.start_soon(work)

    async with anyio.create_task_group() as group:
        clock.call_at(1.0, start_work)
        clock.call_at(2.0, lambda: order.append("timer 2"))
        await clock.advance(3.0)
    assert order == ["timer 1", "work done", "timer 2"]


async def test_the_system_clock_is_the_monotonic_one_with_the_loops_timers() -> None:
    """By default the watcher reads time.monotonic() and time.time(), and sleeps on the loop."""
    clock = SystemClock()
    before = time.monotonic()
    assert before <= clock.now() <= time.monotonic()
    assert abs(clock.wall() - time.time()) < 1.0
    rang = asyncio.Event()
    due = clock.now() + 0.01
    clock.call_at(due, rang.set)
    clock.call_at(clock.now(), rang.clear).cancel()
    with anyio.fail_after(5):
        await rang.wait()
    assert clock.now() >= due
    await anyio.sleep(0.01)
    assert rang.is_set()  # the cancelled timer never cleared it
