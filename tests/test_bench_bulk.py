"""A smoke run of benchmarks/bench_bulk.py, so the benchmark keeps working as the code moves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_bulk.py"


def test_the_bulk_benchmark_runs_and_reports(tmp_path: Path) -> None:
    """Two generations per client: the table, the checks, no duplicate paid call."""
    out = tmp_path / "bench.json"
    command = [
        sys.executable,
        str(BENCH),
        "-n=2",
        "--paid-latency=0.01",
        "--media-bytes=20000-40000",
        "--speed=1000",
        "--interval=0.05",
        "--rss-sizes",
        f"--json={out}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode in (0, 1), done.stderr
    assert "| sdk+journal |" in done.stdout
    assert "PASS 0 duplicate paid calls" in done.stdout
    assert "PASS every song downloaded by each SDK run" in done.stdout
    assert out.exists()
