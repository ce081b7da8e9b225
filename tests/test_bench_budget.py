"""A smoke run of benchmarks/bench_budget.py, so the benchmark keeps working as the code moves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_budget.py"


def test_the_budget_benchmark_runs_and_reports() -> None:
    """A few songs for a second each way: the table and its checks."""
    command = [sys.executable, str(BENCH), "--tasks=20", "--seconds=1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode in (0, 1), done.stderr
    assert "| RateLimit(100/min) |" in done.stdout
    assert "PASS the budget keeps under 120 a minute" in done.stdout
