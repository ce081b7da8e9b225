"""
Shared pieces of the command line's tests: a fake server in a thread, and the command run
as a real subprocess (with and without a terminal) that never shows the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from helpers import DIALECT, FAST_POLL, KEY
from suno_async.testing import FakeSunoServer

T = TypeVar("T")

Popen = subprocess.Popen[str]

#: How often the command polls in tests: the fake clock runs fast.
POLL = str(FAST_POLL.interval)


class ThreadedFake:
    """A FakeSunoServer on an event loop of its own, so tests can block on subprocesses."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("speed", 1000.0)
        options.setdefault("queued_s", (0.0, 10.0))
        options.setdefault("generating_s", (30.0, 90.0))
        options.setdefault("seed", 3)
        self.server = FakeSunoServer(api_key=KEY, **{"dialect": DIALECT, **options})
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> ThreadedFake:
        self._thread.start()
        self.call(self.server.start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.call(self.server.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def sync(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop, where its counters and plans live."""

        async def run() -> T:
            return fn()

        return self.call(run())

    @property
    def url(self) -> str:
        return self.server.url

    def paid_calls(self) -> int:
        return self.sync(
            lambda: sum(n for k, n in self.server.requests.items() if k.startswith("POST"))
        )


@attrs.frozen
class Run:
    code: int
    stdout: str
    stderr: str

    def events(self) -> list[dict[str, Any]]:
        """Every stdout line as JSON: --json promises nothing else is printed there."""
        return [json.loads(line) for line in self.stdout.splitlines()]

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["event"] == event]


def cli_env(fake: ThreadedFake | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNO_")}
    env["SUNO_API_KEY"] = KEY
    if fake is not None:
        env["SUNO_BASE_URL"] = fake.url
    env["PYTHONWARNINGS"] = "error"
    env.pop("FORCE_COLOR", None)
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "suno_async", "--poll-interval", POLL, "--rate-limit", "0", *args]


def check_no_key(*texts: str) -> None:
    for text in texts:
        assert KEY not in text
        assert KEY[-12:] not in text


def run_cli(
    *args: str,
    fake: ThreadedFake | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Run:
    """The command as a subprocess with no terminal; asserts the key is in no output."""
    done = subprocess.run(
        command(*args),
        env=env if env is not None else cli_env(fake),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    check_no_key(done.stdout, done.stderr)
    return Run(done.returncode, done.stdout, done.stderr)


def run_in_pty(
    args: Sequence[str],
    env: dict[str, str],
    timeout: float = 30.0,
    *,
    without_rich: bool = False,
    stdout_to: Path | None = None,
) -> Run:
    """
    The command on a pseudo-terminal (stdout and stderr both, or stdout into ``stdout_to``),
    as a person would see it; ``without_rich`` runs it as if the `cli` extra were missing.
    """
    argv = command(*args)
    if without_rich:
        script = (
            "import sys; sys.modules['rich'] = None; from suno_async.cli import main; "
            "raise SystemExit(main(sys.argv[1:]))"
        )
        argv = [sys.executable, "-c", script, *argv[3:]]
    primary, secondary = pty.openpty()
    with contextlib.ExitStack() as files:
        stdout: Any = secondary
        if stdout_to is not None:
            stdout = files.enter_context(stdout_to.open("w", encoding="utf-8"))
        proc = subprocess.Popen(
            argv,
            env={**env, "TERM": "xterm-256color", "COLUMNS": "160"},
            stdin=secondary,
            stdout=stdout,
            stderr=secondary,
            close_fds=True,
        )
    os.close(secondary)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # the terminal closes with the child (EIO on Linux)
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(primary)
    text = b"".join(chunks).decode("utf-8", "replace")
    check_no_key(text)
    return Run(code, text, "")


def start_cli(*args: str, fake: ThreadedFake, env: dict[str, str] | None = None) -> Popen:
    """The command started in the background, for tests that interrupt it."""
    return subprocess.Popen(
        command(*args),
        env=env if env is not None else cli_env(fake),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: Popen, timeout: float = 30.0) -> Run:
    stdout, stderr = proc.communicate(timeout=timeout)
    check_no_key(stdout, stderr)
    return Run(proc.returncode, stdout, stderr)


def write_jsonl(path: Path, rows: Sequence[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def run_here(*args: str, env: dict[str, str]) -> Run:
    """
    The command in this process (no interpreter start-up: much faster), for the variants
    of a command that a subprocess test already covers; the key is checked the same way.
    """
    import io

    from suno_async.cli import main

    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(env)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--poll-interval", POLL, "--rate-limit", "0", *args])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    check_no_key(out.getvalue(), err.getvalue())
    return Run(code, out.getvalue(), err.getvalue())
