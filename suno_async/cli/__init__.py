"""
The ``suno-async`` command (also ``python -m suno_async``).

``import suno_async`` never imports this package, so the library stays free of the command's
optional dependency (rich, from the ``cli`` extra). Parsing lives in ``_parser``, the
commands in ``_commands`` and ``_bulk``, every printed word in ``_output`` (and the live
display in ``_live``), exit codes in ``_exit``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from .._errors import AuthenticationError, SunoError
from ._exit import EXIT_CODES_HELP, ExitCode, exit_code_for
from ._output import Output, choose_mode
from ._parser import PAID_COMMANDS, build_parser

__all__ = ["EXIT_CODES_HELP", "ExitCode", "main"]

Command = Callable[[argparse.Namespace, Output], Awaitable[ExitCode]]


class _StoppedByUserError(Exception):
    """A stop signal arrived; the command was cancelled and cleaned up after itself."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: The signals that stop a command gracefully, the exit code each ends with (128 + its
#: number, as a shell reports a process killed by it) and the word for it. SIGTERM is what
#: docker stop, systemd, Kubernetes and CI cancellations send; SIGHUP, a closed terminal.
_STOPS: Final = {
    signal.SIGINT: (ExitCode.INTERRUPTED, "interrupted"),
    signal.SIGTERM: (ExitCode.TERMINATED, "terminated"),
    **({signal.SIGHUP: (ExitCode.HUNG_UP, "hung up")} if hasattr(signal, "SIGHUP") else {}),
}


def _command(name: str) -> Command:
    from . import _bulk, _commands  # noqa: PLC0415  (each run needs only its own command)

    if name in PAID_COMMANDS:
        return _commands.run_paid
    table: dict[str, Command] = {
        "balance": _commands.run_balance,
        "points-log": _commands.run_points_log,
        "task": _commands.run_task,
        "wait": _commands.run_wait,
        "bulk": _bulk.run_bulk,
        "demo": _bulk.run_demo,
    }
    return table[name]


async def _run(command: Command, args: argparse.Namespace, output: Output) -> ExitCode:
    """
    Run a command; the first stop signal (Ctrl-C, SIGTERM, SIGHUP) cancels it cleanly: no
    more paid calls are sent, one already sent is answered and its ids recorded (printed,
    or journaled) first. A second one quits at once.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    stopped_by: int | None = None

    def say(text: str) -> None:
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            output.note(text)

    def quit_now(signum: int) -> None:
        say("stopped again: quitting at once")
        os._exit(_STOPS[signal.Signals(signum)][0])

    def on_stop(signum: int) -> None:
        nonlocal stopped_by
        stopped_by = signum
        for other in installed:
            loop.add_signal_handler(other, quit_now, other)
        word = _STOPS[signal.Signals(signum)][1]
        how = "Ctrl-C" if signum == signal.SIGINT else "the same signal"
        say(f"{word}: stopping ({how} again to quit at once)")
        if task is not None:
            task.cancel()

    installed: list[int] = []
    for signum in _STOPS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_stop, signum)
            installed.append(signum)
    try:
        return await command(args, output)
    except asyncio.CancelledError:
        if stopped_by is not None:
            raise _StoppedByUserError(stopped_by) from None
        raise
    finally:
        # Once stopped, quit_now stays until the loop closes, through its shutdown.
        if stopped_by is None:
            for installed_signal in installed:
                loop.remove_signal_handler(installed_signal)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see ``ExitCode``)."""
    args_given = list(sys.argv[1:] if argv is None else argv)
    if args_given[:1] == ["mcp"]:
        # A server with options of its own, and an optional dependency: see suno_async.mcp.
        from ..mcp import main as mcp_main  # noqa: PLC0415  (only `mcp` needs the extra)

        return mcp_main(args_given[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else ExitCode.NOTHING_SENT
    output = Output(choose_mode(json_lines=args.json, progress=not args.no_progress))
    if args.debug:
        logging.basicConfig(
            level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )
        return _main(args, output)
    # The command says what matters in its own lines; the retries and warnings the libraries
    # log on the way are for --debug. Put back after, for a caller running main() in-process.
    loggers = [logging.getLogger(name) for name in ("stamina", "suno_async")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        return _main(args, output)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _main(args: argparse.Namespace, output: Output) -> int:
    try:
        return int(asyncio.run(_run(_command(args.command), args, output)))
    except BrokenPipeError:
        # The reader went away (`| head`): say nothing more, as other commands do.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.PIPE_CLOSED
    except (_StoppedByUserError, KeyboardInterrupt) as stop:
        signum = stop.signum if isinstance(stop, _StoppedByUserError) else signal.SIGINT
        code, word = _STOPS[signal.Signals(signum)]
        if args.command in ("bulk", "demo"):
            message = f"{word}; the journal is saved: run the same command again to resume"
        else:
            message = f"{word}; tasks already started keep running on the service"
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            output.error(message, code=code, kind="Interrupted")
        return code
    except Exception as exc:  # every error ends as one line and an exit code
        return _fail(exc, output, args)


def _fail(exc: Exception, output: Output, args: argparse.Namespace) -> int:
    if args.debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    if isinstance(exc, SunoError):
        code = exit_code_for(exc)
        message = str(exc)
        if getattr(exc, "may_have_charged", False):
            message += " (the call may have been charged)"
        if isinstance(exc, AuthenticationError) and args.api_key_file is not None:
            message += f" (the key was read from --api-key-file {str(args.api_key_file)!r})"
    else:
        code = ExitCode.INTERNAL
        message = f"unexpected {type(exc).__name__}: {exc}; rerun with --debug and report it"
    output.error(" ".join(message.split()), code=code, kind=type(exc).__name__)
    return int(code)
