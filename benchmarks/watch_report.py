"""The analysis and output of ``bench_watch.py``: ticks, summaries, the table, the verdicts."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from watch_settings import (
    BARE_LOOPS,
    LATENCY_SLACK_S,
    MAX_CPU_MS_PER_TICK,
    MAX_KB_PER_TASK,
    MAX_OVERHEAD,
    MAX_OVERHEAD_JSON,
    MIN_CPU_RATIO,
    MIN_REQUEST_RATIO,
    STRATEGIES,
    Settings,
)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks, like numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Tick:
    start: float
    cpu_start: float
    requests: int = 0
    ids: int = 0
    last: float = 0.0
    outstanding: int = 0
    expected: int = 0
    completions: int = 0
    cpu_ms: float = 0.0
    rss_kb: float = 0.0


def split_ticks(report: dict[str, Any], tasks: int, settings: Settings) -> list[Tick]:
    """
    Group request starts into ticks: a tick asks about each outstanding id once, so a
    request naming an id already asked about in the current tick starts the next one.
    """
    ticks: list[Tick] = []
    seen: set[str] = set()
    for wall, cpu, query in report["request_starts"]:
        fields = parse_qs(query)
        ids = (fields.get("ids") or fields.get("id") or [""])[0]
        asked = {part for part in ids.split(",") if part}
        if not ticks or not seen.isdisjoint(asked):
            ticks.append(Tick(start=wall, cpu_start=cpu))
            seen = set()
        seen |= asked
        tick = ticks[-1]
        tick.requests += 1
        tick.ids += len(asked)
        tick.last = wall
    if not ticks:
        return ticks
    resolved = sorted(report["resolved"].values())
    samples: list[list[float]] = report["samples"]
    cpu_end = report["cpu0"] + report["cpu_s"]
    ticks[0].cpu_start = report["cpu0"]  # the tick's set-up before its first request
    for index, tick in enumerate(ticks):
        nxt = ticks[index + 1] if index + 1 < len(ticks) else None
        done_before = bisect_left(resolved, tick.start)
        tick.outstanding = tasks - done_before
        tick.expected = math.ceil(tick.outstanding / settings.page_size)
        end = nxt.start if nxt else math.inf
        tick.completions = bisect_left(resolved, end) - done_before
        tick.cpu_ms = ((nxt.cpu_start if nxt else cpu_end) - tick.cpu_start) * 1000
        window = [s[2] for s in samples if tick.start <= s[0] < end]
        tick.rss_kb = max(window, default=0.0)
    return ticks


def summarize(
    *,
    strategy: str,
    tasks: int,
    report: dict[str, Any],
    server_stats: dict[str, Any],
    completions: dict[str, float | None],
    settings: Settings,
    creation_s: float,
) -> dict[str, Any]:
    resolved: dict[str, float] = report["resolved"]
    latencies = [
        at - done
        for task_id, at in resolved.items()
        if (done := completions.get(task_id)) is not None
    ]
    server_requests = server_stats.get("requests", {})
    server_polls = int(server_requests.get("GET /music/tasks", 0)) + int(
        server_requests.get("GET /music/task", 0)
    )
    base_kb = report["rss_base_kb"]
    first_done = min(resolved.values(), default=math.inf)
    samples: list[list[float]] = report["samples"]
    held = [s[2] for s in samples if s[0] < first_done]
    held_kb = max(held, default=report["peak_rss_kb"])
    result: dict[str, Any] = {
        "tasks": tasks,
        "requests": report["requests"],
        "server_requests": server_polls,
        "wall_s": report["wall_s"],
        "cpu_s": report["cpu_s"],
        "peak_rss_mb": report["peak_rss_kb"] / 1024,
        "rss_base_mb": base_kb / 1024,
        "rss_held_mb": held_kb / 1024,
        "mem_per_task_kb": (held_kb - base_kb) / tasks,
        "peak_mem_per_task_kb": (report["peak_rss_kb"] - base_kb) / tasks,
        "latency_p50_s": percentile(latencies, 0.50),
        "latency_p99_s": percentile(latencies, 0.99),
        "latency_max_s": max(latencies, default=None),
        "resolved": len(resolved),
        "songs": report["songs"],
        "failed": report["failed"],
        "unresolved": tasks - len(resolved),
        "errors": report["error_count"],
        "error_samples": report["errors"][:3],
        "creation_s": creation_s,
        "gc_s": sum(report["gc_s"]),
        "gc_collections": report["gc_collections"],
    }
    if strategy == "per_task":
        # No ticks: count intervals. While holding, CPU per interval from the samples.
        ticks = max(1, math.ceil(report["wall_s"] / settings.interval))
        start = report["wall0"] + settings.interval
        hold = [s for s in samples if start <= s[0] < first_done]
        rate = (hold[-1][1] - hold[0][1]) / (hold[-1][0] - hold[0][0]) if len(hold) > 2 else None
        result["ticks"] = ticks
        result["requests_per_tick"] = report["requests"] / ticks
        result["cpu_per_tick_ms"] = report["cpu_s"] * 1000 / ticks
        result["cpu_per_held_tick_ms"] = None if rate is None else rate * settings.interval * 1000
        return result
    tick_list = split_ticks(report, tasks, settings)
    count = max(1, len(tick_list))
    # Holding ticks: every task outstanding, nothing resolved; the first tick also pays
    # for setting up the wait and opening connections, so it is reported on its own.
    held_ticks = [t.cpu_ms for t in tick_list[1:] if t.completions == 0]
    busy = [t for t in tick_list[1:] if t.completions > 0]
    held_ms = sum(held_ticks) / len(held_ticks) if held_ticks else None
    per_result = None
    if busy and held_ms is not None:
        # What the ticks with results cost beyond polling their ids at the holding rate.
        resolved_in_busy = sum(t.completions for t in busy)
        polling_ms = held_ms / tasks * sum(t.ids for t in busy)
        extra_ms = sum(t.cpu_ms for t in busy) - polling_ms
        per_result = extra_ms * 1000 / resolved_in_busy if resolved_in_busy else None
    result.update(
        {
            "ticks": len(tick_list),
            "requests_per_tick": report["requests"] / count,
            "requests_per_tick_ok": all(t.requests == t.expected for t in tick_list),
            "cpu_per_tick_ms": report["cpu_s"] * 1000 / count,
            "cpu_per_tick_max_ms": max((t.cpu_ms for t in tick_list), default=0.0),
            "cpu_first_tick_ms": tick_list[0].cpu_ms if tick_list else None,
            "cpu_per_held_tick_ms": held_ms,
            "cpu_per_result_us": per_result,
            "tick_detail": [
                {
                    "requests": t.requests,
                    "expected": t.expected,
                    "outstanding": t.outstanding,
                    "ids_polled": t.ids,
                    "completions": t.completions,
                    "span_ms": round((t.last - t.start) * 1000, 1),
                    "cpu_ms": round(t.cpu_ms, 2),
                    "rss_mb": round(t.rss_kb / 1024, 2),
                }
                for t in tick_list
            ],
        }
    )
    if "sdk_stats" in report["extra"]:
        result["sdk_stats"] = report["extra"]["sdk_stats"]
    return result


# --- output ----------------------------------------------------------------------------------


def fmt(value: object, spec: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        return format(value, spec)
    return str(value)


def table(results: dict[int, dict[str, dict[str, Any]]], settings: Settings) -> str:
    header = (
        "| N | strategy | requests (server) | req/tick | ticks | wall s | CPU s "
        "| CPU ms/tick held | CPU ms/tick all | peak RSS MB | KB/task held "
        "| latency p50 s | p99 s |"
    )
    lines = [
        header,
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for tasks, by_strategy in results.items():
        for strategy in STRATEGIES:
            row = by_strategy.get(strategy)
            if row is None:
                continue
            if "skipped" in row:
                lines.append(
                    f"| {tasks:,} | {strategy} | skipped: {row['skipped']} | | | | | | | | | | |"
                )
                continue
            lines.append(
                f"| {tasks:,} | {strategy} | {row['requests']:,} ({row['server_requests']:,}) "
                f"| {fmt(row['requests_per_tick'], '.1f')} | {row['ticks']} "
                f"| {row['wall_s']:.2f} | {row['cpu_s']:.3f} "
                f"| {fmt(row['cpu_per_held_tick_ms'], '.1f')} "
                f"| {fmt(row['cpu_per_tick_ms'], '.1f')} | {row['peak_rss_mb']:.1f} "
                f"| {fmt(row['mem_per_task_kb'], '.2f')} "
                f"| {fmt(row['latency_p50_s'], '.3f')} | {fmt(row['latency_p99_s'], '.3f')} |"
            )
    lines.append("")
    lines.append(
        f"Live dialect rows; poll interval {settings.interval:g} s for every strategy; "
        f"server page size "
        f"{settings.page_size} (= watcher batch_size and the bare loops' chunk size); the "
        f"watcher and the bare loops run {settings.concurrency} queries at a time; bare "
        f"decodes with json, bare_orjson with orjson; fake clock stopped for the first "
        f"{settings.hold} intervals (holding ticks), then {settings.speed:g}x (songs take "
        f"30-125 simulated s); failure rate {settings.failure_rate:g}. Requests = task "
        "queries counted by the client (by the server). CPU ms/tick held = mean client CPU of "
        "the holding ticks after the first; all = CPU s / ticks. KB/task held = RSS growth "
        "over the pre-wait baseline while all N tasks were outstanding, per task."
        + (" Client and server each ran on a core of its own." if settings.pin else "")
    )
    every_row = [row for rows in results.values() for row in rows.values()]
    runs = max((row.get("runs", 1) for row in every_row), default=1)
    if runs > 1:
        lines[-1] += f" Each row is the median-CPU run of {runs}, run round-robin."
    return "\n".join(lines)


def checks(results: dict[int, dict[str, dict[str, Any]]], settings: Settings) -> list[str]:
    """The targets, as ratios measured in this run; INFO lines give context."""
    lines: list[str] = []
    for tasks, rows in results.items():
        for name, row in rows.items():
            if "skipped" in row:
                continue
            if row["requests"] != row["server_requests"] or row["errors"] or row["unresolved"]:
                lines.append(
                    f"WARN: N={tasks:,} {name}: client counted {row['requests']} requests, "
                    f"server {row['server_requests']}; {row['errors']} errors "
                    f"{row['error_samples']}; {row['unresolved']} unresolved"
                )

    def verdict(ok: bool, text: str) -> None:
        lines.append(f"{'PASS' if ok else 'FAIL'}: {text}")

    def ran(tasks: int, strategy: str) -> dict[str, Any] | None:
        row = results.get(tasks, {}).get(strategy)
        return None if row is None or "skipped" in row else row

    for tasks in results:
        watcher = ran(tasks, "watcher")
        if watcher is None:
            continue
        pairs = [(t["requests"], t["expected"]) for t in watcher["tick_detail"]]
        verdict(
            watcher["requests_per_tick_ok"] and watcher["unresolved"] == 0,
            f"N={tasks:,}: watcher requests per tick == ceil(outstanding / {settings.page_size}) "
            f"on all {watcher['ticks']} ticks ((sent, expected) per tick: {pairs}); "
            f"{watcher['resolved']:,} resolved, {watcher['unresolved']} unresolved",
        )
    watcher, per_task = ran(1_000, "watcher"), ran(1_000, "per_task")
    if watcher and per_task:
        requests = per_task["server_requests"] / max(1, watcher["server_requests"])
        cpu = per_task["cpu_s"] / watcher["cpu_s"]
        verdict(
            requests >= MIN_REQUEST_RATIO,
            f"N=1,000: per_task/watcher requests = {per_task['server_requests']:,}/"
            f"{watcher['server_requests']:,} = {requests:.1f}x (target >= {MIN_REQUEST_RATIO:g}x)",
        )
        verdict(
            cpu >= MIN_CPU_RATIO,
            f"N=1,000: per_task/watcher client CPU = {per_task['cpu_s']:.3f}/"
            f"{watcher['cpu_s']:.3f} s = {cpu:.1f}x (target >= {MIN_CPU_RATIO:g}x)",
        )
    else:
        lines.append("SKIP: N=1,000 watcher vs per_task (not both in this run)")
    watcher = ran(10_000, "watcher")
    if watcher:
        verdict(
            watcher["mem_per_task_kb"] <= MAX_KB_PER_TASK,
            f"N=10,000: watcher holds {watcher['mem_per_task_kb']:.2f} KB/task while all are "
            f"outstanding (target <= {MAX_KB_PER_TASK:g})",
        )
        lines.append(
            f"INFO: N=10,000: peak RSS growth {watcher['peak_mem_per_task_kb']:.2f} KB/task "
            f"(peak {watcher['peak_rss_mb']:.0f} MB, after results arrived)"
        )
        held = watcher["cpu_per_held_tick_ms"]
        verdict(
            held is not None and held <= MAX_CPU_MS_PER_TICK,
            f"N=10,000: watcher CPU {fmt(held, '.1f')} ms per holding tick (10,000 "
            f"outstanding, {watcher['tick_detail'][0]['requests']} requests; target <= "
            f"{MAX_CPU_MS_PER_TICK:g} ms)",
        )
        bare_text = "".join(
            f"; {name}: {fmt(bare['cpu_per_held_tick_ms'], '.1f')} ms held, "
            f"{bare['cpu_per_tick_ms']:.1f} ms mean, {bare['cpu_per_tick_max_ms']:.1f} ms worst"
            for name in BARE_LOOPS
            if (bare := ran(10_000, name)) is not None
        )
        lines.append(
            f"INFO: N=10,000: watcher CPU per tick over the whole wait "
            f"{watcher['cpu_per_tick_ms']:.1f} ms mean, {watcher['cpu_per_tick_max_ms']:.1f} ms "
            f"worst, first tick {watcher['cpu_first_tick_ms']:.1f} ms{bare_text}"
        )
    else:
        lines.append("SKIP: N=10,000 watcher memory and CPU per tick (not in this run)")
    bound = settings.interval + LATENCY_SLACK_S
    for tasks in results:
        watcher = ran(tasks, "watcher")
        if watcher is None or watcher["latency_p99_s"] is None:
            continue
        verdict(
            watcher["latency_p99_s"] <= bound,
            f"N={tasks:,}: watcher latency p99 {watcher['latency_p99_s']:.3f} s (target <= "
            f"interval + {LATENCY_SLACK_S * 1000:g} ms = {bound:.3f} s); "
            + ", ".join(
                f"{name} {fmt(other['latency_p99_s'], '.3f')} s"
                for name in (*BARE_LOOPS, "per_task")
                if (other := ran(tasks, name)) is not None
            ),
        )
    targets = {"bare_orjson": MAX_OVERHEAD, "bare": MAX_OVERHEAD_JSON}
    for tasks in results:
        for name in BARE_LOOPS:
            watcher, bare = ran(tasks, "watcher"), ran(tasks, name)
            if watcher is None or bare is None:
                continue
            overhead = watcher["cpu_s"] / bare["cpu_s"]
            verdict(
                overhead <= targets[name],
                f"N={tasks:,}: watcher/{name} client CPU = {watcher['cpu_s']:.3f}/"
                f"{bare['cpu_s']:.3f} s = {overhead:.2f}x (target <= {targets[name]:g}x)",
            )
            w_held, b_held = watcher["cpu_per_held_tick_ms"], bare["cpu_per_held_tick_ms"]
            if w_held and b_held:
                lines.append(
                    f"INFO: N={tasks:,}: watcher vs {name} per holding tick {w_held:.1f} vs "
                    f"{b_held:.1f} ms ({w_held / b_held:.2f}x); per result ≈ "
                    f"{fmt(watcher['cpu_per_result_us'], '.0f')} vs "
                    f"{fmt(bare['cpu_per_result_us'], '.0f')} µs; GC "
                    f"{watcher['gc_s'] * 1000:.0f} vs {bare['gc_s'] * 1000:.0f} ms"
                )
            if (by_round := _ratios_by_round(watcher, bare, name)) is not None:
                lines.append(f"INFO: N={tasks:,}: {by_round}")
    return lines


def _ratios_by_round(watcher: dict[str, Any], bare: dict[str, Any], name: str) -> str | None:
    """
    The CPU ratio of each round: its two runs are seconds apart, so the spread of these
    shows how much of a difference is the machine's load rather than the code.
    """
    pairs = list(zip(watcher.get("cpu_s_runs", ()), bare.get("cpu_s_runs", ()), strict=False))
    if len(pairs) < 2:
        return None
    ratios = sorted(w / b for w, b in pairs)
    median = percentile(ratios, 0.5) or 0.0
    return (
        f"watcher/{name} CPU round by round {', '.join(f'{r:.2f}' for r in ratios)}x "
        f"(median {median:.2f}x)"
    )


def strategy_json(results: dict[int, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """
    ``{"watcher": {...}, "per_task": {...}, "bare": {...}, "bare_orjson": {...}}``: each
    strategy at the largest N it ran (its ``tasks`` key says which), every N in ``by_tasks``.
    """
    out: dict[str, Any] = {}
    for strategy in STRATEGIES:
        by_tasks = {
            str(tasks): rows[strategy] for tasks, rows in results.items() if strategy in rows
        }
        if not by_tasks:
            continue
        ran = [row for row in by_tasks.values() if "skipped" not in row]
        latest = dict(ran[-1] if ran else next(reversed(by_tasks.values())))
        if len(by_tasks) > 1:
            latest["by_tasks"] = by_tasks
        out[strategy] = latest
    return out
