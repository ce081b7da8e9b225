"""
The request budget shared by every process on one key, kept in Redis (``suno-async[redis]``).

Each request takes a turn from a GCRA cell in Redis: one key per API key (named by a hash
of it, never the key itself) holds the theoretical arrival time, moved on by one Lua script
on Redis's own clock, so hosts whose clocks differ still share one schedule. A fixed window
counter would let two windows' worth through across their edge; GCRA spaces the turns.

Redis unreachable, the process falls back to its local share (``per_minute / processes``),
says so once in a WARNING, and tries Redis again now and then: work never stops.
This module imports redis only when a session asks for a shared budget, so
``import suno_async`` stays light.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, Final

import anyio

from ._config import RateLimit
from ._errors import ConfigurationError

__all__ = ["SharedBudget"]

logger: Final = logging.getLogger("suno_async")
#: Seconds before a process that lost Redis tries it again.
_RETRY_REDIS: Final = 30.0
#: The most one wait for a shared turn sleeps before asking again.
_MAX_SLEEP: Final = 5.0

# KEYS[1]: the cell; ARGV: seconds per request, tolerance in seconds. Returns the seconds to
# wait before asking again, as a string (0 when the turn is taken).
_GCRA: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return tostring(wait) end
local ttl = math.ceil((tat + interval - now) * 1000) + 1000
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', ttl)
return '0'
"""


def _redis_module() -> Any:
    try:
        import redis.asyncio  # noqa: PLC0415  (an optional extra, only for a shared budget)
    except ImportError:
        msg = (
            "RateLimit.redis_url needs redis-py: pip install 'suno-async[redis]' "
            "(or leave redis_url out for a budget of this process alone)"
        )
        raise ConfigurationError(msg) from None
    return redis.asyncio


class SharedBudget:
    """Turns of one key's budget in Redis, for every process and host that uses the key."""

    def __init__(self, limit: RateLimit, *, api_key: str) -> None:
        url = limit.redis_url
        assert url is not None  # noqa: S101  (only built with a URL)
        self._redis = _redis_module().from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        digest = hashlib.sha256(api_key.encode()).hexdigest()[:24]
        self._cell = f"suno-async:budget:{digest}"
        self._interval = 60.0 / limit.per_minute
        self._tolerance = self._interval * (limit.burst - 1)
        self._script: Any = self._redis.register_script(_GCRA)
        #: Whether this process runs on its local share, Redis being out of reach.
        self.fallen_back: bool = False
        self._retry_at = 0.0
        self._warned = False

    async def take(self) -> None:
        """Wait for a turn in the shared budget; with Redis out of reach, return at once."""
        while True:
            if self.fallen_back and time.monotonic() < self._retry_at:
                return
            try:
                wait = float(
                    await self._script(
                        keys=[self._cell], args=[repr(self._interval), repr(self._tolerance)]
                    )
                )
            except (
                Exception
            ) as exc:  # redis-py's errors, OSError, timeouts: all mean "out of reach"
                self._lost(exc)
                return
            if self.fallen_back:
                self.fallen_back = False
                logger.info("the shared request budget in Redis answers again")
            if wait <= 0:
                return
            await anyio.sleep(min(wait, _MAX_SLEEP))

    def _lost(self, exc: Exception) -> None:
        self.fallen_back = True
        self._retry_at = time.monotonic() + _RETRY_REDIS
        if not self._warned:
            self._warned = True
            logger.warning(
                "the shared request budget in Redis is out of reach (%s: %s); this process "
                "keeps to its local share of it until Redis answers",
                type(exc).__name__,
                exc,
            )

    async def aclose(self) -> None:
        await self._redis.aclose()
