"""Opening a session from the command line's options: the key, the base URL, the polls."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from .._client import AsyncSuno
from .._config import PollPolicy, RateLimit
from .._models import StatusChange, TaskKind
from ._exit import CliError, ExitCode

__all__ = ["fast_poll", "open_session", "read_key"]


def read_key(args: argparse.Namespace) -> str:
    """
    The key from ``--api-key-file`` or ``SUNO_API_KEY``.

    Messages name where the key was looked for, never what was found there.
    """
    path = args.api_key_file
    if path is not None:
        try:
            key = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
            msg = f"cannot read the key from --api-key-file {str(path)!r}: {reason}"
            raise CliError(msg, ExitCode.CONFIG) from None
        if not key:
            msg = f"--api-key-file {str(path)!r} is empty"
            raise CliError(msg, ExitCode.CONFIG)
        return str(key)
    key = os.environ.get("SUNO_API_KEY", "").strip()
    if not key:
        msg = (
            "no API key: set SUNO_API_KEY or pass --api-key-file FILE "
            "(`suno-async demo` runs offline with no key)"
        )
        raise CliError(msg, ExitCode.CONFIG)
    return key


def fast_poll(interval: float) -> PollPolicy:
    """Poll every ``interval`` seconds from a task's first moment (fake servers only)."""
    return PollPolicy(interval=interval, first_poll=dict.fromkeys(TaskKind, 0.0))


def open_session(
    args: argparse.Namespace,
    *,
    on_status_change: Callable[[StatusChange], object] | None = None,
    key: str | None = None,
    base_url: str | None = None,
    poll: PollPolicy | None = None,
    **options: Any,
) -> AsyncSuno:
    """A session as the options ask; ``key`` and ``base_url`` override them (the demo)."""
    if poll is None and args.poll_interval is not None:
        poll = fast_poll(args.poll_interval)
    rate = getattr(args, "rate_limit", None)
    if rate is not None:
        options.setdefault("rate_limit", RateLimit(per_minute=rate) if rate > 0 else None)
    return AsyncSuno(
        key if key is not None else read_key(args),
        base_url=base_url if base_url is not None else args.base_url,
        poll=poll,
        on_status_change=on_status_change,
        **options,
    )
