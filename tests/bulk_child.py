"""
A bulk script as a user would write it, run by the crash tests in a subprocess.

    SUNO_API_KEY=... python tests/bulk_child.py BASE_URL JOURNAL COUNT [OUT_DIR] [--resend-unknown]

It prints one JSON line per outcome and a last line with the progress counts.
"""

from __future__ import annotations

import asyncio
import json
import sys

from helpers import FAST_POLL, FAST_RETRY, song_requests
from suno_async import AsyncSuno, GenerateRequest


def bulk_requests(count: int) -> list[GenerateRequest]:
    """The run's requests: the crash tests rebuild the same list to resume it."""
    return song_requests(count, "crash")


async def main(argv: list[str]) -> None:
    resend = "--resend-unknown" in argv
    args = [a for a in argv if not a.startswith("--")]
    base_url, journal, count = args[0], args[1], int(args[2])
    out = args[3] if len(args) > 3 else None
    async with (
        AsyncSuno(base_url=base_url, poll=FAST_POLL, rate_limit=None, retry=FAST_RETRY) as suno,
        suno.generate_many(
            bulk_requests(count), journal=journal, download_to=out, resend_unknown=resend
        ) as run,
    ):
        async for outcome in run:
            line = {"index": outcome.index, "state": outcome.state, "ids": outcome.task_ids}
            print(json.dumps(line), flush=True)
        progress = run.progress
        print(json.dumps({"done": progress.done, "unknown": progress.unknown}), flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        # asyncio.run cancelled the run: its journal is closed and flushed by now.
        print("interrupted: run again to resume", file=sys.stderr)
        sys.exit(130)
