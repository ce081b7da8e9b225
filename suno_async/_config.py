"""
The session's settings, together: every policy is immutable, hashable, and checked when made.

:class:`Timeouts` (per phase and per attempt), :class:`RetryPolicy` (how calls are retried),
:class:`PollPolicy` (how the watcher polls) and the limits below. A bad setting raises
:class:`ConfigurationError` naming it (``"PollPolicy.batch_size: ..."``), the one error type
of every setting; ``attrs.evolve(policy, field=...)`` makes a changed copy.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Final

import aiohttp
import attrs

from ._checks import check_count, check_seconds, is_number, misconfigured, show
from ._models import TaskKind

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_BATCH_SIZE",
    "NO_RETRY",
    "FirstPoll",
    "PollPolicy",
    "RateLimit",
    "RetryPolicy",
    "Timeouts",
]

#: 64 MiB: a 1,000-row batch page is a few MB; anything far larger is not an API answer.
DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024
#: Ids per query: 1,000 ids of up to 7 digits keep the request line under 8 KB.
MAX_BATCH_SIZE: Final = 1_000


class FirstPoll(Mapping[TaskKind, float]):
    """
    ``PollPolicy.first_poll``: seconds per kind of task, read-only and hashable, so the
    policy holding it is too. Kinds left out of the mapping given keep their defaults.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[TaskKind, float]) -> None:
        self._items = {**_default_first_poll(), **items}

    def __getitem__(self, kind: TaskKind) -> float:
        return self._items[kind]

    def __iter__(self) -> Iterator[TaskKind]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FirstPoll({self._items!r})"

    def __reduce__(self) -> tuple[type[FirstPoll], tuple[dict[TaskKind, float]]]:
        return (FirstPoll, (dict(self._items),))


@attrs.frozen
class Timeouts:
    """
    Seconds per phase, and one deadline per attempt.

    ``connect`` bounds opening a connection, ``read`` any silence while the answer arrives,
    and ``total`` one whole attempt, body included: a body trickled a few bytes a second
    ends at ``total`` however often bytes come. ``RetryPolicy.budget`` bounds all attempts.
    """

    connect: float | None = 10.0
    read: float | None = 60.0
    total: float | None = 90.0

    def __attrs_post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            check_seconds(
                f"Timeouts.{name}",
                getattr(self, name),
                positive=True,
                optional=True,
                error=misconfigured,
            )

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=None, sock_connect=self.connect, sock_read=self.read)


@attrs.frozen
class RetryPolicy:
    """
    How free calls are retried, and how a paid call is retried when it never left.

    ``attempts`` counts the first try. Retry-After is honoured up to ``max_retry_after``
    seconds; ``budget`` bounds the whole call including its waits.
    """

    attempts: int = 4
    wait_initial: float = 0.5
    wait_max: float = 10.0
    wait_jitter: float = 0.5
    max_retry_after: float = 60.0
    budget: float | None = 120.0

    def __attrs_post_init__(self) -> None:
        check_count("RetryPolicy.attempts", self.attempts, error=misconfigured)
        for name in ("wait_initial", "wait_max", "wait_jitter", "max_retry_after"):
            check_seconds(f"RetryPolicy.{name}", getattr(self, name), error=misconfigured)
        check_seconds(
            "RetryPolicy.budget", self.budget, positive=True, optional=True, error=misconfigured
        )


NO_RETRY: Final = RetryPolicy(attempts=1)


def _default_first_poll() -> dict[TaskKind, float]:
    return {
        TaskKind.SONG: 20.0,
        TaskKind.ALIGNMENT: 3.0,
        TaskKind.VIDEO: 10.0,
        TaskKind.WAV: 5.0,
        TaskKind.TASK: 0.0,
    }


@attrs.frozen
class PollPolicy:
    """
    How the watcher polls.

    ``first_poll`` holds, per kind of task, how long after it starts a task is first asked
    about: a song is not done in its first 20 seconds, so asking earlier only costs requests.
    ``batch_size`` is the most ids per query; a smaller page size enforced by the service is
    learnt from its answers. ``miss_limit`` is how many batch answers may leave an id out
    before it is checked with the single-task query.

    So that every wait ends: ``max_failures`` is how many times in a row the service may
    refuse an id asked about on its own before that id ends with the last error (outages,
    timeouts and rate limits are not the id's fault and do not count; a row of its own that
    nothing can read ends it at the second in a row); ``stall_timeout``
    (None for never) ends a task whose status has not changed for that long with
    :class:`TaskStalledError`: a song takes minutes, so an hour in one status means it is
    stuck. ``poll_timeout`` bounds each query, its whole body included; ``max_pause`` caps
    the Retry-After a 429 asks for, and ``max_backoff`` the wait after failed polls.
    """

    interval: float = 5.0
    batch_size: int = 100
    first_poll: Mapping[TaskKind, float] = attrs.field(factory=lambda: FirstPoll({}))
    concurrency: int = 4
    miss_limit: int = 3
    max_backoff: float = 60.0
    max_failures: int = 8
    stall_timeout: float | None = 3600.0
    poll_timeout: float = 30.0
    max_pause: float = 60.0

    def __attrs_post_init__(self) -> None:
        check_seconds("PollPolicy.interval", self.interval, positive=True, error=misconfigured)
        check_count(
            "PollPolicy.batch_size",
            self.batch_size,
            maximum=MAX_BATCH_SIZE,
            error=lambda field, rule: misconfigured(
                field, f"{rule} (more ids make a query URL longer than servers accept)"
            ),
        )
        check_count("PollPolicy.concurrency", self.concurrency, error=misconfigured)
        check_count("PollPolicy.miss_limit", self.miss_limit, error=misconfigured)
        check_seconds(
            "PollPolicy.max_backoff", self.max_backoff, positive=True, error=misconfigured
        )
        first_poll: object = self.first_poll
        if not isinstance(first_poll, Mapping):
            raise misconfigured(
                "PollPolicy.first_poll",
                f"must be a mapping of TaskKind to seconds, got {type(first_poll).__name__}",
            )
        # A partial mapping overrides the kinds it names and keeps the others' defaults.
        merged = _default_first_poll()
        for kind, seconds in first_poll.items():
            if not isinstance(kind, TaskKind):
                raise misconfigured(
                    "PollPolicy.first_poll", f"keys must be TaskKind members, got {kind!r}"
                )
            merged[kind] = check_seconds(  # type: ignore[assignment]
                f"PollPolicy.first_poll[{kind}]", seconds, error=misconfigured
            )
        object.__setattr__(self, "first_poll", FirstPoll(merged))
        check_count("PollPolicy.max_failures", self.max_failures, error=misconfigured)
        check_seconds(
            "PollPolicy.stall_timeout",
            self.stall_timeout,
            positive=True,
            optional=True,
            error=misconfigured,
        )
        for name in ("poll_timeout", "max_pause"):
            check_seconds(
                f"PollPolicy.{name}", getattr(self, name), positive=True, error=misconfigured
            )


@attrs.frozen
class RateLimit:
    """
    The session's request budget: every request it sends (polls, free calls, paid POSTs,
    retries) draws one token from it, as the service counts all calls against one key.

    ``per_minute`` defaults to 100, under the live service's 120 a minute per key, leaving
    room for a clock that drifts or a request from elsewhere. ``burst`` requests may leave
    at once after a quiet spell; with the defaults no minute holds more than
    ``burst + per_minute`` (110) of them, still under 120.

    Sharing: while paid calls wait for a token, ``paid_share`` of the tokens go to them and
    the rest to polls and free calls, so a bulk run keeps sending while its results keep
    arriving; when only one kind waits, it gets every token.

    A 429 halves the rate in use (at most once per second, as answers in flight together
    count as one refusal; never below a sixteenth of ``per_minute``), and each
    ``recover_after`` seconds without one gives back a tenth of ``per_minute``, up to all of
    it: additive increase, multiplicative decrease. A 429's Retry-After (capped by
    ``RetryPolicy.max_retry_after``) holds every request until it passes.
    ``max_paid_in_flight`` and ``paid_rate`` still apply on top, to paid calls alone.

    ``redis_url`` (``pip install 'suno-async[redis]'``) shares the budget with every process
    and host using the same key and Redis: each request also takes a turn there, so
    together they stay within ``per_minute``. Should Redis be out of reach, each process
    keeps to ``per_minute / processes`` and says so once in a WARNING; work never stops.
    The paid share and the slow-down after a 429 stay each process's own.
    """

    per_minute: float = 100.0
    burst: int = 10
    paid_share: float = 0.5
    recover_after: float = 30.0
    redis_url: str | None = None
    processes: int = 1

    def __attrs_post_init__(self) -> None:
        rate: object = self.per_minute
        if not is_number(rate) or not 0 < rate < math.inf:  # type: ignore[operator]
            raise misconfigured(
                "RateLimit.per_minute",
                f"must be a positive number of requests a minute, got {show(rate)}",
            )
        check_count("RateLimit.burst", self.burst, error=misconfigured)
        share: object = self.paid_share
        if not is_number(share) or not 0 < share <= 1:  # type: ignore[operator]
            raise misconfigured(
                "RateLimit.paid_share",
                f"must be a fraction above 0 and at most 1, got {show(share)}",
            )
        check_seconds(
            "RateLimit.recover_after", self.recover_after, positive=True, error=misconfigured
        )
        url: object = self.redis_url
        if url is not None and (not isinstance(url, str) or "://" not in url):
            raise misconfigured(
                "RateLimit.redis_url",
                f"must be a Redis URL such as 'redis://127.0.0.1:6379/0', got {show(url)}",
            )
        check_count("RateLimit.processes", self.processes, error=misconfigured)
