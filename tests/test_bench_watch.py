"""A smoke run of benchmarks/bench_watch.py: every strategy, a handful of tasks, a fast clock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--interval=0.1", "--hold=1", "--speed=1000", "--clock-step=0.01", "--timeout=20"]


def test_every_strategy_runs_and_reports(tmp_path: Path) -> None:
    """Each strategy resolves every task, and client and server agree on the request count."""
    out = tmp_path / "bench.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_watch.py"), "--tasks=4"]
    done = subprocess.run(
        [*command, *FAST, "--no-pin", f"--json={out}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "| 4 | watcher |" in done.stdout
    assert "Live dialect rows" in done.stdout
    assert "PASS: N=4: watcher requests per tick == ceil(outstanding / " in done.stdout
    results = json.loads(out.read_text())
    assert set(results) == {"watcher", "per_task", "bare", "bare_orjson"}
    for name, row in results.items():
        assert (row["resolved"], row["unresolved"], row["errors"]) == (4, 0, 0), name
        assert row["requests"] == row["server_requests"], name
