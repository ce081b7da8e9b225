"""What every ``bench_watch.py`` run shares: its settings, the strategies' names, the targets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

#: The benchmark's entry point; the harness runs it again as each client process.
SCRIPT: Final = str(Path(__file__).with_name("bench_watch.py").resolve())
STRATEGIES: Final = ("watcher", "per_task", "bare", "bare_orjson")
#: The hand-written batch loops, the standard library's json and orjson decoding.
BARE_LOOPS: Final = ("bare", "bare_orjson")
REQUIRED_KEYS: Final = (
    "requests",
    "wall_s",
    "cpu_s",
    "peak_rss_mb",
    "latency_p50_s",
    "latency_p99_s",
)
DEFAULT_TASKS: Final = (100, 1_000, 10_000)
API_KEY: Final = "bench-key"
GENERATE_PRICE: Final = 36  # points per generate call on the fake server
CREATE_CONCURRENCY: Final = 32
SAMPLE_EVERY: Final = 0.1  # at most this often a request start samples RSS and CPU
PAGE_BYTES: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

# The targets the watcher is held to.
MIN_REQUEST_RATIO: Final = 10.0
MIN_CPU_RATIO: Final = 5.0
MAX_KB_PER_TASK: Final = 3.0
MAX_CPU_MS_PER_TICK: Final = 50.0
LATENCY_SLACK_S: Final = 0.050
MAX_OVERHEAD: Final = 1.2  # watcher CPU / the bare orjson loop's
MAX_OVERHEAD_JSON: Final = 0.8  # watcher CPU / the bare json loop's: typed results and all


@dataclass(frozen=True)
class Settings:
    """What every run shares; passed to the client process on its command line."""

    interval: float = 1.0
    # One 1 s tick stands for 10 simulated seconds: twice the SDK's default 5 s interval,
    # so the load per tick is harsher than real use, yet not compressed out of shape.
    speed: float = 10.0
    page_size: int = 100
    concurrency: int = 4
    failure_rate: float = 0.03
    seed: int = 20240611
    clock_step: float = 0.02
    hold: int = 3
    per_task_max: int = 1_000
    timeout: float = 120.0
    profile: str | None = None
    pin: bool = True

    def client_args(self) -> list[str]:
        args = [
            f"--interval={self.interval}",
            f"--page-size={self.page_size}",
            f"--concurrency={self.concurrency}",
            f"--timeout={self.timeout}",
        ]
        if self.profile:
            args.append(f"--profile={self.profile}")
        return args
