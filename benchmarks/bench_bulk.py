"""
Bulk runs end to end: ``generate_many`` against a bare hand-written asyncio loop.

    python benchmarks/bench_bulk.py                  # 1,000 generations, media 1-4 MB
    python benchmarks/bench_bulk.py --small          # 40 generations: a quick look
    python benchmarks/bench_bulk.py -n 200 --json out.json

The fake server runs in its own process (``python -m suno_async.testing``) with a latency on
paid calls (``--paid-latency``, 0.3 s) and media of ``--media-bytes`` (1-4 MB). Each client
runs in a process of its own too, so CPU time and peak RSS are the client's alone:

- ``bare``: a semaphore on the POSTs, one poll loop asking ``/music/tasks`` in batches for
  every outstanding id, and aiohttp streaming downloads under a semaphore;
- ``sdk``: ``suno.generate_many(requests, download_to=...)`` without a journal;
- ``sdk+journal``: the same with its SQLite journal;
- ``sdk+journal+fsync`` (with ``--fsync-too``): the same with ``DownloadPolicy(fsync=True)``,
  each file and its folder flushed to the disk (the bare loop flushes nothing).

Both sides send as many paid calls at once (``--in-flight``), poll at the same interval and
download as many files at once. Each run writes ``2 x N`` files to a temporary folder, removed
after the run. Then the SDK with its journal runs again at a small N with fixed file sizes to
show that its peak RSS stays flat as files grow. PASS/FAIL lines close the report.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import aiohttp

from checkout import use_this_checkout
from rows_by_hand import batch_rows, read_row, submitted_ids

use_this_checkout()

API_KEY: Final = "bench-key"
GENERATE_PRICE: Final = 36
MODES: Final = ("bare", "sdk", "sdk+journal")
#: With --fsync-too: the journal run again with DownloadPolicy(fsync=True), to show its cost.
FSYNC_MODE: Final = "sdk+journal+fsync"
CHUNK: Final = 64 * 1024
#: Download slots on both sides: the SDK's DownloadPolicy default.
DOWNLOADS_AT_ONCE: Final = 4
#: Simulated seconds a song takes (uniform); the server's speed turns them into real ones.
GENERATING_S: Final = ("30", "60")


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def titles(mode: str, n: int) -> list[str]:
    return [f"{mode} {i}" for i in range(n)]


class Downloads:
    """
    Bytes fetched, over the time at least one download was going on: downloads interleave
    with waiting for songs, so the run's wall time would measure the songs, not the network.
    """

    def __init__(self) -> None:
        self.bytes = 0
        self.files = 0
        self.active = 0
        self.busy = 0.0
        self._since = 0.0

    def started(self) -> None:
        if self.active == 0:
            self._since = time.perf_counter()
        self.active += 1

    def finished(self, size: int) -> None:
        self.bytes += size
        self.files += size > 0
        self.active -= 1
        if self.active == 0:
            self.busy += time.perf_counter() - self._since

    def mb_per_s(self) -> float:
        return self.bytes / 2**20 / self.busy if self.busy > 0 else 0.0


# --- the clients (each in its own process) ------------------------------------------------


def song_audio_url(row: dict[str, Any]) -> str | None:
    """The finished clip's audio URL: the entry of ``extend`` whose id is the custom_id."""
    extend = row.get("extend")
    clips = json.loads(extend) if isinstance(extend, str) and extend else extend or []
    for clip in clips:
        if clip.get("id") == row.get("custom_id"):
            url: str | None = clip.get("audio_url")
            return url
    return None


class BareClient:
    """The loop a careful user writes by hand: no journal, no resume, no money guards."""

    def __init__(self, args: argparse.Namespace, out: Path, downloads: Downloads) -> None:
        self.args, self.out, self.downloads = args, out, downloads
        self.paid = asyncio.Semaphore(args.in_flight)
        self.slots = asyncio.Semaphore(DOWNLOADS_AT_ONCE)
        self.outstanding: dict[int, bool] = {}
        self.submitting = True
        self.fetches: list[asyncio.Task[None]] = []
        self.failed = 0

    async def run(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        connector = aiohttp.TCPConnector(limit=0)
        async with (
            aiohttp.ClientSession(connector=connector, headers=headers) as self.session,
            aiohttp.ClientSession() as self.media,  # media hosts never get the key
        ):
            polling = asyncio.create_task(self.poller())
            await asyncio.gather(*(self.submit(t) for t in titles("bare", self.args.n)))
            self.submitting = False
            await polling
            await asyncio.gather(*self.fetches)
        return {"failed": self.failed, "journal_cpu_s": 0.0}

    async def submit(self, title: str) -> None:
        body = {"mv": "chirp-v4", "title": title, "gpt_description_prompt": f"tune {title}"}
        url = f"{self.args.url}/music/generate"
        async with self.paid, self.session.post(url, json=body) as response:
            answer = await response.json()
        for task_id in submitted_ids(answer["data"]):
            self.outstanding[task_id] = True

    async def poller(self) -> None:
        size = self.args.page_size
        while self.submitting or self.outstanding:
            started = time.monotonic()
            due = list(self.outstanding)
            await asyncio.gather(*(self.poll(due[i : i + size]) for i in range(0, len(due), size)))
            await asyncio.sleep(max(0.0, started + self.args.interval - time.monotonic()))

    async def poll(self, chunk: list[int]) -> None:
        params = {"ids": ",".join(map(str, chunk)), "page": "1", "size": str(len(chunk))}
        url = f"{self.args.url}/music/tasks"
        async with self.session.get(url, params=params) as response:
            rows = batch_rows((await response.json())["data"])
        for raw in rows:
            task_id, status, row = read_row(raw)
            if status in {"3", "4"} and self.outstanding.pop(task_id, False):
                media_url = song_audio_url(row) if status == "3" else None
                if media_url is None:
                    self.failed += 1
                else:
                    self.fetches.append(asyncio.create_task(self.download(media_url, task_id)))

    async def download(self, url: str, task_id: int) -> None:
        async with self.slots:
            self.downloads.started()
            part = self.out / f".{task_id}.mp3.part"
            size = 0
            try:
                async with self.media.get(url) as response:
                    response.raise_for_status()
                    with part.open("wb") as handle:
                        async for chunk in response.content.iter_chunked(CHUNK):
                            handle.write(chunk)
                            size += len(chunk)
                part.rename(self.out / f"{task_id}.mp3")
            finally:
                self.downloads.finished(size)


async def sdk_client(
    args: argparse.Namespace, out: Path, downloads: Downloads, journal: Path | None
) -> dict[str, Any]:
    # Imported in the client only, before its CPU clock starts (see client_main).
    from suno_async import (  # noqa: PLC0415
        AsyncSuno,
        DownloadPolicy,
        GenerateRequest,
        PollPolicy,
        TaskKind,
    )

    first = float(GENERATING_S[0]) / args.speed
    poll = PollPolicy(
        interval=args.interval,
        batch_size=args.page_size,
        first_poll={**dict.fromkeys(TaskKind, 0.0), TaskKind.SONG: first},
    )
    options: dict[str, Any] = {}
    if "max_paid_in_flight" in inspect.signature(AsyncSuno).parameters:
        options["max_paid_in_flight"] = args.in_flight
    if args.mode == FSYNC_MODE:
        options["downloads"] = DownloadPolicy(fsync=True)
    requests = [
        GenerateRequest(model="chirp-v4", title=title, description=f"tune {title}")
        for title in titles(args.mode, args.n)
    ]
    failed = 0
    async with AsyncSuno(API_KEY, base_url=args.url, poll=poll, rate_limit=None, **options) as suno:
        download = suno.download

        async def timed(*a: Any, **kw: Any) -> Path:
            downloads.started()
            size = 0
            try:
                path = await download(*a, **kw)
                size = path.stat().st_size
            finally:
                downloads.finished(size)
            return path

        setattr(suno, "download", timed)  # noqa: B010  (a timing wrapper on this session only)
        async with suno.generate_many(requests, journal=journal, download_to=out) as run:
            async for outcome in run:
                failed += len(outcome.errors)
        return {"failed": failed, "journal_cpu_s": run.journal_cpu_seconds}


def client_main(args: argparse.Namespace) -> None:
    out = Path(args.out)
    downloads = Downloads()
    journal = out / "run.db" if args.mode.startswith("sdk+journal") else None
    media = out / "media"
    media.mkdir(parents=True, exist_ok=True)
    if args.mode != "bare":
        import suno_async  # noqa: F401, PLC0415  (the import is not the run's cost)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    if args.mode == "bare":
        extra = asyncio.run(BareClient(args, media, downloads).run())
    else:
        extra = asyncio.run(sdk_client(args, media, downloads, journal))
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    result = {
        "mode": args.mode,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": peak_rss_mb(),
        "files": downloads.files,
        "download_mb": downloads.bytes / 2**20,
        "download_mb_s": downloads.mb_per_s(),
        **extra,
    }
    print(json.dumps(result))


# --- the parent: server, runs, report -----------------------------------------------------


class Server:
    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url
        self.origin = url.removesuffix("/api/v1")

    async def admin(self, method: str, path: str) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.origin}/_fake/{path}") as response,
        ):
            answer: dict[str, Any] = await response.json()
            return answer

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_server(args: argparse.Namespace, media_bytes: str, n: int) -> Server:
    points = (n * (len(MODES) + 1) + 10) * GENERATE_PRICE
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "suno_async.testing",
        "--port=0",
        "--dialect=live",  # the rows the service sends today, which both clients read
        f"--api-key={API_KEY}",
        f"--points={points}",
        f"--speed={args.speed}",
        f"--seed={args.seed}",
        f"--paid-latency={args.paid_latency}",
        f"--media-bytes={media_bytes}",
        f"--max-page-size={args.page_size}",
        "--queued-s",
        "0",
        "5",
        "--generating-s",
        *GENERATING_S,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    fields = dict(part.split("=", 1) for part in line.split())
    url = fields["SUNO_BASE_URL"]
    if not url.startswith("http://127.0.0.1:"):
        await Server(process, url).stop()
        msg = f"the fake server is not on loopback: {url}"
        raise RuntimeError(msg)
    return Server(process, url)


async def run_mode(
    args: argparse.Namespace, server: Server, mode: str, n: int, workdir: Path
) -> dict[str, Any]:
    await server.admin("POST", "reset-counters")
    out = workdir / mode.replace("+", "-")
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        f"--url={server.url}",
        f"--out={out}",
        f"-n={n}",
        f"--speed={args.speed}",
        f"--interval={args.interval}",
        f"--page-size={args.page_size}",
        f"--in-flight={args.in_flight}",
    ]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    stdout, _ = await process.communicate()
    if process.returncode != 0:
        msg = f"the {mode} client failed (exit {process.returncode})"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    stats = await server.admin("GET", "stats")
    paid = await server.admin("GET", "paid-calls")
    result["requests"] = stats["requests"]
    accepted = Counter(
        call["body"].get("title")
        for call in paid["paid_calls"]
        if str(call["body"].get("title", "")).rpartition(" ")[0] == mode
    )
    result["paid_calls"] = sum(accepted.values())
    result["duplicates"] = sum(count - 1 for count in accepted.values() if count > 1)
    shutil.rmtree(out, ignore_errors=True)
    return result


def fmt_requests(requests: dict[str, int]) -> str:
    short = {"POST /music/generate": "gen", "GET /music/tasks": "tasks", "GET /media": "media"}
    parts = [f"{short.get(k, k)} {v}" for k, v in sorted(requests.items()) if v]
    return ", ".join(parts)


def report(results: dict[str, dict[str, Any]], sizes: dict[str, float], n: int) -> list[str]:
    lines = [
        f"bulk runs: {n} generations ({2 * n} songs), end to end",
        "",
        (
            "| client | wall s | client CPU s | peak RSS MB | download MB/s | journal CPU s "
            "| paid calls | duplicates | requests by endpoint |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, r in results.items():
        lines.append(
            f"| {mode} | {r['wall_s']:.1f} | {r['cpu_s']:.2f} | {r['peak_rss_mb']:.0f} "
            f"| {r['download_mb_s']:.0f} | {r['journal_cpu_s']:.3f} | {r['paid_calls']} "
            f"| {r['duplicates']} | {fmt_requests(r['requests'])} |"
        )
    if sizes:
        shown = ", ".join(f"{size}: {rss:.0f} MB" for size, rss in sizes.items())
        lines += ["", f"sdk+journal peak RSS by media size: {shown}"]
    bare, sdk, journal = results["bare"], results["sdk"], results["sdk+journal"]
    lines.append("")

    def verdict(ok: bool, text: str) -> None:
        lines.append(f"{'PASS' if ok else 'FAIL'} {text}")

    for mode in ("sdk", "sdk+journal"):
        ratio = results[mode]["wall_s"] / bare["wall_s"]
        verdict(ratio <= 1.1, f"wall time {mode}/bare = {ratio:.2f} (target <= 1.1)")
    cpu_ratio = journal["cpu_s"] / bare["cpu_s"]
    verdict(cpu_ratio <= 1.3, f"client CPU sdk+journal/bare = {cpu_ratio:.2f} (target <= 1.3)")
    share = journal["journal_cpu_s"] / journal["cpu_s"] if journal["cpu_s"] else 0.0
    verdict(share <= 0.10, f"journal writes = {share:.1%} of client CPU (target <= 10%)")
    for mode in ("sdk", "sdk+journal"):
        dl = results[mode]["download_mb_s"] / bare["download_mb_s"] if bare["download_mb_s"] else 0
        verdict(dl >= 0.9, f"download throughput {mode}/bare = {dl:.2f} (target >= 0.9)")
    if len(sizes) >= 2:
        low, high = min(sizes.values()), max(sizes.values())
        verdict(high <= low * 1.25 + 10, f"peak RSS flat as files grow: {low:.0f} -> {high:.0f} MB")
    if FSYNC_MODE in results and bare["download_mb_s"]:
        dl = results[FSYNC_MODE]["download_mb_s"] / bare["download_mb_s"]
        cpu = results[FSYNC_MODE]["cpu_s"] / bare["cpu_s"]
        wall = results[FSYNC_MODE]["wall_s"] / bare["wall_s"]
        lines.append(
            f"INFO {FSYNC_MODE}/bare: download throughput {dl:.2f}, client CPU {cpu:.2f}, "
            f"wall time {wall:.2f} (no target: fsync=True is opt-in)"
        )
    dupes = sum(r["duplicates"] for r in results.values())
    verdict(dupes == 0, f"{dupes} duplicate paid calls (target 0)")
    songs = all(r["files"] == 2 * n - r["failed"] for r in (sdk, journal))
    verdict(songs, "every song downloaded by each SDK run")
    return lines


async def parent_main(args: argparse.Namespace) -> int:
    results: dict[str, dict[str, Any]] = {}
    sizes: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
        workdir = Path(tmp)
        server = await start_server(args, args.media_bytes, args.n)
        try:
            for mode in (*MODES, FSYNC_MODE) if args.fsync_too else MODES:
                results[mode] = await run_mode(args, server, mode, args.n, workdir)
                print(f"  {mode}: {results[mode]['wall_s']:.1f}s", file=sys.stderr)
        finally:
            await server.stop()
        rss_n = min(args.n, args.rss_n)
        for size in args.rss_sizes:
            server = await start_server(args, size, rss_n)
            try:
                sizes[size] = (await run_mode(args, server, "sdk+journal", rss_n, workdir))[
                    "peak_rss_mb"
                ]
            finally:
                await server.stop()
    lines = report(results, sizes, args.n)
    print("\n".join(lines))
    if args.json:
        text = json.dumps({"n": args.n, "results": results, "rss_by_size": sizes}, indent=2)
        await asyncio.to_thread(Path(args.json).write_text, text)
    return 0 if not any(line.startswith("FAIL") for line in lines) else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("-n", type=int, default=1000, help="generate calls per client (2 songs each)")
    p.add_argument("--small", action="store_true", help="a quick look: -n 40")
    p.add_argument("--paid-latency", type=float, default=0.3)
    p.add_argument("--media-bytes", default="1000000-4000000")
    p.add_argument("--speed", type=float, default=20.0, help="simulated seconds per second")
    p.add_argument("--interval", type=float, default=0.5, help="poll interval, both sides")
    p.add_argument("--page-size", type=int, default=50)
    p.add_argument("--in-flight", type=int, default=8, help="paid calls at once, both sides")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rss-n", type=int, default=50, help="N of the RSS-by-size runs")
    p.add_argument(
        "--rss-sizes", nargs="*", default=["1000000", "4000000"], help="fixed media sizes"
    )
    p.add_argument(
        "--fsync-too", action="store_true", help="also sdk+journal with DownloadPolicy(fsync=True)"
    )
    p.add_argument("--json", help="write the results here")
    p.add_argument("--child", choices=(*MODES, FSYNC_MODE), help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.child:
        args.mode = args.child
        client_main(args)
        return 0
    if args.small:
        args.n = min(args.n, 40)
    return asyncio.run(parent_main(args))


if __name__ == "__main__":
    os.environ.pop("SUNO_API_KEY", None)  # never a real key near a benchmark
    sys.exit(main())
