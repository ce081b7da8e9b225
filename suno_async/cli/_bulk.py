"""``bulk`` and ``demo``: many generations at once, with live progress."""

from __future__ import annotations

import argparse
import secrets
import tempfile
from pathlib import Path
from typing import Any, Final

from .._models import GenerateRequest, TaskHandle
from ..testing import FakeSunoServer, TaskPlan
from ._commands import PRICES, Tracker, wait_and_report
from ._exit import CliError, ExitCode
from ._jsonl import load_requests
from ._output import Output
from ._session import fast_poll, open_session

__all__ = ["run_bulk", "run_demo"]

#: The demo's songs (two per request), and which of them the fake server fails on purpose.
DEMO_REQUESTS: Final = 12
DEMO_FAILURES: Final = frozenset({5, 18})
_DEMO_STYLES: Final = (
    "a cheerful pop song about asyncio",
    "a slow blues about waiting on futures",
    "lo-fi beats for a rainy night of debugging",
    "an 80s synthwave anthem about event loops",
)


async def run_bulk(args: argparse.Namespace, output: Output) -> ExitCode:
    requests = load_requests(args.file)
    output.note(f"{args.file}: {len(requests)} valid requests")
    msg = "bulk runs need the library's generate_many, which this build does not have yet"
    raise CliError(msg, ExitCode.NOTHING_SENT)


def demo_requests() -> list[GenerateRequest]:
    return [
        GenerateRequest(
            model="chirp-v4",
            title=f"Demo song {number + 1}",
            description=_DEMO_STYLES[number % len(_DEMO_STYLES)],
        )
        for number in range(DEMO_REQUESTS)
    ]


def _demo_plans() -> list[TaskPlan]:
    plans = []
    for song in range(DEMO_REQUESTS * 2):
        # Simulated seconds; the fake clock runs 60x, so every song is done within ~2 s.
        queued, generating = (song % 5) * 3.0, 30.0 + (song * 7) % 60
        plans.append(TaskPlan(queued_s=queued, generating_s=generating))
        if song in DEMO_FAILURES:
            plans[-1].succeed = False
    return plans


async def run_demo(args: argparse.Namespace, output: Output) -> ExitCode:
    """Two dozen songs against a fake server of its own: no key, no network, no points."""
    out: Path = args.out or Path(tempfile.mkdtemp(prefix="suno-demo-"))
    key = "demo-" + secrets.token_hex(8)
    async with FakeSunoServer(api_key=key, speed=60.0, seed=1) as fake:
        fake.plans.extend(_demo_plans())
        output.note(
            f"demo: a fake Suno server on {fake.url} (offline: nothing is spent, "
            "whatever SUNO_API_KEY says)"
        )
        tracker = Tracker()
        async with open_session(
            args,
            key=key,
            base_url=fake.url,
            poll=fast_poll(0.2),
            on_status_change=tracker.on_change,
        ) as suno:
            tracker.suno = suno
            handles: list[TaskHandle[Any]] = []
            for request in demo_requests():
                handles += await suno.submit_generate(request)
                tracker.points += PRICES["generate"]
            code = await wait_and_report(
                suno, handles, download=out, timeout=None, output=output, tracker=tracker
            )
    output.emit("demo", f"demo media folder: {out}", folder=str(out), exit_code=int(code))
    output.note(
        f"{len(DEMO_FAILURES)} songs failed on purpose, to show how failures look; "
        "with a key, the same works against the real service"
    )
    return ExitCode.OK
