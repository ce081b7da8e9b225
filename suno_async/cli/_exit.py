"""
Exit codes, and the one place that decides which error means which.

Scripts branch on them, so each names what to do next rather than what went wrong inside:
retry the failed tasks, fix the input, fix the key or the balance, or try again later.
"""

from __future__ import annotations

import enum
from typing import Final

from .._bulk import BalanceTooLowError
from .._errors import (
    AuthenticationError,
    ConfigurationError,
    InsufficientPointsError,
    SunoError,
    TaskFailedError,
    ValidationError,
)
from .._journal import JournalError, JournalLockedError, JournalMismatchError

__all__ = ["EXIT_CODES_HELP", "CliError", "ExitCode", "exit_code_for"]


class ExitCode(enum.IntEnum):
    """What ``suno-async`` exits with."""

    OK = 0
    #: Everything was sent, and some tasks ended failed (the others are done).
    TASKS_FAILED = 1
    #: Nothing was sent: a usage error or invalid input (a bad JSONL line, a bad option).
    NOTHING_SENT = 2
    #: No key, a refused key, too few points, a budget reached, an unusable base URL or journal.
    CONFIG = 3
    #: The service or the network failed, or a wait timed out: some work may be in flight.
    #: A bulk run with requests still pending or files missing: a re-run collects them.
    SERVICE = 4
    #: A bug in suno-async itself (an error it did not expect): rerun with --debug, report it.
    INTERNAL = 70
    #: stdout was closed early (``suno-async ... | head``); a bulk run resumes from its journal.
    PIPE_CLOSED = 141
    #: Ctrl-C: a bulk run resumes when run again; other commands list the tasks started.
    INTERRUPTED = 130
    #: SIGHUP (the terminal closed), handled as Ctrl-C is: 128 + the signal's number.
    HUNG_UP = 129
    #: SIGTERM (``docker stop``, systemd, Kubernetes, a CI cancel), handled as Ctrl-C is.
    TERMINATED = 143


EXIT_CODES_HELP: Final = """\
exit codes:
  0    all done
  1    some tasks failed (the others are done)
  2    nothing sent: usage error or invalid input
  3    configuration, key or points problem (no key, key refused, balance, budget,
       an unusable base URL, or a journal that cannot be opened or written)
  4    service or network error, or a wait timed out (work may still be running);
       bulk: requests still pending or files missing, and a re-run collects them
  70   internal error (a bug: rerun with --debug and report it)
  130  interrupted (Ctrl-C): a bulk run resumes when run again; started tasks are listed
  143  terminated (SIGTERM), 129 hung up (SIGHUP): stopped as for Ctrl-C
  141  stdout closed early (e.g. piped into head)"""


class CliError(SunoError):
    """A problem the command line itself found (a missing file, a bad JSONL line)."""

    def __init__(self, message: str, code: ExitCode = ExitCode.NOTHING_SENT) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code an error ends the command with."""
    if isinstance(error, CliError):
        return error.code
    if isinstance(error, (ValidationError, JournalMismatchError)):
        return ExitCode.NOTHING_SENT
    if isinstance(
        error,
        (
            ConfigurationError,
            AuthenticationError,
            InsufficientPointsError,
            BalanceTooLowError,
            JournalError,
            JournalLockedError,
        ),
    ):
        return ExitCode.CONFIG
    if isinstance(error, TaskFailedError):
        return ExitCode.TASKS_FAILED
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, SunoError):
        return ExitCode.SERVICE
    return ExitCode.INTERNAL
