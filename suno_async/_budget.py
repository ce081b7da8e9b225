"""
The session's request budget: a token bucket every request draws from, with two queues.

aiolimiter's leaky bucket serves one queue at one fixed rate; the budget needs a share of
its tokens kept for paid calls while free ones wait too, and a rate that a 429 lowers and
quiet raises again, so it is a small bucket of its own. It holds no task: a waiter is a
future, and one timer of the event loop wakes the next when its token is due.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from ._config import RateLimit

__all__ = ["Budget"]

logger: Final = logging.getLogger("suno_async")
#: The rate a 429 leaves, times the one before it.
_DECREASE: Final = 0.5
#: The least share of ``per_minute`` the rate falls to, however many 429s come.
_FLOOR: Final = 1 / 16
#: The share of ``per_minute`` each quiet ``recover_after`` gives back.
_STEP: Final = 0.1
#: 429s within this many seconds of the last decrease are the same refusal, answered together.
_SAME_REFUSAL: Final = 1.0


class Budget:
    """
    Tokens at ``per_minute`` (lowered after a 429), at most ``burst`` saved up.

    ``now`` reads a monotonic clock; the SDK's tests give one they move by hand, to check
    the rate's steps without waiting for them.
    """

    def __init__(self, limit: RateLimit, *, now: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._now = now
        self._factor = 1.0
        #: The part of ``per_minute`` this process may use alone: 1, or its share of a
        #: budget shared through Redis while Redis is out of reach.
        self.share: float = 1.0
        self._tokens = float(limit.burst)
        self._stamp = now()
        self._paused_until = -math.inf
        self._last_decrease = -math.inf
        self._quiet_since = self._stamp
        self._paid: deque[asyncio.Future[None]] = deque()
        self._free: deque[asyncio.Future[None]] = deque()
        # Paid calls' claim on the next token while both kinds wait: a weighted turn.
        self._credit = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        #: Requests the service refused with 429.
        self.refused: int = 0
        #: Tokens handed out.
        self.granted: int = 0

    @property
    def per_minute(self) -> float:
        """The rate in use now: ``per_minute``, or less for a while after a 429."""
        self._recover(self._now())
        return self.limit.per_minute * self._factor * self.share

    @property
    def waiting(self) -> int:
        """Requests waiting for a token."""
        return sum(not f.done() for f in self._paid) + sum(not f.done() for f in self._free)

    @property
    def paid_waiting(self) -> bool:
        """Whether a paid call waits for a token (and so takes its share of them)."""
        return any(not f.done() for f in self._paid)

    async def acquire(self, *, paid: bool) -> None:
        """Wait for a token: at once when one is saved and nobody waits before this call."""
        if self._closed:
            return
        if not self._paid and not self._free:
            self._refill(self._now())
            if self._tokens >= 1 and self._now() >= self._paused_until:
                self._tokens -= 1
                self.granted += 1
                return
        waiter = asyncio.get_running_loop().create_future()
        (self._paid if paid else self._free).append(waiter)
        self._dispatch()
        await waiter

    def refusal(self, retry_after: float | None) -> None:
        """
        A 429: slow down, and hold every request through its Retry-After when it gives one.

        Tokens saved up are dropped too: a burst right after a refusal would draw another.
        """
        now = self._now()
        self.refused += 1
        self._refill(now)
        self._tokens = min(self._tokens, 0.0)
        self._quiet_since = now
        if now - self._last_decrease >= _SAME_REFUSAL:
            self._last_decrease = now
            before = self._factor
            self._factor = max(self._factor * _DECREASE, _FLOOR)
            if self._factor < before:
                logger.info(
                    "the service refused a request with 429: sending at most %.3g a minute "
                    "for now (the budget is %.3g)",
                    self.limit.per_minute * self._factor * self.share,
                    self.limit.per_minute,
                )
        if retry_after is not None:
            self._paused_until = max(self._paused_until, now + retry_after)
        self._dispatch()

    def close(self) -> None:
        """Let every waiter go (its call then finds the session closed); hand out no more."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for queue in (self._paid, self._free):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)

    # --- the bucket ---------------------------------------------------------------------

    def _recover(self, now: float) -> None:
        """Each quiet ``recover_after`` since the last 429 gives back a step of the rate."""
        if self._factor >= 1.0:
            return
        window = self.limit.recover_after
        steps = math.floor((now - self._quiet_since) / window)
        if steps > 0:
            self._factor = min(1.0, self._factor + steps * _STEP)
            self._quiet_since += steps * window

    def _refill(self, now: float) -> None:
        """Tokens for the time since the last look; none accrue during a Retry-After pause."""
        self._recover(now)
        start = max(self._stamp, self._paused_until)
        if now > start:
            rate = self.limit.per_minute * self._factor * self.share / 60.0
            self._tokens = min(float(self.limit.burst), self._tokens + (now - start) * rate)
        self._stamp = max(now, self._stamp)

    def _next(self) -> asyncio.Future[None] | None:
        """The waiter the next token goes to: paid calls get their share while both wait."""
        for queue in (self._paid, self._free):
            while queue and queue[0].done():  # cancelled while waiting
                queue.popleft()
        if not self._paid:
            return self._free.popleft() if self._free else None
        if not self._free:
            return self._paid.popleft()
        self._credit += self.limit.paid_share
        if self._credit >= 1.0:
            self._credit -= 1.0
            return self._paid.popleft()
        return self._free.popleft()

    def _dispatch(self) -> None:
        """Hand out the tokens that are due; set the timer for the next one if anyone waits."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closed:
            return
        now = self._now()
        self._refill(now)
        while now >= self._paused_until and self._tokens >= 1:
            waiter = self._next()
            if waiter is None:
                return
            self._tokens -= 1
            self.granted += 1
            waiter.set_result(None)
        if not any(not f.done() for f in self._paid) and not any(not f.done() for f in self._free):
            return
        rate = self.limit.per_minute * self._factor * self.share / 60.0
        wait = max((1.0 - self._tokens) / rate, self._paused_until - now, 0.0)
        self._timer = asyncio.get_running_loop().call_later(wait, self._dispatch)
