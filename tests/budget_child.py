"""
A worker on a shared key, run by the shared budget's tests in a process of its own.

    SUNO_API_KEY=... python tests/budget_child.py BASE_URL REDIS_URL SECONDS

It asks for the balance over and over for SECONDS, within the budget shared through Redis,
and prints how many calls it made.
"""

from __future__ import annotations

import asyncio
import sys

import anyio

from suno_async import AsyncSuno, RateLimit


async def main(base_url: str, redis_url: str, seconds: float) -> int:
    limit = RateLimit(per_minute=600, burst=2, redis_url=redis_url, processes=3)
    calls = 0
    async with AsyncSuno(base_url=base_url, rate_limit=limit) as suno:
        with anyio.move_on_after(seconds):
            while True:
                await suno.balance()
                calls += 1
    return calls


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]))))
